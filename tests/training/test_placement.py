"""Placements of the virtual IMU: segment frames, wearing orientations, gravity variants, device rates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from mujo_edge.constants import H36M_JOINTS, RATE_HZ
from mujo_edge.errors import DataError
from mujo_edge.training.synth import SensorModel, simulate_workout, virtual_imu
from mujo_edge.training.synth.placement import (
    PLACEMENT_NAMES,
    PLACEMENTS,
    device_sampling,
    random_mounting,
    segment_frames,
    worn_mounting,
)

IDEAL = SensorModel.ideal()
J = {n: i for i, n in enumerate(H36M_JOINTS)}


@pytest.fixture(scope="module")
def postures() -> np.ndarray:
    """Six very different body postures (standing, squatting, lying, planking, arms overhead): (6, 17, 3) m."""
    rec = simulate_workout(
        [("squats", 6), ("situps", 6), ("pushups", 6), ("dumbbell_shoulder_press", 6)], seed=4, sensor=IDEAL
    )
    pose = rec.pose_m.astype(np.float64)
    return pose[np.linspace(10, len(pose) - 10, 6).astype(int)]


@pytest.mark.parametrize("placement", PLACEMENT_NAMES)
def test_a_still_device_reads_one_g_with_gravity_and_zero_without(
    placement: str, postures: np.ndarray
) -> None:
    rng = np.random.default_rng(0)
    for frame in postures:
        still = np.repeat(frame[None], 40, axis=0)
        for mounting in [random_mounting(rng) for _ in range(4)] + [
            worn_mounting(PLACEMENTS[placement], rng)
        ]:
            g = virtual_imu(still, placement=placement, mounting=mounting, sensor=IDEAL)
            lin = virtual_imu(still, placement=placement, mounting=mounting, sensor=IDEAL, variant="linear")
            np.testing.assert_allclose(np.linalg.norm(g.acc_g, axis=1), 1.0, atol=1e-4)
            assert np.abs(lin.acc_g).max() < 1e-4
            assert np.abs(g.gyr_rad_s).max() < 1e-4
    # the default sensor's linear reading is near zero too: bias, noise and a 1-2 degree gravity estimate
    lin = virtual_imu(np.repeat(postures[0][None], 200, 0), placement=placement, variant="linear", rng=1)
    assert np.linalg.norm(lin.acc_g.mean(0)) < 0.08 and np.abs(lin.acc_g).max() < 0.2


def test_standing_segment_frames_point_down_left_forward(postures: np.ndarray) -> None:
    standing = postures[:1]  # the first frame: upright, arms hanging, facing +x
    for name, p in PLACEMENTS.items():
        if p.segment == "forearm":
            continue
        r = segment_frames(standing, p)[0]
        np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-9)
        assert r[2, 0] < -0.8, name  # x down the segment
        assert r[1, 1] > 0.8, name  # y to the subject's left (+y)
        assert r[0, 2] > 0.8, name  # z forward (+x)


def test_phone_upright_in_the_pocket_reads_plus_one_g_on_y(postures: np.ndarray) -> None:
    still = np.repeat(postures[:1], 30, axis=0)
    for name in ("right_pocket", "waist", "chest", "left_upper_arm"):
        upright = PLACEMENTS[name].worn[0][1]
        acc = virtual_imu(still, placement=name, mounting=upright, sensor=IDEAL).acc_g.mean(0)
        assert acc[1] > 0.95, (name, acc)
        flipped = upright @ np.diag([-1.0, -1.0, 1.0])  # upside down: 180 degrees about the screen normal
        acc_f = virtual_imu(still, placement=name, mounting=flipped, sensor=IDEAL).acc_g.mean(0)
        np.testing.assert_allclose(acc_f, acc * [-1, -1, 1], atol=1e-5)


def test_wrist_placement_is_the_watch() -> None:
    rec = simulate_workout([("ABD", 6)], seed=2, wrist="right", sensor=IDEAL)
    pose = rec.pose_m.astype(np.float64)
    a = virtual_imu(pose, wrist="right", sensor=IDEAL, forearm_roll_rad=0.1)
    b = virtual_imu(pose, placement="right_wrist", sensor=IDEAL, forearm_roll_rad=0.1)
    np.testing.assert_array_equal(a.acc_g, b.acc_g)


def _band_share(x: np.ndarray, above_hz: float) -> float:
    f, p = welch(x - x.mean(0), fs=RATE_HZ, nperseg=256, axis=0)
    p = p.sum(axis=1)
    return float(p[f > above_hz].sum() / p.sum())


def test_a_10_hz_device_resampled_to_50_hz_has_no_energy_above_5_hz() -> None:
    t = np.arange(3000) / RATE_HZ
    rng = np.random.default_rng(3)
    # 1.5 Hz motion, a strong 8 Hz vibration (aliases to 2 Hz without an anti-aliasing filter) and broadband noise
    x = np.stack(
        [np.sin(2 * np.pi * 1.5 * t), 0.8 * np.sin(2 * np.pi * 8.0 * t), 0.3 * rng.normal(size=t.size)], 1
    )
    fast = device_sampling(x, RATE_HZ, 50.0)
    slow = device_sampling(x, RATE_HZ, 10.0)
    assert fast.shape == slow.shape == x.shape
    assert _band_share(fast, 5.0) > 0.3  # a 50 Hz device keeps the vibration and noise
    assert (
        _band_share(slow, 5.0) < 0.01
    )  # a 10 Hz device has nothing above its Nyquist (interpolation images only)
    # and its anti-aliasing filter kept the 8 Hz vibration from folding to 2 Hz
    f, p = welch(slow[:, 1], fs=RATE_HZ, nperseg=256)
    assert p[(f > 1.5) & (f < 2.5)].sum() < 0.01 * welch(x[:, 1], fs=RATE_HZ, nperseg=256)[1].sum()
    # the slow motion passes, 7 % smaller: linear interpolation between 10 Hz samples (what the grid does to a
    # real 10 Hz watch) damps 1.5 Hz by sinc^2(0.15) = 0.93
    assert 0.9 < slow[200:-200, 0].std() / x[200:-200, 0].std() < 0.96


def test_virtual_imu_at_a_device_rate() -> None:
    rec = simulate_workout([("jumping_jacks", 20)], seed=1, sensor=IDEAL)
    pose = rec.pose_m.astype(np.float64)
    at50 = virtual_imu(pose, placement="right_ankle", rng=0)
    at10 = virtual_imu(pose, placement="right_ankle", rng=0, source_rate_hz=10.0)
    at100 = virtual_imu(pose, placement="right_ankle", rng=0, source_rate_hz=100.0)
    assert at10.acc_g.shape == at50.acc_g.shape == at100.acc_g.shape
    assert _band_share(at50.acc_g, 5.0) > 0.05
    assert _band_share(at10.acc_g, 5.0) < 0.01
    # the same motion: low frequencies agree (the mean and the slow swing)
    np.testing.assert_allclose(at10.acc_g.mean(0), at50.acc_g.mean(0), atol=0.05)
    np.testing.assert_allclose(at100.acc_g.mean(0), at50.acc_g.mean(0), atol=0.05)


def test_bad_placement_requests_say_what_to_do() -> None:
    pose = np.repeat(np.zeros((1, 17, 3)) + np.arange(17)[None, :, None] * 0.01, 10, axis=0)
    with pytest.raises(DataError, match="placement must be one of"):
        virtual_imu(pose, placement="pocket")
    with pytest.raises(DataError, match="variant"):
        virtual_imu(pose, placement="waist", variant="none")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="for wrists"):
        virtual_imu(pose, placement="waist", mounting="hand")
    with pytest.raises(DataError, match="source rate"):
        device_sampling(np.zeros((50, 3)), RATE_HZ, 1.0)
