"""BumbleConnector / BumbleTransport: the firmware_bridge seams on a bumble central device.

The central is a bumble :class:`~bumble.device.Device` on the same in-process ``LocalLink`` as the virtual
watches (see :mod:`.link`). Everything goes through real HCI, LL, ATT and GATT code in bumble: scanning
advertisements, connecting, the MTU exchange, service discovery, CCCD writes, notifications,
indications and their confirmations, and link loss.

Scans, connects and MTU exchanges of several sessions (a gateway) are serialised: one bumble device can
run one scan and one pending LE connection at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mujo_edge.errors import DeviceError
from mujo_edge.firmware_bridge.transport import (
    DEFAULT_ATT_MTU,
    Connector,
    NotifyCallback,
    Transport,
    host_time_s,
    normalize_uuid,
)

if TYPE_CHECKING:
    from bumble.device import Advertisement, Connection, Device, Peer

log = logging.getLogger(__name__)

#: ATT MTU the central asks for (the watch may accept less).
REQUESTED_MTU = 247
#: Seconds any single GATT operation may take before it counts as failed.
GATT_TIMEOUT_S = 5.0

_T = TypeVar("_T")


def _address(text: str) -> str:
    """bumble prints public addresses as ``AA:BB:..../P``; compare without the type suffix, upper-case."""
    return text.split("/")[0].upper()


def _cancelling() -> bool:
    """Is the current task itself being cancelled (as opposed to a future inside it)?"""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return bool(cancelling()) if cancelling is not None else False


class BumbleTransport(Transport):
    """One GATT connection from the bumble central to one device. A new one per connection."""

    def __init__(
        self,
        central: Device,
        address: Any,
        name: str,
        requested_mtu: int,
        link_lock: asyncio.Lock,
    ) -> None:
        self.central = central
        self._peer_address = address  # bumble Address, with its type (public / random)
        self.address = _address(str(address))
        self.name = name
        self.requested_mtu = requested_mtu
        self._link_lock = link_lock
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._chars: dict[str, Any] = {}
        self._on_lost: Callable[[], None] | None = None
        self._lost = False

    # ------------------------------------------------------------------------------------------ link
    async def connect(self, timeout_s: float) -> None:
        from bumble.core import BaseBumbleError
        from bumble.device import Peer

        try:
            async with self._link_lock:
                connection = await asyncio.wait_for(
                    self.central.connect(self._peer_address, timeout=timeout_s), timeout_s
                )
                connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
                self._connection = connection
                self._peer = Peer(connection)
                await asyncio.wait_for(self._peer.request_mtu(self.requested_mtu), GATT_TIMEOUT_S)
            for service in await self._gatt("discover services", self._peer.discover_services()):
                for char in await self._gatt(
                    "discover characteristics", self._peer.discover_characteristics(service=service)
                ):
                    self._chars[normalize_uuid(str(char.uuid))] = char
        except (BaseBumbleError, asyncio.TimeoutError, OSError) as err:
            await self.disconnect()
            raise DeviceError(
                f"could not connect to virtual device {self.name or self.address} ({self.address}) within "
                f"{timeout_s:.0f} s: {err!r}. Is the virtual watch still running (not closed)?"
            ) from err
        log.debug("bumble: connected to %s (%s), MTU %d", self.name, self.address, self.mtu)

    def _on_disconnection(self, reason: int) -> None:
        self._lost = True
        callback, self._on_lost = self._on_lost, None
        if callback is not None:
            callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None or self._lost:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.disconnect(), GATT_TIMEOUT_S)

    @property
    def mtu(self) -> int:
        return self._connection.att_mtu if self._connection is not None else DEFAULT_ATT_MTU

    def set_disconnected_callback(self, cb: Callable[[], None]) -> None:
        self._on_lost = cb

    # ------------------------------------------------------------------------------------------ GATT
    async def _gatt(self, what: str, operation: Awaitable[_T]) -> _T:
        """Run one GATT operation with a timeout; link loss and bumble errors become DeviceError."""
        from bumble.core import BaseBumbleError

        if self._connection is None or self._lost:
            if asyncio.iscoroutine(operation):
                operation.close()
            raise DeviceError(
                f"{what} on {self.name or self.address}: not connected (link lost or never made)"
            )
        try:
            return await asyncio.wait_for(operation, GATT_TIMEOUT_S)
        except asyncio.CancelledError:
            if self._lost and not _cancelling():  # bumble cancels pending requests when the link drops
                raise DeviceError(f"{what} on {self.name or self.address}: the link dropped") from None
            raise
        except (BaseBumbleError, asyncio.TimeoutError) as err:
            raise DeviceError(
                f"{what} on {self.name or self.address} failed: {err!r}"
                + (" (the link dropped)" if self._lost else "")
            ) from err

    def _char(self, char_uuid: str) -> Any:
        char = self._chars.get(normalize_uuid(char_uuid))
        if char is None:
            raise DeviceError(
                f"{self.name or self.address} has no characteristic {char_uuid}; it offers "
                f"{sorted(self._chars) or 'none (not connected?)'}. Is this the right profile for the device?"
            )
        return char

    async def read(self, char_uuid: str) -> bytes:
        char = self._char(char_uuid)
        return bytes(await self._gatt(f"read {char_uuid}", char.read_value()))

    async def write(self, char_uuid: str, data: bytes, response: bool = True) -> None:
        char = self._char(char_uuid)
        await self._gatt(f"write {char_uuid}", char.write_value(bytes(data), with_response=response))

    async def subscribe(self, char_uuid: str, on_data: NotifyCallback) -> None:
        char = self._char(char_uuid)

        def deliver(value: bytes) -> None:
            on_data(host_time_s(), bytes(value))

        await self._gatt(f"subscribe {char_uuid}", char.subscribe(deliver, prefer_notify=True))


class BumbleConnector(Connector):
    """Scans with a bumble central device and makes a fresh :class:`BumbleTransport` per connection.

    Args:
        central: A powered-on bumble Device on the link the watches advertise on.
        requested_mtu: ATT MTU to ask for after connecting.
    """

    def __init__(self, central: Device, requested_mtu: int = REQUESTED_MTU) -> None:
        self.central = central
        self.requested_mtu = requested_mtu
        self._scan_lock = asyncio.Lock()
        self._link_lock = asyncio.Lock()

    @staticmethod
    def matches(advertisement: Advertisement, target: str) -> str | None:
        """The advertised name if ``advertisement`` is ``target`` (name, address or service UUID), else None."""
        from bumble.core import AdvertisingData

        data = advertisement.data
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
        name = name.decode(errors="replace") if isinstance(name, bytes) else (name or "")
        if target == name or _address(target) == _address(str(advertisement.address)):
            return name
        uuids = []
        for kind in (
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        ):
            uuids += [normalize_uuid(str(u)) for u in data.get(kind) or []]
        return name if len(target) >= 4 and normalize_uuid(target) in uuids else None

    async def find(self, target: str, timeout_s: float) -> Transport:
        from bumble.core import BaseBumbleError

        loop = asyncio.get_running_loop()
        async with self._scan_lock:
            found: asyncio.Future[tuple[Any, str]] = loop.create_future()

            def on_advertisement(advertisement: Advertisement) -> None:
                name = self.matches(advertisement, target)
                if name is not None and not found.done():
                    found.set_result((advertisement.address, name))

            self.central.on(self.central.EVENT_ADVERTISEMENT, on_advertisement)
            t0 = host_time_s()
            try:
                await self.central.start_scanning(filter_duplicates=False)
                address, name = await asyncio.wait_for(found, timeout_s)
            except asyncio.TimeoutError:
                raise DeviceError(
                    f"device '{target}' not found after {timeout_s:.0f} s: no virtual watch on this link advertises "
                    "that name, address or service UUID. Check the name given to VirtualWatch."
                ) from None
            except BaseBumbleError as err:
                raise DeviceError(f"bumble scan for '{target}' failed: {err!r}") from err
            finally:
                self.central.remove_listener(self.central.EVENT_ADVERTISEMENT, on_advertisement)
                with contextlib.suppress(Exception):
                    await self.central.stop_scanning()
        log.debug("bumble: found %s (%s) in %.3f s", name, address, host_time_s() - t0)
        return BumbleTransport(self.central, address, name, self.requested_mtu, self._link_lock)
