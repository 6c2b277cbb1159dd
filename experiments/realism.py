"""Per-class realism check: synthetic corpus vs real seglearn windows, for the seven shoulder exercises.

    .venv/bin/python experiments/realism.py --synth runs/corpus --real runs/seglearn

Per class: window counts, mean specific force per axis (g: the watch's average orientation to gravity), mean
within-window standard deviation per axis (g: how much the wrist moves), and the mean dominant frequency of the
window (Hz, of the summed axis power after removing each window's mean: the repetition tempo). Prints a
Markdown table for docs/results.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mujo_edge.constants import RATE_HZ
from mujo_edge.training.data.format import Dataset


def dominant_hz(acc: np.ndarray) -> float:
    x = acc - acc.mean(1, keepdims=True)
    f = np.fft.rfftfreq(acc.shape[1], 1 / RATE_HZ)
    p = (np.abs(np.fft.rfft(x, axis=1)) ** 2).sum(2)
    return float(f[p.argmax(1)].mean())


def table(synth: Dataset, real: Dataset) -> str:
    rows = [
        "| class | windows synth / real | mean x y z (g) synth | real | std x y z (g) synth | real | dominant Hz synth / real |",
        "|---|---|---|---|---|---|---|",
    ]
    fmt = lambda v: " ".join(f"{x:+.2f}" for v_ in [v] for x in v_)  # noqa: E731
    for name in real.labels:
        if name not in synth.labels:
            rows.append(f"| {name} | not in the corpus | | | | | |")
            continue
        a = np.asarray(synth.acc)[np.asarray(synth.label) == synth.labels.index(name)]
        b = np.asarray(real.acc)[np.asarray(real.label) == real.labels.index(name)]
        if len(a) == 0:
            rows.append(f"| {name} | 0 / {len(b)} | | | | | |")
            continue
        rows.append(
            f"| {name} | {len(a)} / {len(b)} | {fmt(a.mean((0, 1)))} | {fmt(b.mean((0, 1)))} | "
            f"{fmt(a.std(1).mean(0))} | {fmt(b.std(1).mean(0))} | {dominant_hz(a):.2f} / {dominant_hz(b):.2f} |"
        )
    na = np.linalg.norm(np.asarray(synth.acc), axis=2).mean()
    nb = np.linalg.norm(np.asarray(real.acc), axis=2).mean()
    rows.append(f"\nMean |f| over all windows: synth {na:.3f} g, real {nb:.3f} g.\n")
    return "\n".join(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synth", type=Path, required=True)
    p.add_argument("--real", type=Path, required=True)
    args = p.parse_args()
    print(table(Dataset.open(args.synth), Dataset.open(args.real)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
