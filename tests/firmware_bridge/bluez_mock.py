"""A mock BlueZ for stock bleak: private dbus-daemon + bluezoo (fake adapters) + bless peripherals.

Used by ``test_bluez_mock.py``; also runnable by hand (see docs/testing-ble.md)::

    python tests/firmware_bridge/bluez_mock.py up          # prints DBUS_SYSTEM_BUS_ADDRESS=..., Ctrl-C ends

Processes on a private system bus (nothing touches the machine's real D-Bus):

* ``dbus-daemon`` with a permissive system-bus configuration in a temporary folder;
* ``bluezoo`` (a BlueZ D-Bus mock) with adapters hci0 (the central), hci1 and hci2 (peripherals);
* this file in ``peripheral`` mode, once per profile: a ``bless`` GATT server speaking the MuJo open
  protocol (hci1) or Polar PMD (hci2). Each runs the same radio-agnostic device model as the bumble virtual
  watches (each profile folder's ``device.py``, built on its encoders and device models).

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
#: Peripherals: profile -> (adapter, advertised name). Each is its own bless process on its own adapter.
PERIPHERALS = {"mujo": ("hci1", "MuJo Bless"), "polar": ("hci2", "Polar Bless")}
ADAPTER_ADDRESSES = ("00:00:00:00:00:01", "00:00:00:00:00:02", "00:00:00:00:00:03")
#: Rate each mock watch streams, Hz.
MOCK_RATES_HZ = {"mujo": 50.0, "polar": 52.0}
#: Samples of motion a mock watch holds (it loops over them).
MOCK_SAMPLES = 2000
#: bluezoo models no MTU exchange (bleak reports 23), so frames fit 20 bytes.
MOCK_MAX_PAYLOAD = 20
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


def mock_motion(profile: str) -> np.ndarray:
    """(MOCK_SAMPLES, 3) float32 g a mock watch wears: slow sines around 1 g on z, different per axis."""
    t = np.arange(MOCK_SAMPLES, dtype=np.float64)[:, None] / MOCK_RATES_HZ[profile]
    phase = np.array([0.0, 2.1, 4.2])
    amp = np.array([0.8, 0.5, 0.3])
    return (amp * np.sin(2 * np.pi * 0.7 * t + phase) + np.array([0.0, 0.0, 1.0])).astype(np.float32)


def mock_device(profile: str) -> Any:
    """The radio-agnostic device model the bless peripheral runs (the same one the bumble watches run)."""
    from mujo_edge.firmware_bridge.profiles import device_model

    return device_model(profile)(mock_motion(profile), MOCK_RATES_HZ[profile], loop=True)


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
    """The mock processes; :meth:`start` brings them up, :meth:`stop` ends every one of them."""

    workdir: Path
    address: str = ""
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)
    files: list[Any] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """Environment for a process that must use the private bus (set BEFORE it imports bleak)."""
        return dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address, PYTHONUNBUFFERED="1")

    def _spawn(self, name: str, args: list[str], stdout_pipe: bool = False) -> subprocess.Popen[str]:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        err = log.open("w")
        self.files.append(err)
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
        started = [
            self._spawn(
                f"peripheral-{profile}", [sys.executable, __file__, "peripheral", "--profile", profile], True
            )
            for profile in PERIPHERALS
        ]
        for peripheral in started:
            _read_line(peripheral, timeout_s, "READY")

    def run_client(
        self,
        profile: str,
        samples: int,
        target: str | None = None,
        scan_timeout_s: float = 10.0,
        timeout_s: float = 60.0,
    ) -> dict[str, Any]:
        """Run E's BleakConnector + DeviceSession in a fresh process; returns what it received (JSON)."""
        target = target or PERIPHERALS[profile][1]
        args = ["client", "--profile", profile, "--samples", str(samples), "--target", target]
        args += ["--scan-timeout", str(scan_timeout_s)]
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
        for f in self.files:
            f.close()
        self.files.clear()


# ------------------------------------------------------------------------------------------- peripheral
async def _peripheral(profile: str) -> None:
    """bless GATT server for ``profile`` on its adapter, running the device model of :func:`mock_device`."""
    from bless import (  # type: ignore[attr-defined]
        BlessServer,
        GATTAttributePermissions,
        GATTCharacteristicProperties,
    )
    from dbus_next import Variant
    from dbus_next.aio import MessageBus
    from dbus_next.constants import BusType

    adapter_name, name = PERIPHERALS[profile]
    device = mock_device(profile)
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    path = f"/org/bluez/{adapter_name}"
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

    server = BlessServer(name=name, adapter=adapter_name)
    svc = device.service_uuid
    tasks: set[asyncio.Future[None]] = set()

    def notify(uuid: str, payload: bytes) -> None:
        server.get_characteristic(uuid).value = bytearray(payload)
        server.update_value(svc, uuid)

    async def run_stream() -> None:
        i = 0
        while device.streaming:
            n, payload = device.frame(i, MOCK_MAX_PAYLOAD, None)
            if payload is not None:
                notify(device.data_uuid, payload)
            i += n
            await asyncio.sleep(MOCK_SEND_INTERVAL_S)

    def on_read(characteristic: Any, **_: Any) -> bytearray:
        return bytearray(device.read(str(characteristic.uuid).lower()))

    def on_write(characteristic: Any, value: Any, **_: Any) -> None:
        was = device.streaming
        for uuid, reply in device.write(str(characteristic.uuid).lower(), bytes(value)):
            notify(uuid, reply)
        if device.streaming and not was:
            task = asyncio.ensure_future(run_stream())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    server.read_request_func = on_read
    server.write_request_func = on_write
    await server.add_new_service(svc)
    P, A = GATTCharacteristicProperties, GATTAttributePermissions
    for spec in device.characteristics():
        flags, perms = P(0), A(0)
        if spec.read:
            flags, perms = flags | P.read, perms | A.readable
        if spec.write:
            flags, perms = flags | P.write, perms | A.writeable
        if spec.notify:
            flags |= P.notify
        if spec.indicate:
            flags |= P.indicate
        initial = bytearray(device.read(spec.uuid)) if spec.read else None
        await server.add_new_characteristic(svc, spec.uuid, flags, initial, perms)
        if spec.notify or spec.indicate:
            # Workaround 2: bless says Notifying=True from the start; bluezoo then calls AcquireNotify, which
            # bless does not implement. Notifying=False makes bluezoo use StartNotify + PropertiesChanged.
            server.get_characteristic(spec.uuid).gatt._notifying = False
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
async def _client(
    profile: str, samples: int, timeout_s: float, target: str, scan_timeout_s: float
) -> dict[str, Any]:
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
        get_profile(profile),
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
    peripheral = sub.add_parser("peripheral", help="run a bless peripheral (needs the private bus)")
    peripheral.add_argument("--profile", choices=sorted(PERIPHERALS), default="mujo")
    client = sub.add_parser("client", help="stream with E's BleakConnector + DeviceSession, print JSON")
    client.add_argument("--profile", choices=sorted(PERIPHERALS), default="mujo")
    client.add_argument("--samples", type=int, default=100)
    client.add_argument("--timeout", type=float, default=45.0)
    client.add_argument("--target", default=None, help="default: the profile's mock peripheral")
    client.add_argument("--scan-timeout", type=float, default=10.0)
    sub.add_parser("up", help="start dbus-daemon + bluezoo + the peripherals and wait (Ctrl-C ends them)")
    args = parser.parse_args()
    if args.mode == "peripheral":
        asyncio.run(_peripheral(args.profile))
    elif args.mode == "client":
        target = args.target or PERIPHERALS[args.profile][1]
        result = asyncio.run(_client(args.profile, args.samples, args.timeout, target, args.scan_timeout))
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
