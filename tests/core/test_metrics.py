"""The one macro-F1: hand-computed values, how absent classes count, agreement with sklearn."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mujo_edge.errors import ShapeError
from mujo_edge.metrics import macro_f1


def test_macro_f1_by_hand() -> None:
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    # class 0: TP 2, FP 0, FN 1 -> 4/5; class 1: TP 1, FP 1, FN 1 -> 2/4; class 2: TP 1, FP 1, FN 0 -> 2/3
    assert macro_f1(y_true, y_pred) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert macro_f1(y_true, y_true) == 1.0
    assert macro_f1(np.array([], dtype=int), np.array([], dtype=int)) == 0.0


def test_absent_classes_are_left_out() -> None:
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 0, 1, 0])
    base = macro_f1(y_true, y_pred)
    assert base == pytest.approx((0.8 + 2 / 3) / 2)
    # listing classes 2..9, which no window has and none is predicted as, does not change the score
    assert macro_f1(y_true, y_pred, labels=range(10)) == pytest.approx(base)
    # a class predicted but never true occurs: it scores 0 and counts in the mean
    assert macro_f1(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 5])) == pytest.approx((1.0 + 2 / 3 + 0.0) / 3)
    # ... unless the caller averages over the true classes only (zero-shot's "no activity" distractor)
    assert macro_f1(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 5]), labels=[0, 1]) == pytest.approx(
        (1.0 + 2 / 3) / 2
    )
    assert macro_f1(y_true, y_pred, labels=[7, 8]) == 0.0


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(ShapeError, match="one prediction per true label, got 3 labels and 2 predictions"):
        macro_f1(np.array([0, 1, 2]), np.array([0, 1]))


@pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="scikit-learn (training extra) absent"
)
def test_agrees_with_sklearn_macro() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    for _ in range(20):
        y_true, y_pred = rng.integers(0, 6, 50), rng.integers(0, 7, 50)
        expected = f1_score(y_true, y_pred, average="macro", zero_division=0)
        assert macro_f1(y_true, y_pred) == pytest.approx(expected)
