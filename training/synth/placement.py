"""Where a device is worn: body segments of the 17-joint pose, wearing orientations, sensor variants, source rates.

A :class:`Placement` names a body segment (forearm, upper arm, thigh, shank, pelvis, chest), a point on it (the
device's position, what :func:`~.imu.virtual_imu` differentiates twice), and the ways people wear a device there
(``worn`` mountings: phone upright or upside down in the pocket, screen in or out, belt clip, armband, chest strap,
ankle band), each a rotation whose columns are the device axes in the segment frame.

**Segment frames** (columns x, y, z in world coordinates), from the joints alone:

- forearm (wrists): :func:`~.imu.forearm_frames`, the watch frame of ``AXIS_CONVENTION``;
- every other segment: x along the segment, away from the trunk's top (pelvis -> knee for the thigh, knee ->
  ankle for the shank, shoulder -> elbow for the upper arm, spine -> pelvis and thorax -> spine for waist and
  chest), z out of the segment's front, y = z x x. Standing upright with the arms hanging, every such frame is
  x down, y to the subject's left, z forward. The front comes from the left-right line (pelvis for the legs and
  waist, shoulders for the chest): y is the part of right -> left perpendicular to x. The upper arm takes its
  front from the elbow plane (the forearm's direction, perpendicular to the humerus), which follows humeral
  rotation; a nearly straight arm blends into the trunk's forward direction turned with the arm, as
  :func:`~.imu.forearm_frames` does for the forearm, so abduction to the horizontal is never singular.

**Device frames**: a phone has x to the right of the screen, y up along the screen, z out of the screen (the
Android and iOS convention); a watch has the ``AXIS_CONVENTION`` frame. A worn mounting fixes how these sit on the
segment; ``orientation="random"`` draws a rotation uniformly over the sphere instead.

**Variants**: ``gravity`` (specific force, what an accelerometer measures: a still device reads 1 g) and
``linear`` (gravity removed by the device's sensor fusion, as Android's ``TYPE_LINEAR_ACCELERATION`` and iOS's
``userAcceleration`` report: a still device reads 0 g).

**Source rates**: a device samples at its own rate behind its own anti-aliasing filter; :func:`device_sampling`
simulates that and brings the samples onto the 50 Hz grid with :func:`mujo_edge.grid.resample_segment`, the
resampler the importers use (low-pass then decimate for faster devices, linear interpolation for slower ones,
as the streaming runtime does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt
from scipy.spatial.transform import Rotation

from mujo_edge.constants import H36M_JOINTS
from mujo_edge.errors import DataError
from mujo_edge.grid import ANTI_ALIAS_FRACTION, resample_segment

J = {name: i for i, name in enumerate(H36M_JOINTS)}
_AXIS = {"x": 0, "y": 1, "z": 2}
#: Elbow angles between which the upper arm's front blends from the straight-arm rule to the elbow plane (rad).
_STRAIGHT_ARM_RAD = (np.deg2rad(5.0), np.deg2rad(15.0))

#: Sensor variants: specific force (gravity included) or linear acceleration (gravity removed).
VARIANTS: tuple[str, ...] = ("gravity", "linear")
#: How the device sits on the segment: one of the placement's plausible wearing orientations, or any rotation.
ORIENTATIONS: tuple[str, ...] = ("worn", "random")
#: Source rates of the corpus by default (Hz): a spread over what watches and phones stream, 10 to 100 Hz.
DEFAULT_SOURCE_RATES_HZ: tuple[float, ...] = (10.0, 12.5, 20.0, 25.0, 26.0, 32.0, 50.0, 52.0, 64.0, 100.0)
#: Order of the device's own anti-aliasing low-pass (Butterworth, at ``ANTI_ALIAS_FRACTION`` of its rate).
DEVICE_FILTER_ORDER = 4
#: Slowest and fastest source rate the generator accepts (Hz).
SOURCE_RATE_RANGE_HZ = (5.0, 400.0)


def mount(y_axis: str, z_axis: str) -> np.ndarray:
    """A mounting from where the device's y and z axes point in the segment frame (``"-x"``, ``"+z"``, ...):
    (3, 3), columns the device axes in segment coordinates, x = y cross z."""
    cols = []
    for a in (y_axis, z_axis):
        v = np.zeros(3)
        v[_AXIS[a[-1]]] = -1.0 if a.startswith("-") else 1.0
        cols.append(v)
    y, z = cols
    if abs(float(y @ z)) > 0:
        raise DataError(f"mount: y {y_axis!r} and z {z_axis!r} must be perpendicular axes")
    return np.stack([np.cross(y, z), y, z], axis=-1)


@dataclass(frozen=True)
class Placement:
    """Where and how a device is worn.

    Attributes:
        name: id (``right_pocket``).
        segment: ``forearm``, ``upper_arm``, ``thigh``, ``shank``, ``waist`` or ``chest``.
        side: ``"l"``, ``"r"`` or ``None`` (the trunk).
        device: ``watch``, ``phone`` or ``sensor`` (what people wear there).
        along: position of the device between the segment's proximal (0) and distal (1) joint.
        phrases: how a person says it ("phone in the right front pocket"); the first is canonical.
        worn: plausible wearing orientations: (name, (3, 3) mounting, weight).
    """

    name: str
    segment: str
    side: str | None
    device: str
    along: float
    phrases: tuple[str, ...]
    worn: tuple[tuple[str, np.ndarray, float], ...]


def _wrist(side: str) -> Placement:
    word = "left" if side == "l" else "right"
    return Placement(
        f"{word}_wrist",
        "forearm",
        side,
        "watch",
        1.0,
        (f"watch on the {word} wrist", f"smartwatch on the {word} wrist", f"{word} wrist watch"),
        # watch frames are the AXIS_CONVENTION frame of the (mirrored) right wrist: x to the hand, z out of the face
        (
            ("face_out", np.eye(3), 0.7),
            ("turned", mount("-y", "+z"), 0.15),  # strap reversed: crown towards the elbow
            ("face_in", mount("-y", "-z"), 0.15),  # face on the palm side
        ),
    )


def _pocket(side: str) -> Placement:
    word = "left" if side == "l" else "right"
    return Placement(
        f"{word}_pocket",
        "thigh",
        side,
        "phone",
        0.3,
        (
            f"phone in the {word} front pocket",
            f"smartphone in the {word} trouser pocket",
            f"phone in {word} pants pocket",
        ),
        (
            ("upright_screen_out", mount("-x", "+z"), 0.25),
            ("upright_screen_in", mount("-x", "-z"), 0.25),
            ("upside_down_screen_out", mount("+x", "+z"), 0.25),
            ("upside_down_screen_in", mount("+x", "-z"), 0.25),
        ),
    )


def _upper_arm(side: str) -> Placement:
    word = "left" if side == "l" else "right"
    out = "+y" if side == "l" else "-y"  # lateral: the subject's left on the left arm
    return Placement(
        f"{word}_upper_arm",
        "upper_arm",
        side,
        "phone",
        0.45,
        (
            f"phone in an armband on the {word} upper arm",
            f"armband on the {word} arm",
            f"{word} upper arm band",
        ),
        (
            ("armband_upright", mount("-x", out), 0.5),
            ("armband_upside_down", mount("+x", out), 0.3),
            ("armband_front", mount("-x", "+z"), 0.2),
        ),
    )


def _ankle(side: str) -> Placement:
    word = "left" if side == "l" else "right"
    out = "+y" if side == "l" else "-y"
    return Placement(
        f"{word}_ankle",
        "shank",
        side,
        "sensor",
        0.85,
        (f"sensor on the {word} ankle", f"ankle band on the {word} leg", f"{word} ankle strap"),
        (
            ("band_outside", mount("-x", out), 0.5),
            ("band_front", mount("-x", "+z"), 0.3),
            ("band_outside_down", mount("+x", out), 0.2),
        ),
    )


#: Every placement, in the order of ``placement.npy`` ids.
PLACEMENTS: dict[str, Placement] = {
    p.name: p
    for p in [
        _wrist("l"),
        _wrist("r"),
        Placement(
            "waist",
            "waist",
            None,
            "phone",
            0.0,
            ("phone on the belt", "phone clipped to the waist", "smartphone in a belt holster"),
            (
                ("belt_upright_screen_out", mount("-x", "+z"), 0.3),
                ("belt_upright_screen_in", mount("-x", "-z"), 0.2),
                ("belt_side", mount("-x", "-y"), 0.2),  # holster on the right hip, screen outwards
                ("belt_landscape", mount("+y", "+z"), 0.15),
                ("belt_upside_down", mount("+x", "+z"), 0.15),
            ),
        ),
        _pocket("l"),
        _pocket("r"),
        _upper_arm("l"),
        _upper_arm("r"),
        Placement(
            "chest",
            "chest",
            None,
            "sensor",
            0.65,
            ("sensor on a chest strap", "chest strap on the sternum", "phone in a chest harness"),
            (
                ("strap_upright", mount("-x", "+z"), 0.5),
                ("strap_landscape", mount("+y", "+z"), 0.3),
                ("strap_upside_down", mount("+x", "+z"), 0.2),
            ),
        ),
        _ankle("l"),
        _ankle("r"),
    ]
}
PLACEMENT_NAMES: tuple[str, ...] = tuple(PLACEMENTS)
WRIST_PLACEMENTS: tuple[str, ...] = ("left_wrist", "right_wrist")


def resolve_placements(names: Sequence[str] | str | None) -> list[str]:
    """Placement ids from a list or a comma-separated string (``all`` or ``None``: every placement), in the
    order of :data:`PLACEMENT_NAMES`."""
    if names is None:
        return list(PLACEMENT_NAMES)
    items = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    if not items or items == ["all"]:
        return list(PLACEMENT_NAMES)
    bad = [n for n in items if n not in PLACEMENTS]
    if bad:
        raise DataError(f"unknown placement(s) {', '.join(bad)}; known: all, {', '.join(PLACEMENT_NAMES)}")
    return [p for p in PLACEMENT_NAMES if p in items]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _perp(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    return v - (v * x).sum(-1, keepdims=True) * x


def _ends(placement: Placement) -> tuple[str, str]:
    s = placement.side
    return {
        "forearm": (f"{s}_elbow", f"{s}_wrist"),
        "upper_arm": (f"{s}_shoulder", f"{s}_elbow"),
        "thigh": (f"{s}_hip", f"{s}_knee"),
        "shank": (f"{s}_knee", f"{s}_ankle"),
        "waist": ("spine", "hip"),
        "chest": ("thorax", "spine"),
    }[placement.segment]


def placement_joints(placement: Placement) -> list[int]:
    """Indices of the joints a placement's frame and position are built from."""
    names = {*_ends(placement), "hip", "r_hip", "l_hip", "thorax", "r_shoulder", "l_shoulder"}
    if placement.segment == "upper_arm":
        names.add(f"{placement.side}_wrist")
    return sorted(J[n] for n in names)


def segment_position(pose_m: np.ndarray, placement: Placement) -> np.ndarray:
    """Where the device sits: (T, 17, 3) m -> (T, 3) m, ``along`` the way from the proximal to the distal joint
    (the waist device sits on the pelvis joint, the chest device between thorax and spine)."""
    a, b = _ends(placement)
    if placement.segment == "waist":
        return pose_m[:, J["hip"]]
    if placement.segment == "chest":
        return (1 - placement.along) * pose_m[:, J["spine"]] + placement.along * pose_m[:, J["thorax"]]
    return (1 - placement.along) * pose_m[:, J[a]] + placement.along * pose_m[:, J[b]]


def segment_frames(pose_m: np.ndarray, placement: Placement) -> np.ndarray:
    """Frames of a non-forearm segment (see the module docstring): (T, 17, 3) m -> (T, 3, 3), columns x (along
    the segment), y, z (its front) in world coordinates."""
    if placement.segment == "forearm":
        raise DataError("segment_frames: forearm frames come from imu.forearm_frames (the watch frame)")
    a, b = _ends(placement)
    x = _unit(pose_m[:, J[b]] - pose_m[:, J[a]])
    if placement.segment == "upper_arm":
        s = placement.side
        right = _unit(pose_m[:, J["r_shoulder"]] - pose_m[:, J["l_shoulder"]])
        forward = _unit(np.cross(-right, pose_m[:, J["thorax"]] - pose_m[:, J["hip"]]))
        plane = _perp(_unit(pose_m[:, J[f"{s}_wrist"]] - pose_m[:, J[f"{s}_elbow"]]), x)
        sin_elbow = np.linalg.norm(plane, axis=-1, keepdims=True)
        straight = _perp(
            np.cross(right, x) + 0.3 * forward, x
        )  # the straight arm's front (imu.forearm_frames)
        lo, hi = np.sin(_STRAIGHT_ARM_RAD[0]), np.sin(_STRAIGHT_ARM_RAD[1])
        w = np.clip((sin_elbow - lo) / (hi - lo), 0.0, 1.0)
        w = w * w * (3 - 2 * w)
        z = _unit(w * plane / np.maximum(sin_elbow, 1e-12) + (1 - w) * _unit(straight))
        y = np.cross(z, x)
    else:
        line = ("l_shoulder", "r_shoulder") if placement.segment == "chest" else ("l_hip", "r_hip")
        y = _unit(_perp(pose_m[:, J[line[0]]] - pose_m[:, J[line[1]]], x))
        z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def random_mounting(rng: np.random.Generator) -> np.ndarray:
    """A device orientation drawn uniformly over all rotations: (3, 3)."""
    return Rotation.random(random_state=rng).as_matrix()


def worn_mounting(placement: Placement, rng: np.random.Generator, jitter_rad: float = 0.15) -> np.ndarray:
    """One of the placement's wearing orientations (by its weight), turned by a small random rotation (each
    axis ``jitter_rad`` sd: a pocket, strap or clip never holds the device exactly square): (3, 3)."""
    w = np.array([m[2] for m in placement.worn])
    base = placement.worn[int(rng.choice(len(w), p=w / w.sum()))][1]
    return base @ Rotation.from_rotvec(rng.normal(0.0, jitter_rad, 3)).as_matrix()


def device_sampling(
    x: np.ndarray,
    rate_hz: float,
    source_rate_hz: float,
    corrupt: object | None = None,
) -> np.ndarray:
    """What a device sampling at ``source_rate_hz`` delivers on the ``rate_hz`` grid.

    The true signal (T, C) at ``rate_hz`` passes the device's anti-aliasing low-pass (a Butterworth of order
    :data:`DEVICE_FILTER_ORDER` at ``ANTI_ALIAS_FRACTION`` of the device rate, zero phase: only for a device slower
    than the grid, a faster one's filter lies above what the grid holds), is sampled at the device's own times
    ``k / source_rate_hz``, corrupted there by ``corrupt`` (a callable (n, C) -> (n, C): the sensor model, noise and
    quantization per device sample), then resampled onto ``k / rate_hz`` by :func:`mujo_edge.grid.resample_segment`
    exactly as imported recordings are. Returns (T, C) float64.
    """
    lo, hi = SOURCE_RATE_RANGE_HZ
    if not lo <= source_rate_hz <= hi:
        raise DataError(f"source rate must be within {lo:g}-{hi:g} Hz, got {source_rate_hz:g} Hz")
    n = x.shape[0]
    t = np.arange(n) / rate_hz
    xs = np.asarray(x, dtype=np.float64)
    if source_rate_hz < rate_hz * 0.99 and n > 3 * (2 * DEVICE_FILTER_ORDER + 1):
        sos = butter(DEVICE_FILTER_ORDER, ANTI_ALIAS_FRACTION * source_rate_hz, fs=rate_hz, output="sos")
        xs = sosfiltfilt(sos, xs, axis=0)
    # the device's samples cover the whole recording (the last one at or after its end)
    n_dev = int(np.ceil(t[-1] * source_rate_hz - 1e-9)) + 1
    t_dev = np.arange(n_dev) / source_rate_hz
    x_dev = np.column_stack([np.interp(t_dev, t, xs[:, c]) for c in range(xs.shape[1])])
    if corrupt is not None:
        x_dev = corrupt(x_dev)  # type: ignore[operator]
    _, grid = resample_segment(t_dev, x_dev, rate_hz)
    if grid.shape[0] < n:  # at most one grid step short when the device's last sample lands on the end
        grid = np.concatenate([grid, np.repeat(grid[-1:], n - grid.shape[0], axis=0)])
    return grid[:n].astype(np.float64)
