"""StreamWindower.push with ``owned=True`` (the pipeline's grid arrays, handed over): the same windows, times and
state as a push that copies, whatever the chunk sizes."""

from __future__ import annotations

import numpy as np
import pytest

from mujo_edge.windows import StreamWindower


@pytest.mark.parametrize(("window", "hop"), [(100, 50), (100, 100), (64, 16), (10, 3)])
def test_owned_push_cuts_the_windows_of_a_copying_push(window: int, hop: int) -> None:
    rng = np.random.default_rng(window + hop)
    n = 3000
    t = 7.0 + np.arange(n) / 50.0
    x = rng.normal(0, 1, (n, 3)).astype(np.float32)
    a, b = StreamWindower(window, hop), StreamWindower(window, hop)
    i = 0
    while i < n:
        m = int(rng.integers(0, 2 * window))
        want = a.push(t[i : i + m], x[i : i + m])
        got = b.push(t[i : i + m].copy(), x[i : i + m].copy(), owned=True)
        i += m
        assert got.x.dtype == want.x.dtype and got.t_first_s.dtype == want.t_first_s.dtype
        assert np.array_equal(got.x, want.x)
        assert np.array_equal(got.t_first_s, want.t_first_s) and np.array_equal(got.t_last_s, want.t_last_s)
        assert (b._n, b._next) == (a._n, a._next)
        assert np.array_equal(b._buf_x, a._buf_x) and np.array_equal(b._buf_t, a._buf_t)
        if len(got):
            got.x[:] = 0.0  # a consumer writing its windows changes nothing the windower keeps
    assert a.restart() == b.restart()


@pytest.mark.parametrize(("window", "hop"), [(100, 50), (100, 100), (64, 16), (10, 3)])
def test_push_one_gives_the_one_window_of_push_or_declines_untouched(window: int, hop: int) -> None:
    rng = np.random.default_rng(window * hop)
    n = 4000
    t = 3.0 + np.arange(n) / 50.0
    x = rng.normal(0, 1, (n, 3)).astype(np.float32)
    a, b = StreamWindower(window, hop), StreamWindower(window, hop)
    i = taken = declined = 0
    while i < n:
        # chunks around one hop, so most pushes complete one window and some none or several
        m = int(rng.integers(0, 2 * hop + 2))
        want = a.push(t[i : i + m], x[i : i + m])
        state = (b._n, b._next, b._buf_x, b._buf_t)
        one = b.push_one(t[i : i + m].copy(), x[i : i + m].copy())
        if one is None:
            declined += 1
            assert (b._n, b._next) == state[:2] and b._buf_x is state[2] and b._buf_t is state[3]  # untouched
            got = b.push(t[i : i + m].copy(), x[i : i + m].copy(), owned=True)
            assert np.array_equal(got.x, want.x) and np.array_equal(got.t_first_s, want.t_first_s)
        else:
            taken += 1
            wx, t_first, t_last = one
            assert len(want) == 1 and wx.dtype == want.x.dtype and np.array_equal(wx, want.x)
            assert type(t_first) is float and t_first == want.t_first_s[0]
            assert type(t_last) is float and t_last == want.t_last_s[0]
            wx[:] = 0.0  # a consumer writing its window changes nothing the windower keeps
        i += m
        assert (b._n, b._next) == (a._n, a._next)
        assert np.array_equal(b._buf_x, a._buf_x) and np.array_equal(b._buf_t, a._buf_t)
    assert taken > 10 and declined > 10
    assert a.restart() == b.restart()
