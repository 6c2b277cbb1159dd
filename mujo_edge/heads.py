"""Classifier heads and open-set scoring on the student's joint-space embedding (numpy only).

A bundle's model returns ``logits (B, C)`` for the classes it was distilled on and an ``embedding (B, D)``
in (a map of) the MuJo joint space. A :class:`Head` turns those two outputs into the bundle's labels:

* ``kind="logits"``: the model's own classes, ``softmax(logits)``;
* ``kind="linear"``: any other label set, ``softmax(normalize(embedding) @ weight.T + bias)`` with a
  ``(L, D)`` weight. A bundle made from words (:func:`text_head`) has ``weight = scale * W^T t_l``: the
  cosine to each label text in the joint space; one taught from a few examples (:func:`fit_head`) has a
  nearest-class-mean or logistic-regression weight fitted here, without torch.

Every head may carry an **open-set test**: ``score = max_k cos(embedding, prototype_k)`` over ``(K, D)``
prototypes (class means of the unit embeddings of known windows, or the label-text vectors of a words
head); a window scoring below ``threshold`` is one the model does not know and comes out as
:data:`~mujo_edge.constants.UNKNOWN_LABEL`. The threshold is chosen on known validation windows only
(:func:`choose_threshold`: the score that keeps :data:`~mujo_edge.constants.OPEN_SET_KEEP` of them known),
never on the activities it is meant to reject.

Part of the runtime core: numpy (and scipy for the logistic head), never torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mujo_edge.constants import OPEN_SET_KEEP, TEXT_HEAD_SCALE
from mujo_edge.errors import ShapeError

#: Head kinds a bundle may declare.
HEAD_KINDS: tuple[str, ...] = ("logits", "linear")
#: Ways :func:`fit_head` fits a head on a few examples.
FIT_METHODS: tuple[str, ...] = ("ncm", "logreg")


def unit_rows(x: np.ndarray) -> np.ndarray:
    """(N, D) float32 rows scaled to unit L2 norm (all-zero rows stay zero)."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def softmax_rows(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (B, L) scores, float32."""
    z = np.asarray(z, np.float32)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def open_set_scores(embeddings: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """(B,) float32: each embedding's largest cosine to the (K, D) prototypes (higher = better known).

    Prototype rows need not be unit length: a words head's rows are ``W^T t`` (norm <= 1), whose dot with a
    unit embedding is the cosine in the joint space; unit class means give the plain cosine.
    """
    return (unit_rows(embeddings) @ np.asarray(prototypes, np.float32).T).max(axis=1)


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


def choose_threshold(known_scores: np.ndarray, keep: float = OPEN_SET_KEEP) -> float:
    """The open-set threshold that keeps ``keep`` of the (N,) scores of KNOWN validation windows known:
    their ``1 - keep`` quantile. Windows of activities the model should reject are never used."""
    s = np.asarray(known_scores, np.float64)
    if s.size == 0:
        raise ShapeError("choosing an open-set threshold needs at least one known validation window")
    if not 0.0 < keep <= 1.0:
        raise ShapeError(f"keep must be in (0, 1], got {keep}")
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
    """

    kind: str
    labels: list[str]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    prototypes: np.ndarray | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in HEAD_KINDS:
            raise ShapeError(f"head kind must be one of {HEAD_KINDS}, got {self.kind!r}")
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
            raise ShapeError("an open-set test needs both prototypes and a threshold, or neither")
        if self.prototypes is not None:
            self.prototypes = np.asarray(self.prototypes, np.float32)

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
        return probs, open_set_scores(embeddings, self.prototypes)

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
    started from the class means. The open-set prototypes are the unit class means in both cases; the
    threshold is left to the caller (:func:`taught_threshold`).
    """
    if method not in FIT_METHODS:
        raise ShapeError(f"method must be one of {FIT_METHODS}, got {method!r}")
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
    return Head("linear", list(labels), weight=w0, bias=b0, prototypes=protos, threshold=None)


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


def taught_threshold(
    embeddings: np.ndarray, y: np.ndarray, n_classes: int, keep: float = OPEN_SET_KEEP
) -> float | None:
    """An open-set threshold from the taught examples themselves: each example's cosine to the mean of
    the OTHER examples of its class (leave-one-out), then :func:`choose_threshold`. None when a class has
    fewer than 3 examples (too few to say how far a known window strays; keep the base bundle's)."""
    e = unit_rows(embeddings)
    y = np.asarray(y, np.int64)
    counts = np.bincount(y, minlength=n_classes)
    if (counts < 3).any():
        return None
    sums = np.zeros((n_classes, e.shape[1]))
    np.add.at(sums, y, e)
    loo = unit_rows((sums[y] - e) / (counts[y] - 1)[:, None])
    return choose_threshold((e * loo).sum(1), keep)


def with_open_set(
    head: Head,
    train_emb: np.ndarray,
    train_y: np.ndarray,
    val_emb: np.ndarray,
    keep: float = OPEN_SET_KEEP,
) -> Head:
    """``head`` with an open-set test: prototypes = unit class means of the (N, D) embeddings of known
    TRAINING windows (labels in ``range(len(head.labels))``), threshold = the score that keeps ``keep`` of
    the known VALIDATION windows' (M, D) embeddings known (:func:`choose_threshold`)."""
    protos = class_prototypes(train_emb, train_y, len(head.labels))
    thr = choose_threshold(open_set_scores(val_emb, protos), keep)
    return Head(head.kind, head.labels, head.weight, head.bias, prototypes=protos, threshold=thr)
