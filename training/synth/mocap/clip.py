"""One motion-capture clip on the 17-joint Human3.6M skeleton, and the helpers every reader shares.

Every reader (:mod:`.bvh`, :mod:`.asf`, :mod:`.deepmimic`) computes the global positions of its own skeleton's
points by forward kinematics, then :func:`to_h36m` maps them by name onto ``H36M_JOINTS`` and
:func:`to_world` puts them in the world of the synthetic generator (:mod:`mujo_edge.training.synth.skeleton`):
metres, z up, the floor at z = 0 with the lowest joint of the clip at ``FLOOR_CLEARANCE_M`` (ankle height),
the root's first horizontal position at the origin.

The ``spine`` joint, which no source places where Human3.6M does, is the midpoint of ``hip`` and ``thorax``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import butter, sosfiltfilt

from mujo_edge.constants import H36M_JOINTS, N_JOINTS, RATE_HZ
from mujo_edge.errors import DataError, ShapeError
from mujo_edge.grid import ANTI_ALIAS_FRACTION
from mujo_edge.training.synth.skeleton import FLOOR_CLEARANCE_M

J = {name: i for i, name in enumerate(H36M_JOINTS)}

#: Bones of the 17-joint skeleton (parent, child) whose length a rigid body keeps.
H36M_BONES: tuple[tuple[str, str], ...] = (
    ("hip", "r_hip"),
    ("r_hip", "r_knee"),
    ("r_knee", "r_ankle"),
    ("hip", "l_hip"),
    ("l_hip", "l_knee"),
    ("l_knee", "l_ankle"),
    ("thorax", "neck"),
    ("neck", "head"),
    ("thorax", "l_shoulder"),
    ("l_shoulder", "l_elbow"),
    ("l_elbow", "l_wrist"),
    ("thorax", "r_shoulder"),
    ("r_shoulder", "r_elbow"),
    ("r_elbow", "r_wrist"),
)


@dataclass
class MocapClip:
    """A clip on the Human3.6M skeleton."""

    name: str  #: the clip's name (file stem)
    pose_m: np.ndarray  #: (T, 17, 3) float64, H36M_JOINTS order, metres, z up, floor z = 0
    rate_hz: float  #: uniform frame rate of ``pose_m``
    source: str  #: file (and archive) it was read from
    loop: bool = False  #: the clip is one cycle of a periodic motion (its last frame meets its first)
    t_s: np.ndarray | None = None  #: (T,) frame times, s, where frames are not uniform (else k / rate_hz)
    cycles: int = 1  #: how many times a looping clip's cycle was repeated

    def times(self) -> np.ndarray:
        """(T,) frame times, seconds from the first frame."""
        if self.t_s is not None:
            return np.asarray(self.t_s, dtype=np.float64)
        return np.arange(self.pose_m.shape[0]) / self.rate_hz

    @property
    def duration_s(self) -> float:
        return float(self.times()[-1])


def rot_x(a: np.ndarray) -> np.ndarray:
    """Rotations about x by ``a`` (...,) rad -> (..., 3, 3)."""
    return _rot(a, 1, 2)


def rot_y(a: np.ndarray) -> np.ndarray:
    """Rotations about y by ``a`` (...,) rad -> (..., 3, 3)."""
    return _rot(a, 2, 0)


def rot_z(a: np.ndarray) -> np.ndarray:
    """Rotations about z by ``a`` (...,) rad -> (..., 3, 3)."""
    return _rot(a, 0, 1)


def _rot(a: np.ndarray, i: int, j: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    r = np.zeros((*a.shape, 3, 3))
    k = 3 - i - j
    c, s = np.cos(a), np.sin(a)
    r[..., k, k] = 1.0
    r[..., i, i] = c
    r[..., j, j] = c
    r[..., i, j] = -s
    r[..., j, i] = s
    return r


_AXIS_ROT = {"x": rot_x, "y": rot_y, "z": rot_z}


def euler(order: str, angles_rad: np.ndarray) -> np.ndarray:
    """Intrinsic rotations in ``order`` (e.g. "zxy": R = Rz @ Rx @ Ry), angles (T, len(order)) rad -> (T, 3, 3)."""
    angles_rad = np.asarray(angles_rad, dtype=np.float64)
    r = np.broadcast_to(np.eye(3), (angles_rad.shape[0], 3, 3)).copy()
    for k, axis in enumerate(order.lower()):
        r = r @ _AXIS_ROT[axis](angles_rad[:, k])
    return r


def quat_wxyz(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (T, 4) as (w, x, y, z) -> rotation matrices (T, 3, 3); normalizes first."""
    q = np.asarray(q, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if (norm < 1e-9).any():
        raise DataError("a rotation quaternion has zero length; the clip is corrupt")
    w, x, y, z = np.moveaxis(q / norm, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def to_h36m(
    points: Mapping[str, np.ndarray], mapping: Mapping[str, str | Sequence[str]], where: str
) -> np.ndarray:
    """Global positions of a source skeleton's points -> (T, 17, 3) in ``H36M_JOINTS`` order.

    Args:
        points: source point name -> (T, 3) positions.
        mapping: H36M joint name -> one source point, or several whose mean it is. ``spine`` may be left out
            (then the midpoint of ``hip`` and ``thorax``).
        where: the file, for error messages.
    """
    t = next(iter(points.values())).shape[0]
    pose = np.zeros((t, N_JOINTS, 3))
    missing = [j for j in H36M_JOINTS if j not in mapping and j != "spine"]
    if missing:
        raise DataError(f"{where}: no source joint for {', '.join(missing)}; pass a joint map naming them")
    for joint, src in mapping.items():
        names = [src] if isinstance(src, str) else list(src)
        absent = [n for n in names if n not in points]
        if absent:
            raise DataError(
                f"{where}: the joint map puts {joint} at {', '.join(absent)}, which the skeleton does not have "
                f"(it has: {', '.join(sorted(points))})"
            )
        pose[:, J[joint]] = np.mean([points[n] for n in names], axis=0)
    if "spine" not in mapping:
        pose[:, J["spine"]] = 0.5 * (pose[:, J["hip"]] + pose[:, J["thorax"]])
    return pose


def to_world(pose: np.ndarray, up: str = "y") -> np.ndarray:
    """A pose in a right-handed frame with ``up`` ("y" or "z") -> z up, the floor at 0, the root starting at the
    origin horizontally. (T, 17, 3) metres -> (T, 17, 3)."""
    if up == "y":  # rotate +90 degrees about x: (x, y, z) -> (x, -z, y), a proper rotation
        pose = np.stack([pose[..., 0], -pose[..., 2], pose[..., 1]], -1)
    elif up != "z":
        raise DataError(f"up axis must be 'y' or 'z', got {up!r}")
    pose = pose.copy()
    pose[..., :2] -= pose[0, J["hip"], :2]
    pose[..., 2] -= pose[..., 2].min() - FLOOR_CLEARANCE_M
    return pose


def resample_pose(t_s: np.ndarray, pose: np.ndarray, rate_hz: float = RATE_HZ) -> np.ndarray:
    """Resample a pose sequence onto ``t_s[0] + k / rate_hz`` with a cubic spline.

    A source faster than the grid is first low-passed below the grid's Nyquist rate (zero-phase Butterworth at
    ``ANTI_ALIAS_FRACTION * rate_hz``), as :func:`mujo_edge.grid.resample_segment` does for sensors; a cubic
    spline (not linear interpolation) keeps the second derivative, the virtual accelerometer, free of kinks at
    the source frames.

    Args:
        t_s: (T,) strictly increasing frame times, seconds.
        pose: (T, 17, 3) metres.
    Returns:
        (M, 17, 3) float64 with M = floor((t_s[-1] - t_s[0]) * rate_hz) + 1.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    if pose.ndim != 3 or pose.shape[0] != t_s.shape[0]:
        raise ShapeError(f"pose must be (T, joints, 3) with T = len(t_s) = {t_s.shape[0]}, got {pose.shape}")
    if t_s.size < 4 or not (np.diff(t_s) > 0).all():
        raise DataError(
            f"a clip needs at least 4 frames at increasing times to resample, got {t_s.size} frames; "
            "check the file's frame count and frame time"
        )
    flat = pose.reshape(pose.shape[0], -1)
    src_rate = (t_s.size - 1) / (t_s[-1] - t_s[0])
    if src_rate > rate_hz * 1.05:
        t_u = t_s[0] + np.arange(int(np.floor((t_s[-1] - t_s[0]) * src_rate)) + 1) / src_rate
        flat = CubicSpline(t_s, flat, axis=0)(t_u)
        sos = butter(4, ANTI_ALIAS_FRACTION * rate_hz, btype="low", fs=src_rate, output="sos")
        padlen = min(3 * (2 * len(sos) + 1), t_u.size - 1)
        flat = sosfiltfilt(sos, flat, axis=0, padlen=padlen)
        t_s = t_u
    m = int(np.floor((t_s[-1] - t_s[0]) * rate_hz + 1e-9)) + 1
    grid = t_s[0] + np.arange(m) / rate_hz
    return CubicSpline(t_s, flat, axis=0)(grid).reshape(m, *pose.shape[1:])


def bone_lengths(pose_m: np.ndarray) -> np.ndarray:
    """Lengths of :data:`H36M_BONES` per frame, (T, 17, 3) m -> (T, 14) m."""
    a = pose_m[:, [J[p] for p, _ in H36M_BONES]]
    b = pose_m[:, [J[c] for _, c in H36M_BONES]]
    return np.linalg.norm(b - a, axis=-1)


def clip_on_grid(clip: MocapClip, rate_hz: float) -> MocapClip:
    """The clip resampled onto a uniform ``rate_hz`` grid (see :func:`resample_pose`)."""
    pose = resample_pose(clip.times(), clip.pose_m, rate_hz)
    return MocapClip(clip.name, pose, rate_hz, clip.source, clip.loop, None, clip.cycles)
