"""``mujo-edge stream`` and ``mujo-edge replay``: live activity recognition from watches, and its replay.

``stream`` connects to one or many watches (a gateway: ``--device`` repeated) or to virtual ones
(``--virtual``), feeds every sample batch through one :class:`~mujo_edge.pipeline.Pipeline` and writes
activity events as JSON lines (``--events``), with a live console view of each device's activity and
stream health. ``--record`` keeps the raw notifications (one recording per device), so that
``mujo-edge replay RECORDING --bundle SAME.mujo`` yields the same events again.

Heavy parts (the BLE stack, virtual watches, the synthetic workout generator) are imported inside the
handlers; the runtime core never imports them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import logging
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mujo_edge.constants import RATE_HZ
from mujo_edge.errors import BundleError, DataError, MissingDependencyError, MujoError

if TYPE_CHECKING:
    from mujo_edge.bundle import Bundle
    from mujo_edge.events import ActivityEvent, EventWriter
    from mujo_edge.pipeline import Pipeline
    from mujo_edge.samples import SampleBatch, StreamStatus

log = logging.getLogger(__name__)

#: Where the shipped default bundle lives inside the package.
DEFAULT_BUNDLE = Path(__file__).resolve().parents[1] / "assets" / "default.mujo"
#: Seconds per activity and per rest of the default virtual workout.
DEFAULT_ACTIVITY_S = 20.0
DEFAULT_REST_S = 6.0
#: --virtual: seconds to wait for the last frames after every watch played its workout, and the most
#: seconds beyond the workout's length a run may take (connecting included) before it is stopped.
VIRTUAL_GRACE_S = 1.0
VIRTUAL_TIMEOUT_S = 30.0
#: Pipeline settings stored in a recording's header meta, so a replay repeats them.
RECORDING_META_KEY = "mujo_edge_stream"


# --------------------------------------------------------------------------------------------- bundle
def open_bundle(path: str | None) -> Bundle:
    """The bundle at ``path``, or the shipped default; BundleError says what to do when there is none."""
    from mujo_edge.bundle import Bundle

    if path is None:
        if not DEFAULT_BUNDLE.is_file():
            raise BundleError(
                f"no --bundle given and the default bundle {DEFAULT_BUNDLE} is not installed; pass "
                "--bundle model.mujo (make one with `mujo-edge export`), or reinstall mujo-edge"
            )
        path = str(DEFAULT_BUNDLE)
    return Bundle.open(path)


def make_pipeline(
    bundle: Bundle,
    fmt: str | None,
    threads: int,
    smooth: int,
    live: bool,
    calibrate: bool = True,
    wrist: str | Mapping[str, str] = "right",
) -> Pipeline:
    from mujo_edge.pipeline import Pipeline

    now = None
    if live:
        from mujo_edge.firmware_bridge.transport import host_time_s

        now = host_time_s
    return Pipeline.from_bundle(
        bundle, fmt=fmt, threads=threads, smooth=smooth, now=now, calibrate=calibrate, wrist=wrist
    )


# --------------------------------------------------------------------------------------------- workouts
def parse_script(spec: str) -> list[dict[str, Any]]:
    """A workout script: a file (JSON list ``[{"activity": "ABD", "seconds": 20}, {"rest": 5}, ...]``, or the
    synthetic generator's line format ``ABD 20`` / ``rest 5``) or inline ``"ABD:20,rest:5,FEL:20"``.

    With the training extra installed the generator's own parser reads it (reps, long names, rest kinds);
    without it, JSON lists and the inline form of activities in seconds are understood.
    """
    p = Path(spec)
    is_file = p.is_file()
    if not is_file and p.suffix == ".json":
        raise DataError(f"workout script {p} not found; give a JSON file or an inline 'ABD:20,rest:5'")
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


#: Label names that mean "no activity" (the default workout rests instead of performing them).
NON_ACTIVITY_LABELS = ("non_activity", "no activity", "rest", "none", "null", "other")


def default_script(labels: Sequence[str]) -> list[dict[str, Any]]:
    """Every activity of the bundle once, with rests between."""
    steps: list[dict[str, Any]] = []
    for lab in labels:
        if lab.strip().lower().replace("-", "_") in NON_ACTIVITY_LABELS:
            continue
        steps += [{"activity": lab, "seconds": DEFAULT_ACTIVITY_S}, {"rest": DEFAULT_REST_S}]
    return steps


def script_seconds(steps: Sequence[dict[str, Any]]) -> float:
    return float(sum(float(s.get("seconds", s.get("rest", 0))) for s in steps))


def workout_motion(
    steps: list[dict[str, Any]], rate_hz: float, seed: int = 0, wrist: str = "left"
) -> tuple[np.ndarray, str]:
    """(n, 3) float32 g of a watch on ``wrist`` doing ``steps`` at ``rate_hz``, in that watch's device axes
    (what it would stream), and where the motion came from.

    Uses the synthetic workout generator (``mujo_edge.training.synth``, numpy only) when installed, else
    real recordings of the seglearn watch dataset (the 7 shoulder exercises; rests as a still, hanging arm).
    """
    try:
        from mujo_edge.training.synth import simulate_workout  # type: ignore[attr-defined]
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


# --------------------------------------------------------------------------------------------- engine
@dataclass
class DeviceSpec:
    """One device to stream: what to look for, which profile decodes it, its stream name."""

    target: str
    profile: str
    name: str
    wrist: str = "left"


def recording_path(base: str, device: str, n_devices: int) -> Path:
    """``--record FILE`` for one device; ``FILE`` with ``-<device>`` before the suffix for several."""
    p = Path(base)
    if n_devices == 1:
        return p
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in device)
    return p.with_name(f"{p.stem}-{safe}{p.suffix or '.jsonl'}")


async def run_sessions(
    sessions: Sequence[Any],
    pipeline: Pipeline,
    on_events: Callable[[list[ActivityEvent]], None],
    duration_s: float | None = None,
    on_tick: Callable[[], None] | None = None,
    stop_event: asyncio.Event | None = None,
    tick_s: float = 0.25,
) -> None:
    """Feed every session's stream through ``pipeline`` until ``duration_s``, ``stop_event`` or all
    sessions end; ``on_events`` gets each list of new events, ``on_tick`` runs ~every ``tick_s``.

    Items of all sessions go through one queue; whatever has arrived is fed in one ``feed_many`` call, so
    windows of many devices share one model call. A session that fails (DeviceError: not found, gave up
    reconnecting) is logged and marked in its stats while the others go on (a gateway keeps serving the
    watches it has); when every session has failed, the first error is raised after the pipeline is flushed.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[SampleBatch | StreamStatus] = asyncio.Queue()
    stop_event = stop_event or asyncio.Event()

    async def pump(session: Any) -> None:
        async for item in session.stream():
            queue.put_nowait(item)

    tasks = [asyncio.ensure_future(pump(s)) for s in sessions]
    deadline = None if duration_s is None else loop.time() + duration_s
    error: BaseException | None = None
    failed: dict[str, BaseException | None] = {}

    def feed(items: list[Any]) -> None:
        if items:
            ev = pipeline.feed_many(items)
            for s in sessions:
                pipeline.note_decode_errors(s.device_name, s.stats.decode_errors)
            if ev:
                on_events(ev)

    try:
        while True:
            wait = tick_s if deadline is None else max(0.0, min(tick_s, deadline - loop.time()))
            items: list[Any] = []
            with contextlib.suppress(asyncio.TimeoutError):
                items.append(await asyncio.wait_for(queue.get(), timeout=wait))
            while not queue.empty():
                items.append(queue.get_nowait())
            feed(items)
            if on_tick is not None:
                on_tick()
            for task, session in zip(tasks, sessions, strict=True):
                if task.done() and not task.cancelled() and task.exception() is not None:
                    exc = task.exception()
                    if session.device_name not in failed:
                        failed[session.device_name] = exc
                        pipeline.note_failure(session.device_name, str(exc))
                        log.error("%s: %s", session.device_name, exc)
            if len(failed) == len(sessions) or (failed and len(sessions) == 1):
                error = next(iter(failed.values()))  # nothing left to stream: say why
                break
            if stop_event.is_set() or all(t.done() for t in tasks):
                break
            if deadline is not None and loop.time() >= deadline:
                break
    finally:
        for s in sessions:
            with contextlib.suppress(MujoError):
                await s.stop()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5.0)
            for t in pending:
                t.cancel()
        items = []
        while not queue.empty():
            items.append(queue.get_nowait())
        feed(items)
        tail = pipeline.close()
        if tail:
            on_events(tail)
        if on_tick is not None:
            on_tick()
    if error is not None:
        raise error


def replay_items(paths: Sequence[str | Path]) -> Iterator[SampleBatch | StreamStatus]:
    """The batches and statuses of one or many recordings, merged in receive order."""
    from mujo_edge.firmware_bridge.record import replay_batches

    streams = [replay_batches(p) for p in paths]
    if len(streams) == 1:
        yield from streams[0]
    else:
        yield from heapq.merge(*streams, key=lambda it: it.t_recv_s)


def replay_events(paths: Sequence[str | Path], pipeline: Pipeline, chunk: int = 256) -> list[ActivityEvent]:
    """Every event a replay of ``paths`` yields (fed ``chunk`` items at a time)."""
    events: list[ActivityEvent] = []
    buf: list[Any] = []
    for it in replay_items(paths):
        buf.append(it)
        if len(buf) >= chunk:
            events += pipeline.feed_many(buf)
            buf = []
    events += pipeline.feed_many(buf)
    return events + pipeline.close()


def recorded_settings(paths: Sequence[str | Path]) -> dict[str, Any]:
    """The pipeline settings the live run stored in the recordings' headers (empty when absent)."""
    from mujo_edge.firmware_bridge.record import read_header

    for p in paths:
        meta = read_header(p).meta.get(RECORDING_META_KEY)
        if isinstance(meta, dict):
            return meta
    return {}


# --------------------------------------------------------------------------------------------- handlers
def _per_device(values: list[str] | None, n: int, default: str, flag: str, what: str) -> list[str]:
    """One value of a repeatable flag per device: none (the default), one for all, or one each."""
    vals = values or [default]
    if len(vals) not in (1, n):
        each = "one each" if what == "virtual watches" else "one per --device"
        raise DataError(f"give one {flag} for all {n} {what}, or {each}; got {len(vals)}")
    return [vals[i if len(vals) > 1 else 0] for i in range(n)]


def _device_specs(args: argparse.Namespace) -> list[DeviceSpec]:
    devices: list[str] = args.device or []
    if args.virtual:
        n = max(1, args.virtual_count)
        targets = [f"mujo-virtual-{i + 1}" for i in range(n)]
        names = [f"virtual-{i + 1}" for i in range(n)]
        what = "virtual watches"
    elif devices:
        n, targets, names, what = len(devices), devices, devices, "devices"
    else:
        raise DataError("say what to stream from: --device NAME|ADDRESS (repeatable) or --virtual")
    profiles = _per_device(args.profile, n, "polar", "--profile", what)
    wrists = _per_device(args.wrist, n, "left", "--wrist", what)
    return [DeviceSpec(t, p, nm, w) for t, p, nm, w in zip(targets, profiles, names, wrists, strict=True)]


def cmd_stream(args: argparse.Namespace) -> int:
    from mujo_edge.cli._console import console
    from mujo_edge.events import EventWriter

    specs = _device_specs(args)
    bundle = open_bundle(args.bundle)
    wrists = {s.name: s.wrist for s in specs}
    pipeline = make_pipeline(bundle, args.format, args.threads, args.smooth, live=True, wrist=wrists)
    writer = EventWriter(args.events) if args.events else None
    settings = {
        "smooth": args.smooth,
        "format": args.format,
        "bundle_sha256": bundle_digest(bundle),
        "wrist": wrists,
    }
    console.print(
        f"[bold]mujo-edge stream[/]: {len(specs)} device(s), bundle {bundle.path.name} "
        f"({', '.join(bundle.labels)}), runner {getattr(pipeline.runner, 'name', type(pipeline.runner).__name__)}"
        + (", PIT calibration" if pipeline.calibration is not None else "")
    )
    try:
        asyncio.run(_stream_async(args, specs, bundle, pipeline, writer, settings))
    finally:
        if writer is not None:
            writer.close()
    from mujo_edge.cli.live_view import print_summary

    print_summary(console, pipeline, writer.path if writer else None, writer.count if writer else None)
    return 0


def bundle_digest(bundle: Bundle) -> str | None:
    from mujo_edge.provenance import sha256_file

    try:
        return sha256_file(bundle.path)
    except OSError:
        return None


async def _stream_async(
    args: argparse.Namespace,
    specs: list[DeviceSpec],
    bundle: Bundle,
    pipeline: Pipeline,
    writer: EventWriter | None,
    settings: dict[str, Any],
) -> None:
    from mujo_edge.cli._console import console
    from mujo_edge.cli.live_view import LiveView, print_event
    from mujo_edge.firmware_bridge.profiles import get_profile
    from mujo_edge.firmware_bridge.record import Recorder
    from mujo_edge.firmware_bridge.session import DeviceSession

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        duration = args.duration
        if args.virtual:
            connector, duration, watches = await _virtual_connector(args, specs, bundle, stack, duration)
            if args.duration is None:
                # Stop when every watch has played its workout (and its last frames had time to arrive).
                async def all_played() -> None:
                    await asyncio.gather(*(w.finished.wait() for w in watches))
                    await asyncio.sleep(VIRTUAL_GRACE_S)
                    stop.set()

                ender = asyncio.ensure_future(all_played())
                stack.callback(ender.cancel)
        else:
            from mujo_edge.firmware_bridge.bleak_transport import BleakConnector

            connector = BleakConnector()
        sessions = []
        for spec in specs:
            profile = get_profile(spec.profile, device=spec.name)
            recorder = None
            if args.record:
                recorder = Recorder(
                    recording_path(args.record, spec.name, len(specs)),
                    spec.name,
                    profile,
                    meta={RECORDING_META_KEY: settings, "target": spec.target},
                )
                stack.callback(recorder.close)
            sessions.append(DeviceSession(connector, spec.target, profile, spec.name, recorder=recorder))

        def on_events(events: list[ActivityEvent]) -> None:
            if writer is not None:
                writer.write(events)
            if args.no_live:
                for e in events:
                    print_event(console, e)
            else:
                view.add_events(events)

        view = LiveView(console, pipeline, [s.name for s in specs], enabled=not args.no_live)
        with view:
            await run_sessions(sessions, pipeline, on_events, duration, view.refresh, stop)


async def _virtual_connector(
    args: argparse.Namespace,
    specs: list[DeviceSpec],
    bundle: Bundle,
    stack: contextlib.AsyncExitStack,
    duration: float | None,
) -> tuple[Any, float | None, list[Any]]:
    """Virtual watches on an in-process bumble link, each doing the workout script."""
    from mujo_edge.cli._console import console
    from mujo_edge.firmware_bridge.profiles import get_profile

    try:
        from mujo_edge.firmware_bridge.virtual import VirtualWatch, virtual_watches  # type: ignore[attr-defined]
    except ImportError as e:
        raise MissingDependencyError("--virtual (bumble virtual watches)", "virtual", "bumble") from e
    steps = parse_script(args.script) if args.script else default_script(bundle.labels)
    watches = []
    source = ""
    for i, spec in enumerate(specs):
        rate = get_profile(spec.profile).rate_hz
        acc, source = workout_motion(steps, rate, seed=args.seed + i, wrist=spec.wrist)
        faults = virtual_faults(args, script_seconds(steps), seed=args.fault_seed + i)
        watches.append(
            VirtualWatch(
                spec.profile, acc, rate, name=spec.target, loop=False, speed=args.speed, faults=faults
            )
        )
    if watches and watches[0].faults != type(watches[0].faults)(seed=watches[0].faults.seed):
        console.print(f"virtual faults: {watches[0].faults}")
    seconds = script_seconds(steps) / args.speed
    console.print(
        f"virtual watch(es): {', '.join(s.profile for s in specs)}; workout "
        + ", ".join(f"{s.get('activity', 'rest')} {s.get('seconds', s.get('rest'))} s" for s in steps)
        + f" ({source}); {seconds:.0f} s"
    )
    connector = await stack.enter_async_context(virtual_watches(watches))
    # Without --duration the run ends when the watches have played the workout (see _stream_async); this is
    # only a safety net should a watch never connect.
    return connector, duration if duration is not None else seconds + VIRTUAL_TIMEOUT_S, watches


def virtual_faults(args: argparse.Namespace, workout_s: float, seed: int) -> Any:
    """The :class:`~mujo_edge.firmware_bridge.virtual.faults.Faults` of ``stream --virtual``'s fault flags."""
    from mujo_edge.firmware_bridge.virtual.faults import Faults

    try:
        every, length = (int(v) for v in str(args.burst).split(":"))
    except ValueError as e:
        raise DataError(
            f"--burst must be EVERY:LEN (two whole numbers, e.g. 10:4), got {args.burst!r}"
        ) from e
    if args.disconnect_every < 0:
        raise DataError(f"--disconnect-every must be >= 0 seconds, got {args.disconnect_every}")
    period = args.disconnect_every
    drops = tuple(float(t) for t in np.arange(period, workout_s, period)) if period > 0 else ()
    return Faults(
        drop_prob=args.drop,
        burst_every=every,
        burst_len=length,
        disconnect_at_s=drops,
        down_s=args.down,
        clock_drift_ppm=args.clock_drift,
        jitter_s=args.jitter,
        seed=seed,
    )


def cmd_replay(args: argparse.Namespace) -> int:
    from mujo_edge.cli._console import console
    from mujo_edge.cli.live_view import print_event, print_summary
    from mujo_edge.events import EventWriter

    paths = [Path(p) for p in args.recording]
    for p in paths:
        if not p.is_file():
            raise DataError(
                f"recording {p} not found; expected a file written by `mujo-edge stream --record`"
            )
    recorded = recorded_settings(paths)
    smooth = args.smooth if args.smooth is not None else int(recorded.get("smooth", 1))
    fmt = args.format if args.format is not None else recorded.get("format")
    bundle = open_bundle(args.bundle)
    want = recorded.get("bundle_sha256")
    if want and want != bundle_digest(bundle):
        log.warning(
            "the recording was streamed with another bundle (sha256 %s...); events will differ from the live run",
            str(want)[:12],
        )
    # Recordings made before the wrist setting existed were streamed unmirrored ("right").
    wrist = args.wrist if args.wrist is not None else recorded.get("wrist", "right")
    pipeline = make_pipeline(bundle, fmt, args.threads, smooth, live=False, wrist=wrist)
    events = replay_events(paths, pipeline)
    if args.events:
        with EventWriter(args.events) as w:
            w.write(events)
    if args.print_events:
        for e in events:
            print_event(console, e)
    print_summary(console, pipeline, Path(args.events) if args.events else None, len(events))
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--bundle", help="model bundle (.mujo); default: the shipped mujo_edge/assets/default.mujo"
    )
    p.add_argument("--events", metavar="FILE", help="append events here as JSON lines (flushed as they come)")
    p.add_argument(
        "--format",
        choices=("tflite", "executorch"),
        default=None,
        help="model runtime (default: best installed)",
    )
    p.add_argument("--threads", type=int, default=1, help="model threads (default 1)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stream",
        help="recognize activities live from BLE watches (or virtual ones) and write events",
        description="Stream accelerometer data from one or many watches (a gateway), recognize activities "
        "with a bundle and write JSON-line events. Examples: `mujo-edge stream --virtual`, "
        "`mujo-edge stream --device 'Polar Sense 1234' --profile polar --events ev.jsonl --record raw.jsonl`.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--device",
        action="append",
        metavar="NAME|ADDRESS",
        help="watch to stream from (repeatable: a gateway)",
    )
    src.add_argument("--virtual", action="store_true", help="stream from virtual watches (no radio needed)")
    p.add_argument(
        "--profile",
        action="append",
        choices=("polar", "infinitime", "mujo"),
        help="device profile: one for all devices or one per --device (default polar)",
    )
    p.add_argument(
        "--wrist",
        action="append",
        choices=("left", "right"),
        help="wrist the watch is worn on: one for all devices or one per device (default left). Models use "
        "the right-wrist frame; left-wrist samples are mirrored into it",
    )
    p.add_argument("--script", help="--virtual workout: a JSON file or inline 'ABD:20,rest:5,FEL:20'")
    p.add_argument("--virtual-count", type=int, default=1, help="--virtual: how many watches (default 1)")
    p.add_argument(
        "--speed", type=float, default=1.0, help="--virtual: play the workout this many times faster"
    )
    p.add_argument("--seed", type=int, default=0, help="--virtual: motion seed")
    faults = p.add_argument_group(
        "--virtual faults", "what a real watch and its radio do, injected by the virtual watches (seeded)"
    )
    faults.add_argument(
        "--drop", type=float, default=0.0, metavar="P", help="probability that a frame is lost (default 0)"
    )
    faults.add_argument(
        "--burst",
        default="0:0",
        metavar="EVERY:LEN",
        help="every EVERY frames, LEN are held back and sent together (default 0:0, none)",
    )
    faults.add_argument(
        "--disconnect-every",
        type=float,
        default=0.0,
        metavar="S",
        help="the watch drops the link every S seconds of its workout (default 0, never)",
    )
    faults.add_argument(
        "--down",
        type=float,
        default=0.5,
        metavar="S",
        help="seconds a watch stays silent after such a drop (default 0.5)",
    )
    faults.add_argument(
        "--clock-drift", type=float, default=0.0, metavar="PPM", help="sensor clock error, ppm (default 0)"
    )
    faults.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        metavar="S",
        help="each send delayed by up to S seconds (default 0)",
    )
    faults.add_argument("--fault-seed", type=int, default=0, help="seed of the random faults (default 0)")
    _common(p)
    p.add_argument("--record", metavar="FILE", help="record raw notifications (one file per device)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--smooth", type=int, default=1, help="average probabilities over the last K windows")
    p.add_argument("--no-live", action="store_true", help="print plain event lines instead of the live view")
    p.set_defaults(func=cmd_stream)

    r = sub.add_parser(
        "replay",
        help="run recordings made with `stream --record` through a bundle again (same events)",
        description="Decode recorded notifications again and recognize activities exactly as the live run "
        "did (its smoothing and format are read from the recording unless given).",
    )
    r.add_argument("recording", nargs="+", help="recording file(s) from `mujo-edge stream --record`")
    _common(r)
    r.add_argument("--smooth", type=int, default=None, help="override the recorded smoothing")
    r.add_argument(
        "--wrist",
        choices=("left", "right"),
        default=None,
        help="override the recorded wrist of every device (recordings without one: right, unmirrored)",
    )
    r.add_argument("--print-events", action="store_true", help="also print every event")
    r.set_defaults(func=cmd_replay)
