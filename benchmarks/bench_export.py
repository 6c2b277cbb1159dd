"""Export targets of a ``.mujo`` bundle: size, agreement, macro-F1 and single-window latency per runtime.

Prints one table (and optionally writes JSON). Latency is one window, one thread, after warm-up, measured
per call with ``perf_counter_ns`` over many repetitions; p50 and p90 are reported because the machine is
shared. "raw" times only the runtime's invoke (int8 tensors in and out); "runner" is what the pipeline pays
(input checks, layout, int8 quantize/dequantize through :mod:`mujo_edge.runners`).

    .venv/bin/python benchmarks/bench_export.py --bundle mujo_edge/assets/default.mujo --student runs/student
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.bundle import Bundle, zero_shot_scores
from mujo_edge.constants import WINDOW

TARGET_KB = 32.0
TARGET_AGREEMENT = 0.995
TARGET_F1_DROP = 0.01
TARGET_TEACHER_GAP = 0.02
TARGET_LATENCY_US = 25.0


def time_calls(fn: Callable[[], object], runs: int, warmup: int) -> dict[str, float]:
    """p50/p90/mean microseconds of ``fn()`` over ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    ts = np.empty(runs, np.float64)
    for i in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        ts[i] = time.perf_counter_ns() - t0
    ts /= 1e3
    return {
        "p50_us": float(np.percentile(ts, 50)),
        "p90_us": float(np.percentile(ts, 90)),
        "mean_us": float(ts.mean()),
    }


def window(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, (1, WINDOW, 3)).astype(np.float32)
    x[..., 2] += 1.0
    return x


def bench(bundle_path: Path, student: Path | None, runs: int, warmup: int) -> dict[str, Any]:
    b = Bundle.open(bundle_path)
    x = window()
    rows: list[dict[str, Any]] = []
    ver = b.manifest.get("verification", {}).get("models", {})
    for entry in b.models:
        runner = b.runner(entry.format, dtype=entry.dtype)
        v = ver.get(Path(entry.file).name, {})
        row: dict[str, Any] = {
            "model": Path(entry.file).name,
            "format": entry.format,
            "dtype": entry.dtype,
            "kb": len(b.file_bytes(entry.file)) / 1024,
            "partitions": entry.info.get("partitions", {}).get("xnnpack_partitions"),
            "one_partition": entry.info.get("partitions", {}).get("whole_model_in_one_partition"),
            "agreement": v.get("agreement"),
            "macro_f1": v.get("macro_f1"),
            "float_macro_f1": v.get("float_macro_f1"),
            "runner": time_calls(lambda r=runner: r.logits(x), runs, warmup),
        }
        one = np.ascontiguousarray(x.transpose(0, 2, 1)) if entry.input_layout == "BCW" else x
        if entry.format == "tflite":
            it = runner._it  # the interpreter itself: raw invoke cost
            q = np.zeros(it.get_input_details()[0]["shape"], it.get_input_details()[0]["dtype"])
            i_in, i_out = runner._in_index, runner._out_index

            def raw(it: Any = it, q: np.ndarray = q, i_in: int = i_in, i_out: list[int] = i_out) -> None:
                it.set_tensor(i_in, q)
                it.invoke()
                for i in i_out:
                    it.get_tensor(i)

            row["raw"] = time_calls(raw, runs, warmup)
        else:
            # The pybinding call the runner makes (inputs in, outputs not cloned), else the public API.
            t = [runner._from_numpy(one)]
            call = runner._raw_call or (lambda inputs, _clone, m=runner._method: m.execute(inputs))
            row["raw"] = time_calls(lambda c=call, t=t: c(t, False), runs, warmup)
        rows.append(row)
    eager = None
    if student is not None:
        import torch

        from mujo_edge.training.distill import load_student

        torch.set_num_threads(1)
        model, _ = load_student(student)
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))
        with torch.inference_mode():
            eager = time_calls(lambda: model(xt), runs, warmup)
    zero_shot = _zero_shot(b, student) if student is not None and b.label_embeddings is not None else None
    student_info = b.manifest.get("student", {})
    teacher_info = b.manifest.get("teacher", {})
    return {
        "zero_shot": zero_shot,
        "bundle": str(bundle_path),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "runs": runs,
        "student_params": student_info.get("params"),
        "student_test_macro_f1": student_info.get("test_macro_f1"),
        "teacher_test_macro_f1": teacher_info.get("test_macro_f1"),
        "models": rows,
        "pytorch_eager_fp32": eager,
    }


def _zero_shot(b: Bundle, student: Path) -> dict[str, Any]:
    """On-device zero-shot on the student's test subjects: top-1 of :meth:`Bundle.zero_shot` (embedding
    output vs stored label texts, no classifier head) per runtime, and of the float student's embedding."""
    import torch

    from mujo_edge.export.pipeline import export_data
    from mujo_edge.metrics import macro_f1
    from mujo_edge.training.distill import load_student

    model, manifest = load_student(student)
    data = export_data(manifest, None, calib_windows=1, rounding_windows=0)
    n = len(b.labels)
    out: dict[str, Any] = {
        "windows": len(data.test_g),
        "subjects": data.info["verification_subjects"],
        "chance": 1 / n,
    }
    with torch.no_grad():
        emb = model(torch.from_numpy(np.ascontiguousarray(data.test_g.transpose(0, 2, 1))))[1].numpy()
    pred = zero_shot_scores(emb, b.label_embeddings).argmax(1)  # type: ignore[arg-type]
    out["float"] = macro_f1(data.test_label, pred)
    for entry in b.models:
        pred = b.zero_shot(data.test_g, runner=b.runner(entry.format, dtype=entry.dtype)).argmax(1)
        out[entry.format] = macro_f1(data.test_label, pred)
    return out


def _fmt(v: float | None, spec: str = ".4f") -> str:
    return "-" if v is None else format(v, spec)


def print_table(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def ok(flag: bool | None) -> str:
        return "-" if flag is None else ("[green]yes[/]" if flag else "[red]no[/]")

    t = Table(title=f"export targets: {res['bundle']} ({res['runs']} single-window calls, 1 thread)")
    for c in (
        "model",
        "KB",
        "<=32KB",
        "1 XNNPACK part.",
        "agree",
        ">=99.5%",
        "F1",
        "F1 drop",
        "runner p50/p90 us",
        "raw p50/p90 us",
        "<=25us",
    ):
        t.add_column(c, justify="left" if c == "model" else "right")
    for r in res["models"]:
        drop = None if r["macro_f1"] is None else r["float_macro_f1"] - r["macro_f1"]
        t.add_row(
            r["model"],
            f"{r['kb']:.1f}",
            ok(r["kb"] <= TARGET_KB),
            ok(r["one_partition"]),
            _fmt(r["agreement"]),
            ok(None if r["agreement"] is None else r["agreement"] >= TARGET_AGREEMENT),
            _fmt(r["macro_f1"]),
            _fmt(drop),
            f"{r['runner']['p50_us']:.1f} / {r['runner']['p90_us']:.1f}",
            f"{r['raw']['p50_us']:.1f} / {r['raw']['p90_us']:.1f}",
            ok(r["runner"]["p50_us"] <= TARGET_LATENCY_US),
        )
    e = res["pytorch_eager_fp32"]
    if e:
        t.add_row(
            "PyTorch eager fp32 (student)",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            f"{e['p50_us']:.1f} / {e['p90_us']:.1f}",
            "",
            "",
        )
    c = Console(width=200)
    c.print(t)
    s, te = res["student_test_macro_f1"], res["teacher_test_macro_f1"]
    if s is not None and te is not None:
        c.print(
            f"student macro-F1 {s:.4f} vs teacher {te:.4f} on the teacher's test subjects: gap {te - s:+.4f} "
            f"(target <= {TARGET_TEACHER_GAP}) {ok(te - s <= TARGET_TEACHER_GAP)}; student params "
            f"{res['student_params']}"
        )
    z = res.get("zero_shot")
    if z:
        per = ", ".join(f"{k} {v:.3f}" for k, v in z.items() if k not in ("windows", "subjects", "chance"))
        c.print(
            f"on-device zero-shot (embedding vs label texts, no head), top-1 macro-F1 on {z['windows']} "
            f"windows of subjects {z['subjects']}: {per} (chance {z['chance']:.3f})"
        )
    c.print(f"machine: {res['machine']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    p.add_argument(
        "--student",
        type=Path,
        help="STUDENT folder: time PyTorch eager float beside the runtimes and score on-device zero-shot "
        "on its test subjects",
    )
    p.add_argument("--runs", type=int, default=5000)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--json", type=Path, help="also write the results here")
    a = p.parse_args(argv)
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    res = bench(a.bundle, a.student, a.runs, a.warmup)
    print_table(res)
    if a.json:
        a.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
