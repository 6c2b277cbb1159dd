"""Runtime benchmark: what the streaming pipeline costs, how late its events are, how many watches one core serves.

    .venv/bin/python benchmarks/bench_runtime.py [--bundle model.mujo] [--seconds 60] [--quick]

Three tables (results recorded in docs/runtime.md):

1. **Cost per window, model excluded**: notification bytes -> Polar PMD decode -> clock -> 50 Hz grid ->
   windows -> PIT, per classified window (a window every second per device), for devices at 52/104/200 Hz
   (Polar raw int16 frames) with small and large notifications, and for a whole recording fed at once
   (replay). The model is a no-op; the pipeline's own work is what is timed.
2. **Latency** from a window's last sample (its host time) to its event, in a simulated real-time run:
   the event can only exist once the notification holding the sample that completes the window (plus
   the anti-alias filter's delay) has arrived; processing time is measured and added.
3. **Concurrent streams**: N simulated 52 Hz Polar watches, notifications interleaved as a gateway
   receives them and fed in 0.25 s ticks (decode included), with the bundle's int8 LiteRT model
   (one thread); the largest N whose processing keeps up with real time on one core
   (processing time <= 80 % of the simulated time, leaving headroom), by doubling then bisection.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from mujo_edge.calibration import PitCalibration
from mujo_edge.firmware_bridge.profiles import get_profile
from mujo_edge.firmware_bridge.profiles.polar import pmd
from mujo_edge.grid import StreamGrid
from mujo_edge.pipeline import Pipeline

LABELS = ["PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"]
#: Real-time criterion: processing may use at most this fraction of the simulated time.
HEADROOM = 0.8


class NoModel:
    """Returns fixed probabilities: the benchmark times everything but the model."""

    def __init__(self, n: int = len(LABELS)) -> None:
        self.p = np.full((1, n), 1.0 / n, np.float32)

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        return np.repeat(self.p, windows_g.shape[0], axis=0)


def motion(rate_hz: float, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    f = rng.uniform(0.3, 1.0)
    acc = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t), 1 + 0.1 * np.sin(t)], 1) * 0.8
    return acc + rng.normal(0, 0.02, acc.shape)


def polar_frames(
    rate_hz: float, seconds: float, per_frame: int, seed: int = 0, t0_host: float = 100.0
) -> list[tuple[float, bytes]]:
    """(receive time, PMD raw int16 ACC frame) of one watch; latency 8 ms + Exp(10 ms)."""
    rng = np.random.default_rng(seed)
    acc = motion(rate_hz, seconds, seed)
    n = acc.shape[0] // per_frame * per_frame
    mg = np.round(acc[:n] * 1000).astype(np.int64)
    t = np.arange(n) / rate_hz
    t_ns = 8.0e17 + rng.uniform(0, 1e9) + t * 1e9
    out = []
    for a in range(0, n, per_frame):
        b = a + per_frame
        t_recv = t0_host + t[b - 1] + 0.008 + rng.exponential(0.010)
        out.append((t_recv, pmd.encode_acc_frame_raw(mg[a:b], int(t_ns[b - 1]))))
    return out


def calibration() -> PitCalibration:
    rng = np.random.default_rng(0)
    return PitCalibration.fit(rng.normal(0, 1.2, (20000, 3)), rng.normal(0, 1.0, (20000, 3)))


# ------------------------------------------------------------------------------------------- 1. cost
def cost_per_window(rate_hz: float, per_frame: int, seconds: float, bulk: bool = False) -> tuple[float, int]:
    """us per window for decode + pipeline (model excluded), best of 3."""
    frames = polar_frames(rate_hz, seconds, per_frame)
    best = float("inf")
    windows = 0
    for _ in range(3):
        prof = get_profile("polar", device="w", rate_hz=rate_hz)
        pipe = Pipeline(NoModel(), LABELS, calibration=calibration())
        t0 = time.process_time()
        if bulk:
            batches = [b for t, f in frames for b in prof.decode(pmd.PMD_DATA_UUID, t, f)]
            pipe.feed_many(batches)
        else:
            for t, f in frames:
                for b in prof.decode(pmd.PMD_DATA_UUID, t, f):
                    pipe.feed(b)
        pipe.close()
        dt = time.process_time() - t0
        windows = pipe.stats["w"].windows
        best = min(best, dt)
    return best / windows * 1e6, windows


def pipeline_only_cost(rate_hz: float, per_frame: int, seconds: float) -> float:
    """us per window without the decoder (batches decoded beforehand), best of 3."""
    frames = polar_frames(rate_hz, seconds, per_frame)
    prof = get_profile("polar", device="w", rate_hz=rate_hz)
    batches = [b for t, f in frames for b in prof.decode(pmd.PMD_DATA_UUID, t, f)]
    best = float("inf")
    for _ in range(3):
        pipe = Pipeline(NoModel(), LABELS, calibration=calibration())
        t0 = time.process_time()
        for b in batches:
            pipe.feed(b)
        pipe.close()
        best = min(best, (time.process_time() - t0) / pipe.stats["w"].windows)
    return best * 1e6


# ------------------------------------------------------------------------------------------- 2. latency
def latency_ms(rate_hz: float, per_frame: int, seconds: float) -> tuple[float, float, float]:
    """(p50, p95, filter delay) ms from a window's last sample to its event, simulated real time."""
    frames = polar_frames(rate_hz, seconds, per_frame)
    prof = get_profile("polar", device="w", rate_hz=rate_hz)
    clock = {"t": 0.0}
    pipe = Pipeline(NoModel(), LABELS, calibration=calibration(), now=lambda: clock["t"])
    for t_recv, f in frames:
        t0 = time.process_time()
        for b in prof.decode(pmd.PMD_DATA_UUID, t_recv, f):
            clock["t"] = t_recv + (time.process_time() - t0)
            pipe.feed(b)
    lat = np.asarray(pipe.stats["w"].latency_ms)
    return float(np.median(lat)), float(np.quantile(lat, 0.95)), StreamGrid(rate_hz).group_delay_s * 1e3


# ------------------------------------------------------------------------------------------- 3. streams
def gateway_traffic(n_devices: int, seconds: float) -> list[tuple[float, int, bytes]]:
    """(receive time, device index, frame) of n watches at 52 Hz, 10-sample frames, in receive order."""
    base = polar_frames(52.0, seconds, 10, seed=0)
    out = []
    for d in range(n_devices):
        # Same waveform, shifted phase of arrival per device (cheap to generate, same decode work).
        shift = (d * 0.0137) % 0.19
        out += [(t + shift, d, f) for t, f in base]
    out.sort(key=lambda x: x[0])
    return out


def sustains(n_devices: int, seconds: float, model: object, labels: list[str], tick_s: float = 0.25) -> float:
    """Processing time / simulated time for n devices (decode + pipeline + model)."""
    traffic = gateway_traffic(n_devices, seconds)
    profiles = [get_profile("polar", device=f"w{d}", rate_hz=52.0) for d in range(n_devices)]
    pipe = Pipeline(model, labels, calibration=calibration())  # type: ignore[arg-type]
    t_start = traffic[0][0]
    busy = 0.0
    i = 0
    tick_end = t_start + tick_s
    while i < len(traffic):
        t0 = time.process_time()
        batch = []
        while i < len(traffic) and traffic[i][0] < tick_end:
            _, d, f = traffic[i]
            batch += profiles[d].decode(pmd.PMD_DATA_UUID, traffic[i][0], f)
            i += 1
        pipe.feed_many(batch)
        busy += time.process_time() - t0
        tick_end += tick_s
    windows = sum(s.windows for s in pipe.stats.values())
    assert windows >= n_devices * (seconds - 3), (windows, n_devices)
    return busy / seconds


def max_streams(seconds: float, model: object, labels: list[str], cap: int) -> tuple[int, float]:
    lo, hi = 0, 50
    load_at: dict[int, float] = {}
    while hi <= cap:
        load_at[hi] = sustains(hi, seconds, model, labels)
        if load_at[hi] > HEADROOM:
            break
        lo, hi = hi, hi * 2
    else:
        return lo, load_at.get(lo, 0.0)
    while hi - lo > max(10, lo // 20):
        mid = (lo + hi) // 2
        load_at[mid] = sustains(mid, seconds, model, labels)
        if load_at[mid] <= HEADROOM:
            lo = mid
        else:
            hi = mid
    return lo, load_at.get(lo, 0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", help="bundle whose model runs in table 3 (default: the shipped default)")
    ap.add_argument("--seconds", type=float, default=60.0, help="simulated seconds per measurement")
    ap.add_argument("--cap", type=int, default=6400, help="largest device count tried in table 3")
    ap.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    args = ap.parse_args(argv)
    seconds = 15.0 if args.quick else args.seconds

    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(
        f"mujo-edge runtime benchmark on {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores (one used)"
    )

    t1 = Table(title="1. runtime cost per window, model excluded (decode, clock, grid, window, PIT)")
    for c in ("device", "samples/notification", "notifications/window", "us/window", "us/window w/o decode"):
        t1.add_column(c, justify="right")
    for rate, per in ((52.0, 10), (52.0, 36), (104.0, 36), (200.0, 36), (200.0, 120)):
        us, _ = cost_per_window(rate, per, seconds)
        t1.add_row(
            f"Polar {rate:g} Hz",
            str(per),
            f"{rate / per:.1f}",
            f"{us:.1f}",
            f"{pipeline_only_cost(rate, per, seconds):.1f}",
        )
    us_bulk, _ = cost_per_window(52.0, 36, seconds * 4, bulk=True)
    t1.add_row("Polar 52 Hz, replay (all at once)", "36", f"{52 / 36:.1f}", f"{us_bulk:.1f}", "")
    con.print(t1)

    t2 = Table(title="2. latency: window's last sample -> event (simulated real time, model excluded)")
    for c in ("device", "samples/notification", "p50 ms", "p95 ms", "of which filter delay ms"):
        t2.add_column(c, justify="right")
    for rate, per in ((50.0, 5), (52.0, 10), (52.0, 36), (200.0, 36)):
        p50, p95, fd = latency_ms(rate, per, seconds)
        t2.add_row(f"Polar {rate:g} Hz", str(per), f"{p50:.0f}", f"{p95:.0f}", f"{fd:.0f}")
    con.print(t2)

    model_desc = "numpy stand-in (no bundle)"
    model: object = NoModel()
    labels = LABELS
    bundle_path = args.bundle or str(
        Path(__file__).resolve().parents[1] / "mujo_edge" / "assets" / "default.mujo"
    )
    if Path(bundle_path).is_file():
        from mujo_edge.bundle import Bundle

        b = Bundle.open(bundle_path)
        runner = b.runner("tflite" if "tflite" in b.formats else None, threads=1)
        model, labels = runner, b.labels
        model_desc = f"{Path(bundle_path).name}: {getattr(runner, 'name', '')} {runner.format}/{runner.dtype}"
        x = np.random.default_rng(0).normal(0, 0.5, (256, b.window, 3)).astype(np.float32)
        runner.predict(x[:8])
        t0 = time.process_time()
        runner.predict(x)
        model_us = (time.process_time() - t0) / len(x) * 1e6
        model_desc += f", {model_us:.0f} us/window"
    else:
        con.print(f"[yellow]no bundle at {bundle_path}: table 3 runs WITHOUT a model[/]")
    sim_s = 10.0 if args.quick else 20.0
    n, load = max_streams(sim_s, model, labels, args.cap if not args.quick else 400)
    t3 = Table(title=f"3. concurrent 52 Hz watches one core sustains in real time (<= {HEADROOM:.0%} busy)")
    for c in ("model", "streams", "core busy", "simulated s"):
        t3.add_column(c, justify="right")
    t3.add_row(
        model_desc,
        f"{n}" + ("+" if n >= (args.cap if not args.quick else 400) else ""),
        f"{load:.0%}",
        f"{sim_s:g}",
    )
    con.print(t3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
