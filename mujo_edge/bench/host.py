"""Host benchmark of a ``.mujo`` bundle: every model in it, the float PyTorch reference, and the pipeline.

For each model the bundle holds (LiteRT ``.tflite`` via ai-edge-litert, ExecuTorch ``.pte`` via
executorch.runtime) it measures, in a fresh worker process so peak RSS belongs to that runtime alone:

* ``import_ms``: importing the runtime package; ``load_ms``: creating the runner (interpreter/program
  load, tensor allocation), runtime already imported;
* single-window latency (batch 1, ``runs`` timed calls after ``warmup`` untimed ones): p50/p90/p99, mean,
  min, max, std in microseconds, through the runner's ``predict`` (quantize input, invoke, dequantize and
  softmax: what the pipeline pays per window);
* batched throughput: windows per second through ``predict`` on ``batch``-window calls;
* ``peak_rss_mb``: the worker's peak resident set (``resource.getrusage``), with the baseline before the
  runtime import in ``extra["rss_baseline_mb"]``; ``model_bytes``: the model file's size.

Plus, when torch and a float student are at hand (``student_dir``), PyTorch eager float32 as reference,
and the streaming pipeline's own cost per window with a no-op model (``mujo-pipeline``).
The timed inputs are deterministic synthetic windows (gravity plus noise); latency does not depend on
their values for these fixed-shape models.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.bench.machine import peak_rss_mb
from mujo_edge.bench.schema import BenchResult, latency_summary
from mujo_edge.constants import RATE_HZ, WINDOW
from mujo_edge.errors import MissingDependencyError, MujoError

log = logging.getLogger(__name__)

#: Bundle format -> (runtime name in the schema, file format in the schema, module the runtime imports).
BUNDLE_FORMATS: dict[str, tuple[str, str, str]] = {
    "tflite": ("litert", "tflite", "ai_edge_litert.interpreter"),
    "executorch": ("executorch", "pte", "executorch.runtime"),
}
#: Marker of the worker's one result line on stdout (anything else printed there is ignored).
RESULT_MARKER = "MUJO_BENCH_RESULT "
WORKER_TIMEOUT_S = 600.0


def synthetic_windows(n: int, seed: int = 0) -> np.ndarray:
    """(n, WINDOW, 3) float32 g: a still watch face-up (z = 1 g) plus 0.1 g noise. Deterministic."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.1, size=(n, WINDOW, 3)).astype(np.float32)
    x[..., 2] += 1.0
    return x


def time_calls(fn: Callable[[np.ndarray], Any], x: np.ndarray, runs: int, warmup: int) -> np.ndarray:
    """Call ``fn(x)`` ``warmup`` times untimed, then ``runs`` times timed. Returns (runs,) float64 us."""
    for _ in range(warmup):
        fn(x)
    out = np.empty(runs, dtype=np.float64)
    clock = time.perf_counter_ns
    for i in range(runs):
        t0 = clock()
        fn(x)
        out[i] = (clock() - t0) / 1e3
    return out


def summarize_us(samples_us: np.ndarray) -> dict[str, float | int | None]:
    """The schema's ``latency_us`` from raw per-call times (us)."""
    s = np.asarray(samples_us, dtype=np.float64)
    p50, p90, p99 = np.percentile(s, [50, 90, 99])
    return latency_summary(p50, p90, p99, s.mean(), s.min(), s.max(), s.std(), s.size)


def measure(
    fn: Callable[[np.ndarray], Any], runs: int, warmup: int, batch: int, seed: int = 0
) -> tuple[dict[str, float | int | None], float]:
    """Single-window latency summary and batched throughput (windows/s) of ``fn(windows (B,100,3))``."""
    windows = synthetic_windows(max(batch, 1), seed)
    lat = summarize_us(time_calls(fn, windows[:1], runs, warmup))
    xb = windows[:batch]
    fn(xb)  # warm the batched shape (a resize or a fresh allocation in some runtimes)
    calls = max(3, math.ceil(runs / batch))
    t0 = time.perf_counter()
    for _ in range(calls):
        fn(xb)
    throughput = calls * batch / (time.perf_counter() - t0)
    return lat, float(throughput)


# --- one measurement (runs inside a worker process) --------------------------------------------------
def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Measure one configuration described by ``spec`` (kind: model | pytorch | pipeline); a result dict."""
    kind = spec["kind"]
    if kind == "model":
        return _bench_bundle_model(spec)
    if kind == "pytorch":
        return _bench_pytorch(spec)
    if kind == "pipeline":
        return _bench_pipeline(spec)
    raise ValueError(f"unknown benchmark kind {kind!r}")


def _bench_bundle_model(spec: dict[str, Any]) -> dict[str, Any]:
    from mujo_edge.bundle import Bundle

    bundle = Bundle.open(spec["bundle"])
    runtime, file_format, module = BUNDLE_FORMATS[spec["format"]]
    entry = bundle.model(spec["format"], spec["dtype"])
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    # A missing module is not an error here: the runner falls back (tflite_runtime) or raises
    # MissingDependencyError below, naming the extra.
    with contextlib.suppress(ImportError):
        __import__(module)
    import_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    runner = bundle.runner(spec["format"], threads=spec["threads"], dtype=spec["dtype"])
    load_ms = (time.perf_counter() - t0) * 1e3
    lat, wps = measure(runner.predict, spec["runs"], spec["warmup"], spec["batch"])
    return BenchResult(
        name=f"{runtime} {entry.dtype}",
        runtime=runtime,
        format=file_format,
        dtype=entry.dtype,
        threads=spec["threads"],
        source="host",
        tool="mujo-edge bench",
        latency_us=lat,
        throughput_wps=round(wps, 1),
        batch=spec["batch"],
        load_ms=round(load_ms, 3),
        import_ms=round(import_ms, 1),
        peak_rss_mb=round(peak_rss_mb(), 1),
        model_bytes=len(bundle.file_bytes(entry.file)),
        notes=f"{entry.file} via {getattr(runner, 'name', runtime)}; predict() incl. (de)quantize + softmax",
        extra={"rss_baseline_mb": round(rss0, 1)},
    ).to_dict()


def _bench_pytorch(spec: dict[str, Any]) -> dict[str, Any]:
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    try:
        import torch
    except ImportError as e:
        raise MissingDependencyError("the PyTorch reference benchmark", "training", "torch") from e
    import_ms = (time.perf_counter() - t0) * 1e3
    torch.set_num_threads(spec["threads"])
    t0 = time.perf_counter()
    model, model_bytes, what = _load_float_student(Path(spec["student"]))
    load_ms = (time.perf_counter() - t0) * 1e3

    def fn(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(model(torch.from_numpy(x)), dim=-1).numpy()

    lat, wps = measure(fn, spec["runs"], spec["warmup"], spec["batch"])
    return BenchResult(
        name="pytorch float32",
        runtime="pytorch",
        format="pytorch",
        dtype="float32",
        threads=spec["threads"],
        source="host",
        tool="mujo-edge bench",
        latency_us=lat,
        throughput_wps=round(wps, 1),
        batch=spec["batch"],
        load_ms=round(load_ms, 3),
        import_ms=round(import_ms, 1),
        peak_rss_mb=round(peak_rss_mb(), 1),
        model_bytes=model_bytes,
        notes=f"eager float student from {what}; forward + softmax under inference_mode",
        extra={"rss_baseline_mb": round(rss0, 1), "torch": torch.__version__},
    ).to_dict()


def _load_float_student(student: Path) -> tuple[Any, int, str]:
    """The float student of a STUDENT dir (``mujo-edge distill --out``) as ``(B, 100, 3) g -> logits``.

    Uses ``mujo_edge.training.distill.load_student``; the BatchNorm-folded copy (``fused()``) is timed,
    the graph that export converts, so the comparison with the int8 runtimes is like for like.
    """
    try:
        from mujo_edge.training.distill import load_student
    except ImportError as e:
        raise MissingDependencyError("loading the float student", "training", "torch") from e
    model, manifest = load_student(student)
    if hasattr(model, "fused"):
        model = model.fused()
    classify = getattr(model, "classify", model)
    # the deployable weights only (the folder also holds training-only tensors, e.g. the joint-space map)
    weights = student / str((manifest.get("weights") or {}).get("file", "model.safetensors"))
    return classify, weights.stat().st_size, f"{student} (BatchNorm folded)"


def _bench_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """Amortized cost per window of the streaming pipeline (clock, grid, windows, PIT) with a no-op model."""
    from mujo_edge.bench.pipeline_cost import pipeline_cost_per_window

    return pipeline_cost_per_window(
        spec.get("bundle"), seconds=float(spec.get("seconds", 600.0)), repeats=int(spec.get("repeats", 5))
    )


# --- orchestration ------------------------------------------------------------------------------------
def _run_in_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec`` in a fresh ``python -m mujo_edge.bench._worker``; its parsed reply."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(spec.get("threads", 1)))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mujo_edge.bench._worker"],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
            env=env,
        )
    except subprocess.TimeoutExpired as e:
        raise MujoError(
            f"benchmark worker for {spec.get('kind')} {spec.get('format', '')} ran over {WORKER_TIMEOUT_S:.0f} s; "
            "lower --runs or check the machine's load."
        ) from e
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return dict(json.loads(line[len(RESULT_MARKER) :]))
    tail = (proc.stderr or proc.stdout).strip()[-1500:]
    raise MujoError(
        f"benchmark worker for {spec.get('kind')} {spec.get('format', '')} exited with code {proc.returncode} "
        f"and no result. Its last output:\n{tail}"
    )


def _run_in_process(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": True, "result": run_spec(spec)}
    except MissingDependencyError as e:
        return {"ok": False, "missing": True, "error": str(e)}
    except MujoError as e:
        return {"ok": False, "missing": False, "error": str(e)}


def plan_specs(
    bundle_path: str | Path | None,
    model_keys: list[tuple[str, str]],
    threads: int,
    runs: int,
    warmup: int,
    batch: int,
    student: str | Path | None,
    pipeline: bool,
) -> list[dict[str, Any]]:
    """The list of measurements ``bench_host`` makes, in order (one per model, then PyTorch, pipeline)."""
    common = {"threads": threads, "runs": runs, "warmup": warmup, "batch": batch}
    specs: list[dict[str, Any]] = [
        {"kind": "model", "bundle": str(bundle_path), "format": fmt, "dtype": dtype, **common}
        for fmt, dtype in model_keys
    ]
    if student is not None:
        specs.append({"kind": "pytorch", "student": str(student), **common})
    if pipeline:
        specs.append(
            {"kind": "pipeline", "bundle": None if bundle_path is None else str(bundle_path), **common}
        )
    return specs


def bench_host(
    bundle_path: str | Path,
    threads: int = 1,
    runs: int = 1000,
    warmup: int = 100,
    batch: int = 32,
    student: str | Path | None = None,
    pipeline: bool = True,
    isolate: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Benchmark every model of a bundle (+ PyTorch reference, + pipeline cost); a validated report dict.

    ``isolate`` runs each measurement in its own worker process (clean peak RSS; the default).
    Measurements that cannot run here (a runtime not installed, no float student) land in ``skipped``
    with the reason; any other failure raises.
    """
    from mujo_edge.bench.machine import host_machine
    from mujo_edge.bench.schema import new_report
    from mujo_edge.bundle import Bundle
    from mujo_edge.provenance import sha256_file

    if threads < 1 or runs < 1 or warmup < 0 or batch < 1:
        raise MujoError(
            f"bench settings must be threads >= 1, runs >= 1, warmup >= 0, batch >= 1; got threads={threads}, "
            f"runs={runs}, warmup={warmup}, batch={batch}."
        )
    bundle = Bundle.open(bundle_path)
    keys = [(m.format, m.dtype) for m in bundle.models if m.format in BUNDLE_FORMATS]
    specs = plan_specs(bundle_path, keys, threads, runs, warmup, batch, student, pipeline)
    results: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    if student is None:
        skipped.append(
            {
                "name": "pytorch float32",
                "reason": "no --student DIR given (a bundle holds no torch weights; pass the `mujo-edge "
                "distill --out` folder to time the float student in PyTorch)",
            }
        )
    for spec in specs:
        label = spec["kind"] if spec["kind"] != "model" else f"{spec['format']} {spec['dtype']}"
        log.info("benchmarking %s", label)
        reply = _run_in_worker(spec) if isolate else _run_in_process(spec)
        if reply["ok"]:
            results.append(reply["result"])
            if on_result:
                on_result(reply["result"])
        else:
            (log.warning if reply.get("missing") else log.error)("%s skipped: %s", label, reply["error"])
            skipped.append({"name": label, "reason": reply["error"]})
    bundle_info = {
        "path": str(bundle_path),
        "sha256": sha256_file(bundle_path),
        "labels": bundle.labels,
        "formats": bundle.formats,
        "rate_hz": bundle.rate_hz if bundle.rate_hz else RATE_HZ,
    }
    settings = {"runs": runs, "warmup": warmup, "batch": batch, "threads": threads, "isolated": isolate}
    return new_report(host_machine(), settings, results, bundle=bundle_info, skipped=skipped)
