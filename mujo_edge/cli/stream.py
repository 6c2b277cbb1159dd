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
import logging
import math
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.cli._args import non_negative_int, positive_float, positive_int
from mujo_edge.errors import BundleError, ConfigError, DataError, MissingDependencyError, MujoError
from mujo_edge.gateway import (
    RECORDING_META_KEY,
    DeviceSpec,
    keep_heap,
    make_pipeline,
    recorded_settings,
    recorded_wrist,
    recording_path,
    replay_events,
    run_sessions,
)
from mujo_edge.workouts import default_script, parse_script, script_seconds, workout_motion

if TYPE_CHECKING:
    from mujo_edge.bundle import Bundle
    from mujo_edge.events import ActivityEvent, EventWriter
    from mujo_edge.pipeline import Pipeline

log = logging.getLogger(__name__)

#: --virtual: seconds to wait for the last frames after every watch played its workout, and the most
#: seconds beyond the workout's length a run may take (connecting included) before it is stopped.
VIRTUAL_GRACE_S = 1.0
VIRTUAL_TIMEOUT_S = 30.0


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


# --------------------------------------------------------------------------------------------- handlers
def _per_device(values: list[str] | None, n: int, default: str, flag: str, what: str) -> list[str]:
    """One value of a repeatable flag per device: none (the default), one for all, or one each."""
    vals = values or [default]
    if len(vals) not in (1, n):
        each = "one each" if what == "virtual watches" else "one per --device"
        raise ConfigError(f"give one {flag} for all {n} {what}, or {each}; got {len(vals)}")
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
        raise ConfigError("say what to stream from: --device NAME|ADDRESS (repeatable) or --virtual")
    profiles = _per_device(args.profile, n, "polar", "--profile", what)
    wrists = _per_device(args.wrist, n, "left", "--wrist", what)
    return [DeviceSpec(t, p, nm, w) for t, p, nm, w in zip(targets, profiles, names, wrists, strict=True)]


def cmd_stream(args: argparse.Namespace) -> int:
    from mujo_edge.cli._console import console
    from mujo_edge.events import EventWriter

    if args.events and args.record and Path(args.events).resolve() == Path(args.record).resolve():
        raise ConfigError(f"--events and --record both name {args.record}; give the events their own file")
    specs = _device_specs(args)
    bundle = open_bundle(args.bundle)
    log.debug("allocator: %s", keep_heap())
    wrists = {s.name: s.wrist for s in specs}
    pipeline = make_pipeline(
        bundle,
        args.format,
        args.threads,
        args.smooth,
        live=True,
        wrist=wrists,
        open_set_keep=args.open_set_keep,
    )
    writer = EventWriter(args.events) if args.events else None
    settings = {
        "smooth": args.smooth,
        "open_set_keep": args.open_set_keep,
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

    VirtualWatch, virtual_watches = virtual_watch_api()
    steps = parse_script(args.script) if args.script else default_script(bundle.labels)
    watches = []
    source = ""
    for i, spec in enumerate(specs):
        rate = get_profile(spec.profile).rate_hz
        try:
            acc, source = workout_motion(steps, rate, seed=args.seed + i, wrist=spec.wrist)
        except DataError as e:
            if args.script:
                raise
            raise DataError(
                f"the virtual watch cannot perform every label of {bundle.path.name} ({e}); give it a workout "
                "of activities it knows with --script, e.g. --script 'walking:20,rest:5,squats:20'"
            ) from e
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


def virtual_watch_api() -> tuple[Any, Any]:
    """``(VirtualWatch, virtual_watches)`` of the bumble virtual watches (``--virtual``);
    MissingDependencyError names the extra to install when bumble is missing."""
    try:
        from mujo_edge.firmware_bridge.virtual import VirtualWatch, virtual_watches
    except ImportError as e:
        raise MissingDependencyError("--virtual (bumble virtual watches)", "virtual", "bumble") from e
    return VirtualWatch, virtual_watches


def virtual_faults(args: argparse.Namespace, workout_s: float, seed: int) -> Any:
    """The :class:`~mujo_edge.firmware_bridge.faults.Faults` of ``stream --virtual``'s fault flags."""
    from mujo_edge.firmware_bridge.faults import Faults

    try:
        every, length = (int(v) for v in str(args.burst).split(":"))
    except ValueError as e:
        raise ConfigError(
            f"--burst must be EVERY:LEN (two whole numbers, e.g. 10:4), got {args.burst!r}"
        ) from e
    if not (math.isfinite(args.disconnect_every) and args.disconnect_every >= 0):  # (NaN too)
        raise ConfigError(f"--disconnect-every must be >= 0 seconds, got {args.disconnect_every}")
    period = args.disconnect_every
    drops = tuple(float(t) for t in np.arange(period, workout_s, period)) if period > 0 else ()
    return Faults(
        drop_prob=args.drop,
        burst_every=every,
        burst_len=length,
        disconnect_at_s=drops,
        down_s=args.down,
        clock_skew_ppm=args.clock_skew,
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
    if len({p.resolve() for p in paths}) < len(paths):
        raise ConfigError("a recording is named twice; give each once")
    recorded = recorded_settings(paths)
    smooth = args.smooth if args.smooth is not None else recorded.get("smooth", 1)
    if isinstance(smooth, bool) or not isinstance(smooth, int) or smooth < 1:
        raise DataError(f"the recording's header names smooth {smooth!r}, not a count >= 1; give --smooth K")
    fmt = args.format if args.format is not None else recorded.get("format")
    if fmt not in (None, "tflite", "executorch"):
        raise DataError(f"the recording's header names format {fmt!r}; give --format tflite or executorch")
    bundle = open_bundle(args.bundle)
    want = recorded.get("bundle_sha256")
    if want and want != bundle_digest(bundle):
        log.warning(
            "the recording was streamed with another bundle (sha256 %s...); events will differ from the live run",
            str(want)[:12],
        )
    # (recordings made before the wrist setting existed were streamed unmirrored: "right")
    wrist = args.wrist if args.wrist is not None else recorded_wrist(paths)
    keep = args.open_set_keep if args.open_set_keep is not None else recorded.get("open_set_keep")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int | float)):
        raise DataError(
            f"the recording's header names open_set_keep {keep!r}, not a fraction; give --open-set-keep F"
        )
    pipeline = make_pipeline(bundle, fmt, args.threads, smooth, live=False, wrist=wrist, open_set_keep=keep)
    log.debug("allocator: %s", keep_heap())
    writer = EventWriter(args.events) if args.events else None

    def on_events(new: list[ActivityEvent]) -> None:  # written and shown as they come
        if writer is not None:
            writer.write(new)
        if args.print_events:
            for e in new:
                print_event(console, e)

    try:
        events = replay_events(paths, pipeline, on_events=on_events)
    except MujoError as err:
        if writer is None or not writer.count:
            raise
        raise DataError(f"{err} (the {writer.count} events before it are in {writer.path})") from err
    finally:
        if writer is not None:
            writer.close()
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
    p.add_argument("--threads", type=positive_int, default=1, help="model threads (default 1)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from mujo_edge.firmware_bridge.profiles import PROFILE_NAMES  # the registry; a light import

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
        choices=PROFILE_NAMES,
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
    p.add_argument(
        "--virtual-count", type=positive_int, default=1, help="--virtual: how many watches (default 1)"
    )
    p.add_argument(
        "--speed", type=float, default=1.0, help="--virtual: play the workout this many times faster"
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="--virtual: motion seed")
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
        "--clock-skew",
        "--clock-drift",
        dest="clock_skew",
        type=float,
        default=0.0,
        metavar="PPM",
        help="the watch's sensor clock runs PPM fast (+) or slow (-) (default 0; --clock-drift is the old name)",
    )
    faults.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        metavar="S",
        help="each send delayed by up to S seconds (default 0)",
    )
    faults.add_argument(
        "--fault-seed", type=non_negative_int, default=0, help="seed of the random faults (default 0)"
    )
    _common(p)
    p.add_argument("--record", metavar="FILE", help="record raw notifications (one file per device)")
    p.add_argument("--duration", type=positive_float, default=None, help="stop after this many seconds")
    p.add_argument("--smooth", type=int, default=1, help="average probabilities over the last K windows")
    p.add_argument(
        "--open-set-keep",
        type=float,
        metavar="F",
        help="move the open-set threshold to the one that keeps fraction F (0.5-1) of the bundle's known "
        "validation windows known: lower F flags more windows 'unknown' (default: the bundle's own, 0.95)",
    )
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
        "--open-set-keep", type=float, metavar="F", help="override the recorded open-set keep fraction"
    )
    r.add_argument(
        "--wrist",
        choices=("left", "right"),
        default=None,
        help="override the recorded wrist of every device (recordings without one: right, unmirrored)",
    )
    r.add_argument("--print-events", action="store_true", help="also print every event")
    r.set_defaults(func=cmd_replay)
