"""Scripted workouts for virtual watches: a script's steps, the default script for a bundle, and the wrist
motion that performs it (what ``mujo-edge stream --virtual`` streams).

A script is a list of steps, ``{"activity": NAME, "seconds": S}`` or ``{"rest": S}``. The motion comes from the
synthetic workout generator (``mujo_edge.training.synth``, numpy only) when the training extra is installed,
else from real seglearn watch recordings; both are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge import _checks
from mujo_edge._checks import is_number
from mujo_edge.constants import RATE_HZ
from mujo_edge.errors import DataError, MissingDependencyError
from mujo_edge.events import is_no_activity

#: Seconds per activity and per rest of the default virtual workout.
DEFAULT_ACTIVITY_S = 20.0
DEFAULT_REST_S = 6.0


def parse_script(spec: str) -> list[dict[str, Any]]:
    """A workout script: a file (JSON list ``[{"activity": "ABD", "seconds": 20}, {"rest": 5}, ...]``, or the
    synthetic generator's line format ``ABD 20`` / ``rest 5``) or inline ``"ABD:20,rest:5,FEL:20"``.

    With the training extra installed the generator's own parser reads it (reps, long names, rest kinds);
    without it, JSON lists and the inline form of activities in seconds are understood.
    """
    if not isinstance(spec, str | Path):
        raise DataError(
            f"a workout script is a file path or an inline 'ABD:20,rest:5', got {type(spec).__name__} {spec!r:.60}"
        )
    p = Path(spec)
    is_file = p.is_file()
    if isinstance(spec, Path) and not is_file:
        raise DataError(f"workout script {p} not found; give an existing file or an inline 'ABD:20,rest:5'")
    if not is_file and p.suffix == ".json":
        raise DataError(f"workout script {p} not found; give a JSON file or an inline 'ABD:20,rest:5'")
    if is_file and (
        p.suffix == ".json" or p.read_text(encoding="utf-8", errors="replace").lstrip().startswith(("[", "{"))
    ):
        try:  # (a JSON file is JSON whichever parser reads it: a broken one would read as odd activity names)
            json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError(
                f"workout script {p} is not valid JSON ({e}); fix it or give the line format"
            ) from e
    synth_parse: Callable[[str | Path], list[Any]] | None
    try:
        from mujo_edge.training.synth.workout import parse_script as synth_parse
    except ImportError:
        synth_parse = None
    if synth_parse is not None:
        text = spec if is_file else "\n".join(part.strip().replace(":", " ") for part in spec.split(","))
        return [_step_dict(s) for s in synth_parse(p if is_file else text)]
    if is_file:
        try:
            steps = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise DataError(
                f"workout script {p} is not JSON ({e}); the line format needs the training extra"
            ) from e
    else:
        steps = []
        for part in spec.split(","):
            name, _, sec = part.strip().partition(":")
            try:
                seconds = float(sec)
            except ValueError:
                raise DataError(
                    f"workout step {part!r} must be NAME:SECONDS (e.g. ABD:20 or rest:5)"
                ) from None
            steps.append(
                {"rest": seconds} if name.lower() == "rest" else {"activity": name, "seconds": seconds}
            )
    if not isinstance(steps, list) or not steps:
        raise DataError(f"workout script {spec!r} must be a non-empty list of steps")
    for s in steps:
        ok = isinstance(s, dict) and (
            ("rest" in s and float(s["rest"]) > 0) or ("activity" in s and float(s.get("seconds", 0)) > 0)
        )
        if not ok:
            raise DataError(f"workout step {s!r} must be {{'activity': NAME, 'seconds': S}} or {{'rest': S}}")
    return steps


def _step_dict(step: Any) -> dict[str, Any]:
    """The generator's Step as a script dict (what simulate_workout takes back)."""
    if step.activity == "rest":
        return {"rest": step.seconds, **({"kind": step.rest_kind} if step.rest_kind else {})}
    return {"activity": step.activity, "seconds": step.seconds, **({"side": step.side} if step.side else {})}


def default_script(labels: Sequence[str]) -> list[dict[str, Any]]:
    """Every activity of the bundle once, with rests between (a "no activity" label is rested, not performed)."""
    _checks.names(labels, "default_script's labels", "pass the bundle's labels (Bundle.labels)", DataError)
    steps: list[dict[str, Any]] = []
    for lab in labels:
        if is_no_activity(lab):
            continue
        steps += [{"activity": lab, "seconds": DEFAULT_ACTIVITY_S}, {"rest": DEFAULT_REST_S}]
    return steps


def script_seconds(steps: Sequence[dict[str, Any]]) -> float:
    """The script's length in seconds, rests included."""
    return float(sum(_step_seconds(s, i) for i, s in enumerate(_step_list(steps))))


def _step_list(steps: Any) -> list[dict[str, Any]]:
    """``steps`` when it is a list of step dicts; DataError saying what a script is otherwise."""
    return _checks.names(
        steps,
        "a workout script",
        "give steps like {'activity': 'ABD', 'seconds': 20} or {'rest': 5}; read a text script with parse_script",
        DataError,
        kind=dict,
    )


def _step_seconds(step: dict[str, Any], i: int, reps: bool = True) -> float:
    """The length of step ``i``: its positive, finite ``seconds`` (an activity) or ``rest`` (0 for a set given in
    ``reps``, which only the synthetic generator times, and only when ``reps``); DataError for anything else."""
    key = (
        "rest"
        if "rest" in step
        else "reps"
        if reps and "reps" in step and "seconds" not in step
        else "seconds"
    )
    value: Any = step.get(key)
    if ("rest" not in step and "activity" not in step) or not (is_number(value) and 0 < value < math.inf):
        raise DataError(
            f"workout step {i + 1} {step!r:.60} must be {{'activity': NAME, 'seconds': S}} or {{'rest': S}} "
            "with S a positive number of seconds"
        )
    return 0.0 if key == "reps" else float(value)


def _motion_args(steps: Any, rate_hz: Any, seed: Any, wrist: Any, reps: bool = True) -> list[dict[str, Any]]:
    """The checked steps of :func:`workout_motion`; DataError for a bad step, rate, seed or wrist."""
    checked = _step_list(steps)
    for i, step in enumerate(checked):
        _step_seconds(step, i, reps)
    if not (is_number(rate_hz) and 0 < rate_hz <= 10_000):
        raise DataError(f"a workout's rate_hz must be a number of Hz > 0 and <= 10000, got {rate_hz!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"a workout's seed must be a whole number >= 0, got {seed!r}")
    if wrist not in ("left", "right"):
        raise DataError(f"wrist must be 'left' or 'right', got {wrist!r}")
    return checked


def workout_motion(
    steps: list[dict[str, Any]], rate_hz: float, seed: int = 0, wrist: str = "left"
) -> tuple[np.ndarray, str]:
    """(n, 3) float32 g of a watch on ``wrist`` doing ``steps`` at ``rate_hz``, in that watch's device axes
    (what it would stream), and where the motion came from.

    Uses the synthetic workout generator (``mujo_edge.training.synth``, numpy only) when installed, else
    real recordings of the seglearn watch dataset (the 7 shoulder exercises; rests as a still, hanging arm).
    """
    steps = _motion_args(steps, rate_hz, seed, wrist)
    simulate_workout: Callable[..., Any] | None
    try:
        from mujo_edge.training.synth import simulate_workout
    except ImportError:
        simulate_workout = None
    if simulate_workout is not None:
        rec = simulate_workout(steps, seed=seed, wrist=wrist, rate_hz=rate_hz)
        return np.asarray(rec.acc_g, np.float32), "synthetic workout (mujo_edge.training.synth)"
    return seglearn_motion(steps, rate_hz, seed, wrist), "recorded seglearn watch data (real), resampled"


def seglearn_motion(
    steps: list[dict[str, Any]], rate_hz: float, seed: int = 0, wrist: str = "right"
) -> np.ndarray:
    """(n, 3) float32 g: real seglearn recordings of each step's exercise (rests: a still, hanging arm),
    resampled to ``rate_hz``, in the device axes of a watch on ``wrist``."""
    steps = _motion_args(steps, rate_hz, seed, wrist, reps=False)
    try:
        from mujo_edge.training.data.seglearn import SEGLEARN_LABELS, load_watch
    except ImportError as e:
        raise MissingDependencyError(
            "The virtual watch's motion (synthetic workout or recorded seglearn data)", "training"
        ) from e
    from mujo_edge.axes import mirror_left_wrist

    raw = load_watch()
    rng = np.random.default_rng(seed)
    parts = []
    for step in steps:
        if "rest" in step:
            n = round(float(step["rest"]) * RATE_HZ)
            still = np.array([-1.0, 0.0, 0.05]) + rng.normal(0.0, 0.01, (n, 3))  # arm hanging at the side
            parts.append(still)
            continue
        name = str(step["activity"])
        if name not in SEGLEARN_LABELS:
            raise DataError(
                f"activity {name!r} has no recorded motion (the seglearn data has {list(SEGLEARN_LABELS)}); "
                "install the training extra for synthetic motion of other activities"
            )
        y = SEGLEARN_LABELS.index(name)
        idx = [i for i in range(len(raw["X"])) if int(raw["y"][i]) == y]
        rec = int(idx[int(rng.integers(len(idx)))])
        x = raw["X"][rec][:, :3].astype(np.float64)
        if int(raw["side"][rec]) == 0:
            x, _ = mirror_left_wrist(x)
        n = round(float(step["seconds"]) * RATE_HZ)
        parts.append(np.resize(x, (n, 3)) if x.shape[0] < n else x[:n])
    acc50 = np.concatenate(parts)  # right-wrist frame (the convention): left recordings were mirrored
    if wrist == "left":
        acc50, _ = mirror_left_wrist(acc50)  # what a left-wrist watch streams
    t50 = np.arange(acc50.shape[0]) / RATE_HZ
    t = np.arange(int(acc50.shape[0] * rate_hz / RATE_HZ)) / rate_hz
    return np.stack([np.interp(t, t50, acc50[:, c]) for c in range(3)], 1).astype(np.float32)
