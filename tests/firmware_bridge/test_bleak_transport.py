"""BleakConnector/BleakTransport: every bleak/OS error becomes one clear DeviceError; the client is driven right."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

pytestmark = pytest.mark.ble
bleak = pytest.importorskip("bleak", reason="the 'ble' extra (bleak) is not installed")
from bleak.exc import (  # noqa: E402
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)

from mujo_edge.errors import DeviceError  # noqa: E402
from mujo_edge.firmware_bridge.bleak_transport import BleakConnector, BleakTransport, device_error  # noqa: E402

POLAR_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"


def scan_raising(monkeypatch: pytest.MonkeyPatch, err: BaseException) -> None:
    async def find_device_by_filter(*args: Any, **kwargs: Any) -> None:
        raise err

    monkeypatch.setattr(bleak.BleakScanner, "find_device_by_filter", find_device_by_filter)


def find(target: str = "Polar Sense B5", timeout_s: float = 10) -> Any:
    return asyncio.run(BleakConnector().find(target, timeout_s))


@pytest.mark.parametrize(
    "err, message",
    [
        (
            FileNotFoundError(2, "No such file or directory"),
            r"^no Bluetooth adapter found: scanning for device 'Polar Sense B5' failed",
        ),
        (
            ConnectionRefusedError(111, "Connection refused"),
            r"^no Bluetooth adapter found: .*systemctl start bluetooth",
        ),
        (
            BleakBluetoothNotAvailableError(
                "No Bluetooth adapters found.", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
            ),
            r"^no Bluetooth adapter found or Bluetooth is off \(NO_BLUETOOTH\)",
        ),
        (
            BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]),
            r"powered off: run `bluetoothctl power on`",
        ),
        (
            BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", []),
            r"BlueZ \(bluetoothd\) is not running",
        ),
        (
            BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"]),
            r"already in progress\): another scan",
        ),
        (
            BleakDeviceNotFoundError("AA:BB", "Device with address AA:BB was not found."),
            r"not found while scanning for",
        ),
        (
            BleakError("something odd"),
            r"^Bluetooth error while scanning for device 'Polar Sense B5': something odd",
        ),
        (
            asyncio.TimeoutError(),
            r"^scanning for device 'Polar Sense B5' timed out after 10 s: is it advertising",
        ),
        (
            PermissionError(13, "Permission denied"),
            r"^operating-system error while scanning for .*PermissionError",
        ),
    ],
)
def test_scan_errors_become_one_clear_device_error(
    monkeypatch: pytest.MonkeyPatch, err: BaseException, message: str
) -> None:
    scan_raising(monkeypatch, err)
    with pytest.raises(DeviceError, match=message) as info:
        find()
    assert info.value.__cause__ is err


def test_device_not_advertising_is_not_found_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async def nothing(*args: Any, **kwargs: Any) -> None:
        assert kwargs["timeout"] == 3
        return None

    monkeypatch.setattr(bleak.BleakScanner, "find_device_by_filter", nothing)
    with pytest.raises(
        DeviceError, match=r"^device 'H10' not found after 3 s: is it advertising and in range\?"
    ):
        find("H10", 3)


def test_target_matches_name_address_or_service(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    device = SimpleNamespace(address="A0:9E:1A:00:11:22", name="Polar H10 1234")
    adv = SimpleNamespace(local_name="Polar H10 1234", service_uuids=[POLAR_SERVICE.upper(), "180d"])

    async def one_device(filterfunc: Any, timeout: float, **kwargs: Any) -> Any:
        seen.append(filterfunc(device, adv))
        return device if seen[-1] else None

    monkeypatch.setattr(bleak.BleakScanner, "find_device_by_filter", one_device)
    for target in ("Polar H10 1234", "a0:9e:1a:00:11:22", POLAR_SERVICE, "180D"):
        transport = find(target)
        assert isinstance(transport, BleakTransport) and transport.address == device.address
    with pytest.raises(DeviceError, match="not found"):
        find("Polar H10 9999")
    assert seen == [True, True, True, True, False]


class FakeClient:
    """Stands in for BleakClient: records what the transport asks of it."""

    instances: ClassVar[list[FakeClient]] = []

    def __init__(
        self, device: Any, disconnected_callback: Any = None, timeout: float = 30, **kwargs: Any
    ) -> None:
        self.device, self.disconnected_callback, self.timeout, self.kwargs = (
            device,
            disconnected_callback,
            timeout,
            kwargs,
        )
        self.calls: list[tuple] = []
        self.notify: dict[str, Any] = {}
        self.mtu_size = 23
        self._backend = SimpleNamespace(_acquire_mtu=self._acquire_mtu)
        FakeClient.instances.append(self)

    async def _acquire_mtu(self) -> None:
        self.calls.append(("acquire_mtu",))
        self.mtu_size = 247

    async def connect(self) -> None:
        self.calls.append(("connect",))

    async def disconnect(self) -> None:
        self.calls.append(("disconnect",))

    async def read_gatt_char(self, uuid: str) -> bytearray:
        self.calls.append(("read", uuid))
        return bytearray(b"\x0f\x04\x00")

    async def write_gatt_char(self, uuid: str, data: bytes, response: bool) -> None:
        if data == b"\xff":
            raise BleakError("Characteristic c842ee02 was not found!")
        self.calls.append(("write", uuid, data, response))

    async def start_notify(self, uuid: str, callback: Any) -> None:
        self.calls.append(("start_notify", uuid))
        self.notify[uuid] = callback


def test_transport_drives_a_new_client_acquires_mtu_and_stamps_notifications(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakeClient.instances = []
    monkeypatch.setattr(bleak, "BleakClient", FakeClient)
    device = SimpleNamespace(address="AA:BB:CC:DD:EE:FF", name="watch")
    received: list[tuple[float, bytes]] = []
    lost: list[int] = []

    async def main() -> None:
        transport = BleakTransport(device, adapter="hci1")
        transport.set_disconnected_callback(lambda: lost.append(1))
        assert transport.mtu == 23
        await transport.connect(7.5)
        assert transport.mtu == 247 and transport.max_payload_bytes == 244
        assert await transport.read("c842ee01") == b"\x0f\x04\x00"
        await transport.write("c842ee02", b"\x01\x88\x13\x02", response=True)
        await transport.subscribe("c842ee03", lambda t, data: received.append((t, data)))
        FakeClient.instances[0].notify["c842ee03"](None, bytearray(b"\x01\x02"))
        FakeClient.instances[0].disconnected_callback(FakeClient.instances[0])
        FakeClient.instances[0].disconnected_callback(FakeClient.instances[0])  # signalled once only
        with pytest.raises(
            DeviceError, match=r"^Bluetooth error while writing ff to c842ee02 on device 'watch'"
        ):
            await transport.write("c842ee02", b"\xff")
        await transport.disconnect()
        with pytest.raises(DeviceError, match="connects once"):
            await transport.connect(1)
        second = BleakTransport(device)
        await second.connect(1)

    asyncio.run(main())
    first, second = FakeClient.instances
    assert first is not second  # a NEW BleakClient per connection
    assert first.timeout == 7.5 and first.kwargs == {"bluez": {"adapter": "hci1"}}
    assert first.calls == [
        ("connect",),
        ("acquire_mtu",),
        ("read", "c842ee01"),
        ("write", "c842ee02", b"\x01\x88\x13\x02", True),
        ("start_notify", "c842ee03"),
        ("disconnect",),
    ]
    assert len(received) == 1 and received[0][1] == b"\x01\x02" and isinstance(received[0][0], float)
    assert lost == [1]


def test_connect_timeout_maps_to_device_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Slow(FakeClient):
        async def connect(self) -> None:
            raise asyncio.TimeoutError

    monkeypatch.setattr(bleak, "BleakClient", Slow)
    transport = BleakTransport(SimpleNamespace(address="AA:BB:CC:DD:EE:FF", name="H10"))
    with pytest.raises(DeviceError, match=r"^connecting to device 'H10' timed out after 4 s"):
        asyncio.run(transport.connect(4))


def test_device_error_passes_through_and_unknown_errors_are_named() -> None:
    original = DeviceError("already clear")
    assert device_error(original, "x") is original
    assert "ValueError" in str(device_error(ValueError("odd"), "reading", "w"))


def test_scans_of_one_connector_never_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    running: list[int] = [0]
    peak: list[int] = [0]

    async def slow_scan(filterfunc: Any, timeout: float, **kwargs: Any) -> Any:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.01)
        running[0] -= 1
        return SimpleNamespace(address="AA:BB:CC:DD:EE:FF", name="w")

    monkeypatch.setattr(bleak.BleakScanner, "find_device_by_filter", slow_scan)
    connector = BleakConnector()

    async def main() -> list:
        return await asyncio.gather(*(connector.find(f"w{i}", 1) for i in range(3)))

    assert len(asyncio.run(main())) == 3 and peak[0] == 1
