"""The seglearn watch importer on the real file shipped inside the seglearn wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.cli import main
from mujo_edge.training.data.format import Dataset

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("seglearn") is None, reason="seglearn (training extra) is not installed"
)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out = tmp_path_factory.mktemp("sl") / "ds"
    assert main(["data", "import", "seglearn-watch", "--out", str(out)]) == 0
    return Dataset.open(out, verify=True)


def test_counts_match_the_recordings(imported: Dataset) -> None:
    from mujo_edge.training.data.seglearn import SEGLEARN_LABELS, load_watch

    raw = load_watch()
    expected = sum((x.shape[0] - 100) // 50 + 1 for x in raw["X"])
    assert len(imported) == expected == 4677
    assert imported.labels == list(SEGLEARN_LABELS)
    assert imported.acc.shape == (4677, 100, 3) and imported.gyr is not None
    assert sorted(np.unique(imported.subject).tolist()) == list(range(1, 11))
    assert np.unique(imported.recording).size == 140
    assert imported.manifest["class_counts"] == {
        "PEN": 502,
        "ABD": 770,
        "FEL": 780,
        "IR": 718,
        "ER": 723,
        "TRAP": 583,
        "ROW": 601,
    }
    assert set(imported.label_text) == set(SEGLEARN_LABELS)
    assert all(len(t) >= 3 and len(t[-1]) > 60 for t in imported.label_text.values())


def test_windows_are_slices_of_the_raw_recordings(imported: Dataset) -> None:
    from mujo_edge.training.data.seglearn import load_watch

    raw = load_watch()
    recs = {r["id"]: r for r in imported.manifest["recordings"]}
    for w in (0, 1, 2000, len(imported) - 1):
        rec, s = int(imported.recording[w]), int(imported.start[w])
        x = raw["X"][rec][s : s + 100]
        mirrored = recs[rec]["mirrored"]
        acc_sign = np.array([-1.0, 1.0, 1.0]) if mirrored else np.ones(3)
        gyr_sign = np.array([1.0, -1.0, -1.0]) if mirrored else np.ones(3)  # angular rate: a pseudo-vector
        np.testing.assert_allclose(imported.acc[w], x[:, :3] * acc_sign, atol=1e-6)
        np.testing.assert_allclose(imported.gyr[w], x[:, 3:] * gyr_sign, atol=1e-5)
        assert recs[rec]["mirrored"] == (recs[rec]["side"] == "left")


def test_left_wrists_are_mirrored_into_the_axis_convention(imported: Dataset, tmp_path: Path) -> None:
    # Hanging arm (pendulum): the watch x axis points to the hand, so gravity reads x ~ -1 g on both sides.
    side = {r["id"]: r["side"] for r in imported.manifest["recordings"]}
    sides = np.array([side[int(r)] for r in imported.recording])
    pen = np.asarray(imported.label) == 0
    for s in ("left", "right"):
        assert float(imported.acc[pen & (sides == s)][..., 0].mean()) < -0.9
    # Thumb-up forearm (internal rotation): y reads ~ +1 g on both sides, unchanged by the mirror.
    ir = np.asarray(imported.label) == 3
    assert float(imported.acc[ir][..., 1].mean()) > 0.9
    # With --device-axes the left wrist keeps its recorded (opposite) x sign and no gyroscope is written.
    raw_out = tmp_path / "raw"
    assert main(["data", "import", "seglearn-watch", "--out", str(raw_out), "--device-axes", "--no-gyr"]) == 0
    raw = Dataset.open(raw_out)
    assert raw.gyr is None
    assert float(raw.acc[pen & (sides == "left")][..., 0].mean()) > 0.9


def test_manifest_split_holds_out_subjects_9_and_10(imported: Dataset) -> None:
    from mujo_edge.training.data.splits import predefined_split

    train, val, test = predefined_split(imported)
    subject = np.asarray(imported.subject)
    assert set(subject[train].tolist()) == set(range(1, 8))
    assert set(subject[val].tolist()) == {8} and set(subject[test].tolist()) == {9, 10}
    assert train.size + val.size + test.size == len(imported)


def test_missing_seglearn_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from mujo_edge.errors import MissingDependencyError
    from mujo_edge.training.data import seglearn

    monkeypatch.setattr(seglearn.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match=r"mujo-edge\[training\]"):
        seglearn.find_watch_file()
