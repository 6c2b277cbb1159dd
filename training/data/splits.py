"""Splits: which windows train, validate and test a model, and class-balanced training fractions.

Windows overlap by half within a recording, so a random window split leaks: the test set would hold halves of
training windows. Every split here is by subject (or by the recording lists a dataset's manifest publishes,
as MM-Fit's authors split by workout). :func:`sample_fraction` draws the paper's 1 %..100 % training fractions
per class.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from mujo_edge._checks import count, ids, is_number, is_whole, number, real_array
from mujo_edge.errors import DataError
from mujo_edge.training.data.format import Dataset


class Split(NamedTuple):
    """Sorted int64 window indices of each part; unpack as ``train, val, test = split``."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _index_array(x: object, what: str) -> np.ndarray:
    """An (N,) int64 array of whole numbers; DataError naming ``what`` for strings, fractions, 2-D arrays."""
    a = real_array(x, np.dtype(np.int64), what, keep_float=True, error=DataError)
    if a.dtype.kind == "f" and not (np.isfinite(a).all() and (a == np.round(a)).all()):
        raise DataError(f"{what} must hold whole numbers, got fractional or non-finite values: pass integers")
    if a.ndim != 1:
        raise DataError(f"{what} must be one-dimensional (N,), got shape {a.shape}")
    return a.astype(np.int64, copy=False)


def _subjects_of(data: Dataset | np.ndarray) -> np.ndarray:
    if isinstance(data, Dataset):
        return np.asarray(data.subject).astype(np.int64, copy=False)
    return _index_array(data, "expected a Dataset or an (N,) subject array; the subject array")


def _id_list(values: Iterable[int] | int, what: str) -> list[int]:
    """Subject ids as given (one id or a list of them), in their order; DataError for anything else."""
    if is_whole(values):
        return [int(values)]  # type: ignore[arg-type]
    return list(ids(values, what, "pass a subject id or a list of them, e.g. [9, 10]", DataError))


def _ids(values: Iterable[int] | int, what: str) -> set[int]:
    return set(_id_list(values, what))


def check_disjoint_subjects(
    test: Any, val: Any = (), train: Any = None, where: str = "the subject split"
) -> None:
    """DataError when a subject is in two parts of a split: train and test, validation and test, train and
    validation. A test score on subjects the model trained on (or was chosen on) is not a held-out score.
    ``train`` None: every subject that is neither test nor validation, disjoint by construction. Needs no
    data, so commands check their split with it before they make anything."""
    given = [("train", train)] if train is not None else []
    given += [("val", val), ("test", test)]
    parts = [(name, _id_list(v, f"{where}: {name} subjects")) for name, v in given]
    for i, (a, ids_a) in enumerate(parts):
        for b, ids_b in parts[i + 1 :]:
            both = sorted(set(ids_a) & set(ids_b))
            if both:
                how = "trained on" if a == "train" else "was chosen on"
                raise DataError(
                    f"{where}: subjects {both} are in both {a} {ids_a} and {b} {ids_b}, so the {b} score would "
                    f"be measured on subjects the model {how}: make the {a} and {b} subjects disjoint"
                )


def subject_split(
    data: Dataset | np.ndarray,
    test_subjects: Iterable[int] | int,
    val_subjects: Iterable[int] | int = (),
) -> Split:
    """Split windows by subject: the listed test/val subjects, everyone else trains.

    Args:
        data: a :class:`Dataset` or its (N,) ``subject`` array.
        test_subjects: subject ids held out for testing.
        val_subjects: subject ids held out for validation (early stopping); may be empty.
    Returns:
        :class:`Split` of disjoint window indices covering every window.
    Raises:
        DataError: a named subject is not in the data, a subject is both test and val
            (:func:`check_disjoint_subjects`), or no subject is left to train on.
    """
    subject = _subjects_of(data)
    test, val = _ids(test_subjects, "test_subjects"), _ids(val_subjects, "val_subjects")
    present = set(np.unique(subject).tolist())
    unknown = sorted((test | val) - present)
    if unknown:
        raise DataError(
            f"subjects {unknown} are not in the data (it has subjects {sorted(present)}); "
            "pick test/val subjects from that list"
        )
    check_disjoint_subjects(sorted(test), sorted(val))
    if not test:
        raise DataError("no test subjects given; name at least one subject to hold out")
    if not present - test - val:
        raise DataError(
            f"holding out subjects {sorted(test | val)} leaves nobody to train on; hold out fewer subjects"
        )
    is_test = np.isin(subject, sorted(test))
    is_val = np.isin(subject, sorted(val))
    return Split(
        train=np.flatnonzero(~is_test & ~is_val),
        val=np.flatnonzero(is_val),
        test=np.flatnonzero(is_test),
    )


def leave_subjects_out(
    data: Dataset | np.ndarray, group_size: int = 1, n_val: int = 0, seed: int = 0
) -> Iterator[tuple[tuple[int, ...], Split]]:
    """Cross-validation folds that each test on ``group_size`` unseen subjects.

    Subjects are shuffled once with ``seed`` and cut into consecutive groups (the last group may be smaller);
    each fold tests on one group and, if ``n_val > 0``, validates on the ``n_val`` subjects that follow it
    (cyclically). Yields ``(test_subjects, split)``.
    """
    subject = _subjects_of(data)
    ids = np.unique(subject)
    group_size = count(group_size, "group_size", 1, "pass how many subjects each fold tests on", DataError)
    n_val = count(n_val, "n_val", 0, "pass how many subjects each fold validates on (0: none)", DataError)
    seed = count(seed, "seed", 0, "pass a whole-number random seed", DataError)
    if group_size < 1 or n_val < 0 or group_size + n_val >= ids.size:
        raise DataError(
            f"{ids.size} subjects cannot give folds of {group_size} test + {n_val} val subjects with anyone "
            "left to train; lower group_size or n_val"
        )
    order = np.random.default_rng(seed).permutation(ids)
    for first in range(0, order.size, group_size):
        test = tuple(int(s) for s in order[first : first + group_size])
        val = [int(order[(first + len(test) + k) % order.size]) for k in range(n_val)]
        yield test, subject_split(subject, test, val)


def predefined_split(dataset: Dataset, test: str = "test") -> Split:
    """The split a dataset's manifest publishes (``manifest["splits"]``), e.g. MM-Fit's authors' workouts.

    The manifest entry looks like ``{"by": "recording", "train": [...], "val": [...], "test": [...],
    "unseen": [...]}``; ``test`` picks which held-out list tests (``"test"`` or ``"unseen"``).
    """
    if not isinstance(dataset, Dataset):
        raise DataError(
            f"predefined_split needs an opened Dataset, got {type(dataset).__name__} {dataset!r:.60}: pass "
            "Dataset.open(folder)"
        )
    splits = dataset.manifest.get("splits")
    if not isinstance(splits, dict) or "train" not in splits:
        raise DataError(
            f"{dataset.root} publishes no splits in its manifest; use subject_split with subject ids instead"
        )
    if test not in splits:
        names = sorted(k for k in splits if k != "by")
        raise DataError(f"{dataset.root}: no split named {test!r}; the manifest has {names}")
    by = splits.get("by", "recording")
    if by not in ("recording", "subject"):
        raise DataError(
            f"{dataset.root}: splits by {by!r} are not understood (expected recording or subject)"
        )
    key = np.asarray(dataset.recording if by == "recording" else dataset.subject)

    def part(name: str) -> np.ndarray:
        return np.flatnonzero(np.isin(key, [int(v) for v in splits.get(name, [])]))

    return Split(train=part("train"), val=part("val"), test=part(test))


def sample_fraction(
    labels: np.ndarray, idx: np.ndarray | Sequence[int], fraction: float, seed: int
) -> np.ndarray:
    """A class-balanced fraction of the windows ``idx``, as the paper samples 1 %..100 % per class.

    From each class present among ``labels[idx]`` keep ``max(1, round(fraction * n_class))`` windows, drawn
    without replacement. Deterministic for a seed, and nested: with the same seed, the windows of a smaller
    fraction are a subset of those of a larger one.

    Args:
        labels: (N,) class index of every window of the dataset.
        idx: window indices to sample from (e.g. ``split.train``).
        fraction: in (0, 1]; 0.02 means 2 %.
        seed: random seed.
    Returns:
        sorted int64 window indices, a subset of ``idx``.
    """
    pct = is_number(fraction) and 1.0 < fraction <= 100.0
    hint = " (it looks like a percentage: divide by 100)" if pct else ""
    fraction = number(fraction, "fraction", 0.0, 1.0, fix=f"pass e.g. 0.02 for 2 %{hint}", error=DataError)
    seed = count(seed, "seed", 0, "pass a whole-number random seed", DataError)
    labels = _index_array(labels, "labels (the class index of every window)")
    idx = np.unique(_index_array(idx, "idx (the window indices to sample from)"))
    if idx.size and (idx[0] < 0 or idx[-1] >= labels.shape[0]):
        raise DataError(f"indices must be in [0, {labels.shape[0]}), found {idx[0]}..{idx[-1]}")
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels[idx]):
        members = idx[labels[idx] == c]
        k = max(1, round(fraction * members.size))
        keep.append(rng.permutation(members)[:k])
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
