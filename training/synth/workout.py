"""Workouts: scripts of sets and rests rendered into continuous pose + virtual watch recordings.

A *script* is a list of steps, each one of

- ``{"activity": "ABD", "seconds": 30}`` or ``{"activity": "squats", "reps": 12}``: a set;
- ``{"rest": 10}`` (a random non-activity kind) or ``{"rest": 10, "kind": "walking"}``;
- a pair ``("ABD", 30)`` / ``("rest", 10)``.

A script file is JSON (that list) or plain text with one step per line, ``ABD 30`` / ``squats 12 reps`` /
``rest 10`` / ``rest 10 walking``; ``#`` starts a comment. Activity names are the corpus labels (MM-Fit names,
seglearn short names ``PEN ABD FEL IR ER TRAP ROW``) or their long names ("pendulum").

Between consecutive steps the body moves smoothly from one posture to the next (0.8-3 s, labelled
``non_activity``, activity "transition").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mujo_edge._checks import count, names, number, real_array
from mujo_edge.constants import H36M_JOINTS, RATE_HZ
from mujo_edge.errors import DataError

from .imu import SensorModel, mounting_about_z, virtual_imu
from .motion import (
    ACTIVITIES,
    ANGLE_COLS,
    CHANNELS,
    EXERCISES,
    NON_ACTIVITY,
    REST_KINDS,
    Activity,
    Style,
    channel_dict,
    resolve_activity,
    resolve_rest_kind,
    segment_channels,
    smooth_channels,
    transition_channels,
)
from .placement import PLACEMENTS
from .skeleton import forward_kinematics

#: Per-sample activity names: every generator activity, then "transition".
KINDS: tuple[str, ...] = (*ACTIVITIES, "transition")
_KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
_EFFORT = np.array([ACTIVITIES[k].effort if k in ACTIVITIES else 1.5 for k in KINDS])
_CH = {c: i for i, c in enumerate(CHANNELS)}


@dataclass(frozen=True)
class Step:
    """One script step: ``activity`` for ``seconds``; ``rest_kind`` for a rest (``activity`` is "rest")."""

    activity: str
    seconds: float
    rest_kind: str | None = None
    side: str | None = None  #: "r" / "l": the exercising arm of a unilateral set (default: the watch's)


@dataclass
class WorkoutRecording:
    """A rendered workout on one wrist.

    Attributes:
        t_s: (n,) float64 sample times, s, from 0 at ``rate_hz``.
        acc_g: (n, 3) float32 virtual accelerometer, g, watch frame.
        gyr_rad_s: (n, 3) float32 virtual gyroscope, rad/s.
        pose_m: (n, 17, 3) float32 joints, m, z up.
        label: (n,) int64 index into ``labels`` per sample.
        labels: label names (exercises, then ``non_activity``).
        kind: (n,) int64 index into :data:`KINDS` (which exercise or which kind of rest) per sample.
        wrist: "left" or "right" (the watch's wrist, or the side a placement favours for one-arm moves).
        rate_hz: sampling rate.
        placement: where the device is worn (a :data:`~.placement.PLACEMENTS` id).
        variant: "gravity" (specific force) or "linear" (gravity removed).
        source_rate_hz: the device's own rate before the ``rate_hz`` grid.
        mounting: (3, 3) device axes in the segment frame.
    """

    t_s: np.ndarray
    acc_g: np.ndarray
    gyr_rad_s: np.ndarray
    pose_m: np.ndarray
    label: np.ndarray
    labels: list[str]
    kind: np.ndarray
    wrist: str
    rate_hz: float
    placement: str = ""
    variant: str = "gravity"
    source_rate_hz: float = RATE_HZ
    mounting: np.ndarray | None = None


def _step_from(item: Any, where: str) -> Step:
    if isinstance(item, (list, tuple)) and len(item) == 2:
        name, secs = item
        item = {"rest": secs} if str(name).lower() == "rest" else {"activity": name, "seconds": secs}
    if not isinstance(item, dict):
        raise DataError(f"{where}: a script step must be {{'activity': NAME, 'seconds': S}}, got {item!r}")
    if "rest" in item:
        kind = item.get("kind")
        if kind is not None:
            try:
                kind = resolve_rest_kind(str(kind))
            except DataError as e:
                raise DataError(f"{where}: {e}") from None
        return Step("rest", _positive(item["rest"], where), kind)
    if "activity" not in item:
        raise DataError(f"{where}: step {item!r} has neither 'activity' nor 'rest'")
    act = resolve_activity(str(item["activity"]))
    if act.group == "rest":
        return Step("rest", _positive(item.get("seconds", 10), where), act.name)
    if "reps" in item:
        return Step(act.name, _positive(item["reps"], where) * act.rep_s)
    if "seconds" not in item:
        raise DataError(f"{where}: step {item!r} needs 'seconds' or 'reps'")
    return Step(act.name, _positive(item["seconds"], where))


def _positive(v: Any, where: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        f = float("nan")
    if not np.isfinite(f) or f <= 0:
        raise DataError(f"{where}: durations and reps must be positive numbers, got {v!r}")
    return f


def parse_script(script: Sequence[Any] | str | Path) -> list[Step]:
    """Steps from a list (see the module docstring), a JSON/text file path, or the text of a script."""
    if isinstance(script, Path) or (
        isinstance(script, str) and "\n" not in script and Path(script).is_file()
    ):
        path = Path(script)
        try:
            text = path.read_text()
        except OSError as e:
            raise DataError(f"cannot read workout script {path}: {e}") from e
        return parse_script_text(text, str(path))
    if isinstance(script, str):
        return parse_script_text(script, "script")
    if not isinstance(script, Sequence):
        raise DataError(
            f"the workout script must be a list of steps, script text or a script file path, got "
            f"{type(script).__name__} {script!r:.60}: pass e.g. [{{'activity': 'ABD', 'seconds': 30}}]"
        )
    steps = [_step_from(item, f"script step {i + 1}") for i, item in enumerate(script)]
    if not steps:
        raise DataError(
            "the workout script is empty; give at least one step like {'activity': 'ABD', 'seconds': 30}"
        )
    return steps


def parse_script_text(text: str, where: str = "script") -> list[Step]:
    """Steps from JSON text or from the line format (``ABD 30``, ``squats 12 reps``, ``rest 10 walking``)."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            return parse_script(json.loads(stripped))
        except json.JSONDecodeError as e:
            raise DataError(f"{where}: not valid JSON ({e})") from e
    items: list[Any] = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if len(parts) < 2:
            raise DataError(
                f"{where}, line {n}: expected 'ACTIVITY SECONDS' or 'rest SECONDS [KIND]', got {line!r}"
            )
        if parts[0].lower() == "rest":
            items.append({"rest": parts[1], **({"kind": parts[2]} if len(parts) > 2 else {})})
        elif len(parts) > 2 and parts[2].lower().startswith("rep"):
            items.append({"activity": parts[0], "reps": parts[1]})
        else:
            items.append({"activity": parts[0], "seconds": parts[1]})
    if not items:
        raise DataError(f"{where}: no steps found; write one step per line, e.g. 'ABD 30'")
    return [_step_from(item, f"{where}, step {i + 1}") for i, item in enumerate(items)]


def render_channels(
    steps: Sequence[Step],
    style: Style,
    rng: np.random.Generator,
    rate_hz: float,
    active: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint-angle channels of a whole workout with transitions: ((n, C) channels, (n,) kind index)."""
    chunks: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    prev: np.ndarray | None = None
    for step in steps:
        name = step.rest_kind or (str(rng.choice(REST_KINDS)) if step.activity == "rest" else step.activity)
        act: Activity = ACTIVITIES[name]
        n = max(round(step.seconds * rate_hz), 1)
        seg = segment_channels(act, n, rate_hz, style, rng, step.side or active)
        if prev is not None:
            # keep walking (and climbing) progress: the next segment starts where the last one ended
            for c in ("x", "y", "z"):
                seg[:, _CH[c]] += prev[_CH[c]] - seg[0, _CH[c]]
            change = float(np.abs(seg[0, ANGLE_COLS] - prev[ANGLE_COLS]).max())
            n_tr = round(float(np.clip(0.6 + 0.9 * change, 0.8, 3.0)) * rate_hz * rng.uniform(0.85, 1.2))
            chunks.append(transition_channels(prev, seg[0], n_tr))
            kinds.append(np.full(n_tr, _KIND_INDEX["transition"]))
        chunks.append(seg)
        kinds.append(np.full(n, _KIND_INDEX[name]))
        prev = seg[-1]
    return smooth_channels(np.concatenate(chunks), rate_hz), np.concatenate(kinds)


def render(
    channels: np.ndarray,
    kind: np.ndarray,
    style: Style,
    wrist: Literal["left", "right"],
    rate_hz: float,
    rng: np.random.Generator,
    sensor: SensorModel | None,
    labels: Sequence[str],
    frame: Literal["device", "convention"] = "device",
    *,
    placement: str | None = None,
    mounting: np.ndarray | None = None,
    variant: Literal["gravity", "linear"] = "gravity",
    source_rate_hz: float | None = None,
) -> WorkoutRecording:
    """Pose and virtual device of rendered channels.

    ``frame="device"``: the watch's own axes (a left-wrist watch reads x = +1 g with the arm hanging, like the
    real one). ``frame="convention"``: a left-wrist recording is mirrored into the right-wrist frame of
    ``AXIS_CONVENTION`` (as :mod:`mujo_edge.axes` does to real left-wrist data): the pose is reflected across the
    sagittal plane and the watch is read on the reflected right wrist, so pose and watch stay consistent.

    ``placement`` (default: the watch on ``wrist``) puts the device elsewhere (:mod:`.placement`); devices off the
    wrists are read in their own frame, never mirrored. ``mounting`` turns the device on its segment (on a wrist:
    relative to the thumb mounting), ``variant`` and ``source_rate_hz`` are passed to :func:`virtual_imu`.
    """
    ch = channel_dict(channels)
    pose = forward_kinematics(ch, style.body, rate_hz)
    effort = _EFFORT[kind]
    if placement is None or PLACEMENTS[placement].segment == "forearm":
        if placement is not None:
            wrist = "left" if PLACEMENTS[placement].side == "l" else "right"
        placement = f"{wrist}_wrist"
        kw: dict[str, Any] = {"variant": variant, "source_rate_hz": source_rate_hz}
        if wrist == "left" and frame == "convention":
            pose = mirror_pose(pose)
            roll = -ch["l.pron"]  # a left pronation is the same pronation of the mirrored right arm
            if mounting is not None:
                kw["mounting"] = mounting
            imu = virtual_imu(
                pose, rate_hz, "right", sensor=sensor, forearm_roll_rad=roll, rng=rng, effort=effort, **kw
            )
        else:
            roll = -ch["r.pron"] if wrist == "right" else ch["l.pron"]
            if mounting is not None:
                kw["mounting"] = (mounting_about_z(180.0) @ mounting) if wrist == "left" else mounting
            imu = virtual_imu(
                pose, rate_hz, wrist, sensor=sensor, forearm_roll_rad=roll, rng=rng, effort=effort, **kw
            )
    else:
        imu = virtual_imu(
            pose,
            rate_hz,
            sensor=sensor,
            rng=rng,
            effort=effort,
            placement=placement,
            mounting=PLACEMENTS[placement].worn[0][1] if mounting is None else mounting,
            variant=variant,
            source_rate_hz=source_rate_hz,
        )
    lab_index = {name: i for i, name in enumerate(labels)}
    kind_to_label = np.array(
        [
            lab_index.get(NON_ACTIVITY if (k == "transition" or ACTIVITIES[k].group == "rest") else k, -1)
            for k in KINDS
        ]
    )
    label = kind_to_label[kind]
    n = len(kind)
    return WorkoutRecording(
        t_s=np.arange(n) / rate_hz,
        acc_g=imu.acc_g,
        gyr_rad_s=imu.gyr_rad_s,
        pose_m=pose.astype(np.float32),
        label=label.astype(np.int64),
        labels=list(labels),
        kind=kind.astype(np.int64),
        wrist=wrist,
        rate_hz=float(rate_hz),
        placement=placement,
        variant=variant,
        source_rate_hz=float(rate_hz if source_rate_hz is None else source_rate_hz),
        mounting=mounting,
    )


def mirror_pose(pose_m: np.ndarray) -> np.ndarray:
    """Reflect a z-up pose across the sagittal plane (y -> -y) and swap left and right joints, (T, 17, 3)."""
    out = pose_m[:, _MIRROR_JOINTS].copy()
    out[..., 1] *= -1
    return out


_MIRROR_JOINTS = [
    H36M_JOINTS.index(("r_" if n.startswith("l_") else "l_") + n[2:]) if n[:2] in ("l_", "r_") else i
    for i, n in enumerate(H36M_JOINTS)
]


def simulate_workout(
    script: Sequence[Any] | str | Path,
    seed: int = 0,
    wrist: Literal["left", "right"] = "left",
    rate_hz: float = RATE_HZ,
    sensor: SensorModel | None = None,
    labels: Sequence[str] | None = None,
    style: Style | None = None,
    frame: Literal["device", "convention"] = "device",
    *,
    placement: str | None = None,
    mounting: np.ndarray | None = None,
    variant: Literal["gravity", "linear"] = "gravity",
    source_rate_hz: float | None = None,
) -> WorkoutRecording:
    """Render a scripted workout of one synthetic subject wearing a watch on ``wrist`` (or a device elsewhere).

    Args:
        script: steps (see the module docstring), a script file, or script text.
        seed: everything random (body, style, rep timing, sensor errors) follows from it.
        wrist: the watch's wrist; unilateral exercises are done with this arm (as in the seglearn recordings).
        rate_hz: output rate.
        sensor: sensor model (default :class:`SensorModel`, ``SensorModel.ideal()`` for none).
        labels: label list for ``label``; default every exercise then ``non_activity``. An exercise of the
            script that is not in ``labels`` raises.
        style: the subject; drawn from ``seed`` if not given.
        frame: "device" (default): the watch's own axes, what a real watch on that wrist streams (a virtual
            watch feeds these to the runtime, which mirrors left-wrist data itself); "convention": left-wrist
            data mirrored into the right-wrist frame (pose reflected too), as datasets store it.
        placement: where the device is worn (:data:`~.placement.PLACEMENTS`: "right_pocket", "waist",
            "left_upper_arm", "chest", "right_ankle", ...); default the watch on ``wrist``. Off the wrists,
            one-arm moves use ``wrist``'s arm and the device reads in its own frame.
        mounting: (3, 3) rotation, the device axes in the segment frame (default: the placement's first
            wearing orientation; the thumb mounting on a wrist, which a given matrix turns further).
        variant: "gravity" (specific force, default) or "linear" (gravity removed, as phones report).
        source_rate_hz: the device's own sampling rate; it is simulated (anti-aliasing, sampling, sensor errors
            at that rate) and resampled onto ``rate_hz`` as the importers do. Default ``rate_hz``.
    Returns:
        :class:`WorkoutRecording` with per-sample labels matching the script.
    """
    # arguments first, so a wrong one is named here and not by numpy deep inside the renderer
    seed = count(seed, "seed", 0, "pass a whole-number random seed", DataError)
    rate_hz = number(
        rate_hz, "rate_hz", hi=1e4, fix="pass the output sample rate in Hz, e.g. 50", error=DataError
    )
    if frame not in ("device", "convention"):
        raise DataError(f"frame must be 'device' or 'convention', got {frame!r}")
    if sensor is not None and not isinstance(sensor, SensorModel):
        raise DataError(
            f"sensor must be a SensorModel, got {type(sensor).__name__}: pass SensorModel(...) or None"
        )
    if style is not None and not isinstance(style, Style):
        raise DataError(f"style must be a Style, got {type(style).__name__}: pass Style.sample(rng) or None")
    if mounting is not None:
        m = real_array(mounting, np.dtype(np.float64), "mounting", error=DataError)
        if m.shape != (3, 3) or not np.allclose(m @ m.T, np.eye(3), atol=1e-6):
            raise DataError(f"mounting must be a (3, 3) rotation (orthonormal columns), got shape {m.shape}")
        mounting = m
    steps = parse_script(script)
    fix = "pass the label names, e.g. ['squats', 'non_activity'], or None"
    labels = names(labels, "labels", fix, DataError) if labels is not None else [*EXERCISES, NON_ACTIVITY]
    missing = sorted({s.activity for s in steps if s.activity != "rest" and s.activity not in labels})
    if missing or NON_ACTIVITY not in labels:
        raise DataError(
            f"labels {labels} lack {missing or [NON_ACTIVITY]}; add them or remove those steps from the script"
        )
    if wrist not in ("left", "right"):
        raise DataError(f"wrist must be 'left' or 'right', got {wrist!r}")
    rng = np.random.default_rng(seed)
    style = Style.sample(rng) if style is None else style
    active = "r" if wrist == "right" else "l"
    channels, kind = render_channels(steps, style, rng, rate_hz, active)
    if placement is not None and placement not in PLACEMENTS:
        raise DataError(f"placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}")
    return render(
        channels,
        kind,
        style,
        wrist,
        rate_hz,
        rng,
        sensor,
        labels,
        frame,
        placement=placement,
        mounting=mounting,
        variant=variant,
        source_rate_hz=source_rate_hz,
    )
