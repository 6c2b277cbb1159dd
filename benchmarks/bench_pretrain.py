"""Corpus generation (hours per minute) and pretraining throughput (windows/s) with the current library.

    .venv/bin/python benchmarks/bench_pretrain.py [--hours 0.2] [--workers 1,2] [--data CORPUS] [--steps 20]
        [--threads 1,2] [--demo]

First generates ``--hours`` of the synthetic corpus with ``generate_corpus`` (motion library, placements,
virtual IMU, text embeddings, writing the dataset folder) once per worker count, and reports hours of corpus
per minute of wall time. Then times optimizer steps of the real trainer loop pieces (batch assembly from the
memory-mapped dataset, augmentation, forward, pairwise InfoNCE, backward, AdamW) for the default model (wide
CNN, 1280-d joint space) and the paper's MM-Fit CNN, after 3 warm-up steps, on ``--data`` or else on the corpus
just generated. ``--demo`` also times ``mujo-edge pretrain --preset demo`` end to end (a subprocess, 2
threads). Prints two tables; results go in docs/benchmarks.md and docs/pretraining.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def bench_steps(data: Path, cnn: str, threads: int, steps: int, batch_size: int) -> float:
    import numpy as np
    import torch

    from mujo_edge.training.data.format import Dataset
    from mujo_edge.training.loss import multimodal_info_nce
    from mujo_edge.training.models import JointModel, ModelConfig
    from mujo_edge.training.pretrain import PretrainConfig, PretrainData

    torch.set_num_threads(threads)
    ds = Dataset.open(data)
    mods = tuple(
        m for m in ("acc", "pose", "text") if (m == "text" and ds.text is not None) or m in ds.modalities
    )
    cfg = PretrainConfig(
        model=ModelConfig(modalities=mods, cnn=cnn),
        batch_size=batch_size,
        augment_rotation_deg=20,
        augment_scale=0.1,
    )
    pdata = PretrainData(ds, cfg)
    model = JointModel(cfg.model, text_dim=int(ds.text.shape[1]) if ds.text is not None else 384)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    t0 = 0.0
    for i in range(steps + 3):
        if i == 3:
            t0 = time.perf_counter()
        idx = rng.choice(pdata.train_idx, batch_size, replace=False)
        batch = pdata.batch(idx, "cpu", torch.Generator().manual_seed(i))
        labels = batch.pop("label")
        z = model(batch)
        loss, _ = multimodal_info_nce(z, z.pop("logit_scale"), labels=labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * batch_size / (time.perf_counter() - t0)


def bench_generation(out: Path, hours: float, workers: int) -> tuple[float, int]:
    """Seconds to generate ``hours`` of corpus into ``out`` with ``workers`` processes, and its window count."""
    from mujo_edge.training.synth.corpus import generate_corpus

    t0 = time.perf_counter()
    ds = generate_corpus(out, hours=hours, seed=0, workers=workers)
    return time.perf_counter() - t0, len(ds)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--data", type=Path, help="corpus to time pretraining on (default: the one generated here)"
    )
    p.add_argument("--hours", type=float, default=0.2, help="hours of corpus to generate and time (0: skip)")
    p.add_argument("--workers", default="1,2", help="corpus worker processes to time, comma list")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--demo", action="store_true", help="also time `mujo-edge pretrain --preset demo`")
    args = p.parse_args()
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if args.hours > 0:
            gen = Table(title=f"corpus generation ({args.hours:g} h of acc + pose + text, seed 0)")
            for col in ("workers", "windows", "wall s", "hours per minute"):
                gen.add_column(col, justify="right")
            for w in (int(v) for v in args.workers.split(",")):
                out = Path(tmp) / f"corpus_w{w}"
                seconds, n = bench_generation(out, args.hours, w)
                gen.add_row(str(w), f"{n:,}", f"{seconds:.1f}", f"{args.hours / seconds * 60:.3f}")
                data = data or out
            console.print(gen)
        if data is None:
            p.error("give --data CORPUS or --hours > 0 to generate one")
        table = Table(title=f"pretraining throughput ({data.name}, batch {args.batch_size}, acc+pose+text)")
        for col in ("encoder", "threads", "windows/s", "s per 10k windows"):
            table.add_column(col, justify="right")
        for cnn in ("wide", "mmfit"):
            for th in (int(t) for t in args.threads.split(",")):
                wps = bench_steps(data, cnn, th, args.steps, args.batch_size)
                table.add_row(cnn, str(th), f"{wps:.0f}", f"{1e4 / wps:.1f}")
        console.print(table)
        if args.demo:
            cmd = [
                sys.executable, "-m", "mujo_edge.cli", "pretrain", "--data", str(data), "--out",
                f"{tmp}/run", "--preset", "demo", "--threads", "2",
            ]  # fmt: skip
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            console.print(
                f"demo preset (`mujo-edge pretrain --preset demo`, 2 threads): {time.perf_counter() - t0:.1f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
