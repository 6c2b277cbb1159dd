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
from mujo_edge.constants import HOP, N_JOINTS, RATE_HZ, WINDOW
from mujo_edge.errors import DataError
from mujo_edge.windows import sliding_windows, window_starts

from .imu import SensorModel
from .motion import ACTIVITIES, EXERCISES, NON_ACTIVITY, Style, resolve_activity
from .text import activity_texts, label_text
from .workout import KINDS, Step, render, render_channels

log = logging.getLogger(__name__)

#: Synthetic subject ids start here.
SYNTH_SUBJECT_BASE = 1_000_000
#: Rest kinds between sets of one exercise, and between exercises (walking to the next station).
_SET_RESTS = ("standing", "shifting", "hands_on_hips", "arms_crossed")
_EXERCISE_RESTS = (*_SET_RESTS, "walking")


@dataclass(frozen=True)
class SessionPlan:
    """What one session renders: everything needed to reproduce it in a worker."""

    index: int
    subject: int
    wrist: Literal["left", "right"]
    steps: tuple[Step, ...]
    seed: tuple[int, ...]


def default_subjects(hours: float) -> int:
    """Synthetic subjects for a corpus of ``hours``: 20 per hour, at least 10, at most 1000."""
    return int(np.clip(round(hours * 20), 10, 1000))


def subject_style(seed: int, subject: int) -> Style:
    """The body and movement style of synthetic subject number ``subject`` (0-based) of corpus ``seed``."""
    return Style.sample(np.random.default_rng([seed, 1, subject]))


def plan_session(
    rng: np.random.Generator,
    deck: list[str],
    exercises: Sequence[str],
    seconds: float,
    style: Style,
    watch_side: str,
) -> list[Step]:
    """A random workout of about ``seconds``: exercises in 1-3 sets of 20-45 s, a short rest after each set, a longer one
    (often walking) between exercises. Exercises are dealt from ``deck`` (refilled with a shuffled
    ``exercises`` when empty) so that a corpus is close to class-balanced."""
    steps = [Step("rest", float(rng.uniform(3, 8)), str(rng.choice(_SET_RESTS)))]
    total = steps[0].seconds
    while total < seconds:
        if not deck:
            deck.extend(rng.permutation(list(exercises)).tolist())
        act = ACTIVITIES[deck.pop()]
        n_sets = int(rng.integers(1, 4))
        for s in range(n_sets):
            # sets last 20-45 s whatever the rep length (so classes stay balanced), within the usual rep counts
            rep_s = act.rep_s * style.tempo
            reps = int(np.clip(round(rng.uniform(20, 45) / rep_s), act.reps[0], 2 * act.reps[1]))
            side = None
            if act.unilateral and rng.random() < 0.3:
                side = "l" if watch_side == "r" else "r"
            steps.append(Step(act.name, reps * rep_s, side=side))
            if s < n_sets - 1:
                steps.append(Step("rest", float(rng.uniform(4, 12)), str(rng.choice(_SET_RESTS))))
        steps.append(Step("rest", float(rng.uniform(5, 15)), str(rng.choice(_EXERCISE_RESTS))))
        total = sum(x.seconds for x in steps)
    return steps


def plan_corpus(
    hours: float,
    seed: int,
    subjects: int,
    wrist: Literal["left", "right", "both"],
    exercises: Sequence[str],
) -> list[SessionPlan]:
    """Sessions until their planned duration reaches ``hours``; sessions last about ``hours / subjects`` each
    (1 to 10 minutes) so that every subject appears."""
    rng = np.random.default_rng([seed, 0])
    # planned sessions overshoot their target by up to one exercise block, so aim 40 % short
    mean_s = float(np.clip(0.6 * hours * 3600 / subjects, 60, 600))
    plans: list[SessionPlan] = []
    deck: list[str] = []
    total = 0.0
    while total < hours * 3600:
        i = len(plans)
        subject = int(rng.integers(subjects)) if i >= subjects else i  # every subject appears at least once
        w: Literal["left", "right"] = (
            wrist if wrist != "both" else ("left" if rng.random() < 0.5 else "right")  # type: ignore[assignment]
        )
        style = subject_style(seed, subject)
        secs = min(float(rng.uniform(0.6, 1.4)) * mean_s, hours * 3600 - total + 30)
        steps = plan_session(rng, deck, exercises, secs, style, "r" if w == "right" else "l")
        total += sum(s.seconds for s in steps)
        plans.append(SessionPlan(i, subject, w, tuple(steps), (seed, 2, i)))
    return plans


@dataclass
class SessionWindows:
    """Windows of one rendered session."""

    acc: np.ndarray  #: (n, WINDOW, 3) float32, g
    gyr: np.ndarray | None  #: (n, WINDOW, 3) float32, rad/s
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
    rec = render(channels, kind, style, plan.wrist, rate_hz, rng, sensor, labels, frame="convention")
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


def _take(parts: list[SessionWindows], name: str) -> np.ndarray:
    """Stack one array of every session, releasing each session's copy as it goes (peak memory ~1x, not 2x)."""
    first = getattr(parts[0], name)
    out = np.empty((sum(len(getattr(p, name)) for p in parts), *first.shape[1:]), dtype=first.dtype)
    i = 0
    for p in parts:
        a = getattr(p, name)
        out[i : i + len(a)] = a
        i += len(a)
        setattr(p, name, None)
    return out


def _render_star(args: tuple[Any, ...]) -> SessionWindows:
    return render_session(*args)


def generate_corpus(
    out: str | Path,
    hours: float,
    seed: int = 0,
    subjects: int | None = None,
    wrist: Literal["left", "right", "both"] = "both",
    with_gyr: bool = False,
    activities: Sequence[str] | None = None,
    workers: int = 1,
    sensor: SensorModel | None = None,
    rate_hz: float = RATE_HZ,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> Any:
    """Generate the synthetic corpus and write it as a dataset folder.

    Args:
        out: output folder.
        hours: total duration of the rendered sessions (about ``hours * 3600`` windows at hop 1 s).
        seed: everything follows from it: same seed, same content hash.
        subjects: synthetic subjects (default :func:`default_subjects`).
        wrist: the watch's wrist per session: "left", "right", or "both" (random per session).
        with_gyr: also write ``gyr.npy``.
        activities: exercises to include (labels or long names); default all of :data:`EXERCISES`.
        workers: processes rendering sessions (the output does not depend on it).
        sensor: sensor model (default :class:`SensorModel`).
        progress: called with (sessions done, sessions total).
        encode: text encoder (default :func:`mujo_edge.training.text.encode_texts`).
    Returns:
        the written :class:`mujo_edge.training.data.format.Dataset`.
    """

    if not hours > 0:
        raise DataError(f"--hours must be positive, got {hours}")
    if wrist not in ("left", "right", "both"):
        raise DataError(f"wrist must be left, right or both, got {wrist!r}")
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
    plans = plan_corpus(hours, seed, n_subjects, wrist, exercises)
    args = [(p, seed, labels, with_gyr, rate_hz, sensor, WINDOW, HOP) for p in plans]
    out = Path(out)
    if (out / "manifest.json").exists() and not overwrite:
        raise DataError(f"{out} already holds a dataset; choose another --out or pass --overwrite")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".synth-spool-", dir=out.parent) as spool_dir:
        # the pose windows (the bulk: 20 KB per window) go to a spool file as sessions finish, so memory does not
        # grow with the corpus; write_dataset then streams them from a read-only memory map
        spool = Path(spool_dir) / "pose.f32"
        parts: list[SessionWindows] = []
        with open(spool, "wb") as f:

            def keep(i: int, part: SessionWindows) -> None:
                f.write(np.ascontiguousarray(part.pose, dtype=np.float32).tobytes())
                part.pose = None  # type: ignore[assignment]
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
        n_windows = sum(p.label.size for p in parts)
        pose = np.memmap(spool, dtype=np.float32, mode="r", shape=(n_windows, WINDOW, N_JOINTS, 3))
        return _write(
            out,
            parts,
            plans,
            pose,
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
        )


def _write(
    out: Path,
    parts: list[SessionWindows],
    plans: list[SessionPlan],
    pose: np.ndarray,
    labels: list[str],
    exercises: list[str],
    hours: float,
    seed: int,
    n_subjects: int,
    wrist: str,
    with_gyr: bool,
    sensor: SensorModel,
    rate_hz: float,
    overwrite: bool,
    encode: Callable[[list[str]], np.ndarray] | None,
) -> Any:
    """Pair windows with texts and write the dataset folder."""
    from mujo_edge.training.data.format import write_dataset

    texts = activity_texts([*exercises, *(k for k in KINDS if k not in EXERCISES)])
    if encode is None:
        from mujo_edge.training.text import encode_texts

        encode = encode_texts
    emb = encode([t["text"] for t in texts])
    by_kind: dict[int, np.ndarray] = {}
    for ki, k in enumerate(KINDS):
        by_kind[ki] = np.array([i for i, t in enumerate(texts) if t["activity"] == k], dtype=np.int64)
    text_rng = np.random.default_rng([seed, 3])
    kind_all = np.concatenate([p.kind for p in parts])
    text_id = np.zeros(kind_all.size, dtype=np.int64)
    for ki, ids in by_kind.items():
        m = kind_all == ki
        if m.any():
            text_id[m] = ids[text_rng.integers(0, ids.size, int(m.sum()))]

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
            "left": sum(p.wrist == "left" for p in plans),
            "right": sum(p.wrist == "right" for p in plans),
        },
        "mounting": "thumb",
        "frame": "AXIS_CONVENTION (right-wrist frame); left-wrist sessions are mirrored, pose included",
        "with_gyr": bool(with_gyr),
        "exercises": exercises,
        "sensor": {k: float(v) for k, v in asdict(sensor).items()},
        "world": "z up, metres, gravity (0, 0, -9.80665)",
        "text_model": "all-MiniLM-L6-v2",
    }
    return write_dataset(
        out,
        acc=_take(parts, "acc"),
        gyr=_take(parts, "gyr") if with_gyr else None,
        pose=pose,
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
        label_text=label_text(texts),
        text=emb,
        text_id=text_id,
        name=f"synth-{hours:g}h-seed{seed}",
        source="mujo-edge synthetic generator (procedural motion + virtual IMU)",
        seed=seed,
        rate_hz=rate_hz,
        overwrite=overwrite,
        extra_manifest={"generator": generator, "texts": texts, "kinds": list(KINDS)},
    )
