"""MediaPipe's 33 landmarks -> the 17-joint Human3.6M skeleton on the 50 Hz grid, smoothed, with gaps kept.

Joints (``H36M_JOINTS`` order) from MediaPipe's world landmarks (metres, origin between the hips):

| H36M joint | from MediaPipe landmarks |
|---|---|
| hip | mean of left hip (23) and right hip (24) |
| r_hip, r_knee, r_ankle | 24, 26, 28 |
| l_hip, l_knee, l_ankle | 23, 25, 27 |
| thorax | mean of the shoulders (11, 12) |
| spine | halfway between hip and thorax |
| head | mean of the ears (7, 8) |
| neck | halfway between thorax and head |
| l_shoulder, l_elbow, l_wrist | 11, 13, 15 |
| r_shoulder, r_elbow, r_wrist | 12, 14, 16 |

MediaPipe's left and right are the subject's, as in Human3.6M. Axes: MediaPipe's world landmarks are in the
camera's orientation (x right, y down, z away from the camera); they are turned into the toolkit's z-up frame
(x away from the camera, y to the camera's left, z up), assuming a level camera. The landmarks are relative to
the hips, so the body's own translation (walking, jumping) is not in the pose.

Time: frames carry their decoder timestamps. Dropouts (frames with nobody found) up to :data:`MAX_FILL_S` are
bridged by interpolation; longer ones cut the track into separate runs, and so does a change of person (the
tracker picking up someone else); no window spans two runs. Each run is resampled to the 50 Hz grid from its
timestamps (anti-aliased when the video is faster, interpolated when it is slower,
:func:`mujo_edge.grid.resample_segment`), then low-passed at :data:`SMOOTH_HZ` (zero phase) against the
frame-to-frame jitter of the landmark model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from mujo_edge.constants import H36M_JOINTS, N_JOINTS, RATE_HZ
from mujo_edge.errors import ShapeError
from mujo_edge.grid import resample_segment

#: Longest dropout (no person found) bridged by interpolation, seconds; longer ones are gaps.
MAX_FILL_S: float = 0.25
#: Low-pass cut-off of the joint trajectories, Hz. The landmark model's frame-to-frame jitter (about a
#: centimetre) becomes g-sized noise when differentiated twice; 2 Hz is the highest of 6, 4, 3, 2.5 and 2 Hz at
#: which the stillest second of both wrists of the Sports2D clip reads 1 g +- 0.1 (experiments/video_checks.md).
SMOOTH_HZ: float = 2.0
#: Butterworth order of that low-pass (applied forwards and backwards).
SMOOTH_ORDER: int = 2

#: Rows: the toolkit's x, y, z in MediaPipe camera coordinates (x right, y down, z away from the camera).
CAMERA_TO_Z_UP = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])

_J = {name: i for i, name in enumerate(H36M_JOINTS)}
_DIRECT = {
    "r_hip": 24,
    "r_knee": 26,
    "r_ankle": 28,
    "l_hip": 23,
    "l_knee": 25,
    "l_ankle": 27,
    "l_shoulder": 11,
    "l_elbow": 13,
    "l_wrist": 15,
    "r_shoulder": 12,
    "r_elbow": 14,
    "r_wrist": 16,
}

#: Bones whose lengths the checks follow over time: (name, joint a, joint b).
BONES: tuple[tuple[str, str, str], ...] = (
    ("l_upper_arm", "l_shoulder", "l_elbow"),
    ("l_forearm", "l_elbow", "l_wrist"),
    ("r_upper_arm", "r_shoulder", "r_elbow"),
    ("r_forearm", "r_elbow", "r_wrist"),
    ("l_thigh", "l_hip", "l_knee"),
    ("l_shank", "l_knee", "l_ankle"),
    ("r_thigh", "r_hip", "r_knee"),
    ("r_shank", "r_knee", "r_ankle"),
    ("shoulders", "l_shoulder", "r_shoulder"),
    ("hips", "l_hip", "r_hip"),
)


def landmarks_to_h36m(world_m: np.ndarray) -> np.ndarray:
    """MediaPipe world landmarks (..., 33, 3) (camera orientation) -> H36M joints (..., 17, 3), z up, metres."""
    world_m = np.asarray(world_m, dtype=np.float64)
    if world_m.shape[-2:] != (33, 3):
        raise ShapeError(f"landmarks_to_h36m expects (..., 33, 3) MediaPipe landmarks, got {world_m.shape}")
    out = np.empty((*world_m.shape[:-2], N_JOINTS, 3))
    for name, k in _DIRECT.items():
        out[..., _J[name], :] = world_m[..., k, :]
    out[..., _J["hip"], :] = 0.5 * (world_m[..., 23, :] + world_m[..., 24, :])
    out[..., _J["thorax"], :] = 0.5 * (world_m[..., 11, :] + world_m[..., 12, :])
    out[..., _J["spine"], :] = 0.5 * (out[..., _J["hip"], :] + out[..., _J["thorax"], :])
    out[..., _J["head"], :] = 0.5 * (world_m[..., 7, :] + world_m[..., 8, :])
    out[..., _J["neck"], :] = 0.5 * (out[..., _J["thorax"], :] + out[..., _J["head"], :])
    return out @ CAMERA_TO_Z_UP.T


#: The skeleton as a tree from the hip, parents before children. A step ``(child, parent)`` puts one joint at
#: its parent plus its bone; a step ``((left, right), centre)`` puts a left/right pair symmetrically about their
#: centre joint (the mapping makes hip and thorax the midpoints of the hips and of the shoulders), so the width
#: between them is fixed too.
TREE: tuple[tuple[str | tuple[str, str], str], ...] = (
    (("l_hip", "r_hip"), "hip"),
    ("r_knee", "r_hip"),
    ("r_ankle", "r_knee"),
    ("l_knee", "l_hip"),
    ("l_ankle", "l_knee"),
    ("spine", "hip"),
    ("thorax", "spine"),
    ("neck", "thorax"),
    ("head", "neck"),
    (("l_shoulder", "r_shoulder"), "thorax"),
    ("l_elbow", "l_shoulder"),
    ("l_wrist", "l_elbow"),
    ("r_elbow", "r_shoulder"),
    ("r_wrist", "r_elbow"),
)


def _median_length(v: np.ndarray) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(median length over the frames, unit vectors, frames with a usable vector) of vectors (T, 3)."""
    length = np.linalg.norm(v, axis=-1)
    ok = np.isfinite(length) & (length > 1e-9)
    if not ok.any():
        return None
    return float(np.median(length[ok])), v / np.where(ok, length, 1.0)[:, None], ok


def constant_bones(joints_m: np.ndarray) -> np.ndarray:
    """Give every bone its median length over the video, keeping its direction in every frame.

    The landmark model sees one frame at a time, so a person's limbs change length from frame to frame (the
    raw coefficients of variation are in ``docs/data.md``, section "Exercise videos"); a body does not. Walking
    down :data:`TREE` from the hip, each joint is put at its parent's new position plus the median bone length
    along the bone's direction in that frame; the hips and the shoulders are put symmetrically about hip and
    thorax at their median width, along the left-right direction of that frame. ``joints_m``: (T, 17, 3), NaN
    rows (no person) stay NaN.
    """
    joints_m = np.asarray(joints_m, dtype=np.float64)
    out = joints_m.copy()
    for child, parent in TREE:
        p = _J[parent]
        if isinstance(child, tuple):
            left, right = _J[child[0]], _J[child[1]]
            got = _median_length(joints_m[:, left] - joints_m[:, right])
            if got is None:
                continue
            width, unit, _ = got
            out[:, left] = out[:, p] + 0.5 * width * unit
            out[:, right] = out[:, p] - 0.5 * width * unit
        else:
            c = _J[child]
            got = _median_length(joints_m[:, c] - joints_m[:, p])
            if got is None:
                continue
            length, unit, _ = got
            out[:, c] = out[:, p] + length * unit
    return out


def bone_lengths(pose_m: np.ndarray) -> dict[str, np.ndarray]:
    """Length over time (T,) in metres of each bone in :data:`BONES`, from a pose (T, 17, 3)."""
    return {n: np.linalg.norm(pose_m[:, _J[a]] - pose_m[:, _J[b]], axis=-1) for n, a, b in BONES}


@dataclass(frozen=True)
class PoseRun:
    """A gap-free stretch of a video's pose on the grid.

    Attributes:
        t_s: (m,) float64 grid times in seconds of the video's clock, ``t_s[k] = t_s[0] + k / rate_hz``.
        pose_m: (m, 17, 3) float32 joints in metres, H36M order, z up, smoothed.
        filled: (m,) bool, grid samples inside a bridged dropout.
    """

    t_s: np.ndarray
    pose_m: np.ndarray
    filled: np.ndarray


def split_runs(
    t_s: np.ndarray,
    found: np.ndarray,
    max_fill_s: float = MAX_FILL_S,
    new_person: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """Runs ``[(first, last), ...]`` of frame indices (inclusive, both frames with a person) such that inside a
    run no two consecutive found frames are more than ``max_fill_s`` plus one frame period apart, and no frame
    but the first has ``new_person`` set (another person was picked up there)."""
    idx = np.flatnonzero(found)
    if idx.size == 0:
        return []
    period = float(np.median(np.diff(t_s))) if t_s.size > 1 else 0.0
    cut = np.diff(t_s[idx]) > max_fill_s + period + 1e-9
    if new_person is not None:
        cut |= np.asarray(new_person, dtype=bool)[idx[1:]]
    breaks = np.flatnonzero(cut)
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, idx.size - 1]
    return [(int(idx[a]), int(idx[b])) for a, b in zip(starts, ends, strict=True)]


def to_grid(
    t_s: np.ndarray,
    joints_m: np.ndarray,
    rate_hz: float = RATE_HZ,
    max_fill_s: float = MAX_FILL_S,
    smooth_hz: float | None = SMOOTH_HZ,
    fixed_bones: bool = True,
    new_person: np.ndarray | None = None,
) -> list[PoseRun]:
    """Per-frame joints with dropouts -> gap-free runs on the grid.

    Args:
        t_s: (n,) strictly increasing frame times, seconds (any rate, variable rates included).
        joints_m: (n, 17, 3) joints in metres, NaN in frames without a person.
        rate_hz: grid rate.
        max_fill_s: longest dropout bridged by interpolation.
        smooth_hz: low-pass cut-off on the grid, Hz; None for none.
        fixed_bones: give every bone its median length over the run, before resampling and again after
            smoothing (:func:`constant_bones`; a low-pass shortens moving limbs).
        new_person: (n,) bool, frames where another person was picked up; a run ends before each.
    Returns:
        The runs, in time order; runs of a single frame are dropped.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    joints_m = np.asarray(joints_m, dtype=np.float64)
    if joints_m.shape != (t_s.size, N_JOINTS, 3):
        raise ShapeError(
            f"to_grid expects joints ({t_s.size}, {N_JOINTS}, 3) for {t_s.size} frames, got {joints_m.shape}"
        )
    if t_s.size > 1 and not (np.diff(t_s) > 0).all():
        raise ShapeError("frame times must increase strictly")
    found = np.isfinite(joints_m).all(axis=(1, 2))
    runs = []
    for a, b in split_runs(t_s, found, max_fill_s, new_person):
        sel = np.flatnonzero(found[a : b + 1]) + a
        if sel.size < 2:
            continue
        src = constant_bones(joints_m[sel]) if fixed_bones else joints_m[sel]
        t_grid, x = resample_segment(t_s[sel], src.reshape(sel.size, -1), rate_hz)
        pose = x.reshape(-1, N_JOINTS, 3).astype(np.float64)
        if smooth_hz is not None and pose.shape[0] > 3 * (2 * SMOOTH_ORDER + 1):
            sos = signal.butter(SMOOTH_ORDER, smooth_hz, btype="low", fs=rate_hz, output="sos")
            pose = signal.sosfiltfilt(sos, pose, axis=0)
        if fixed_bones:
            pose = constant_bones(pose)
        # grid samples farther than one frame period from any found frame lie inside a bridged dropout
        period = float(np.median(np.diff(t_s[sel])))
        pos = np.clip(np.searchsorted(t_s[sel], t_grid), 1, sel.size - 1)
        near = np.minimum(np.abs(t_grid - t_s[sel][pos - 1]), np.abs(t_s[sel][pos] - t_grid))
        runs.append(PoseRun(t_grid, pose.astype(np.float32), near > period + 1e-9))
    return runs
