"""BVH (Biovision Hierarchy) motion capture -> a clip on the Human3.6M skeleton.

A BVH file holds a joint tree (``ROOT``/``JOINT`` with an ``OFFSET`` from the parent and ``CHANNELS``, ``End
Site`` leaves) and a ``MOTION`` block of frames, one line of channel values each (positions in the file's
unit, Euler angles in degrees, applied in the order the channels are listed: ``Zrotation Xrotation Yrotation``
means R = Rz @ Rx @ Ry). Y is up, as in nearly every BVH file.

Forward kinematics: a joint's global rotation is its parent's times its own; its position is the parent's
position plus the parent's global rotation applied to its offset (a joint with position channels uses those
values instead of the offset). ``End Site`` points are named ``<joint>_end``.

Mapping onto ``H36M_JOINTS`` is by name (case, ``_``, spaces and ``prefix:`` ignored), trying the names common
exporters use (:data:`NAME_CANDIDATES`: MotionBuilder/mocapbank ``RightShoulder``/``RightElbow``/
``RightWrist``, Mixamo ``RightArm``/``RightForeArm``/``RightHand``, CMU ``RightUpLeg``...). ``thorax`` is
the base of the neck, ``neck`` the head joint, ``head`` the head's end site. Pass ``joint_map`` for other
names.

Units: ``scale_m`` metres per file unit, or guessed from the standing height of the rest pose (about 1.7 in
the file's unit: metres; about 170: centimetres; about 1700: millimetres; about 67: inches).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mujo_edge.errors import DataError

from .clip import MocapClip, euler, to_h36m, to_world

#: Names tried, in order, for each Human3.6M joint (normalized: lower case, no ``_``, spaces or prefix).
#: ``{s}`` is "right"/"left", ``{c}`` "r"/"l".
NAME_CANDIDATES: dict[str, tuple[str, ...]] = {
    "hip": ("hips", "hip", "pelvis", "root"),
    "{c}_hip": ("{s}upleg", "{s}hip", "{s}thigh", "{s}femur", "{c}thigh", "{c}hip", "{c}upleg", "{c}femur"),
    "{c}_knee": ("{s}leg", "{s}knee", "{s}shin", "{s}lowerleg", "{c}shin", "{c}knee", "{c}leg", "{c}tibia"),
    "{c}_ankle": ("{s}foot", "{s}ankle", "{c}foot", "{c}ankle"),
    "thorax": ("neck", "neck1", "lowerneck", "neckbase"),
    "neck": ("head", "upperneck"),
    "head": ("headend", "headtopend", "headtop", "headsiteend", "headtopendend"),
    "{c}_shoulder": (
        "{s}arm",
        "{s}upperarm",
        "{s}uparm",
        "{s}humerus",
        "{c}uparm",
        "{c}humerus",
        "{s}shoulder",
    ),
    "{c}_elbow": (
        "{s}forearm",
        "{s}elbow",
        "{s}lowerarm",
        "{c}forearm",
        "{c}lowarm",
        "{c}elbow",
        "{c}radius",
    ),
    "{c}_wrist": ("{s}hand", "{s}wrist", "{c}hand", "{c}wrist"),
}

#: Typical standing height of a person, metres (what the unit guess compares the rest pose with).
_HEIGHT_M = 1.7
_UNITS_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254}


@dataclass
class BvhJoint:
    name: str
    parent: int  #: index of the parent joint, -1 for the root
    offset: np.ndarray  #: (3,) file units
    channels: list[str] = field(default_factory=list)
    first_channel: int = 0  #: column of its first channel in a frame line


@dataclass
class Bvh:
    """A parsed BVH file: the joint tree (end sites are joints without channels) and the channel matrix."""

    joints: list[BvhJoint]
    frame_time_s: float
    motion: np.ndarray  #: (T, channels) float64


def _normalize(name: str) -> str:
    return name.split(":")[-1].lower().replace("_", "").replace(" ", "").replace(".", "")


def parse_bvh(path: str | Path) -> Bvh:
    """Read a BVH file. Raises :class:`DataError` naming the line of anything it cannot read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise DataError(f"{path}: cannot read the BVH file ({e})") from e
    lines = text.splitlines()
    joints: list[BvhJoint] = []
    stack: list[int] = []
    n_channels = 0
    i = 0
    pending: BvhJoint | None = None

    def fail(problem: str) -> DataError:
        return DataError(f"{path}, line {i + 1}: {problem}; is this a BVH file (HIERARCHY ... MOTION)?")

    while i < len(lines):
        tok = lines[i].split()
        if not tok:
            i += 1
            continue
        key = tok[0].upper()
        if key == "HIERARCHY":
            pass
        elif key in ("ROOT", "JOINT"):
            if len(tok) < 2:
                raise fail(f"{key} without a name")
            pending = BvhJoint(" ".join(tok[1:]), stack[-1] if stack else -1, np.zeros(3))
        elif key == "END":
            parent = joints[stack[-1]].name if stack else "root"
            pending = BvhJoint(f"{parent}_end", stack[-1] if stack else -1, np.zeros(3))
        elif key == "{":
            if pending is None:
                raise fail("'{' without a joint before it")
            joints.append(pending)
            stack.append(len(joints) - 1)
            pending = None
        elif key == "}":
            if not stack:
                raise fail("unbalanced '}'")
            stack.pop()
        elif key == "OFFSET":
            try:
                joints[stack[-1]].offset = np.array([float(v) for v in tok[1:]])
            except (ValueError, IndexError) as e:
                raise fail(f"OFFSET needs three numbers, got {' '.join(tok[1:])!r}") from e
            if joints[stack[-1]].offset.shape != (3,):
                raise fail(f"OFFSET needs three numbers, got {' '.join(tok[1:])!r}")
        elif key == "CHANNELS":
            try:
                n = int(tok[1])
            except (ValueError, IndexError) as e:
                raise fail("CHANNELS needs a count") from e
            names = tok[2 : 2 + n]
            if len(names) != n or not stack:
                raise fail(f"CHANNELS {n} lists {len(names)} names")
            joints[stack[-1]].channels = names
            joints[stack[-1]].first_channel = n_channels
            n_channels += n
        elif key == "MOTION":
            i += 1
            break
        else:
            raise fail(f"unexpected {tok[0]!r} in the hierarchy")
        i += 1
    if not joints or stack:
        raise fail("the hierarchy is empty or its braces do not balance")
    n_frames, frame_time = None, None
    while i < len(lines) and (n_frames is None or frame_time is None):
        low = lines[i].strip().lower()
        try:
            if low.startswith("frames:"):
                n_frames = int(low.split(":", 1)[1])
            elif low.startswith("frame time:"):
                frame_time = float(low.split(":", 1)[1])
        except ValueError as e:
            raise fail(f"cannot read {lines[i].strip()!r}") from e
        i += 1
    if n_frames is None or frame_time is None or not frame_time > 0:
        raise DataError(f"{path}: the MOTION block needs 'Frames: N' and a positive 'Frame Time: dt'")
    rows = [ln.split() for ln in lines[i:] if ln.strip()]
    widths = sorted({len(r) for r in rows})
    if widths and widths != [n_channels]:
        raise DataError(
            f"{path}: the hierarchy declares {n_channels} channels but frame lines have {widths} values"
        )
    try:
        motion = np.array([[float(v) for v in r] for r in rows], dtype=np.float64)
    except ValueError as e:
        raise DataError(f"{path}: a frame line holds something that is not a number ({e})") from e
    if motion.shape[0] != n_frames:
        raise DataError(
            f"{path}: 'Frames: {n_frames}' but {motion.shape[0]} frame lines follow; the file is cut"
        )
    if not np.isfinite(motion).all():
        raise DataError(f"{path}: the frames hold NaN or infinite values")
    return Bvh(joints, frame_time, motion)


def global_positions(bvh: Bvh) -> dict[str, np.ndarray]:
    """Forward kinematics: every joint's and end site's position (T, 3) in file units."""
    t = bvh.motion.shape[0]
    rot = np.zeros((len(bvh.joints), t, 3, 3))
    pos = np.zeros((len(bvh.joints), t, 3))
    for k, jnt in enumerate(bvh.joints):
        vals = bvh.motion[:, jnt.first_channel : jnt.first_channel + len(jnt.channels)]
        rot_names = [c for c in jnt.channels if c.lower().endswith("rotation")]
        rot_cols = [n for n, c in enumerate(jnt.channels) if c.lower().endswith("rotation")]
        local = (
            euler("".join(c[0] for c in rot_names), np.deg2rad(vals[:, rot_cols])) if rot_names else np.eye(3)
        )
        trans = np.broadcast_to(jnt.offset, (t, 3)).copy()
        for n, c in enumerate(jnt.channels):
            if c.lower().endswith("position"):
                trans[:, "xyz".index(c[0].lower())] = vals[:, n]
        if jnt.parent < 0:
            rot[k], pos[k] = np.broadcast_to(local, (t, 3, 3)), trans
        else:
            rot[k] = rot[jnt.parent] @ local
            pos[k] = pos[jnt.parent] + np.einsum("tij,tj->ti", rot[jnt.parent], trans)
    return {jnt.name: pos[k] for k, jnt in enumerate(bvh.joints)}


def default_joint_map(names: Sequence[str], where: str) -> dict[str, str]:
    """H36M joint -> BVH joint by :data:`NAME_CANDIDATES`; raises naming what it could not find."""
    norm: dict[str, str] = {}
    for n in names:
        norm.setdefault(_normalize(n), n)
    out: dict[str, str] = {}
    for key, cands in NAME_CANDIDATES.items():
        sides = [("right", "r"), ("left", "l")] if "{c}" in key else [("", "")]
        for s, c in sides:
            joint = key.format(c=c)
            hit = next((norm[x.format(s=s, c=c)] for x in cands if x.format(s=s, c=c) in norm), None)
            if hit is not None:
                out[joint] = hit
    if "hip" not in out:
        out["hip"] = names[0]
    missing = [
        j for j in ("r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist") if j not in out
    ]
    missing += [
        j for j in ("r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "thorax") if j not in out
    ]
    if missing:
        raise DataError(
            f"{where}: cannot tell which BVH joint is {', '.join(missing)} from the names "
            f"({', '.join(names)}); pass a joint map (H36M name -> BVH joint name)"
        )
    if "neck" not in out or "head" not in out:  # head joints absent: extend the trunk's line
        out.setdefault("neck", out["thorax"])
        out.setdefault("head", out["neck"])
    return out


def guess_scale_m(height: float) -> float:
    """Metres per file unit from a standing height in file units (see the module docstring)."""
    unit = min(_UNITS_M, key=lambda u: abs(np.log(height * _UNITS_M[u] / _HEIGHT_M)))
    return _UNITS_M[unit]


def read_bvh(
    path: str | Path,
    joint_map: Mapping[str, str] | None = None,
    scale_m: float | None = None,
    up: str = "y",
) -> MocapClip:
    """A BVH file as a clip on the Human3.6M skeleton at the file's own frame rate.

    Args:
        path: the .bvh file.
        joint_map: H36M joint name -> BVH joint name (default: :func:`default_joint_map`).
        scale_m: metres per file unit (default: guessed, see the module docstring).
        up: the file's up axis, "y" (default) or "z".
    """
    path = Path(path)
    bvh = parse_bvh(path)
    points = global_positions(bvh)
    names = [j.name for j in bvh.joints]
    mapping = dict(joint_map) if joint_map else default_joint_map(names, str(path))
    pose = to_h36m(points, mapping, str(path))
    if scale_m is None:
        up_i = "xyz".index(up)
        rest = global_positions(Bvh(bvh.joints, bvh.frame_time_s, np.zeros((1, bvh.motion.shape[1]))))
        heights = np.array([p[0, up_i] for p in rest.values()])
        scale_m = guess_scale_m(float(heights.max() - heights.min()))
    if not scale_m > 0:
        raise DataError(f"scale_m must be positive metres per file unit, got {scale_m}")
    pose = to_world(pose * scale_m, up)
    return MocapClip(path.stem, pose, 1.0 / bvh.frame_time_s, str(path))
