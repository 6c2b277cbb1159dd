"""The streaming pipeline's own cost per window, model excluded (the ``mujo-pipeline`` benchmark row).

A simulated Polar-like watch stream (52 Hz sensor clock 100 ppm fast, notifications of 36 samples with
5-50 ms exponential latency, from :mod:`mujo_edge.firmware_bridge.simulated_session`) is fed batch by batch, as a live session
would, through :class:`mujo_edge.pipeline.Pipeline` with a no-op model: what is timed is clock model,
gap checks, anti-aliased resampling to the 50 Hz grid, windowing, PIT calibration (the bundle's table when
it has one) and event creation. ``latency_us`` summarizes the per-window cost of each repeat; ``n`` is the
number of repeats.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.bench.machine import peak_rss_mb
from mujo_edge.bench.schema import BenchResult, latency_summary

#: The simulated watch: Polar Verity Sense ACC at 52 Hz, 36-sample notifications.
SIM_RATE_HZ = 52.0
SIM_BATCH = 36


class NoOpRunner:
    """Stands in for a model: uniform probabilities, so the pipeline's own cost is what gets timed."""

    name = "no-op"
    format = "none"
    threads = 1
    model_bytes = 0

    def __init__(self, n_labels: int) -> None:
        self.n_labels = n_labels

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        return np.full((len(windows_g), self.n_labels), 1.0 / self.n_labels, dtype=np.float32)

    logits = predict

    def run(self, windows_g: np.ndarray, embedding: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Uniform logits and no embedding: what a bundle with a head would ask of it."""
        return self.predict(windows_g), None


def pipeline_cost_per_window(
    bundle_path: str | Path | None, seconds: float = 600.0, repeats: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Per-window cost (us) of the pipeline with a no-op model over ``seconds`` of simulated stream."""
    from mujo_edge.firmware_bridge.faults import Faults
    from mujo_edge.firmware_bridge.simulated_session import simulate_stream
    from mujo_edge.pipeline import Pipeline

    labels = [f"class{i}" for i in range(7)]
    calibration = None
    if bundle_path is not None:
        from mujo_edge.bundle import Bundle

        bundle = Bundle.open(bundle_path)
        labels, calibration = bundle.labels, bundle.calibration
    rng = np.random.default_rng(seed)
    n = int(seconds * SIM_RATE_HZ)
    t = np.arange(n) / SIM_RATE_HZ
    acc = np.stack(
        [0.3 * np.sin(2 * np.pi * 0.5 * t), 0.2 * np.cos(2 * np.pi * 0.5 * t), 0.9 + 0 * t], axis=1
    )
    acc = (acc + rng.normal(0, 0.02, acc.shape)).astype(np.float32)
    faults = Faults(clock_skew_ppm=100.0, latency_mean_s=0.015, latency_max_s=0.05, seed=seed)
    items = simulate_stream(
        acc, SIM_RATE_HZ, device="bench", batch=SIM_BATCH, faults=faults, link_latency_s=0.005
    ).items
    per_window_us: list[float] = []
    windows = 0
    for _ in range(repeats):
        pipe = Pipeline(NoOpRunner(len(labels)), labels, calibration=calibration)
        t0 = time.perf_counter_ns()
        n_events = 0
        for item in items:
            n_events += len(pipe.feed(item))
        n_events += len(pipe.close())
        elapsed_us = (time.perf_counter_ns() - t0) / 1e3
        windows = sum(s.windows for s in pipe.stats.values())
        if windows == 0:
            raise RuntimeError("the simulated stream produced no window: the pipeline benchmark is broken")
        per_window_us.append(elapsed_us / windows)
    s = np.asarray(per_window_us)
    return BenchResult(
        name="pipeline (no-op model)",
        runtime="mujo-pipeline",
        format="none",
        dtype="none",
        threads=1,
        source="host",
        tool="mujo-edge bench",
        latency_us=latency_summary(
            float(np.percentile(s, 50)),
            float(np.percentile(s, 90)),
            float(np.percentile(s, 99)),
            s.mean(),
            s.min(),
            s.max(),
            s.std(),
            s.size,
        ),
        throughput_wps=round(1e6 / float(np.median(s)), 1),
        batch=None,
        load_ms=None,
        import_ms=None,
        peak_rss_mb=round(peak_rss_mb(), 1),
        model_bytes=None,
        notes=(
            f"amortized per window over {seconds:.0f} s of a simulated {SIM_RATE_HZ:g} Hz watch "
            f"({SIM_BATCH}-sample notifications, 100 ppm skew, 5-50 ms latency), {windows} windows per repeat; "
            f"clock + grid + windows + {'PIT + ' if calibration is not None else ''}events, model = no-op; "
            "latency_us = per-window cost over repeats"
        ),
        extra={"windows_per_repeat": windows, "repeats": repeats, "calibrated": calibration is not None},
    ).to_dict()
