"""StreamGrid.continue_run: the pipeline's usual case (a running run goes on) gives push's grid samples bit for
bit, and refuses anything else without touching the grid."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mujo_edge.grid import BAND_ROWS, GRID_STEPS, StreamGrid


def _state(g: StreamGrid) -> tuple[object, ...]:
    return (g._t0, g._k, g._hist_t.tolist(), g._hist_x.tolist(), g._prev_t, np.asarray(g._prev_x).tolist())


@pytest.mark.parametrize("rate", [52.0, 104.0, 200.0])
def test_continue_run_gives_push_finites_samples(rate: float) -> None:
    rng = np.random.default_rng(int(rate))
    n = int(rate * 40)
    t = 500.0 + np.arange(n) / rate * (1 + 1e-4) + rng.uniform(-0.05, 0.05, n) / rate
    x = rng.normal(0, 1, (n, 3)).astype(np.float32)
    a, b = StreamGrid(rate), StreamGrid(rate)
    i = int(rng.integers(1, 20))
    a.push_finite(t[:i], x[:i])
    b.push_finite(t[:i], x[:i])
    while i < n:
        sizes = rng.integers(1, 30, int(rng.integers(1, 6))).tolist()
        parts_t, parts_x = [], []
        for m in sizes:
            if i >= n:
                break
            parts_t.append(t[i : i + m])
            parts_x.append(x[i : i + m])
            i += m
        last = float(a._hist_t[-1])
        got = b.continue_run(parts_t, parts_x, last, 1.5 / rate)
        want = a.push_finite(np.concatenate(parts_t), np.concatenate(parts_x))
        assert got is not None
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert got[2] == float(parts_t[-1][-1])
        assert got[1].dtype == np.float32


def test_continue_run_refuses_what_is_not_a_plain_continuation() -> None:
    rate = 52.0
    rng = np.random.default_rng(3)
    t = 100.0 + np.arange(600) / rate
    x = rng.normal(0, 1, (600, 3)).astype(np.float32)
    g = StreamGrid(rate)
    assert g.continue_run([t[:10]], [x[:10]], 0.0, 1.5 / rate) is None  # not running yet
    g.push_finite(t[:20], x[:20])
    last, gap = float(t[19]), 1.5 / rate
    before = _state(g)
    nan_x = x[20:30].copy()
    nan_x[3, 1] = np.nan
    inf_t = t[20:30].copy()
    inf_t[4] = np.inf
    back = t[20:30].copy()
    back[5] = back[4]
    refused = [
        ([t[21:30]], [x[21:30]]),  # a gap after the last sample
        ([t[20:25], t[26:30]], [x[20:25], x[26:30]]),  # a gap between pieces
        ([t[20:30] - 1.0], [x[20:30]]),  # time going back
        ([back], [x[20:30]]),  # a step of zero
        ([t[20:30]], [nan_x]),
        ([inf_t], [x[20:30]]),
        ([t[20 : 21 + BAND_ROWS]], [x[20 : 21 + BAND_ROWS]]),  # more than one banded product
    ]
    for parts_t, parts_x in refused:
        assert g.continue_run(parts_t, parts_x, last, gap) is None
        assert _state(g) == before
    ref = copy.deepcopy(g)
    got = g.continue_run([t[20:30]], [x[20:30]], last, gap)
    want = ref.push_finite(t[20:30], x[20:30])
    assert got is not None and np.array_equal(got[1], want[1])


def test_grid_times_are_t0_plus_k_over_rate_across_the_kept_offsets() -> None:
    """A grid keeps k / rate for GRID_STEPS samples ahead; the times it gives stay those of np.arange, bit for
    bit, across refills, pushes larger than the table, a restart and a jump of k (as a lockstep group sets)."""
    rate = 52.0
    t = 1000.0 + np.arange(int(rate * 60)) / rate
    x = np.zeros((t.size, 3), np.float32)
    g = StreamGrid(rate)
    i, times = 0, []
    for m in [3, 7, 13, 60, 13, 2 * GRID_STEPS, 13, 1, 40, 13, 13, 13, 300, 13]:
        times.append(g.push_finite(t[i : i + m], x[i : i + m])[0])
        i += m
    got = np.concatenate(times)
    assert got.size > 2 * GRID_STEPS
    assert np.array_equal(got, g._t0 + np.arange(got.size) / 50.0)
    g._k += GRID_STEPS + 50  # a k past the kept offsets
    k0 = g._k
    out = g.push_finite(t[i : i + 700], x[i : i + 700])[0]
    assert out.size > 100 and np.array_equal(out, g._t0 + np.arange(k0, k0 + out.size) / 50.0)
    g.restart()
    out = g.push_finite(t[i + 700 : i + 800], x[i + 700 : i + 800])[0]
    assert out.size > 50 and np.array_equal(out, g._t0 + np.arange(out.size) / 50.0)
