"""The two seams between firmware_bridge and a Bluetooth stack: :class:`Transport` and :class:`Connector`.

A :class:`Transport` is ONE connection to ONE device. After a disconnect it is dead: the session asks its
:class:`Connector` for a fresh one (a new ``BleakClient`` per connection avoids doubled callbacks, bleak #2002).
Implementations: :mod:`mujo_edge.firmware_bridge.bleak_transport` (real radios through bleak),
:mod:`mujo_edge.firmware_bridge.record` (replay of a recording, with fault injection) and
``mujo_edge.firmware_bridge.virtual`` (bumble virtual watches).

Notification callbacks receive ``(t_recv_s, payload)`` where ``t_recv_s`` is the host's monotonic clock in
seconds (:func:`host_time_s`) at arrival. Callbacks must stay trivial (push to a queue); never reconnect or
block inside them.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable

#: ATT MTU every BLE link starts with; the payload of one notification is ``mtu - 3`` bytes.
DEFAULT_ATT_MTU = 23
#: Bytes of ATT header in a notification: payload per notification is ``mtu - ATT_HEADER_BYTES``.
ATT_HEADER_BYTES = 3

#: Notification callback: ``on_data(t_recv_s, payload)``, host monotonic seconds and the value's bytes.
NotifyCallback = Callable[[float, bytes], None]


def host_time_s() -> float:
    """Host receive clock used for every ``t_recv_s``: monotonic seconds (never jumps with wall-clock changes)."""
    return time.monotonic()


def normalize_uuid(uuid: str) -> str:
    """Lower-case 128-bit form of a UUID; 16-bit (``"180d"``) and 32-bit short forms expand on the BT base UUID."""
    u = uuid.strip().lower()
    if len(u) == 4:
        return f"0000{u}-0000-1000-8000-00805f9b34fb"
    if len(u) == 8:
        return f"{u}-0000-1000-8000-00805f9b34fb"
    return u


class Transport(abc.ABC):
    """One GATT connection to one device. A NEW Transport is made for every (re)connection.

    Attributes:
        name: Advertised name of the device ("" when unknown).
        address: Address the connection goes to (MAC on Linux/Windows, a UUID on macOS, any id for replay).
    """

    name: str = ""
    address: str = ""

    @abc.abstractmethod
    async def connect(self, timeout_s: float) -> None:
        """Connect (and acquire the MTU where the stack needs it). Raises DeviceError on failure."""

    @abc.abstractmethod
    async def disconnect(self) -> None:
        """Disconnect; safe to call on a transport that already lost its link."""

    @property
    @abc.abstractmethod
    def mtu(self) -> int:
        """ATT MTU in bytes; the payload of one notification is ``mtu - 3``."""

    @property
    def max_payload_bytes(self) -> int:
        """Largest notification payload this link can carry, ``mtu - 3`` bytes."""
        return self.mtu - ATT_HEADER_BYTES

    @abc.abstractmethod
    async def read(self, char_uuid: str) -> bytes:
        """Read a characteristic's value."""

    @abc.abstractmethod
    async def write(self, char_uuid: str, data: bytes, response: bool = True) -> None:
        """Write a characteristic (with or without response)."""

    @abc.abstractmethod
    async def subscribe(self, char_uuid: str, on_data: NotifyCallback) -> None:
        """Enable notify or indicate (whichever the characteristic has) and call ``on_data(t_recv_s, payload)``."""

    @abc.abstractmethod
    def set_disconnected_callback(self, cb: Callable[[], None]) -> None:
        """Register ``cb()`` to be called once when the link drops. It must only signal, never reconnect."""


class Connector(abc.ABC):
    """Finds a device and makes a fresh :class:`Transport` for every (re)connection."""

    @abc.abstractmethod
    async def find(self, target: str, timeout_s: float) -> Transport:
        """Scan for ``target`` (advertised name, address or advertised service UUID) for up to ``timeout_s``.

        Returns a NEW, not yet connected transport. Raises DeviceError ("device 'X' not found after N s ...").
        """
