"""``mujo-edge data merge``: datasets concatenated, labels and texts united, subjects kept distinct."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo_edge.cli import main
from mujo_edge.errors import DataError
from mujo_edge.training.data.format import Dataset, write_dataset
from mujo_edge.training.data.merge import SUBJECT_STRIDE, merge_datasets
from tests.training.tiny_data import make_tiny_dataset


def test_merge_unites_labels_and_keeps_subjects_apart(tmp_path: Path) -> None:
    a = make_tiny_dataset(
        tmp_path / "a", n_labels=2, per_label_subject=2, subjects=(1, 2), labels=["walk", "run"]
    )
    b = make_tiny_dataset(
        tmp_path / "b", n_labels=2, per_label_subject=3, subjects=(2, 5), seed=1, labels=["run", "jump"]
    )
    m = merge_datasets([a.root, b.root], tmp_path / "m")
    assert m.labels == ["walk", "run", "jump"]
    assert len(m) == len(a) + len(b) == 8 + 12
    # b's "run" (its index 0) becomes 1, its "jump" (1) becomes 2; a's indices are unchanged
    lab = np.asarray(m.label)
    np.testing.assert_array_equal(lab[: len(a)], np.asarray(a.label))
    np.testing.assert_array_equal(lab[len(a) :], np.array([1, 2])[np.asarray(b.label)])
    # subject 2 is in both: all of b's subjects move up by one stride; a keeps its ids
    assert m.manifest["subjects"] == [1, 2, 2 + SUBJECT_STRIDE, 5 + SUBJECT_STRIDE]
    assert m.manifest["merged_from"][1]["subject_map"] == {"2": 10002, "5": 10005}
    # arrays are the inputs' windows, in order; recordings renumbered without collisions
    np.testing.assert_array_equal(np.asarray(m.acc[len(a) :]), np.asarray(b.acc))
    np.testing.assert_array_equal(np.asarray(m.pose[: len(a)]), np.asarray(a.pose))
    assert np.unique(np.asarray(m.recording)).size == 4 + 4
    # texts: b's text ids point past a's embeddings to the same vectors
    np.testing.assert_array_equal(
        np.asarray(m.text)[np.asarray(m.text_id)[len(a) :]], np.asarray(b.text)[np.asarray(b.text_id)]
    )
    assert m.manifest["merged_from"][0]["content_hash"] == a.manifest["content_hash"]
    assert Dataset.open(m.root, verify=True).manifest["dropped_arrays"] == {}


def test_merge_drops_an_array_not_every_input_has(tmp_path: Path) -> None:
    a = make_tiny_dataset(tmp_path / "a", n_labels=2, per_label_subject=1, subjects=(1,))
    b = make_tiny_dataset(tmp_path / "b", n_labels=2, per_label_subject=1, subjects=(3,), with_pose=False)
    m = merge_datasets([a.root, b.root], tmp_path / "m")
    assert m.pose is None and "pose" in m.manifest["dropped_arrays"]
    assert m.text is not None and m.manifest["subjects"] == [1, 3]  # no collision: ids kept


def test_merge_refuses_other_grids_and_overwrites(tmp_path: Path) -> None:
    a = make_tiny_dataset(tmp_path / "a", n_labels=2, per_label_subject=1, subjects=(1,))
    b = write_dataset(
        tmp_path / "b",
        acc=np.zeros((1, 100, 3)),
        label=np.zeros(1, np.int64),
        subject=np.ones(1, np.int64),
        recording=np.zeros(1, np.int64),
        start=np.zeros(1, np.int64),
        labels=["x"],
        rate_hz=25.0,
    )
    with pytest.raises(DataError, match=r"rate_hz is 25\.0"):
        merge_datasets([a.root, b.root], tmp_path / "m")
    with pytest.raises(DataError, match="at least two"):
        merge_datasets([a.root], tmp_path / "m")
    with pytest.raises(DataError, match="one of the inputs"):
        merge_datasets([a.root, a.root], a.root)
    assert not (tmp_path / "m").exists()


def test_merge_refuses_a_dataset_given_twice_or_copied(tmp_path: Path) -> None:
    """Each window would be counted twice, as windows of new subjects that no split tells apart."""
    import shutil

    a = make_tiny_dataset(tmp_path / "a", n_labels=2, per_label_subject=1, subjects=(1,))
    shutil.copytree(a.root, tmp_path / "copy")
    with pytest.raises(DataError, match="is given twice"):
        merge_datasets([a.root, tmp_path / "a" / "."], tmp_path / "m")
    with pytest.raises(DataError, match=r"copy holds the same arrays as .*a: merging would count"):
        merge_datasets([a.root, tmp_path / "copy"], tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_cli_data_merge(tmp_path: Path) -> None:
    make_tiny_dataset(tmp_path / "a", n_labels=2, per_label_subject=1, subjects=(1,))
    make_tiny_dataset(tmp_path / "b", n_labels=3, per_label_subject=1, subjects=(1,))
    rc = main(["data", "merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "m")])
    assert rc == 0
    m = Dataset.open(tmp_path / "m", verify=True)
    assert m.labels == ["act0", "act1", "act2"] and m.manifest["subjects"] == [1, 1 + SUBJECT_STRIDE]
    assert (
        main(["data", "merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "m")]) != 0
    )
