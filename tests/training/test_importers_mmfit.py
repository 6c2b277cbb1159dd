"""MM-Fit importer on small workouts written in MM-Fit's published format (tests/fixtures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo_edge.cli import main
from mujo_edge.constants import H36M_JOINTS
from mujo_edge.errors import DataError
from mujo_edge.training.data.format import Dataset
from mujo_edge.training.data.mmfit import MMFIT_LABELS, MMFIT_POSE_JOINTS, import_mmfit
from mujo_edge.training.data.splits import predefined_split
from tests.fixtures import write_mmfit_workout

SQUATS, LUNGES, NONE = (
    MMFIT_LABELS.index("squats"),
    MMFIT_LABELS.index("lunges"),
    MMFIT_LABELS.index("non_activity"),
)


@pytest.fixture(scope="module")
def mmfit_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mmfit")
    # w01 (train, participant 0): squats over frames 60..180 (2..6 s). w09 (test, participant 1): lunges over
    # frames 30..200 with a pose tracking gap at frames 150..159 (5.0..5.3 s).
    write_mmfit_workout(root, 1, sets=((60, 180, 8, "squats"),))
    write_mmfit_workout(root, 9, sets=((30, 200, 10, "lunges"),), drop_pose_frames=(150, 160), seed=1)
    return root


@pytest.fixture(scope="module")
def imported(mmfit_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out = tmp_path_factory.mktemp("mm") / "ds"
    assert main(["data", "import", "mmfit", str(mmfit_root), "--out", str(out), "--with-gyr"]) == 0
    return Dataset.open(out, verify=True)


def test_windows_labels_and_subjects(imported: Dataset) -> None:
    rec = np.asarray(imported.recording)
    start = np.asarray(imported.start)
    label = np.asarray(imported.label)
    # 12 s of watch data -> 600 grid samples -> window starts 0..500. The skeleton's first frame lies a
    # fraction of a frame after the first watch sample, so window 0 is dropped; in w09 the tracking gap
    # also drops the windows at 200 and 250 (4..6 s and 5..7 s hold 5.0..5.3 s).
    assert start[rec == 1].tolist() == list(range(50, 550, 50))
    assert start[rec == 9].tolist() == [50, 100, 150, 300, 350, 400, 450, 500]
    by_start = dict(zip(start[rec == 1].tolist(), label[rec == 1].tolist(), strict=True))
    assert [by_start[s] for s in (100, 150, 200, 250)] == [SQUATS] * 4  # 2..7 s: mostly inside frames 60..180
    assert by_start[350] == NONE and by_start[500] == NONE
    assert set(label[rec == 9][:3].tolist()) == {LUNGES}
    assert imported.labels == list(MMFIT_LABELS)
    assert np.asarray(imported.subject)[rec == 1].tolist() == [0] * 10  # MM-Fit's workout -> participant map
    assert set(np.asarray(imported.subject)[rec == 9].tolist()) == {1}
    recs = {r["workout"]: r for r in imported.manifest["recordings"]}
    assert recs["w09"]["windows_dropped_without_pose_or_gyr"] == 3


def test_units_pose_mapping_and_gyro(imported: Dataset) -> None:
    # Left watch: +1 g on x (stored as 9.80665 m/s^2), a 0.2 g 2 Hz oscillation on y, 0 on z.
    np.testing.assert_allclose(imported.acc[..., 0], 1.0, atol=1e-3)
    assert float(np.abs(imported.acc[..., 1]).max()) == pytest.approx(0.2, abs=0.01)
    np.testing.assert_allclose(imported.gyr[..., 0], 0.5, atol=1e-3)
    np.testing.assert_allclose(imported.gyr[..., 2], -0.25, atol=1e-3)
    # Pose: (N, 100, 17, 3) metres in our H36M order; fixture joint j (MM-Fit order, hip not stored) sits
    # at x = j, y = 0.1 j, z = frame / 1000.
    assert imported.pose is not None and imported.pose.shape == (len(imported), 100, 17, 3)
    for j, name in enumerate(MMFIT_POSE_JOINTS[1:]):
        ours = H36M_JOINTS.index(name)
        np.testing.assert_allclose(imported.pose[:, :, ours, 0], j, atol=1e-6)
        np.testing.assert_allclose(imported.pose[:, :, ours, 1], 0.1 * j, atol=1e-6)
    hips = 0.5 * (
        imported.pose[:, :, H36M_JOINTS.index("l_hip")] + imported.pose[:, :, H36M_JOINTS.index("r_hip")]
    )
    np.testing.assert_allclose(imported.pose[:, :, 0], hips, atol=1e-6)  # missing root = midpoint of the hips
    # 30 -> 50 Hz: frame index advances by 30/50 = 0.6 per grid sample, linearly (interpolated, not held).
    z = imported.pose[0, :, 0, 2] * 1000.0
    np.testing.assert_allclose(np.diff(z), 0.6, atol=1e-3)
    assert z[0] == pytest.approx(30.0 - 0.5, abs=0.05)  # window at 1 s; fixture frames are floor(t * 30)


def test_predefined_splits_and_split_filter(imported: Dataset, mmfit_root: Path, tmp_path: Path) -> None:
    train, val, test = predefined_split(imported)
    assert set(np.asarray(imported.recording)[train].tolist()) == {1} and val.size == 0
    assert set(np.asarray(imported.recording)[test].tolist()) == {9}
    assert imported.manifest["splits"]["unseen"] == [0, 5, 12, 13, 20]
    only_test = import_mmfit(mmfit_root, tmp_path / "t", split="test", with_pose=False, wrist="right")
    assert set(np.asarray(only_test.recording).tolist()) == {9} and only_test.pose is None
    assert len(only_test) == 11  # without pose only the 12 s of watch data limit the windows
    np.testing.assert_allclose(only_test.acc[..., 2], 1.0, atol=1e-3)  # right watch: +1 g on z
    with pytest.raises(DataError, match="none of the val workouts"):
        import_mmfit(mmfit_root, tmp_path / "v", split="val")


def test_millimetre_pose_17_joints_and_bad_labels(tmp_path: Path) -> None:
    write_mmfit_workout(tmp_path / "mm", 12, seconds=4.0, pose_scale=1000.0, n_joints=17, with_gyr=False)
    ds = import_mmfit(tmp_path / "mm" / "w12", tmp_path / "ds")
    assert ds.manifest["pose_scale_to_m"] == pytest.approx(1e-3)
    for j, name in enumerate(MMFIT_POSE_JOINTS):
        np.testing.assert_allclose(ds.pose[:, :, H36M_JOINTS.index(name), 0], j, atol=1e-5)
    assert set(np.asarray(ds.subject).tolist()) == {3}
    labels = tmp_path / "mm" / "w12" / "w12_labels.csv"
    labels.write_text("start_frame,end_frame,reps,activity\n10,50,3,squats\n60,90,2,burpees\n")
    with pytest.raises(DataError, match=r"w12_labels.csv, row 3: unknown activity 'burpees'"):
        import_mmfit(tmp_path / "mm", tmp_path / "ds2")


def test_missing_modalities_skip_the_workout(mmfit_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "mm"
    write_mmfit_workout(root, 2, seconds=4.0, with_gyr=False)
    write_mmfit_workout(root, 3, seconds=4.0)
    ds = import_mmfit(root, tmp_path / "ds", with_gyr=True)
    assert ds.manifest["skipped_workouts"] == {"w02": "missing w02_sw_l_gyr.npy"}
    assert set(np.asarray(ds.recording).tolist()) == {3}
    (root / "w03" / "w03_sw_l_acc.npy").unlink()
    with pytest.raises(DataError, match="no window could be made"):
        import_mmfit(root, tmp_path / "ds2", with_gyr=True)
