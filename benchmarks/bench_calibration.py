"""PIT calibration cost: fitting the tables, and applying them per window on one core.

    .venv/bin/python benchmarks/bench_calibration.py [--repeat 2000] [--data DIR]

Fits on real seglearn windows when ``--data`` names an imported dataset (``mujo-edge data import
seglearn-watch``), else on synthetic gamma -> normal windows of the same size (4,677 windows). Applies to one
(100, 3) window (the streaming case), a batch of 64 windows, and the per-class table. Prints a table; results
are recorded in docs/calibration.md.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from mujo_edge.calibration import PitCalibration, SupervisedPit


def _us(fn: Callable[[], object], repeat: int) -> float:
    """Median of 5 rounds of the mean time of ``repeat`` calls, microseconds."""
    fn()
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        rounds.append((time.perf_counter() - t0) / repeat * 1e6)
    return float(np.median(rounds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2000, help="calls per timing round")
    ap.add_argument("--data", help="a dataset folder to fit on (default: synthetic windows)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    if args.data:
        from mujo_edge.training.data.format import Dataset

        ds = Dataset.open(args.data)
        source, labels = np.asarray(ds.acc), np.asarray(ds.label)
        what = f"{ds.manifest.get('name')} ({len(ds)} windows)"
    else:
        source = rng.gamma(2.0, 0.3, (4677, 100, 3)).astype(np.float32)
        labels = rng.integers(0, 7, 4677)
        what = "synthetic gamma windows (4677)"
    target = rng.normal(0.0, 0.5, source.shape).astype(np.float32)

    t0 = time.perf_counter()
    pit = PitCalibration.fit(source, target)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sup = SupervisedPit.fit(source, labels, target, labels)
    fit_sup_s = time.perf_counter() - t0
    one = source[0].copy()
    batch = source[:64].copy()
    lab64 = labels[:64].copy()
    one_us = _us(lambda: pit.apply(one), args.repeat)
    batch_us = _us(lambda: pit.apply(batch), max(1, args.repeat // 20))
    sup_us = _us(lambda: sup.apply(batch, lab64), max(1, args.repeat // 20))
    table_bytes = len(json.dumps(pit.to_dict()))

    table = Table(
        title=f"PIT calibration, {pit.n_quantiles} quantiles x {pit.channels} channels; fitted on {what}"
    )
    table.add_column("operation")
    table.add_column("time", justify="right")
    table.add_column("per window", justify="right")
    table.add_row("fit unsupervised", f"{fit_s * 1e3:.0f} ms", "")
    table.add_row(f"fit supervised ({len(sup.classes)} classes)", f"{fit_sup_s * 1e3:.0f} ms", "")
    table.add_row("apply, 1 window (100, 3)", f"{one_us:.1f} us", f"{one_us:.1f} us")
    table.add_row("apply, 64 windows", f"{batch_us:.0f} us", f"{batch_us / 64:.1f} us")
    table.add_row("apply supervised, 64 windows", f"{sup_us:.0f} us", f"{sup_us / 64:.1f} us")
    table.add_row("table as JSON", f"{table_bytes / 1024:.1f} KiB", "")
    Console().print(table)


if __name__ == "__main__":
    main()
