"""A mock BlueZ for stock bleak: private dbus-daemon + bluezoo (two fake adapters) + a bless peripheral.

Used by ``test_bluez_mock.py``; also runnable by hand (see docs/testing-ble.md)::

    python tests/firmware_bridge/bluez_mock.py up          # prints DBUS_SYSTEM_BUS_ADDRESS=..., Ctrl-C ends

Three processes on a private system bus (nothing touches the machine's real D-Bus):

* ``dbus-daemon`` with a permissive system-bus configuration in a temporary folder;
* ``bluezoo`` (a BlueZ D-Bus mock) with adapters hci0 (the central) and hci1 (the peripheral);
* this file in ``peripheral`` mode: a ``bless`` GATT server on hci1 speaking the MuJo open stream protocol,
  with E's device model and encoder (``profiles.mujo.stream``), streaming :func:`mock_motion`.

The client side runs in ANOTHER process (``client`` mode) so that ``DBUS_SYSTEM_BUS_ADDRESS`` is set before
bleak / dbus-fast are imported: E's ``BleakConnector`` + ``DeviceSession`` with the stock BlueZ backend.

Workarounds for the mock (each explained where applied): the peripheral adapter is made Discoverable; the
bless characteristics report ``Notifying=False`` before start (else bluezoo calls AcquireNotify, which
bless lacks); the advertisement's service data changes every 0.3 s so that bluezoo reports the device to
every new scan (it only emits a D-Bus change when an advertised property changes, where real BlueZ
updates RSSI on every advertisement).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CENTRAL_ADAPTER = "hci0"
PERIPHERAL_ADAPTER = "hci1"
ADAPTER_ADDRESSES = ("00:00:00:00:00:01", "00:00:00:00:00:02")
PERIPHERAL_NAME = "MuJo Bless"
#: Rate the mock watch streams, Hz (one sample per frame: bluezoo models no MTU, so frames fit ATT MTU 23).
MOCK_RATE_HZ = 50.0
#: Sensor time of the mock's first sample, microseconds since its boot.
MOCK_T0_US = 5_000_000
#: Seconds between two notifications of the mock (it streams faster than real time).
MOCK_SEND_INTERVAL_S = 0.01
#: Service data UUID whose value the mock changes so every scan sees the device (Eddystone's, unused here).
BEACON_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""


def mock_motion(i: np.ndarray) -> np.ndarray:
    """(n, 3) float32 g of the mock's samples ``i``: slow sines around 1 g on z, different per axis."""
    t = np.asarray(i, dtype=np.float64)[:, None] / MOCK_RATE_HZ
    phase = np.array([0.0, 2.1, 4.2])
    amp = np.array([0.8, 0.5, 0.3])
    return (amp * np.sin(2 * np.pi * 0.7 * t + phase) + np.array([0.0, 0.0, 1.0])).astype(np.float32)


# ------------------------------------------------------------------------------------------- processes
def ensure_dbus_daemon() -> str | None:
    """Path of dbus-daemon, installing the Debian package ``dbus`` when missing and we may (root + apt-get)."""
    found = shutil.which("dbus-daemon")
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                ["apt-get", "update", "-qq"], env=env, timeout=300, capture_output=True, check=False
            )
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "dbus"],
                env=env,
                timeout=300,
                capture_output=True,
                check=False,
            )
    return shutil.which("dbus-daemon")


def _read_line(proc: subprocess.Popen[str], timeout_s: float, want: str = "") -> str:
    """First stdout line of ``proc`` (starting with ``want``) within ``timeout_s``; RuntimeError otherwise."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith(want):
                return line.strip()
    raise RuntimeError(f"{proc.args!r} did not print {want or 'a line'!r} within {timeout_s:.0f} s")


@dataclass
class BluezMock:
    """The three mock processes; :meth:`start` brings them up, :meth:`stop` ends every one of them."""

    workdir: Path
    address: str = ""
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """Environment for a process that must use the private bus (set BEFORE it imports bleak)."""
        return dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address, PYTHONUNBUFFERED="1")

    def _spawn(self, name: str, args: list[str], stdout_pipe: bool = False) -> subprocess.Popen[str]:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        err = log.open("w")
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE if stdout_pipe else err,
            stderr=err,
            text=True,
            env=self.env() if self.address else None,
        )
        self.procs.append(proc)
        return proc

    def start(self, dbus_daemon: str, timeout_s: float = 30.0) -> None:
        socket = self.workdir / "system_bus_socket"
        config = self.workdir / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket=socket))
        daemon = self._spawn(
            "dbus-daemon", [dbus_daemon, f"--config-file={config}", "--nofork", "--print-address=1"], True
        )
        self.address = _read_line(daemon, timeout_s, "unix:")
        bluezoo = str(Path(sys.executable).with_name("bluezoo"))
        args = [bluezoo, "--auto-enable", "--scan-interval", "1"]
        for address in ADAPTER_ADDRESSES:
            args += ["-a", address]
        self._spawn("bluezoo", args)
        peripheral = self._spawn("peripheral", [sys.executable, __file__, "peripheral"], True)
        _read_line(peripheral, timeout_s, "READY")

    def run_client(
        self,
        samples: int,
        target: str = PERIPHERAL_NAME,
        scan_timeout_s: float = 10.0,
        timeout_s: float = 60.0,
    ) -> dict[str, Any]:
        """Run E's BleakConnector + DeviceSession in a fresh process; returns what it received (JSON)."""
        args = [
            "client",
            "--samples",
            str(samples),
            "--target",
            target,
            "--scan-timeout",
            str(scan_timeout_s),
        ]
        done = subprocess.run(
            [sys.executable, __file__, *args, "--timeout", str(timeout_s - 5)],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(
                f"bleak client failed (exit {done.returncode}):\n{done.stderr[-4000:]}\n{self.tail_logs()}"
            )
        return json.loads(lines[-1])

    def tail_logs(self, n: int = 20) -> str:
        out = []
        for name, path in self.logs.items():
            with contextlib.suppress(OSError):
                out.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-n:]))
        return "\n".join(out)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs.clear()


# ------------------------------------------------------------------------------------------- peripheral
async def _peripheral() -> None:
    """bless GATT server on hci1: the MuJo stream protocol, driven by E's MujoDeviceModel and encoder."""
    from bless import BlessServer, GATTAttributePermissions, GATTCharacteristicProperties  # type: ignore[attr-defined]
    from dbus_next import Variant
    from dbus_next.aio import MessageBus
    from dbus_next.constants import BusType

    from mujo_edge.firmware_bridge.profiles.mujo import stream

    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    path = f"/org/bluez/{PERIPHERAL_ADAPTER}"
    for _ in range(100):  # bluezoo may still be starting
        try:
            adapter = bus.get_proxy_object("org.bluez", path, await bus.introspect("org.bluez", path))
            break
        except Exception:
            await asyncio.sleep(0.1)
    else:
        raise RuntimeError(f"bluezoo did not export {path}")
    props = adapter.get_interface("org.freedesktop.DBus.Properties")
    # Workaround 1: bluezoo reports an LE advertiser to scanners only when its adapter is discoverable.
    await props.call_set("org.bluez.Adapter1", "Discoverable", Variant("b", True))  # type: ignore[attr-defined]

    model = stream.MujoDeviceModel(
        rates_centihz=(round(MOCK_RATE_HZ * 100),), rate_centihz=round(MOCK_RATE_HZ * 100)
    )
    server = BlessServer(name=PERIPHERAL_NAME, adapter=PERIPHERAL_ADAPTER)
    streaming: dict[str, Any] = {"task": None}
    svc = stream.MUJO_SERVICE_UUID
    P, A = GATTCharacteristicProperties, GATTAttributePermissions

    def notify(uuid: str, payload: bytes) -> None:
        server.get_characteristic(uuid).value = bytearray(payload)
        server.update_value(svc, uuid)

    async def run_stream() -> None:
        encoder = stream.MujoStreamEncoder(model.rate_centihz, model.range_code, max_payload_bytes=20)
        scale = stream.counts_per_g(model.range_code)
        i = 0
        while True:
            counts = np.rint(mock_motion(np.array([i])) * scale).astype(np.int16)
            for frame in encoder.encode(MOCK_T0_US + round(i * 1e8 / model.rate_centihz), counts):
                notify(stream.MUJO_DATA_UUID, frame)
            i += 1
            await asyncio.sleep(MOCK_SEND_INTERVAL_S)

    def on_read(characteristic: Any, **_: Any) -> bytearray:
        if str(characteristic.uuid).lower() == stream.MUJO_INFO_UUID:
            return bytearray(model.read_info())
        return bytearray(characteristic.value or b"")

    def on_write(characteristic: Any, value: Any, **_: Any) -> None:
        if str(characteristic.uuid).lower() != stream.MUJO_CONTROL_UUID:
            return
        was = model.streaming
        for reply in model.handle_command(bytes(value)):
            notify(stream.MUJO_CONTROL_UUID, reply)
        if model.streaming and not was:
            streaming["task"] = asyncio.ensure_future(run_stream())
        elif was and not model.streaming and streaming["task"] is not None:
            streaming["task"].cancel()

    server.read_request_func = on_read
    server.write_request_func = on_write
    await server.add_new_service(svc)
    await server.add_new_characteristic(
        svc, stream.MUJO_INFO_UUID, P.read, bytearray(model.read_info()), A.readable
    )
    await server.add_new_characteristic(
        svc, stream.MUJO_CONTROL_UUID, P.write | P.indicate, None, A.writeable
    )
    await server.add_new_characteristic(svc, stream.MUJO_DATA_UUID, P.notify, None, A.readable)
    # Workaround 2: bless says Notifying=True from the start; bluezoo then calls AcquireNotify, which bless
    # does not implement. Notifying=False makes bluezoo use StartNotify + PropertiesChanged.
    for uuid in (stream.MUJO_CONTROL_UUID, stream.MUJO_DATA_UUID):
        server.get_characteristic(uuid).gatt._notifying = False
    await server.start()

    async def beacon() -> None:
        # Workaround 3: bluezoo signals a known device to a new scan only when an advertised property changes.
        k = 0
        while True:
            adv = server.app.advertisements[0]
            adv._service_data = {BEACON_UUID: Variant("ay", (k % 65536).to_bytes(2, "little"))}
            adv.emit_properties_changed({"ServiceData": adv._service_data})
            k += 1
            await asyncio.sleep(0.3)

    beacon_task = asyncio.ensure_future(beacon())
    print("READY", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        beacon_task.cancel()


# ------------------------------------------------------------------------------------------- client
async def _client(samples: int, timeout_s: float, target: str, scan_timeout_s: float) -> dict[str, Any]:
    """E's BleakConnector + DeviceSession on stock bleak; collects ``samples`` decoded samples.

    A DeviceError (e.g. the target is not found) is returned as ``{"error": message}``.
    """
    from mujo_edge.errors import DeviceError
    from mujo_edge.firmware_bridge.bleak_transport import BleakConnector
    from mujo_edge.firmware_bridge.profiles import get_profile
    from mujo_edge.firmware_bridge.session import DeviceSession
    from mujo_edge.samples import SampleBatch

    session = DeviceSession(
        BleakConnector(adapter=CENTRAL_ADAPTER),
        target,
        get_profile("mujo"),
        "bluez-mock",
        scan_timeout_s=scan_timeout_s,
    )
    acc, t_sensor, seqs, statuses, gaps = [], [], [], [], 0
    mtu = 0
    t0 = time.perf_counter()

    async def consume() -> None:
        nonlocal gaps, mtu
        async for item in session.stream():
            if isinstance(item, SampleBatch):
                acc.extend(item.acc_g.tolist())
                assert item.t_sensor_s is not None
                t_sensor.extend(item.t_sensor_s.tolist())
                seqs.append(item.seq)
                gaps += int(item.gap_before)
                if len(acc) >= samples:
                    await session.stop()
            else:
                statuses.append(item.kind)
                if item.kind == "connected" and session.transport is not None:
                    mtu = session.transport.mtu

    try:
        await asyncio.wait_for(consume(), timeout_s)
    except DeviceError as err:
        return {"error": str(err), "seconds": time.perf_counter() - t0}
    return {
        "acc_g": acc,
        "t_sensor_s": t_sensor,
        "seq": seqs,
        "gaps": gaps,
        "statuses": statuses,
        "mtu": mtu,
        "rate_hz": session.profile.rate_hz,
        "decode_errors": session.stats.decode_errors,
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("peripheral", help="run the bless MuJo peripheral on hci1 (needs the private bus)")
    client = sub.add_parser("client", help="stream with E's BleakConnector + DeviceSession, print JSON")
    client.add_argument("--samples", type=int, default=100)
    client.add_argument("--timeout", type=float, default=45.0)
    client.add_argument("--target", default=PERIPHERAL_NAME)
    client.add_argument("--scan-timeout", type=float, default=10.0)
    sub.add_parser("up", help="start dbus-daemon + bluezoo + peripheral and wait (Ctrl-C ends them)")
    args = parser.parse_args()
    if args.mode == "peripheral":
        asyncio.run(_peripheral())
    elif args.mode == "client":
        result = asyncio.run(_client(args.samples, args.timeout, args.target, args.scan_timeout))
        print(json.dumps(result), flush=True)
    else:
        daemon = ensure_dbus_daemon()
        if daemon is None:
            sys.exit("dbus-daemon not found: install the Debian package 'dbus'")
        with tempfile.TemporaryDirectory(prefix="mujo-bluez-") as tmp:
            mock = BluezMock(Path(tmp))
            try:
                mock.start(daemon)
                print(f"DBUS_SYSTEM_BUS_ADDRESS={mock.address}", flush=True)
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
            finally:
                mock.stop()


if __name__ == "__main__":
    main()
