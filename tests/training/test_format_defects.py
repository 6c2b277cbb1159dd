"""Corrupted datasets end in a clear error naming the file, never a traceback (the defect matrix of #13)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.errors import DataError, MujoError
from mujo_edge.training.data.format import Dataset, read_rows, write_dataset
from tests.training.dataset_defects import DEFECTS
from tests.training.tiny_data import make_tiny_dataset


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("defects") / "good"
    make_tiny_dataset(root, per_label_subject=1)
    return root


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_every_dataset_defect_is_a_clear_error_in_open_and_data_show(
    defect: str, good: Path, tmp_path: Path
) -> None:
    from mujo_edge.cli import main

    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    DEFECTS[defect](bad, np.random.default_rng(0))
    with pytest.raises(DataError) as err:
        Dataset.open(bad)
    assert str(bad) in str(err.value)
    try:
        rc = main(["data", "show", str(bad), "--out", str(tmp_path / "x.png")])
    except MujoError:  # main catches these; reaching here would be a traceback too
        rc = -1
    assert rc == 2 and not (tmp_path / "x.png").exists()


def test_a_stale_hash_is_refused_by_default_and_accepted_only_when_asked(good: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    DEFECTS["stale content hash (bit flip)"](bad, np.random.default_rng(1))
    with pytest.raises(DataError, match=r"content hash .* does not match"):
        Dataset.open(bad)
    assert len(Dataset.open(bad, verify=False)) == len(Dataset.open(good))


def test_float16_pose_and_extra_arrays_open_and_read_by_rows(tmp_path: Path) -> None:
    from mujo_edge.provenance import content_hash

    ds = make_tiny_dataset(tmp_path / "f32", per_label_subject=1)
    write_dataset(
        tmp_path / "f16",
        acc=np.asarray(ds.acc),
        label=np.asarray(ds.label),
        subject=np.asarray(ds.subject),
        recording=np.asarray(ds.recording),
        start=np.asarray(ds.start),
        pose=np.asarray(ds.pose, dtype=np.float16),
        labels=ds.labels,
    )
    half = Dataset.open(tmp_path / "f16")
    assert half.pose is not None and half.pose.dtype == np.float16
    assert half.manifest["arrays"]["pose"]["dtype"] == "float16"
    idx = np.array([0, 1, 2, 7, 11, 12, 23])
    rows = read_rows(half.pose, idx)
    assert rows.dtype == np.float16 and np.array_equal(rows, np.asarray(half.pose)[idx])
    assert float(np.abs(rows.astype(np.float32) - np.asarray(ds.pose)[idx]).max()) < 1e-3  # metres
    # an extra per-window array listed in the manifest (as another importer adds them) is kept in .extra
    import json

    root = tmp_path / "f16"
    np.save(root / "placement.npy", np.arange(len(half), dtype=np.int64) % 3)
    man = json.loads((root / "manifest.json").read_text())
    man["arrays"]["placement"] = {"shape": [len(half)], "dtype": "int64", "units": "id"}
    man["content_hash"] = content_hash([root / f"{n}.npy" for n in man["arrays"]], root)
    (root / "manifest.json").write_text(json.dumps(man))
    again = Dataset.open(root)
    assert again.extra["placement"].tolist()[:4] == [0, 1, 2, 0]


def test_a_malicious_seglearn_watch_file_is_not_unpickled(tmp_path: Path) -> None:
    """The one pickle the project reads (seglearn's watch_dataset.npy) is loaded only with its known sha256."""
    from mujo_edge.training.data.seglearn import load_watch

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple:
            return (Path.touch, (marker,))

    bad = tmp_path / "watch_dataset.npy"
    np.save(bad, np.array(Evil(), dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="sha256"):
        load_watch(bad)
    assert not marker.exists()


def test_a_dataset_is_never_written_over_a_file(tmp_path: Path) -> None:
    """Every importer writes through write_dataset: an --out that is a file is refused and left as it was."""
    ds = make_tiny_dataset(tmp_path / "src", per_label_subject=1)
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    with pytest.raises(DataError, match="is an existing file, not a dataset folder; it is never replaced"):
        write_dataset(
            out,
            acc=np.asarray(ds.acc),
            label=np.asarray(ds.label),
            subject=np.asarray(ds.subject),
            recording=np.asarray(ds.recording),
            start=np.asarray(ds.start),
            labels=ds.labels,
            overwrite=True,
        )
    assert out.read_text() == "mine"


def test_nan_samples_are_refused_even_when_the_hash_was_recomputed(tmp_path: Path) -> None:
    """A dataset edited and re-hashed with a NaN sample trained NaN weights in finetune and distill."""
    from mujo_edge.provenance import content_hash

    ds = make_tiny_dataset(tmp_path / "d", per_label_subject=1)
    acc = np.load(ds.root / "acc.npy")
    acc[3, 5, 0] = np.nan
    np.save(ds.root / "acc.npy", acc)
    m = json.loads((ds.root / "manifest.json").read_text())
    m["content_hash"] = content_hash([ds.root / f"{n}.npy" for n in m["arrays"]], ds.root)
    (ds.root / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DataError, match=r"acc\.npy window 3 holds NaN or infinite values"):
        Dataset.open(ds.root)


def test_a_dataset_never_replaces_another_kind_of_artifact(tmp_path: Path) -> None:
    """data merge --force deleted a classifier after calling it 'a dataset'."""
    from mujo_edge.training.data.format import check_dataset_out

    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "manifest.json").write_text('{"format": "mujo-edge-classifier"}')
    for overwrite in (False, True):
        with pytest.raises(
            DataError, match="holds a mujo-edge-classifier, not a dataset; it is never replaced"
        ):
            check_dataset_out(teacher, overwrite)
    ds = make_tiny_dataset(tmp_path / "d", per_label_subject=1)
    with pytest.raises(DataError, match="already holds a dataset; choose another --out or pass --force"):
        check_dataset_out(ds.root, False)
    check_dataset_out(ds.root, True)
