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
  several ways, either wrist or several tempos, gets a prototype for each instead of one mean between them).

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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mujo_edge.constants import OPEN_SET_KEEP, TEXT_HEAD_SCALE
from mujo_edge.errors import ConfigError, ShapeError

#: Head kinds a bundle may declare.
HEAD_KINDS: tuple[str, ...] = ("logits", "linear")
#: Ways :func:`fit_head` fits a head on a few examples.
FIT_METHODS: tuple[str, ...] = ("ncm", "logreg")
#: How far below the open-set threshold a window whose most probable label is a reject label scores.
REJECT_MARGIN: float = 1.0


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
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    out = []
    for c in range(n_classes):
        x = e[y == c]
        if len(x) == 0:
            raise ShapeError(f"class {c} has no example; every label needs at least one window")
        out.append(_spherical_kmeans(x, per_class, rng, iters) if len(x) > per_class else x)
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


def choose_threshold(known_scores: np.ndarray, keep: float = OPEN_SET_KEEP) -> float:
    """The open-set threshold that keeps ``keep`` of the (N,) scores of KNOWN validation windows known:
    their ``1 - keep`` quantile. Windows of activities the model should reject are never used."""
    s = np.asarray(known_scores, np.float64)
    if s.size == 0:
        raise ShapeError("choosing an open-set threshold needs at least one known validation window")
    if not 0.0 < keep <= 1.0:
        raise ConfigError(f"keep must be in (0, 1], got {keep}: the fraction of known windows to accept")
    return float(np.quantile(s, 1.0 - keep))


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
        kind: ``"logits"`` (the model's classes) or ``"linear"`` (weight over the unit embedding).
        labels: output label names (L).
        weight: (L, D) float32, ``linear`` only.
        bias: (L,) float32, ``linear`` only.
        prototypes: (K, D) float32 open-set prototypes, or None (no open-set test: every window is known).
        threshold: open-set score below which a window is unknown (None without prototypes).
        precision: (D, D) float32 shared precision: the test is ``mahalanobis`` (prototypes are raw class
            means); None: ``cosine``.
        reject: labels meaning "none of these" (an ``other`` class): a window whose most probable label is
            one of them is unknown. Needs an open-set test; never every label.
    """

    kind: str
    labels: list[str]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    prototypes: np.ndarray | None = None
    threshold: float | None = None
    precision: np.ndarray | None = None
    reject: tuple[str, ...] = ()

    @property
    def score_kind(self) -> str | None:
        """``"mahalanobis"``, ``"cosine"`` or None (no open-set test)."""
        if self.prototypes is None:
            return None
        return "cosine" if self.precision is None else "mahalanobis"

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(B,) float32 open-set scores of (B, D) embeddings (higher = better known)."""
        if self.prototypes is None:
            return np.full(len(embeddings), np.inf, np.float32)
        if self.precision is not None:
            return mahalanobis_scores(embeddings, self.prototypes, self.precision)
        return open_set_scores(embeddings, self.prototypes)

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
        if self.precision is not None:
            d = None if self.prototypes is None else self.prototypes.shape[1]
            self.precision = np.asarray(self.precision, np.float32)
            if self.precision.shape != (d, d):
                raise ShapeError(f"the open-set precision must be ({d}, {d}), got {self.precision.shape}")
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

    @property
    def embed_dim(self) -> int | None:
        """D of the embedding the head expects, or None when it reads only logits."""
        if self.weight is not None:
            return int(self.weight.shape[1])
        if self.prototypes is not None:
            return int(self.prototypes.shape[1])
        return None

    def __call__(self, logits: np.ndarray, embeddings: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(B, L) float32 probabilities and (B,) float32 open-set scores (+inf without an open-set test)
        from the model's (B, C) logits and (B, D) embeddings."""
        if self.needs_embedding and embeddings is None:
            raise ShapeError("this head reads the model's embedding output, but none was given")
        if self.kind == "logits":
            probs = softmax_rows(logits)
        else:
            assert self.weight is not None and self.bias is not None and embeddings is not None
            probs = softmax_rows(unit_rows(embeddings) @ self.weight.T + self.bias)
        if self.prototypes is None:
            return probs, np.full(probs.shape[0], np.inf, np.float32)
        assert embeddings is not None
        scores = self.scores(embeddings)
        if self.reject:
            assert self.threshold is not None
            rejected = np.isin(probs.argmax(axis=1), self._reject_idx)
            scores = np.where(rejected, np.float32(self.threshold - REJECT_MARGIN), scores).astype(np.float32)
            probs = probs.copy()
            probs[:, self._reject_idx] = 0.0
        return probs, scores

    def known(self, scores: np.ndarray) -> np.ndarray:
        """(B,) bool: which windows the model knows (always True without an open-set test)."""
        if self.threshold is None:
            return np.ones(np.shape(scores), bool)
        return np.asarray(scores) >= self.threshold


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
) -> Head:
    """Fit a linear head on (N, D) frozen embeddings with labels (N,) in ``range(len(labels))``.

    ``ncm``: nearest class mean, weight = ``scale`` * unit class means (works from one example per class).
    ``logreg``: multinomial logistic regression on the unit embeddings (scipy L-BFGS, L2 penalty ``l2``),
    started from the class means. No open-set test: add one with :func:`taught_open_set`.
    """
    if method not in FIT_METHODS:
        raise ConfigError(f"method must be one of {FIT_METHODS}, got {method!r}")
    n_classes = len(labels)
    e = unit_rows(embeddings)
    y = np.asarray(y, np.int64)
    if e.ndim != 2 or y.shape != (e.shape[0],):
        raise ShapeError(f"expected (N, D) embeddings and (N,) labels, got {e.shape} and {y.shape}")
    protos = class_prototypes(e, y, n_classes)
    w0 = protos * np.float32(scale)
    b0 = np.zeros(n_classes, np.float32)
    if method == "logreg":
        w0, b0 = _logreg(e, y, n_classes, w0, b0, l2, max_iter)
    return Head("linear", list(labels), weight=w0, bias=b0)


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
) -> Head:
    """``head`` (fitted on a few examples) with an open-set test in the base bundle's metric: the class
    means of the (N, D) examples as prototypes, the base head's precision when it has a Mahalanobis test
    (a covariance from a few examples would be noise). The threshold comes from the examples themselves
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
    e, y, real = _real_label_rows(head.labels, reject, np.asarray(embeddings, np.float64), y)
    n_classes = real.size
    counts = np.bincount(y, minlength=n_classes)[:n_classes]
    prec = base.precision
    if prec is not None:
        protos, _ = class_gaussians(e, y, n_classes)
    else:
        protos = class_prototypes(e, y, n_classes)
    thr = base.threshold
    if (counts >= 3).all():
        sums = np.zeros((n_classes, e.shape[1]))
        np.add.at(sums, y, e if prec is not None else unit_rows(e))
        loo_means = (sums[y] - (e if prec is not None else unit_rows(e))) / (counts[y] - 1)[:, None]
        if prec is not None:
            d = e - loo_means
            loo = -((d @ prec) * d).sum(1)
        else:
            loo = (unit_rows(e) * unit_rows(loo_means)).sum(1)
        thr = choose_threshold(loo, keep)
    return Head(head.kind, head.labels, head.weight, head.bias, protos, float(thr), prec, tuple(reject))


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
) -> Head:
    """``head`` with an open-set test fitted on known windows only: class means (and, for
    ``mahalanobis``, the shared precision) of the (N, D) embeddings of TRAINING windows with labels in
    ``range(len(head.labels))``; threshold = the score that keeps ``keep`` of the known VALIDATION
    windows' (M, D) embeddings known (:func:`choose_threshold`). ``kind="cosine"``: unit class means, or
    ``per_class`` unit centres per class (:func:`class_centres`, k-means started from ``seed``).

    ``reject`` (default ``head.reject``) names reject labels (:class:`Head`): the prototypes are then those
    of the other labels only, and ``val_y`` (M,) labels, when given, leave the reject labels' validation
    windows out of the threshold."""
    rejected = tuple(head.reject if reject is None else reject)
    train_emb, train_y, real = _real_label_rows(head.labels, rejected, np.asarray(train_emb), train_y)
    n_classes = real.size
    if rejected and val_y is not None:
        val_emb = np.asarray(val_emb)[np.isin(np.asarray(val_y), real)]
    if kind == "mahalanobis":
        if per_class != 1:
            raise ConfigError(
                "the mahalanobis test has one mean per class; per_class > 1 needs kind='cosine'"
            )
        protos, prec = class_gaussians(train_emb, train_y, n_classes)
    elif kind == "cosine":
        protos, prec = class_centres(train_emb, train_y, n_classes, per_class, seed), None
    else:
        raise ConfigError(f"open-set kind must be mahalanobis or cosine, got {kind!r}")
    probe = Head(head.kind, head.labels, head.weight, head.bias, protos, 0.0, prec)
    thr = choose_threshold(probe.scores(val_emb), keep)
    return Head(
        head.kind,
        head.labels,
        head.weight,
        head.bias,
        prototypes=protos,
        threshold=thr,
        precision=prec,
        reject=rejected,
    )
