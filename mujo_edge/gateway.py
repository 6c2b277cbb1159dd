"""The gateway: many watches' sessions through one pipeline, live, and recordings replayed through it again.

``run_sessions`` is the streaming loop of ``mujo-edge stream``: every session's sample batches and status
changes go through one queue, and whatever has arrived is fed to the :class:`~mujo_edge.pipeline.Pipeline`
in one call, so windows of many devices share one model call. ``replay_events`` feeds recordings (what
``mujo-edge stream --record`` writes) through a pipeline, which yields the live run's events again.

This module joins the runtime core and ``firmware_bridge`` (sessions, recordings); the core imports neither it
nor firmware_bridge. Sessions are duck-typed (``stream()``, ``stop()``, ``device_name``, ``stats``), so the BLE
stack is imported only by whoever builds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mujo_edge import _checks
from mujo_edge.errors import ConfigError, DataError, MujoError

if TYPE_CHECKING:
    from mujo_edge.bundle import Bundle
    from mujo_edge.events import ActivityEvent
    from mujo_edge.pipeline import Pipeline
    from mujo_edge.samples import SampleBatch, StreamStatus

log = logging.getLogger(__name__)

#: Pipeline settings stored in a recording's header meta, so a replay repeats them.
RECORDING_META_KEY = "mujo_edge_stream"


def make_pipeline(
    bundle: Bundle,
    fmt: str | None,
    threads: int,
    smooth: int,
    live: bool,
    calibrate: bool = True,
    wrist: str | Mapping[str, str] = "right",
    open_set_keep: float | None = None,
) -> Pipeline:
    """A pipeline running ``bundle``; ``live``: events carry the host's clock (for latency), a replay's do not."""
    from mujo_edge.pipeline import Pipeline

    now = None
    if live:
        from mujo_edge.firmware_bridge.transport import host_time_s

        now = host_time_s
    return Pipeline.from_bundle(
        bundle,
        fmt=fmt,
        threads=threads,
        smooth=smooth,
        now=now,
        calibrate=calibrate,
        wrist=wrist,
        open_set_keep=open_set_keep,
    )


#: glibc's mallopt parameters and the values a gateway process sets (bytes): arrays up to 4 MB come from the
#: heap, and the heap keeps up to 64 MB of free top instead of returning it to the kernel at every tick.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
GATEWAY_MMAP_THRESHOLD = 4 * 1024 * 1024
GATEWAY_TRIM_THRESHOLD = 64 * 1024 * 1024
#: The environment variables through which glibc's own settings win over :func:`keep_heap`.
MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_heap(environ: Mapping[str, str] | None = None) -> str:
    """Set a gateway process's allocator so many devices' per-tick arrays stay in the heap; returns what it did.

    On glibc the allocator serves arrays above its mmap threshold (128 KB at start, raised only as such
    blocks are freed) straight from the kernel and returns the heap's free top once it exceeds twice that.
    A gateway's tick of 1,000 devices is about 156 KB of samples, right on that line, so a new process
    page-faults through its first minutes: about 220,000 minor faults and 25 % more time per window in the
    first pass of ``benchmarks/bench_gateway.py``'s 1,000 devices (docs/runtime.md "A gateway process on
    glibc"). This fixes both thresholds (4 MB, 64 MB) with ``mallopt``, as the ``MALLOC_MMAP_THRESHOLD_``
    and ``MALLOC_TRIM_THRESHOLD_`` environment variables would before the process starts. The process then
    keeps up to 64 MB of freed memory instead of returning it.

    ``mujo-edge stream`` and ``replay`` call it; a program that runs its own gateway around
    :class:`~mujo_edge.pipeline.Pipeline` may. It does nothing (and says why) where the C library is not
    glibc, or when either environment variable is set, so a deployment's own setting wins: set
    ``MALLOC_TRIM_THRESHOLD_=131072`` to keep glibc's default behaviour instead.
    """
    import os
    import platform

    if environ is not None and not isinstance(environ, Mapping):
        raise ConfigError(
            f"keep_heap: environ must be a mapping like os.environ, got {type(environ).__name__}"
        )
    env = os.environ if environ is None else environ
    set_by_env = [k for k in MALLOC_ENV if k in env]
    if set_by_env:
        return f"left to the environment ({', '.join(set_by_env)})"
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return "not glibc: left as it is"
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return "glibc without mallopt: left as it is"
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, GATEWAY_MMAP_THRESHOLD) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, GATEWAY_TRIM_THRESHOLD) == 1 and ok
    if not ok:
        return "glibc refused mallopt: left as it is"
    mb = 1 << 20
    return f"glibc: mmap threshold {GATEWAY_MMAP_THRESHOLD // mb} MB, trim threshold {GATEWAY_TRIM_THRESHOLD // mb} MB"


@dataclass
class DeviceSpec:
    """One device to stream: what to look for, which profile decodes it, its stream name."""

    target: str
    profile: str
    name: str
    wrist: str = "left"


def recording_path(base: str, device: str, n_devices: int) -> Path:
    """``--record FILE`` for one device; ``FILE`` with ``-<device>`` before the suffix for several."""
    if not isinstance(base, str | Path) or not str(base) or not Path(base).name:
        raise ConfigError(f"--record needs a file name, got {base!r}")
    if not isinstance(device, str):
        raise ConfigError(f"recording_path: device must be the stream's name as a str, got {device!r}")
    if isinstance(n_devices, bool) or not isinstance(n_devices, int) or n_devices < 1:
        raise ConfigError(f"recording_path: n_devices must be a whole number >= 1, got {n_devices!r}")
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


def replay_items(
    paths: Sequence[str | Path], decode_errors: dict[str, int] | None = None
) -> Iterator[SampleBatch | StreamStatus]:
    """The batches and statuses of one or many recordings, merged in receive order; ``decode_errors``: kept
    at each device's count of skipped packets (:func:`~mujo_edge.firmware_bridge.record.replay_batches`)."""
    from mujo_edge.firmware_bridge.record import replay_batches

    streams = [replay_batches(p, decode_errors=decode_errors) for p in _checks.paths(paths, "recordings")]
    if len(streams) == 1:
        yield from streams[0]
    else:
        yield from heapq.merge(*streams, key=lambda it: it.t_recv_s)


def replay_events(
    paths: Sequence[str | Path],
    pipeline: Pipeline,
    chunk: int = 256,
    on_events: Callable[[list[ActivityEvent]], None] | None = None,
) -> list[ActivityEvent]:
    """Every event a replay of ``paths`` yields (fed ``chunk`` items at a time), each chunk's also handed to
    ``on_events`` as it comes. A replay that stops at a corrupt line (MujoError) first feeds and closes what
    came before it, so ``on_events`` has had every event of those samples when the error is raised.
    Skipped packets are counted in the pipeline's stats as a live session's are."""
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ConfigError(f"replay_events: chunk must be a whole number of items >= 1, got {chunk!r}")
    if not callable(getattr(pipeline, "feed_many", None)):
        raise ConfigError(f"replay_events needs a Pipeline (make_pipeline), got {type(pipeline).__name__}")
    _checks.paths(paths, "recordings")
    events: list[ActivityEvent] = []
    errors: dict[str, int] = {}

    def feed(items: list[Any], closing: bool = False) -> None:
        new = pipeline.feed_many(items)
        for name, n in errors.items():
            pipeline.note_decode_errors(name, n)
        if closing:
            new += pipeline.close()
        events.extend(new)
        if on_events is not None and new:
            on_events(new)

    buf: list[Any] = []
    items = replay_items(paths, errors)
    while True:
        try:
            it = next(items)
        except StopIteration:
            break
        except MujoError:  # a corrupt line: what came before it still gives its events, then the error
            feed(buf, closing=True)
            raise
        buf.append(it)
        if len(buf) >= chunk:
            feed(buf)
            buf = []
    feed(buf, closing=True)
    return events


def recorded_wrist(paths: Sequence[str | Path]) -> dict[str, str]:
    """The wrist each recording's live run mirrored (``stream --wrist``, stored in its header), as
    {device: "left" | "right"} for :class:`~mujo_edge.pipeline.Pipeline`; ``"right"`` (no mirroring) for a
    recording made before the setting existed. DataError for a header naming anything else; a header whose
    wrists leave out its own device is replayed unmirrored with a warning."""
    from mujo_edge.firmware_bridge.record import read_header

    out: dict[str, str] = {}
    for p in _checks.paths(paths, "recordings"):
        header = read_header(p)
        meta = header.meta.get(RECORDING_META_KEY)
        wrist = meta.get("wrist", "right") if isinstance(meta, dict) else "right"
        ok = ("left", "right")
        if not (wrist in ok or (isinstance(wrist, dict) and all(w in ok for w in wrist.values()))):
            raise DataError(f"{p}: its header names wrist {wrist!r}, not left or right; give --wrist")
        if isinstance(wrist, dict):
            if header.device not in wrist:
                log.warning(
                    "%s: its header names the wrists of %s, not of its device %r; replayed unmirrored (right), "
                    "give --wrist if that is wrong",
                    p,
                    sorted(wrist),
                    header.device,
                )
            wrist = wrist.get(header.device, "right")
        out[header.device] = wrist
    return out


def recorded_settings(paths: Sequence[str | Path]) -> dict[str, Any]:
    """The pipeline settings the live run stored in the recordings' headers (empty when absent)."""
    from mujo_edge.firmware_bridge.record import read_header

    for p in _checks.paths(paths, "recordings"):
        meta = read_header(p).meta.get(RECORDING_META_KEY)
        if isinstance(meta, dict):
            return meta
    return {}
