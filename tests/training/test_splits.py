"""Subject splits, leave-subjects-out folds, published splits and class-balanced fraction sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo_edge.errors import DataError
from mujo_edge.training.data.format import write_dataset
from mujo_edge.training.data.splits import (
    leave_subjects_out,
    predefined_split,
    sample_fraction,
    subject_split,
)


def _labels_subjects(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """1,000 windows, 10 subjects, 4 unbalanced classes (500 / 300 / 150 / 50)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat([0, 1, 2, 3], [500, 300, 150, 50]))
    subjects = rng.integers(1, 11, labels.size)
    return labels, subjects


def test_subject_split_is_disjoint_and_complete() -> None:
    _, subjects = _labels_subjects()
    train, val, test = subject_split(subjects, test_subjects=[9, 10], val_subjects=8)
    assert set(subjects[test]) == {9, 10} and set(subjects[val]) == {8}
    assert set(subjects[train]) == set(range(1, 8))
    assert np.intersect1d(train, test).size == 0 and np.intersect1d(train, val).size == 0
    assert train.size + val.size + test.size == subjects.size
    assert np.all(np.diff(train) > 0)


def test_subject_split_errors() -> None:
    _, subjects = _labels_subjects()
    with pytest.raises(DataError, match=r"subjects \[42\] are not in the data"):
        subject_split(subjects, [42])
    with pytest.raises(DataError, match="are in both val"):
        subject_split(subjects, [1, 2], [2])
    with pytest.raises(DataError, match="nobody to train"):
        subject_split(subjects, range(1, 11))


def test_leave_subjects_out_covers_every_subject_once() -> None:
    _, subjects = _labels_subjects()
    folds = list(leave_subjects_out(subjects, group_size=3, n_val=1, seed=1))
    assert len(folds) == 4  # 10 subjects in groups of 3, 3, 3, 1
    tested = [s for held, _ in folds for s in held]
    assert sorted(tested) == list(range(1, 11))
    for held, (train, val, test) in folds:
        assert set(subjects[test]) == set(held)
        assert len(set(subjects[val])) == 1 and not set(subjects[val]) & set(held)
        assert not set(subjects[train]) & (set(held) | set(subjects[val]))
    with pytest.raises(DataError, match="cannot give folds"):
        next(leave_subjects_out(subjects, group_size=10))


@pytest.mark.parametrize("fraction", [0.01, 0.02, 0.1, 0.5, 1.0])
def test_sample_fraction_is_class_balanced(fraction: float) -> None:
    labels, subjects = _labels_subjects()
    train, _, _ = subject_split(subjects, [10])
    picked = sample_fraction(labels, train, fraction, seed=3)
    assert np.isin(picked, train).all() and np.unique(picked).size == picked.size
    for c in range(4):
        n_c = int((labels[train] == c).sum())
        assert int((labels[picked] == c).sum()) == max(1, round(fraction * n_c))


def test_sample_fraction_keeps_rare_classes_and_is_deterministic_and_nested() -> None:
    labels, _ = _labels_subjects()
    idx = np.arange(labels.size)
    tiny = sample_fraction(labels, idx, 0.01, seed=5)
    assert sorted(np.unique(labels[tiny])) == [0, 1, 2, 3]  # 50 * 1 % rounds to 0 -> still 1 window
    assert [int((labels[tiny] == c).sum()) for c in range(4)] == [5, 3, 2, 1]
    np.testing.assert_array_equal(tiny, sample_fraction(labels, idx, 0.01, seed=5))
    assert not np.array_equal(sample_fraction(labels, idx, 0.1, 5), sample_fraction(labels, idx, 0.1, 6))
    assert np.isin(sample_fraction(labels, idx, 0.02, 7), sample_fraction(labels, idx, 0.2, 7)).all()
    with pytest.raises(DataError, match="percentage"):
        sample_fraction(labels, idx, 10, seed=0)


def test_predefined_split_reads_the_manifest(tmp_path: Path) -> None:
    n = 12
    recording = np.repeat([1, 9, 14, 5], 3)
    ds = write_dataset(
        tmp_path / "ds",
        acc=np.zeros((n, 100, 3), np.float32),
        label=np.zeros(n, np.int64),
        subject=recording,
        recording=recording,
        start=np.tile([0, 50, 100], 4),
        labels=["a"],
        extra_manifest={"splits": {"by": "recording", "train": [1], "val": [14], "test": [9], "unseen": [5]}},
    )
    train, val, test = predefined_split(ds)
    assert (recording[train] == 1).all() and (recording[val] == 14).all() and (recording[test] == 9).all()
    assert (recording[predefined_split(ds, "unseen").test] == 5).all()
    with pytest.raises(DataError, match="no split named 'holdout'"):
        predefined_split(ds, "holdout")
