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
