"""Peak resident memory of `mujo-edge pretrain` for a corpus and one 4x larger (the trainer reads batches by rows,
so its memory should not grow with the corpus).

    .venv/bin/python experiments/pretrain_rss.py --out runs/rss --windows 4000

Writes two corpora of random windows with pose (float16 and float32), pretrains one epoch on each under
``/usr/bin/time -v`` and prints the corpus size and the peak RSS. Results: docs/reliability.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from mujo_edge.constants import N_JOINTS, WINDOW
from mujo_edge.training.data.format import write_dataset


def corpus(out: Path, n: int, pose_dtype: str, seed: int = 0) -> int:
    """A corpus of ``n`` windows (6 subjects, 4 labels, acc + pose + text); returns its bytes on disk."""
    if not (out / "manifest.json").exists():
        rng = np.random.default_rng(seed)
        label = rng.integers(0, 4, n)
        acc = rng.normal(0, 0.3, (n, WINDOW, 3)).astype(np.float32)
        acc[:, :, 2] += 1.0
        pose = np.empty((n, WINDOW, N_JOINTS, 3), dtype=pose_dtype)
        for a in range(0, n, 1000):  # in chunks: the writer's memory is not what is measured
            pose[a : a + 1000] = rng.normal(0, 0.2, (min(1000, n - a), WINDOW, N_JOINTS, 3))
        text = rng.normal(size=(8, 384)).astype(np.float32)
        write_dataset(
            out,
            acc=acc,
            label=label,
            subject=1 + np.arange(n) % 6,
            recording=np.arange(n) // 50,
            start=(np.arange(n) % 50) * 50,
            pose=pose,
            text=text,
            text_id=2 * label + rng.integers(0, 2, n),
            labels=["a", "b", "c", "d"],
        )
    return sum(f.stat().st_size for f in out.glob("*.npy"))


def peak_rss_mib(data: Path, run: Path) -> float:
    cmd = [
        "/usr/bin/time", "-v", sys.executable, "-m", "mujo_edge.cli", "pretrain", "--data", str(data),
        "--out", str(run), "--epochs", "1", "--batch-size", "64", "--cnn", "mmfit", "--joint-dim", "32",
        "--proj-hidden", "32", "--checkpoint-every", "0", "--val-subjects", "6",
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr).group(1))
    return kb / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("runs/rss"))
    ap.add_argument("--windows", type=int, default=4000, help="windows of the small corpus (the large: 4x)")
    ap.add_argument("--pose-dtype", default="float16", choices=("float16", "float32"))
    args = ap.parse_args()
    print("| corpus windows | pose dtype | corpus MiB | peak RSS of pretrain, MiB |\n|---:|---|---:|---:|")
    for n in (args.windows, 4 * args.windows):
        data = args.out / f"corpus_{n}_{args.pose_dtype}"
        size = corpus(data, n, args.pose_dtype)
        run = args.out / f"run_{n}_{args.pose_dtype}"
        if run.exists():
            import shutil

            shutil.rmtree(run)
        rss = peak_rss_mib(data, run)
        print(f"| {n} | {args.pose_dtype} | {size / 2**20:.0f} | {rss:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
