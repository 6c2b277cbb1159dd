"""Realism of the synthetic shoulder exercises against the real seglearn watch data (training subjects 1-7).

Prints, for the seven exercises both have, per-axis mean and standard deviation of 2-s windows and the dominant
frequency (convention frame, g), the angular-rate spread per axis, then the sim-to-real check: a random forest trained on synthetic windows only,
tested on the real windows of subjects 1-7 (macro-F1, confusion matrix). Subjects 8-10 validate and test
models and are never compared with the generator.

    .venv/bin/python benchmarks/realism.py [--subjects 10] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console
from rich.table import Table

from mujo_edge.training.synth.realism import (
    SHOULDER,
    gyro_std,
    real_recordings,
    realism_table,
    sim_to_real_f1,
    synthetic_recordings,
)


def _fmt(v: np.ndarray) -> str:
    return " ".join(f"{x:+.2f}" for x in v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=10, help="synthetic subjects (x 2 wrists x 7 exercises)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    real = real_recordings()
    synth = synthetic_recordings(args.subjects, seed=args.seed)
    table = Table(title="synthetic vs real seglearn windows (g, convention frame: x y z)")
    for col in ("exercise", "mean real", "mean synth", "std real", "std synth", "f real Hz", "f synth Hz"):
        table.add_column(col, justify="right")
    for row in realism_table(synth, real):
        table.add_row(
            str(row["exercise"]),
            _fmt(row["real_mean"]),  # type: ignore[arg-type]
            _fmt(row["synth_mean"]),  # type: ignore[arg-type]
            _fmt(row["real_std"]),  # type: ignore[arg-type]
            _fmt(row["synth_std"]),  # type: ignore[arg-type]
            f"{row['real_freq_hz']:.2f}",
            f"{row['synth_freq_hz']:.2f}",
        )
    console = Console(width=140)
    console.print(table)
    gyr_t = Table(
        title="angular rate sd per axis (rad/s, convention frame): which axis the motion turns about"
    )
    for col in ("exercise", "real x y z", "synth x y z"):
        gyr_t.add_column(col, justify="right")
    g_real, g_synth = gyro_std(real), gyro_std(synth)
    for ex in SHOULDER:
        gyr_t.add_row(ex, _fmt(g_real[ex]), _fmt(g_synth[ex]))
    console.print(gyr_t)
    f1, cm = sim_to_real_f1(synth, real, seed=args.seed)
    console.print(f"sim-to-real: random forest on synthetic windows, tested on real ones: macro-F1 {f1:.3f}")
    console.print("confusion (rows real, columns predicted): " + " ".join(SHOULDER))
    for ex, row in zip(SHOULDER, cm, strict=True):
        console.print(f"  {ex:>4} " + " ".join(f"{v:5d}" for v in row))


if __name__ == "__main__":
    main()
