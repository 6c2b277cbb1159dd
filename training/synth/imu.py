"""The virtual IMU: a smartwatch on a wrist of any 3D pose sequence (IMUTube-style), with a sensor model.

:func:`virtual_imu` works on synthetic poses, MM-Fit ``pose_3d``, or a user's motion capture: anything with the
17 Human3.6M joints in metres. By default it reads a watch on a wrist (below); ``placement=`` reads a device on
any other segment (pocket, waist, upper arm, chest, ankle: :mod:`.placement`), ``variant="linear"`` removes
gravity as phones do, and ``source_rate_hz=`` simulates a device sampling at its own rate.

Watch frame (``AXIS_CONVENTION``): right-handed, x along the forearm, z out of the watch face (the back of the
wrist), y across the wrist, ``y = z x x``. The forearm frame is built from the pose alone:

- x: elbow -> wrist;
- the thumb direction of a mid-prone forearm: the part of elbow -> shoulder perpendicular to the forearm (the
  elbow-flexion plane; with a bent elbow the thumb points towards the upper arm's side). When the arm is nearly
  straight the plane is undefined, so the reference blends smoothly (elbow angles from 15 down to 5 degrees)
  into the thumb of a straight mid-prone arm: the torso's forward direction turned with the arm about the
  body's right-left axis (forward when hanging, up when the arm points forward, back when overhead);
- forearm pronation is invisible in 17 joints: pass it as ``forearm_roll_rad`` (rotation about x), 0 = mid-prone.

On the right wrist the forearm frame has x towards the hand and y towards the thumb. A right-handed frame with z
out of the face then has y towards the little finger on the left wrist; ``mounting="thumb"`` (the default) turns
the watch 180 degrees about z on the left wrist so that y points to the thumb on both wrists and x towards the
elbow on the left one. That is what the real seglearn watch recordings show (arm hanging: x = -1 g on one side,
+1 g on the other; thumb up: y = +1 g on both). ``mounting="hand"`` keeps x towards the hand on both wrists, and
a (3, 3) matrix sets any mounting (columns: the watch axes in the forearm frame).

Specific force in the watch frame, in g: ``f = R^T (a - g_vec) / g0`` with ``g_vec = -g0 * up``; a still watch reads
1 g pointing up. Positions are differentiated twice with a Savitzky-Golay filter; the gyroscope is
``vee(R^T dR/dt)`` of the Savitzky-Golay-smoothed rotation sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import butter, savgol_filter, sosfiltfilt

from mujo_edge.constants import H36M_JOINTS, N_JOINTS, RATE_HZ, STANDARD_GRAVITY
from mujo_edge.errors import DataError, ShapeError

from .motion import smooth_noise
from .placement import PLACEMENTS, device_sampling, placement_joints, segment_frames, segment_position

J = {name: i for i, name in enumerate(H36M_JOINTS)}
_AXES = {"x": 0, "y": 1, "z": 2}
#: Elbow angles between which the forearm roll reference blends from the straight-arm rule to the elbow plane.
_STRAIGHT_ARM_RAD = (np.deg2rad(5.0), np.deg2rad(15.0))


@dataclass(frozen=True)
class SensorModel:
    """Errors of a MEMS accelerometer and gyroscope, as a smartwatch has them.

    Per call (one recording) a bias, scale error and axis misalignment are drawn once; white noise per sample.
    Then the reading saturates at ``range`` and is quantized to ``lsb`` (0 = no quantization).
    """

    acc_noise_g: float = 0.006  #: white noise std per sample, g
    acc_bias_g: float = 0.02  #: std of the per-axis constant bias, g
    acc_scale: float = 0.015  #: std of the per-axis scale-factor error (0.015 = 1.5 %)
    misalignment_rad: float = 0.01  #: std of the cross-axis (non-orthogonality) angles, rad
    acc_lsb_g: float = 8.0 / 32768  #: quantization step, g (16 bit over +-8 g)
    acc_range_g: float = 8.0  #: saturation, g
    gyr_noise_rad_s: float = 0.004  #: white noise std per sample, rad/s
    gyr_bias_rad_s: float = 0.01  #: std of the per-axis constant bias, rad/s
    gyr_scale: float = 0.01  #: std of the per-axis scale-factor error
    gyr_lsb_rad_s: float = np.deg2rad(2000.0) / 32768  #: quantization step, rad/s (16 bit over +-2000 dps)
    gyr_range_rad_s: float = np.deg2rad(2000.0)  #: saturation, rad/s
    #: strap and soft-tissue wobble: 4-15 Hz band noise of std ``effort * tissue_g + tissue_rel * |motion
    #: acceleration|`` (g); real seglearn windows carry 0.02 g above 4 Hz in the relaxed pendulum and 0.05-0.09 g
    #: in the band and raise exercises (``effort`` is a per-sample input of :func:`virtual_imu`, default 1)
    tissue_g: float = 0.012
    tissue_rel: float = 0.05
    #: linear-acceleration variant only: sd of the tilt error of the device's gravity estimate (rad), a slow
    #: (0.05-0.6 Hz) drift; a fused gravity estimate is good to one or two degrees, so 1 g leaks 0.02-0.03 g
    gravity_error_rad: float = 0.02

    @classmethod
    def ideal(cls) -> SensorModel:
        """A perfect sensor on a rigid strap: no noise, bias, scale error, misalignment, quantization,
        saturation, soft-tissue wobble or gravity-estimate error."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, np.inf, 0.0, 0.0, 0.0, 0.0, np.inf, 0.0, 0.0, 0.0)

    def wobble(
        self, motion_g: np.ndarray, rate_hz: float, rng: np.random.Generator, effort: np.ndarray | float = 1.0
    ) -> np.ndarray:
        """Soft-tissue wobble (T, 3) in g for a motion-acceleration magnitude ``motion_g`` (T,) in g and a
        muscular ``effort`` (scalar or (T,), 1 = relaxed)."""
        n = motion_g.shape[0]
        if not (self.tissue_g or self.tissue_rel) or n < 16:
            return np.zeros((n, 3))
        hi = min(15.0, 0.45 * rate_hz)
        sos = butter(2, [4.0, hi], btype="bandpass", fs=rate_hz, output="sos")
        band = sosfiltfilt(sos, rng.normal(size=(n, 3)), axis=0)
        band /= max(float(band.std()), 1e-12)
        band[:, 0] *= 0.6  # a strap wobbles less along the forearm than across it (real x: ~60 % of y, z)
        envelope = gaussian_filter1d(motion_g, 0.25 * rate_hz, mode="nearest")
        level = np.asarray(effort, dtype=np.float64) * self.tissue_g + self.tissue_rel * envelope
        return band * np.broadcast_to(level, (n,))[:, None]

    def apply(
        self, x: np.ndarray, rng: np.random.Generator, kind: Literal["acc", "gyr"] = "acc"
    ) -> np.ndarray:
        """Corrupt true readings ``x`` (T, 3) (g or rad/s) into what the sensor reports, (T, 3) float64."""
        if kind == "acc":
            noise, bias, scale = self.acc_noise_g, self.acc_bias_g, self.acc_scale
            lsb, rng_max = self.acc_lsb_g, self.acc_range_g
        else:
            noise, bias, scale = self.gyr_noise_rad_s, self.gyr_bias_rad_s, self.gyr_scale
            lsb, rng_max = self.gyr_lsb_rad_s, self.gyr_range_rad_s
        m = np.eye(3)
        if scale or self.misalignment_rad:
            m = np.diag(1.0 + rng.normal(0.0, scale, 3))
            off = rng.normal(0.0, self.misalignment_rad, 3)
            m = m @ np.array([[1.0, -off[0], off[1]], [off[0], 1.0, -off[2]], [-off[1], off[2], 1.0]])
        y = x @ m.T
        if bias:
            y = y + rng.normal(0.0, bias, 3)
        if noise:
            y = y + rng.normal(0.0, noise, y.shape)
        y = np.clip(y, -rng_max, rng_max)
        if lsb > 0:
            y = np.round(y / lsb) * lsb
        return y


@dataclass
class ImuSample:
    """What a virtual watch measured."""

    acc_g: np.ndarray  #: (T, 3) float32, specific force in g, watch frame
    gyr_rad_s: np.ndarray  #: (T, 3) float32, angular rate in rad/s, watch frame
    orientation: np.ndarray = field(
        repr=False
    )  #: (T, 3, 3) float64, columns = watch axes in world coordinates
    rate_hz: float = RATE_HZ


def mounting_about_z(deg: float) -> np.ndarray:
    """A mounting matrix: the watch turned ``deg`` degrees about its z axis (face normal) on the forearm frame."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _up_vector(gravity_axis: str | np.ndarray) -> np.ndarray:
    if isinstance(gravity_axis, str):
        sign = -1.0 if gravity_axis.startswith("-") else 1.0
        name = gravity_axis.lstrip("+-")
        if name not in _AXES:
            raise DataError(
                f"gravity_axis must be the world's up axis 'x', 'y', 'z' (optionally '-y' etc.) or a 3-vector, "
                f"got {gravity_axis!r}"
            )
        up = np.zeros(3)
        up[_AXES[name]] = sign
        return up
    up = np.asarray(gravity_axis, dtype=np.float64)
    if up.shape != (3,) or not np.isfinite(up).all() or np.linalg.norm(up) == 0:
        raise DataError(f"gravity_axis as a vector must be a finite non-zero (3,), got {gravity_axis!r}")
    return up / np.linalg.norm(up)


def _savgol_window(rate_hz: float, smooth_s: float, n: int) -> int:
    w = max(5, round(smooth_s * rate_hz) | 1)
    return min(w, n if n % 2 else n - 1)


def forearm_frames(
    pose_m: np.ndarray,
    wrist: Literal["left", "right"],
    forearm_roll_rad: np.ndarray | float | None = None,
) -> np.ndarray:
    """Forearm frames from a pose: (T, 17, 3) m -> (T, 3, 3), columns x (towards the hand), y, z (back of the
    wrist) in world coordinates; y is the thumb side on the right wrist, the little-finger side on the left."""
    side = "r" if wrist == "right" else "l"
    sh, el, wr = (pose_m[:, J[f"{side}_{n}"]] for n in ("shoulder", "elbow", "wrist"))
    x = _unit(wr - el)
    u = _unit(sh - el)
    y_plane = u - (u * x).sum(-1, keepdims=True) * x
    sin_elbow = np.linalg.norm(y_plane, axis=-1, keepdims=True)  # sine of the elbow flexion angle
    right = _unit(pose_m[:, J["r_shoulder"]] - pose_m[:, J["l_shoulder"]])
    forward = _unit(np.cross(-right, pose_m[:, J["thorax"]] - pose_m[:, J["hip"]]))
    straight = np.cross(right, x) + 0.3 * forward  # the mid-prone thumb of a straight arm (see module doc)
    y_straight = _unit(straight - (straight * x).sum(-1, keepdims=True) * x)
    lo, hi = np.sin(_STRAIGHT_ARM_RAD[0]), np.sin(_STRAIGHT_ARM_RAD[1])
    w = np.clip((sin_elbow - lo) / (hi - lo), 0.0, 1.0)
    w = w * w * (3 - 2 * w)  # smoothstep: the blend stays C1 in time
    y = _unit(w * y_plane / np.maximum(sin_elbow, 1e-12) + (1 - w) * y_straight)
    if side == "l":
        y = -y
    z = np.cross(x, y)
    if forearm_roll_rad is not None:
        r = np.broadcast_to(np.asarray(forearm_roll_rad, dtype=np.float64), (pose_m.shape[0],))[:, None]
        y, z = np.cos(r) * y + np.sin(r) * z, -np.sin(r) * y + np.cos(r) * z
    return np.stack([x, y, z], axis=-1)


def virtual_imu(
    pose_m: np.ndarray,
    rate_hz: float = RATE_HZ,
    wrist: Literal["left", "right"] = "left",
    mounting: Literal["thumb", "hand"] | np.ndarray = "thumb",
    sensor: SensorModel | None = None,
    gravity_axis: str | np.ndarray = "z",
    forearm_roll_rad: np.ndarray | float | None = None,
    rng: np.random.Generator | int | None = None,
    smooth_s: float = 0.2,
    effort: np.ndarray | float = 1.0,
    *,
    placement: str | None = None,
    variant: Literal["gravity", "linear"] = "gravity",
    source_rate_hz: float | None = None,
) -> ImuSample:
    """Simulate a device worn on a 3D pose sequence: a watch on a wrist (the default), or any placement of
    :data:`~.placement.PLACEMENTS` (pocket, waist, upper arm, chest, ankle).

    Args:
        pose_m: (T, 17, 3) joint positions in metres, Human3.6M joint order, uniformly sampled at ``rate_hz``.
        rate_hz: pose sampling rate; the output has the same rate and length.
        wrist: which wrist wears the watch (when ``placement`` is not given).
        mounting: "thumb" (y to the thumb on both wrists), "hand" (x to the hand on both), or a (3, 3) rotation
            whose columns are the device axes in the segment frame (the forearm frame on a wrist; see the module
            docstring and :mod:`.placement`). Other placements take a matrix; "thumb" (the default) there means
            the placement's first wearing orientation.
        sensor: sensor model; ``None`` = the default :class:`SensorModel`; ``SensorModel.ideal()`` = noise-free.
        gravity_axis: the world's up axis ("z" for MuJo Edge's synthetic poses, "-y" for camera frames with y
            down) or a 3-vector.
        forearm_roll_rad: scalar or (T,) forearm pronation roll about the watch's forearm axis, rad (wrists only).
        rng: randomness of the sensor model (a Generator or a seed).
        smooth_s: Savitzky-Golay window, seconds.
        effort: scalar or (T,) multiplier of the sensor model's soft-tissue wobble (1 relaxed, ~4 working
            against a band or a weight).
        placement: a placement id ("right_pocket", "waist", ...; "left_wrist" / "right_wrist" are the wrists);
            ``None`` = the watch on ``wrist``.
        variant: "gravity" (specific force: a still device reads 1 g) or "linear" (gravity removed by the
            device's fusion, with a tilt error of ``sensor.gravity_error_rad``: a still device reads ~0 g).
        source_rate_hz: the device's own sampling rate; ``None`` = ``rate_hz``. Otherwise the signal passes the
            device's anti-aliasing, is sampled and corrupted at that rate, and comes back on the ``rate_hz`` grid
            (:func:`~.placement.device_sampling`).
    Returns:
        :class:`ImuSample` with ``acc_g`` (T, 3) g and ``gyr_rad_s`` (T, 3) rad/s in the device frame.
    Raises:
        ShapeError: pose is not (T, 17, 3) or too short; DataError: NaN in the pose, bad wrist / placement /
        axis / mounting / variant / rate.
    """
    pose_m = np.asarray(pose_m, dtype=np.float64)
    if pose_m.ndim != 3 or pose_m.shape[1:] != (N_JOINTS, 3):
        raise ShapeError(f"virtual_imu expects pose (T, {N_JOINTS}, 3) in metres, got {pose_m.shape}")
    if pose_m.shape[0] < 5:
        raise ShapeError(f"virtual_imu needs at least 5 pose frames to differentiate, got {pose_m.shape[0]}")
    if not np.isfinite(pose_m).all():
        raise DataError("virtual_imu: the pose has NaN or infinite values; interpolate missing joints first")
    if placement is not None:
        if placement not in PLACEMENTS:
            raise DataError(f"placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}")
        if PLACEMENTS[placement].segment == "forearm":
            wrist = "left" if PLACEMENTS[placement].side == "l" else "right"
            placement = None
    if wrist not in ("left", "right"):
        raise DataError(f"wrist must be 'left' or 'right', got {wrist!r}")
    if rate_hz <= 0:
        raise DataError(f"rate_hz must be positive, got {rate_hz}")
    if variant not in ("gravity", "linear"):
        raise DataError(f"variant must be 'gravity' or 'linear', got {variant!r}")
    up = _up_vector(gravity_axis)
    if isinstance(mounting, str):
        if mounting not in ("thumb", "hand"):
            raise DataError(f"mounting must be 'thumb', 'hand' or a (3, 3) rotation matrix, got {mounting!r}")
        if placement is not None:
            if mounting != "thumb":
                raise DataError(f"mounting {mounting!r} is for wrists; give {placement} a (3, 3) rotation")
            mount = PLACEMENTS[placement].worn[0][1]
        else:
            mount = mounting_about_z(180.0) if (mounting == "thumb" and wrist == "left") else np.eye(3)
    else:
        mount = np.asarray(mounting, dtype=np.float64)
        if mount.shape != (3, 3) or not np.allclose(mount @ mount.T, np.eye(3), atol=1e-6):
            raise DataError("mounting as a matrix must be a (3, 3) rotation (orthonormal columns)")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    sensor = SensorModel() if sensor is None else sensor

    n = pose_m.shape[0]
    win = _savgol_window(rate_hz, smooth_s, n)
    order = min(4, win - 2)
    dt = 1.0 / rate_hz
    if placement is None:
        side = "r" if wrist == "right" else "l"
        arm = pose_m[
            :,
            [J["hip"], J["thorax"], J["l_shoulder"], J["r_shoulder"], J[f"{side}_elbow"], J[f"{side}_wrist"]],
        ]
        smooth = pose_m.copy()
        smooth[
            :,
            [J["hip"], J["thorax"], J["l_shoulder"], J["r_shoulder"], J[f"{side}_elbow"], J[f"{side}_wrist"]],
        ] = savgol_filter(arm, win, order, axis=0, mode="interp")
        acc_w = savgol_filter(
            pose_m[:, J[f"{side}_wrist"]], win, order, deriv=2, delta=dt, axis=0, mode="interp"
        )
        rot = forearm_frames(smooth, wrist, forearm_roll_rad) @ mount  # (T, 3, 3) watch axes in world
    else:
        where = PLACEMENTS[placement]
        cols = placement_joints(where)
        smooth = pose_m.copy()
        smooth[:, cols] = savgol_filter(pose_m[:, cols], win, order, axis=0, mode="interp")
        pos = segment_position(pose_m, where)
        acc_w = savgol_filter(pos, win, order, deriv=2, delta=dt, axis=0, mode="interp")
        rot = segment_frames(smooth, where) @ mount
    spec = acc_w + STANDARD_GRAVITY * up  # a - g_vec
    acc_true = np.einsum("tji,tj->ti", rot, spec) / STANDARD_GRAVITY
    drot = savgol_filter(rot, win, order, deriv=1, delta=dt, axis=0, mode="interp")
    omega = np.einsum("tki,tkj->tij", rot, drot)  # R^T dR/dt, skew-symmetric up to smoothing error
    gyr_true = 0.5 * np.stack(
        [omega[:, 2, 1] - omega[:, 1, 2], omega[:, 0, 2] - omega[:, 2, 0], omega[:, 1, 0] - omega[:, 0, 1]],
        -1,
    )
    acc_true = acc_true + sensor.wobble(
        np.linalg.norm(acc_w, axis=1) / STANDARD_GRAVITY, rate_hz, rng, effort
    )
    if variant == "linear":
        # the device subtracts its own estimate of gravity: the true one tilted by a slow small error
        g_dev = np.einsum("tji,j->ti", rot, up)
        tilt = np.zeros((n, 3))
        if sensor.gravity_error_rad:
            tilt = sensor.gravity_error_rad * smooth_noise(n, rate_hz, rng, 3)
        acc_true = acc_true - (g_dev + np.cross(tilt, g_dev))
    if source_rate_hz is None or source_rate_hz == rate_hz:
        acc = sensor.apply(acc_true, rng, "acc")
        gyr = sensor.apply(gyr_true, rng, "gyr")
    else:
        acc = device_sampling(acc_true, rate_hz, source_rate_hz, lambda x: sensor.apply(x, rng, "acc"))
        gyr = device_sampling(gyr_true, rate_hz, source_rate_hz, lambda x: sensor.apply(x, rng, "gyr"))
    return ImuSample(acc.astype(np.float32), gyr.astype(np.float32), rot, float(rate_hz))
