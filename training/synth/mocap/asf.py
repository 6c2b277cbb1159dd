"""Acclaim ASF/AMC motion capture (the CMU Graphics Lab format) -> a clip on the Human3.6M skeleton.

The ``.asf`` file describes the skeleton: per bone a unit ``direction`` and a ``length`` (in the world axes of
the rest pose), an ``axis`` (three Euler angles and their order: the
bone's local frame C in the rest pose) and its ``dof`` (``rx ry rz``, a subset, in the order the ``.amc``
lists them); ``:hierarchy`` lists each bone's children; ``:root`` the order of the root's six values. The
``.amc`` file holds one block per frame: the frame number, then ``bone value...`` lines.

Forward kinematics, as in the CMU documentation: a bone's global rotation is
``M = M_parent @ C @ R(dof) @ C^-1`` with ``R = Rz @ Ry @ Rx`` of the frame's angles, and the bone's end is its
start plus ``length * M @ direction``. The root's rotation is ``C_root @ R(root angles) @ C_root^-1`` and its
position the root translation.

Units: CMU ASF files say ``:units length 0.45``, i.e. a value is ``inches * 0.45``; positions are converted to
metres as ``value / length * 0.0254`` (``scale_m`` overrides). Angles are degrees unless ``angle rad``. Y is up.

Mapping onto ``H36M_JOINTS`` (:data:`CMU_JOINT_MAP`, by the ends of CMU's bone names): ``hip`` the root,
``r_hip`` the end of ``rhipjoint``, ``r_knee`` of ``rfemur``, ``r_ankle`` of ``rtibia``, ``thorax`` of
``thorax``, ``neck`` of ``upperneck``, ``head`` of ``head``, ``r_shoulder`` of ``rclavicle``, ``r_elbow`` of
``rhumerus``, ``r_wrist`` of ``rradius`` (the wrist, where a watch sits), and the same on the left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mujo_edge.errors import DataError

from .clip import MocapClip, euler, to_h36m, to_world

#: The CMU frame rate: AMC files carry no frame time, and the CMU collection is 120 Hz.
CMU_RATE_HZ = 120.0
_INCH_M = 0.0254

#: H36M joint -> the CMU bone whose end it is (``root``: the root position).
CMU_JOINT_MAP: dict[str, str] = {
    "hip": "root",
    "r_hip": "rhipjoint",
    "r_knee": "rfemur",
    "r_ankle": "rtibia",
    "l_hip": "lhipjoint",
    "l_knee": "lfemur",
    "l_ankle": "ltibia",
    "thorax": "thorax",
    "neck": "upperneck",
    "head": "head",
    "l_shoulder": "lclavicle",
    "l_elbow": "lhumerus",
    "l_wrist": "lradius",
    "r_shoulder": "rclavicle",
    "r_elbow": "rhumerus",
    "r_wrist": "rradius",
}


@dataclass
class AsfBone:
    name: str
    direction: np.ndarray  #: (3,) unit vector, rest pose
    length: float  #: file units
    axis_rad: np.ndarray  #: (3,) Euler angles of the bone's local frame
    axis_order: str  #: e.g. "xyz"
    dof: list[str] = field(default_factory=list)  #: e.g. ["rx", "ry", "rz"]


@dataclass
class AsfSkeleton:
    bones: dict[str, AsfBone]
    children: dict[str, list[str]]
    root_order: list[str]  #: e.g. ["tx", "ty", "tz", "rx", "ry", "rz"]
    root_axis: str
    root_orientation_rad: np.ndarray
    length_unit: float  #: ``:units length`` (0.45 in CMU files)
    degrees: bool


def parse_asf(path: str | Path) -> AsfSkeleton:
    """Read an ``.asf`` skeleton. Raises :class:`DataError` naming the line of anything it cannot read."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read the ASF file ({e})") from e
    section = ""
    length_unit, degrees = 1.0, True
    root_order, root_axis, root_orient = ["tx", "ty", "tz", "rx", "ry", "rz"], "xyz", np.zeros(3)
    bones: dict[str, AsfBone] = {}
    children: dict[str, list[str]] = {}
    cur: dict[str, object] | None = None
    for n, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tok = line.split()
        try:
            if tok[0].startswith(":"):
                section = tok[0][1:].lower()
                continue
            key = tok[0].lower()
            if section == "units":
                if key == "length":
                    length_unit = float(tok[1])
                elif key == "angle":
                    degrees = tok[1].lower().startswith("deg")
            elif section == "root":
                if key == "order":
                    root_order = [t.lower() for t in tok[1:]]
                elif key == "axis":
                    root_axis = tok[1].lower()
                elif key == "orientation":
                    root_orient = np.array([float(v) for v in tok[1:4]])
            elif section == "bonedata":
                if key == "begin":
                    cur = {"dof": []}
                elif key == "end" and cur is not None:
                    name = str(cur["name"])
                    bones[name] = AsfBone(
                        name,
                        np.asarray(cur["direction"], dtype=np.float64),
                        float(cur["length"]),  # type: ignore[arg-type]
                        np.asarray(cur.get("axis", np.zeros(3)), dtype=np.float64),
                        str(cur.get("order", "xyz")),
                        list(cur["dof"]),  # type: ignore[call-overload]
                    )
                    cur = None
                elif cur is not None:
                    if key == "name":
                        cur["name"] = tok[1]
                    elif key == "direction":
                        cur["direction"] = [float(v) for v in tok[1:4]]
                    elif key == "length":
                        cur["length"] = float(tok[1])
                    elif key == "axis":
                        cur["axis"] = [float(v) for v in tok[1:4]]
                        cur["order"] = tok[4].lower() if len(tok) > 4 else "xyz"
                    elif key == "dof":
                        cur["dof"] = [t.lower() for t in tok[1:]]
            elif section == "hierarchy" and key not in ("begin", "end"):
                children.setdefault(tok[0], []).extend(tok[1:])
        except (ValueError, IndexError, KeyError) as e:
            raise DataError(
                f"{path}, line {n}: cannot read {raw.strip()!r} ({e}); is this an ASF skeleton?"
            ) from e
    if not bones or "root" not in children:
        raise DataError(f"{path}: no :bonedata bones or no root in :hierarchy; is this an ASF skeleton file?")
    unknown = sorted({c for cs in children.values() for c in cs} - set(bones))
    if unknown:
        raise DataError(f"{path}: :hierarchy names bones that :bonedata lacks: {', '.join(unknown)}")
    to_rad = np.deg2rad if degrees else (lambda a: np.asarray(a, dtype=np.float64))
    for b in bones.values():
        b.axis_rad = to_rad(b.axis_rad)
    return AsfSkeleton(bones, children, root_order, root_axis, to_rad(root_orient), length_unit, degrees)


def parse_amc(path: str | Path, skel: AsfSkeleton) -> dict[str, np.ndarray]:
    """Read an ``.amc`` motion: bone (or ``root``) -> (T, its dof count) values, file units and angle unit."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read the AMC file ({e})") from e
    frames: list[dict[str, list[float]]] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith(("#", ":")):
            continue
        tok = line.split()
        if len(tok) == 1 and tok[0].isdigit():
            frames.append({})
            continue
        if not frames:
            raise DataError(
                f"{path}, line {n}: bone values before the first frame number; is this an AMC file?"
            )
        try:
            frames[-1][tok[0]] = [float(v) for v in tok[1:]]
        except ValueError as e:
            raise DataError(f"{path}, line {n}: {raw.strip()!r} holds something that is not a number") from e
    if not frames:
        raise DataError(f"{path}: no frames; an AMC file lists a frame number, then one line per bone")
    out: dict[str, np.ndarray] = {}
    for name in ["root", *skel.bones]:
        width = len(skel.root_order) if name == "root" else len(skel.bones[name].dof)
        if width == 0:
            continue
        rows = [f.get(name) for f in frames]
        if any(r is None for r in rows):
            missing = next(i for i, r in enumerate(rows) if r is None)
            raise DataError(f"{path}: frame {missing + 1} has no line for {name!r}; the file is cut or mixed")
        arr = np.array(rows, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != width:
            raise DataError(
                f"{path}: {name!r} needs {width} values per frame (its dof in the ASF), got other counts"
            )
        if not np.isfinite(arr).all():
            raise DataError(f"{path}: {name!r} has NaN or infinite values")
        out[name] = arr
    return out


def _dof_rotation(names: list[str], values_rad: np.ndarray, t: int) -> np.ndarray:
    """R = Rz @ Ry @ Rx of the rotational dofs present (absent ones are 0), (T, 3, 3)."""
    ang = np.zeros((t, 3))
    for k, d in enumerate(names):
        if d in ("rx", "ry", "rz"):
            ang[:, "xyz".index(d[1])] = values_rad[:, k]
    return euler("zyx", ang[:, ::-1])


def _axis_rotation(order: str, angles_rad: np.ndarray) -> np.ndarray:
    """The rest frame C of ``axis a0 a1 a2 ORDER``: rotations applied in ORDER about fixed axes, (3, 3)."""
    return euler(order[::-1], np.asarray(angles_rad, dtype=np.float64)[None, ::-1])[0]


def global_positions(skel: AsfSkeleton, motion: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Forward kinematics: the root's position and every bone's end, (T, 3) in file units."""
    root = motion["root"]
    t = root.shape[0]
    to_rad = np.deg2rad if skel.degrees else (lambda a: a)
    trans = np.zeros((t, 3))
    for k, d in enumerate(skel.root_order):
        if d in ("tx", "ty", "tz"):
            trans[:, "xyz".index(d[1])] = root[:, k]
    c_root = _axis_rotation(skel.root_axis, skel.root_orientation_rad)
    m_root = c_root @ _dof_rotation(skel.root_order, to_rad(root), t) @ c_root.T
    pos = {"root": trans}
    rot = {"root": m_root}
    todo = [("root", c) for c in skel.children.get("root", [])]
    while todo:
        parent, name = todo.pop()
        bone = skel.bones[name]
        c = _axis_rotation(bone.axis_order, bone.axis_rad)
        local = (
            _dof_rotation(bone.dof, to_rad(motion[name]), t)
            if name in motion
            else np.broadcast_to(np.eye(3), (t, 3, 3))
        )
        rot[name] = rot[parent] @ c @ local @ c.T
        pos[name] = pos[parent] + bone.length * np.einsum("tij,j->ti", rot[name], bone.direction)
        todo += [(name, k) for k in skel.children.get(name, [])]
    return pos


def read_asf_amc(
    asf_path: str | Path,
    amc_path: str | Path,
    rate_hz: float = CMU_RATE_HZ,
    joint_map: Mapping[str, str] | None = None,
    scale_m: float | None = None,
) -> MocapClip:
    """An ASF skeleton and AMC motion as a clip on the Human3.6M skeleton at ``rate_hz`` (AMC has no frame time;
    CMU captures are 120 Hz).

    Args:
        joint_map: H36M joint -> bone whose end it is (default :data:`CMU_JOINT_MAP`).
        scale_m: metres per file unit (default ``0.0254 / length`` from the ASF's ``:units``).
    """
    if not rate_hz > 0:
        raise DataError(f"rate_hz must be positive, got {rate_hz}")
    skel = parse_asf(asf_path)
    motion = parse_amc(amc_path, skel)
    points = global_positions(skel, motion)
    pose = to_h36m(points, dict(joint_map or CMU_JOINT_MAP), f"{asf_path}")
    scale = _INCH_M / skel.length_unit if scale_m is None else float(scale_m)
    if not scale > 0:
        raise DataError(f"scale_m must be positive metres per file unit, got {scale_m}")
    return MocapClip(Path(amc_path).stem, to_world(pose * scale, "y"), float(rate_hz), f"{amc_path}")
