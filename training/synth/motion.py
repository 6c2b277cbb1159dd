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

import numpy as np
from scipy.ndimage import gaussian_filter1d

from mujo_edge.errors import DataError

from .skeleton import Body

ARM_CHANNELS = ("flex", "abd", "rot", "elbow", "pron", "shrug")
LEG_CHANNELS = ("hip", "hipab", "knee")
TRUNK_CHANNELS = ("x", "y", "hop", "yaw", "pitch", "roll", "bend", "side", "twist", "neck", "floor", "anchor")
#: Every channel a rendered segment holds, in a fixed order.
CHANNELS: tuple[str, ...] = (
    *TRUNK_CHANNELS,
    *(f"{s}.{c}" for s in "rl" for c in LEG_CHANNELS),
    *(f"{s}.{c}" for s in "rl" for c in ARM_CHANNELS),
)
#: Channels that are not angles: no wobble is added to them.
_NOT_ANGLES = {"x", "y", "hop", "floor", "anchor", "r.shrug", "l.shrug"}

_ANGLE_COLS = [i for i, c in enumerate(CHANNELS) if c not in _NOT_ANGLES]

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

#: Label of everything that is not an exercise (rests, walking, transitions).
NON_ACTIVITY = "non_activity"


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
        group: "mmfit", "shoulder", "workout" or "rest" (a non-activity kind).
        rep_s: seconds per repetition at tempo 1.
        base: start posture on top of :data:`STANDING`.
        moves: what changes over a rep.
        profile: fractions of a rep for (going out, holding, coming back); the rest holds at the start.
        unilateral: one arm exercises (the ``a.`` keys), the other rests.
        reps: range of repetitions per set in a random workout.
        pendulum: the period follows the arm length (sqrt law) instead of the subject's tempo.
        effort: multiplier of the sensor model's soft-tissue wobble (1 relaxed; 4 working).
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


def _a(*moves: tuple) -> tuple[Move, ...]:
    return tuple(Move(*m) for m in moves)


_PI = np.pi
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
            {"a.abd": 0.12, "a.elbow": 0.3, "a.rot": -0.65, "a.pron": -1.8},
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
            "TRAP", "trapezius extension", "shoulder", 0.76,
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
        # --- non-activity kinds (all labelled NON_ACTIVITY) ----------------------------------------------
        Activity(
            "standing", "standing still", "rest", 6.0,
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
            "walking", "walking between sets", "rest", 0.55,
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
            tempo=float(np.exp(rng.normal(0.0, 0.15))),
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
    if kind == "bump2":
        return 0.5 - 0.5 * np.cos(4 * _PI * u)
    if kind == "ramp":  # metres per rep, cumulative
        return cyc
    if kind.startswith("burpee"):
        return _burpee(kind, u)
    raise DataError(f"unknown wave {kind!r}")


def _sides(key: str, active: str) -> list[str]:
    other = "l" if active == "r" else "r"
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


def segment_channels(
    act: Activity,
    n: int,
    rate_hz: float,
    style: Style,
    rng: np.random.Generator,
    active: str = "r",
) -> np.ndarray:
    """Render ``n`` samples of an activity as joint-angle channels.

    Args:
        act: the activity.
        n: samples.
        rate_hz: sampling rate.
        style: the subject.
        rng: randomness for rep timing, ranges and wobble.
        active: "r" or "l", the exercising arm of a unilateral activity (and the leading side otherwise).
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
    if act.pendulum:
        arm_m = style.body.upper_arm_m + style.body.forearm_m
        period = act.rep_s * float(np.sqrt(arm_m / 0.55) * np.exp(rng.normal(0.0, 0.04)))
    else:
        period = act.rep_s * style.tempo * float(np.exp(rng.normal(0.0, 0.05)))
    n_reps = int(np.ceil(n / rate_hz / (period * 0.8))) + 2
    ramp = np.linspace(0.0, 1.0, n_reps)
    dur = period * (1 + style.fatigue_slow * ramp) * np.exp(rng.normal(0.0, style.rep_cv, n_reps))
    if act.group == "rest":
        dur = np.full(n_reps, period)
    starts = np.concatenate([[0.0], np.cumsum(dur)[:-1]]) - rng.uniform(0, 0.3) * dur[0] * (
        act.group == "rest"
    )
    k = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, n_reps - 1)
    u = np.clip((t - starts[k]) / dur[k], 0.0, 1.0 - 1e-9)
    amp_rep = (
        style.rom * set_rom * (1 - style.fatigue_small * ramp) * np.exp(rng.normal(0.0, style.amp_cv, n_reps))
    )
    amp = np.interp(t, starts + dur / 2, amp_rep)
    prof = tuple(float(p * np.exp(rng.normal(0, 0.15))) for p in act.profile)
    scale = sum(prof)
    if scale > 0.98:
        prof = tuple(p * 0.98 / scale for p in prof)
    for m in act.moves:
        w = _wave(m.wave, u, k, prof)  # type: ignore[arg-type]
        for c in _sides(m.key, active):
            a = m.amp * (1.0 if m.wave in ("ramp",) else amp)
            if (
                act.group != "rest"
                and c[:2] in ("r.", "l.")
                and c[2:] in ARM_CHANNELS
                and c[0] != style.handedness
            ):
                a = a * style.asymmetry
            out[:, idx[c]] += a * w
    out[:, _ANGLE_COLS] += style.wobble_rad * smooth_noise(n, rate_hz, rng, len(_ANGLE_COLS))
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
