"""Windows: the batch helper's starts and content; the streaming windower gives the same windows for any
chunking, and drops the windows a gap cuts."""

from __future__ import annotations

import numpy as np
import pytest

from mujo_edge.calibration import PitCalibration
from mujo_edge.constants import HOP, WINDOW
from mujo_edge.errors import ShapeError
from mujo_edge.windows import (
    StreamWindower,
    WindowRows,
    push_windows_lockstep,
    sliding_windows,
    window_starts,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stream_windows_equal_batch_windows_for_any_chunking(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 1234
    x = rng.normal(size=(n, 3)).astype(np.float32)
    t = np.arange(n) / 50.0
    w = StreamWindower()
    got, firsts, lasts = [], [], []
    a = 0
    while a < n:
        m = int(rng.integers(0, 140))
        b = w.push(t[a : a + m], x[a : a + m])
        got.append(b.x)
        firsts.append(b.t_first_s)
        lasts.append(b.t_last_s)
        a += m
    want = sliding_windows(x)
    np.testing.assert_array_equal(np.concatenate(got), want)
    np.testing.assert_allclose(np.concatenate(firsts), np.arange(len(want)) * 1.0)
    np.testing.assert_allclose(np.concatenate(lasts), np.arange(len(want)) * 1.0 + 99 / 50.0)


@pytest.mark.parametrize(
    ("n_run", "dropped"),
    [(0, 0), (30, 1), (50, 1), (51, 2), (99, 2), (100, 1), (101, 2), (149, 2), (150, 1), (160, 2)],
)
def test_restart_counts_the_windows_a_gap_cuts(n_run: int, dropped: int) -> None:
    w = StreamWindower()
    done = len(w.push(np.arange(n_run) / 50.0, np.zeros((n_run, 3), np.float32)))
    assert done == max(0, (n_run - 100) // 50 + 1)
    assert w.restart() == dropped
    assert w.run_samples == 0 and w.restart() == 0


def test_samples_to_next_window() -> None:
    w = StreamWindower()
    assert w.samples_to_next_window == 100
    w.push(np.arange(120) / 50.0, np.zeros((120, 3), np.float32))
    assert w.samples_to_next_window == 30


def test_bad_geometry_is_refused() -> None:
    with pytest.raises(ShapeError, match="hop <= window"):
        StreamWindower(window=10, hop=20)


def test_window_starts_paper_defaults() -> None:
    # 10 s at 50 Hz -> starts every 50 samples while a full 100-sample window fits: 0, 50, ..., 400.
    starts = window_starts(500)
    assert starts.tolist() == list(range(0, 401, 50))
    assert (WINDOW, HOP) == (100, 50)


def test_sliding_windows_content() -> None:
    x = np.arange(260, dtype=np.float32)[:, None].repeat(3, axis=1)
    w = sliding_windows(x)
    assert w.shape == (4, 100, 3)
    assert w[2, 0, 0] == 100 and w[2, -1, 0] == 199
    assert sliding_windows(x[:99]).shape == (0, 100, 3)


@pytest.mark.parametrize("equal", [True, False])
def test_push_windows_lockstep_equals_each_push(equal: bool) -> None:
    """Many windowers pushed together give each one's own windows and keep its buffer, whether every row
    holds as many samples (one layout for all) or not."""
    rng = np.random.default_rng(4)
    d, q = 9, 30
    alone = [StreamWindower() for _ in range(d)]
    together = [StreamWindower() for _ in range(d)]
    t_next = np.zeros(d)
    for _ in range(25):
        count = np.full(d, q) if equal else rng.integers(0, q + 1, d)
        t = t_next[:, None] + np.arange(q)[None, :] * 0.02
        t_next = t_next + count * 0.02
        x = rng.normal(0, 1, (d, q, 3)).astype(np.float32)
        ref = [w.push(t[i, : count[i]], x[i, : count[i]]) for i, w in enumerate(alone)]
        wins, ks = push_windows_lockstep(together, t, x, count)
        assert ks == [len(r) for r in ref]
        assert np.array_equal(wins.x, np.concatenate([r.x for r in ref]))
        assert np.array_equal(wins.t_first_s, np.concatenate([r.t_first_s for r in ref]))
        assert np.array_equal(wins.t_last_s, np.concatenate([r.t_last_s for r in ref]))
        for a, b in zip(alone, together, strict=True):
            assert (a._n, a._next) == (b._n, b._next)
            assert np.array_equal(a._buf_x, b._buf_x) and np.array_equal(a._buf_t, b._buf_t)
    assert sum(w._next for w in alone) > 0


@pytest.mark.parametrize("mapped", [False, True])
def test_window_rows_equal_each_push_and_restore(mapped: bool) -> None:
    """Windowers kept as rows in a ring (a lockstep group's) cut each one's own windows, on any subset of rows
    and any sample counts, and a row written back continues as its windower would; with an elementwise
    transform (a PIT calibration) the windows are those of the transform applied to each window."""
    rng = np.random.default_rng(6)
    d, q, rate = 7, 60, 50.0
    alone = [StreamWindower() for _ in range(d)]
    pit = PitCalibration.fit(rng.normal(0, 1.2, (4000, 3)), rng.normal(0, 1.0, (4000, 3)))
    transform = pit.apply if mapped else None
    rows = WindowRows(100, 50, 100 + q + 4, transform)
    t0 = rng.uniform(0, 100, d)
    start = [StreamWindower() for _ in range(d)]
    rows.add(start)
    n = np.zeros(d, np.int64)
    for step in range(40):
        sel = np.flatnonzero(rng.random(d) < 0.8)
        count = rng.integers(0, q + 1, sel.size)
        x = rng.normal(0, 1, (sel.size, q, 3)).astype(np.float32)
        ref = []
        for j, i in enumerate(sel.tolist()):
            c = int(count[j])
            t = t0[i] + np.arange(n[i], n[i] + c) / rate
            ref.append(alone[i].push(t, x[j, :c]))
        wins, t_first, ks = rows.push(sel, n[sel], x, count, t0[sel], rate)
        n[sel] += count
        assert ks.tolist() == [len(r) for r in ref]
        want = np.concatenate([r.x for r in ref])
        assert np.array_equal(wins, pit.apply(want) if mapped else want)
        assert np.array_equal(t_first, np.concatenate([r.t_first_s for r in ref]))
        if step % 9 == 8:
            for i in range(d):
                w = StreamWindower()
                rows.restore(i, w, int(n[i]), float(t0[i]), rate)
                a = alone[i]
                assert (w._n, w._next) == (a._n, a._next)
                assert np.array_equal(w._buf_x, a._buf_x) and np.array_equal(w._buf_t, a._buf_t)
    assert sum(w._next for w in alone) > 0
