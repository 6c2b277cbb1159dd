"""Stream from a virtual watch through DeviceSession and print what arrived (a runnable example).

::

    python -m mujo_edge.firmware_bridge.virtual --profile mujo --seconds 60 --speed 1000 --mtu 23
    python -m mujo_edge.firmware_bridge.virtual --profile polar --drop 0.05 --disconnect-at 20 --speed 50

Prints one table: samples sent by the watch, dropped by fault injection, received and decoded by the
session, gaps flagged, reconnects, and the link's throughput (notifications/s and samples/s, wall clock).
"""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np

from mujo_edge.firmware_bridge.profiles import PROFILE_NAMES, get_profile
from mujo_edge.firmware_bridge.session import Backoff, DeviceSession
from mujo_edge.firmware_bridge.virtual import Faults, VirtualWatch, virtual_watches
from mujo_edge.samples import SampleBatch


async def run(args: argparse.Namespace) -> dict[str, float]:
    rate = get_profile(args.profile).rate_hz  # the profile's nominal rate
    n = round(args.seconds * rate)
    t = np.arange(n) / rate
    rng = np.random.default_rng(args.seed)
    acc = np.stack([np.sin(2 * np.pi * 0.5 * t), 0.5 * np.cos(2 * np.pi * 0.9 * t), np.ones(n)], 1)
    acc = (acc + rng.normal(0, 0.05, acc.shape)).astype(np.float32)
    faults = Faults(
        drop_prob=args.drop,
        disconnect_at_s=tuple(args.disconnect_at),
        down_s=args.down,
        clock_skew_ppm=args.clock_skew,
        seed=args.seed,
    )
    watch = VirtualWatch(
        args.profile, acc, rate, faults=faults, loop=False, speed=args.speed, max_mtu=args.mtu
    )
    received = 0
    async with virtual_watches([watch]) as connector:
        session = DeviceSession(
            connector,
            watch.name,
            get_profile(args.profile),
            watch.name,
            backoff=Backoff(initial_s=0.05, max_s=1.0),
        )
        t0 = time.perf_counter()

        async def consume() -> None:
            nonlocal received
            async for item in session.stream():
                if isinstance(item, SampleBatch):
                    received += len(item)

        task = asyncio.ensure_future(consume())
        await watch.finished.wait()
        seconds = time.perf_counter() - t0
        await asyncio.sleep(0.1)
        await session.stop()
        await task
    return {
        "samples sent": watch.stats.samples_sent,
        "samples dropped (faults)": watch.stats.samples_dropped,
        "samples received": received,
        "gaps flagged": session.stats.gaps,
        "reconnects": session.stats.reconnects,
        "notifications": session.stats.packets,
        "ATT MTU": args.mtu,
        "wall seconds": round(seconds, 3),
        "notifications/s": round(session.stats.packets / seconds),
        "samples/s": round(received / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="mujo")
    parser.add_argument("--seconds", type=float, default=60.0, help="motion length, s")
    parser.add_argument("--speed", type=float, default=100.0, help="times faster than real time")
    parser.add_argument("--mtu", type=int, default=247, help="largest ATT MTU the watch accepts")
    parser.add_argument("--drop", type=float, default=0.0, help="probability a notification is lost")
    parser.add_argument("--disconnect-at", type=float, nargs="*", default=[], help="motion seconds")
    parser.add_argument("--down", type=float, default=0.5, help="seconds silent after a drop (default 0.5)")
    parser.add_argument(
        "--clock-skew",
        "--drift-ppm",
        dest="clock_skew",
        type=float,
        default=0.0,
        metavar="PPM",
        help="sensor clock skew, ppm fast (+) or slow (-) (default 0; --drift-ppm is the old name)",
    )
    parser.add_argument("--seed", type=int, default=0)
    from rich.console import Console
    from rich.table import Table

    result = asyncio.run(run(parser.parse_args()))
    table = Table("virtual watch -> bumble -> DeviceSession", "value")
    for key, value in result.items():
        table.add_row(key, str(value))
    Console().print(table)


if __name__ == "__main__":
    main()
