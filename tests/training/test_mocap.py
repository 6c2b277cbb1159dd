"""Motion-capture importers on tiny fixtures written for these tests (tests/fixtures/mocap/).

- ``standing.bvh``: a person standing still with the arms hanging, in centimetres (6 frames at 10 Hz);
- ``tpose.asf`` / ``tpose.amc``: a CMU-style T-pose held for 6 frames, then both elbows bending, 120 Hz;
- ``swing.txt`` + ``tiny_humanoid.urdf``: a DeepMimic humanoid walking forward at 1 m/s for one 1-s cycle
  while its arms swing +-0.4 rad at 1 Hz; its last frame is 0.05 rad off its first (an open loop).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.constants import H36M_JOINTS, HOP, RATE_HZ, WINDOW
from mujo_edge.errors import DataError
from mujo_edge.training.data.format import Dataset
from mujo_edge.training.synth.imu import SensorModel, virtual_imu
from mujo_edge.training.synth.mocap import (
    LabelledClip,
    bone_lengths,
    clip_on_grid,
    import_clips,
    import_mocap,
    read_asf_amc,
    read_bvh,
    read_deepmimic,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "mocap"
J = {n: i for i, n in enumerate(H36M_JOINTS)}


def _encode(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for the sentence encoder (the real one is tested in test_text.py)."""
    rows = [np.frombuffer(hashlib.sha256(t.encode()).digest() * 12, dtype=np.uint8)[:384] for t in texts]
    return np.stack(rows).astype(np.float32)


def _still_wrist(clip) -> np.ndarray:
    grid = clip_on_grid(clip, RATE_HZ)
    return virtual_imu(grid.pose_m, RATE_HZ, "right", sensor=SensorModel.ideal()).acc_g


def test_bvh_standing_reads_1g_along_the_hanging_forearm() -> None:
    clip = read_bvh(FIX / "standing.bvh")
    assert clip.rate_hz == pytest.approx(10.0)
    pose = clip.pose_m
    # centimetres guessed from the rest pose's height (1.76); z up, the lowest joint at ankle height
    assert pose[0, J["head"], 2] - pose[0, J["r_ankle"], 2] == pytest.approx(1.68, abs=1e-9)
    assert np.linalg.norm(pose[0, J["r_elbow"]] - pose[0, J["r_wrist"]]) == pytest.approx(0.26, abs=1e-6)
    assert pose[..., 2].min() == pytest.approx(0.08)
    assert pose[0, J["head"], 2] > pose[0, J["thorax"], 2] > pose[0, J["hip"], 2] > pose[0, J["r_knee"], 2]
    acc = _still_wrist(clip)
    # a still watch reads 1 g; on a hanging right arm the specific force points up the arm, away from the hand
    np.testing.assert_allclose(np.linalg.norm(acc, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(acc[:, 0], -1.0, atol=1e-3)


def test_asf_tpose_reads_1g_and_bones_stay_rigid() -> None:
    clip = read_asf_amc(FIX / "tpose.asf", FIX / "tpose.amc")
    assert clip.pose_m.shape == (12, 17, 3) and clip.rate_hz == 120.0
    first = clip.pose_m[0]
    # inches * 0.45 back to metres: forearm 0.26 m, thigh 0.45 m; T-pose: the wrists at shoulder height
    assert np.linalg.norm(first[J["r_wrist"]] - first[J["r_elbow"]]) == pytest.approx(0.26, abs=1e-4)
    assert np.linalg.norm(first[J["r_knee"]] - first[J["r_hip"]]) == pytest.approx(0.45, abs=1e-4)
    assert first[J["r_wrist"], 2] == pytest.approx(first[J["r_shoulder"], 2], abs=1e-6)
    lengths = bone_lengths(clip.pose_m)
    assert (
        lengths.std(0) / lengths.mean(0)
    ).max() < 1e-9  # elbows bend from frame 7 on, bones do not stretch
    bent = clip.pose_m[-1]
    assert np.linalg.norm(bent[J["r_wrist"]] - bent[J["r_shoulder"]]) < 0.5  # straight: 0.55 m
    still = read_asf_amc(FIX / "tpose.asf", FIX / "tpose.amc")
    still.pose_m = np.repeat(still.pose_m[:1], 12, axis=0)
    acc = _still_wrist(still)
    np.testing.assert_allclose(np.linalg.norm(acc, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(acc[:, 0], 0.0, atol=1e-3)  # the forearm is horizontal


def test_deepmimic_closes_the_loop_and_walks_on() -> None:
    one = read_deepmimic(FIX / "swing.txt", FIX / "tiny_humanoid.urdf")
    assert one.pose_m.shape == (21, 17, 3) and one.loop and one.cycles == 1
    assert one.rate_hz == pytest.approx(20.0)
    # URDF units x 0.25: forearm 1.04 -> 0.26 m, thigh 1.69 -> 0.4225 m
    assert np.linalg.norm(one.pose_m[0, J["r_wrist"]] - one.pose_m[0, J["r_elbow"]]) == pytest.approx(0.26)
    looped = read_deepmimic(FIX / "swing.txt", FIX / "tiny_humanoid.urdf", loop_s=5.0)
    assert looped.cycles == 5 and looped.pose_m.shape[0] == 5 * 20 + 1
    assert looped.duration_s == pytest.approx(5.0)
    hip = looped.pose_m[:, J["hip"]]
    # the root walks on 1 m per cycle: 5 m in 5 s, in a straight line
    assert np.linalg.norm(hip[-1, :2] - hip[0, :2]) == pytest.approx(5.0, abs=1e-6)
    # the loop is closed: frame 20 (start of cycle 2) equals frame 0 moved on by the cycle's travel
    rel = looped.pose_m - hip[:, None]
    np.testing.assert_allclose(rel[20], rel[0], atol=1e-9)
    lengths = bone_lengths(clip_on_grid(looped, RATE_HZ).pose_m)
    assert (lengths.std(0) / lengths.mean(0)).max() < 0.01


def test_import_bvh_writes_windows_pose_and_text(tmp_path: Path) -> None:
    ds = import_mocap(
        [FIX / "standing.bvh"],
        tmp_path / "ds",
        "bvh",
        "standing",
        text="standing still with the arms down",
        subject=7,
        sensor=SensorModel.ideal(),
        encode=_encode,
    )
    assert isinstance(ds, Dataset)
    # 0.5 s of clip, padded to one 100-sample window, one recording per wrist
    assert len(ds) == 2 and ds.acc.shape == (2, WINDOW, 3) and ds.pose.shape == (2, WINDOW, 17, 3)
    assert ds.labels == ["standing"] and set(np.asarray(ds.subject)) == {7}
    np.testing.assert_allclose(np.linalg.norm(ds.acc, axis=2), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.asarray(ds.acc)[..., 0], -1.0, atol=1e-3)  # both wrists, convention frame
    recs = ds.manifest["recordings"]
    assert [r["wrist"] for r in recs] == ["right", "left"] and recs[0]["padded_s"] == pytest.approx(1.48)
    texts = ds.manifest["texts"]
    assert ds.text.shape == (2, 384) and [t["kind"] for t in texts] == ["title", "description"]
    assert set(np.asarray(ds.text_id)) == {1} and texts[1]["text"] == "standing still with the arms down"
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["mocap"]["wrist"] == "both"
    with pytest.raises(DataError, match="already holds a dataset"):
        import_mocap([FIX / "standing.bvh"], tmp_path / "ds", "bvh", "standing", encode=_encode)


def test_import_deepmimic_windows_on_the_grid(tmp_path: Path) -> None:
    ds = import_mocap(
        [FIX / "swing.txt"],
        tmp_path / "dm",
        "deepmimic",
        "walking",
        urdf=FIX / "tiny_humanoid.urdf",
        wrist="right",
        loop_s=4.0,
        encode=_encode,
    )
    # 4 s at 50 Hz = 201 samples -> windows at 0, 50, 100 (hop 50)
    assert len(ds) == 3 and np.asarray(ds.start).tolist() == [0, HOP, 2 * HOP]
    assert ds.manifest["recordings"][0]["cycles"] == 4
    # the pose travels forward 1 m/s: 1 m between consecutive windows' first frames
    hip = np.asarray(ds.pose)[:, 0, J["hip"], :2]
    np.testing.assert_allclose(np.linalg.norm(np.diff(hip, axis=0), axis=1), 1.0, atol=1e-3)


def test_import_asf_pairs_skeleton_and_motion(tmp_path: Path) -> None:
    ds = import_clips(
        [LabelledClip(read_asf_amc(FIX / "tpose.asf", FIX / "tpose.amc"), "tpose", None, 3)],
        tmp_path / "asf",
        wrist="left",
        encode=_encode,
    )
    assert len(ds) == 1 and ds.manifest["recordings"][0]["mirrored"] is True
    assert ds.manifest["texts"] == [{"label": "tpose", "kind": "title", "text": "tpose"}]


@pytest.mark.parametrize(
    ("name", "text", "fmt", "match"),
    [
        ("cut.bvh", (FIX / "standing.bvh").read_text().rsplit("\n", 2)[0] + "\n", "bvh", "the file is cut"),
        ("wide.bvh", (FIX / "standing.bvh").read_text() + "1 2 3\n", "bvh", "frame lines have"),
        ("bad.txt", '{"Loop": "wrap", "Frames": [[0.1, 1, 2]]}', "deepmimic", "44 values"),
        ("bad.bvh", "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n", "bvh", "OFFSET needs three numbers"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, name: str, text: str, fmt: str, match: str) -> None:
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(DataError, match=match):
        import_mocap([f], tmp_path / "out", fmt, "x", urdf=FIX / "tiny_humanoid.urdf", encode=_encode)
    assert not (tmp_path / "out").exists()  # nothing written


def test_asf_list_needs_the_skeleton_first(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"needs its \.asf skeleton before it"):
        import_mocap([FIX / "tpose.amc", FIX / "tpose.asf"], tmp_path / "o", "asf", "x", encode=_encode)
    with pytest.raises(DataError, match="not found"):
        import_mocap([tmp_path / "nope.bvh"], tmp_path / "o", "bvh", "x", encode=_encode)


def test_import_at_another_placement(tmp_path: Path) -> None:
    ds = import_mocap(
        [FIX / "standing.bvh"],
        tmp_path / "waist",
        "bvh",
        "standing",
        placement="waist",
        sensor=SensorModel.ideal(),
        encode=_encode,
    )
    # one recording (no wrist pair), a still phone on the belt reads 1 g
    assert len(ds) == 1 and ds.manifest["recordings"][0]["placement"] == "waist"
    assert ds.manifest["mocap"]["placement"] == "waist" and ds.manifest["mocap"]["wrist"] is None
    np.testing.assert_allclose(np.linalg.norm(ds.acc, axis=2), 1.0, atol=1e-4)
    with pytest.raises(DataError, match="placement must be one of"):
        import_mocap([FIX / "standing.bvh"], tmp_path / "x", "bvh", "s", placement="hat", encode=_encode)


def test_cli_imports_each_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mujo_edge.cli import main
    from mujo_edge.training import text

    monkeypatch.setattr(text, "encode_texts", _encode)
    runs = {
        "bvh": [str(FIX / "standing.bvh")],
        "asf": [str(FIX / "tpose.asf"), str(FIX / "tpose.amc")],
        "deepmimic": [str(FIX / "swing.txt"), "--urdf", str(FIX / "tiny_humanoid.urdf"), "--loop-s", "3"],
    }
    windows = {}
    for fmt, args in runs.items():
        out = tmp_path / fmt
        assert (
            main(["data", "import", fmt, *args, "--out", str(out), "--label", "x", "--wrist", "right"]) == 0
        )
        ds = Dataset.open(out, verify=True)
        windows[fmt] = len(ds)
        assert ds.manifest["recordings"][0]["wrist"] == "right"
    # padded single windows for the short BVH and ASF clips; 3 s of looped DeepMimic: 151 samples, 2 windows
    assert windows == {"bvh": 1, "asf": 1, "deepmimic": 2}
    bad = tmp_path / "bad"
    assert main(["data", "import", "bvh", str(FIX / "tpose.asf"), "--out", str(bad), "--label", "x"]) != 0
    assert not bad.exists()
