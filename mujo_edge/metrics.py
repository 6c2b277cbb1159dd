"""Classification metrics, defined once for the whole project (numpy only, no torch, no sklearn).

:func:`macro_f1` is the one macro-F1 of MuJo Edge: the evaluation protocol's early stopping and test scores,
zero-shot top-k scores, distillation and export verification all call it, so their numbers mean the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mujo_edge.errors import ShapeError


def macro_f1(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[int] | np.ndarray | None = None
) -> float:
    """Macro-averaged F1 score of class predictions.

    Which classes count: the mean runs over the classes that occur, as a true label or as a prediction, among
    ``labels`` (default: every class). A class with no true and no predicted window is absent: it is left
    out of the mean, not scored 0 (it carries no evidence either way, and scoring it 0 would make the score
    depend on how many unused classes a caller lists). A class that occurs scores 2 TP / (2 TP + FP + FN),
    so a class that is predicted but never true, or true but never predicted, scores 0. With the default
    ``labels`` this is sklearn's ``f1_score(average="macro", zero_division=0)``.

    Args:
        y_true: (N,) true class indices.
        y_pred: (N,) predicted class indices.
        labels: the classes to average over. Zero-shot passes the classes of ``y_true`` only, so a candidate
            that is never the true label (a "no activity" distractor) costs the true classes precision but is
            not a zero-F1 class of its own. Predictions outside ``labels`` still count as misses of the true
            class.
    Returns:
        the macro-F1 in [0, 1]; 0.0 when no class occurs (no windows).
    Raises:
        ShapeError: ``y_true`` and ``y_pred`` are not two 1-D arrays of one length.
    """
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ShapeError(
            f"macro_f1 needs one prediction per true label, got {y_true.shape[0]} labels and "
            f"{y_pred.shape[0]} predictions"
        )
    classes = np.union1d(y_true, y_pred) if labels is None else np.asarray(labels).ravel()
    if classes.size == 0:
        return 0.0
    t = y_true[:, None] == classes[None, :]
    p = y_pred[:, None] == classes[None, :]
    tp = (t & p).sum(0)
    denom = t.sum(0) + p.sum(0)
    occurs = denom > 0
    if not occurs.any():
        return 0.0
    return float(np.mean(2 * tp[occurs] / denom[occurs]))
