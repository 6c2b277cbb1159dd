"""How many notifications per second each decoder handles on this machine (one core), as a table.

    python examples/decode_throughput.py [--frames 2000]

A gateway decodes every watch's notifications on one event loop: at 50 Hz with ~10-38 samples per
notification a watch sends 1.3-5 notifications/s (50/s at ATT MTU 23), so the numbers below bound how many
watches one core can decode (decoding only; the model runs elsewhere).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mujo_edge.firmware_bridge.profiles.base import DeviceProfile
from mujo_edge.firmware_bridge.profiles.infinitime import InfiniTimeProfile, motion
from mujo_edge.firmware_bridge.profiles.mujo import MujoStreamProfile, stream
from mujo_edge.firmware_bridge.profiles.polar import PolarPmdProfile, pmd


def cases(n: int) -> dict[str, tuple[DeviceProfile, str, list[bytes], int]]:
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.integers(-50, 50, size=(36, 3)), axis=0)
    step_ns = round(36 * 1e9 / 52)
    counts = rng.integers(-4096, 4096, size=(38 * n, 3)).astype(np.int16)
    return {
        "polar delta, 36 samples": (
            PolarPmdProfile(rate_hz=52),
            pmd.PMD_DATA_UUID,
            [pmd.encode_acc_frame_delta(walk, 10**12 + i * step_ns, 1) for i in range(n)],
            36,
        ),
        "polar raw int16, 36 samples": (
            PolarPmdProfile(rate_hz=52),
            pmd.PMD_DATA_UUID,
            [pmd.encode_acc_frame_raw(walk, 10**12 + i * step_ns, 1) for i in range(n)],
            36,
        ),
        "mujo v1, 38 samples (MTU 247)": (
            MujoStreamProfile(),
            stream.MUJO_DATA_UUID,
            stream.MujoStreamEncoder(5000, 2, 244).encode(0, counts),
            38,
        ),
        "infinitime, 1 sample": (
            InfiniTimeProfile(),
            motion.MOTION_VALUES_UUID,
            [motion.encode_motion(rng.normal(size=3)) for _ in range(n)],
            1,
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="notifications per decoder")
    args = parser.parse_args()
    print(f"{'decoder':<32}{'us/notification':>16}{'notifications/s':>17}{'samples/s':>12}")
    for name, (profile, uuid, frames, per) in cases(args.frames).items():
        start = time.perf_counter()
        for payload in frames:
            profile.decode(uuid, 0.0, payload)
        dt = time.perf_counter() - start
        rate = len(frames) / dt
        print(f"{name:<32}{dt / len(frames) * 1e6:>16.1f}{rate:>17.0f}{rate * per:>12.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
