"""Generation speed and peak memory of the synthetic corpus.

Rows: rendering only (plan + motion + forward kinematics + virtual IMU at every placement + device-rate
simulation + windowing, in memory, one process) and the full ``generate_corpus`` (rendering + text pairing and
embeddings + writing the dataset folder with pose and gyroscope) with ``--workers`` processes. Speed is hours of
multimodal data generated per minute of wall time. Every row runs in a fresh process, so its memory is its own:
"peak RSS" is the process's peak resident set (``getrusage``; for the full run it includes the clean file pages
of the memory-mapped spool that ``write_dataset`` streams, which the kernel can drop), "peak anon" the peak of
its anonymous memory (``RssAnon`` sampled every 50 ms: what the generator itself holds). Memory is flat when
these do not grow with the hours. Workers' memory is not included (each renders one session at a time).

    .venv/bin/python benchmarks/bench_synth.py [--hours 1 4] [--workers 1] [--out runs/bench_synth]

Text embeddings come from the cache (a warm-up run fills it), so the table measures generation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _rss_anon_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024


def _one(what: str, hours: float, workers: int, out: Path) -> dict[str, float]:
    """One row, measured in this (fresh) process."""
    from mujo_edge.constants import HOP, RATE_HZ, WINDOW
    from mujo_edge.training.synth.corpus import default_subjects, generate_corpus, plan_corpus, render_session
    from mujo_edge.training.synth.imu import SensorModel
    from mujo_edge.training.synth.motion import EXERCISES, NON_ACTIVITY

    peak_anon = [0.0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak_anon[0] = max(peak_anon[0], _rss_anon_mib())
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    t0 = time.perf_counter()
    if what == "render":
        labels = [*EXERCISES, NON_ACTIVITY]
        plans = plan_corpus(hours, 0, default_subjects(hours), None, list(EXERCISES))
        n = 0
        for p in plans:
            n += len(render_session(p, 0, labels, True, RATE_HZ, SensorModel(), WINDOW, HOP).label)
    else:
        if out.exists():
            shutil.rmtree(out)
        ds = generate_corpus(out, hours=hours, seed=0, with_gyr=True, workers=workers)
        n = len(ds)
        del ds
        shutil.rmtree(out)
    dt = time.perf_counter() - t0
    stop.set()
    t.join()
    return {"n": n, "dt": dt, "hours": n * HOP / RATE_HZ / 3600, "rss": _peak_mib(), "anon": peak_anon[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, nargs="+", default=[1.0, 4.0])
    ap.add_argument("--workers", type=int, default=1, help="processes for the generate_corpus rows")
    ap.add_argument("--out", type=Path, default=None, help="scratch folder for the full runs (removed after)")
    ap.add_argument("--one", nargs=3, metavar=("WHAT", "HOURS", "WORKERS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    scratch = args.out or Path(tempfile.mkdtemp(prefix="bench_synth_"))
    if args.one:
        what, h, w = args.one
        print(json.dumps(_one(what, float(h), int(w), scratch / "full")))
        return

    from rich.console import Console
    from rich.table import Table

    def run(what: str, h: float, w: int) -> dict[str, float]:
        cmd = [sys.executable, __file__, "--one", what, str(h), str(w), "--out", str(scratch)]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    run("full", 0.02, 1)  # warm-up: the text embeddings into the cache
    table = Table(title=f"synthetic corpus generation (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})")
    for col in (
        "what",
        "workers",
        "hours",
        "windows",
        "wall s",
        "hours / min",
        "peak RSS MiB",
        "peak anon MiB",
    ):
        table.add_column(col, justify="right")
    rows = [("render", 1), ("generate_corpus", args.workers)]
    for what, w in rows:
        for h in sorted(args.hours):
            r = run("render" if what == "render" else "full", h, w)
            table.add_row(
                what,
                str(w),
                f"{h:g}",
                str(int(r["n"])),
                f"{r['dt']:.1f}",
                f"{r['hours'] / r['dt'] * 60:.1f}",
                f"{r['rss']:.0f}",
                f"{r['anon']:.0f}",
            )
    Console(width=120).print(table)
    if args.out is None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
