"""benchmarks/bench_gateway.py at toy scale: its rows run and measure what they say (the figures themselves
belong to docs/benchmarks.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_gateway", ROOT / "benchmarks" / "bench_gateway.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_gateway"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_warmup_rows_time_every_phase_of_the_first_seconds(bench) -> None:  # type: ignore[no-untyped-def]
    rows = bench.warmup_rows(devices=8, seconds=10.0, repeats=1)  # 40 ticks: to tick 39
    assert [r[0] for r in rows] == [p[0] for p in bench.WARMUP_PHASES[:4]]
    start, wait, first, rest = rows
    # no window before 2 s, then one per device every second (ticks 12, 16, ..., 36 after the first)
    assert start[2] == wait[2] == 0 and first[2] == 8 and rest[2] == 8 * 7
    assert all(r[1] > 0 for r in rows) and first[3] > 0


def test_feed_many_and_feed_arrays_rows_count_the_same_windows(bench) -> None:  # type: ignore[no-untyped-def]
    traffic = bench.ticks(8, 65.0, 52.0)
    by_batches = bench.many_devices_row(8, 65.0, traffic=traffic)
    by_arrays = bench.many_devices_row(8, 65.0, arrays=True, traffic=traffic)
    assert all(v > 0 for v in (*by_batches, *by_arrays))
