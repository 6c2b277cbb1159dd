"""Physics of the virtual IMU: still watch reads 1 g, centripetal acceleration, mounting, mirror, sensor model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mujo_edge.constants import H36M_JOINTS, STANDARD_GRAVITY
from mujo_edge.errors import DataError, ShapeError
from mujo_edge.training.synth import SensorModel, mounting_about_z, virtual_imu
from mujo_edge.training.synth.imu import forearm_frames
from mujo_edge.training.synth.skeleton import Body, forward_kinematics

J = {n: i for i, n in enumerate(H36M_JOINTS)}
IDEAL = SensorModel.ideal()
RATE = 50.0


def _standing(t: int) -> np.ndarray:
    """A standing body, (t, 17, 3), z up, from forward kinematics with all channels 0."""
    return forward_kinematics({"yaw": np.zeros(t)}, Body.average())


def _random_unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def test_still_arm_reads_one_g_in_every_orientation() -> None:
    rng = np.random.default_rng(0)
    t = 30
    for _ in range(200):
        pose = _standing(t)
        x = _random_unit(rng)  # forearm direction
        u = _random_unit(rng)  # upper arm direction (elbow -> shoulder)
        el = pose[0, J["l_elbow"]]
        pose[:, J["l_wrist"]] = el + 0.26 * x
        pose[:, J["l_shoulder"]] = el + 0.29 * u
        roll = rng.uniform(-np.pi, np.pi)
        imu = virtual_imu(pose, RATE, wrist="left", sensor=IDEAL, forearm_roll_rad=roll)
        norm = np.linalg.norm(imu.acc_g.astype(np.float64), axis=1)
        assert np.abs(norm - 1.0).max() < 1e-3
        # and it is gravity's "up" seen in the watch frame
        np.testing.assert_allclose(imu.acc_g, imu.orientation[:, 2, :], atol=1e-5)
        assert np.abs(imu.gyr_rad_s).max() < 1e-6


def test_watch_frame_is_right_handed_and_follows_the_forearm() -> None:
    pose = _standing(20)
    for wrist, side in (("left", "l"), ("right", "r")):
        for mounting in ("thumb", "hand"):
            rot = virtual_imu(pose, wrist=wrist, mounting=mounting, sensor=IDEAL).orientation
            np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-9)
            fore = pose[:, J[f"{side}_wrist"]] - pose[:, J[f"{side}_elbow"]]
            fore /= np.linalg.norm(fore, axis=1, keepdims=True)
            sign = -1.0 if (wrist == "left" and mounting == "thumb") else 1.0
            np.testing.assert_allclose(rot[:, :, 0], sign * fore, atol=1e-9)
    # arm hanging: x towards the hand reads -1 g on the right wrist, +1 g on the left with the thumb mounting
    right = virtual_imu(pose, wrist="right", sensor=IDEAL).acc_g.mean(0)
    left = virtual_imu(pose, wrist="left", sensor=IDEAL).acc_g.mean(0)
    assert right[0] < -0.97 and left[0] > 0.97


def _circle_pose(r: float, w: float, t: int) -> np.ndarray:
    """The left forearm sweeps a horizontal circle: wrist at radius ``r`` about a vertical axis through the elbow's
    circle centre; the upper arm rises from the elbow so the forearm frame is well defined."""
    pose = _standing(t)
    ang = w * np.arange(t) / RATE
    radial = np.stack([np.cos(ang), np.sin(ang), np.zeros(t)], -1)
    centre = np.array([0.2, 0.3, 1.2])
    pose[:, J["l_wrist"]] = centre + r * radial
    pose[:, J["l_elbow"]] = centre + (r - 0.26) * radial
    pose[:, J["l_shoulder"]] = pose[:, J["l_elbow"]] + np.array([0.0, 0.0, 0.29])
    return pose


@pytest.mark.parametrize(("r", "w"), [(0.5, 2 * np.pi * 0.5), (0.35, 4.0), (0.6, 2 * np.pi)])
def test_circle_reads_centripetal_acceleration(r: float, w: float) -> None:
    t = 300
    imu = virtual_imu(_circle_pose(r, w, t), RATE, wrist="left", mounting="hand", sensor=IDEAL)
    mid = slice(20, t - 20)
    acc = imu.acc_g[mid].astype(np.float64)
    expected = r * w**2 / STANDARD_GRAVITY
    # x points outward along the radius, the centripetal acceleration inward: f_x = -r w^2 / g0
    np.testing.assert_allclose(-acc[:, 0], expected, rtol=0.01)
    # what is left is gravity: exactly 1 g perpendicular to the forearm
    np.testing.assert_allclose(np.linalg.norm(acc[:, 1:], axis=1), 1.0, atol=2e-3)
    # the gyroscope sees the rotation rate about the vertical, which is the watch's y or z here
    np.testing.assert_allclose(np.linalg.norm(imu.gyr_rad_s[mid].astype(np.float64), axis=1), w, rtol=0.01)


def test_ninety_degree_mounting_permutes_axes() -> None:
    pose = _circle_pose(0.45, 3.0, 200)
    base = virtual_imu(pose, wrist="left", mounting="hand", sensor=IDEAL)
    turned = virtual_imu(pose, wrist="left", mounting=mounting_about_z(90.0), sensor=IDEAL)
    # watch turned +90 deg about z: its x is the old y, its y the old -x
    np.testing.assert_allclose(turned.acc_g[:, 0], base.acc_g[:, 1], atol=1e-6)
    np.testing.assert_allclose(turned.acc_g[:, 1], -base.acc_g[:, 0], atol=1e-6)
    np.testing.assert_allclose(turned.acc_g[:, 2], base.acc_g[:, 2], atol=1e-6)
    np.testing.assert_allclose(turned.gyr_rad_s[:, 0], base.gyr_rad_s[:, 1], atol=1e-5)
    np.testing.assert_allclose(turned.gyr_rad_s[:, 1], -base.gyr_rad_s[:, 0], atol=1e-5)
    assert np.abs(base.acc_g[:, 0] - base.acc_g[:, 1]).max() > 0.1  # the permutation is visible


def _mirror(pose: np.ndarray) -> np.ndarray:
    """Mirror a pose across the sagittal plane (y -> -y) and swap left and right joints."""
    m = pose.copy()
    m[..., 1] *= -1
    out = m.copy()
    for i, name in enumerate(H36M_JOINTS):
        if name.startswith(("l_", "r_")):
            other = ("r_" if name.startswith("l_") else "l_") + name[2:]
            out[:, J[other]] = m[:, i]
    return out


def test_left_and_right_wrists_mirror() -> None:
    from mujo_edge.training.synth import simulate_workout

    rec = simulate_workout([("ABD", 8), ("IR", 8)], seed=3, wrist="right", sensor=IDEAL)
    pose = rec.pose_m.astype(np.float64)
    roll = np.linspace(-0.5, 0.8, len(pose))
    right = virtual_imu(pose, wrist="right", mounting="hand", sensor=IDEAL, forearm_roll_rad=roll)
    left = virtual_imu(_mirror(pose), wrist="left", mounting="hand", sensor=IDEAL, forearm_roll_rad=-roll)
    # anatomical frames: mirrored motion reads (x, -y, z); the gyroscope (a pseudovector) (-x, y, -z)
    np.testing.assert_allclose(left.acc_g, right.acc_g * [1, -1, 1], atol=1e-5)
    np.testing.assert_allclose(left.gyr_rad_s, right.gyr_rad_s * [-1, 1, -1], atol=1e-4)
    # the default "thumb" mounting turns the left watch 180 deg: (-x, y, z), as in the seglearn recordings
    thumb = virtual_imu(_mirror(pose), wrist="left", sensor=IDEAL, forearm_roll_rad=-roll)
    np.testing.assert_allclose(thumb.acc_g, right.acc_g * [-1, 1, 1], atol=1e-5)


def test_gravity_axis_y_up_matches_z_up() -> None:
    pose = _circle_pose(0.4, 3.0, 120)
    # rotate the world so that up is +y: (x, y, z) -> (x, z, -y)
    y_up = np.stack([pose[..., 0], pose[..., 2], -pose[..., 1]], -1)
    a = virtual_imu(pose, gravity_axis="z", sensor=IDEAL)
    b = virtual_imu(y_up, gravity_axis="y", sensor=IDEAL)
    np.testing.assert_allclose(a.acc_g, b.acc_g, atol=1e-5)
    np.testing.assert_allclose(a.gyr_rad_s, b.gyr_rad_s, atol=1e-5)


def test_saturation_clamps_and_quantization_steps() -> None:
    pose = _circle_pose(0.6, 2 * np.pi * 1.5, 150)  # about 5.4 g centripetal
    ideal = virtual_imu(pose, sensor=IDEAL, mounting="hand")
    assert np.abs(ideal.acc_g).max() > 4.0
    clipped = virtual_imu(pose, sensor=replace(IDEAL, acc_range_g=2.0), mounting="hand")
    assert np.abs(clipped.acc_g).max() == pytest.approx(2.0)
    np.testing.assert_allclose(clipped.acc_g, np.clip(ideal.acc_g, -2, 2), atol=1e-6)
    lsb = 0.05
    q = virtual_imu(pose, sensor=replace(IDEAL, acc_lsb_g=lsb), mounting="hand")
    steps = q.acc_g.astype(np.float64) / lsb
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-4)
    assert np.abs(q.acc_g - ideal.acc_g).max() <= lsb / 2 + 1e-6


def test_default_sensor_model_adds_noise_bias_and_is_seeded() -> None:
    pose = _standing(500)
    a = virtual_imu(pose, rng=1).acc_g
    b = virtual_imu(pose, rng=1).acc_g
    c = virtual_imu(pose, rng=2).acc_g
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert 0.008 < a.std(axis=0).mean() < 0.02  # white noise 6 mg + soft-tissue wobble 12 mg at rest
    ideal = virtual_imu(pose, sensor=IDEAL).acc_g
    assert np.abs(a.mean(0) - ideal.mean(0)).max() < 0.1  # bias and scale errors are small


def test_bad_inputs_are_refused() -> None:
    pose = _standing(20)
    with pytest.raises(ShapeError):
        virtual_imu(pose[:, :16])
    with pytest.raises(ShapeError):
        virtual_imu(pose[:3])
    bad = pose.copy()
    bad[5, 3, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        virtual_imu(bad)
    with pytest.raises(DataError, match="wrist"):
        virtual_imu(pose, wrist="middle")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="gravity_axis"):
        virtual_imu(pose, gravity_axis="w")
    with pytest.raises(DataError, match="mounting"):
        virtual_imu(pose, mounting=np.ones((3, 3)))


def test_forearm_roll_turns_the_frame_about_x() -> None:
    pose = _standing(10)
    f0 = forearm_frames(pose, "right")
    f1 = forearm_frames(pose, "right", forearm_roll_rad=np.pi / 2)
    np.testing.assert_allclose(f1[:, :, 0], f0[:, :, 0], atol=1e-12)
    np.testing.assert_allclose(f1[:, :, 1], f0[:, :, 2], atol=1e-12)
    np.testing.assert_allclose(f1[:, :, 2], -f0[:, :, 1], atol=1e-12)
