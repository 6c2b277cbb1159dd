"""Procedural human motion: activities as joint-angle programs, subjects with style, sets with reps.

An :class:`Activity` is a start posture (joint-angle channels, see :mod:`.skeleton`) plus *moves*: channel,
amplitude and wave shape over the repetition phase. A rep goes start -> end -> start with a smooth
(C2, smootherstep) profile with holds at both ends. Each :class:`Style` (one synthetic subject) scales tempo and
range of motion, adds asymmetry between the arms, rep-to-rep variability, fatigue (later reps slower and
smaller) and a slow postural wobble. :func:`segment_channels` renders one set or one rest; the workout builder
(:mod:`.workout`) strings them together with smooth transitions.

Channel keys in activity tables: ``arms.X`` both arms, ``a.X`` the active arm (the exercising one in unilateral
moves), ``o.X`` the other arm, ``legs.X`` both legs, ``r.X`` / ``l.X`` one leg, or a trunk channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from mujo_edge.errors import DataError

from .skeleton import Body

ARM_CHANNELS = ("flex", "abd", "rot", "elbow", "pron", "shrug")
LEG_CHANNELS = ("hip", "hipab", "knee")
TRUNK_CHANNELS = (
    "x",
    "y",
    "z",
    "hop",
    "yaw",
    "pitch",
    "roll",
    "bend",
    "side",
    "twist",
    "neck",
    "floor",
    "anchor",
    "seat",
)
#: Every channel a rendered segment holds, in a fixed order.
CHANNELS: tuple[str, ...] = (
    *TRUNK_CHANNELS,
    *(f"{s}.{c}" for s in "rl" for c in LEG_CHANNELS),
    *(f"{s}.{c}" for s in "rl" for c in ARM_CHANNELS),
)
#: Channels that are not angles: no wobble is added to them.
_NOT_ANGLES = {"x", "y", "z", "hop", "floor", "anchor", "seat", "r.shrug", "l.shrug"}

#: Columns of :data:`CHANNELS` that hold joint angles (rad).
ANGLE_COLS: list[int] = [i for i, c in enumerate(CHANNELS) if c not in _NOT_ANGLES]

#: Per-set variation of the start posture (rad): forearm roll and humeral rotation most, since a 17-joint pose
#: cannot show them and real people hold their hands differently.
_SET_VARIATION = {"pron": 0.25, "rot": 0.15, "flex": 0.08, "abd": 0.08, "elbow": 0.08}
_SET_COLS = [i for i, c in enumerate(CHANNELS) if c[2:] in _SET_VARIATION and c[:2] in ("r.", "l.")]
_SET_SD = np.array([_SET_VARIATION[CHANNELS[i][2:]] for i in _SET_COLS])

#: The relaxed standing posture every activity starts from (arms hanging, palms to the thighs).
STANDING: dict[str, float] = {
    "legs.hip": 0.03,
    "legs.hipab": 0.06,
    "legs.knee": 0.06,
    "arms.elbow": 0.22,
    "arms.abd": 0.1,
    "arms.flex": 0.03,
    "neck": 0.05,
}

#: Smallest elbow flexion the generator produces (rad).
MIN_ELBOW_RAD = 0.27

#: Label of everything that is not an exercise (rests between sets, transitions between steps).
NON_ACTIVITY = "non_activity"

#: Activity families, in the order of the library.
FAMILIES: tuple[str, ...] = (
    "locomotion",
    "posture",
    "transition",
    "daily",
    "sports",
    "gym",
    "physio",
    "rest",
)
_GROUP_FAMILY = {"mmfit": "gym", "workout": "gym", "shoulder": "physio", "rest": "rest"}
#: Standard deviation of the subjects' log tempo (see :meth:`Style.sample`).
TEMPO_LOG_SD = 0.15
#: Standard deviation of one bout's log tempo around its subject's.
BOUT_LOG_SD = 0.05
#: Half-width, in log units, of the default cycle range ``rep_s * exp(+-w)`` of an activity without a
#: published one: two standard deviations of subject and bout tempo together.
_DEFAULT_LOG_HALF_WIDTH = 2.0 * float(np.hypot(TEMPO_LOG_SD, BOUT_LOG_SD))


@dataclass(frozen=True)
class Move:
    """One channel's motion: ``value = base + amp * wave(phase)``."""

    key: str
    amp: float
    wave: str = "rep"  # rep | alt | altb | sin | cos | sinh | cosh | bump2 | ramp


@dataclass(frozen=True)
class Activity:
    """A movement program.

    Attributes:
        name: label (MM-Fit names for its ten exercises, seglearn short names for the shoulder ones).
        long_name: human-readable name.
        group: "mmfit", "shoulder", "workout" or "rest" (a non-activity kind) for the original 27; the
            family for the others.
        rep_s: seconds per repetition (one cycle: a step, a stroke, a pedal turn, a rep) at tempo 1.
        base: start posture on top of :data:`STANDING`.
        moves: what changes over a rep.
        profile: fractions of a rep for (going out, holding, coming back); the rest holds at the start.
        unilateral: one arm exercises (the ``a.`` keys), the other rests.
        reps: range of repetitions per set in a random workout.
        pendulum: the period follows the arm length (sqrt law) instead of the subject's tempo.
        effort: multiplier of the sensor model's soft-tissue wobble (1 relaxed; 4 working).
        family: one of :data:`FAMILIES` (default: from ``group``).
        cycle_s: (lo, hi) seconds per cycle that covers about 95 % of people (see :func:`sample_rep_s`);
            default ``rep_s * exp(+-0.32)``, the spread of the subjects' tempo.
        continuous: held or continuous (sitting, walking, cycling...): planned as bouts in seconds, not reps.
        irregular: extra log-normal spread of each cycle's duration (and half of it on its range) for
            activities with an uneven rhythm (eating, folding laundry).
    """

    name: str
    long_name: str
    group: str
    rep_s: float
    base: dict[str, float]
    moves: tuple[Move, ...]
    profile: tuple[float, float, float] = (0.4, 0.1, 0.4)
    unilateral: bool = False
    reps: tuple[int, int] = (8, 15)
    pendulum: bool = (
        False  #: swings at the arm's natural frequency (``rep_s`` for a 0.55 m arm), not at tempo
    )
    effort: float = 4.0  #: soft-tissue wobble relative to a relaxed arm (see imu.SensorModel)
    family: str = ""
    cycle_s: tuple[float, float] | None = None
    continuous: bool = False
    irregular: float = 0.0

    def __post_init__(self) -> None:
        family = self.family or _GROUP_FAMILY.get(self.group, self.group)
        if family not in FAMILIES:
            raise DataError(
                f"activity {self.name!r}: family {family!r} unknown; use one of {', '.join(FAMILIES)}"
            )
        object.__setattr__(self, "family", family)
        if self.cycle_s is None:
            w = float(np.exp(_DEFAULT_LOG_HALF_WIDTH))
            object.__setattr__(self, "cycle_s", (self.rep_s / w, self.rep_s * w))
        lo, hi = self.cycle_s  # type: ignore[misc]
        if not 0 < lo <= self.rep_s <= hi:
            raise DataError(
                f"activity {self.name!r}: cycle range {lo}-{hi} s must be positive and contain rep_s "
                f"{self.rep_s} s; fix the table in motion.py"
            )


def _lib(
    name: str,
    long_name: str,
    family: str,
    cycle_s: tuple[float, float],
    base: dict[str, float],
    moves: tuple[Move, ...],
    profile: tuple[float, float, float] | None = None,
    **kw: object,
) -> Activity:
    """A library activity: ``group`` is its family, ``rep_s`` the geometric middle of ``cycle_s``."""
    if profile is not None:
        kw["profile"] = profile
    # walking, postures and daily activities come in bouts of seconds, not sets of reps
    kw.setdefault("continuous", family in ("locomotion", "posture", "daily"))
    return Activity(
        name,
        long_name,
        family,
        float(np.sqrt(cycle_s[0] * cycle_s[1])),
        base,
        moves,
        family=family,
        cycle_s=cycle_s,
        **kw,  # type: ignore[arg-type]
    )


def _a(*moves: tuple[Any, ...]) -> tuple[Move, ...]:
    return tuple(Move(*m) for m in moves)


_PI = np.pi
#: Seconds over which walking speed builds up at the start of a bout and fades at its end.
TRAVEL_EASE_S = 1.0
#: Stair geometry (building codes: risers about 0.15-0.18 m, treads 0.28 m).
STAIR_RISER_M = 0.17
STAIR_TREAD_M = 0.28

#: Sitting on a chair: hips and knees flexed, feet on the floor (the pelvis ends up at seat height), hands on
#: the thighs.
SEATED: dict[str, float] = {
    "legs.hip": 1.5,
    "legs.knee": 1.45,
    "legs.hipab": 0.1,
    "arms.flex": 0.45,
    "arms.elbow": 1.1,
    "arms.pron": 0.9,
}
#: Lying on the back, arms at the sides.
SUPINE: dict[str, float] = {
    "pitch": -np.pi / 2,
    "legs.hip": 0.05,
    "legs.knee": 0.05,
    "arms.abd": 0.15,
    "arms.elbow": 0.3,
    "neck": 0.1,
}


def _walk(
    step_m: float,
    hip: float,
    knee: float,
    arm: float,
    elbow: float,
    base: dict[str, float] | None = None,
    extra: tuple[tuple[Any, ...], ...] = (),
) -> tuple[dict[str, float], tuple[Move, ...], tuple[float, float, float]]:
    """Walking that travels ``step_m`` per step: base posture, moves and rep profile (a rep is one step)."""
    moves = _a(
        ("r.hip", hip, "sinh"), ("l.hip", -hip, "sinh"), ("r.knee", knee, "alt"), ("l.knee", knee, "altb"),
        ("r.flex", -arm, "sinh"), ("l.flex", arm, "sinh"), ("x", step_m, "ramp"), ("hop", 0.01 + 0.025 * step_m, "rep"),
        *extra,
    )  # fmt: skip
    return {"arms.elbow": elbow, "anchor": 1.0, **(base or {})}, moves, (0.5, 0.0, 0.5)


def _run(
    step_m: float, hip: float, knee: float, arm: float, pitch: float, contact_pct: int
) -> tuple[dict[str, float], tuple[Move, ...], tuple[float, float, float]]:
    """Running: like walking with bent arms, a flight phase (the last ``100 - contact_pct`` % of each step)
    and the stance knee bending on landing."""
    moves = _a(
        ("r.hip", hip, "sinh"), ("l.hip", -hip, "sinh"), ("r.knee", knee, "alt"), ("l.knee", knee, "altb"),
        ("legs.knee", 0.3, f"contact{contact_pct}"), ("r.flex", -arm, "sinh"), ("l.flex", arm, "sinh"),
        ("x", step_m, "ramp"), ("hop", 0.04 + 0.02 * step_m, f"flight{contact_pct}"),
    )  # fmt: skip
    return {"arms.elbow": 1.4, "anchor": 1.0, "seat": 1.0, "pitch": pitch}, moves, (0.45, 0.05, 0.45)


#: Every activity the generator knows, by label.
# fmt: off
ACTIVITIES: dict[str, Activity] = {
    a.name: a
    for a in [
        # --- the ten MM-Fit exercises -------------------------------------------------------------------
        Activity(
            "squats", "squats", "mmfit", 2.6,
            {"legs.hipab": 0.2},
            _a(("pitch", 0.5), ("legs.hip", 1.75), ("legs.knee", 1.75), ("arms.flex", 1.2), ("arms.elbow", 0.2),
               ("neck", -0.3)),
            (0.4, 0.1, 0.35),
        ),
        Activity(
            "lunges", "lunges", "mmfit", 2.8,
            {"arms.elbow": 0.3},
            _a(("r.hip", 1.35, "alt"), ("r.knee", 1.45, "alt"), ("l.hip", -0.35, "alt"), ("l.knee", 1.4, "alt"),
               ("l.hip", 1.35, "altb"), ("l.knee", 1.45, "altb"), ("r.hip", -0.35, "altb"), ("r.knee", 1.4, "altb"),
               ("pitch", 0.12), ("arms.flex", 0.15)),
            (0.4, 0.15, 0.35),
        ),
        Activity(
            "bicep_curls", "dumbbell biceps curls", "mmfit", 2.6,
            {"arms.pron": -1.3, "arms.abd": 0.15},
            _a(("arms.elbow", 2.05), ("arms.flex", 0.25), ("arms.pron", -0.2)),
            (0.4, 0.1, 0.45),
        ),
        Activity(
            "situps", "sit-ups", "mmfit", 3.0,
            {"pitch": -1.5, "legs.hip": 0.9, "legs.knee": 1.7, "arms.flex": 0.6, "arms.abd": 0.25,
             "arms.elbow": 2.3, "arms.rot": 1.0, "neck": 0.3},
            _a(("bend", 1.25), ("neck", 0.2)),
            (0.4, 0.1, 0.4),
        ),
        Activity(
            "pushups", "push-ups", "mmfit", 2.4,
            {"pitch": 1.3, "legs.hip": 0.02, "legs.knee": 0.02, "legs.hipab": 0.04, "floor": 1.0,
             "arms.pron": 1.2, "neck": -0.4},
            _a(("pitch", 0.22),),
            (0.45, 0.05, 0.4),
        ),
        Activity(
            "tricep_extensions", "overhead dumbbell triceps extensions", "mmfit", 2.6,
            {"arms.flex": 2.75, "arms.abd": 0.25, "arms.elbow": 2.3, "arms.rot": -0.2},
            _a(("arms.elbow", -2.0), ("arms.flex", 0.1)),
            (0.4, 0.1, 0.45),
        ),
        Activity(
            "dumbbell_rows", "bent-over dumbbell rows", "mmfit", 2.6,
            {"pitch": 0.25, "bend": 0.75, "legs.hip": 0.55, "legs.knee": 0.35, "a.flex": 1.0, "a.elbow": 0.2,
             "o.flex": 1.2, "o.elbow": 0.15},
            _a(("a.flex", -1.35), ("a.elbow", 1.5), ("a.pron", 0.1), ("twist", 0.12)),
            (0.4, 0.1, 0.45),
            unilateral=True,
        ),
        Activity(
            "jumping_jacks", "jumping jacks", "mmfit", 1.3,
            {"arms.elbow": 0.15, "arms.pron": 0.2},
            _a(("arms.abd", 2.5), ("legs.hipab", 0.3), ("hop", 0.04, "bump2"), ("legs.knee", 0.15, "bump2"),
               ("arms.elbow", 0.15)),
            (0.45, 0.05, 0.45),
            reps=(15, 30),
        ),
        Activity(
            "dumbbell_shoulder_press", "dumbbell shoulder press", "mmfit", 2.4,
            {"arms.abd": 1.45, "arms.flex": 0.3, "arms.rot": -1.45, "arms.elbow": 1.8, "arms.pron": 1.2},
            _a(("arms.abd", 1.25), ("arms.elbow", -1.55), ("arms.rot", 0.25)),
            (0.4, 0.05, 0.45),
        ),
        Activity(
            "lateral_shoulder_raises", "lateral shoulder raises", "mmfit", 2.6,
            {"arms.elbow": 0.3, "arms.abd": 0.15},
            _a(("arms.abd", 1.35), ("arms.flex", 0.15), ("arms.pron", 0.25)),
            (0.4, 0.1, 0.45),
        ),
        # --- the seven shoulder physiotherapy exercises of the seglearn watch data ----------------------
        Activity(
            # a nearly free conical pendulum: the real recordings swing at the arm's natural frequency
            # (0.7-0.8 Hz) with the specific force almost along the arm (x = -1.04 g, y and z near 0)
            "PEN", "pendulum", "shoulder", 1.25,
            {"pitch": 0.45, "bend": 0.15, "a.flex": 0.6, "a.abd": -0.2, "a.elbow": 0.3, "a.pron": -0.6,
             "o.flex": 1.3, "o.elbow": 0.5},
            _a(("a.flex", 0.5, "sin"), ("a.abd", 0.45, "cos")),
            unilateral=True,
            reps=(18, 30),
            pendulum=True,
            effort=1.2,
        ),
        Activity(
            # palm forward and up: the humerus rotates out as the arm goes overhead (real z = -0.44 g)
            "ABD", "shoulder abduction", "shoulder", 2.05,
            {"a.abd": 0.12, "a.elbow": 0.3, "a.rot": -0.65, "a.pron": -1.55},
            _a(("a.abd", 2.6), ("a.flex", 0.2), ("side", -0.08), ("a.rot", 0.6), ("a.pron", 0.5)),
            (0.42, 0.06, 0.42),
            unilateral=True,
            reps=(10, 20),
        ),
        Activity(
            "FEL", "forward elevation", "shoulder", 2.05,
            {"a.elbow": 0.3, "a.rot": 0.6, "a.pron": -2.2},
            _a(("a.flex", 2.6), ("a.abd", 0.15), ("bend", -0.05), ("a.rot", 0.6), ("a.pron", 0.5)),
            (0.42, 0.06, 0.42),
            unilateral=True,
            reps=(10, 20),
        ),
        Activity(
            # the hand dips a little towards the belly at the inner end: the real x dips once per rep
            "IR", "internal rotation", "shoulder", 2.0,
            {"a.elbow": 1.57, "a.abd": 0.12, "a.flex": 0.05, "a.rot": -0.5, "a.pron": -0.15},
            _a(("a.rot", 1.5), ("a.elbow", -0.3), ("a.flex", 0.3)),
            (0.4, 0.1, 0.4),
            unilateral=True,
            reps=(10, 20),
        ),
        Activity(
            "ER", "external rotation", "shoulder", 1.9,
            {"a.elbow": 1.57, "a.abd": 0.12, "a.flex": 0.05, "a.rot": 0.5, "a.pron": 0.3},
            _a(("a.rot", -1.5), ("a.elbow", -0.3), ("a.flex", 0.3), ("a.pron", -0.4)),
            (0.4, 0.1, 0.4),
            unilateral=True,
            reps=(10, 20),
        ),
        Activity(
            "TRAP", "trapezius extension", "shoulder", 0.65,
            {"a.elbow": 0.3, "a.flex": -0.25, "a.abd": -0.1, "a.pron": -0.2},
            _a(("a.flex", -0.15), ("a.shrug", 0.03), ("a.pron", 0.1), ("a.abd", 0.15)),
            (0.5, 0.0, 0.5),
            unilateral=True,
            reps=(20, 40),
        ),
        Activity(
            "ROW", "upright row", "shoulder", 1.65,
            {"a.elbow": 0.3, "a.pron": -0.3, "a.rot": 0.9, "a.flex": -0.3},
            _a(("a.abd", 0.9), ("a.flex", 0.25), ("a.elbow", 1.3), ("a.rot", 0.3)),
            (0.45, 0.05, 0.45),
            unilateral=True,
            reps=(12, 22),
        ),
        # --- other common workout moves ------------------------------------------------------------------
        Activity(
            "high_knees", "high knees", "workout", 0.42,
            {"arms.elbow": 1.5, "anchor": 1.0},
            _a(("r.hip", 1.45, "alt"), ("r.knee", 1.6, "alt"), ("l.hip", 1.45, "altb"), ("l.knee", 1.6, "altb"),
               ("hop", 0.025, "rep"), ("r.flex", 0.45, "sinh"), ("l.flex", -0.45, "sinh")),
            (0.45, 0.05, 0.45),
            reps=(30, 60),
        ),
        Activity(
            "arm_circles", "arm circles", "workout", 1.0,
            {"arms.abd": 1.5, "arms.elbow": 0.1, "arms.pron": 1.0},
            _a(("arms.flex", 0.35, "sin"), ("arms.abd", 0.35, "cos")),
            reps=(15, 30),
        ),
        Activity(
            "mountain_climbers", "mountain climbers", "workout", 0.55,
            {"pitch": 1.1, "floor": 1.0, "anchor": 1.0, "legs.hip": 0.05, "legs.knee": 0.05, "arms.pron": 1.2, "neck": -0.4},
            _a(("r.hip", 1.0, "alt"), ("r.knee", 1.7, "alt"), ("l.hip", 1.0, "altb"), ("l.knee", 1.7, "altb")),
            (0.45, 0.05, 0.45),
            reps=(20, 40),
        ),
        Activity(
            "deadlifts", "dumbbell deadlifts", "workout", 3.0,
            {"legs.hipab": 0.08, "arms.elbow": 0.1, "arms.pron": 1.2},
            _a(("pitch", 0.35), ("bend", 0.6), ("legs.hip", 0.95), ("legs.knee", 0.5), ("arms.flex", 0.95),
               ("neck", -0.3)),
            (0.45, 0.05, 0.4),
        ),
        Activity(
            "burpees", "burpees", "workout", 3.6,
            {},
            _a(("pitch", 1.3, "burpee_pitch"), ("floor", 1.0, "burpee_floor"), ("legs.hip", 1.6, "burpee_crouch"),
               ("legs.knee", 2.0, "burpee_crouch"), ("arms.flex", 1.2, "burpee_crouch"),
               ("arms.pron", 1.2, "burpee_floor"), ("hop", 0.08, "burpee_jump"), ("arms.flex", 2.2, "burpee_jump"),
               ("arms.abd", 0.3, "burpee_jump")),
            reps=(6, 12),
        ),
        # --- the motion library: locomotion -------------------------------------------------------------
        # Cadences: walking 90-125 steps/min at a normal pace, slower and faster beyond (Tudor-Locke et al.,
        # cadence reviews of free-living and treadmill walking); running 150-185 steps/min, jogging below,
        # sprinting 3.3-4.5 steps/s (running cadence studies); stairs 80-110 steps/min up, a little faster down
        # (stair-gait studies); skipping rope about 2 jumps/s. A rep is one step (alternating legs).
        _lib("walking_slow", "walking slowly", "locomotion", (0.63, 0.86), *_walk(0.5, 0.22, 0.7, 0.12, 0.3),
             effort=1.0),
        _lib("walking", "walking", "locomotion", (0.48, 0.67), *_walk(0.7, 0.3, 0.9, 0.22, 0.35), effort=1.2),
        _lib("walking_fast", "walking fast", "locomotion", (0.41, 0.5), *_walk(0.85, 0.38, 1.05, 0.35, 0.7),
             effort=1.5),
        _lib("walking_uphill", "walking uphill", "locomotion", (0.52, 0.71),
             *_walk(0.65, 0.38, 1.0, 0.22, 0.4, {"pitch": 0.12}, (("z", 0.065, "ramp"),)), effort=1.5),
        _lib("jogging", "jogging", "locomotion", (0.36, 0.43), *_run(0.9, 0.45, 1.3, 0.3, 0.06, 60), effort=2.5),
        _lib("running", "running", "locomotion", (0.32, 0.4), *_run(1.2, 0.6, 1.55, 0.4, 0.1, 55), effort=3.0),
        _lib("sprinting", "sprinting", "locomotion", (0.22, 0.3), *_run(1.7, 0.9, 1.9, 0.42, 0.2, 50),
             effort=3.5),
        _lib("stairs_up", "walking up stairs", "locomotion", (0.55, 0.75),
             {"arms.elbow": 0.35, "anchor": 1.0, "pitch": 0.1},
             _a(("r.hip", 0.85, "alt"), ("r.knee", 1.25, "alt"), ("l.hip", 0.85, "altb"), ("l.knee", 1.25, "altb"),
                ("r.flex", -0.12, "sinh"), ("l.flex", 0.12, "sinh"), ("x", STAIR_TREAD_M, "ramp"),
                ("z", STAIR_RISER_M, "stairs")),
             (0.5, 0.0, 0.5), continuous=True, effort=1.5),
        _lib("stairs_down", "walking down stairs", "locomotion", (0.5, 0.7),
             {"arms.elbow": 0.3, "anchor": 1.0, "legs.knee": 0.15},
             _a(("r.hip", 0.45, "alt"), ("r.knee", 0.85, "alt"), ("l.hip", 0.45, "altb"), ("l.knee", 0.85, "altb"),
                ("r.knee", 0.35, "altb"), ("l.knee", 0.35, "alt"),
                ("r.flex", -0.12, "sinh"), ("l.flex", 0.12, "sinh"), ("x", STAIR_TREAD_M, "ramp"),
                ("z", -STAIR_RISER_M, "stairs")),
             (0.5, 0.0, 0.5), continuous=True, effort=1.5),
        _lib("jumping", "jumping in place", "locomotion", (0.5, 0.8),
             {"arms.elbow": 0.4},
             _a(("hop", 0.12, "flight50"), ("legs.knee", 0.7, "contact50"), ("legs.hip", 0.55, "contact50"),
                ("pitch", 0.15, "contact50"), ("arms.flex", 0.45, "flight50"), ("arms.flex", -0.15, "contact50")),
             continuous=True, effort=3.0),
        _lib("skipping_rope", "skipping rope", "locomotion", (0.43, 0.6),
             {"arms.elbow": 1.0, "arms.abd": 0.35, "arms.flex": 0.2, "arms.pron": 0.6},
             _a(("hop", 0.04, "flight60"), ("legs.knee", 0.25, "contact60"), ("arms.flex", 0.12, "sin"),
                ("arms.abd", 0.08, "cos"), ("arms.pron", 0.3, "sin")),
             continuous=True, effort=3.0),
        # --- postures (held: the cycle is the slow sway and breathing, 3-8 s) ----------------------------
        _lib("sitting", "sitting on a chair", "posture", (4.0, 8.0), SEATED,
             _a(("twist", 0.04, "sin"), ("arms.flex", 0.03, "sin"), ("neck", 0.08, "cos")),
             continuous=True, effort=1.0),
        _lib("standing", "standing", "posture", (4.0, 8.0), {},
             _a(("twist", 0.05, "sin"), ("roll", 0.02, "cos"), ("arms.flex", 0.05, "sin")),
             continuous=True, effort=1.0),
        _lib("lying_back", "lying on the back", "posture", (3.0, 5.0), SUPINE,
             _a(("bend", 0.01, "sin"), ("arms.flex", 0.02, "sin"), ("neck", 0.05, "cos")),
             continuous=True, effort=1.0),
        _lib("lying_front", "lying on the front", "posture", (3.0, 5.0),
             {**SUPINE, "pitch": _PI / 2, "neck": -0.2, "arms.pron": 1.3},
             _a(("bend", -0.01, "sin"), ("arms.flex", 0.02, "sin")),
             continuous=True, effort=1.0),
        _lib("lying_side", "lying on the side", "posture", (3.0, 5.0),
             {"roll": _PI / 2, "legs.hip": 0.5, "legs.knee": 0.7, "arms.flex": 0.7, "arms.elbow": 1.0, "neck": 0.1},
             _a(("bend", 0.01, "sin"), ("arms.flex", 0.02, "sin")),
             continuous=True, effort=1.0),
        _lib("kneeling", "kneeling", "posture", (4.0, 8.0),
             {"legs.hip": 0.0, "legs.knee": _PI / 2, "legs.hipab": 0.08, "arms.elbow": 0.4},
             _a(("twist", 0.05, "sin"), ("roll", 0.02, "cos"), ("arms.flex", 0.05, "sin")),
             continuous=True, effort=1.0),
        # --- transitions (one per segment: the body moves once, then holds the end posture) --------------
        # sit-to-stand takes 1.5-3 s in healthy adults (chair-rise studies, longer in older adults)
        _lib("sit_to_stand", "standing up from a chair", "transition", (1.5, 3.0), SEATED,
             _a(("legs.hip", -1.47, "once"), ("legs.knee", -1.39, "once"), ("legs.hipab", -0.04, "once"),
                ("bend", 0.6, "oncebump"), ("neck", -0.2, "oncebump"), ("arms.flex", -0.42, "once"),
                ("arms.elbow", -0.7, "once"), ("arms.pron", -0.9, "once")),
             reps=(1, 1), effort=2.0),
        _lib("stand_to_sit", "sitting down on a chair", "transition", (1.5, 3.0), {},
             _a(("legs.hip", 1.47, "once"), ("legs.knee", 1.39, "once"), ("legs.hipab", 0.04, "once"),
                ("bend", 0.6, "oncebump"), ("neck", -0.2, "oncebump"), ("arms.flex", 0.42, "once"),
                ("arms.elbow", 0.7, "once"), ("arms.pron", 0.9, "once")),
             reps=(1, 1), effort=2.0),
        _lib("lie_to_sit", "sitting up from lying", "transition", (2.0, 4.0), SUPINE,
             _a(("pitch", _PI / 2, "once"), ("legs.hip", 1.45, "once"), ("bend", 0.5, "oncebump"),
                ("neck", 0.3, "oncebump"), ("arms.flex", 0.6, "oncebump"), ("arms.elbow", 0.6, "oncebump")),
             reps=(1, 1), effort=2.0),
        _lib("sit_to_lie", "lying down from sitting", "transition", (2.0, 4.0),
             {**SUPINE, "pitch": 0.0, "legs.hip": 1.5},
             _a(("pitch", -_PI / 2, "once"), ("legs.hip", -1.45, "once"), ("bend", 0.4, "oncebump"),
                ("neck", 0.3, "oncebump"), ("arms.flex", 0.5, "oncebump")),
             reps=(1, 1), effort=2.0),
        _lib("bending", "bending down to pick something up", "transition", (2.5, 5.0),
             {"arms.elbow": 0.3},
             _a(("pitch", 0.5, "rep"), ("bend", 0.9, "rep"), ("legs.hip", 0.75, "rep"), ("legs.knee", 0.35, "rep"),
                ("a.flex", 1.4, "rep"), ("o.flex", 0.5, "rep"), ("neck", -0.2, "rep")),
             (0.35, 0.2, 0.35), unilateral=True, reps=(1, 4), effort=2.0),
        # --- daily living ------------------------------------------------------------------------------
        # eating: 4-10 bites a minute (bite-counting studies of meals); drinking: a sip every 5-12 s while
        # drinking; tooth brushing strokes 3-5 Hz and hand rubbing 2-3 Hz (hygiene motion studies);
        # handwriting 4-6 strokes/s; typing 3-6 keystrokes/s (two hands); stirring 1-2 turns/s
        _lib("eating", "eating with a fork or spoon", "daily", (6.0, 15.0),
             {**SEATED, "a.flex": 0.35, "a.elbow": 1.5, "a.pron": 0.6, "o.flex": 0.35, "o.elbow": 1.5,
              "o.pron": 1.2, "bend": 0.1},
             _a(("a.elbow", 0.95, "rep"), ("a.flex", 0.35, "rep"), ("a.pron", -0.5, "rep"), ("neck", 0.15, "rep"),
                ("o.flex", 0.03, "sin")),
             (0.12, 0.1, 0.12), unilateral=True, continuous=True, irregular=0.25, effort=1.5),
        _lib("drinking", "drinking from a cup", "daily", (5.0, 12.0),
             {**SEATED, "a.flex": 0.3, "a.elbow": 1.4, "a.pron": 0.2},
             _a(("a.elbow", 1.0, "rep"), ("a.flex", 0.45, "rep"), ("a.abd", 0.2, "rep"), ("a.pron", -0.3, "rep"),
                ("neck", -0.25, "rep")),
             (0.15, 0.25, 0.15), unilateral=True, continuous=True, irregular=0.2, effort=1.5),
        _lib("brushing_teeth", "brushing teeth", "daily", (0.2, 0.33),
             {"a.flex": 0.55, "a.abd": 0.45, "a.elbow": 2.1, "a.rot": 0.7, "a.pron": 0.5, "bend": 0.15},
             _a(("a.rot", 0.12, "sin"), ("a.abd", 0.05, "sin"), ("a.elbow", 0.05, "cos")),
             unilateral=True, continuous=True, irregular=0.1, effort=2.0),
        _lib("typing", "typing on a keyboard", "daily", (0.25, 0.45),
             {**SEATED, "arms.flex": 0.35, "arms.abd": 0.25, "arms.elbow": 1.3, "arms.pron": 1.45, "arms.rot": 0.3},
             _a(("arms.elbow", 0.012, "sin"), ("arms.rot", 0.02, "cos")),
             continuous=True, irregular=0.2, effort=1.0),
        _lib("writing", "writing by hand", "daily", (0.17, 0.25),
             {**SEATED, "a.flex": 0.35, "a.abd": 0.3, "a.elbow": 1.4, "a.pron": 1.1, "a.rot": 0.35, "bend": 0.15,
              "o.flex": 0.3, "o.elbow": 1.5, "o.pron": 1.4},
             _a(("a.rot", 0.03, "sin"), ("a.pron", 0.04, "cos"), ("a.elbow", 0.01, "sin")),
             unilateral=True, continuous=True, irregular=0.15, effort=1.0),
        _lib("washing_hands", "washing hands", "daily", (0.33, 0.6),
             {"pitch": 0.1, "bend": 0.25, "arms.flex": 0.55, "arms.abd": -0.05, "arms.elbow": 1.35,
              "arms.rot": 0.45, "arms.pron": 0.6},
             _a(("r.flex", 0.06, "sin"), ("l.flex", -0.06, "sin"), ("arms.pron", 0.25, "cos")),
             continuous=True, irregular=0.1, effort=1.5),
        _lib("folding_laundry", "folding laundry", "daily", (2.5, 6.0),
             {"bend": 0.3, "arms.flex": 0.8, "arms.elbow": 1.0, "arms.pron": 0.8},
             _a(("arms.abd", 0.5, "rep"), ("arms.flex", 0.4, "rep"), ("arms.elbow", -0.4, "rep"), ("twist", 0.15, "sin")),
             (0.3, 0.1, 0.3), continuous=True, irregular=0.25, effort=1.5),
        _lib("vacuuming", "vacuuming", "daily", (1.2, 2.2),
             {"anchor": 1.0, "pitch": 0.1, "bend": 0.2, "a.flex": 0.5, "a.elbow": 0.9, "a.pron": 0.3},
             _a(("a.flex", 0.35, "sin"), ("a.elbow", -0.45, "sin"), ("x", 0.2, "sin"), ("~twist", 0.1, "sin"),
                ("r.knee", 0.3, "alt"), ("l.knee", 0.3, "altb")),
             unilateral=True, continuous=True, irregular=0.15, effort=2.0),
        _lib("stirring", "stirring a pot", "daily", (0.5, 1.2),
             {"a.flex": 0.55, "a.elbow": 1.5, "a.pron": 0.9, "a.abd": 0.2, "bend": 0.1},
             _a(("a.flex", 0.07, "sin"), ("a.abd", 0.07, "cos"), ("a.rot", 0.1, "cos")),
             unilateral=True, continuous=True, irregular=0.1, effort=1.5),
        _lib("carrying_bag", "walking carrying a bag", "daily", (0.5, 0.67),
             *_walk(0.65, 0.3, 0.85, 0.1, 0.3, {"a.elbow": 0.0, "a.abd": 0.12, "a.pron": -0.2}), effort=2.0),
        _lib("phone_call", "holding a phone to the ear", "daily", (3.0, 8.0),
             {"a.flex": 0.45, "a.abd": 0.55, "a.elbow": 2.45, "a.rot": 0.25, "a.pron": 0.1},
             _a(("a.flex", 0.02, "sin"), ("twist", 0.05, "sin"), ("roll", 0.02, "cos"), ("neck", 0.1, "sin")),
             unilateral=True, continuous=True, effort=1.2),
        # --- sports ------------------------------------------------------------------------------------
        # cycling 60-100 rpm (cadence studies); rowing ergometer 20-32 strokes/min; elliptical 120-160
        # steps/min; a shot every 1.2-2.5 s in badminton rallies and 2-3.5 s in tennis rallies (match
        # analyses); golf backswing : downswing about 3 : 1 in 1-1.3 s; dribbling 1.3-2.2 bounces/s
        _lib("cycling", "cycling", "sports", (0.6, 1.0),
             {"seat": 1.0, "anchor": 1.0, "pitch": 0.3, "bend": 0.4, "legs.hip": 1.08, "legs.knee": 1.05,
              "legs.hipab": 0.05, "arms.flex": 0.9, "arms.elbow": 0.35, "arms.pron": 1.3, "neck": -0.35},
             _a(("r.hip", 0.42, "sin"), ("l.hip", -0.42, "sin"), ("r.knee", 0.46, "sin"), ("r.knee", -0.31, "cos"),
                ("l.knee", -0.46, "sin"), ("l.knee", 0.31, "cos"), ("roll", 0.02, "sin")),
             continuous=True, effort=1.5),
        _lib("rowing_machine", "rowing on a rowing machine", "sports", (1.9, 3.0),
             {"seat": 1.0, "pitch": -0.45, "legs.hip": 1.12, "legs.knee": 0.02, "arms.flex": -0.2, "arms.abd": 0.3,
              "arms.elbow": 2.0, "arms.pron": 1.3},
             _a(("pitch", 0.8, "rep"), ("legs.hip", 1.43, "rep"), ("legs.knee", 1.4, "rep"),
                ("arms.flex", 1.5, "rep"), ("arms.elbow", -1.7, "rep"), ("arms.abd", -0.2, "rep")),
             (0.5, 0.05, 0.3), continuous=True, effort=3.0),
        _lib("elliptical", "elliptical trainer", "sports", (0.375, 0.5),
             {"anchor": 1.0, "arms.flex": 0.5, "arms.elbow": 1.3, "arms.pron": 0.3, "legs.knee": 0.2},
             _a(("r.hip", 0.35, "sinh"), ("l.hip", -0.35, "sinh"), ("r.knee", 0.35, "cosh"), ("l.knee", -0.35, "cosh"),
                ("r.flex", -0.3, "sinh"), ("l.flex", 0.3, "sinh"), ("r.elbow", 0.3, "sinh"), ("l.elbow", -0.3, "sinh"),
                ("hop", 0.01, "cos")),
             continuous=True, effort=2.0),
        _lib("badminton_stroke", "badminton overhead stroke", "sports", (1.2, 2.5),
             {"a.flex": 0.9, "a.abd": 0.8, "a.elbow": 1.4, "a.rot": -0.2, "a.pron": 0.3, "o.flex": 0.6,
              "o.abd": 0.3, "o.elbow": 1.0, "legs.knee": 0.25, "legs.hip": 0.2, "legs.hipab": 0.15},
             _a(("a.abd", 0.8, "stroke"), ("a.rot", -0.8, "stroke"), ("a.elbow", 0.5, "stroke"),
                ("a.flex", 0.2, "stroke"), ("~twist", -0.4, "stroke"), ("hop", 0.03, "bump2")),
             (0.45, 0.1, 0.3), unilateral=True, continuous=True, irregular=0.15, effort=3.0),
        _lib("tennis_forehand", "tennis forehand", "sports", (2.0, 3.5),
             {"a.flex": 0.5, "a.elbow": 1.2, "a.abd": 0.2, "a.pron": 0.3, "o.flex": 0.5, "o.elbow": 1.3,
              "legs.knee": 0.25, "legs.hip": 0.2, "legs.hipab": 0.15, "pitch": 0.1},
             _a(("~twist", -0.6, "stroke"), ("a.abd", 0.6, "stroke"), ("a.flex", -0.6, "stroke"),
                ("a.elbow", -0.5, "stroke"), ("a.rot", -0.5, "stroke"), ("o.flex", 0.3, "stroke2")),
             (0.35, 0.09, 0.3), unilateral=True, continuous=True, irregular=0.15, effort=3.0),
        _lib("tennis_backhand", "tennis backhand", "sports", (2.0, 3.5),
             {"a.flex": 0.5, "a.elbow": 1.2, "a.abd": 0.0, "a.pron": 0.8, "o.flex": 0.5, "o.elbow": 1.3,
              "legs.knee": 0.25, "legs.hip": 0.2, "legs.hipab": 0.15, "pitch": 0.1},
             _a(("~twist", 0.7, "stroke"), ("a.abd", -0.6, "stroke"), ("a.flex", 0.25, "stroke2"),
                ("a.elbow", 0.4, "stroke"), ("a.rot", 0.5, "stroke")),
             (0.35, 0.09, 0.3), unilateral=True, continuous=True, irregular=0.15, effort=3.0),
        _lib("golf_swing", "golf swing", "sports", (4.0, 8.0),
             {"pitch": 0.3, "bend": 0.2, "legs.hip": 0.3, "legs.knee": 0.25, "legs.hipab": 0.12, "arms.flex": 0.45,
              "arms.elbow": 0.3, "arms.rot": 0.3, "arms.pron": 0.3, "neck": -0.4},
             _a(("~twist", -0.9, "stroke"), ("a.abd", 0.9, "stroke"), ("o.abd", -0.9, "stroke"),
                ("arms.flex", 0.8, "stroke2"), ("a.elbow", 0.8, "stroke2")),
             (0.15, 0.065, 0.3), unilateral=True, reps=(3, 10), irregular=0.1, effort=3.0),
        _lib("boxing", "boxing punches", "sports", (0.45, 0.9),
             {"arms.flex": 0.5, "arms.abd": 0.2, "arms.elbow": 2.3, "arms.rot": 0.6, "arms.pron": 0.9,
              "legs.knee": 0.3, "legs.hip": 0.2, "legs.hipab": 0.15},
             _a(("a.flex", 1.0, "alt"), ("a.elbow", -2.0, "alt"), ("~twist", -0.25, "alt"),
                ("o.flex", 1.0, "altb"), ("o.elbow", -2.0, "altb"), ("~twist", 0.25, "altb")),
             (0.25, 0.05, 0.3), unilateral=True, continuous=True, irregular=0.15, effort=3.0),
        _lib("basketball_dribbling", "dribbling a basketball", "sports", (0.45, 0.75),
             {"pitch": 0.25, "legs.hip": 0.5, "legs.knee": 0.5, "a.flex": 0.5, "a.elbow": 1.3, "a.pron": 1.4,
              "a.abd": 0.2, "o.flex": 0.4, "o.elbow": 1.2},
             _a(("a.elbow", -0.7, "rep"), ("a.flex", -0.15, "rep")),
             (0.3, 0.0, 0.5), unilateral=True, continuous=True, irregular=0.1, effort=2.5),
        # yoga holds and stretches: the cycle is slow breathing (6-15 breaths a minute)
        _lib("yoga_warrior", "yoga warrior pose", "sports", (4.0, 10.0),
             {"r.hip": 0.8, "r.knee": 0.9, "l.hip": -0.5, "l.knee": 0.05, "legs.hipab": 0.1, "arms.abd": 1.55,
              "arms.elbow": 0.27, "arms.pron": 1.3},
             _a(("bend", 0.02, "sin"), ("roll", 0.02, "cos"), ("arms.abd", 0.03, "sin")),
             continuous=True, effort=2.0),
        _lib("yoga_tree", "yoga tree pose", "sports", (4.0, 10.0),
             {"l.hip": 0.6, "l.hipab": 1.1, "l.knee": 2.4, "arms.flex": 2.9, "arms.elbow": 0.35, "arms.pron": -0.5},
             _a(("roll", 0.03, "sin"), ("pitch", 0.02, "cos"), ("arms.flex", 0.04, "sin")),
             continuous=True, effort=1.5),
        _lib("yoga_downward_dog", "yoga downward dog", "sports", (4.0, 10.0),
             {"pitch": 2.3, "legs.hip": 1.6, "legs.knee": 0.05, "floor": 1.0, "arms.pron": 1.2, "neck": 0.3},
             _a(("pitch", 0.04, "sin"), ("legs.hip", 0.04, "sin")),
             continuous=True, effort=2.0),
        _lib("stretching_hamstring", "standing hamstring stretch", "sports", (4.0, 10.0),
             {"pitch": 0.6, "legs.hip": 0.6, "bend": 0.9, "arms.flex": 1.45, "arms.elbow": 0.3, "neck": -0.3},
             _a(("bend", 0.1, "sin"), ("arms.flex", 0.1, "sin")),
             continuous=True, effort=1.5),
        _lib("stretching_arm", "cross-body shoulder stretch", "sports", (4.0, 10.0),
             {"a.flex": 1.5, "a.abd": -0.9, "a.elbow": 0.3, "a.pron": 0.0, "o.flex": 1.2, "o.abd": -0.3,
              "o.elbow": 1.9},
             _a(("a.abd", -0.05, "sin"), ("twist", 0.04, "sin")),
             unilateral=True, continuous=True, effort=1.5),
        _lib("stretching_side", "overhead side stretch", "sports", (6.0, 12.0),
             {"arms.flex": 2.8, "arms.elbow": 0.4, "arms.pron": -0.3},
             _a(("side", 0.35, "sin"), ("arms.abd", 0.15, "sin")),
             continuous=True, effort=1.5),
        # --- more gym moves (reps of 1.3-3.5 s, the usual strength-training tempo) ------------------------
        _lib("plank", "plank hold", "gym", (3.0, 6.0),
             {"pitch": 1.3, "legs.hip": 0.02, "legs.knee": 0.02, "legs.hipab": 0.04, "floor": 1.0, "arms.pron": 1.2,
              "neck": -0.4},
             _a(("pitch", 0.01, "sin"), ("roll", 0.01, "cos")),
             continuous=True, effort=3.0),
        _lib("kettlebell_swings", "kettlebell swings", "gym", (1.3, 2.2),
             {"arms.flex": 1.5, "arms.elbow": 0.27, "arms.pron": 0.6, "arms.abd": -0.05},
             _a(("arms.flex", -1.85, "rep"), ("pitch", 0.35, "rep"), ("bend", 0.45, "rep"), ("legs.hip", 0.9, "rep"),
                ("legs.knee", 0.45, "rep"), ("neck", -0.3, "rep")),
             (0.4, 0.05, 0.4), reps=(12, 25), effort=4.0),
        _lib("jump_squats", "jump squats", "gym", (1.6, 2.6),
             {"legs.hipab": 0.2},
             _a(("pitch", 0.45, "rep"), ("legs.hip", 1.2, "rep"), ("legs.knee", 1.3, "rep"), ("arms.flex", 1.0, "rep"),
                ("hop", 0.15, "flight70")),
             (0.35, 0.05, 0.3), reps=(8, 15), effort=4.0),
        _lib("glute_bridges", "glute bridges", "gym", (2.0, 3.5),
             {"pitch": -_PI / 2, "legs.hip": 0.9, "legs.knee": 1.7, "arms.abd": 0.3, "arms.elbow": 0.3,
              "arms.pron": 1.2, "neck": 0.3},
             _a(("pitch", -0.5, "rep"), ("legs.hip", -0.6, "rep")),
             (0.4, 0.15, 0.35), effort=3.0),
        _lib("bench_press", "dumbbell bench press", "gym", (2.0, 3.5),
             {"pitch": -_PI / 2, "legs.hip": -0.3, "legs.knee": 1.3, "legs.hipab": 0.3, "arms.flex": 1.45,
              "arms.abd": 0.2, "arms.elbow": 0.3, "arms.pron": 1.3},
             _a(("arms.flex", -1.0, "rep"), ("arms.abd", 0.9, "rep"), ("arms.elbow", 1.3, "rep")),
             (0.4, 0.05, 0.4), effort=4.0),
        _lib("russian_twists", "russian twists", "gym", (1.2, 2.4),
             {"pitch": -0.5, "legs.hip": 1.85, "legs.knee": 1.55, "arms.flex": 0.9, "arms.elbow": 1.3,
              "arms.abd": -0.1, "arms.pron": 0.5},
             _a(("twist", 0.6, "sin"), ("arms.abd", 0.1, "sin")),
             reps=(10, 20), effort=3.0),
        _lib("crunches", "crunches", "gym", (1.5, 3.0),
             {"pitch": -1.5, "legs.hip": 0.9, "legs.knee": 1.7, "arms.flex": 2.4, "arms.abd": 1.2,
              "arms.elbow": 2.4, "neck": 0.3},
             _a(("bend", 0.5, "rep"), ("neck", 0.2, "rep")),
             (0.4, 0.1, 0.4), reps=(12, 25), effort=3.0),
        # --- non-activity kinds (all labelled NON_ACTIVITY) ----------------------------------------------
        Activity(
            "rest_standing", "standing still between sets", "rest", 6.0,
            {},
            _a(("twist", 0.05, "sin"), ("roll", 0.02, "cos"), ("arms.flex", 0.05, "sin")),
            reps=(1, 1),
            effort=1.0,
        ),
        Activity(
            "shifting", "shifting weight", "rest", 3.5,
            {"legs.hipab": 0.12},
            _a(("roll", 0.07, "sin"), ("r.knee", 0.12, "alt"), ("l.knee", 0.12, "altb"), ("twist", 0.1, "cos"),
               ("arms.flex", 0.12, "sin"), ("y", 0.04, "sin")),
            reps=(1, 1),
            effort=1.0,
        ),
        Activity(
            "rest_walking", "walking between sets", "rest", 0.55,
            {"arms.elbow": 0.35, "anchor": 1.0},
            _a(("r.hip", 0.3, "sinh"), ("l.hip", -0.3, "sinh"), ("r.knee", 0.9, "alt"), ("l.knee", 0.9, "altb"),
               ("r.flex", -0.22, "sinh"), ("l.flex", 0.22, "sinh"), ("x", 0.7, "ramp"), ("hop", 0.015, "rep")),
            (0.5, 0.0, 0.5),
            reps=(1, 1),
            effort=1.0,
        ),
        Activity(
            "hands_on_hips", "resting with hands on hips", "rest", 5.0,
            {"arms.abd": 0.65, "arms.elbow": 1.75, "arms.rot": 0.85, "arms.pron": 0.4},
            _a(("twist", 0.06, "sin"), ("roll", 0.03, "cos"), ("neck", 0.1, "sin")),
            reps=(1, 1),
            effort=1.0,
        ),
        Activity(
            "arms_crossed", "resting with arms crossed", "rest", 5.0,
            {"arms.flex": 0.35, "arms.abd": 0.15, "arms.elbow": 2.0, "arms.rot": 1.3, "arms.pron": 0.3},
            _a(("twist", 0.05, "sin"), ("roll", 0.02, "cos")),
            reps=(1, 1),
            effort=1.0,
        ),
    ]
}
# fmt: on

#: Exercises (everything that is not a rest kind), in a fixed order.
EXERCISES: tuple[str, ...] = tuple(n for n, a in ACTIVITIES.items() if a.group != "rest")
#: Non-activity kinds.
REST_KINDS: tuple[str, ...] = tuple(n for n, a in ACTIVITIES.items() if a.group == "rest")
#: seglearn short name -> long name, for the seven shoulder exercises.
SEGLEARN_NAMES: dict[str, str] = {n: a.long_name for n, a in ACTIVITIES.items() if a.group == "shoulder"}
#: The ten MM-Fit exercises.
MMFIT_NAMES: tuple[str, ...] = tuple(n for n, a in ACTIVITIES.items() if a.group == "mmfit")
#: Earlier names of two rest kinds (now library labels of their own): scripts and planners that say
#: ``{"rest": 10, "kind": "walking"}`` still get the rest kind.
REST_ALIASES: dict[str, str] = {"standing": "rest_standing", "walking": "rest_walking"}


def resolve_rest_kind(kind: str) -> str:
    """The rest kind (a key of :data:`ACTIVITIES` in group "rest") for a kind name or an alias."""
    name = REST_ALIASES.get(kind, kind)
    if name not in REST_KINDS:
        raise DataError(
            f"rest kind {kind!r} unknown; use one of {', '.join(REST_KINDS)} (or {', '.join(REST_ALIASES)})"
        )
    return name


def activities_in(family: str) -> tuple[str, ...]:
    """Labels of the activities of one family (see :data:`FAMILIES`), in library order."""
    if family not in FAMILIES:
        raise DataError(f"family {family!r} unknown; use one of {', '.join(FAMILIES)}")
    return tuple(n for n, a in ACTIVITIES.items() if a.family == family)


def resolve_activity(name: str) -> Activity:
    """The activity for a label, a seglearn long name ("pendulum") or a rest kind; case-insensitive."""
    key = name.strip()
    if key in ACTIVITIES:
        return ACTIVITIES[key]
    low = key.lower().replace(" ", "_").replace("-", "_")
    for n, a in ACTIVITIES.items():
        if low in (n.lower(), a.long_name.lower().replace(" ", "_").replace("-", "_")):
            return a
    raise DataError(
        f"unknown activity {name!r}; known: {', '.join(EXERCISES)} (non-activity: {', '.join(REST_KINDS)}, "
        f"or 'rest')"
    )


@dataclass(frozen=True)
class Style:
    """How one synthetic subject moves."""

    body: Body
    handedness: str  #: "r" or "l"
    tempo: float  #: multiplies rep duration (1.2 = 20 % slower)
    rom: float  #: multiplies range of motion
    asymmetry: float  #: the non-dominant arm's range relative to the dominant one
    rep_cv: float  #: rep-to-rep variability of duration (coefficient of variation)
    amp_cv: float  #: rep-to-rep variability of range
    fatigue_slow: float  #: last rep of a set is this much slower than the first (0.15 = 15 %)
    fatigue_small: float  #: and this much smaller
    wobble_rad: float  #: amplitude of the slow postural wobble on every angle
    posture: dict[str, float] = field(default_factory=dict)  #: per-channel offsets of the start posture

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Style:
        """A random subject."""
        trunk = ("pitch", "roll", "bend", "side", "twist")
        posture = {
            c: float(rng.normal(0.0, 0.025 if c in trunk else 0.05)) for c in CHANNELS if c not in _NOT_ANGLES
        }
        return cls(
            body=Body.sample(rng),
            handedness="r" if rng.random() < 0.88 else "l",
            tempo=float(np.exp(rng.normal(0.0, TEMPO_LOG_SD))),
            rom=float(np.clip(rng.normal(1.0, 0.08), 0.8, 1.15)),
            asymmetry=float(rng.uniform(0.9, 1.0)),
            rep_cv=float(rng.uniform(0.03, 0.1)),
            amp_cv=float(rng.uniform(0.02, 0.08)),
            fatigue_slow=float(rng.uniform(0.0, 0.25)),
            fatigue_small=float(rng.uniform(0.0, 0.12)),
            wobble_rad=float(rng.uniform(0.005, 0.02)),
            posture=posture,
        )


def _smootherstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (x * (6 * x - 15) + 10)


def rep_profile(u: np.ndarray, profile: tuple[float, float, float]) -> np.ndarray:
    """Rep position 0 -> 1 -> 0 over phase ``u`` in [0, 1): smootherstep out, hold, smootherstep back, hold."""
    out, hold, back = profile
    return _smootherstep(u / out) - _smootherstep((u - out - hold) / back)


def _burpee(kind: str, u: np.ndarray) -> np.ndarray:
    """Burpee phases: crouch (0-0.2), kick back to a plank (0.2-0.55), crouch again (0.55-0.75), jump (0.75-1)."""
    s = _smootherstep
    crouch = s(u / 0.15) - s((u - 0.2) / 0.1) + s((u - 0.5) / 0.1) - s((u - 0.7) / 0.08)
    plank = s((u - 0.2) / 0.12) - s((u - 0.45) / 0.12)
    floor = s((u - 0.08) / 0.14) - s((u - 0.58) / 0.14)
    jump = s((u - 0.74) / 0.12) - s((u - 0.86) / 0.13)
    return {"burpee_crouch": crouch, "burpee_pitch": plank, "burpee_floor": floor, "burpee_jump": jump}[kind]


def _stroke(u: np.ndarray, profile: tuple[float, float, float]) -> np.ndarray:
    """A swing: 0 -> +1 (take-back, ``profile[0]``), fast to -1 (the stroke, ``profile[1]``), back to 0
    (``profile[2]``), then hold."""
    back, swing, ret = profile
    s = _smootherstep
    return s(u / back) - 2.0 * s((u - back) / swing) + s((u - back - swing) / ret)


def _wave(kind: str, u: np.ndarray, k: np.ndarray, profile: tuple[float, float, float]) -> np.ndarray:
    cyc = k + u
    if kind == "rep":
        return rep_profile(u, profile)
    if kind in ("alt", "altb"):
        even = (k % 2 == 0) if kind == "alt" else (k % 2 == 1)
        return rep_profile(u, profile) * even
    if kind == "sin":
        return np.sin(2 * _PI * cyc)
    if kind == "cos":
        return np.cos(2 * _PI * cyc)
    if kind == "sinh":  # half rate: one cycle per two reps (arm swing while walking)
        return np.sin(_PI * cyc)
    if kind == "cosh":
        return np.cos(_PI * cyc)
    if kind == "bump2":
        return 0.5 - 0.5 * np.cos(4 * _PI * u)
    if kind == "ramp":  # metres per rep, cumulative
        return cyc
    if kind == "stairs":  # metres per rep, cumulative, rising smoothly during each step
        return k + _smootherstep(u)
    if kind == "once":  # the first rep moves to the end posture, which is then held (transitions)
        return np.where(k == 0, _smootherstep(u), 1.0)
    if kind == "oncebump":  # out and back during the first rep only
        return np.where(k == 0, np.sin(_PI * u) ** 2, 0.0)
    if kind == "stroke":
        return _stroke(u, profile)
    if kind == "stroke2":  # raised at both ends of a swing, down through the stroke
        return _stroke(u, profile) ** 2
    if kind.startswith("flight"):  # a parabola over the last (100 - NN) % of the rep: airborne
        c = int(kind[6:]) / 100.0
        f = np.clip((u - c) / (1.0 - c), 0.0, 1.0)
        return 4.0 * f * (1.0 - f)
    if kind.startswith("contact"):  # a half sine over the first NN % of the rep: the landing's give
        c = int(kind[7:]) / 100.0
        return np.where(u < c, np.sin(_PI * np.clip(u / c, 0.0, 1.0)), 0.0)
    if kind.startswith("burpee"):
        return _burpee(kind, u)
    raise DataError(f"unknown wave {kind!r}")


def _sides(key: str, active: str) -> list[str]:
    other = "l" if active == "r" else "r"
    key = key.lstrip("~")
    head, _, tail = key.partition(".")
    if not tail:
        return [key]
    if head in ("arms", "legs"):
        return [f"r.{tail}", f"l.{tail}"]
    if head == "a":
        return [f"{active}.{tail}"]
    if head == "o":
        return [f"{other}.{tail}"]
    return [key]


def smooth_noise(
    n: int, rate_hz: float, rng: np.random.Generator, k: int = 1, f_lo: float = 0.05, f_hi: float = 0.6
) -> np.ndarray:
    """``k`` band-limited noises of unit RMS, each four random sinusoids between ``f_lo`` and ``f_hi`` Hz:
    (n, k)."""
    t = np.arange(n) / rate_hz
    f = rng.uniform(f_lo, f_hi, (4, k))
    ph = rng.uniform(0, 2 * _PI, (4, k))
    return np.sin(2 * _PI * t[:, None, None] * f[None] + ph[None]).sum(1) / np.sqrt(2.0)


def sample_rep_s(act: Activity, style: Style, rng: np.random.Generator) -> float:
    """Seconds per cycle of one bout or set of ``act`` by subject ``style``.

    The subject's tempo (log-normal, sd :data:`TEMPO_LOG_SD`) and a bout's own (sd :data:`BOUT_LOG_SD`) place the
    cycle in ``act.cycle_s``, which spans two standard deviations either side of its geometric middle (so about
    95 % of bouts fall inside; the rest are clipped to its ends). A slow subject (tempo > 1) gets longer cycles in
    every activity. For the original exercises (range ``rep_s * exp(+-0.32)``) this is ``rep_s * tempo *
    exp(N(0, 0.05))`` as before. The pendulum swings at the arm's natural frequency (sqrt of arm length).
    """
    lo, hi = act.cycle_s  # type: ignore[misc]
    if act.pendulum:
        arm_m = style.body.upper_arm_m + style.body.forearm_m
        period = act.rep_s * float(np.sqrt(arm_m / 0.55) * np.exp(rng.normal(0.0, 0.04)))
        return float(np.clip(period, lo, hi))
    z = (np.log(style.tempo) + rng.normal(0.0, BOUT_LOG_SD)) / float(np.hypot(TEMPO_LOG_SD, BOUT_LOG_SD))
    mid, half = float(np.sqrt(lo * hi)), float(np.log(hi / lo)) / 2
    return mid * float(np.exp(half * np.clip(z / 2, -1.0, 1.0)))


def segment_channels(
    act: Activity,
    n: int,
    rate_hz: float,
    style: Style,
    rng: np.random.Generator,
    active: str = "r",
    rep_s: float | None = None,
) -> np.ndarray:
    """Render ``n`` samples of an activity as joint-angle channels.

    Args:
        act: the activity.
        n: samples.
        rate_hz: sampling rate.
        style: the subject.
        rng: randomness for rep timing, ranges and wobble.
        active: "r" or "l", the exercising arm of a unilateral activity (and the leading side otherwise).
        rep_s: seconds per cycle (the first, before fatigue); default drawn by :func:`sample_rep_s`.
    Returns:
        (n, len(CHANNELS)) float64, columns in :data:`CHANNELS` order.
    """
    idx = {c: i for i, c in enumerate(CHANNELS)}
    out = np.zeros((n, len(CHANNELS)))
    for src in (STANDING, act.base):
        for key, v in src.items():
            for c in _sides(key, active):
                out[:, idx[c]] = v
    for c, off in style.posture.items():
        out[:, idx[c]] += off
    # every set is done a little differently: the arm's start posture and the range of motion vary per set
    # (real recordings of one exercise spread about twice as much between people and sets as per-subject
    # offsets alone give)
    out[:, _SET_COLS] += rng.normal(0.0, _SET_SD)[None, :]
    set_rom = float(np.exp(rng.normal(0.0, 0.12)))
    t = np.arange(n) / rate_hz
    period = sample_rep_s(act, style, rng) if rep_s is None else float(rep_s)
    if not (np.isfinite(period) and period > 0):
        raise DataError(f"{act.name}: seconds per cycle must be a positive number, got {rep_s!r}")
    # a longer window lets "irregular" cycles shrink without running out of reps
    n_reps = int(np.ceil(n / rate_hz / (period * 0.8 * np.exp(-3 * act.irregular)))) + 2
    # continuous activities do not tire within a bout the way a set does
    ramp = np.linspace(0.0, 1.0, n_reps) * (not act.continuous)
    dur = period * (1 + style.fatigue_slow * ramp) * np.exp(rng.normal(0.0, style.rep_cv, n_reps))
    if act.group == "rest":
        dur = np.full(n_reps, period)
    # held and continuous activities start anywhere in their cycle
    starts = np.concatenate([[0.0], np.cumsum(dur)[:-1]]) - rng.uniform(0, 0.3) * dur[0] * (
        act.group == "rest" or act.continuous
    )
    if act.irregular > 0:
        dur = dur * np.exp(np.clip(rng.normal(0.0, act.irregular, n_reps), -3 * act.irregular, None))
        starts = starts[0] + np.concatenate([[0.0], np.cumsum(dur)[:-1]])
    k = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, n_reps - 1)
    u = np.clip((t - starts[k]) / dur[k], 0.0, 1.0 - 1e-9)
    amp_rep = (
        style.rom * set_rom * (1 - style.fatigue_small * ramp) * np.exp(rng.normal(0.0, style.amp_cv, n_reps))
    )
    if act.irregular > 0:
        amp_rep = amp_rep * np.exp(rng.normal(0.0, act.irregular / 2, n_reps))
    amp = np.interp(t, starts + dur / 2, amp_rep)
    prof = tuple(float(p * np.exp(rng.normal(0, 0.15))) for p in act.profile)
    scale = sum(prof)
    if scale > 0.98:
        prof = tuple(p * 0.98 / scale for p in prof)
    # travelling starts and ends at rest: the speed of "ramp"/"stairs" moves eases in and out over
    # TRAVEL_EASE_S (a step-change of 3 m/s between two samples would read as a 10 g jolt)
    ease = _smootherstep(t / TRAVEL_EASE_S) * _smootherstep((t[-1] - t) / TRAVEL_EASE_S)
    for m in act.moves:
        w = _wave(m.wave, u, k, prof)  # type: ignore[arg-type]
        if m.wave in ("ramp", "stairs"):
            w = np.concatenate([[0.0], np.cumsum(np.diff(w) * ease[1:])]) + w[0]
            if m.wave == "stairs" and m.amp < 0:
                w = w - w[-1]  # a descent ends on the ground floor
        sign = -1.0 if m.key.startswith("~") and active == "l" else 1.0  # "~": mirrors with the side
        for c in _sides(m.key, active):
            a = sign * m.amp * (1.0 if m.wave in ("ramp", "stairs") else amp)
            if (
                act.group != "rest"
                and c[:2] in ("r.", "l.")
                and c[2:] in ARM_CHANNELS
                and c[0] != style.handedness
            ):
                a = a * style.asymmetry
            out[:, idx[c]] += a * w
    out[:, ANGLE_COLS] += style.wobble_rad * smooth_noise(n, rate_hz, rng, len(ANGLE_COLS))
    # joint limits: knees do not hyperextend, elbows stay bent enough (15 deg) that the elbow plane fixes the
    # forearm roll the virtual IMU sees (see imu.forearm_frames)
    for s in "rl":
        np.maximum(out[:, idx[f"{s}.knee"]], 0.0, out=out[:, idx[f"{s}.knee"]])
        np.maximum(out[:, idx[f"{s}.elbow"]], MIN_ELBOW_RAD, out=out[:, idx[f"{s}.elbow"]])
    return out


def transition_channels(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples moving smoothly (smootherstep) from channel vector ``a`` to ``b``, (n, C)."""
    w = _smootherstep((np.arange(n) + 1) / (n + 1))[:, None]
    return (1 - w) * a[None, :] + w * b[None, :]


def smooth_channels(ch: np.ndarray, rate_hz: float, sigma_s: float = 0.03) -> np.ndarray:
    """Gaussian low-pass along time: removes the kinks where segments meet so accelerations stay physical."""
    return gaussian_filter1d(ch, sigma_s * rate_hz, axis=0, mode="nearest")


def channel_dict(ch: np.ndarray) -> dict[str, np.ndarray]:
    """(T, C) channel matrix -> name -> (T,) view."""
    return {c: ch[:, i] for i, c in enumerate(CHANNELS)}
