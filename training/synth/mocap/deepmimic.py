"""DeepMimic motion clips (``humanoid3d_*.txt``, as pybullet ships them) -> a clip on the Human3.6M skeleton.

A clip is JSON: ``{"Loop": "wrap" | "none", "Frames": [[dt, ...], ...]}``. Each 44-value frame of the
humanoid holds the time to the next frame (s), the root position (m, y up), then rotations in this order:
root, chest, neck, right hip, right knee, right ankle, right shoulder, right elbow, left hip, left knee, left
ankle, left shoulder, left elbow; spherical joints as quaternions (w, x, y, z), knees and elbows as one angle
(rad, about the joint's z axis).

The offsets between joints come from the humanoid's URDF (``pybullet_data/humanoid/humanoid.urdf``: each
joint's ``<origin xyz>`` in its parent link's frame), scaled by :data:`URDF_SCALE` as pybullet's DeepMimic
environment loads it (``globalScaling=0.25``). Forward kinematics: a joint's position is its parent's plus the
parent's global rotation applied to the offset; its global rotation is the parent's times its own.

Mapping onto ``H36M_JOINTS``: ``hip`` the root, ``r_hip``/``r_knee``/``r_ankle`` and ``r_shoulder``/
``r_elbow`` the joints of those names, ``r_wrist`` the fixed ``right_wrist`` joint at the forearm's end (where
a watch sits; the humanoid has no hand), ``thorax`` the ``neck`` joint (at shoulder height), ``head`` the
centre of the head sphere (:data:`HEAD_OFFSET` along the neck link) and ``neck`` midway between them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from mujo_edge.errors import DataError

from .clip import MocapClip, quat_wxyz, rot_z, to_h36m, to_world

#: The wheel that carries the DeepMimic clips and the humanoid whose joint offsets drive them.
PYBULLET = "pybullet==3.2.7"
HUMANOID_URDF = "pybullet_data/humanoid/humanoid.urdf"


def humanoid_urdf() -> Path:
    """The DeepMimic humanoid's URDF from the pybullet wheel (its joint offsets drive the forward kinematics),
    downloaded and extracted into the cache on first use."""
    from mujo_edge.training.data.package_files import package_file

    return package_file(PYBULLET, HUMANOID_URDF)


#: pybullet loads the DeepMimic humanoid's URDF scaled by this (its ``deep_mimic`` environment).
URDF_SCALE = 0.25
#: The head sphere's centre along the neck link, URDF units (the neck link's collision sphere origin).
HEAD_OFFSET = np.array([0.0, 0.7, 0.0])

#: (joint, parent joint, kind) in the order of a frame's rotations after the root's.
FRAME_JOINTS: tuple[tuple[str, str, str], ...] = (
    ("chest", "root", "sphere"),
    ("neck", "chest", "sphere"),
    ("right_hip", "root", "sphere"),
    ("right_knee", "right_hip", "angle"),
    ("right_ankle", "right_knee", "sphere"),
    ("right_shoulder", "chest", "sphere"),
    ("right_elbow", "right_shoulder", "angle"),
    ("left_hip", "root", "sphere"),
    ("left_knee", "left_hip", "angle"),
    ("left_ankle", "left_knee", "sphere"),
    ("left_shoulder", "chest", "sphere"),
    ("left_elbow", "left_shoulder", "angle"),
)
#: Fixed joints (no rotation of their own) read from the URDF too.
FIXED_JOINTS: tuple[tuple[str, str], ...] = (("right_wrist", "right_elbow"), ("left_wrist", "left_elbow"))
FRAME_VALUES = 1 + 3 + 4 + sum(4 if k == "sphere" else 1 for _, _, k in FRAME_JOINTS)

HUMANOID_JOINT_MAP: dict[str, str | tuple[str, ...]] = {
    "hip": "root",
    "r_hip": "right_hip",
    "r_knee": "right_knee",
    "r_ankle": "right_ankle",
    "l_hip": "left_hip",
    "l_knee": "left_knee",
    "l_ankle": "left_ankle",
    "thorax": "neck",
    "neck": ("neck", "head"),
    "head": "head",
    "l_shoulder": "left_shoulder",
    "l_elbow": "left_elbow",
    "l_wrist": "left_wrist",
    "r_shoulder": "right_shoulder",
    "r_elbow": "right_elbow",
    "r_wrist": "right_wrist",
}


def urdf_offsets(path: str | Path) -> dict[str, np.ndarray]:
    """Joint name -> its ``<origin xyz>`` in the parent link's frame, metres (URDF units x ``URDF_SCALE``)."""
    path = Path(path)
    try:
        root = ET.fromstring(path.read_bytes().rstrip(b"\x00"))
    except (OSError, ET.ParseError) as e:
        raise DataError(
            f"{path}: cannot read the humanoid URDF ({e}); pass the humanoid.urdf beside the clips"
        ) from e
    out: dict[str, np.ndarray] = {}
    for j in root.iter("joint"):
        origin = j.find("origin")
        if origin is None:
            continue
        try:
            out[j.get("name", "")] = (
                np.array([float(v) for v in origin.get("xyz", "0 0 0").split()]) * URDF_SCALE
            )
        except ValueError as e:
            raise DataError(f"{path}: joint {j.get('name')!r} has an unreadable origin ({e})") from e
    needed = [n for n, _, _ in FRAME_JOINTS] + [n for n, _ in FIXED_JOINTS]
    missing = [n for n in needed if n not in out]
    if missing:
        raise DataError(
            f"{path}: the URDF lacks joints {', '.join(missing)}; it must be the DeepMimic humanoid "
            "(pybullet_data/humanoid/humanoid.urdf)"
        )
    return out


def read_deepmimic(path: str | Path, urdf: str | Path, loop_s: float = 0.0) -> MocapClip:
    """A DeepMimic humanoid clip as a clip on the Human3.6M skeleton at its frames' own times.

    The frames may be non-uniform in time: the clip carries their times (``t_s``) and its ``rate_hz`` is the
    mean frame rate. A looping clip (``"Loop": "wrap"``) is repeated to at least ``loop_s`` seconds by
    :func:`loop_frames` (``clip.cycles`` says how often).
    """
    path = Path(path)
    frames, loop = _load_frames(path)
    cycles = 1
    if loop and loop_s > 0:
        frames, cycles = loop_frames(frames, loop_s)
    offsets = urdf_offsets(urdf)
    t = frames.shape[0]
    pos = {"root": frames[:, 1:4]}
    rot = {"root": quat_wxyz(frames[:, 4:8])}
    col = 8
    for name, parent, kind in FRAME_JOINTS:
        if kind == "sphere":
            local = quat_wxyz(frames[:, col : col + 4])
            col += 4
        else:
            local = rot_z(frames[:, col])
            col += 1
        pos[name] = pos[parent] + np.einsum("tij,j->ti", rot[parent], offsets[name])
        rot[name] = rot[parent] @ local
    for name, parent in FIXED_JOINTS:
        pos[name] = pos[parent] + np.einsum("tij,j->ti", rot[parent], offsets[name])
    pos["head"] = pos["neck"] + np.einsum("tij,j->ti", rot["neck"], HEAD_OFFSET * URDF_SCALE)
    pose = to_h36m(pos, HUMANOID_JOINT_MAP, str(path))
    times = frame_times(frames)
    rate = (t - 1) / max(times[-1] - times[0], 1e-9)
    return MocapClip(path.stem, to_world(pose, "y"), float(rate), str(path), loop, times, cycles)


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Quaternion products (..., 4) (w, x, y, z)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        -1,
    )


def loop_frames(frames: np.ndarray, min_s: float) -> tuple[np.ndarray, int]:
    """Repeat one cycle of a looping clip until it lasts at least ``min_s`` seconds.

    The packaged cycles do not close exactly: their last frame differs from the first (the walk by about two
    frames' motion, the heading by up to 20 degrees). So the cycle is first closed in joint space, which keeps
    every bone rigid: each rotation ``q_i`` becomes ``slerp(1, q_0 q_last^-1, w_i) q_i`` and each knee and elbow
    angle ``a_i + w_i (a_0 - a_last)``, with ``w`` rising smoothly (smoothstep) from 0 at the first frame to 1
    at the last, so the last frame equals the first and the correction is spread over the whole cycle. Then
    each cycle starts where the previous ended, the root moved on by the cycle's horizontal travel.

    Args:
        frames: (T, 44) DeepMimic humanoid frames.
    Returns:
        ``(frames, cycles)``: (cycles * (T - 1) + 1, 44).
    """
    t = frames.shape[0]
    period = float(frames[:-1, 0].sum())
    if period <= 0 or period >= min_s:
        return frames, 1
    u = np.linspace(0.0, 1.0, t)
    w = (u * u * (3 - 2 * u))[:, None]
    closed = frames.copy()
    col = 4
    for kind in ["sphere", *(k for _, _, k in FRAME_JOINTS)]:
        if kind == "sphere":
            q = frames[:, col : col + 4] / np.linalg.norm(frames[:, col : col + 4], axis=1, keepdims=True)
            delta = _qmul(q[0], q[-1] * [1.0, -1.0, -1.0, -1.0])
            delta *= np.sign(delta[0]) or 1.0
            half = np.arccos(np.clip(delta[0], -1.0, 1.0))
            axis = delta[1:] / max(float(np.sin(half)), 1e-12)
            part = np.concatenate([np.cos(w * half), np.sin(w * half) * axis], axis=1)
            closed[:, col : col + 4] = _qmul(part, q)
            col += 4
        else:
            closed[:, col] = frames[:, col] + w[:, 0] * (frames[0, col] - frames[-1, col])
            col += 1
    cycles = int(np.ceil(min_s / period))
    travel = np.zeros(frames.shape[1])
    travel[[1, 3]] = frames[-1, [1, 3]] - frames[0, [1, 3]]  # horizontal root travel (y is up)
    parts = [closed[:-1] + k * travel for k in range(cycles)] + [closed[-1:] + (cycles - 1) * travel]
    return np.concatenate(parts), cycles


def frame_times(frames: np.ndarray) -> np.ndarray:
    """Times of the frames (T,) s: the running sum of each frame's duration."""
    return np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])


def _load_frames(path: Path) -> tuple[np.ndarray, bool]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read a DeepMimic clip ({e}); it is JSON with a 'Frames' list") from e
    if not isinstance(data, dict) or not isinstance(data.get("Frames"), list) or not data["Frames"]:
        raise DataError(f"{path}: a DeepMimic clip is a JSON object with a non-empty 'Frames' list")
    widths = sorted({len(r) if isinstance(r, list) else -1 for r in data["Frames"]})
    if widths != [FRAME_VALUES]:
        raise DataError(
            f"{path}: humanoid frames have {FRAME_VALUES} values (dt, root position, 13 rotations), found "
            f"{widths}; other characters (e.g. laikago_walk.txt, a dog) are not supported"
        )
    try:
        frames = np.array(data["Frames"], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise DataError(f"{path}: a frame holds something that is not a number ({e})") from e
    if not np.isfinite(frames).all():
        raise DataError(f"{path}: the frames hold NaN or infinite values")
    if frames.shape[0] < 4 or not (frames[:-1, 0] > 0).all():
        raise DataError(f"{path}: a clip needs at least 4 frames with positive durations (column 0)")
    return frames, str(data.get("Loop", "none")).lower() == "wrap"
