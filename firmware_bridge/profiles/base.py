"""What every device profile does: start/stop a stream over a :class:`Transport` and decode its bytes.

A profile knows one device family's GATT layout and byte format, nothing about BLE stacks (that is the
transport) and nothing about models (that is the runtime). One folder per profile under ``profiles/``,
the way bleak has one folder per backend.

Lifecycle, driven by :class:`~mujo_edge.firmware_bridge.session.DeviceSession`::

    profile.reset()                         # new connection: forget previous frame time / sequence
    await profile.start(transport, on_data) # subscribe, configure, send the start command
    ... profile.decode(char_uuid, t_recv_s, payload) for every notification -> list[SampleBatch]
    await profile.stop(transport)

``decode`` is pure with respect to I/O: it raises :class:`~mujo_edge.errors.ProtocolError` on a bad packet
(the session skips and counts it) and returns ``[]`` for packets that carry no samples (control responses).
"""

from __future__ import annotations

import abc
import asyncio
import logging
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from mujo_edge import _checks
from mujo_edge._checks import is_number
from mujo_edge.errors import ConfigError, DataError, ProtocolError
from mujo_edge.firmware_bridge.transport import Transport
from mujo_edge.samples import SampleBatch, StatusKind

#: Callback a profile forwards every notification to: ``on_data(char_uuid, t_recv_s, payload)``.
DataCallback = Callable[[str, float, bytes], None]

R = TypeVar("R")
T = TypeVar("T")
log = logging.getLogger(__name__)

#: The most sensor time one frame may claim since the previous one, seconds. A longer step (a flipped
#: timestamp bit, a clock reset, a corrupt sequence number) is not believed on one frame's word; see
#: :class:`JumpConfirmation`. Longer than a BLE link stays silent without the connection dropping (the
#: supervision timeout, a few seconds), after which the session reconnects and the decoder starts afresh.
MAX_FRAME_STEP_S = 10.0
#: Consecutive frames that must agree with each other, though not with the stream before them, before a
#: decoder believes the jump: a new timeline, flagged ``gap_before=True`` with no samples counted lost.
JUMP_CONFIRM_FRAMES = 3


class JumpConfirmation(Generic[T]):
    """Frames that do not continue a stream, held until ``frames`` of them in a row agree with each other.

    One corrupt frame (a flipped timestamp bit, a far-ahead sequence number) then never moves a decoder's
    timeline, and a real change (the device's clock was set, the watch restarted its stream and its first
    frame was lost) is believed after a few frames instead of locking the decoder out for good. The decoder
    says whether an item follows the last one held (``last``), in its own terms (timestamps, sequence numbers).
    """

    def __init__(self, frames: int = JUMP_CONFIRM_FRAMES) -> None:
        self.frames = frames
        self._run: list[T] = []

    @property
    def last(self) -> T | None:
        """The most recent item held, None when none is."""
        return self._run[-1] if self._run else None

    def __len__(self) -> int:
        return len(self._run)

    def offer(self, item: T, follows_last: bool) -> list[T]:
        """Hold ``item``: it extends the run when it follows the last item held, else starts a new run.

        Returns the whole run, oldest first (and holds nothing any more), once it is ``frames`` long: the jump
        is confirmed. Returns ``[]`` while it is shorter.
        """
        self._run = [*self._run, item] if follows_last and self._run else [item]
        if len(self._run) < self.frames:
            return []
        run, self._run = self._run, []
        return run

    def clear(self) -> list[T]:
        """Forget the run (the stream went on as before, or the connection was reset); returns what was held."""
        run, self._run = self._run, []
        return run


def config_number(
    config: Mapping[str, Any], key: str, profile: str, meaning: str, lo: float, hi: float
) -> float | None:
    """``config[key]`` as a float, None when the key is absent; DataError unless it is a finite number in
    [``lo``, ``hi``] (a string, NaN, a boolean or 0 Hz in a recording's connection config is a corrupt line)."""
    if not isinstance(config, Mapping):
        raise DataError(
            f"{profile} connection config must be a dict as DeviceProfile.config() writes, got "
            f"{type(config).__name__} {config!r:.60}"
        )
    if key not in config:
        return None
    value = config[key]
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and lo <= number <= hi):
        raise bad_config(profile, key, value, f"{meaning} (a finite number in [{lo:g}, {hi:g}])")
    return number


def bad_config(profile: str, key: str, value: Any, expected: str) -> DataError:
    """The error for a value in a recording's connection config (``DeviceProfile.config()`` as recorded on its
    "connected"/"reconnected" line): names the key, the value, what it must be and the fix."""
    return DataError(
        f"{profile} connection config: {key}={value!r} is not {expected}; set it to what the device "
        "streamed with, or delete the key to keep the decoder's default"
    )


async def subscribe_control_and_data(
    transport: Transport,
    on_data: DataCallback,
    control_uuid: str,
    data_uuid: str,
    parse_response: Callable[[bytes], R | None],
    device: str,
) -> asyncio.Queue[R]:
    """Subscribe to a control characteristic (command responses) and a data characteristic.

    Every notification of both is forwarded to ``on_data`` (so a recording holds them all). Control
    payloads are also parsed with ``parse_response`` into the returned queue, which the profile's command
    helper awaits; ``None`` (not a response, e.g. an unsolicited stop notice) is not queued, and a payload
    that does not parse is logged and skipped: the stream goes on.
    """
    responses: asyncio.Queue[R] = asyncio.Queue()

    def on_control(t_recv_s: float, payload: bytes) -> None:
        on_data(control_uuid, t_recv_s, payload)
        try:
            response = parse_response(payload)
        except ProtocolError as err:
            log.warning("%s: unreadable control response: %s", device, err)
            return
        if response is not None:
            responses.put_nowait(response)

    def on_frame(t_recv_s: float, payload: bytes) -> None:
        on_data(data_uuid, t_recv_s, payload)

    await transport.subscribe(control_uuid, on_control)
    await transport.subscribe(data_uuid, on_frame)
    return responses


class DeviceProfile(abc.ABC):
    """One device family's protocol.

    Attributes:
        name: Registry name, ``"polar"``, ``"infinitime"`` or ``"mujo"``.
        service_uuid: The GATT service a scan can look for (lower-case 128-bit UUID).
        device: Stream name put in every :class:`SampleBatch` (the session sets it to its ``device_name``).
        rate_hz: Nominal sample rate of the configured stream, Hz (updated by ``start`` when the device says).
        host_stamped: True when the device sends no sensor timestamps (``t_sensor_s`` is ``None``).
        dropped_samples: Samples the decoder knows went missing (sequence gaps), since construction.
        gaps: Number of gaps (``gap_before=True`` batches) since construction.
    """

    name: str = ""
    service_uuid: str = ""
    host_stamped: bool = False

    #: Sample rates, Hz, a recording's connection config may hold for this profile (``apply_config``).
    config_rate_range_hz: tuple[float, float] = (0.01, 10_000.0)

    def __init__(self, device: str = "", rate_hz: float = 50.0) -> None:
        self.device = _checks.text(
            device, f"{type(self).__name__}: device", "name the stream (its address or a name of your choice)"
        )
        rate = (
            float(rate_hz)
            if isinstance(rate_hz, numbers.Real) and not isinstance(rate_hz, bool)
            else math.nan
        )
        if not 0 < rate < math.inf:
            raise ConfigError(
                f"{type(self).__name__}: rate_hz={rate_hz!r}; expected a sample rate in Hz, a finite number > 0 "
                "(leave it out for the profile's default)"
            )
        self.rate_hz = rate
        self.dropped_samples = 0
        self.gaps = 0
        self._events: list[tuple[StatusKind, str]] = []

    @property
    def data_uuids(self) -> tuple[str, ...]:
        """Characteristics whose notifications carry samples (and that a recording must keep)."""
        return ()

    @abc.abstractmethod
    async def start(self, transport: Transport, on_data: DataCallback) -> None:
        """Subscribe to what the profile needs, configure the device and send its start command.

        Every notification is forwarded as ``on_data(char_uuid, t_recv_s, payload)``; the callback only queues.
        Raises DeviceError when the device refuses (the message names the device's reason).
        """

    @abc.abstractmethod
    async def stop(self, transport: Transport) -> None:
        """Send the stop command (best effort: the link may already be gone)."""

    @abc.abstractmethod
    def decode(self, char_uuid: str, t_recv_s: float, payload: bytes) -> list[SampleBatch]:
        """Decode one notification into sample batches; ``[]`` for non-sample packets; ProtocolError if bad."""

    def config(self) -> dict[str, Any]:
        """What a recording must keep to decode this connection again (rate, scale factor...), JSON-able."""
        return {"rate_hz": self.rate_hz}

    def apply_config(self, config: dict[str, Any]) -> None:
        """Restore :meth:`config` when replaying a recording (after :meth:`reset`).

        Raises DataError naming the key, its value and the fix when a value cannot be what :meth:`config`
        wrote (not a number, NaN, 0 Hz...); nothing is changed then. Subclasses validate every key first and
        assign after, for the same reason.
        """
        rate = self._config_rate(config)
        if rate is not None:
            self.rate_hz = rate

    def _config_rate(self, config: Mapping[str, Any]) -> float | None:
        """The recorded ``rate_hz``, checked against :attr:`config_rate_range_hz` (None when absent)."""
        lo, hi = self.config_rate_range_hz
        return config_number(config, "rate_hz", self.name, "a sample rate in Hz", lo, hi)

    def reset(self) -> None:
        """Forget per-connection state (previous frame timestamp, sequence number) after a reconnect."""
        self._events.clear()

    def take_events(self) -> list[tuple[StatusKind, str]]:
        """Connection-level events the decoder saw, as ``(kind, detail)``, e.g. the device stopped a stream.

        The session turns them into :class:`~mujo_edge.samples.StreamStatus` items; this empties the list.
        """
        events, self._events = self._events, []
        return events

    def _event(self, kind: StatusKind, detail: str) -> None:
        self._events.append((kind, detail))

    def _arguments(self, char_uuid: Any, t_recv_s: Any, payload: Any) -> bytes:
        """``payload`` as bytes after checking ``decode``'s arguments, before any state changes: a bad call
        leaves the decoder as it was. O(1) for the arguments a session passes (str, float, bytes)."""
        if type(char_uuid) is not str:
            raise DataError(
                f"{self.name} decode: char_uuid must be the characteristic's UUID as a str, got "
                f"{type(char_uuid).__name__} {char_uuid!r}"
            )
        # (NaN passes: the pipeline drops such times and counts them)
        if not (type(t_recv_s) is float or is_number(t_recv_s)):
            raise DataError(
                f"{self.name} decode: t_recv_s must be a number, got {type(t_recv_s).__name__} "
                f"{t_recv_s!r}: pass the host's monotonic receive time in seconds (transport.host_time_s())"
            )
        return (
            payload
            if type(payload) is bytes
            else _checks.payload_bytes(payload, f"{self.name} decode: payload")
        )

    def _need(self, payload: bytes, n: int, what: str) -> None:
        """Raise a ProtocolError unless ``payload`` holds at least ``n`` bytes."""
        if len(payload) < n:
            raise ProtocolError(
                f"{self.name} {what}: expected at least {n} bytes, got {len(payload)} "
                f"({payload[:32].hex()}); the packet is truncated (MTU too small or a corrupt capture)"
            )
