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
from collections.abc import Callable
from typing import Any, TypeVar

from mujo_edge.errors import ProtocolError
from mujo_edge.firmware_bridge.transport import Transport
from mujo_edge.samples import SampleBatch, StatusKind

#: Callback a profile forwards every notification to: ``on_data(char_uuid, t_recv_s, payload)``.
DataCallback = Callable[[str, float, bytes], None]

R = TypeVar("R")
log = logging.getLogger(__name__)


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

    def __init__(self, device: str = "", rate_hz: float = 50.0) -> None:
        self.device = device
        self.rate_hz = float(rate_hz)
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
        """Restore :meth:`config` when replaying a recording (after :meth:`reset`)."""
        if "rate_hz" in config:
            self.rate_hz = float(config["rate_hz"])

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

    def _need(self, payload: bytes, n: int, what: str) -> None:
        """Raise a ProtocolError unless ``payload`` holds at least ``n`` bytes."""
        if len(payload) < n:
            raise ProtocolError(
                f"{self.name} {what}: expected at least {n} bytes, got {len(payload)} "
                f"({payload[:32].hex()}); the packet is truncated (MTU too small or a corrupt capture)"
            )
