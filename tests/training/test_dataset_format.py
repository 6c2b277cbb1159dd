"""The dataset folder format: round trip, validation, tamper detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.errors import DataError, ShapeError
from mujo_edge.training.data import Dataset, write_dataset


def _arrays(n: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "acc": rng.normal(size=(n, 100, 3)).astype(np.float32),
        "label": np.arange(n) % 2,
        "subject": np.arange(n) // 3,
        "recording": np.zeros(n, dtype=int),
        "start": np.arange(n) * 50,
    }


def test_round_trip(tmp_path: Path) -> None:
    a = _arrays()
    ds = write_dataset(tmp_path / "d", labels=["a", "b"], label_text={"a": ["A"]}, seed=3, **a)
    again = Dataset.open(tmp_path / "d", verify=True)
    assert len(again) == 6 and again.labels == ["a", "b"]
    np.testing.assert_array_equal(np.asarray(again.acc), a["acc"])
    assert again.manifest["provenance"]["seed"] == 3
    assert again.manifest["class_counts"] == {"a": 3, "b": 3}
    assert ds.pose is None and again.modalities == ["acc"]


def test_tampered_array_is_refused(tmp_path: Path) -> None:
    write_dataset(tmp_path / "d", labels=["a", "b"], **_arrays())
    arr = np.load(tmp_path / "d" / "label.npy")
    arr[0] = 1 - arr[0]
    np.save(tmp_path / "d" / "label.npy", arr)
    with pytest.raises(DataError, match="content hash"):
        Dataset.open(tmp_path / "d", verify=True)


def test_bad_inputs(tmp_path: Path) -> None:
    a = _arrays()
    with pytest.raises(ShapeError, match="label must be"):
        write_dataset(tmp_path / "x", labels=["a", "b"], **{**a, "label": a["label"][:3]})
    bad = a["acc"].copy()
    bad[2, 5, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        write_dataset(tmp_path / "y", labels=["a", "b"], **{**a, "acc": bad})
    assert not (tmp_path / "y" / "manifest.json").exists()
    with pytest.raises(DataError, match="no manifest"):
        Dataset.open(tmp_path / "nothing")
    write_dataset(tmp_path / "z", labels=["a", "b"], **a)
    m = json.loads((tmp_path / "z" / "manifest.json").read_text())
    m["schema_version"] = 99
    (tmp_path / "z" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DataError, match="schema_version 99"):
        Dataset.open(tmp_path / "z")
