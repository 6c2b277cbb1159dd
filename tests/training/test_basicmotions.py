"""BasicMotions importer: the .ts parser, units, 10 -> 50 Hz resampling, splits; the real file when it can be had."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo_edge.constants import STANDARD_GRAVITY
from mujo_edge.errors import DataError
from mujo_edge.training.data import basicmotions
from mujo_edge.training.data.basicmotions import BASICMOTIONS_LABELS, import_basicmotions, parse_ts


def _write_ts(path: Path, series: list[np.ndarray], labels: list[str]) -> Path:
    rows = ["# test file", "@problemName BasicMotions", "@dimensions 6", "@data"]
    for x, lab in zip(series, labels, strict=True):
        rows.append(":".join(",".join(f"{v:.6f}" for v in x[:, d]) for d in range(x.shape[1])) + f":{lab}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _tiny_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = np.arange(100) / 10.0
    series, labels = [], []
    for k, lab in enumerate(["Standing", "Walking", "Running", "Badminton"]):
        acc = np.zeros((100, 3))
        acc[:, 0] = (k + 1) * np.sin(2 * np.pi * 1.0 * t)  # m/s^2, a 1 Hz swing of growing amplitude
        gyr = np.full((100, 3), 0.1 * k)
        series.append(np.hstack([acc, gyr]))
        labels.append(lab)
    files = {
        basicmotions.MEMBERS["train"]: _write_ts(tmp_path / "train.ts", series, labels),
        basicmotions.MEMBERS["test"]: _write_ts(tmp_path / "test.ts", series[::-1], labels[::-1]),
    }
    monkeypatch.setattr(basicmotions, "package_file", lambda req, member: files[member])


def test_parse_ts_reads_dimensions_and_labels(tmp_path: Path) -> None:
    x = np.arange(600, dtype=float).reshape(100, 6)
    f = _write_ts(tmp_path / "a.ts", [x, x + 1], ["Walking", "Running"])
    arr, labels = parse_ts(f)
    assert arr.shape == (2, 100, 6) and labels == ["Walking", "Running"]
    np.testing.assert_allclose(arr[1, :, 2], x[:, 2] + 1)


@pytest.mark.parametrize(
    "body, words",
    [
        ("@data\n", "no @data rows"),
        ("@data\n1,2,x:1,2:Walking\n", "line 2"),
        ("@data\n1,2:3,4:A\n1:2:B\n", "shape"),
    ],
)
def test_parse_ts_refuses_damaged_files(tmp_path: Path, body: str, words: str) -> None:
    f = tmp_path / "bad.ts"
    f.write_text(body)
    with pytest.raises(DataError, match=words):
        parse_ts(f)


def test_import_converts_units_resamples_and_splits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tiny_archive(tmp_path, monkeypatch)
    ds = import_basicmotions(tmp_path / "ds")
    # 100 samples at 10 Hz -> 500 at 50 Hz -> 9 windows of 100 at hop 50; 8 recordings
    assert len(ds) == 8 * 9 and ds.labels == list(BASICMOTIONS_LABELS)
    m = ds.manifest
    assert m["source_rate_hz"] == 10 and m["upsampled"]["to_hz"] == 50 and m["gravity"] == "removed"
    assert m["splits"]["test"] == [101, 102, 103, 104] and m["splits"]["val"] == [1, 2, 3, 4]
    # the 1 Hz swing of amplitude k m/s^2 arrives in g, at 50 Hz, with its amplitude (resample_poly keeps it)
    walking = np.asarray(ds.acc)[(np.asarray(ds.label) == 1) & (np.asarray(ds.subject) < 100)]
    t = np.arange(100) / 50.0
    np.testing.assert_allclose(
        walking[2, :, 0], 2 / STANDARD_GRAVITY * np.sin(2 * np.pi * (t + 2.0)), atol=0.01
    )
    np.testing.assert_allclose(np.asarray(ds.gyr)[np.asarray(ds.label) == 3][4], 0.3, atol=1e-3)


def test_unknown_class_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.zeros((100, 6))
    f = _write_ts(tmp_path / "t.ts", [x], ["Swimming"])
    monkeypatch.setattr(basicmotions, "package_file", lambda req, member: f)
    with pytest.raises(DataError, match="unknown class 'Swimming'"):
        import_basicmotions(tmp_path / "ds")


def test_real_archive(tmp_path: Path) -> None:
    try:
        ds = import_basicmotions(tmp_path / "bm")
    except DataError as e:
        pytest.skip(f"the aeon wheel cannot be fetched here: {e}")
    assert len(ds) == 720 and np.bincount(np.asarray(ds.label)).tolist() == [180] * 4
    mag = np.linalg.norm(np.asarray(ds.acc), axis=2).mean(axis=1)
    y = np.asarray(ds.label)
    # gravity removed: standing reads far below 1 g; running moves the wrist hardest
    assert mag[y == 0].mean() < 0.2 and mag[y == 2].mean() > mag[y == 1].mean() > mag[y == 0].mean()
