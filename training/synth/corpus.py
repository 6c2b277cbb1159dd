"""The synthetic corpus: many subjects' random workouts, windowed into the dataset format with text pairs.

Each *session* is one subject wearing the watch on one wrist through a random workout (a few exercises, 1-3
sets each, rests of standing / shifting / walking / hands on hips / arms crossed between them, smooth
transitions). Sessions are planned up front from the seed, rendered (in parallel with ``workers``), cut into
``WINDOW``-sample windows at ``HOP``, and written with :func:`mujo_edge.training.data.format.write_dataset`.

Every array is in the right-wrist frame of ``AXIS_CONVENTION``, as the importers store real data: a left-wrist
session is mirrored (pose reflected across the sagittal plane, watch read on the reflected right wrist).

Window label: the majority label of its samples. Window text: a random title or description of the most
frequent activity among the samples carrying that label (non-activity windows get the texts of their kind of
rest, or of "transition"), so a window's text always belongs to its label.

Subject ids are ``SYNTH_SUBJECT_BASE + i`` (1,000,000 and up) so they never collide with real subject ids
(seglearn 1-10, MM-Fit workout numbers); recording ids are session numbers 0, 1, ...
"""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mujo_edge import __version__
from mujo_edge._checks import count, number
from mujo_edge.constants import HOP, N_JOINTS, RATE_HZ, WINDOW
from mujo_edge.errors import DataError
from mujo_edge.windows import sliding_windows, window_starts

from .imu import SensorModel
from .motion import ACTIVITIES, EXERCISES, NON_ACTIVITY, Activity, Style, resolve_activity, sample_rep_s
from .placement import (
    DEFAULT_SOURCE_RATES_HZ,
    ORIENTATIONS,
    PLACEMENT_NAMES,
    PLACEMENTS,
    SOURCE_RATE_RANGE_HZ,
    VARIANTS,
    WRIST_PLACEMENTS,
    random_mounting,
    resolve_placements,
    worn_mounting,
)
from .text import activity_texts, label_text
from .workout import KINDS, Step, render, render_channels

log = logging.getLogger(__name__)

#: Synthetic subject ids start here.
SYNTH_SUBJECT_BASE = 1_000_000
#: Rest kinds between sets of one exercise, and between exercises (walking to the next station).
_SET_RESTS = ("rest_standing", "shifting", "hands_on_hips", "arms_crossed")
_EXERCISE_RESTS = (*_SET_RESTS, "rest_walking")
#: Runs of a transition (sit-to-stand...) in one block, each followed by a hold of 1-3 s: about as many
#: seconds as a bout of anything else.
_TRANSITION_RUNS = (8, 16)
#: Which kind of session each activity family is done in.
SESSION_OF_FAMILY = {
    "locomotion": "everyday",
    "posture": "everyday",
    "transition": "everyday",
    "daily": "everyday",
    "sports": "sports",
    "gym": "gym",
    "physio": "physio",
}
#: Seconds one activity fills in a session (a bout of a continuous activity, or its sets together), about the
#: same in every kind of session so the corpus stays class-balanced: bouts 20-110 s, 1-3 sets of 20-45 s.
_BOUT_S = (20.0, 110.0)
_SET_S = (20.0, 45.0)
#: Share of windows paired with a text that names the placement (and the variant); the rest get the plain
#: activity text.
PLACEMENT_TEXT_SHARE = 0.5
#: Composed texts per (activity, placement, variant).
_COMPOSED_PER_COMBO = 2
_COMPOSE = ("{a}, {p}", "{p}: {a}", "{a} ({p})", "{a} with the {p}")
_LINEAR_PHRASES = ("linear acceleration", "gravity removed", "acceleration without gravity")


@dataclass(frozen=True)
class SessionPlan:
    """What one session renders: everything needed to reproduce it in a worker."""

    index: int
    subject: int
    wrist: Literal["left", "right"]  #: the watch's wrist, or the arm of one-arm moves off the wrists
    steps: tuple[Step, ...]
    seed: tuple[int, ...]
    placement: str = "left_wrist"  #: where the device is worn for the whole session
    variant: str = "gravity"  #: "gravity" or "linear"
    orientation: str = "worn"  #: "worn" or "random"
    source_rate_hz: float = RATE_HZ  #: the device's own sampling rate
    session: str = "gym"  #: everyday, gym, sports or physio


def default_subjects(hours: float) -> int:
    """Synthetic subjects for a corpus of ``hours``: 20 per hour, at least 10, at most 1000."""
    return int(np.clip(round(hours * 20), 10, 1000))


def subject_style(seed: int, subject: int) -> Style:
    """The body and movement style of synthetic subject number ``subject`` (0-based) of corpus ``seed``."""
    return Style.sample(np.random.default_rng([seed, 1, subject]))


def session_kind(act: Activity) -> str:
    """The kind of session an activity is done in: everyday, gym, sports or physio."""
    return SESSION_OF_FAMILY.get(act.family, "everyday")


def _deal(deck: list[str], rng: np.random.Generator, exercises: Sequence[str], kind: str | None) -> str:
    """The next activity of ``kind`` (any if None) from ``deck``, refilled with a shuffled ``exercises`` when it
    holds none: every activity is dealt once per round, so the corpus is close to class-balanced."""
    while True:
        for i in range(len(deck) - 1, -1, -1):
            if kind is None or session_kind(ACTIVITIES[deck[i]]) == kind:
                return deck.pop(i)
        deck[:0] = rng.permutation(list(exercises)).tolist()


def plan_session(
    rng: np.random.Generator,
    deck: list[str],
    exercises: Sequence[str],
    seconds: float,
    style: Style,
    watch_side: str,
) -> list[Step]:
    """A random session of about ``seconds``, of the kind of the first activity dealt from ``deck``:

    - gym and physio: 1-3 sets of 20-45 s per exercise, a short rest after each set, a longer one (often
      walking) between exercises;
    - sports: as gym, continuous ones (cycling, rowing) as one bout of 20-110 s, rests of 5-20 s;
    - everyday: bouts of 20-110 s of locomotion, postures and daily activities (repeated ones such as
      drinking or sit-to-stand in 1-3 runs of 20-45 s), sometimes a short pause between them.

    Activities are dealt from ``deck`` (refilled with a shuffled ``exercises`` when empty) so that a corpus is
    close to class-balanced; one session holds one kind of activity."""
    steps = [Step("rest", float(rng.uniform(3, 8)), str(rng.choice(_SET_RESTS)))]
    total = steps[0].seconds
    kind: str | None = None
    while total < seconds:
        act = ACTIVITIES[_deal(deck, rng, exercises, kind)]
        kind = session_kind(act)
        everyday = kind == "everyday"
        if act.continuous:
            steps.append(Step(act.name, float(rng.uniform(*_BOUT_S))))
        elif act.family == "transition":
            # one movement, then the end posture held; the way back to the start is a (non-activity) transition
            for _ in range(int(rng.integers(*_TRANSITION_RUNS))):
                steps.append(Step(act.name, sample_rep_s(act, style, rng) + float(rng.uniform(1.0, 3.0))))
        else:
            n_sets = int(rng.integers(1, 4))
            for s in range(n_sets):
                # sets last 20-45 s whatever the rep length (so classes stay balanced), within the usual rep counts
                rep_s = sample_rep_s(act, style, rng)
                reps = int(np.clip(round(rng.uniform(*_SET_S) / rep_s), act.reps[0], 2 * act.reps[1]))
                side = None
                if act.unilateral and rng.random() < 0.3:
                    side = "l" if watch_side == "r" else "r"
                steps.append(Step(act.name, reps * rep_s, side=side))
                if s < n_sets - 1:
                    rest_s = rng.uniform(2, 6) if everyday else rng.uniform(4, 12)
                    steps.append(Step("rest", float(rest_s), str(rng.choice(_SET_RESTS))))
        if not everyday:
            lo, hi = (5, 20) if kind == "sports" else (5, 15)
            steps.append(Step("rest", float(rng.uniform(lo, hi)), str(rng.choice(_EXERCISE_RESTS))))
        elif rng.random() < 0.3:
            steps.append(Step("rest", float(rng.uniform(3, 10)), str(rng.choice(_EXERCISE_RESTS))))
        total = sum(x.seconds for x in steps)
    return steps


def _dealer(items: Sequence[Any], rng: np.random.Generator) -> Callable[[], Any]:
    """Deal ``items`` in shuffled rounds: every item once per round (balanced over sessions)."""
    deck: list[Any] = []

    def deal() -> Any:
        if not deck:
            deck.extend(items[i] for i in rng.permutation(len(items)))
        return deck.pop()

    return deal


def plan_corpus(
    hours: float,
    seed: int,
    subjects: int,
    wrist: Literal["left", "right", "both"] | None,
    exercises: Sequence[str],
    placements: Sequence[str] | None = None,
    variants: Sequence[str] = VARIANTS,
    source_rates_hz: Sequence[float] = DEFAULT_SOURCE_RATES_HZ,
    orientations: Sequence[str] = ORIENTATIONS,
) -> list[SessionPlan]:
    """Sessions until their planned duration reaches ``hours``; sessions last about ``hours / subjects`` each
    (1 to 10 minutes) so that every subject appears. Each session wears one device one way: its placement,
    variant, orientation and source rate are dealt in shuffled rounds, so every value is about equally common.
    ``wrist`` (not None) restricts the placements to that wrist ("both": either wrist)."""
    rng = np.random.default_rng([seed, 0])
    if wrist is not None:
        placements = list(WRIST_PLACEMENTS) if wrist == "both" else [f"{wrist}_wrist"]
    placements = resolve_placements(placements)
    deal_place = _dealer(placements, rng)
    deal_variant = _dealer(list(variants), rng)
    deal_rate = _dealer([float(r) for r in source_rates_hz], rng)
    deal_orient = _dealer(list(orientations), rng)
    # planned sessions overshoot their target by up to one exercise block, so aim 40 % short
    mean_s = float(np.clip(0.6 * hours * 3600 / subjects, 60, 600))
    plans: list[SessionPlan] = []
    deck: list[str] = []
    total = 0.0
    while total < hours * 3600:
        i = len(plans)
        subject = int(rng.integers(subjects)) if i >= subjects else i  # every subject appears at least once
        style = subject_style(seed, subject)
        place = PLACEMENTS[deal_place()]
        if place.segment == "forearm":
            w = "left" if place.side == "l" else "right"
        else:  # one-arm moves use the device's side, or the dominant arm for a device on the trunk
            w = "left" if (place.side or style.handedness) == "l" else "right"
        secs = min(float(rng.uniform(0.6, 1.4)) * mean_s, hours * 3600 - total + 30)
        steps = plan_session(rng, deck, exercises, secs, style, "r" if w == "right" else "l")
        total += sum(s.seconds for s in steps)
        plans.append(
            SessionPlan(
                i,
                subject,
                w,  # type: ignore[arg-type]
                tuple(steps),
                (seed, 2, i),
                placement=place.name,
                variant=deal_variant(),
                orientation=deal_orient(),
                source_rate_hz=deal_rate(),
                session=session_kind(ACTIVITIES[next(x.activity for x in steps if x.activity != "rest")]),
            )
        )
    return plans


@dataclass
class SessionWindows:
    """Windows of one rendered session."""

    acc: np.ndarray | None  #: (n, WINDOW, 3) float32, g (None once spooled to disk)
    gyr: np.ndarray | None  #: (n, WINDOW, 3) float32, rad/s (None once spooled, or not simulated)
    pose: np.ndarray | None  #: (n, WINDOW, 17, 3) float32, m (None once spooled to disk)
    label: np.ndarray  #: (n,) int64
    kind: np.ndarray  #: (n,) int64 index into KINDS
    start: np.ndarray  #: (n,) int64


def _counts(per_sample: np.ndarray, n_values: int, starts: np.ndarray, window: int) -> np.ndarray:
    """How often each value occurs in each window: (n_windows, n_values)."""
    onehot = np.zeros((per_sample.size + 1, n_values), dtype=np.int32)
    onehot[np.arange(per_sample.size) + 1, per_sample] = 1
    csum = onehot.cumsum(axis=0)
    return csum[starts + window] - csum[starts]


def _window_labels(
    label: np.ndarray, kind: np.ndarray, n_labels: int, starts: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per window: the majority label (ties: the smaller index), and the most frequent activity among the
    samples that carry that label (so a window's text always matches its label)."""
    win_label = _counts(label, n_labels, starts, window).argmax(axis=1)
    kind_counts = _counts(kind, len(KINDS), starts, window)
    # each kind's label in this recording (a kind's samples all carry one label)
    kind_label = np.full(len(KINDS), -1)
    kind_label[kind] = label
    agree = kind_label[None, :] == win_label[:, None]
    return win_label, np.where(agree, kind_counts, -1).argmax(axis=1)


def render_session(
    plan: SessionPlan,
    corpus_seed: int,
    labels: Sequence[str],
    with_gyr: bool,
    rate_hz: float,
    sensor: SensorModel | None,
    window: int,
    hop: int,
) -> SessionWindows:
    """Render a planned session and cut it into windows."""
    rng = np.random.default_rng(list(plan.seed))
    style = subject_style(corpus_seed, plan.subject)
    active = "r" if plan.wrist == "right" else "l"
    channels, kind = render_channels(plan.steps, style, rng, rate_hz, active)
    place = PLACEMENTS[plan.placement]
    mounting = worn_mounting(place, rng) if plan.orientation == "worn" else random_mounting(rng)
    rec = render(
        channels,
        kind,
        style,
        plan.wrist,
        rate_hz,
        rng,
        sensor,
        labels,
        frame="convention",
        placement=plan.placement,
        mounting=mounting,
        variant=plan.variant,  # type: ignore[arg-type]
        source_rate_hz=plan.source_rate_hz,
    )
    starts = window_starts(len(rec.kind), window, hop)
    win_label, win_kind = _window_labels(rec.label, rec.kind, len(labels), starts, window)
    return SessionWindows(
        acc=sliding_windows(rec.acc_g, window, hop),
        gyr=sliding_windows(rec.gyr_rad_s, window, hop) if with_gyr else None,
        pose=sliding_windows(rec.pose_m, window, hop),
        label=win_label.astype(np.int64),
        kind=win_kind.astype(np.int64),
        start=starts,
    )


def _render_star(args: tuple[Any, ...]) -> SessionWindows:
    return render_session(*args)


def generate_corpus(
    out: str | Path,
    hours: float,
    seed: int = 0,
    subjects: int | None = None,
    wrist: Literal["left", "right", "both"] | None = None,
    with_gyr: bool = False,
    activities: Sequence[str] | None = None,
    workers: int = 1,
    sensor: SensorModel | None = None,
    rate_hz: float = RATE_HZ,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    placements: Sequence[str] | str | None = None,
    variants: Sequence[str] = VARIANTS,
    source_rates_hz: Sequence[float] = DEFAULT_SOURCE_RATES_HZ,
    orientation: Literal["worn", "random", "both"] = "both",
) -> Any:
    """Generate the synthetic corpus and write it as a dataset folder.

    Args:
        out: output folder.
        hours: total duration of the rendered sessions (about ``hours * 3600`` windows at hop 1 s).
        seed: everything follows from it: same seed, same content hash.
        subjects: synthetic subjects (default :func:`default_subjects`).
        wrist: restricts the placements to the wrists: "left", "right", or "both" (either, per session);
            ``None`` (default): ``placements`` decide.
        with_gyr: also write ``gyr.npy``.
        activities: exercises to include (labels or long names); default all of :data:`EXERCISES`.
        workers: processes rendering sessions (the output does not depend on it).
        sensor: sensor model (default :class:`SensorModel`).
        progress: called with (sessions done, sessions total).
        encode: text encoder (default :func:`mujo_edge.training.text.encode_texts`).
        placements: placement ids (:data:`~.placement.PLACEMENT_NAMES`, a list or comma-separated; default
            all), one per session, dealt so each is about equally common.
        variants: "gravity" and/or "linear" (gravity removed), per session.
        source_rates_hz: device rates (Hz) simulated before the grid, per session.
        orientation: "worn" (plausible wearing orientations), "random" (uniform over all rotations) or "both".
    Returns:
        the written :class:`mujo_edge.training.data.format.Dataset`.
    """

    hours = number(
        hours,
        "hours",
        hi=1e5,
        fix="pass a positive number of hours of sessions to render, e.g. 2",
        error=DataError,
    )
    seed = count(seed, "seed", 0, "pass a whole-number random seed", DataError)
    if subjects is not None:
        subjects = count(subjects, "subjects", 1, "pass how many synthetic subjects (or None)", DataError)
    workers = count(workers, "workers", 1, "pass how many processes render sessions", DataError)
    rate_hz = number(
        rate_hz, "rate_hz", hi=1e4, fix="pass the output sample rate in Hz, e.g. 50", error=DataError
    )
    if wrist not in (None, "left", "right", "both"):
        raise DataError(f"wrist must be left, right or both, got {wrist!r}")
    placement_list = resolve_placements(placements)
    if wrist is not None:  # --wrist restricts to watches on the wrists
        placement_list = list(WRIST_PLACEMENTS) if wrist == "both" else [f"{wrist}_wrist"]
    # a single str is a comma-separated list, as for placements (not its letters)
    if isinstance(variants, str):
        variants = variants.split(",")
    if isinstance(activities, str):
        activities = [a for a in activities.split(",") if a.strip()]
    variants = [v.strip() for v in variants if isinstance(v, str) and v.strip()] + [
        repr(v) for v in variants if not isinstance(v, str)
    ]
    if not variants or any(v not in VARIANTS for v in variants):
        raise DataError(f"variants must be among {', '.join(VARIANTS)}, got {', '.join(variants) or 'none'}")
    if orientation not in ("worn", "random", "both"):
        raise DataError(f"orientation must be worn, random or both, got {orientation!r}")
    orientations = list(ORIENTATIONS) if orientation == "both" else [orientation]
    rates = [float(r) for r in source_rates_hz]
    lo, hi = SOURCE_RATE_RANGE_HZ
    if not rates or any(not lo <= r <= hi for r in rates):
        raise DataError(
            f"source rates must be {lo:g}-{hi:g} Hz, got {', '.join(f'{r:g}' for r in rates) or 'none'}"
        )
    exercises = list(EXERCISES) if not activities else []
    for a in activities or []:
        act = resolve_activity(a)
        if act.group == "rest":
            raise DataError(f"{a!r} is a non-activity kind; rests are always included, list exercises only")
        if act.name not in exercises:
            exercises.append(act.name)
    exercises = [e for e in EXERCISES if e in exercises]
    labels = [*exercises, NON_ACTIVITY]
    n_subjects = default_subjects(hours) if subjects is None else int(subjects)
    if n_subjects < 1:
        raise DataError(f"--subjects must be at least 1, got {subjects}")
    sensor = SensorModel() if sensor is None else sensor
    plans = plan_corpus(
        hours, seed, n_subjects, wrist, exercises, placement_list, variants, rates, orientations
    )
    args = [(p, seed, labels, with_gyr, rate_hz, sensor, WINDOW, HOP) for p in plans]
    from mujo_edge.training.data.format import check_dataset_out

    out = Path(out)
    check_dataset_out(out, overwrite, " or pass --overwrite")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".synth-spool-", dir=out.parent) as spool_dir:
        # the windows of every session (pose: 20 KB each, acc and gyr 1.2 KB) go to spool files as sessions
        # finish, so memory does not grow with the corpus; write_dataset then streams them from read-only
        # memory maps (clean file pages the kernel can drop, not process memory)
        names = ["acc", "pose", *(["gyr"] if with_gyr else [])]
        files = {k: open(Path(spool_dir) / f"{k}.f32", "wb") for k in names}  # noqa: SIM115
        parts: list[SessionWindows] = []
        try:

            def keep(i: int, part: SessionWindows) -> None:
                for k, f in files.items():
                    f.write(np.ascontiguousarray(getattr(part, k), dtype=np.float32).tobytes())
                    setattr(part, k, None)
                parts.append(part)
                if progress:
                    progress(i + 1, len(plans))

            if workers > 1:
                # forkserver, not fork: the parent may hold threads (torch, jax via litert) that a fork
                # would copy mid-lock; workers only need numpy and this module.
                ctx = multiprocessing.get_context("forkserver")
                with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
                    for i, part in enumerate(ex.map(_render_star, args, chunksize=2)):
                        keep(i, part)
            else:
                for i, job in enumerate(args):
                    keep(i, _render_star(job))
        finally:
            for f in files.values():
                f.close()
        n_windows = sum(p.label.size for p in parts)
        shapes = {"acc": (WINDOW, 3), "gyr": (WINDOW, 3), "pose": (WINDOW, N_JOINTS, 3)}
        spooled = {
            k: np.memmap(
                Path(spool_dir) / f"{k}.f32", dtype=np.float32, mode="r", shape=(n_windows, *shapes[k])
            )
            if n_windows
            else np.zeros((0, *shapes[k]), np.float32)
            for k in names
        }
        return _write(
            out,
            parts,
            plans,
            spooled,
            labels,
            exercises,
            hours,
            seed,
            n_subjects,
            wrist,
            with_gyr,
            sensor,
            rate_hz,
            overwrite,
            encode,
            {
                "placements": placement_list,
                "variants": variants,
                "source_rates_hz": rates,
                "orientations": orientations,
            },
        )


def _write(
    out: Path,
    parts: list[SessionWindows],
    plans: list[SessionPlan],
    spooled: dict[str, np.ndarray],
    labels: list[str],
    exercises: list[str],
    hours: float,
    seed: int,
    n_subjects: int,
    wrist: str | None,
    with_gyr: bool,
    sensor: SensorModel,
    rate_hz: float,
    overwrite: bool,
    encode: Callable[[list[str]], np.ndarray] | None,
    devices: dict[str, list[Any]],
) -> Any:
    """Pair windows with texts and write the dataset folder. ``devices``: the requested placements, variants,
    source rates and orientations (for the manifest)."""
    from mujo_edge.training.data.format import write_dataset

    plain = activity_texts([*exercises, *(k for k in KINDS if k not in EXERCISES)])
    text_rng = np.random.default_rng([seed, 3])
    kind_all = np.concatenate([p.kind for p in parts])
    place_all = np.concatenate(
        [
            np.full(p.label.size, PLACEMENT_NAMES.index(pl.placement))
            for p, pl in zip(parts, plans, strict=True)
        ]
    ).astype(np.int64)
    variant_all = np.concatenate(
        [np.full(p.label.size, VARIANTS.index(pl.variant)) for p, pl in zip(parts, plans, strict=True)]
    ).astype(np.int64)
    texts, text_id = pair_texts(
        plain, kind_all, place_all, variant_all, text_rng, devices["placements"], devices["variants"]
    )
    if encode is None:
        from mujo_edge.training.text import encode_texts

        encode = encode_texts
    emb = encode([t["text"] for t in texts])

    generator = {
        "name": "mujo-edge synth",
        "version": __version__,
        "hours": float(hours),
        "seed": int(seed),
        "subjects": n_subjects,
        "subject_id_base": SYNTH_SUBJECT_BASE,
        "sessions": len(plans),
        "wrist": wrist,
        "session_wrists": {
            "left": sum(p.placement == "left_wrist" for p in plans),
            "right": sum(p.placement == "right_wrist" for p in plans),
        },
        "mounting": "thumb on the wrists; each placement's wearing orientations or uniformly random (orientation)",
        "frame": "wrists: AXIS_CONVENTION (right-wrist frame), left-wrist sessions mirrored, pose included; "
        "other placements: the device's own frame (phone: x right of the screen, y up along it, z out of it)",
        **devices,
        "session_counts": {
            k: sum(pl.session == k for pl in plans) for k in ("everyday", "gym", "sports", "physio")
        },
        "placement_counts": {
            name: int((place_all == i).sum())
            for i, name in enumerate(PLACEMENT_NAMES)
            if (place_all == i).any()
        },
        "placement_text_share": PLACEMENT_TEXT_SHARE,
        "with_gyr": bool(with_gyr),
        "exercises": exercises,
        "sensor": {k: float(v) for k, v in asdict(sensor).items()},
        "world": "z up, metres, gravity (0, 0, -9.80665)",
        "text_model": "all-MiniLM-L6-v2",
    }
    return write_dataset(
        out,
        acc=spooled["acc"],
        gyr=spooled.get("gyr"),
        pose=spooled["pose"],
        label=np.concatenate([p.label for p in parts]),
        subject=np.concatenate(
            [
                np.full(p.label.size, SYNTH_SUBJECT_BASE + pl.subject)
                for p, pl in zip(parts, plans, strict=True)
            ]
        ),
        recording=np.concatenate(
            [np.full(p.label.size, pl.index) for p, pl in zip(parts, plans, strict=True)]
        ),
        start=np.concatenate([p.start for p in parts]),
        labels=labels,
        label_text=label_text(plain),
        text=emb,
        text_id=text_id,
        name=f"synth-{hours:g}h-seed{seed}",
        source="mujo-edge synthetic generator (procedural motion + virtual IMU)",
        seed=seed,
        rate_hz=rate_hz,
        overwrite=overwrite,
        extra_manifest={
            "generator": generator,
            "texts": texts,
            "kinds": list(KINDS),
            "placements": list(PLACEMENT_NAMES),
            "placement_text": {k: list(p.phrases) for k, p in PLACEMENTS.items()},
            "variants": list(VARIANTS),
            "orientations": list(ORIENTATIONS),
        },
        extra_arrays={
            "placement": place_all,
            "variant": variant_all,
            "orientation": np.concatenate(
                [
                    np.full(p.label.size, ORIENTATIONS.index(pl.orientation))
                    for p, pl in zip(parts, plans, strict=True)
                ]
            ).astype(np.int64),
            "source_rate_hz": np.concatenate(
                [np.full(p.label.size, pl.source_rate_hz) for p, pl in zip(parts, plans, strict=True)]
            ).astype(np.float32),
        },
    )


def pair_texts(
    plain: list[dict[str, str]],
    kind: np.ndarray,
    placement: np.ndarray,
    variant: np.ndarray,
    rng: np.random.Generator,
    placements: Sequence[str] = PLACEMENT_NAMES,
    variants: Sequence[str] = VARIANTS,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Every text of the corpus and the one each window is paired with.

    ``plain`` are the activity texts (:func:`~.text.activity_texts`). For every activity of ``plain`` and every
    requested placement and variant, :data:`_COMPOSED_PER_COMBO` texts join one of the activity's titles with one
    of the placement's phrases ("squats, phone in the right front pocket"), and for the linear variant a phrase
    saying so ("linear acceleration"). These texts depend only on the activities, placements and variants, not on
    the seed or the hours, so their embeddings are computed once and then come from the cache. A window gets one
    of its (activity, placement, variant) texts with probability :data:`PLACEMENT_TEXT_SHARE`, else a plain text of
    its activity (drawn with ``rng``); so text and label always agree.

    Args:
        kind, placement, variant: (N,) per-window indices into ``KINDS``, ``PLACEMENT_NAMES``, ``VARIANTS``.
    Returns:
        the texts (``{"label", "activity", "kind", "text", "placement", "variant"}``; ``placement`` and
        ``variant`` None for plain texts) and (N,) int64 indices into them.
    """
    from mujo_edge.training.text import normalize_text

    texts: list[dict[str, Any]] = [{**t, "placement": None, "variant": None} for t in plain]
    index = {t["text"]: i for i, t in enumerate(texts)}
    by_kind = {
        ki: np.array([i for i, t in enumerate(plain) if t["activity"] == k], dtype=np.int64)
        for ki, k in enumerate(KINDS)
    }
    composed_ids: dict[tuple[int, int, int], list[int]] = {}
    for ki, src in by_kind.items():
        if not src.size:
            continue
        titles = [i for i in src.tolist() if plain[i]["kind"] == "title"] or src.tolist()
        for name in placements:
            pi = PLACEMENT_NAMES.index(name)
            place = PLACEMENTS[name]
            for v in variants:
                vi = VARIANTS.index(v)
                crng = np.random.default_rng([4, ki, pi, vi])  # fixed: the same texts for every seed
                ids = []
                for _ in range(_COMPOSED_PER_COMBO):
                    act_text = plain[titles[int(crng.integers(len(titles)))]]
                    phrase = place.phrases[int(crng.integers(len(place.phrases)))]
                    raw = _COMPOSE[int(crng.integers(len(_COMPOSE)))].format(a=act_text["text"], p=phrase)
                    if v == "linear":
                        raw += ", " + _LINEAR_PHRASES[int(crng.integers(len(_LINEAR_PHRASES)))]
                    text = normalize_text(raw)
                    if text not in index:
                        index[text] = len(texts)
                        texts.append({**act_text, "text": text, "placement": name, "variant": v})
                    ids.append(index[text])
                composed_ids[(ki, pi, vi)] = ids
    text_id = np.zeros(kind.size, dtype=np.int64)
    for ki, pool in by_kind.items():
        m = kind == ki
        if m.any():
            text_id[m] = pool[rng.integers(0, pool.size, int(m.sum()))]
    composed = rng.random(kind.size) < PLACEMENT_TEXT_SHARE
    combo = (kind * len(PLACEMENT_NAMES) + placement) * len(VARIANTS) + variant
    uniq, inverse = np.unique(combo, return_inverse=True)
    for ci, c in enumerate(uniq.tolist()):
        ki, rest = divmod(c, len(PLACEMENT_NAMES) * len(VARIANTS))
        pi, vi = divmod(rest, len(VARIANTS))
        m = composed & (inverse == ci)
        if m.any():
            ids_c = np.array(composed_ids[(ki, pi, vi)])
            text_id[m] = ids_c[rng.integers(0, ids_c.size, int(m.sum()))]
    return texts, text_id
