"""A 17-joint (Human3.6M / VideoPose3D order) body, its proportions, and forward kinematics from joint angles.

World frame: right-handed, **z up**, metres; the subject faces +x at yaw 0, +y is the subject's left; gravity
is (0, 0, -9.80665) m/s^2. The floor is z = 0.

Joint-angle channels (radians unless noted), each a (T,) array; missing channels are 0:

- ``x``, ``y`` (m): horizontal root offset added to the foot anchor; ``hop`` (m): vertical offset (jumps);
  ``yaw``: heading about +z.
- ``pitch``: whole-body forward tilt (0 upright, pi/2 prone, -pi/2 supine); ``roll``: sideways tilt.
- ``bend``: trunk flexion relative to the pelvis; ``side``: trunk side bend; ``twist``: trunk rotation; ``neck``.
- legs ``r.hip`` / ``l.hip`` (flexion, forward), ``r.hipab`` / ``l.hipab`` (abduction, outward), ``r.knee`` /
  ``l.knee`` (flexion, >= 0).
- arms ``r.flex`` / ``l.flex`` (shoulder flexion: forward elevation), ``r.abd`` / ``l.abd`` (abduction, outward),
  combined as one swing rotation (exponential map, no singularity at the hanging arm), ``r.rot`` / ``l.rot``
  (internal humeral rotation), ``r.shrug`` / ``l.shrug`` (m, shoulder raised along the trunk), ``r.elbow`` / ``l.elbow`` (flexion, >= 0), ``r.pron`` / ``l.pron`` (forearm
  pronation from mid-prone, thumb forward with the arm hanging; not visible in a 17-joint pose, passed to the
  virtual IMU as a roll).
- ``anchor``: 0..1, 1 replaces the horizontal foot anchor's per-step sway by its 1-s moving average (walking,
  running in place), and with hands planted also the vertical contact (mountain climbers: the swinging foot
  must not become the contact).
- ``z`` (m): height gained (stairs, slopes), added to the floor contact.
- ``seat``: 0..1, 1 holds the pelvis height to its 1-s moving average: seated on a saddle or a rowing seat, or a
  running gait whose vertical bounce is given by ``hop`` rather than by which foot is lowest.
- ``floor``: 0..1, how much the hands are planted on the floor (push-ups, planks): 1 solves the arms by
  two-link inverse kinematics to fixed floor points under the shoulders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from mujo_edge.constants import H36M_JOINTS, RATE_HZ

J = {name: i for i, name in enumerate(H36M_JOINTS)}

#: Wrist height above the floor when the hand is planted (m).
HAND_FLOOR_M = 0.05
#: Clearance of the lowest non-arm joint above the floor (ankle height, back thickness) (m).
FLOOR_CLEARANCE_M = 0.08
#: Softness of the floor contact (m): the lowest joint is a smooth minimum so the root height stays C2.
_SOFTMIN_M = 0.015


@dataclass(frozen=True)
class Body:
    """Segment lengths of one subject, metres."""

    height_m: float
    pelvis_half_m: float
    thigh_m: float
    shank_m: float
    spine_m: float
    thorax_m: float
    neck_m: float
    head_m: float
    shoulder_half_m: float
    upper_arm_m: float
    forearm_m: float

    @classmethod
    def average(cls, height_m: float = 1.75) -> Body:
        """Proportions of an average adult of ``height_m`` (Human3.6M-like bone lengths at 1.75 m)."""
        k = height_m / 1.75
        return cls(
            height_m=height_m,
            pelvis_half_m=0.13 * k,
            thigh_m=0.45 * k,
            shank_m=0.44 * k,
            spine_m=0.23 * k,
            thorax_m=0.25 * k,
            neck_m=0.11 * k,
            head_m=0.11 * k,
            shoulder_half_m=0.17 * k,
            upper_arm_m=0.29 * k,
            forearm_m=0.26 * k,
        )

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Body:
        """A random adult: height 1.52-1.98 m, every segment jittered by about 4 %."""
        height = float(np.clip(rng.normal(1.73, 0.09), 1.52, 1.98))
        base = cls.average(height)
        jitter = np.clip(rng.normal(1.0, 0.04, 10), 0.9, 1.1)
        vals = [getattr(base, f) for f in _SEGMENTS]
        return cls(height, *(float(v * j) for v, j in zip(vals, jitter, strict=True)))


_SEGMENTS = (
    "pelvis_half_m",
    "thigh_m",
    "shank_m",
    "spine_m",
    "thorax_m",
    "neck_m",
    "head_m",
    "shoulder_half_m",
    "upper_arm_m",
    "forearm_m",
)


def rot_axis(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotations about a coordinate axis (0 = x, 1 = y, 2 = z) by ``angle`` (T,) rad -> (T, 3, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    r = np.zeros((*np.shape(angle), 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r[..., axis, axis] = 1.0
    r[..., i, i] = c
    r[..., j, j] = c
    r[..., i, j] = -s
    r[..., j, i] = s
    return r


def rot_vec(v: np.ndarray) -> np.ndarray:
    """Rodrigues: rotation vectors (T, 3) rad -> rotation matrices (T, 3, 3)."""
    theta = np.linalg.norm(v, axis=-1)
    small = theta < 1e-9
    k = v / np.where(small, 1.0, theta)[..., None]
    kx = np.zeros((*v.shape[:-1], 3, 3))
    kx[..., 0, 1], kx[..., 0, 2] = -k[..., 2], k[..., 1]
    kx[..., 1, 0], kx[..., 1, 2] = k[..., 2], -k[..., 0]
    kx[..., 2, 0], kx[..., 2, 1] = -k[..., 1], k[..., 0]
    s, c = np.sin(theta)[..., None, None], np.cos(theta)[..., None, None]
    return np.eye(3) + s * kx + (1 - c) * (kx @ kx)


def _apply(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate: r (T, 3, 3), v (3,) or (T, 3) -> (T, 3)."""
    if v.ndim == 1:
        return r @ v
    return np.einsum("tij,tj->ti", r, v)


def _softmin(z: np.ndarray, tau: float) -> np.ndarray:
    """Smooth minimum over the last axis (log-sum-exp), (T, k) -> (T,)."""
    m = z.min(axis=-1, keepdims=True)
    return m[..., 0] - tau * np.log(np.exp(-(z - m) / tau).sum(axis=-1))


def two_link_elbow(
    shoulder: np.ndarray, wrist: np.ndarray, upper_m: float, fore_m: float, pole: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse kinematics of a two-link arm.

    Args:
        shoulder, wrist: (T, 3) target positions, m; the wrist is pulled in if out of reach.
        pole: (T, 3) direction the elbow should point to.
    Returns:
        (elbow (T, 3), wrist (T, 3)) positions with exact segment lengths.
    """
    d_vec = wrist - shoulder
    d = np.linalg.norm(d_vec, axis=-1, keepdims=True)
    n = d_vec / np.maximum(d, 1e-9)
    d = np.clip(d, abs(upper_m - fore_m) + 1e-3, upper_m + fore_m - 1e-3)
    a = (upper_m**2 - fore_m**2 + d**2) / (2 * d)
    h = np.sqrt(np.maximum(upper_m**2 - a**2, 0.0))
    p = pole - (pole * n).sum(-1, keepdims=True) * n
    p = p / np.maximum(np.linalg.norm(p, axis=-1, keepdims=True), 1e-9)
    return shoulder + a * n + h * p, shoulder + d * n


def forward_kinematics(ch: dict[str, np.ndarray], body: Body, rate_hz: float = RATE_HZ) -> np.ndarray:
    """Joint positions from joint-angle channels.

    Args:
        ch: channel name -> (T,) array (see the module docstring); missing channels count as 0.
        body: segment lengths.
        rate_hz: sampling rate of the channels (for the ``anchor`` average).
    Returns:
        (T, 17, 3) float64 joint positions in metres, world frame (z up), H36M order. Feet (or, lying, the back)
        rest on the floor through a smooth minimum; the horizontal root keeps the mean ankle position fixed.
    """
    t = len(next(iter(ch.values())))

    def c(name: str) -> np.ndarray:
        v = ch.get(name)
        return np.zeros(t) if v is None else v

    down = np.array([0.0, 0.0, -1.0])
    up = -down
    zero = np.zeros(t)
    r_pelvis = rot_axis(2, c("yaw")) @ rot_axis(1, c("pitch")) @ rot_axis(0, c("roll"))
    r_trunk = r_pelvis @ rot_axis(1, c("bend")) @ rot_axis(0, c("side")) @ rot_axis(2, c("twist"))
    pose = np.zeros((t, len(H36M_JOINTS), 3))
    pose[:, J["spine"]] = _apply(r_trunk, up * body.spine_m)
    pose[:, J["thorax"]] = _apply(r_trunk, up * (body.spine_m + body.thorax_m))
    r_neck = r_trunk @ rot_axis(1, c("neck"))
    pose[:, J["neck"]] = pose[:, J["thorax"]] + _apply(r_neck, up * body.neck_m)
    pose[:, J["head"]] = pose[:, J["neck"]] + _apply(r_neck, up * body.head_m)
    for side, sgn in (("r", -1.0), ("l", 1.0)):
        hip = _apply(r_pelvis, np.array([0.0, sgn * body.pelvis_half_m, 0.0]))
        r_thigh = r_pelvis @ rot_vec(np.stack([sgn * c(f"{side}.hipab"), -c(f"{side}.hip"), zero], -1))
        knee = hip + _apply(r_thigh, down * body.thigh_m)
        ankle = knee + _apply(r_thigh @ rot_axis(1, c(f"{side}.knee")), down * body.shank_m)
        pose[:, J[f"{side}_hip"]], pose[:, J[f"{side}_knee"]], pose[:, J[f"{side}_ankle"]] = hip, knee, ankle
        offset = np.stack([zero, np.full(t, sgn * body.shoulder_half_m), c(f"{side}.shrug") - 0.03], -1)
        shoulder = pose[:, J["thorax"]] + _apply(r_trunk, offset)
        swing = rot_vec(np.stack([sgn * c(f"{side}.abd"), -c(f"{side}.flex"), zero], -1))
        r_upper = r_trunk @ swing @ rot_axis(2, -sgn * c(f"{side}.rot"))
        elbow = shoulder + _apply(r_upper, down * body.upper_arm_m)
        wrist = elbow + _apply(r_upper @ rot_axis(1, -c(f"{side}.elbow")), down * body.forearm_m)
        pose[:, J[f"{side}_shoulder"]], pose[:, J[f"{side}_elbow"]], pose[:, J[f"{side}_wrist"]] = (
            shoulder,
            elbow,
            wrist,
        )
    # floor contact: the lowest joint (arms and knees excepted) rests on the floor; the mean ankle stays put horizontally
    body_joints = [J[n] for n in H36M_JOINTS if not n.endswith(("elbow", "wrist", "knee"))]
    lift = FLOOR_CLEARANCE_M - _softmin(pose[:, body_joints, 2], _SOFTMIN_M)
    anchor = pose[:, [J["r_ankle"], J["l_ankle"]], :2].mean(axis=1)
    shift = np.stack([-anchor[:, 0], -anchor[:, 1], lift], -1)
    # seated (a bike saddle, a rowing seat): the pelvis rests on the seat, so the height holds still too
    hold = np.clip(c("anchor"), 0.0, 1.0)[:, None] * np.stack([np.ones(t), np.ones(t), c("floor") > 0.5], -1)
    hold[:, 2] = np.maximum(hold[:, 2], np.clip(c("seat"), 0.0, 1.0))
    if np.any(hold > 0):
        shift = (1 - hold) * shift + hold * gaussian_filter1d(shift, rate_hz, axis=0, mode="nearest")
    shift[:, 0] += c("x")
    shift[:, 1] += c("y")
    # a held height must not push a foot through the floor: lift by the (smoothed) shortfall
    need = FLOOR_CLEARANCE_M - pose[:, body_joints, 2].min(
        axis=1
    )  # lift that puts the lowest joint on the floor
    short = np.maximum(need - shift[:, 2], 0.0)
    if np.any(short > 0):
        width = max(int(0.4 * rate_hz), 1)
        short_s = gaussian_filter1d(
            maximum_filter1d(short, width, mode="nearest"), 0.1 * rate_hz, mode="nearest"
        )
        shift[:, 2] = np.maximum(shift[:, 2] + short_s, need)
    shift[:, 2] += c("hop")  # after the hold: a held pelvis still bounces
    shift[:, 2] += c("z")  # climbing (stairs, a slope): metres above the start
    pose += shift[:, None, :]
    floor = c("floor")
    if np.any(floor > 0):
        _plant_hands(pose, r_trunk, floor, body)
    return pose


def _plant_hands(pose: np.ndarray, r_trunk: np.ndarray, floor: np.ndarray, body: Body) -> None:
    """Blend each arm towards a two-link solution whose wrist stays on a floor point under its shoulder."""
    w = np.clip(floor, 0.0, 1.0)[:, None]
    on = floor > 0.5
    for side, sgn in (("r", -1.0), ("l", 1.0)):
        sh = pose[:, J[f"{side}_shoulder"]]
        # one floor point per contact: where the shoulder is, on average, while the hands are planted
        target = np.array([*sh[on, :2].mean(axis=0), HAND_FLOOR_M]) if on.any() else sh[0] * [1, 1, 0]
        # elbows point towards the feet and outwards
        pole = _apply(r_trunk, np.array([0.0, sgn * 0.6, -1.0]))
        elbow, wrist = two_link_elbow(
            sh, np.broadcast_to(target, sh.shape), body.upper_arm_m, body.forearm_m, pole
        )
        # blend, then restore the exact segment lengths
        el_k, wr_k = J[f"{side}_elbow"], J[f"{side}_wrist"]
        el = (1 - w) * pose[:, el_k] + w * elbow
        wr = (1 - w) * pose[:, wr_k] + w * wrist
        el = sh + body.upper_arm_m * _unit(el - sh)
        pose[:, el_k] = el
        pose[:, wr_k] = el + body.forearm_m * _unit(wr - el)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
