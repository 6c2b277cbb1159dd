"""Parsers of what the two official on-device benchmark programs print.

LiteRT ``benchmark_model`` (tensorflow/lite/tools/benchmark/benchmark_model.cc, benchmark_tflite_model.cc;
log prefix from tensorflow/lite/tools/logging.h: ``INFO: `` on stdout; stats lines from
``Stat::OutputToStream`` in tensorflow/core/util/stats_calculator.h / xla/tsl/util/stats_calculator.h)::

    INFO: Num threads: [1]
    INFO: The input model file size (MB): 0.018432
    INFO: Initialized session in 3.712ms.
    INFO: Running benchmark for at least 10 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
    INFO: count=5029 first=170 curr=93 min=86 max=412 avg=98.7 std=14
    INFO: Running benchmark for at least 1000 iterations and at least 1 seconds but terminate if ...
    INFO: count=10123 first=96 curr=95 min=85 max=364 avg=97.3 std=9 [p5=.. median=.. p95=..]
    INFO: Inference timings in us: Init: 3712, First inference: 170, Warmup (avg): 98.7, Inference (avg): 97.3
    INFO: Memory footprint delta from the start of the tool (MB): init=1.2 overall=1.5
    INFO: Overall peak memory footprint (MB) via periodic monitoring: 5.3

(older builds print ``Peak memory footprint (MB): init=... overall=...`` instead of the delta line).

ExecuTorch ``executor_runner`` (examples/portable/executor_runner/executor_runner.cpp, identical strings in
v1.4 and v1.5; ``ET_LOG`` lines formatted by runtime/platform/default/posix.cpp as
``I 00:00:00.012345 executorch:executor_runner.cpp:789] <message>``; with the Android PAL they go to
logcat tag ``ExecuTorch`` with the bare message, which ``logcat -v raw`` prints)::

    Resetting threadpool with num threads = 1
    Model file /data/local/tmp/mujo-edge/m.pte is loaded.
    Using method forward
    Model loaded in 1.234000 ms.
    Iteration 1 of 110: 0.051000 ms
    Model executed successfully 110 time(s) in 2.345000 ms.

Android's toybox ``time -v`` (toys/posix/time.c) adds ``Max RSS (KiB): 12345`` on stderr.
The parsers search each line, so a prefix (log header, logcat tag) does not matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mujo_edge.errors import DeviceError

_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|-?inf)"

# --- LiteRT benchmark_model ----------------------------------------------------------------------------
_BM_RUNNING = re.compile(r"Running benchmark for at least (\d+) iterations")
_BM_COUNT = re.compile(
    rf"\bcount=(\d+)(?: first={_NUM})? curr={_NUM}(\(all same\))?"
    rf"(?: min={_NUM} max={_NUM} avg={_NUM} std={_NUM})?"
    rf"(?: p5={_NUM} median={_NUM} p95={_NUM})?"
)
_BM_TIMINGS = re.compile(
    rf"Inference timings in us: Init: {_NUM}, First inference: {_NUM}, Warmup \(avg\): {_NUM}, "
    rf"Inference \(avg\): {_NUM}"
)
_BM_INIT = re.compile(rf"Initialized session in {_NUM}\s*ms")
_BM_SIZE = re.compile(rf"The input model file size \(MB\): {_NUM}")
_BM_MEM_DELTA = re.compile(
    rf"Memory footprint delta from the start of the tool \(MB\): init={_NUM} overall={_NUM}"
)
_BM_MEM_OLD = re.compile(rf"Peak memory footprint \(MB\): init={_NUM} overall={_NUM}")
_BM_PEAK = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: {_NUM}")
_BM_THREADS = re.compile(r"(?:Num threads|#threads used for CPU inference): \[(-?\d+)\]")
_BM_GRAPH = re.compile(r"Graph: \[([^\]]*)\]")
_BM_ERROR = re.compile(r"^(?:ERROR|FATAL): (.*)$", re.MULTILINE)

# --- ExecuTorch executor_runner -----------------------------------------------------------------------
_ET_LOADED_FILE = re.compile(r"Model file (\S+) is loaded\.")
_ET_METHOD = re.compile(r"Using method (\S+)")
_ET_LOAD_MS = re.compile(rf"Model loaded in {_NUM} ms\.")
_ET_ITER = re.compile(rf"Iteration (\d+) of (\d+): {_NUM} ms")
_ET_DONE = re.compile(rf"Model executed successfully (\d+) time\(s\) in {_NUM} ms\.")
_ET_THREADS = re.compile(r"Resetting threadpool with num threads = (-?\d+)")
_ET_FAILED = re.compile(
    r"(Execution of method \S+ failed with status 0x[0-9a-fA-F]+|Failed to parse model file \S+"
    r"|Loading of method \S+ failed with status 0x[0-9a-fA-F]+|Backend \S+ is not registered)"
)

# --- toybox time -v -----------------------------------------------------------------------------------
_TIME_RSS = re.compile(r"Max RSS \(KiB\): (\d+)")
#: A ``time -v`` Max RSS above this (1 TiB) is not a phone's: the output is garbled.
MAX_PLAUSIBLE_RSS_KIB = 2**30
_TIME_REAL = re.compile(rf"Real time \(s\): {_NUM}")


def _f(s: str | None) -> float | None:
    return None if s is None else float(s)


@dataclass
class RunStats:
    """One ``count=...`` line of benchmark_model, microseconds. ``p50`` is its ``median`` when printed."""

    count: int
    first: float | None
    curr: float
    min: float
    max: float
    avg: float
    std: float
    p5: float | None = None
    p50: float | None = None
    p95: float | None = None

    @classmethod
    def from_match(cls, m: re.Match[str]) -> RunStats:
        count, first, curr = int(m.group(1)), _f(m.group(2)), float(m.group(3))
        if m.group(5) is None:  # "count=N curr=X" or "count=N curr=X(all same)": every run took X
            return cls(count, first if first is not None else curr, curr, curr, curr, curr, 0.0)
        return cls(
            count,
            first,
            curr,
            float(m.group(5)),
            float(m.group(6)),
            float(m.group(7)),
            float(m.group(8)),
            _f(m.group(9)),
            _f(m.group(10)),
            _f(m.group(11)),
        )


@dataclass
class BenchmarkModelOutput:
    """What one ``benchmark_model`` run printed. Times in microseconds, sizes in MB as printed."""

    inference: RunStats
    warmup: RunStats | None
    init_ms: float | None
    init_us: float | None
    first_inference_us: float | None
    warmup_avg_us: float | None
    inference_avg_us: float | None
    model_size_mb: float | None
    mem_init_mb: float | None
    mem_overall_mb: float | None
    peak_mem_mb: float | None
    threads: int | None
    graph: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_benchmark_model(text: str) -> BenchmarkModelOutput:
    """Parse LiteRT ``benchmark_model`` output. Raises DeviceError when the run did not complete."""
    stats: list[RunStats] = []
    for line in text.splitlines():
        m = _BM_COUNT.search(line)
        if m:
            stats.append(RunStats.from_match(m))
    timings = _BM_TIMINGS.search(text)
    if not stats or timings is None:
        errors = _BM_ERROR.findall(text)
        detail = "; ".join(errors[-3:]) if errors else _tail(text)
        raise DeviceError(
            "benchmark_model did not finish a benchmark (no 'count=' stats line or no 'Inference timings in us' "
            f"line in its output): {detail}. Run the printed command by hand with `adb shell` to see why; "
            "a wrong --graph path, a binary for another ABI (use android_aarch64 on 64-bit phones) or a missing "
            "exec permission are the usual causes."
        )
    # Two "Running benchmark for at least" blocks: warm-up first, then the measured runs.
    inference = stats[-1]
    warmup = stats[-2] if len(stats) >= 2 else None
    mem = _BM_MEM_DELTA.search(text) or _BM_MEM_OLD.search(text)
    peak = _BM_PEAK.search(text)
    init = _BM_INIT.search(text)
    size = _BM_SIZE.search(text)
    threads = _BM_THREADS.search(text)
    graph = _BM_GRAPH.search(text)
    return BenchmarkModelOutput(
        inference=inference,
        warmup=warmup,
        init_ms=_f(init.group(1)) if init else None,
        init_us=float(timings.group(1)),
        first_inference_us=float(timings.group(2)),
        warmup_avg_us=float(timings.group(3)),
        inference_avg_us=float(timings.group(4)),
        model_size_mb=_f(size.group(1)) if size else None,
        mem_init_mb=_f(mem.group(1)) if mem else None,
        mem_overall_mb=_f(mem.group(2)) if mem else None,
        peak_mem_mb=_f(peak.group(1)) if peak else None,
        threads=int(threads.group(1)) if threads else None,
        graph=graph.group(1) if graph else None,
        extra={"runs_requested": [int(x) for x in _BM_RUNNING.findall(text)]},
    )


@dataclass
class ExecutorRunnerOutput:
    """What one ``executor_runner`` run printed. ``iterations_ms`` in execution order."""

    model_path: str | None
    method: str | None
    load_ms: float | None
    iterations_ms: list[float]
    executions: int
    total_ms: float
    threads: int | None


def parse_executor_runner(text: str) -> ExecutorRunnerOutput:
    """Parse ExecuTorch ``executor_runner`` output (stderr of the posix PAL, or ``logcat -v raw``).

    When the text holds several runs (a logcat buffer), the LAST complete run is parsed.
    Raises DeviceError when no run completed, quoting the runner's own failure line when there is one.
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _ET_LOADED_FILE.search(line)]
    done = [i for i, line in enumerate(lines) if _ET_DONE.search(line)]
    if not done:
        failed = list(dict.fromkeys(_ET_FAILED.findall(text)))  # every distinct failure line, in order
        iters = _ET_ITER.findall(text)
        hint = (
            "A .pte with XNNPACK partitions needs an executor_runner built with -DEXECUTORCH_BUILD_XNNPACK=ON "
            "(see docs/phone.md); with the Android PAL its log goes to logcat."
        )
        if failed:
            detail = "; ".join(failed[-3:])
        elif iters:
            detail = (
                f"its log stops after iteration {iters[-1][0]} of {iters[-1][1]}, so the run was cut short "
                "(killed, out of memory, or the phone disconnected?)"
            )
            hint = (
                "Run the printed command by hand with `adb shell` to see why, then run the benchmark again."
            )
        else:
            detail = _tail(text)
        raise DeviceError(
            f"executor_runner did not complete (no 'Model executed successfully' line): {detail}. {hint}"
        )
    end = done[-1]
    begin = max((s for s in starts if s <= end), default=0)
    block = "\n".join(lines[begin : end + 1])
    m_done = _ET_DONE.search(lines[end])
    assert m_done is not None  # found above
    iters = [(int(m.group(1)), float(m.group(3))) for m in _ET_ITER.finditer(block)]
    iters.sort()
    loaded = _ET_LOADED_FILE.search(block)
    method = _ET_METHOD.search(block)
    load = _ET_LOAD_MS.search(block)
    # The threadpool line comes before "Model file ... is loaded", so look just above the block too.
    threads = _ET_THREADS.findall("\n".join(lines[max(0, begin - 5) : end + 1]))
    return ExecutorRunnerOutput(
        model_path=loaded.group(1) if loaded else None,
        method=method.group(1) if method else None,
        load_ms=_f(load.group(1)) if load else None,
        iterations_ms=[ms for _, ms in iters],
        executions=int(m_done.group(1)),
        total_ms=float(m_done.group(2)),
        threads=int(threads[-1]) if threads else None,
    )


def executor_runner_run(text: str, model_path: str) -> str | None:
    """The lines of the LAST run of ``model_path`` in ``text`` (a logcat buffer may hold runs of other
    models, or older runs), from its threadpool line to just before the next run; None when no run loaded
    that model. Pass the result to :func:`parse_executor_runner`, which says whether the run completed.
    """
    lines = text.splitlines()
    starts = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _ET_LOADED_FILE.search(line))]
    ours = [i for i, path in starts if path == model_path]
    if not ours:
        return None
    start = ours[-1]
    prev = max((i for i, _ in starts if i < start), default=-1)
    nxt = min((i for i, _ in starts if i > start), default=len(lines))
    # "Resetting threadpool" is logged just before "Model file ... is loaded": it belongs to that run.
    begin = next(
        (j for j in range(start - 1, max(prev, start - 6), -1) if _ET_THREADS.search(lines[j])), start
    )
    end = next((j for j in range(nxt - 1, max(start, nxt - 6), -1) if _ET_THREADS.search(lines[j])), nxt)
    return "\n".join(lines[begin:end])


def has_executor_runner_log(text: str) -> bool:
    """Whether ``text`` holds any line executor_runner logs (False: it logged elsewhere, e.g. logcat)."""
    return any(
        r.search(text) for r in (_ET_THREADS, _ET_LOADED_FILE, _ET_ITER, _ET_DONE, _ET_FAILED, _ET_LOAD_MS)
    )


def parse_time_v(text: str) -> dict[str, float]:
    """``Max RSS (KiB)`` and ``Real time (s)`` from toybox ``time -v``; empty when absent."""
    out: dict[str, float] = {}
    rss = _TIME_RSS.findall(text)
    if rss:
        out["max_rss_kib"] = float(rss[-1])
        if out["max_rss_kib"] > MAX_PLAUSIBLE_RSS_KIB:
            raise DeviceError(
                f"time -v reported a Max RSS of {out['max_rss_kib']:.0f} KiB, more than "
                f"{MAX_PLAUSIBLE_RSS_KIB // 2**20} GiB, which no phone has: the output is garbled. Re-run the "
                "benchmark; if it repeats, run the printed command by hand with `adb shell`"
            )
    real = _TIME_REAL.findall(text)
    if real:
        out["real_s"] = float(real[-1])
    return out


def _tail(text: str, n: int = 400) -> str:
    t = text.strip()
    return repr(t[-n:]) if t else "the output was empty"
