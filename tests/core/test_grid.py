"""The 50 Hz grid. Streaming: accuracy for faster devices, anti-aliasing, batch-size invariance, upsampling.
Offline: the whole-recording resampler keeps low frequencies, removes aliases, never crosses a gap."""

from __future__ import annotations

import numpy as np
import pytest

from mujo_edge.constants import RATE_HZ
from mujo_edge.grid import (
    GridRows,
    StreamGrid,
    anti_alias_fir,
    resample_recording,
    resample_segment,
    split_at_gaps,
)


def _stream(rate_hz: float, seconds: float, freq_hz: float, batch: int, amp: float = 0.5):
    n = int(seconds * rate_hz)
    t = 100.0 + np.arange(n) / rate_hz
    x = np.stack([amp * np.sin(2 * np.pi * freq_hz * t), amp * np.cos(2 * np.pi * freq_hz * t), 1 + 0 * t], 1)
    grid = StreamGrid(rate_hz)
    ts, xs = [], []
    for a in range(0, n, batch):
        c = grid.push(t[a : a + batch], x[a : a + batch].astype(np.float32))
        ts.append(c.t_s)
        xs.append(c.x)
    return grid, np.concatenate(ts), np.concatenate(xs)


@pytest.mark.parametrize("rate_hz", [52.0, 104.0, 200.0])
def test_sine_lands_on_the_grid_accurately(rate_hz: float) -> None:
    grid, t, x = _stream(rate_hz, 20.0, 2.0, batch=7)
    assert np.allclose(np.diff(t), 1 / RATE_HZ)
    assert t[0] == pytest.approx(100.0)
    # Everything up to the filter's delay is out, and nothing more.
    assert t[-1] == pytest.approx(100.0 + 20.0 - 1 / rate_hz - grid.group_delay_s, abs=1 / RATE_HZ)
    settled = t > 100.0 + 0.5  # skip the constant-past start-up of the filter
    want = np.stack([0.5 * np.sin(2 * np.pi * 2.0 * t), 0.5 * np.cos(2 * np.pi * 2.0 * t)], 1)[settled]
    err = np.abs(x[settled, :2] - want).max()
    assert err < 0.01  # 2 % of the amplitude: no time shift, no gain error
    np.testing.assert_allclose(x[:, 2], 1.0, atol=2e-3)  # gravity passes unchanged (DC gain 1)


@pytest.mark.parametrize(("rate_hz", "tone_hz"), [(200.0, 35.0), (104.0, 30.0), (200.0, 60.0)])
def test_tones_above_grid_nyquist_are_attenuated(rate_hz: float, tone_hz: float) -> None:
    """Without the filter these would alias into 0-25 Hz at full amplitude."""
    _, t, x = _stream(rate_hz, 10.0, tone_hz, batch=16, amp=1.0)
    assert np.abs(x[t > 100.5, 0]).max() < 0.05


def test_group_delay_is_constant_and_documented() -> None:
    for rate in (52.0, 104.0, 200.0):
        taps = anti_alias_fir(rate)
        assert taps.size % 2 == 1
        np.testing.assert_allclose(taps, taps[::-1])  # linear phase
        assert StreamGrid(rate).group_delay_s == pytest.approx((taps.size - 1) / 2 / rate)
        assert StreamGrid(rate).group_delay_s < 0.13
    assert StreamGrid(50.0).group_delay_s == 0.0


@pytest.mark.parametrize("batch", [37, 300])  # 300: beyond the banded product, np.convolve
def test_output_does_not_depend_on_batch_size(batch: int) -> None:
    _, t1, x1 = _stream(104.0, 6.0, 3.0, batch=1)
    _, t2, x2 = _stream(104.0, 6.0, 3.0, batch=batch)
    np.testing.assert_allclose(t1, t2)
    np.testing.assert_allclose(x1, x2, atol=1e-6)


def test_restart_begins_a_fresh_grid_at_the_next_sample() -> None:
    grid = StreamGrid(50.0)
    t = 10.0 + np.arange(100) / 50.0
    a = grid.push(t, np.ones((100, 3), np.float32))
    assert a.t_s.size == 100
    grid.restart()
    b = grid.push(t + 5.013, np.full((100, 3), 2.0, np.float32))
    assert b.t_s[0] == pytest.approx(t[0] + 5.013)  # not 5.0: the old grid's phase is gone
    np.testing.assert_allclose(b.x, 2.0)  # nothing of the old run leaks in


def test_slow_device_is_upsampled_and_says_so() -> None:
    grid = StreamGrid(10.0)
    assert grid.upsampled
    t = np.arange(21) / 10.0
    c = grid.push(t, np.stack([t, 2 * t, 0 * t], 1).astype(np.float32))
    assert c.t_s.size == 101
    np.testing.assert_allclose(c.x[:, 0], c.t_s, atol=1e-5)  # linear ramp exactly reproduced
    assert not StreamGrid(52.0).upsampled


def test_resample_200hz_keeps_low_frequency_and_removes_alias() -> None:
    rate = 200.0
    t = np.arange(0, 20, 1 / rate)
    low = np.sin(2 * np.pi * 2.0 * t)  # 2 Hz: must pass
    high = 0.5 * np.sin(2 * np.pi * 70.0 * t)  # 70 Hz: would alias to 20 Hz without a filter
    tg, xg = resample_segment(t, np.column_stack([low + high, low, high]), RATE_HZ)
    assert np.allclose(np.diff(tg), 1 / RATE_HZ)
    mid = slice(100, -100)  # away from filter edges
    expect = np.sin(2 * np.pi * 2.0 * tg)
    assert np.max(np.abs(xg[mid, 1] - expect[mid])) < 0.01
    assert np.std(xg[mid, 2]) < 0.01  # the 70 Hz tone is gone, not folded to 20 Hz


def test_resample_never_crosses_a_gap() -> None:
    t = np.concatenate([np.arange(0, 5, 0.02), np.arange(8, 12, 0.02)])
    x = np.ones((t.size, 3), dtype=np.float32)
    assert len(split_at_gaps(t)) == 2
    segs = resample_recording(t, x)
    assert len(segs) == 2
    assert segs[0].t_s[-1] < 5 and segs[1].t_s[0] >= 8
    assert segs[1].source_index == 250


def test_resample_rejects_bad_shapes() -> None:
    from mujo_edge.errors import ShapeError

    with pytest.raises(ShapeError):
        resample_segment(np.arange(10.0), np.zeros((9, 3)))


@pytest.mark.parametrize("rate", [50.0, 52.0, 104.0])
def test_grid_rows_equal_each_push_and_restore(rate: float) -> None:
    """Grids kept as rows (a lockstep group's) give each grid's own samples on any subset of rows, and a
    row written back continues as its grid would."""
    rng = np.random.default_rng(12)
    d, n = 8, int(rate // 2)
    alone = [StreamGrid(rate) for _ in range(d)]
    mine = [StreamGrid(rate) for _ in range(d)]
    t_next = rng.uniform(0, 1000, d)
    rows = GridRows(rate)
    for step in range(30):
        t = t_next[:, None] + np.arange(n)[None] / rate * (1 + rng.normal(0, 1e-4, (d, 1)))
        t_next = t[:, -1] + 1 / rate
        x = rng.normal(0, 1, (d, n, 3)).astype(np.float32)
        ref = [g.push(t[i], x[i]) for i, g in enumerate(alone)]
        if step == 0:
            for i, g in enumerate(mine):
                g.push(t[i], x[i])
            rows.add(mine)
            continue
        sel = np.flatnonzero(rng.random(d) < 0.7) if step % 5 else np.arange(d)
        if step % 5:  # the others go on by themselves this step, then join again
            out = np.setdiff1d(np.arange(d), sel)
            for i in out.tolist():
                rows.restore(i, mine[i])
                got = mine[i].push(t[i], x[i])
                assert np.array_equal(got.t_s, ref[i].t_s) and np.array_equal(got.x, ref[i].x)
            keep = np.zeros(d, bool)
            keep[sel] = True
            rows.keep(keep)
            grid_t, grid_x, count = rows.push(np.arange(sel.size), t[sel], x[sel])
            rows.add([mine[i] for i in out.tolist()])
            order = [*sel.tolist(), *out.tolist()]
            mine = [mine[i] for i in order]
            alone = [alone[i] for i in order]
            ref = [ref[i] for i in sel.tolist()]
            t_next = t_next[order]
        else:
            grid_t, grid_x, count = rows.push(None, t, x)
        for j in range(len(ref)):
            assert np.array_equal(grid_t[j, : count[j]], ref[j].t_s)
            assert np.array_equal(grid_x[j, : count[j]], ref[j].x)
