"""Classifier heads and open-set scoring on the student's joint-space embedding (numpy only).

A bundle's model returns ``logits (B, C)`` for the classes it was distilled on and an ``embedding (B, D)``
in (a map of) the MuJo joint space. A :class:`Head` turns those two outputs into the bundle's labels:

* ``kind="logits"``: the model's own classes, ``softmax(logits)``;
* ``kind="linear"``: any other label set, ``softmax(normalize(embedding) @ weight.T + bias)`` with a
  ``(L, D)`` weight. A bundle made from words (:func:`text_head`) has ``weight = scale * W^T t_l``: the
  cosine to each label text in the joint space; one taught from a few examples (:func:`fit_head`) has a
  nearest-class-mean or logistic-regression weight fitted here, without torch.

Every head may carry an **open-set test** over ``(K, D)`` prototypes, of one of two kinds:

* ``mahalanobis`` (bundles with labelled training data): ``score = -min_k (e - mu_k)^T P (e - mu_k)``, the
  negative squared Mahalanobis distance of the raw embedding ``e`` to the nearest class mean ``mu_k`` under
  the shared within-class precision ``P`` (D, D) of the training windows (Lee et al. 2018);
* ``cosine``: ``score = max_k cos(e, prototype_k)``: over the label-text vectors (bundles made from words),
  the unit class means, or several unit centres per class (:func:`class_centres`: a class a wrist sees in
  several ways, either wrist or several tempos, gets a prototype for each instead of one mean between them);
* ``euclidean``: ``score = -min_k |v - prototype_k|^2`` over k-means centres per class
  (:func:`euclidean_centres`) of the head's vectors ``v``.

A head's **vectors** are the unit embedding, or, for a head with a :class:`StatsSpace`, the unit embedding
followed by ``weight *`` the window's standardized statistics (:mod:`mujo_edge.features`: wrist orientation,
motion intensity and rhythm, which a small student's embedding does not keep). Linear heads and the
``euclidean`` test read them; such a head needs the windows too (``head(logits, embeddings, windows)``).

A window scoring below ``threshold`` is one the model does not know and comes out as
:data:`~mujo_edge.constants.UNKNOWN_LABEL`. A head may also name **reject labels** (``reject``): classes
trained on activities outside the label set ("other"; outlier exposure, Hendrycks et al. 2019) that mean
"none of these". A window whose most probable label is a reject label is unknown whatever its score (its
score is set :data:`REJECT_MARGIN` below the threshold), and reject labels' probabilities are zero, so the
most probable real label is the window's ``nearest``. The threshold is chosen on known validation windows only
(:func:`choose_threshold`: the score that keeps :data:`~mujo_edge.constants.OPEN_SET_KEEP` of them known),
never on the activities it is meant to reject.

Part of the runtime core: numpy (and scipy for the logistic head), never torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from mujo_edge._checks import is_number
from mujo_edge.constants import OPEN_SET_KEEP, OPEN_SET_KEEP_GRID, TEXT_HEAD_SCALE
from mujo_edge.errors import ConfigError, ShapeError
from mujo_edge.features import N_STATS, STATS_VERSION, window_stats

#: Head kinds a bundle may declare.
HEAD_KINDS: tuple[str, ...] = ("logits", "linear")
#: Ways :func:`fit_head` fits a head on a few examples.
FIT_METHODS: tuple[str, ...] = ("ncm", "logreg")
#: How far below the open-set threshold a window whose most probable label is a reject label scores.
REJECT_MARGIN: float = 1.0
#: Open-set score kinds (module docstring).
OPEN_SET_KINDS: tuple[str, ...] = ("mahalanobis", "cosine", "euclidean")


def unit_rows(x: np.ndarray) -> np.ndarray:
    """(N, D) float32 rows scaled to unit L2 norm (all-zero rows stay zero)."""
    x = np.asarray(x, np.float32)
    unit: np.ndarray = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return unit


def softmax_rows(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (B, L) scores, float32."""
    z = np.asarray(z, np.float32)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    probs: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return probs


def open_set_scores(embeddings: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """(B,) float32: each embedding's largest cosine to the (K, D) prototypes (higher = better known).

    Prototype rows need not be unit length: a words head's rows are ``W^T t`` (norm <= 1), whose dot with a
    unit embedding is the cosine in the joint space; unit class means give the plain cosine.
    """
    scores: np.ndarray = (unit_rows(embeddings) @ np.asarray(prototypes, np.float32).T).max(axis=1)
    return scores


def class_gaussians(
    embeddings: np.ndarray, y: np.ndarray, n_classes: int, ridge: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Class means (n_classes, D) and the shared within-class precision (D, D) of (N, D) raw embeddings,
    float32; the covariance gets ``ridge`` * its mean variance on the diagonal so it always inverts."""
    e = np.asarray(embeddings, np.float64)
    y = np.asarray(y)
    counts = np.bincount(y, minlength=n_classes)[:n_classes]
    if (counts == 0).any():
        raise ShapeError(f"classes {np.flatnonzero(counts == 0).tolist()} have no example")
    means = np.zeros((n_classes, e.shape[1]))
    np.add.at(means, y, e)
    means /= counts[:, None]
    d = e - means[y]
    cov = d.T @ d / max(len(e), 1)
    cov += np.eye(e.shape[1]) * ridge * max(float(np.trace(cov)) / e.shape[1], 1e-12)
    return means.astype(np.float32), np.linalg.inv(cov).astype(np.float32)


def mahalanobis_scores(embeddings: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """(B,) float32: minus the squared Mahalanobis distance of each raw embedding to its nearest mean."""
    e = np.asarray(embeddings, np.float64)
    m = np.asarray(means, np.float64)
    p = np.asarray(precision, np.float64)
    ep = e @ p
    d2 = (ep * e).sum(1)[:, None] - 2.0 * ep @ m.T + ((m @ p) * m).sum(1)[None, :]
    scores: np.ndarray = (-d2.min(axis=1)).astype(np.float32)
    return scores


def euclidean_scores(vectors: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """(B,) float32: minus the squared Euclidean distance of each (B, V) vector to its nearest prototype."""
    v = np.asarray(vectors, np.float64)
    p = np.asarray(prototypes, np.float64)
    d2 = (v * v).sum(1)[:, None] - 2.0 * v @ p.T + (p * p).sum(1)[None, :]
    scores: np.ndarray = (-np.maximum(d2.min(axis=1), 0.0)).astype(np.float32)
    return scores


@dataclass(eq=False)
class StatsSpace:
    """Window statistics read beside the embedding (module docstring): ``weight * (window_stats(w) -
    mean) / std``, with ``mean`` and ``std`` (F,) of the statistics of the bundle's training windows.

    Attributes:
        mean, std: (F,) float32, F = :data:`~mujo_edge.features.N_STATS`; every std > 0.
        weight: how much the statistics count against the unit embedding (> 0).
        version: the definition of the statistics (:data:`~mujo_edge.features.STATS_VERSION`).
    """

    mean: np.ndarray
    std: np.ndarray
    weight: float
    version: str = STATS_VERSION

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, np.float32)
        self.std = np.asarray(self.std, np.float32)
        if self.version != STATS_VERSION:
            raise ConfigError(
                f"window statistics {self.version!r} are not the ones this version computes "
                f"({STATS_VERSION!r}); update mujo-edge or re-export the bundle"
            )
        if self.mean.shape != (N_STATS,) or self.std.shape != (N_STATS,):
            raise ShapeError(
                f"window statistics need ({N_STATS},) mean and std, got {self.mean.shape} and {self.std.shape}"
            )
        if not (np.isfinite(self.mean).all() and np.isfinite(self.std).all() and (self.std > 0).all()):
            raise ConfigError("window statistics need a finite mean and a finite, positive std")
        if not (np.isfinite(self.weight) and self.weight > 0):
            raise ConfigError(f"the window statistics' weight must be a positive number, got {self.weight}")
        self.weight = float(self.weight)

    @classmethod
    def fit(cls, windows: np.ndarray, weight: float) -> StatsSpace:
        """The space of (N, W, 3) training windows (N >= 2): their statistics' mean and std."""
        s = window_stats(windows).astype(np.float64)
        if len(s) < 2:
            raise ShapeError("standardizing window statistics needs at least 2 training windows")
        return cls(s.mean(0), np.maximum(s.std(0), 1e-6), weight)

    @property
    def dim(self) -> int:
        return N_STATS

    def vectors(self, embeddings: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """(B, D + F) float32: the unit (B, D) embeddings followed by the standardized, weighted statistics
        of the (B, W, 3) windows they came from."""
        e = unit_rows(embeddings)
        z = (window_stats(windows) - self.mean) * (np.float32(self.weight) / self.std)
        if len(z) != len(e):
            raise ShapeError(f"{len(e)} embeddings but {len(z)} windows; give the windows they came from")
        return np.concatenate([e, z.astype(np.float32)], axis=1)

    def to_manifest(self) -> dict[str, object]:
        return {
            "features": self.version,
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "weight": self.weight,
        }

    @classmethod
    def from_manifest(cls, d: dict[str, object]) -> StatsSpace:
        return cls(
            np.asarray(d["mean"], np.float32),
            np.asarray(d["std"], np.float32),
            float(d["weight"]),  # type: ignore[arg-type]
            str(d["features"]),
        )


def head_vectors(
    stats: StatsSpace | None, embeddings: np.ndarray, windows: np.ndarray | None = None
) -> np.ndarray:
    """(B, V) float32 head vectors: the unit (B, D) embeddings, followed by the (B, W, 3) windows'
    statistics in ``stats`` when given (ShapeError when the windows are then missing)."""
    if stats is None:
        return unit_rows(embeddings)
    if windows is None:
        raise ShapeError(
            "this head reads the windows' statistics beside the embedding; pass the (B, W, 3) windows the "
            "embeddings came from"
        )
    return stats.vectors(embeddings, windows)


def class_prototypes(embeddings: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, D) float32 unit class means of the unit embeddings of (N, D) windows with labels (N,).

    Raises ShapeError when a class has no window (its prototype would be undefined)."""
    e = unit_rows(embeddings)
    y = np.asarray(y)
    counts = np.bincount(y, minlength=n_classes)
    if (counts[:n_classes] == 0).any():
        empty = np.flatnonzero(counts[:n_classes] == 0).tolist()
        raise ShapeError(f"classes {empty} have no example; every label needs at least one window")
    means = np.zeros((n_classes, e.shape[1]), np.float64)
    np.add.at(means, y, e)
    return unit_rows(means / counts[:n_classes, None])


def class_centres(
    embeddings: np.ndarray, y: np.ndarray, n_classes: int, per_class: int, seed: int = 0, iters: int = 50
) -> np.ndarray:
    """(K, D) float32 unit prototypes: up to ``per_class`` spherical k-means centres of each class's unit
    embeddings (k-means++ start from ``seed``, cosine assignment), classes in order; a class with fewer
    windows than ``per_class`` keeps each of its windows. ``per_class=1`` is :func:`class_prototypes`.

    Raises ShapeError when a class has no window, ConfigError for ``per_class < 1``."""
    if per_class < 1:
        raise ConfigError(f"per_class must be >= 1, got {per_class}: the prototypes kept per class")
    if per_class == 1:
        return class_prototypes(embeddings, y, n_classes)
    e = unit_rows(embeddings).astype(np.float64)
    return _centres_by_class(
        e, y, n_classes, per_class, seed, lambda x, m, rng: _spherical_kmeans(x, m, rng, iters)
    )


def _centres_by_class(
    v: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    per_class: int,
    seed: int,
    cluster: Callable[[np.ndarray, int, np.random.Generator], np.ndarray],
) -> np.ndarray:
    """(K, V) float32: ``cluster(rows, per_class, rng)`` of each class's rows of ``v``, classes in order; a
    class with no more rows than ``per_class`` keeps each. ShapeError when a class has none."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    out = []
    for c in range(n_classes):
        x = v[y == c]
        if len(x) == 0:
            raise ShapeError(f"class {c} has no example; every label needs at least one window")
        out.append(cluster(x, per_class, rng) if len(x) > per_class else x)
    return np.concatenate(out).astype(np.float32)


def _spherical_kmeans(x: np.ndarray, m: int, rng: np.random.Generator, iters: int) -> np.ndarray:
    """(m, D) unit centres of (N, D) unit rows, N > m."""
    centres = [x[rng.integers(len(x))]]
    for _ in range(m - 1):
        d2 = np.maximum(1.0 - (x @ np.asarray(centres).T).max(axis=1), 0.0) ** 2
        total = d2.sum()
        centres.append(x[rng.choice(len(x), p=d2 / total)] if total > 0 else x[rng.integers(len(x))])
    c = np.asarray(centres)
    for _ in range(iters):
        a = (x @ c.T).argmax(axis=1)
        sums = np.zeros_like(c)
        np.add.at(sums, a, x)
        empty = np.bincount(a, minlength=m) == 0
        sums[empty] = c[empty]  # a centre that lost every window stays where it was
        new = unit_rows(sums)
        if np.allclose(new, c, atol=1e-7):
            break
        c = new
    return c


def euclidean_centres(
    vectors: np.ndarray, y: np.ndarray, n_classes: int, per_class: int, seed: int = 0, iters: int = 50
) -> np.ndarray:
    """(K, V) float32 prototypes: up to ``per_class`` k-means centres (k-means++ start from ``seed``) of each
    class's (N, V) vectors, classes in order; a class with no more windows than ``per_class`` keeps each.

    Raises ShapeError when a class has no window, ConfigError for ``per_class < 1``."""
    if per_class < 1:
        raise ConfigError(f"per_class must be >= 1, got {per_class}: the prototypes kept per class")

    def cluster(x: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
        return x.mean(0, keepdims=True) if m == 1 else _kmeans(x, m, rng, iters)

    return _centres_by_class(np.asarray(vectors, np.float64), y, n_classes, per_class, seed, cluster)


def _kmeans(x: np.ndarray, m: int, rng: np.random.Generator, iters: int) -> np.ndarray:
    """(m, V) centres of (N, V) rows, N > m (Lloyd's algorithm from a k-means++ start)."""
    centres = [x[rng.integers(len(x))]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for _ in range(m - 1):
        total = d2.sum()
        nxt = x[rng.choice(len(x), p=d2 / total)] if total > 0 else x[rng.integers(len(x))]
        centres.append(nxt)
        d2 = np.minimum(d2, ((x - nxt) ** 2).sum(1))
    c = np.asarray(centres)
    for _ in range(iters):
        a = (2.0 * x @ c.T - (c * c).sum(1)[None, :]).argmax(axis=1)  # the nearest centre
        counts = np.bincount(a, minlength=m)
        sums = np.zeros_like(c)
        np.add.at(sums, a, x)
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], c)  # empty: stays
        if np.allclose(new, c, atol=1e-7):
            break
        c = new
    return c


def choose_threshold(known_scores: np.ndarray, keep: float = OPEN_SET_KEEP) -> float:
    """The open-set threshold that keeps ``keep`` of the (N,) scores of KNOWN validation windows known:
    their ``1 - keep`` quantile. Windows of activities the model should reject are never used."""
    s = np.asarray(known_scores, np.float64)
    if s.size == 0:
        raise ShapeError("choosing an open-set threshold needs at least one known validation window")
    if not 0.0 < keep <= 1.0:
        raise ConfigError(f"keep must be in (0, 1], got {keep}: the fraction of known windows to accept")
    return float(np.quantile(s, 1.0 - keep))


def keep_curve(known_scores: np.ndarray, keep: float = OPEN_SET_KEEP) -> np.ndarray:
    """(K, 2) rows ``(keep, threshold)``: :func:`choose_threshold` of the (N,) known validation scores at
    every fraction of :data:`~mujo_edge.constants.OPEN_SET_KEEP_GRID` and at ``keep`` (so that the curve
    gives the chosen threshold exactly), keeps increasing."""
    keeps = np.unique(np.r_[OPEN_SET_KEEP_GRID, keep])
    return np.stack([keeps, [choose_threshold(known_scores, float(k)) for k in keeps]], axis=1)


def looser_curve(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """The pointwise looser (lower) threshold of two keep curves at the same fractions, None unless both
    are there and share their fractions: a threshold taken as the looser of two keeps its curve that way."""
    if a is None or b is None or a.shape != b.shape or not np.array_equal(a[:, 0], b[:, 0]):
        return None
    return np.stack([a[:, 0], np.minimum(a[:, 1], b[:, 1])], axis=1)


def check_keep_curve(curve: np.ndarray, has_test: bool) -> np.ndarray:
    """``curve`` as (K, 2) float64 after the checks :class:`Head` makes (ConfigError / ShapeError)."""
    c = np.asarray(curve, np.float64)
    if not has_test:
        raise ConfigError("a keep curve belongs to an open-set test; this head has none")
    if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] < 1:
        raise ShapeError(f"an open-set keep curve is (K, 2) rows of (keep, threshold), got {c.shape}")
    k, t = c[:, 0], c[:, 1]
    if not (np.isfinite(c).all() and k[0] > 0.0 and k[-1] <= 1.0 and (np.diff(k) > 0).all()):
        raise ConfigError("an open-set keep curve needs finite rows, keeps strictly increasing within (0, 1]")
    if (np.diff(t) > 0).any():
        raise ConfigError("an open-set keep curve's thresholds cannot rise as the kept fraction grows")
    return c


def auroc(known_scores: np.ndarray, unknown_scores: np.ndarray) -> float:
    """Area under the ROC curve of telling known (higher score) from unknown windows: the probability
    that a random known window scores above a random unknown one (ties count half)."""
    k = np.asarray(known_scores, np.float64)
    u = np.asarray(unknown_scores, np.float64)
    if not k.size or not u.size:
        raise ShapeError("AUROC needs at least one known and one unknown score")
    allv = np.concatenate([k, u])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(allv.size, np.float64)
    sv = allv[order]
    # average ranks over ties
    _, first, counts = np.unique(sv, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    r_known = ranks[: k.size].sum()
    return float((r_known - k.size * (k.size + 1) / 2.0) / (k.size * u.size))


@dataclass
class Head:
    """The bundle's classifier on top of the model outputs, with its optional open-set test.

    Attributes:
        kind: ``"logits"`` (the model's classes) or ``"linear"`` (weight over the head's vectors).
        labels: output label names (L).
        weight: (L, V) float32, ``linear`` only; V = D, or D + F with ``stats``.
        bias: (L,) float32, ``linear`` only.
        prototypes: (K, D) float32 open-set prototypes ((K, V) for ``euclidean``), or None (no open-set
            test: every window is known).
        threshold: open-set score below which a window is unknown (None without prototypes).
        precision: (D, D) float32 shared precision: the test is ``mahalanobis`` (prototypes are raw class
            means).
        reject: labels meaning "none of these" (an ``other`` class): a window whose most probable label is
            one of them is unknown. Needs an open-set test; never every label.
        stats: window statistics read beside the embedding (:class:`StatsSpace`), or None.
        open_kind: the open-set test, one of :data:`OPEN_SET_KINDS`; None: ``mahalanobis`` with a
            precision, else ``cosine``.
        keep_curve: (K, 2) float64 rows ``(keep, threshold)``: the threshold that keeps each fraction of the
            known validation windows known (:func:`keep_curve`), keeps strictly increasing; None: only
            ``threshold`` is known. :meth:`at_keep` reads it.
    """

    kind: str
    labels: list[str]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    prototypes: np.ndarray | None = None
    threshold: float | None = None
    precision: np.ndarray | None = None
    reject: tuple[str, ...] = ()
    stats: StatsSpace | None = None
    open_kind: str | None = None
    keep_curve: np.ndarray | None = None

    @property
    def score_kind(self) -> str | None:
        """One of :data:`OPEN_SET_KINDS`, or None (no open-set test)."""
        return None if self.prototypes is None else self.open_kind

    @property
    def needs_windows(self) -> bool:
        """Whether the head reads the windows themselves (their statistics, :class:`StatsSpace`)."""
        return self.stats is not None and (self.kind == "linear" or self.open_kind == "euclidean")

    def vectors(self, embeddings: np.ndarray, windows: np.ndarray | None = None) -> np.ndarray:
        """(B, V) float32: the unit embeddings, followed by the windows' weighted, standardized statistics
        when the head has a :class:`StatsSpace` (ShapeError when the windows are then missing)."""
        return head_vectors(self.stats, embeddings, windows)

    def scores(self, embeddings: np.ndarray, windows: np.ndarray | None = None) -> np.ndarray:
        """(B,) float32 open-set scores of (B, D) embeddings (higher = better known); ``windows`` (B, W, 3)
        for a ``euclidean`` test over statistics."""
        return self._scores(self._embeddings(embeddings), windows)

    def _scores(self, embeddings: np.ndarray, windows: np.ndarray | None) -> np.ndarray:
        if self.prototypes is None:
            return np.full(len(embeddings), np.inf, np.float32)
        if self.open_kind == "mahalanobis":
            assert self.precision is not None
            return mahalanobis_scores(embeddings, self.prototypes, self.precision)
        if self.open_kind == "euclidean":
            return euclidean_scores(self.vectors(embeddings, windows), self.prototypes)
        return open_set_scores(embeddings, self.prototypes)

    def at_keep(self, keep: float) -> Head:
        """This head with the threshold that keeps ``keep`` of the known validation windows known, read from
        :attr:`keep_curve` (linear between its points, exact at them). ConfigError, saying what to do, when
        the head has no open-set test or no curve, or ``keep`` lies outside the curve."""
        if self.threshold is None:
            raise ConfigError(
                "this bundle has no open-set test, so there is no threshold to set; export one with an "
                "open-set test (mujo-edge export without --no-open-set)"
            )
        if self.keep_curve is None:
            raise ConfigError(
                "this bundle records its open-set threshold at one keep fraction only (it predates the keep "
                "curve, or its test was not chosen on validation windows); export it again (mujo-edge "
                "export --open-set-keep F) to change the threshold"
            )
        lo, hi = float(self.keep_curve[0, 0]), float(self.keep_curve[-1, 0])
        if not is_number(keep):
            raise ConfigError(
                f"open-set keep must be a number in [{lo:g}, {hi:g}] (the fraction of known windows to keep), "
                f"got {type(keep).__name__} {keep!r}"
            )
        if not lo <= keep <= hi:
            raise ConfigError(
                f"open-set keep must be in [{lo:g}, {hi:g}] (the fractions this bundle recorded), got {keep}"
            )
        thr = float(np.interp(keep, self.keep_curve[:, 0], self.keep_curve[:, 1]))
        return replace(self, threshold=thr)

    def __post_init__(self) -> None:
        if self.kind not in HEAD_KINDS:
            raise ConfigError(f"head kind must be one of {HEAD_KINDS}, got {self.kind!r}")
        n = len(self.labels)
        if self.kind == "linear":
            if self.weight is None or self.weight.ndim != 2 or self.weight.shape[0] != n:
                got = None if self.weight is None else self.weight.shape
                raise ShapeError(f"a linear head needs a ({n}, D) weight, one row per label; got {got}")
            self.weight = np.asarray(self.weight, np.float32)
            self.bias = np.zeros(n, np.float32) if self.bias is None else np.asarray(self.bias, np.float32)
            if self.bias.shape != (n,):
                raise ShapeError(f"a linear head's bias must be ({n},), got {self.bias.shape}")
        if (self.prototypes is None) != (self.threshold is None):
            raise ConfigError("an open-set test needs both prototypes and a threshold, or neither")
        if self.prototypes is not None:
            self.prototypes = np.asarray(self.prototypes, np.float32)
            if self.open_kind is None:
                self.open_kind = "cosine" if self.precision is None else "mahalanobis"
            if self.open_kind not in OPEN_SET_KINDS:
                raise ConfigError(f"open-set kind must be one of {OPEN_SET_KINDS}, got {self.open_kind!r}")
            if (self.open_kind == "mahalanobis") != (self.precision is not None):
                raise ConfigError("a mahalanobis open-set test needs a precision, and only it has one")
        else:
            self.open_kind = None
        if self.precision is not None:
            d = None if self.prototypes is None else self.prototypes.shape[1]
            self.precision = np.asarray(self.precision, np.float32)
            if self.precision.shape != (d, d):
                raise ShapeError(f"the open-set precision must be ({d}, {d}), got {self.precision.shape}")
        extra = 0 if self.stats is None else self.stats.dim
        if self.kind == "linear" and self.weight is not None and self.weight.shape[1] <= extra:
            raise ShapeError(f"a linear head over statistics needs a (L, D + {extra}) weight, D > 0")
        if (
            self.open_kind == "euclidean"
            and self.prototypes is not None
            and self.prototypes.shape[1] <= extra
        ):
            raise ShapeError(f"a euclidean open-set test over statistics needs (K, D + {extra}) prototypes")
        dims = {
            self._embed_dim_of(a, extra if use else 0)
            for a, use in (
                (self.weight, True),
                (self.prototypes, self.open_kind == "euclidean"),
            )
            if a is not None
        }
        if len(dims) > 1:
            raise ShapeError(f"the head's weight and prototypes expect embeddings of different sizes {dims}")
        if self.keep_curve is not None:
            self.keep_curve = check_keep_curve(self.keep_curve, self.prototypes is not None)
        self.reject = tuple(self.reject)
        if self.reject:
            missing = [r for r in self.reject if r not in self.labels]
            if missing or len(set(self.reject)) >= n:
                raise ConfigError(
                    f"reject labels {list(self.reject)} must be some, not all, of the labels {self.labels}"
                )
            if self.prototypes is None:
                raise ConfigError(
                    "reject labels need an open-set test (prototypes and a threshold): a window whose most "
                    "probable label is a reject label is reported as unknown through it"
                )
        self._reject_idx = np.array([self.labels.index(r) for r in self.reject], np.int64)

    @property
    def reject_index(self) -> np.ndarray:
        """(R,) int64 column indices of the reject labels (empty without)."""
        return self._reject_idx

    @property
    def needs_embedding(self) -> bool:
        """Whether the head reads the model's embedding output (linear heads and open-set tests do)."""
        return self.kind == "linear" or self.prototypes is not None

    def _embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """``embeddings`` as a (B, D) array of numbers with the D this head expects; ShapeError otherwise."""
        e = np.asarray(embeddings)
        d = self.embed_dim
        if e.ndim != 2 or e.dtype.kind not in "fiu" or (d is not None and e.shape[1] != d):
            raise ShapeError(
                f"this head reads (B, {'D' if d is None else d}) embeddings of numbers, got {e.dtype} {e.shape}: "
                "pass the embedding output of the bundle's own model (runner.run)"
            )
        return e

    @staticmethod
    def _embed_dim_of(a: np.ndarray, extra: int) -> int:
        return int(a.shape[1]) - extra

    @property
    def embed_dim(self) -> int | None:
        """D of the embedding the head expects, or None when it reads only logits."""
        extra = 0 if self.stats is None else self.stats.dim
        if self.weight is not None:
            return self._embed_dim_of(self.weight, extra)
        if self.prototypes is not None:
            return self._embed_dim_of(self.prototypes, extra if self.open_kind == "euclidean" else 0)
        return None

    def __call__(
        self, logits: np.ndarray, embeddings: np.ndarray | None, windows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(B, L) float32 probabilities and (B,) float32 open-set scores (+inf without an open-set test)
        from the model's (B, C) logits and (B, D) embeddings, and the (B, W, 3) windows they came from
        when the head reads their statistics (:attr:`needs_windows`)."""
        if self.needs_embedding and embeddings is None:
            raise ShapeError("this head reads the model's embedding output, but none was given")
        logits = np.asarray(logits)
        if logits.ndim != 2 or logits.dtype.kind not in "fiu":
            raise ShapeError(
                f"this head reads (B, C) logits of numbers, got {logits.dtype} {logits.shape}: pass the logits "
                "output of the bundle's own model (runner.run)"
            )
        if embeddings is not None and self.needs_embedding:
            embeddings = self._embeddings(embeddings)
            if len(embeddings) != len(logits):
                raise ShapeError(
                    f"{len(logits)} rows of logits but {len(embeddings)} embeddings; give one per window"
                )
        return self.outputs(logits, embeddings, windows)

    def outputs(
        self, logits: np.ndarray, embeddings: np.ndarray | None, windows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """What calling the head gives, without checking its inputs: for a caller whose arrays come from the
        bundle's own runner (the pipeline, once per window)."""
        vectors = None
        if self.needs_windows:
            assert embeddings is not None
            vectors = self.vectors(embeddings, windows)
        if self.kind == "logits":
            probs = softmax_rows(logits)
        else:
            assert self.weight is not None and self.bias is not None and embeddings is not None
            v = vectors if vectors is not None else unit_rows(embeddings)
            probs = softmax_rows(v @ self.weight.T + self.bias)
        if self.prototypes is None:
            return probs, np.full(probs.shape[0], np.inf, np.float32)
        assert embeddings is not None
        if self.open_kind == "euclidean":
            v = vectors if vectors is not None else unit_rows(embeddings)
            scores = euclidean_scores(v, self.prototypes)
        else:
            scores = self._scores(embeddings, windows)
        if self.reject:
            assert self.threshold is not None
            rejected = np.isin(probs.argmax(axis=1), self._reject_idx)
            scores = np.where(rejected, np.float32(self.threshold - REJECT_MARGIN), scores).astype(np.float32)
            probs = probs.copy()
            probs[:, self._reject_idx] = 0.0
        return probs, scores

    def known(self, scores: np.ndarray) -> np.ndarray:
        """(B,) bool: which windows the model knows (always True without an open-set test)."""
        s = np.asarray(scores)
        if s.dtype.kind not in "fiu":
            raise ShapeError(
                f"open-set scores must be numbers, got dtype {s.dtype}: pass Head.scores' output"
            )
        if self.threshold is None:
            return np.ones(s.shape, bool)
        return s >= self.threshold


def text_head(label_vectors: np.ndarray, labels: Sequence[str], scale: float = TEXT_HEAD_SCALE) -> Head:
    """A head from label texts: ``label_vectors`` (L, D) are ``W^T t_l`` (the unit joint-space text
    embeddings mapped into the student's D dims); logits are ``scale * cos`` in the joint space. The
    vectors are also the open-set prototypes; the caller sets the threshold."""
    v = np.asarray(label_vectors, np.float32)
    return Head("linear", list(labels), weight=v * np.float32(scale), bias=np.zeros(len(labels), np.float32))


def fit_head(
    embeddings: np.ndarray,
    y: np.ndarray,
    labels: Sequence[str],
    method: str = "ncm",
    scale: float = TEXT_HEAD_SCALE,
    l2: float = 1e-2,
    max_iter: int = 200,
    stats: StatsSpace | None = None,
    windows: np.ndarray | None = None,
) -> Head:
    """Fit a linear head on (N, D) frozen embeddings with labels (N,) in ``range(len(labels))``.

    ``ncm``: nearest class mean, weight = ``scale`` * unit class means (works from one example per class).
    ``logreg``: multinomial logistic regression on the unit embeddings (scipy L-BFGS, L2 penalty ``l2``),
    started from the class means. No open-set test: add one with :func:`taught_open_set`.

    With ``stats`` (the base bundle's :class:`StatsSpace`) and the (N, W, 3) ``windows``, the head works on
    the head vectors (unit embedding and statistics): ``ncm`` is then the nearest class mean in Euclidean
    distance, ``scale * (v . c - |c|^2 / 2)`` (the same as the cosine form for unit vectors).
    """
    if method not in FIT_METHODS:
        raise ConfigError(f"method must be one of {FIT_METHODS}, got {method!r}")
    n_classes = len(labels)
    e = unit_rows(embeddings)
    y = np.asarray(y, np.int64)
    if e.ndim != 2 or y.shape != (e.shape[0],):
        raise ShapeError(f"expected (N, D) embeddings and (N,) labels, got {e.shape} and {y.shape}")
    if stats is None:
        x = e
        w0 = class_prototypes(e, y, n_classes) * np.float32(scale)
        b0 = np.zeros(n_classes, np.float32)
    else:
        if windows is None:
            raise ShapeError("a head over window statistics is fitted from the windows too; pass them")
        x = stats.vectors(e, windows)
        centres = euclidean_centres(x, y, n_classes, 1)
        w0 = centres * np.float32(scale)
        b0 = (-0.5 * scale * (centres.astype(np.float64) ** 2).sum(1)).astype(np.float32)
    if method == "logreg":
        w0, b0 = _logreg(x, y, n_classes, w0, b0, l2, max_iter)
    return Head("linear", list(labels), weight=w0, bias=b0, stats=stats)


def _logreg(
    e: np.ndarray, y: np.ndarray, n_classes: int, w0: np.ndarray, b0: np.ndarray, l2: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    from scipy.optimize import minimize

    n, d = e.shape
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    counts = onehot.sum(0)
    sample_w = (counts.max() / np.maximum(counts, 1))[y]  # the paper's class weights, per sample
    sample_w /= sample_w.sum()
    x = e.astype(np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: n_classes * d].reshape(n_classes, d)
        b = theta[n_classes * d :]
        z = x @ w.T + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -(sample_w * np.log(np.maximum((p * onehot).sum(1), 1e-300))).sum()
        g = (p - onehot) * sample_w[:, None]
        gw = g.T @ x + l2 * w
        gb = g.sum(0)
        return float(nll + 0.5 * l2 * (w * w).sum()), np.concatenate([gw.ravel(), gb])

    theta0 = np.concatenate([w0.astype(np.float64).ravel(), b0.astype(np.float64)])
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    theta = res.x
    return (
        theta[: n_classes * d].reshape(n_classes, d).astype(np.float32),
        theta[n_classes * d :].astype(np.float32),
    )


def _real_label_rows(
    labels: Sequence[str], reject: Sequence[str], embeddings: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (N', D) embeddings and (N',) labels of the windows whose label is not a reject label, labels
    renumbered over the real labels only, and the (L - R,) indices of those real labels in ``labels``.
    ConfigError when a reject label is not one of ``labels``."""
    unknown = [r for r in reject if r not in labels]
    if unknown:
        raise ConfigError(f"reject labels {unknown} are not labels of the head {list(labels)}")
    y = np.asarray(y, np.int64)
    real = np.setdiff1d(np.arange(len(labels)), [list(labels).index(r) for r in reject])
    if len(real) == len(labels):
        return embeddings, y, real
    keep = np.isin(y, real)
    return embeddings[keep], np.searchsorted(real, y[keep]), real


def taught_open_set(
    head: Head,
    embeddings: np.ndarray,
    y: np.ndarray,
    base: Head,
    keep: float = OPEN_SET_KEEP,
    reject: Sequence[str] = (),
    windows: np.ndarray | None = None,
) -> Head:
    """``head`` (fitted on a few examples) with an open-set test in the base bundle's metric: the class
    means of the (N, D) examples as prototypes (of their head vectors for a ``euclidean`` test, which
    needs the (N, W, 3) ``windows``), the base head's precision when it has a Mahalanobis test (a
    covariance from a few examples would be noise). The threshold comes from the examples themselves
    when every class has at least 3: each example scored against the mean of the OTHER examples of its
    class (leave-one-out), then :func:`choose_threshold`; otherwise the base bundle's threshold is kept.
    Returns ``head`` unchanged when the base has no open-set test.

    ``reject``: taught labels that mean "none of these" (examples of what the user does besides the
    activities, :class:`Head`); prototypes and threshold come from the other labels' examples only."""
    if base.prototypes is None or base.threshold is None:
        if reject:
            raise ConfigError(
                "reject labels work through an open-set test, and the base bundle has none; teach from a "
                "bundle with one (the shipped default has)"
            )
        return head
    kind = base.score_kind
    stats = head.stats if head.stats is not None else base.stats
    x = np.asarray(embeddings, np.float64)
    if kind == "euclidean":
        x = head_vectors(stats, x, windows).astype(np.float64)
    elif kind == "cosine":
        x = unit_rows(x).astype(np.float64)
    e, y, real = _real_label_rows(head.labels, reject, x, y)
    n_classes = real.size
    counts = np.bincount(y, minlength=n_classes)[:n_classes]
    prec = base.precision
    if kind == "mahalanobis":
        protos, _ = class_gaussians(e, y, n_classes)
    elif kind == "euclidean":
        protos = euclidean_centres(e, y, n_classes, 1)
    else:
        protos = class_prototypes(e, y, n_classes)
    thr, curve = base.threshold, base.keep_curve
    if (counts >= 3).all():
        sums = np.zeros((n_classes, e.shape[1]))
        np.add.at(sums, y, e)
        loo_means = (sums[y] - e) / (counts[y] - 1)[:, None]
        d = e - loo_means
        if kind == "mahalanobis":
            assert prec is not None
            loo = -((d @ prec) * d).sum(1)
        elif kind == "euclidean":
            loo = -(d * d).sum(1)
        else:
            loo = (e * unit_rows(loo_means)).sum(1)
        thr, curve = choose_threshold(loo, keep), keep_curve(loo, keep)
    return Head(
        head.kind,
        head.labels,
        head.weight,
        head.bias,
        protos,
        float(thr),
        prec,
        tuple(reject),
        stats=stats,
        open_kind=kind,
        keep_curve=curve,
    )


def with_open_set(
    head: Head,
    train_emb: np.ndarray,
    train_y: np.ndarray,
    val_emb: np.ndarray,
    keep: float = OPEN_SET_KEEP,
    kind: str = "mahalanobis",
    per_class: int = 1,
    seed: int = 0,
    val_y: np.ndarray | None = None,
    reject: Sequence[str] | None = None,
    stats: StatsSpace | None = None,
    train_windows: np.ndarray | None = None,
    val_windows: np.ndarray | None = None,
) -> Head:
    """``head`` with an open-set test fitted on known windows only: class means (and, for
    ``mahalanobis``, the shared precision) of the (N, D) embeddings of TRAINING windows with labels in
    ``range(len(head.labels))``; threshold = the score that keeps ``keep`` of the known VALIDATION
    windows' (M, D) embeddings known (:func:`choose_threshold`). ``kind="cosine"``: unit class means, or
    ``per_class`` unit centres per class (:func:`class_centres`, k-means started from ``seed``).
    ``kind="euclidean"``: ``per_class`` k-means centres per class (:func:`euclidean_centres`) of the head
    vectors; with ``stats`` (default ``head.stats``) those read the windows' statistics too, from the
    (N, W, 3) ``train_windows`` and (M, W, 3) ``val_windows``. The returned head carries ``stats`` whatever
    the kind: a head taught on the bundle (:func:`fit_head`) reads them.

    ``reject`` (default ``head.reject``) names reject labels (:class:`Head`): the prototypes are then those
    of the other labels only, and ``val_y`` (M,) labels, when given, leave the reject labels' validation
    windows out of the threshold."""
    rejected = tuple(head.reject if reject is None else reject)
    stats = head.stats if stats is None else stats
    if kind not in OPEN_SET_KINDS:
        raise ConfigError(f"open-set kind must be one of {OPEN_SET_KINDS}, got {kind!r}")
    train_x: np.ndarray = np.asarray(train_emb)
    val_x: np.ndarray = np.asarray(val_emb)
    if kind == "euclidean":
        train_x = head_vectors(stats, train_x, train_windows)
        val_x = head_vectors(stats, val_x, val_windows)
    train_x, train_y, real = _real_label_rows(head.labels, rejected, train_x, train_y)
    n_classes = real.size
    if rejected and val_y is not None:
        val_x = val_x[np.isin(np.asarray(val_y), real)]
    prec = None
    if kind == "mahalanobis":
        if per_class != 1:
            raise ConfigError(
                "the mahalanobis test has one mean per class; per_class > 1 needs kind='cosine' or 'euclidean'"
            )
        protos, prec = class_gaussians(train_x, train_y, n_classes)
        val_scores = mahalanobis_scores(val_x, protos, prec)
    elif kind == "cosine":
        protos = class_centres(train_x, train_y, n_classes, per_class, seed)
        val_scores = open_set_scores(val_x, protos)
    else:
        protos = euclidean_centres(train_x, train_y, n_classes, per_class, seed)
        val_scores = euclidean_scores(val_x, protos)
    thr = choose_threshold(val_scores, keep)
    return Head(
        head.kind,
        head.labels,
        head.weight,
        head.bias,
        prototypes=protos,
        threshold=thr,
        precision=prec,
        reject=rejected,
        stats=stats,
        open_kind=kind,
        keep_curve=keep_curve(val_scores, keep),
    )
