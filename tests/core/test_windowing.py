"""Streaming windower: same windows as the batch helper for any chunking; begun windows dropped at a gap."""

from __future__ import annotations

import numpy as np
import pytest

from mujo_edge.errors import ShapeError
from mujo_edge.windowing import StreamWindower
from mujo_edge.windows import sliding_windows


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
