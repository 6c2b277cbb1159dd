"""A benchmark split whose subject lists overlap (train / val / test) and a dataset's label text for a label it
does not have: each is refused with the project's error before anything is run or written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mujo_edge.errors import DataError
from mujo_edge.training.benchmark import DatasetSpec, load_spec
from mujo_edge.training.data.format import Dataset, write_dataset
from mujo_edge.training.data.splits import check_disjoint_subjects

REPO = Path(__file__).resolve().parents[2]


# --- benchmark splits ------------------------------------------------------------------------------
def _spec(tmp_path: Path, split: dict[str, Any], **extra: Any) -> Path:
    path = tmp_path / "spec.json"
    dataset = {"name": "tiny", "data": "real", "split": split, "labels": {"act0": "walking"}}
    path.write_text(json.dumps({"datasets": [dataset], **extra}))
    return path


OVERLAPS = {
    "train and test": (
        {"train": [1, 2, 3, 5], "val": [4], "test": [5, 6]},
        r"subjects \[5\] are in both train \[1, 2, 3, 5\] and test \[5, 6\]",
        "make the train and test subjects disjoint",
    ),
    "val and test": (
        {"val": [4, 6], "test": [5, 6]},
        r"subjects \[6\] are in both val \[4, 6\] and test \[5, 6\]",
        "make the val and test subjects disjoint",
    ),
    "val and test, train given": (
        {"train": [1, 2], "val": [4, 5], "test": [5, 6]},
        r"subjects \[5\] are in both val \[4, 5\] and test \[5, 6\]",
        "make the val and test subjects disjoint",
    ),
    "train and val": (
        {"train": [1, 2, 4], "val": [4], "test": [5, 6]},
        r"subjects \[4\] are in both train \[1, 2, 4\] and val \[4\]",
        "make the train and val subjects disjoint",
    ),
    "one id, not a list": (
        {"train": [1, 5], "test": 5},
        r"subjects \[5\] are in both train \[1, 5\] and test \[5\]",
        "disjoint",
    ),
    "train is test": (
        {"train": [5, 6], "test": [6, 5]},
        r"subjects \[5, 6\] are in both train \[5, 6\] and test \[6, 5\]",
        "disjoint",
    ),
}


@pytest.mark.parametrize("case", list(OVERLAPS), ids=list(OVERLAPS))
def test_a_spec_whose_subject_lists_overlap_is_refused_when_loaded(tmp_path: Path, case: str) -> None:
    split, overlap, fix = OVERLAPS[case]
    with pytest.raises(DataError, match=overlap) as e:
        load_spec(_spec(tmp_path, split))
    assert fix in str(e.value) and "datasets[0].split (tiny)" in str(e.value)


def test_settings_given_as_overrides_do_not_let_an_overlap_through(tmp_path: Path) -> None:
    path = _spec(tmp_path, {"train": [1, 5], "test": [5, 6]})
    with pytest.raises(DataError, match=r"subjects \[5\] are in both train"):
        load_spec(path, seeds=1, shots=[1], fractions_pct=[100], modes=["linear"], max_epochs=1, patience=1)


def test_the_benchmark_command_refuses_an_overlap_before_making_its_report_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch", reason="the benchmark command needs torch (training extra)")
    from mujo_edge.cli import main

    path = _spec(tmp_path, {"val": [4, 5], "test": [5, 6]})
    out = tmp_path / "report"
    argv = ["benchmark", "--spec", str(path), "--pretrained", str(tmp_path / "run"), "--out", str(out),
            "--seeds", "1", "--shots", "1", "--modes", "linear"]  # fmt: skip
    assert main(argv) == 2
    said = " ".join(capsys.readouterr().out.split())
    assert "subjects [5] are in both val [4, 5] and test [5, 6]" in said and "disjoint" in said
    assert not out.exists()


@pytest.mark.parametrize(
    ("kw", "overlap"),
    [
        ({"test_subjects": (5, 6), "train_subjects": (1, 6)}, r"subjects \[6\] are in both train"),
        ({"test_subjects": (5, 6), "val_subjects": (5,)}, r"subjects \[5\] are in both val"),
        ({"test_subjects": (5,), "val_subjects": (4,), "train_subjects": (4,)}, r"\[4\] are in both train"),
        ({"test_subjects": (np.int64(5),), "val_subjects": [np.int64(5)]}, r"subjects \[5\] are in both val"),
    ],
)
def test_a_dataset_spec_built_in_python_refuses_an_overlap(kw: dict[str, Any], overlap: str) -> None:
    with pytest.raises(DataError, match=overlap) as e:
        DatasetSpec(name="tiny", data="real", **kw)
    assert "dataset 'tiny'" in str(e.value) and "disjoint" in str(e.value)
    good = DatasetSpec(
        name="tiny", data="real", test_subjects=(5, 6), val_subjects=(4,), train_subjects=(1, 2)
    )
    with pytest.raises(DataError, match="disjoint"):
        dataclasses.replace(good, **kw)


def test_disjoint_splits_load_as_before(tmp_path: Path) -> None:
    d = load_spec(_spec(tmp_path, {"val": [4], "test": [5, 6]})).datasets[0]
    assert (d.test_subjects, d.val_subjects, d.train_subjects) == ((5, 6), (4,), None)
    d = load_spec(_spec(tmp_path, {"train": [1, 2, 3], "val": [4], "test": [5, 6]})).datasets[0]
    assert d.train_subjects == (1, 2, 3)
    check_disjoint_subjects((5, 6), (4,), None)
    check_disjoint_subjects((5, 6), (), (1, 2))


def test_every_shipped_spec_has_disjoint_splits() -> None:
    specs = sorted((REPO / "experiments" / "benchmark").glob("*.json"))
    assert specs
    for path in specs:
        for d in load_spec(path).datasets:
            train = set(d.train_subjects or ())
            assert not train & set(d.test_subjects) and not set(d.val_subjects) & set(d.test_subjects)
            assert not train & set(d.val_subjects)


# --- label text of a dataset -----------------------------------------------------------------------
def _arrays(**kw: Any) -> dict[str, Any]:
    n = 4
    args: dict[str, Any] = dict(
        acc=np.zeros((n, 100, 3), np.float32),
        label=np.array([0, 1, 0, 1]),
        subject=np.zeros(n, np.int64),
        recording=np.zeros(n, np.int64),
        start=np.arange(n) * 50,
        labels=["squat", "lunge"],
    )
    args.update(kw)
    return args


UNKNOWN_TEXT = {
    "one unknown": ({"squat": ["squats"], "plank": ["plank hold"]}, r"\['plank'\]"),
    "only unknown": ({"jumping jacks": ["jumping jacks"]}, r"\['jumping jacks'\]"),
    "case differs": ({"Squat": ["squats"]}, r"\['Squat'\]"),
}


@pytest.mark.parametrize("case", list(UNKNOWN_TEXT), ids=list(UNKNOWN_TEXT))
def test_label_text_for_a_label_the_dataset_lacks_is_refused_before_writing(
    tmp_path: Path, case: str
) -> None:
    text, unknown = UNKNOWN_TEXT[case]
    out = tmp_path / "ds"
    with pytest.raises(DataError, match=rf"label_text has text for {unknown}, which are not labels") as e:
        write_dataset(out, **_arrays(label_text=text))
    assert "['squat', 'lunge']" in str(e.value)
    assert not out.exists()


def test_label_text_for_an_unknown_label_leaves_an_existing_dataset_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    write_dataset(out, **_arrays(label_text={"squat": ["squats"]}))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(DataError, match=r"label_text has text for \['plank'\]"):
        write_dataset(out, **_arrays(label_text={"plank": ["plank hold"]}, overwrite=True))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert Dataset.open(out).label_text == {"squat": ["squats"]}


def test_label_text_for_some_or_all_of_the_labels_is_written(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "some", **_arrays(label_text={"lunge": ["lunges"]}))
    assert ds.label_text == {"lunge": ["lunges"]}
    text = {"squat": ["squats", "bodyweight squat"], "lunge": ["lunges"]}
    assert write_dataset(tmp_path / "all", **_arrays(label_text=text)).label_text == text
