"""VirtualWatch: a simulated watch with a REAL bumble GATT server on an in-process link.

The watch advertises (20 ms interval), accepts a connection, answers its profile's control protocol and,
once started, streams frames sized to the negotiated MTU at real time (or ``speed`` times faster), stamped
by its own sensor clock. It injects the :class:`~mujo_edge.firmware_bridge.faults.Faults` it was
given and counts everything it did in :class:`WatchStats`, so tests can check what arrived against what
was sent.

Timing model. The motion clock starts at the first START (so a workout begins when the stream does) and
then runs on, connected or not. Stream index ``i`` (one sample; one poll for InfiniTime) is measured at
sensor time ``i / stream_rate_hz``; with clock skew ``ppm`` that is host time
``t0 + i / (stream_rate_hz (1 + ppm 1e-6) speed)``. A frame leaves when its last sample is measured
(plus jitter). Samples measured while the watch is not streaming are never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mujo_edge import _checks
from mujo_edge._checks import is_number
from mujo_edge.errors import ConfigError, DataError, MissingDependencyError
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles import device_model
from mujo_edge.firmware_bridge.profiles.device import WatchDevice
from mujo_edge.firmware_bridge.transport import host_time_s

if TYPE_CHECKING:
    from bumble.device import Connection, Device
    from bumble.link import LocalLink

log = logging.getLogger(__name__)

#: Advertising interval of a virtual watch, ms (bumble's default is 1 s: scans would take seconds).
ADVERTISING_INTERVAL_MS = 20.0
#: Largest ATT MTU a virtual watch accepts (a common phone/watch value; the central asks for it).
DEFAULT_MAX_MTU = 247


def require_bumble() -> None:
    """Raise MissingDependencyError (the ``virtual`` extra) unless bumble can be imported."""
    try:
        import bumble  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError("Virtual watches (an in-process BLE link)", "virtual", "bumble") from err


class FaultPlan:
    """The random choices of :class:`Faults`, drawn in frame order from one seeded generator."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = np.random.default_rng(faults.seed)

    def drop(self) -> bool:
        """Is the next frame lost on the air?"""
        return self.faults.drop_prob > 0 and bool(self._rng.random() < self.faults.drop_prob)

    def hold(self, frame_no: int) -> bool:
        """Is frame ``frame_no`` (0-based, per stream) held back for a burst?"""
        f = self.faults
        return f.burst_every > 0 and f.burst_len > 1 and frame_no % f.burst_every < f.burst_len - 1

    def jitter_s(self) -> float:
        """Extra send delay for the next frame, host seconds."""
        return float(self._rng.uniform(0.0, self.faults.jitter_s)) if self.faults.jitter_s > 0 else 0.0


@dataclass
class WatchStats:
    """What a virtual watch did, for checking a stream against it.

    ``samples_sent`` counts samples in every frame handed to the radio, including the ``samples_dropped``
    ones that fault injection lost on the air: a host receives ``samples_sent - samples_dropped``.
    ``delivered`` / ``dropped`` list ``(first stream index, count)`` per frame, in send order;
    ``stream_starts`` holds ``len(delivered)`` at each START (a new connection's first frame).
    """

    connections: int = 0
    disconnects: int = 0  # links the watch dropped on purpose (fault injection)
    starts: int = 0
    frames_sent: int = 0
    frames_dropped: int = 0
    samples_sent: int = 0
    samples_dropped: int = 0
    bursts: int = 0
    delivered: list[tuple[int, int]] = field(default_factory=list)
    dropped: list[tuple[int, int]] = field(default_factory=list)
    stream_starts: list[int] = field(default_factory=list)


class VirtualWatch:
    """A simulated BLE watch for one profile, fed from a motion array.

    Args:
        profile: a registry name (``"polar"``, ``"infinitime"``, ``"mujo"``): the watch runs that profile
            folder's device model.
        acc_g: (n, 3) float32 motion in g at ``rate_hz`` (whole Hz for Polar).
        rate_hz: Sample rate of ``acc_g`` and of the watch's sensor.
        name: Advertised name (default: the device model's, e.g. "Polar Sense").
        faults: Faults to inject (default none).
        loop: Repeat the motion forever; else the stream ends after the last sample (``finished`` is set).
        speed: Play the motion this many times faster than real time (tests use 10-50).
        max_mtu: Largest ATT MTU the watch accepts.
        device_options: Profile options, e.g. ``compressed=False`` (Polar raw int16 frames).
    """

    def __init__(
        self,
        profile: str,
        acc_g: np.ndarray,
        rate_hz: float,
        name: str | None = None,
        faults: Faults | None = None,
        loop: bool = True,
        speed: float = 1.0,
        max_mtu: int = DEFAULT_MAX_MTU,
        **device_options: Any,
    ) -> None:
        require_bumble()
        if not (is_number(speed) and 0 < speed < math.inf):
            raise DataError(
                f"a virtual watch's speed must be a finite number > 0 (1 = real time), got {speed!r}"
            )
        if isinstance(max_mtu, bool) or not isinstance(max_mtu, int) or not 23 <= max_mtu <= 517:
            raise DataError(f"max_mtu must be an ATT MTU, a whole number between 23 and 517, got {max_mtu!r}")
        if name is not None:
            _checks.text(
                name, "a virtual watch's name", "give the name it advertises, or leave it out", DataError
            )
        if faults is not None and not isinstance(faults, Faults):
            raise ConfigError(f"a virtual watch's faults must be a Faults, got {type(faults).__name__}")
        model = device_model(profile)
        known = [
            p for p in inspect.signature(model).parameters if p not in ("self", "acc_g", "rate_hz", "loop")
        ]
        unknown = sorted(set(device_options) - set(known))
        if unknown:
            raise ConfigError(
                f"a virtual {model.profile} watch has no option {', '.join(unknown)}; its options are "
                f"{', '.join(known) or 'none'}"
            )
        self.device: WatchDevice = model(acc_g, rate_hz, bool(loop), **device_options)
        self.profile = self.device.profile
        self.name = name or self.device.default_name
        self.faults = faults or Faults()
        self.faults.require_injectable("virtual watch")
        self.speed = float(speed)
        self.max_mtu = max_mtu
        self.stats = WatchStats()
        self.address = ""
        self.finished = asyncio.Event()
        self._plan = FaultPlan(self.faults)
        rate = self.device.stream_rate_hz
        self._disconnect_at = [math.ceil(t * rate - 1e-9) for t in self.faults.disconnect_at_s]
        self._t0_host: float | None = None
        self._bumble: Device | None = None
        self._connection: Connection | None = None
        self._attributes: dict[str, Any] = {}
        self._indicate: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream_task: asyncio.Task[None] | None = None
        self._closing = False

    # ---------------------------------------------------------------------------------------- clock
    @property
    def connected(self) -> bool:
        return self._connection is not None

    def host_time_of(self, i: int) -> float:
        """Host time (``host_time_s`` clock) at which stream index ``i`` is measured."""
        assert self._t0_host is not None
        drift = 1.0 + self.faults.clock_skew_ppm * 1e-6
        return self._t0_host + i / (self.device.stream_rate_hz * drift * self.speed)

    def index_at(self, t_host_s: float) -> int:
        """First stream index measured at or after host time ``t_host_s``."""
        if self._t0_host is None:
            return 0
        drift = 1.0 + self.faults.clock_skew_ppm * 1e-6
        return max(
            0, math.ceil((t_host_s - self._t0_host) * self.speed * drift * self.device.stream_rate_hz - 1e-9)
        )

    def sensor_time_s(self, i: int) -> float | None:
        """Sensor time of stream index ``i`` as the profile decodes it (``None`` for InfiniTime)."""
        return self.device.sensor_time_s(i)

    # ---------------------------------------------------------------------------------------- bumble
    async def attach(self, link: LocalLink, address: str) -> None:
        """Create the watch's controller and GATT server on ``link`` at ``address`` and start advertising."""
        if self._bumble is not None:
            raise DataError(
                f"virtual watch {self.name!r} is already on a link; make a new VirtualWatch per link"
            )
        from bumble.controller import Controller
        from bumble.core import UUID, AdvertisingData
        from bumble.device import Device
        from bumble.gatt import Characteristic, CharacteristicValue, Service
        from bumble.hci import Address
        from bumble.host import Host
        from bumble.transport.common import AsyncPipeSink

        controller = Controller(self.name, link=link, public_address=address)
        device = Device(
            name=self.name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
        )
        device.gatt_server.max_mtu = self.max_mtu
        characteristics = []
        for spec in self.device.characteristics():
            props = Characteristic.Properties(0)
            perms = Characteristic.Permissions(0)
            if spec.read:
                props |= Characteristic.Properties.READ
                perms |= Characteristic.Permissions.READABLE
            if spec.write:
                props |= Characteristic.Properties.WRITE
                perms |= Characteristic.Permissions.WRITEABLE
            if spec.notify:
                props |= Characteristic.Properties.NOTIFY
            if spec.indicate:
                props |= Characteristic.Properties.INDICATE
                self._indicate.add(spec.uuid)
            value = CharacteristicValue(
                read=lambda _conn, u=spec.uuid: self.device.read(u),
                write=lambda conn, data, u=spec.uuid: self._on_write(conn, u, bytes(data)),
            )
            char = Characteristic(UUID(spec.uuid), props, perms, value)
            char.on(
                char.EVENT_SUBSCRIPTION,
                lambda _b, notify, indicate, u=spec.uuid: self._on_subscription(u, notify or indicate),
            )
            self._attributes[spec.uuid] = char
            characteristics.append(char)
        device.add_service(Service(UUID(self.device.service_uuid), characteristics))
        # Real legacy advertising carries 31 bytes; bumble's in-process controller echoes the advertising
        # data as scan response, so the name travels here even when a real watch would put it there.
        device.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (
                        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        bytes(UUID(self.device.service_uuid)),
                    ),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                ]
            )
        )
        device.on(device.EVENT_CONNECTION, self._on_connection)
        self._bumble = device
        self.address = address
        await device.power_on()
        await self._advertise()

    async def _advertise(self) -> None:
        if self._bumble is None or self._closing or self._connection is not None:
            return
        await self._bumble.start_advertising(
            advertising_interval_min=ADVERTISING_INTERVAL_MS, advertising_interval_max=ADVERTISING_INTERVAL_MS
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("virtual watch %s: task failed: %r", self.name, task.exception())

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self.stats.connections += 1
        connection.on(
            connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection, reason)
        )
        log.debug("virtual watch %s: connected (%s)", self.name, connection.peer_address)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self._connection is not connection:
            return
        self._connection = None
        self.device.connection_lost()
        if self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None
        self._spawn(self._advertise())

    def _on_write(self, connection: Connection, uuid: str, data: bytes) -> None:
        was = self.device.streaming
        replies = self.device.write(uuid, data)
        self._spawn(self._reply_then_stream(connection, replies, was))

    def _on_subscription(self, uuid: str, enabled: bool) -> None:
        if self._connection is None:
            return
        was = self.device.streaming
        self.device.subscribed(uuid, enabled)
        if self.device.streaming != was:
            self._spawn(self._reply_then_stream(self._connection, [], was))

    async def _reply_then_stream(
        self, connection: Connection, replies: list[tuple[str, bytes]], was: bool
    ) -> None:
        assert self._bumble is not None
        for uuid, payload in replies:
            if self._connection is not connection:
                return
            if uuid in self._indicate:
                await self._bumble.indicate_subscriber(connection, self._attributes[uuid], payload)
            else:
                await self._bumble.notify_subscriber(connection, self._attributes[uuid], payload)
        now = self.device.streaming
        if now and not was and self._connection is connection:
            self.stats.starts += 1
            self.stats.stream_starts.append(len(self.stats.delivered))
            if self._stream_task is not None:
                self._stream_task.cancel()
            self._stream_task = self._spawn(self._stream(connection))
        elif was and not now and self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None

    # ---------------------------------------------------------------------------------------- streaming
    async def _sleep_until(self, t_host_s: float) -> None:
        delay = t_host_s - host_time_s()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _stream(self, connection: Connection) -> None:
        """Send frames from the sample measured now until stopped, disconnected or out of motion."""
        assert self._bumble is not None
        device = self.device
        data = self._attributes[device.data_uuid]
        if self._t0_host is None:  # the motion starts with the first stream
            self._t0_host = host_time_s()
            i = 0
        else:
            i = self.index_at(host_time_s())
        end = device.stream_length
        frame_no = 0
        held: list[tuple[int, int, bytes]] = []
        while device.streaming and self._connection is connection:
            # Cuts that fell while the watch was offline lapse.
            self._disconnect_at = [k for k in self._disconnect_at if k >= i]
            next_cut = self._disconnect_at[0] if self._disconnect_at else None
            if next_cut is not None and next_cut <= i:
                await self._send(connection, data, held)
                await self._sleep_until(self.host_time_of(next_cut))
                self._disconnect_at.pop(0)
                await self._fault_disconnect(connection)
                return
            limits = [k - i for k in (end, next_cut) if k is not None]
            if end is not None and i >= end:
                await self._send(connection, data, held)
                self.finished.set()
                return
            mtu = connection.att_mtu
            n, payload = device.frame(i, mtu - 3, min(limits) if limits else None)
            await self._sleep_until(self.host_time_of(i + n - 1) + self._plan.jitter_s())
            first, i = i, i + n
            if payload is None:
                continue
            if self._plan.drop():
                self.stats.samples_sent += n
                self.stats.frames_dropped += 1
                self.stats.samples_dropped += n
                self.stats.dropped.append((first, n))
            else:
                held.append((first, n, payload))
            if not self._plan.hold(frame_no):
                if len(held) > 1:
                    self.stats.bursts += 1
                await self._send(connection, data, held)
            frame_no += 1

    async def _send(self, connection: Connection, data: Any, held: list[tuple[int, int, bytes]]) -> None:
        assert self._bumble is not None
        while held and self._connection is connection:
            first, n, payload = held.pop(0)
            await self._bumble.notify_subscriber(connection, data, payload)
            # Back-pressure: wait until the controller took the packet, as a real stack's TX buffers do.
            with contextlib.suppress(Exception):
                await connection.drain()
            self.stats.frames_sent += 1
            self.stats.samples_sent += n
            self.stats.delivered.append((first, n))

    async def _fault_disconnect(self, connection: Connection) -> None:
        """Drop the link (fault injection), stay silent ``down_s`` motion seconds, then advertise again."""
        assert self._bumble is not None
        self.stats.disconnects += 1
        log.info("virtual watch %s: dropping the link (fault injection)", self.name)
        self._connection = None  # no re-advertising from the disconnection handler
        self.device.connection_lost()
        self._stream_task = None
        with contextlib.suppress(Exception):
            await connection.disconnect()
        await asyncio.sleep(self.faults.down_s / self.speed)
        await self._advertise()

    async def close(self) -> None:
        """Stop streaming and advertising, drop the link; the watch is done."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._bumble is not None:
            connection, self._connection = self._connection, None
            if connection is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.disconnect(), 1.0)
            with contextlib.suppress(Exception):
                await self._bumble.stop_advertising()
            with contextlib.suppress(Exception):
                await self._bumble.power_off()
