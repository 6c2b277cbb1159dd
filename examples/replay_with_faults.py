"""Record a stream, then replay it through the session with injected faults: no Bluetooth needed.

    python examples/replay_with_faults.py [--out DIR]

1. A synthetic watch speaking the open MuJo stream protocol (50 Hz, 10 samples per notification) is streamed
   through a DeviceSession and recorded (firmware_bridge.record.Recorder).
2. The recording is replayed through the Transport interface (ReplayConnector) with lost notifications, a
   corrupt one, a burst, a link drop with two failed rescans, and 200 ppm of clock skew.
3. A table shows what the session saw: every fault is visible and counted, no sample is duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from pathlib import Path

import numpy as np

from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles.mujo import MujoStreamProfile, stream
from mujo_edge.firmware_bridge.record import (
    Notification,
    Recorder,
    ReplayConnector,
    ReplayDevice,
    replay_batches,
)
from mujo_edge.firmware_bridge.session import DeviceSession
from mujo_edge.samples import SampleBatch, StreamStatus


async def no_wait(_: float) -> None:
    """Backoff without real waiting, so the example runs in a blink."""
    await asyncio.sleep(0)


async def run(connector: ReplayConnector, recorder: Recorder | None = None) -> tuple[list, DeviceSession]:
    profile = MujoStreamProfile()
    session = DeviceSession(connector, connector.name, profile, "left", recorder=recorder, sleep=no_wait)
    items: list = []

    async def consume() -> None:
        async for item in session.stream():
            items.append(item)

    task = asyncio.ensure_future(consume())
    finished = asyncio.ensure_future(connector.finished.wait())
    await asyncio.wait({task, finished}, return_when=asyncio.FIRST_COMPLETED)  # the end, or an error
    finished.cancel()
    await session.stop()
    await task  # raises the session's error, if any
    return items, session


def synthetic_watch(seconds: float = 20.0) -> ReplayConnector:
    """A wrist doing slow curls at 50 Hz: 10 samples (0.2 s) per notification, 30 ms radio latency."""
    t = np.arange(int(seconds * 50)) / 50
    acc_g = np.stack([0.3 * np.sin(2 * np.pi * 0.5 * t), 0.1 * np.cos(2 * np.pi * t), 0.95 + 0 * t], axis=1)
    counts = np.rint(acc_g * stream.counts_per_g(2)).astype(np.int16)
    frames = stream.MujoStreamEncoder(5000, 2, max_payload_bytes=stream.OVERHEAD_BYTES + 60).encode(0, counts)
    notes = [
        Notification(50.0 + 0.2 * (i + 1) + 0.03, stream.MUJO_DATA_UUID, f) for i, f in enumerate(frames)
    ]
    return ReplayConnector(notes, ReplayDevice.for_profile("mujo"), (stream.MUJO_DATA_UUID,), name="watch")


def summary(name: str, items: list, session: DeviceSession) -> str:
    batches = [i for i in items if isinstance(i, SampleBatch)]
    kinds = [i.kind for i in items if isinstance(i, StreamStatus)]
    t = np.concatenate([b.t_sensor_s for b in batches])
    ordered = bool(np.all(np.diff(t) > 0))
    s = session.stats
    return (
        f"{name:<22}{s.samples:>8}{s.decode_errors:>6}{s.gaps:>6}{session.profile.dropped_samples:>9}"
        f"{s.reconnects:>6}   {'yes' if ordered else 'NO':<8}{' > '.join(kinds)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the recording (default: a temporary folder)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="mujo-replay-"))
    path = folder / "left.jsonl"
    if path.exists():
        path.unlink()

    with Recorder(path, "left", MujoStreamProfile(), {"example": "replay_with_faults"}) as recorder:
        clean, clean_session = asyncio.run(run(synthetic_watch(), recorder))
    faults = Faults(
        drop_indices=frozenset({7, 8, 30}),
        corrupt_indices=frozenset({12}),
        burst_every=25,
        burst_len=5,
        disconnect_at_s=(10.0,),
        down_s=1.0,
        scan_failures=2,
        clock_skew_ppm=200.0,
    )
    faulty, faulty_session = asyncio.run(run(ReplayConnector.from_recording(path, faults=faults)))
    decoded = list(replay_batches(path))

    print(f"recording: {path} ({path.stat().st_size} bytes)")
    print(f"{'run':<22}{'samples':>8}{'bad':>6}{'gaps':>6}{'dropped':>9}{'recon':>6}   {'ordered':<8}events")
    print(summary("live (recorded)", clean, clean_session))
    print(summary("replay with faults", faulty, faulty_session))
    n_decoded = sum(len(b) for b in decoded if isinstance(b, SampleBatch))
    print(f"replay_batches() decodes the recording again: {n_decoded} samples")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
