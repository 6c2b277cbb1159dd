"""One device, streamed forever: connect, start, decode, and reconnect with backoff until stopped.

:class:`DeviceSession` follows the lessons of bleak's issue tracker (see ``docs/devices.md``):

* notification callbacks only push ``(t_recv_s, bytes)`` into an :class:`asyncio.Queue`;
* the disconnected callback only signals; a reconnect task rescans (``Connector.find``: BlueZ forgets a device
  once scanning stops), waits with exponential backoff (0.5 s doubling to 30 s), makes a NEW transport,
  re-subscribes and re-sends the start command (``DeviceProfile.start``), then the stream yields
  ``StreamStatus(kind="reconnected")`` so the runtime restarts its 50 Hz grid;
* a bad packet is skipped and counted (``session.stats.decode_errors``), never ends the stream;
* everything queued before a disconnect is decoded before the profile is reset for the next connection, so no
  sample is lost, duplicated or reordered by the reconnect itself.

Backoff sleeping and the status clock are injectable so tests run in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mujo_edge import _checks
from mujo_edge.errors import ConfigError, DeviceError, MujoError, ProtocolError
from mujo_edge.firmware_bridge.profiles.base import DeviceProfile
from mujo_edge.firmware_bridge.transport import Connector, Transport, host_time_s
from mujo_edge.samples import SampleBatch, StatusKind, StreamStatus

if TYPE_CHECKING:
    from mujo_edge.firmware_bridge.record import Recorder

log = logging.getLogger(__name__)

#: Seconds a scan may take before a (re)connection attempt counts as failed.
DEFAULT_SCAN_TIMEOUT_S = 10.0
#: Seconds a connect (including MTU exchange) may take.
DEFAULT_CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff between reconnection attempts: ``initial_s``, x ``factor`` each time, capped."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        initial = _checks.number(
            self.initial_s, "Backoff: initial_s", hi=3600.0, above_lo=False, fix="seconds"
        )
        top = _checks.number(self.max_s, "Backoff: max_s", hi=3600.0, above_lo=False, fix="seconds")
        _checks.number(
            self.factor, "Backoff: factor", 1.0, 100.0, above_lo=False, fix="1 waits the same each time"
        )
        if top < initial:
            raise ConfigError(f"Backoff: max_s={self.max_s} is below initial_s={self.initial_s}; raise max_s")

    def delays_s(self) -> Iterator[float]:
        """Endless delays in seconds: 0.5, 1, 2, 4, ... 30, 30, ..."""
        delay = self.initial_s
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_s)


@dataclass
class SessionStats:
    """Counters of one session (all connections together)."""

    packets: int = 0  # notifications received
    bytes: int = 0  # payload bytes received
    decode_errors: int = 0  # packets skipped because they did not decode
    reconnects: int = 0  # successful reconnections
    reconnect_attempts: int = 0  # attempts, successful or not
    batches: int = 0  # sample batches yielded
    samples: int = 0  # samples yielded
    gaps: int = 0  # batches with gap_before=True
    stale_packets: int = 0  # notifications from a previous connection that arrived after its disconnect
    last_error: str = field(default="")


# ------------------------------------------------------------------------------ the session's queue items
# Callbacks and the connect task talk to the stream loop through one queue. ``generation`` numbers the
# connection an item belongs to, so items of a link that is already gone are recognised and dropped.
@dataclass(frozen=True)
class _Data:
    """A notification of connection ``generation``."""

    generation: int
    char_uuid: str
    t_recv_s: float
    payload: bytes


@dataclass(frozen=True)
class _Lost:
    """Connection ``generation`` dropped (or its device stopped streaming)."""

    generation: int
    reason: str


@dataclass(frozen=True)
class _Up:
    """Connection ``generation`` is up and streaming."""

    generation: int
    transport: Transport
    detail: str


@dataclass(frozen=True)
class _Fail:
    """Connecting failed for good: the stream ends with a DeviceError saying ``reason``."""

    generation: int
    reason: str


@dataclass(frozen=True)
class _Stop:
    """:meth:`DeviceSession.stop` was called."""


_Item = _Data | _Lost | _Up | _Fail | _Stop


class DeviceSession:
    """Streams one device and reconnects until :meth:`stop`.

    Args:
        connector: Makes a fresh transport for each connection (``BleakConnector``, ``ReplayConnector``, ...).
        target: What the connector looks for: advertised name, address or service UUID.
        profile: The device's protocol; its ``device`` is set to ``device_name``.
        device_name: Name put into every SampleBatch / StreamStatus.
        recorder: Optional :class:`~mujo_edge.firmware_bridge.record.Recorder`: every raw notification and
            status is written before decoding, so a recording holds even the packets that failed to decode.
        backoff: Delays between reconnection attempts.
        scan_timeout_s, connect_timeout_s: Per-attempt limits.
        retry_first_connect: Also retry the very first connection (default: raise its DeviceError at once,
            so "no Bluetooth adapter" or "not found" reaches the user instead of retrying silently).
        max_reconnect_attempts: Give up (raise DeviceError) after this many failed attempts in a row;
            ``None`` retries forever.
        sleep: ``await sleep(seconds)`` used for backoff (inject a fake in tests).
        clock: Host clock for status times (default monotonic seconds).
    """

    def __init__(
        self,
        connector: Connector,
        target: str,
        profile: DeviceProfile,
        device_name: str,
        recorder: Recorder | None = None,
        backoff: Backoff = Backoff(),
        *,
        scan_timeout_s: float = DEFAULT_SCAN_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        retry_first_connect: bool = False,
        max_reconnect_attempts: int | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = host_time_s,
    ) -> None:
        if isinstance(connector, str | bytes | bytearray) or not callable(getattr(connector, "find", None)):
            # (find is the one method a session calls on it; a str's find searches text)
            raise ConfigError(
                f"DeviceSession: connector must be a Connector (BleakConnector, ReplayConnector...) or "
                f"another object with an async find(target, timeout_s) method, got {type(connector).__name__} "
                f"{connector!r:.60}, which has no such find method"
            )
        _checks.text(target, "DeviceSession: target", "give the advertised name, address or service UUID")
        if not isinstance(profile, DeviceProfile):
            raise ConfigError(
                f"DeviceSession: profile must be a DeviceProfile, got {type(profile).__name__} {profile!r}: "
                "pass get_profile(name)"
            )
        _checks.text(
            device_name,
            "DeviceSession: device_name",
            "name the stream (its address or a name of your choice)",
        )
        if recorder is not None and not callable(getattr(recorder, "write_notification", None)):
            raise ConfigError(
                f"DeviceSession: recorder must be a Recorder or None, got {type(recorder).__name__}"
            )
        if not isinstance(backoff, Backoff):
            raise ConfigError(f"DeviceSession: backoff must be a Backoff, got {type(backoff).__name__}")
        for name, value in (("scan_timeout_s", scan_timeout_s), ("connect_timeout_s", connect_timeout_s)):
            if not math.isfinite(
                _checks.number(value, f"DeviceSession: {name}", fix="give seconds, e.g. 10")
            ):
                raise ConfigError(f"DeviceSession: {name} must be finite, got {value}")
        if max_reconnect_attempts is not None:
            _checks.count(
                max_reconnect_attempts, "DeviceSession: max_reconnect_attempts", 1, "or None to retry forever"
            )
        if not isinstance(retry_first_connect, bool):
            raise ConfigError(
                f"DeviceSession: retry_first_connect must be True or False, got {retry_first_connect!r}"
            )
        if not callable(sleep) or not callable(clock):
            raise ConfigError("DeviceSession: sleep and clock must be callables (asyncio.sleep, host_time_s)")
        self.connector = connector
        self.target = target
        self.profile = profile
        self.device_name = device_name
        profile.device = device_name
        self.recorder = recorder
        self.backoff = backoff
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.retry_first_connect = retry_first_connect
        self.max_reconnect_attempts = max_reconnect_attempts
        self._sleep = sleep
        self._clock = clock
        self.stats = SessionStats()
        self.transport: Transport | None = None
        self._generation = 0
        self._queue: asyncio.Queue[_Item] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._connected_once = False
        self._active_generation = 0
        self._pending: list[_Data] = []

    # ----------------------------------------------------------------------------------------- callbacks
    def _put(self, item: _Item) -> None:
        """Queue an item from any thread (bleak on some backends calls back from another thread)."""
        queue, loop = self._queue, self._loop
        if queue is None or loop is None:
            return
        if loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            queue.put_nowait(item)
        else:
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def _callbacks(self, generation: int) -> tuple[Callable[[str, float, bytes], None], Callable[[], None]]:
        def on_data(char_uuid: str, t_recv_s: float, payload: bytes) -> None:
            self._put(_Data(generation, char_uuid, t_recv_s, bytes(payload)))

        def on_disconnect() -> None:
            self._put(_Lost(generation, "link lost"))

        return on_data, on_disconnect

    # ----------------------------------------------------------------------------------------- connecting
    async def _connect_once(self) -> Transport:
        """Scan, connect, reset the profile and start it on a NEW transport; returns it when streaming."""
        transport = await self.connector.find(self.target, self.scan_timeout_s)
        self._generation += 1
        on_data, on_disconnect = self._callbacks(self._generation)
        transport.set_disconnected_callback(on_disconnect)
        await transport.connect(self.connect_timeout_s)
        try:
            self.profile.reset()
            await self.profile.start(transport, on_data)
        except BaseException:
            with contextlib.suppress(Exception):
                await transport.disconnect()
            raise
        return transport

    async def _connect_loop(self, first: bool) -> None:
        """Background task: (re)connect with backoff until it works, then queue ("up", ...).

        A reconnection waits before every attempt (0.5 s, 1 s, 2 s ...); a first connection tries at once and
        waits only after failures. Errors other than DeviceError/OS/timeouts end the stream with a "fail".
        """
        failures = 0
        delays = self.backoff.delays_s()
        try:
            while not self._stopping:
                if not first or failures:
                    delay_s = next(delays)
                    log.info("%s: connecting again in %.1f s", self.device_name, delay_s)
                    await self._sleep(delay_s)
                    if self._stopping:
                        return
                if not first:
                    self.stats.reconnect_attempts += 1
                try:
                    transport = await self._connect_once()
                except (MujoError, OSError, asyncio.TimeoutError) as err:
                    failures += 1
                    self.stats.last_error = str(err)
                    log.warning("%s: connection attempt %d failed: %s", self.device_name, failures, err)
                    if self.max_reconnect_attempts is not None and failures >= self.max_reconnect_attempts:
                        self._put(_Fail(self._generation, f"gave up after {failures} attempts: {err}"))
                        return
                    continue
                detail = "first connection" if first else f"after {failures + 1} attempt(s)"
                self._put(_Up(self._generation, transport, detail))
                return
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.exception("%s: unexpected error while connecting", self.device_name)
            self._put(
                _Fail(self._generation, f"unexpected error while connecting: {type(err).__name__}: {err}")
            )

    async def _drop_transport(self) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.disconnect()

    # ----------------------------------------------------------------------------------------- streaming
    def _status(self, kind: StatusKind, detail: str = "") -> StreamStatus:
        status = StreamStatus(self.device_name, self._clock(), kind, detail)
        if self.recorder is not None:
            config = self.profile.config() if kind in ("connected", "reconnected") else None
            self.recorder.write_status(status.t_recv_s, status.kind, status.detail, config)
        return status

    def _decode(self, char_uuid: str, t_recv_s: float, payload: bytes) -> list[SampleBatch]:
        self.stats.packets += 1
        self.stats.bytes += len(payload)
        if self.recorder is not None:
            self.recorder.write_notification(t_recv_s, char_uuid, payload)
        try:
            batches = self.profile.decode(char_uuid, t_recv_s, payload)
        except ProtocolError as err:
            self.stats.decode_errors += 1
            self.stats.last_error = str(err)
            log.warning(
                "%s: skipped a bad packet (%d so far): %s", self.device_name, self.stats.decode_errors, err
            )
            return []
        for batch in batches:
            self.stats.batches += 1
            self.stats.samples += len(batch)
            self.stats.gaps += int(batch.gap_before)
        return batches

    async def stream(self) -> AsyncIterator[SampleBatch | StreamStatus]:
        """Yield sample batches and connection events until :meth:`stop` (or the consumer stops iterating).

        The first item is ``StreamStatus("connected")``; after a link loss: ``"disconnected"``, then
        ``"reconnected"`` once the device streams again; ``"device_stopped"`` when the device ended the
        stream on its own (the session then reconnects as after a link loss); ``"stopped"`` last.
        Raises DeviceError when the first connection fails (unless ``retry_first_connect``) or when
        ``max_reconnect_attempts`` failures happen in a row.
        """
        if self._stopping:  # stop() came before the stream started: nothing to connect to
            yield self._status("stopped", "stopped before it started")
            return
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._connected_once = False
        self._pending = []
        try:
            if self.retry_first_connect:
                self._reconnect_task = asyncio.ensure_future(self._connect_loop(first=True))
            else:
                self.transport = await self._connect_once()
                self._active_generation = self._generation
                self._connected_once = True
                yield self._status("connected", self.transport.address)
            while True:
                item = await self._queue.get()
                if isinstance(item, _Stop):
                    break
                if isinstance(item, _Data):
                    if item.generation > self._active_generation:
                        self._pending.append(item)  # the new link streams before its "up" arrives
                        continue
                    if item.generation < self._active_generation or self.transport is None:
                        self.stats.stale_packets += 1
                        continue
                    async for out in self._handle_data(item):
                        yield out
                elif isinstance(item, _Lost):
                    if item.generation != self._active_generation or self.transport is None or self._stopping:
                        continue  # a late callback from an old link, or we are already reconnecting
                    await self._drop_transport()
                    yield self._status("disconnected", item.reason)
                    self._reconnect_task = asyncio.ensure_future(self._connect_loop(first=False))
                elif isinstance(item, _Up):
                    self.transport = item.transport
                    self._active_generation = item.generation
                    if not self._connected_once:
                        self._connected_once = True
                        yield self._status("connected", item.transport.address)
                    else:
                        self.stats.reconnects += 1
                        yield self._status("reconnected", item.detail)
                    pending, self._pending = self._pending, []
                    for queued in pending:
                        if queued.generation != item.generation:
                            self.stats.stale_packets += 1
                            continue
                        async for out in self._handle_data(queued):
                            yield out
                elif isinstance(item, _Fail):
                    raise DeviceError(
                        f"device '{self.target}' ({self.device_name}): {item.reason}. "
                        "Check that it is powered, in range and not connected to another phone, then start again."
                    )
        finally:
            await self._shutdown()
        yield self._status("stopped", f"{self.stats.packets} packets, {self.stats.decode_errors} bad")

    async def _handle_data(self, item: _Data) -> AsyncIterator[SampleBatch | StreamStatus]:
        for batch in self._decode(item.char_uuid, item.t_recv_s, item.payload):
            yield batch
        for event_kind, detail in self.profile.take_events():
            yield self._status(event_kind, detail)
            if event_kind == "device_stopped":
                self._put(_Lost(self._active_generation, detail))

    async def _shutdown(self) -> None:
        self._stopping = True
        task, self._reconnect_task = self._reconnect_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        transport = self.transport
        if transport is not None:
            with contextlib.suppress(Exception):
                await self.profile.stop(transport)
        await self._drop_transport()
        if self.recorder is not None:
            self.recorder.flush()

    async def stop(self) -> None:
        """Stop streaming: cancels a pending reconnection, sends the stop command, disconnects.

        A session streams once: after ``stop`` (even one called before :meth:`stream` started) ``stream``
        yields only ``StreamStatus("stopped")``. Make a new DeviceSession to stream again.

        Notifications queued before the call are still decoded and yielded (nothing received is lost);
        then the stream ends with ``StreamStatus("stopped")``.
        """
        self._stopping = True
        self._put(_Stop())
