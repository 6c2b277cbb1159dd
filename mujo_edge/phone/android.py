"""``mujo-edge bench android``: benchmark a bundle's models ON an Android phone with the official tools.

Sequence (every step one ``adb`` call; the test pins it exactly):

1. ``get-state`` (fail early), ``shell getprop`` (device description), ``shell nproc``;
2. ``shell mkdir -p /data/local/tmp/mujo-edge``; ``push`` LiteRT's ``benchmark_model``, ExecuTorch's
   ``executor_runner`` and every ``.tflite`` / ``.pte`` of the bundle; ``shell chmod 755`` the programs;
3. per ``.tflite``: ``shell`` ``toybox time -v ./benchmark_model --graph=... --num_threads=T
   --warmup_runs=W --warmup_min_secs=0 --num_runs=R --min_secs=0 --report_peak_memory_footprint=true
   > OUT 2>&1`` (the ``*_min_secs=0`` make the counts exactly W and R; by default the tool runs on for
   0.5 s / 1 s), then ``pull`` OUT;
4. per ``.pte``: ``shell`` ``toybox time -v ./executor_runner --model_path=... --num_executions=W+R
   --cpu_threads=T > OUT 2>&1`` (executor_runner has no warm-up flag: the first W iterations are dropped),
   then ``pull`` OUT; when OUT holds no executor_runner log at all (a runner built with the Android PAL
   logs to logcat), ``logcat -d -v raw -s ExecuTorch -T <phone time before the run>`` (``shell date +%s``
   is read just before the run) and parse the run of THIS model file there: a logcat buffer keeps older
   runs, of other models or other settings, which must never be reported as this one;
5. parse everything into the ONE benchmark schema (``source: "android-adb"``), raw outputs kept.

A model whose run fails, or whose output holds no usable numbers, is listed in ``skipped`` with a reason
starting with :data:`FAILED_ON_PHONE` (naming the pulled output to read); the other models' results are
kept, and ``mujo-edge bench android`` writes them before it reports the failure.
"""

from __future__ import annotations

import logging
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.bench.host import summarize_us
from mujo_edge.bench.machine import host_machine, library_versions
from mujo_edge.bench.schema import BenchResult, latency_summary, new_report
from mujo_edge.errors import DeviceError, MujoError
from mujo_edge.phone.adb import Adb, parse_getprop
from mujo_edge.phone.parsers import (
    ExecutorRunnerOutput,
    executor_runner_run,
    has_executor_runner_log,
    parse_benchmark_model,
    parse_executor_runner,
    parse_time_v,
)

log = logging.getLogger(__name__)

DEVICE_DIR = "/data/local/tmp/mujo-edge"
#: Bundle format -> (schema runtime, schema format, on-device program).
PHONE_FORMATS: dict[str, tuple[str, str, str]] = {
    "tflite": ("litert", "tflite", "benchmark_model"),
    "executorch": ("executorch", "pte", "executor_runner"),
}
#: How a ``skipped`` reason starts when the model ran on the phone but gave no result (not: no tool given).
FAILED_ON_PHONE = "failed on the phone: "


def android_machine(props: dict[str, str], cores: int | None) -> dict[str, Any]:
    """The report's ``machine`` for a phone: model, SoC, Android release, ABI (+ the orchestrating host)."""
    soc = " ".join(x for x in (props.get("ro.soc.manufacturer"), props.get("ro.soc.model")) if x)
    android = {
        "model": props.get("ro.product.model"),
        "manufacturer": props.get("ro.product.manufacturer"),
        "soc": soc or None,
        "platform": props.get("ro.board.platform"),
        "hardware": props.get("ro.hardware"),
        "release": props.get("ro.build.version.release"),
        "sdk": props.get("ro.build.version.sdk"),
        "abi": props.get("ro.product.cpu.abi"),
        "fingerprint": props.get("ro.build.fingerprint"),
    }
    host = host_machine()
    return {
        "kind": "android",
        "os": f"Android {android['release'] or '?'} (SDK {android['sdk'] or '?'})",
        "arch": android["abi"] or "unknown",
        "cpu": soc or android["platform"] or android["hardware"] or "unknown",
        "cores": cores or 0,
        "python": host["python"],
        "libraries": library_versions(),
        "android": android,
        "host": host,
    }


def _device_models(bundle_path: Path, workdir: Path) -> list[tuple[str, str, Path]]:
    """(bundle format, dtype, local file) of every model of the bundle, written out of the zip."""
    from mujo_edge.bundle import Bundle

    bundle = Bundle.open(bundle_path)
    out: list[tuple[str, str, Path]] = []
    for m in bundle.models:
        if m.format not in PHONE_FORMATS:
            continue
        local = workdir / Path(m.file).name
        local.write_bytes(bundle.file_bytes(m.file))
        out.append((m.format, m.dtype, local))
    if not out:
        raise MujoError(f"{bundle_path} holds no .tflite or .pte model to benchmark on a phone.")
    return out


def bench_android(
    bundle_path: str | Path,
    benchmark_model: str | Path | None,
    executor_runner: str | Path | None,
    serial: str | None = None,
    warmup: int = 50,
    runs: int = 500,
    threads: int = 1,
    raw_dir: str | Path | None = None,
    adb: Adb | None = None,
) -> dict[str, Any]:
    """Run the bundle's models on the phone through the official tools; a validated report dict.

    ``benchmark_model`` / ``executor_runner``: host paths of the Android builds (None skips that format,
    recorded in ``skipped``). ``raw_dir`` keeps the pulled outputs (default: a temporary directory).
    """
    if runs < 1 or warmup < 0 or threads < 1:
        raise MujoError(f"need runs >= 1, warmup >= 0, threads >= 1; got {runs}, {warmup}, {threads}.")
    tools = {"benchmark_model": benchmark_model, "executor_runner": executor_runner}
    for name, path in tools.items():
        if path is not None and not Path(path).is_file():
            raise MujoError(
                f"--{name.replace('_', '-')} {path}: no such file. See docs/phone.md for how to get it."
            )
    adb = adb or Adb(serial)
    with tempfile.TemporaryDirectory(prefix="mujo-bench-android-") as tmp:
        raw = Path(raw_dir) if raw_dir is not None else Path(tmp) / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        models = _device_models(Path(bundle_path), Path(tmp))
        adb.ensure_device()
        props = parse_getprop(adb.shell("getprop"))
        try:
            cores: int | None = int(adb.shell("nproc").strip().splitlines()[-1])
        except (ValueError, IndexError, DeviceError):
            cores = None
        adb.shell(f"mkdir -p {DEVICE_DIR}")
        wanted = {PHONE_FORMATS[fmt][2] for fmt, _, _ in models}
        programs = [name for name in ("benchmark_model", "executor_runner") if name in wanted and tools[name]]
        for name in programs:
            adb.push(str(tools[name]), f"{DEVICE_DIR}/{name}")
        for fmt, _, local in models:
            if tools[PHONE_FORMATS[fmt][2]]:
                adb.push(local, f"{DEVICE_DIR}/{local.name}")
        if programs:
            adb.shell("chmod 755 " + " ".join(f"{DEVICE_DIR}/{p}" for p in programs))
        results: list[dict[str, Any]] = []
        skipped: list[dict[str, str]] = []
        for fmt, dtype, local in models:
            runtime, _, program = PHONE_FORMATS[fmt]
            label = f"{runtime} {dtype}"
            if not tools[program]:
                skipped.append({"name": label, "reason": f"no --{program.replace('_', '-')} given"})
                continue
            run = _run_benchmark_model if program == "benchmark_model" else _run_executor_runner
            try:
                results.append(run(adb, local, dtype, warmup, runs, threads, raw))
            except MujoError as e:
                # One model's failure (its run failed, its output holds no usable number, even adb lost
                # the phone) must not throw away the models already measured: record it, go on.
                kept = (
                    f" The pulled outputs are in {raw}."
                    if raw_dir is not None
                    else " (--raw-dir keeps them.)"
                )
                log.warning("%s failed on the phone; listed in skipped", label)
                skipped.append({"name": label, "reason": FAILED_ON_PHONE + str(e) + kept})
                continue
            log.info("measured %s on the phone", label)
        machine = android_machine(props, cores)
    settings = {"runs": runs, "warmup": warmup, "batch": 1, "threads": threads, "device_dir": DEVICE_DIR}
    from mujo_edge.provenance import sha256_file

    bundle_info = {"path": str(bundle_path), "sha256": sha256_file(bundle_path)}
    return new_report(machine, settings, results, bundle=bundle_info, skipped=skipped)


def benchmark_model_command(graph: str, warmup: int, runs: int, threads: int, out: str) -> str:
    """The on-device shell command for LiteRT's benchmark_model (toybox time -v adds the peak RSS)."""
    args = [
        "toybox",
        "time",
        "-v",
        f"{DEVICE_DIR}/benchmark_model",
        f"--graph={graph}",
        f"--num_threads={threads}",
        f"--warmup_runs={warmup}",
        "--warmup_min_secs=0",
        f"--num_runs={runs}",
        "--min_secs=0",
        "--report_peak_memory_footprint=true",
    ]
    return f"cd {DEVICE_DIR} && {shlex.join(args)} > {out} 2>&1"


def executor_runner_command(model: str, executions: int, threads: int, out: str) -> str:
    """The on-device shell command for ExecuTorch's executor_runner."""
    args = [
        "toybox",
        "time",
        "-v",
        f"{DEVICE_DIR}/executor_runner",
        f"--model_path={model}",
        f"--num_executions={executions}",
        f"--cpu_threads={threads}",
        "--print_output=none",
    ]
    return f"cd {DEVICE_DIR} && {shlex.join(args)} > {out} 2>&1"


def _phone_time(adb: Adb) -> str | None:
    """The phone's clock as ``logcat -T`` takes it (``sssss.mmm``), read just before a run; None when
    ``date`` does not answer a number (then only the model path and counts tell this run's log apart)."""
    try:
        out = adb.shell("date +%s", check=False).strip().splitlines()
    except DeviceError:
        return None
    return f"{out[-1].strip()}.000" if out and out[-1].strip().isdigit() else None


def _tail(text: str, n: int = 200) -> str:
    t = text.strip()
    return f"it holds {t[-n:]!r}" if t else "it is empty"


def _this_run(
    text: str, model: str, executions: int, threads: int | None, where: str
) -> ExecutorRunnerOutput:
    """The completed executor_runner run of ``model`` with ``executions`` iterations (and ``threads`` when
    given and logged) in ``text``; DeviceError saying ``where`` and what is wrong (the runner's own failure
    line when it failed) for anything else. Never another model's or an older run's numbers."""
    block = executor_runner_run(text, model)
    if block is None:
        loaded = sorted(set(re.findall(r"Model file (\S+) is loaded\.", text)))
        others = f"; it holds runs of {', '.join(loaded)} only, not of this benchmark" if loaded else ""
        raise DeviceError(
            f"{where}: no run of {model} in it{others}. Run the printed command by hand with `adb shell` to "
            "see what executor_runner says (docs/phone.md)."
        )
    try:
        p = parse_executor_runner(block)
    except DeviceError as e:
        raise DeviceError(f"{where}: {e}") from None
    if p.executions != executions or len(p.iterations_ms) != executions:
        raise DeviceError(
            f"{where}: the run of {model} there executed {p.executions} time(s) with {len(p.iterations_ms)} "
            f"iteration times, not the {executions} this benchmark asked for (warm-up + runs): it is not this "
            "run's log. Run the benchmark again."
        )
    if threads is not None and p.threads is not None and p.threads != threads:
        raise DeviceError(
            f"{where}: the run of {model} there used {p.threads} thread(s), not the {threads} asked for: it is "
            "an older run, not this one. Run the benchmark again."
        )
    return p


def _run_benchmark_model(
    adb: Adb, local: Path, dtype: str, warmup: int, runs: int, threads: int, raw: Path
) -> dict[str, Any]:
    out_name = f"benchmark_model_{local.stem}.txt"
    remote_out = f"{DEVICE_DIR}/{out_name}"
    adb.shell(
        benchmark_model_command(f"{DEVICE_DIR}/{local.name}", warmup, runs, threads, remote_out), check=False
    )
    adb.pull(remote_out, raw / out_name)
    text = (raw / out_name).read_text(errors="replace")
    try:
        p = parse_benchmark_model(text)
    except DeviceError as e:
        raise DeviceError(f"benchmark_model's output {out_name}: {e}") from None
    t = parse_time_v(text)
    s = p.inference
    peak = t["max_rss_kib"] / 1024.0 if "max_rss_kib" in t else p.peak_mem_mb
    return BenchResult(
        name=f"litert {dtype}",
        runtime="litert",
        format="tflite",
        dtype=dtype,
        threads=threads,
        source="android-adb",
        tool="benchmark_model",
        latency_us=latency_summary(s.p50, None, None, s.avg, s.min, s.max, s.std, s.count),
        throughput_wps=round(1e6 / s.avg, 1) if s.avg > 0 else None,
        batch=1,
        load_ms=p.init_ms,
        import_ms=None,
        peak_rss_mb=None if peak is None else round(peak, 1),
        model_bytes=local.stat().st_size,
        notes="benchmark_model reports mean/min/max/std (and median in newer builds), no p90/p99; "
        "throughput = 1e6 / mean at batch 1",
        extra={
            "raw_output": out_name,
            "first_inference_us": p.first_inference_us,
            "warmup_avg_us": p.warmup_avg_us,
            "init_us": p.init_us,
            "mem_init_mb": p.mem_init_mb,
            "mem_overall_mb": p.mem_overall_mb,
            "tool_peak_mem_mb": p.peak_mem_mb,
            "tool_threads": p.threads,
            "p5_us": s.p5,
            "p95_us": s.p95,
        },
    ).to_dict()


def _run_executor_runner(
    adb: Adb, local: Path, dtype: str, warmup: int, runs: int, threads: int, raw: Path
) -> dict[str, Any]:
    out_name = f"executor_runner_{local.stem}.txt"
    remote_out = f"{DEVICE_DIR}/{out_name}"
    model = f"{DEVICE_DIR}/{local.name}"
    executions = warmup + runs
    since = _phone_time(adb)
    adb.shell(executor_runner_command(model, executions, threads, remote_out), check=False)
    adb.pull(remote_out, raw / out_name)
    text = (raw / out_name).read_text(errors="replace")
    if has_executor_runner_log(text):  # posix PAL: this run's own log is in the file it just wrote
        source_note = "stderr"
        p = _this_run(text, model, executions, None, f"executor_runner's output {out_name}")
    else:
        # Built with the Android PAL: ET_LOG went to logcat. Only lines logged since just before this run,
        # and only a run of this very file with these settings: the buffer keeps older runs.
        logcat = adb.run("logcat", "-d", "-v", "raw", "-s", "ExecuTorch", *(["-T", since] if since else []))
        logcat_name = f"logcat_{local.stem}.txt"
        (raw / logcat_name).write_text(logcat)
        where = (
            f"executor_runner logged nothing to {out_name} ({_tail(text)}), so its log was read from logcat "
            f"(kept as {logcat_name})"
        )
        p = _this_run(logcat, model, executions, threads, where)
        source_note = "logcat"
    t = parse_time_v(text)
    timed = np.asarray(p.iterations_ms[warmup:], dtype=np.float64) * 1e3
    if timed.size == 0:
        raise DeviceError(
            f"executor_runner printed {len(p.iterations_ms)} iteration times for {warmup} warm-up + {runs} runs: "
            "none left to time. Is it an old build without per-iteration logging? See docs/phone.md."
        )
    lat = summarize_us(timed)
    return BenchResult(
        name=f"executorch {dtype}",
        runtime="executorch",
        format="pte",
        dtype=dtype,
        threads=threads,
        source="android-adb",
        tool="executor_runner",
        latency_us=lat,
        throughput_wps=round(1e6 / float(timed.mean()), 1) if timed.mean() > 0 else None,
        batch=1,
        load_ms=p.load_ms,
        import_ms=None,
        peak_rss_mb=round(t["max_rss_kib"] / 1024.0, 1) if "max_rss_kib" in t else None,
        model_bytes=local.stat().st_size,
        notes=f"per-iteration times from executor_runner ({source_note}); first {warmup} dropped as warm-up; "
        "input all ones; throughput = 1e6 / mean at batch 1",
        extra={
            "raw_output": out_name,
            "first_iteration_us": round(p.iterations_ms[0] * 1e3, 2) if p.iterations_ms else None,
            "executions": p.executions,
            "total_ms": p.total_ms,
            "tool_threads": p.threads,
        },
    ).to_dict()
