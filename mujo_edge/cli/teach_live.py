"""``mujo-edge teach --live``: a guided recording of the user's own activities, then a bundle taught from it.

The command connects to the watch, records every notification (``stream --record``'s format) and prompts
the user through the activities in turn: "get ready", then "now: squats, 10 repetitions, or keep it up for
30 s", then the next. When the last one ends it writes the recording and a segments file (which seconds
were which activity, in ``teach --segments``' form), and teaches from them exactly as ``mujo-edge teach
--recording REC --segments SEG`` would: both files are kept, so the same bundle can be taught again, with
other settings, without asking the user to move again.

With ``--virtual`` a virtual watch's synthetic wearer does what is asked (its workout is the prompts'
schedule), which shows the flow with no watch at hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mujo_edge.errors import ConfigError, DataError, DeviceError, MissingDependencyError, MujoError

#: Seconds after each "now" prompt that are not taken as examples: the user starts moving.
SETTLE_S = 2.0
#: Seconds the recording goes on after the last activity: its last windows need the samples just after it
#: (the resampling filter's delay, the last notification on its way).
TAIL_S = 1.5
#: Seconds a guided recording waits for the watch's first samples before it gives up.
FIRST_SAMPLES_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class GuidedPlan:
    """What a guided recording asks for: each activity in turn, ``seconds`` long after ``rest_s`` to get
    ready, with ``reps`` repetitions named in its prompt. It runs in real time, also with a virtual watch:
    the segments are read on the recording's host clock, which a watch played faster would not keep."""

    activities: tuple[str, ...]
    seconds: float = 30.0
    rest_s: float = 5.0
    reps: int = 10
    window_s: float = 2.0  # the bundle's window, s: an activity must hold at least one after the settling

    def __post_init__(self) -> None:
        if len(self.activities) < 2:
            raise ConfigError(
                f"--live needs at least two --activities to tell apart, got {list(self.activities)}"
            )
        if len(set(self.activities)) < len(self.activities):
            raise ConfigError(f"--activities names one activity twice: {list(self.activities)}")
        if not (math.isfinite(self.seconds) and self.seconds > SETTLE_S + self.window_s):
            raise ConfigError(
                f"--seconds must be > {SETTLE_S + self.window_s:g}: the first {SETTLE_S:g} s of each activity "
                f"are not taken and the bundle's window is {self.window_s:g} s; got {self.seconds:g}"
            )
        if not (math.isfinite(self.rest_s) and self.rest_s >= 0) or self.reps < 1:
            raise ConfigError(f"--rest must be >= 0 and --reps >= 1; got {self.rest_s:g} and {self.reps}")

    def workout(self) -> list[dict[str, Any]]:
        """The plan as a virtual watch's workout script (its wearer follows the prompts)."""
        steps: list[dict[str, Any]] = []
        for a in self.activities:
            if self.rest_s > 0:
                steps.append({"rest": self.rest_s})
            steps.append({"activity": a, "seconds": self.seconds})
        steps.append({"rest": TAIL_S + 1.0})  # (the recording's tail, and the session stopping)
        return steps


@dataclass
class GuidedProgress:
    """What a guided recording has so far, kept when it stops early: each finished activity's segment
    ``(start, end, label)`` on the recording's host clock (its first :data:`SETTLE_S` left out), the host
    time of the watch's first sample (None before it), and the samples received."""

    segments: list[tuple[float, float, str]] = field(default_factory=list)
    first_sample_s: float | None = None
    samples: int = 0


async def guide(
    plan: GuidedPlan,
    first_sample: asyncio.Future[float],
    say: Callable[[str], None],
    clock: Callable[[], float],
    segments: list[tuple[float, float, str]],
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> list[tuple[float, float, str]]:
    """Prompt through ``plan`` on a schedule that begins at ``first_sample`` (the watch's first sample, in
    ``clock``'s seconds: the recording's host clock): activity i is asked for ``rest_s`` after the previous
    one ends. Appends each activity's segment ``(start, end, label)`` on that clock to ``segments`` as it
    ends, its first :data:`SETTLE_S` left out, and returns them."""
    t = await first_sample
    n = len(plan.activities)
    for i, act in enumerate(plan.activities, 1):
        if plan.rest_s > 0:
            say(f"[{i}/{n}] get ready: {act} in {plan.rest_s:g} s")
        t += plan.rest_s
        await sleep(max(0.0, t - clock()))
        say(f"[{i}/{n}] now: {act}, {plan.reps} repetitions, or keep it up for {plan.seconds:g} s")
        start = max(t, clock())  # (a late prompt starts the activity late)
        t = start + plan.seconds
        await sleep(max(0.0, t - clock()))
        segments.append((start + SETTLE_S, t, act))
        say(f"[{i}/{n}] stop: {act} done")
    return segments


async def record_guided(
    session: Any,
    plan: GuidedPlan,
    say: Callable[[str], None],
    clock: Callable[[], float],
    progress: GuidedProgress | None = None,
) -> GuidedProgress:
    """Stream ``session`` (which records every notification) while :func:`guide` prompts; returns the
    segments, the first sample's time and the samples received, filled into ``progress`` as they come (so
    a caller keeps them when this raises). A session that fails (not found, link lost for good) raises its
    error; what it recorded until then stays in its recording."""
    from mujo_edge.samples import SampleBatch

    got = progress if progress is not None else GuidedProgress()
    first: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def pump() -> None:
        async for item in session.stream():
            if isinstance(item, SampleBatch) and len(item):
                if got.first_sample_s is None:  # measured its notification's span before it came
                    got.first_sample_s = clock() - (len(item) - 1) / item.rate_hz
                    if not first.done():
                        first.set_result(got.first_sample_s)
                got.samples += len(item)

    pumping = asyncio.ensure_future(pump())
    prompting = asyncio.ensure_future(guide(plan, first, say, clock, got.segments))
    try:
        done, _ = await asyncio.wait(
            [pumping, prompting],
            timeout=FIRST_SAMPLES_TIMEOUT_S,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not first.done():
            if pumping in done and pumping.exception() is not None:
                raise pumping.exception()  # type: ignore[misc]
            when = "before its stream ended" if pumping in done else f"in {FIRST_SAMPLES_TIMEOUT_S:g} s"
            raise MujoError(
                f"no samples from {session.device_name} {when}: is the watch on, worn and streaming? "
                "(mujo-edge doctor checks the Bluetooth setup)"
            )
        while not prompting.done():
            done, _ = await asyncio.wait([pumping, prompting], return_when=asyncio.FIRST_COMPLETED)
            if pumping in done and not prompting.done():
                exc = pumping.exception()
                raise (
                    exc
                    if exc is not None
                    else MujoError(f"{session.device_name} stopped streaming before the last activity ended")
                )
        await asyncio.wait([pumping], timeout=TAIL_S)
        return got
    finally:
        prompting.cancel()
        with contextlib.suppress(MujoError):
            await session.stop()
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, MujoError):
            await asyncio.wait_for(pumping, 5.0)
        pumping.cancel()


def write_segments(path: Path, segments: list[tuple[float, float, str]]) -> None:
    """``teach --segments``' file: a header, then ``start_s,end_s,label`` rows."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["start_s", "end_s", "label"])
        for a, b, lab in segments:
            w.writerow([f"{a:.3f}", f"{b:.3f}", lab])


def live_paths(out: Path, record: Path | None) -> tuple[Path, Path]:
    """The recording and segments files of a guided run: ``--record`` or OUT's name with .jsonl, and the
    recording's name with .csv. Existing files are refused (a recording is never overwritten)."""
    rec = record if record is not None else out.with_suffix(".jsonl")
    seg = rec.with_suffix(".csv")
    if seg == rec:
        raise ConfigError(f"--record {rec}: name the recording .jsonl; its segments go beside it as .csv")
    for p in (rec, seg):
        if p.exists():
            raise DataError(f"{p} already exists; give --record NEW.jsonl or move the old files away")
    return rec, seg


def run_live(
    args: argparse.Namespace, window_s: float, origin_of: Callable[[Path], float]
) -> tuple[Path, Path, int]:
    """The guided recording of ``teach --live`` for a bundle of ``window_s``-second windows: returns the
    recording, its segments file and the samples received.

    The segments are written in ``teach --segments``' time base, seconds from the recording's first window:
    ``origin_of(recording)`` gives that window's host time (a replay of the recording); where it cannot,
    the first sample's host time stands in (the same within the notification's latency). They are written
    also when the recording stops early, for the activities that finished; a recording that received no
    sample is removed again, so the same command can simply be repeated.
    """
    from mujo_edge.cli._console import console
    from mujo_edge.firmware_bridge.profiles import get_profile
    from mujo_edge.firmware_bridge.record import Recorder
    from mujo_edge.firmware_bridge.session import DeviceSession
    from mujo_edge.firmware_bridge.transport import host_time_s
    from mujo_edge.gateway import RECORDING_META_KEY

    if bool(args.device) == bool(args.virtual):
        raise ConfigError("--live records one watch: give --device NAME|ADDRESS or --virtual")
    plan = GuidedPlan(tuple(args.activities), args.seconds, args.rest, args.reps, window_s)
    wrist = args.wrist or "left"
    rec, seg = live_paths(args.out, args.record)
    name = "virtual-1" if args.virtual else args.device
    target = "mujo-virtual-1" if args.virtual else args.device
    profile = get_profile(args.profile, device=name)
    settings = {
        "wrist": {name: wrist},
        "teach": {"activities": list(plan.activities), "seconds": plan.seconds},
    }
    progress = GuidedProgress()

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            if args.virtual:
                connector = await stack.enter_async_context(_virtual(plan, args.profile, wrist, args.seed))
            else:
                from mujo_edge.firmware_bridge.bleak_transport import BleakConnector

                connector = BleakConnector()
            recorder = Recorder(rec, name, profile, meta={RECORDING_META_KEY: settings, "target": target})
            stack.callback(recorder.close)
            session = DeviceSession(connector, target, profile, name, recorder=recorder)
            console.print(
                f"[bold]guided recording[/]: {', '.join(plan.activities)}; {plan.seconds:g} s each "
                f"after {plan.rest_s:g} s to get ready; recording to {rec}"
            )
            await record_guided(session, plan, lambda m: console.print(m), host_time_s, progress)

    try:
        asyncio.run(main())
    except BaseException as e:  # (KeyboardInterrupt too: what was recorded stays usable)
        if not progress.samples:
            rec.unlink(missing_ok=True)  # (a header and statuses only: nothing to keep)
            raise
        saved = _save_segments(seg, rec, progress, origin_of)
        if isinstance(e, MujoError) and not isinstance(e, MissingDependencyError | ConfigError):
            kept = f"{rec}" + (f", and the finished activities' segments in {seg}" if saved else "")
            raise DeviceError(f"{e}. What arrived until then is kept in {kept}") from e
        raise
    _save_segments(seg, rec, progress, origin_of)
    return rec, seg, progress.samples


def _save_segments(
    seg: Path, rec: Path, progress: GuidedProgress, origin_of: Callable[[Path], float]
) -> bool:
    """Write ``progress``' segments to ``seg`` relative to the recording's first window; False when there
    are none."""
    if not progress.segments:
        return False
    try:
        origin = origin_of(rec)
    except MujoError:  # (no complete window to replay, say): the first sample's time instead
        assert progress.first_sample_s is not None  # (samples arrived)
        origin = progress.first_sample_s
    write_segments(seg, [(a - origin, b - origin, lab) for a, b, lab in progress.segments])
    return True


def virtual_motion(plan: GuidedPlan, rate_hz: float, seed: int, wrist: str) -> Any:
    """(n, 3) g of a virtual wearer who does exactly what ``plan`` asks, when it asks: each step rendered
    alone (the workout generator puts transitions of its own length between steps, which would move every
    later activity away from its prompt) and cut or held to the step's length."""
    import numpy as np

    from mujo_edge.workouts import workout_motion

    parts = []
    for step in plan.workout():
        n = round(float(step.get("seconds", step.get("rest", 0.0))) * rate_hz)
        acc, _ = workout_motion([step], rate_hz, seed=seed, wrist=wrist)  # (the seed: the same wearer)
        if len(acc) < n:
            acc = np.concatenate([acc, np.repeat(acc[-1:], n - len(acc), axis=0)])
        parts.append(acc[:n])
    return np.concatenate(parts)


@contextlib.asynccontextmanager
async def _virtual(plan: GuidedPlan, profile_name: str, wrist: str, seed: int) -> Any:
    """A virtual watch on an in-process bumble link whose wearer follows ``plan``."""
    from mujo_edge.cli.stream import virtual_watch_api
    from mujo_edge.firmware_bridge.profiles import get_profile

    VirtualWatch, virtual_watches = virtual_watch_api()
    rate = get_profile(profile_name).rate_hz
    watch = VirtualWatch(
        profile_name, virtual_motion(plan, rate, seed, wrist), rate, name="mujo-virtual-1", loop=False
    )
    async with virtual_watches([watch]) as connector:
        yield connector
