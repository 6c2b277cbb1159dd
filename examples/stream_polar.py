"""Stream a Polar sensor's accelerometer over BLE, print one line per second, optionally record it.

    python examples/stream_polar.py "Polar Sense B5A1C2D3" --seconds 30 --record polar.jsonl

Needs a Bluetooth adapter and the ``ble`` extra (``pip install 'mujo-edge[ble]'``). The target may be the
advertised name, the address, or the PMD service UUID (first Polar device found). Without Bluetooth it
fails with a DeviceError that says what is missing; replay a recording with examples/replay_with_faults.py.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import numpy as np

from mujo_edge.errors import MujoError
from mujo_edge.firmware_bridge.bleak_transport import BleakConnector
from mujo_edge.firmware_bridge.profiles.polar import PolarPmdProfile
from mujo_edge.firmware_bridge.record import Recorder
from mujo_edge.firmware_bridge.session import DeviceSession
from mujo_edge.samples import SampleBatch, StreamStatus


async def stream(target: str, seconds: float, record: str | None, rate_hz: float | None) -> None:
    profile = PolarPmdProfile(rate_hz=rate_hz)
    recorder = Recorder(record, "polar", profile, {"example": "stream_polar"}) if record else None
    session = DeviceSession(BleakConnector(), target, profile, "polar", recorder=recorder)
    stopper = asyncio.get_running_loop().call_later(seconds, lambda: asyncio.ensure_future(session.stop()))
    chunk: list[np.ndarray] = []
    try:
        async for item in session.stream():
            if isinstance(item, StreamStatus):
                print(f"[{item.kind}] {item.detail}")
                continue
            assert isinstance(item, SampleBatch)
            chunk.append(item.acc_g)
            if sum(len(c) for c in chunk) >= profile.rate_hz:
                acc = np.concatenate(chunk)
                norm = np.linalg.norm(acc, axis=1)
                print(
                    f"{len(acc):4d} samples at {item.rate_hz:.0f} Hz  mean |a| {norm.mean():.3f} g  "
                    f"last ({acc[-1, 0]:+.3f}, {acc[-1, 1]:+.3f}, {acc[-1, 2]:+.3f}) g"
                )
                chunk = []
    finally:
        stopper.cancel()
        if recorder is not None:
            recorder.close()
    s = session.stats
    print(
        f"packets {s.packets}, samples {s.samples}, bad packets {s.decode_errors}, reconnects {s.reconnects}, "
        f"dropped samples {profile.dropped_samples}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="advertised name, address, or PMD service UUID")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--record", help="write raw notifications to this JSON-lines file")
    parser.add_argument("--rate", type=float, default=None, help="ACC rate in Hz if the sensor offers it")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(stream(args.target, args.seconds, args.record, args.rate))
    except MujoError as err:
        print(f"error: {err}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
