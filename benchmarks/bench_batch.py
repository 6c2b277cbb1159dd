"""Batch variants: the model's cost per window at batch 1 vs 64 windows in one call, both runtimes, one run.

    .venv/bin/python benchmarks/bench_batch.py [--bundle model.mujo] [--windows 64] [--rounds 30]

A gateway's pipeline classifies every ready window of every device in one ``runner.run(x)``. Without a batch
variant the runner calls the batch-1 model once per window; with one it calls the batch model once per
chunk. Per format the script times, on the same (N, WINDOW, 3) windows:

* **batch 1**: ``run(x)`` of a runner of the batch-1 model alone (N calls), per window;
* **batched**: ``run(x)`` of the bundle's runner, which calls the batch variant, per window;
* **raw batched**: the runtime's own call of the batch model (``set_tensor``/``invoke``/``get_tensor``,
  ``method.execute``), per window: what the runner adds to it;

and checks that both runners return the same logits bit for bit. Medians of wall time over alternating
blocks of calls (one thread), results in docs/benchmarks.md.

Without ``--bundle`` it exports a student with the shipped bundle's architecture (its manifest's
``student.model``: the shipped weights are not in the repository, and the cost does not depend on them) with
random weights, int8 with round-to-nearest weights, both formats with a batch-64 variant (~1 min).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gateway import DEFAULT_BUNDLE, medians

from mujo_edge.bundle import Bundle
from mujo_edge.runners import runner_for


def export_bundle(out: Path) -> Path:
    """A bundle of a random student shaped like the shipped one, with batch-64 variants."""
    import torch

    from mujo_edge.export.bundle_writer import write_bundle
    from mujo_edge.export.pipeline import EXPORT_BATCH, ExportData, export_models
    from mujo_edge.training.distill import Student, StudentConfig

    shipped = Bundle.open(DEFAULT_BUNDLE).manifest["student"]["model"]
    cfg = StudentConfig(**{k: v for k, v in shipped.items() if k in StudentConfig.__dataclass_fields__})
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    windows = windows_g(512, rng)
    labels = [str(x) for x in shipped["labels"]]
    data = ExportData(
        calib_bcw=np.ascontiguousarray(windows[:256].transpose(0, 2, 1)),
        test_g=windows[256:],
        test_label=rng.integers(0, len(labels), 256),
    )
    report = export_models(Student(cfg), labels, cfg.window, data, rounding="nearest", batch=EXPORT_BATCH)
    return write_bundle(out, labels=labels, models=[m.file for m in report.models]).path


def windows_g(n: int, rng: np.random.Generator) -> np.ndarray:
    """Wrist-like windows: 1 g on z, a 1 Hz swing on x, noise."""
    t = np.arange(100) / 50.0
    w = rng.normal(0, 0.1, (n, 100, 3)).astype(np.float32)
    w[:, :, 2] += 1.0
    w[:, :, 0] += 0.5 * np.sin(2 * np.pi * t[None] + rng.uniform(0, 6, (n, 1)))
    return w


def raw_call(bundle: Bundle, fmt: str, x: np.ndarray) -> object:
    """A function making the runtime's own call of the batch model on ``x`` (float32 input, model layout)."""
    entry = bundle.model(fmt).batch
    assert entry is not None
    xm = np.ascontiguousarray(x.transpose(0, 2, 1) if entry.input_layout == "BCW" else x)
    blob = bundle.file_bytes(entry.file)
    if fmt == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_content=blob, num_threads=1)
        it.allocate_tensors()
        i_in = it.get_input_details()[0]
        if i_in["quantization"][0]:
            s, z = i_in["quantization"]
            xm = np.clip(np.rint(xm / s) + z, -128, 127).astype(i_in["dtype"])
        i_out = [o["index"] for o in it.get_output_details()]

        def raw_tflite() -> object:
            it.set_tensor(i_in["index"], xm)
            it.invoke()
            return [it.get_tensor(i) for i in i_out]

        return raw_tflite
    import torch
    from executorch.runtime import Runtime

    method = Runtime.get().load_program(blob).load_method("forward")
    xt = torch.from_numpy(xm)
    return lambda: method.execute([xt])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--bundle", type=Path, help="a bundle with batch variants (default: export one)")
    ap.add_argument("--windows", type=int, default=64, help="ready windows per run(x) call")
    ap.add_argument("--rounds", type=int, default=30, help="alternating blocks per figure")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.bundle or export_bundle(Path(tmp) / "batch.mujo")
        bundle = Bundle.open(path)
        x = windows_g(args.windows, np.random.default_rng(1))
        print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, 1 thread; {path.name}")
        print(f"{'format':<11} {'batch 1 us/window':>18} {'batched us/window':>18} {'raw batched':>12} ratio")
        for fmt in ("tflite", "executorch"):
            entry = bundle.model(fmt)
            if entry.batch is None:
                print(f"{fmt:<11} the bundle has no batch variant (re-export it)")
                continue
            batched = bundle.runner(fmt)
            single = runner_for(
                replace(entry, batch=None), bundle.file_bytes(entry.file), bundle.model_labels, bundle.window
            )
            if not np.array_equal(batched.run(x)[0], single.run(x)[0]):
                raise SystemExit(f"{fmt}: batched and window-by-window logits differ")
            m = medians(
                {
                    "single": lambda r=single: r.run(x),  # type: ignore[misc]
                    "batched": lambda r=batched: r.run(x),  # type: ignore[misc]
                    "raw": raw_call(bundle, fmt, x[: entry.batch.rows]),
                },
                args.rounds,
                5,
            )
            sizes = f"{len(bundle.file_bytes(entry.file)):,} / {len(bundle.file_bytes(entry.batch.file)):,} B"
            n, b = len(x), entry.batch.rows
            per = {k: v / (n if k != "raw" else b) for k, v in m.items()}
            print(
                f"{fmt:<11} {per['single']:>18.2f} {per['batched']:>18.2f} {per['raw']:>12.2f} "
                f"{per['single'] / per['batched']:.1f}x  (batch-1 / batch-{b} file: {sizes})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
