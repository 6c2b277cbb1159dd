"""Real radios through bleak: :class:`BleakConnector` scans, :class:`BleakTransport` wraps one ``BleakClient``.

Needs the ``ble`` extra (``pip install 'mujo-edge[ble]'``); bleak is imported only when used.

Lessons from bleak's tracker built in (see docs/devices.md):

* a NEW ``BleakClient`` per connection (#2002: callbacks doubled after reusing one); the session rescans
  before every reconnection because BlueZ forgets the device object once scanning stops (#1176, #377, #631);
* the disconnected callback only signals;
* ``start_notify`` serves notify AND indicate characteristics; the callback only stamps and forwards;
* MTU: on BlueZ ``mtu_size`` reads 23 until acquired, so :meth:`BleakTransport.connect` calls the BlueZ
  backend's ``_acquire_mtu()`` where it exists (needs a characteristic with AcquireWrite/AcquireNotify;
  when that fails the MTU stays 23 and frames must fit 20 bytes). Other backends report the negotiated MTU.

Every error from bleak or the OS (``BleakError``, ``BleakDBusError``, ``OSError``, ``FileNotFoundError``,
``ConnectionRefusedError``, ``asyncio.TimeoutError``) becomes one :class:`~mujo_edge.errors.DeviceError` that
says what happened and what to do (:func:`device_error`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

from mujo_edge.errors import DeviceError, MissingDependencyError
from mujo_edge.firmware_bridge.transport import (
    DEFAULT_ATT_MTU,
    Connector,
    NotifyCallback,
    Transport,
    host_time_s,
    normalize_uuid,
)

log = logging.getLogger(__name__)

_MAC = re.compile(r"^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$", re.IGNORECASE)

_NO_ADAPTER_FIX = (
    "On Linux install and start BlueZ (`sudo systemctl start bluetooth`) and check `bluetoothctl list` shows "
    "a powered adapter; in a container, share the host's D-Bus socket. Without Bluetooth, replay a recording "
    "(`firmware_bridge.record.ReplayConnector`) or use a virtual watch."
)
_DBUS_HINTS = {
    "org.freedesktop.DBus.Error.ServiceUnknown": "BlueZ (bluetoothd) is not running. " + _NO_ADAPTER_FIX,
    "org.bluez.Error.NotReady": "the Bluetooth adapter is powered off: run `bluetoothctl power on`.",
    "org.bluez.Error.InProgress": "another scan or connection is in progress on this adapter; wait and retry.",
    "org.bluez.Error.NotPermitted": "BlueZ refused the operation (not permitted); is the device paired elsewhere?",
    "org.bluez.Error.Failed": "BlueZ reported a failure; move the watch closer, or restart it and bluetoothd.",
    "org.freedesktop.DBus.Error.UnknownObject": (
        "BlueZ no longer knows the device (it forgets devices when scanning stops); scan again before connecting."
    ),
}


def _import_bleak() -> Any:
    try:
        import bleak
    except ImportError as err:  # pragma: no cover - the ble extra is installed in development
        raise MissingDependencyError("Streaming from a real watch over Bluetooth", "ble", "bleak") from err
    return bleak


def device_error(
    err: BaseException, action: str, target: str = "", timeout_s: float | None = None
) -> DeviceError:
    """Translate a bleak / OS / timeout error raised while doing ``action`` into one clear DeviceError."""
    if isinstance(err, DeviceError):
        return err
    who = f"device '{target}'" if target else "the device"
    name = type(err).__name__
    if isinstance(err, asyncio.TimeoutError):
        limit = f" after {timeout_s:g} s" if timeout_s is not None else ""
        return DeviceError(
            f"{action} {who} timed out{limit}: is it advertising, in range and not connected to another phone? "
            "Move it closer or restart it, then try again."
        )
    if isinstance(err, (FileNotFoundError, ConnectionRefusedError)):
        return DeviceError(
            f"no Bluetooth adapter found: {action} {who} failed because the system D-Bus or BlueZ is not reachable "
            f"({name}: {err}). {_NO_ADAPTER_FIX}"
        )
    bleak_error = _bleak_error(err, action, who)
    if bleak_error is not None:
        return bleak_error
    if isinstance(err, OSError):
        return DeviceError(f"operating-system error while {action} {who}: {name}: {err}. {_NO_ADAPTER_FIX}")
    return DeviceError(f"unexpected error while {action} {who}: {name}: {err}")


def _bleak_error(err: BaseException, action: str, who: str) -> DeviceError | None:
    """The DeviceError for one of bleak's own exceptions, ``None`` for anything else (or without bleak)."""
    try:
        from bleak import exc
    except ImportError:  # pragma: no cover - without bleak no bleak error can be raised
        return None
    if isinstance(err, exc.BleakBluetoothNotAvailableError):
        return DeviceError(
            f"no Bluetooth adapter found or Bluetooth is off ({err.reason.name}): {err.args[0]}. {_NO_ADAPTER_FIX}"
        )
    if isinstance(err, exc.BleakDeviceNotFoundError):
        return DeviceError(
            f"{who} not found while {action}: BlueZ/the OS no longer knows it. It must be advertising and in "
            "range; the session rescans and retries."
        )
    if isinstance(err, exc.BleakDBusError):
        hint = _DBUS_HINTS.get(err.dbus_error, "see `journalctl -u bluetooth` for BlueZ's side of the story.")
        details = f" ({err.dbus_error_details})" if err.dbus_error_details else ""
        return DeviceError(f"Bluetooth (BlueZ) error while {action} {who}: {err.dbus_error}{details}: {hint}")
    if isinstance(err, exc.BleakError):
        return DeviceError(
            f"Bluetooth error while {action} {who}: {err}. Check that the watch runs the expected firmware "
            "(right profile?) and is in range."
        )
    return None


_MAPPED = (OSError, asyncio.TimeoutError)


def _mapped_types() -> tuple[type[BaseException], ...]:
    try:
        from bleak.exc import BleakError
    except ImportError:  # pragma: no cover
        return _MAPPED
    return (*_MAPPED, BleakError)


class BleakConnector(Connector):
    """Scans with ``BleakScanner`` for a name, an address (MAC, or UUID on macOS) or an advertised service UUID.

    One connector can serve several sessions (a gateway): their scans are serialized, since BlueZ refuses a
    second discovery on the same adapter while one runs (``org.bluez.Error.InProgress``).

    Args:
        adapter: BlueZ adapter name (``"hci1"``), ``None`` for the default.
        connect_kwargs: Extra ``BleakClient`` keyword arguments (e.g. ``pair=True``).
    """

    def __init__(self, adapter: str | None = None, **connect_kwargs: Any) -> None:
        self.adapter = adapter
        self.connect_kwargs = connect_kwargs
        self._scan_lock: asyncio.Lock | None = None  # one scan at a time: BlueZ answers InProgress otherwise

    def _scanner_kwargs(self) -> dict[str, Any]:
        return {"bluez": {"adapter": self.adapter}} if self.adapter else {}

    async def find(self, target: str, timeout_s: float) -> Transport:
        bleak = _import_bleak()
        wanted = target.strip()
        wanted_lower = wanted.lower()
        wanted_uuid = normalize_uuid(wanted) if not _MAC.match(wanted) else ""

        def matches(device: Any, adv: Any) -> bool:
            if device.address.lower() == wanted_lower:
                return True
            if adv.local_name == wanted or (device.name and device.name == wanted):
                return True
            return bool(wanted_uuid) and wanted_uuid in {normalize_uuid(u) for u in adv.service_uuids}

        if self._scan_lock is None:
            self._scan_lock = asyncio.Lock()
        try:
            async with self._scan_lock:  # sessions of a gateway share the connector; scans must not overlap
                device = await bleak.BleakScanner.find_device_by_filter(
                    matches, timeout=timeout_s, **self._scanner_kwargs()
                )
        except _mapped_types() as err:
            raise device_error(err, "scanning for", target, timeout_s) from err
        if device is None:
            raise DeviceError(
                f"device '{target}' not found after {timeout_s:g} s: is it advertising and in range? "
                "Wake the watch (some only advertise with the screen on), make sure no phone app holds the "
                "connection, and check the name/address with a scanner (e.g. `bluetoothctl scan le`)."
            )
        return BleakTransport(device, adapter=self.adapter, **self.connect_kwargs)


class BleakTransport(Transport):
    """One connection through a NEW ``BleakClient`` (never reused across reconnections)."""

    def __init__(self, device: Any, adapter: str | None = None, **client_kwargs: Any) -> None:
        self.device = device
        self.address = str(getattr(device, "address", device))
        self.name = str(getattr(device, "name", "") or "")
        self.adapter = adapter
        self.client_kwargs = client_kwargs
        self._client: Any = None
        self._on_disconnect: Callable[[], None] | None = None
        self._signalled = False

    def set_disconnected_callback(self, cb: Callable[[], None]) -> None:
        self._on_disconnect = cb

    def _disconnected(self, _client: Any) -> None:
        if self._signalled:
            return
        self._signalled = True
        log.info("%s (%s): link lost", self.name, self.address)
        if self._on_disconnect is not None:
            self._on_disconnect()

    async def connect(self, timeout_s: float) -> None:
        if self._client is not None:
            raise DeviceError("a BleakTransport connects once; ask the connector for a new one to reconnect")
        bleak = _import_bleak()
        kwargs = dict(self.client_kwargs)
        if self.adapter:
            kwargs.setdefault("bluez", {"adapter": self.adapter})
        self._client = bleak.BleakClient(
            self.device, disconnected_callback=self._disconnected, timeout=timeout_s, **kwargs
        )
        try:
            await self._client.connect()
        except _mapped_types() as err:
            raise device_error(err, "connecting to", self.name or self.address, timeout_s) from err
        backend = getattr(self._client, "_backend", None)
        acquire = getattr(backend, "_acquire_mtu", None)
        if acquire is not None:
            try:
                await acquire()
            except Exception as err:
                log.info(
                    "%s: could not acquire the MTU on BlueZ (%s); assuming %d",
                    self.address,
                    err,
                    DEFAULT_ATT_MTU,
                )
        log.info("%s (%s): connected, ATT MTU %d", self.name, self.address, self.mtu)

    async def disconnect(self) -> None:
        client = self._client
        if client is None:
            return
        with contextlib.suppress(Exception):
            await client.disconnect()

    @property
    def mtu(self) -> int:
        if self._client is None:
            return DEFAULT_ATT_MTU
        try:
            return int(self._client.mtu_size)
        except Exception:
            return DEFAULT_ATT_MTU

    def _require(self) -> Any:
        if self._client is None:
            raise DeviceError(f"not connected to {self.name or self.address}; call connect() first")
        return self._client

    async def read(self, char_uuid: str) -> bytes:
        client = self._require()
        try:
            return bytes(await client.read_gatt_char(char_uuid))
        except _mapped_types() as err:
            raise device_error(err, f"reading {char_uuid} from", self.name or self.address) from err

    async def write(self, char_uuid: str, data: bytes, response: bool = True) -> None:
        client = self._require()
        try:
            await client.write_gatt_char(char_uuid, bytes(data), response=response)
        except _mapped_types() as err:
            raise device_error(
                err, f"writing {bytes(data).hex()} to {char_uuid} on", self.name or self.address
            ) from err

    async def subscribe(self, char_uuid: str, on_data: NotifyCallback) -> None:
        client = self._require()

        def forward(_sender: Any, data: bytearray) -> None:
            on_data(host_time_s(), bytes(data))

        try:
            await client.start_notify(char_uuid, forward)
        except _mapped_types() as err:
            raise device_error(err, f"subscribing to {char_uuid} on", self.name or self.address) from err
