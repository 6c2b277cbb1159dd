"""Generation speed and peak memory of the synthetic corpus, on one core.

Rows: rendering only (plan + motion + forward kinematics + virtual IMU + windowing, in memory) and the full
``generate_corpus`` (rendering + text embeddings + writing the dataset folder, pose included). Speed is hours of
multimodal data (acc + pose + text pairs, and gyr) generated per minute of wall time; memory is the process's
peak resident set size (``resource.getrusage``), which only grows, so rows run smallest first.

    .venv/bin/python benchmarks/bench_synth.py [--hours 0.5 2] [--out /tmp/bench_synth]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from rich.console import Console
from rich.table import Table

from mujo_edge.constants import HOP, RATE_HZ, WINDOW
from mujo_edge.training.synth.corpus import (
    default_subjects,
    generate_corpus,
    plan_corpus,
    render_session,
)
from mujo_edge.training.synth.imu import SensorModel
from mujo_edge.training.synth.motion import EXERCISES, NON_ACTIVITY


def _peak_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024


def bench_render(hours: float) -> tuple[float, int]:
    """Seconds to render ``hours`` of sessions into windows (no text, no disk), and the window count."""
    labels = [*EXERCISES, NON_ACTIVITY]
    t0 = time.perf_counter()
    plans = plan_corpus(hours, 0, default_subjects(hours), "both", list(EXERCISES))
    n = 0
    for p in plans:
        n += len(render_session(p, 0, labels, True, RATE_HZ, SensorModel(), WINDOW, HOP).label)
    return time.perf_counter() - t0, n


def bench_full(hours: float, out: Path) -> tuple[float, int]:
    """Seconds for ``generate_corpus`` (text embeddings cached after the first run) and the window count."""
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    ds = generate_corpus(out, hours=hours, seed=0, with_gyr=True)
    dt = time.perf_counter() - t0
    n = len(ds)
    shutil.rmtree(out)
    return dt, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, nargs="+", default=[0.5, 2.0])
    ap.add_argument("--out", type=Path, default=None, help="scratch folder for the full runs (removed after)")
    args = ap.parse_args()
    scratch = args.out or Path(tempfile.mkdtemp(prefix="bench_synth_"))
    # warm-up: imports, and the text embeddings into the cache, so the table measures generation
    bench_full(0.02, scratch / "warmup")
    table = Table(
        title=f"synthetic corpus generation, 1 process (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})"
    )
    for col in ("what", "hours", "windows", "wall s", "hours / min", "windows / s", "peak RSS MiB"):
        table.add_column(col, justify="right")
    for h in sorted(args.hours):
        dt, n = bench_render(h)
        hours = n * HOP / RATE_HZ / 3600
        table.add_row(
            "render",
            f"{h:g}",
            str(n),
            f"{dt:.1f}",
            f"{hours / dt * 60:.1f}",
            f"{n / dt:.0f}",
            f"{_peak_mib():.0f}",
        )
    for h in sorted(args.hours):
        dt, n = bench_full(h, scratch / "full")
        hours = n * HOP / RATE_HZ / 3600
        table.add_row(
            "generate_corpus",
            f"{h:g}",
            str(n),
            f"{dt:.1f}",
            f"{hours / dt * 60:.1f}",
            f"{n / dt:.0f}",
            f"{_peak_mib():.0f}",
        )
    Console(width=120).print(table)
    if args.out is None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
