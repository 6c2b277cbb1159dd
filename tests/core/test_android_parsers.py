"""Parsers of LiteRT benchmark_model / ExecuTorch executor_runner output, on exact-format fixtures.

The fixtures in tests/core/fixtures_bench/ are built from the programs' own printf/log strings; see the
README there for the source file of every line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mujo_edge.errors import DeviceError
from mujo_edge.phone.adb import parse_getprop
from mujo_edge.phone.parsers import parse_benchmark_model, parse_executor_runner, parse_time_v

FIX = Path(__file__).parent / "fixtures_bench"


def read(name: str) -> str:
    return (FIX / name).read_text()


def test_benchmark_model_full_output() -> None:
    p = parse_benchmark_model(read("benchmark_model_int8.txt"))
    s = p.inference
    assert (s.count, s.first, s.curr, s.min, s.max, s.avg, s.std) == (500, 44, 40, 37, 904, 46.3, 12)
    assert s.p50 is None  # this build prints no percentiles
    assert p.warmup is not None and (p.warmup.count, p.warmup.avg, p.warmup.first) == (50, 52.8, 312)
    assert (p.init_us, p.first_inference_us, p.warmup_avg_us, p.inference_avg_us) == (2841, 312, 52.8, 46.3)
    assert p.init_ms == pytest.approx(2.841)
    assert p.model_size_mb == pytest.approx(0.018112)
    assert (p.mem_init_mb, p.mem_overall_mb) == (pytest.approx(1.30859), pytest.approx(1.55469))
    assert p.peak_mem_mb == pytest.approx(5.98047)
    assert p.threads == 1
    assert p.graph == "/data/local/tmp/mujo-edge/student_litert_int8.tflite"
    assert p.extra["runs_requested"] == [50, 500]
    assert parse_time_v(read("benchmark_model_int8.txt")) == {"max_rss_kib": 6124.0, "real_s": 0.071342}


def test_time_v_refuses_a_max_rss_no_phone_has() -> None:
    """A garbled ``time -v`` (here 1e23 MB) used to go into the report as the model's peak memory."""
    text = read("benchmark_model_int8.txt").replace(
        "Max RSS (KiB): 6124", "Max RSS (KiB): 99999999999999999999999999"
    )
    assert text != read("benchmark_model_int8.txt")
    with pytest.raises(DeviceError, match="no phone has: the output is garbled"):
        parse_time_v(text)


def test_benchmark_model_all_same_percentiles_and_old_memory_line() -> None:
    p = parse_benchmark_model(read("benchmark_model_percentiles_old_memory.txt"))
    # warm-up: one run, printed by the all-same branch as "count=1 curr=1.23457e+06"
    assert p.warmup is not None
    assert (p.warmup.count, p.warmup.curr, p.warmup.min, p.warmup.max, p.warmup.std) == (
        1,
        1234570.0,
        1234570.0,
        1234570.0,
        0.0,
    )
    s = p.inference
    assert (s.count, s.avg, s.p5, s.p50, s.p95) == (250, 79.512, 73, 78, 91)
    assert (p.mem_init_mb, p.mem_overall_mb, p.peak_mem_mb) == (2.1, 2.6, None)
    assert p.threads == 4 and p.warmup_avg_us == 1234570.0


def test_benchmark_model_failure_quotes_its_error() -> None:
    with pytest.raises(DeviceError, match=r"Failed to mmap model /data/local/tmp/mujo-edge/missing\.tflite"):
        parse_benchmark_model(read("benchmark_model_failed.txt"))
    with pytest.raises(DeviceError, match="output was empty"):
        parse_benchmark_model("")


def test_executor_runner_posix_log() -> None:
    p = parse_executor_runner(read("executor_runner_xnnpack.txt"))
    assert p.model_path == "/data/local/tmp/mujo-edge/student_xnnpack_q8.pte"
    assert p.method == "forward" and p.threads == 1
    assert p.load_ms == pytest.approx(1.291)
    assert p.executions == 12 and p.total_ms == pytest.approx(0.645)
    assert p.iterations_ms == pytest.approx([0.21, 0.09, *[0.030 + 0.001 * i for i in range(10)]])
    assert sum(p.iterations_ms) == pytest.approx(p.total_ms)  # the fixture is self-consistent
    assert parse_time_v(read("executor_runner_xnnpack.txt"))["max_rss_kib"] == 3712


def test_executor_runner_logcat_takes_the_last_run() -> None:
    p = parse_executor_runner(read("executor_runner_logcat_raw.txt"))
    assert p.model_path == "/data/local/tmp/mujo-edge/student_xnnpack_q8.pte"
    assert p.iterations_ms == pytest.approx([0.1, 0.04, 0.05])
    assert (p.executions, p.load_ms, p.threads) == (3, 1.5, 1)


def test_executor_runner_failure_quotes_the_runner() -> None:
    with pytest.raises(DeviceError, match=r"Loading of method forward failed with status 0x14.*XNNPACK=ON"):
        parse_executor_runner(read("executor_runner_failed.txt"))


def test_getprop() -> None:
    props = parse_getprop(read("getprop.txt"))
    assert props["ro.product.model"] == "Pixel 6"
    assert props["ro.soc.model"] == "Tensor" and props["ro.board.platform"] == "gs101"
    assert props["ro.product.cpu.abi"] == "arm64-v8a" and props["ro.build.version.release"] == "14"
    assert len(props) == 11
