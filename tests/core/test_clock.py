"""Clock model: lower-envelope fit of sensor -> host time under drift, jitter and bursts; host stamping."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pytest

from mujo_edge.clock import (
    ClockModel,
    ClockRows,
    envelope_fit,
    fit_rows,
    gap_threshold_s,
    host_stamp,
    observe_clocks,
    refit_clocks,
)
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.simulated_session import simulate_stream
from mujo_edge.samples import SampleBatch

RATE = 52.0


def _run_clock(
    skew_ppm: float, seed: int, minutes: float = 10.0
) -> tuple[np.ndarray, np.ndarray, ClockModel]:
    """Feed a simulated 52 Hz stream; return (t_sensor of each batch's last sample, online clock error s)."""
    n = int(minutes * 60 * RATE)
    # bursts: every 40 notifications (~7 s), 4 go out together (~0.6 s held)
    faults = Faults(
        clock_skew_ppm=skew_ppm,
        latency_mean_s=0.012,
        latency_max_s=0.050,
        burst_every=40,
        burst_len=4,
        seed=seed,
    )
    sim = simulate_stream(np.zeros((n, 3), np.float32), RATE, batch=9, faults=faults, link_latency_s=0.005)
    clock = ClockModel()
    t_last, err = [], []
    truth = dict(zip(sim.t_sensor_s.tolist(), sim.t_host_true_s.tolist(), strict=True))
    for b in sim.items:
        assert isinstance(b, SampleBatch) and b.t_sensor_s is not None
        ts = float(b.t_sensor_s[-1])
        clock.observe(ts, b.t_recv_s)
        t_last.append(ts)
        # What the clock says now about this sample vs. when it was really taken (+ the latency floor,
        # which no receiver can separate from the offset).
        err.append(float(clock.to_host(ts)) - (truth[ts] + sim.link_latency_s))
    return np.array(t_last), np.array(err), clock


@pytest.mark.parametrize(("skew_ppm", "seed"), [(200.0, 1), (-200.0, 2), (35.0, 3)])
def test_clock_error_under_5ms_after_10_minutes(skew_ppm: float, seed: int) -> None:
    t, err, clock = _run_clock(skew_ppm, seed)
    settled = t >= t[0] + 30.0  # after half a minute of fitting
    assert np.abs(err[settled]).max() < 0.0025  # the target is 5 ms
    assert np.abs(err[-200:]).max() < 0.001
    assert clock.fit is not None
    assert clock.fit.skew_ppm == pytest.approx(skew_ppm, abs=25.0)
    assert clock.resets == 0


def test_clock_is_deterministic() -> None:
    _, e1, _ = _run_clock(200.0, 7, minutes=2)
    _, e2, _ = _run_clock(200.0, 7, minutes=2)
    np.testing.assert_array_equal(e1, e2)


def test_bursts_do_not_move_the_clock() -> None:
    """A burst holds 0.6 s of notifications and delivers them at once; the mapping does not budge."""
    clock = ClockModel()
    for k in range(600):  # 60 s of clean points, latency exactly 10 ms
        clock.observe(100.0 + k * 0.1, 5.010 + k * 0.1)
    before = float(clock.to_host(160.0))
    for k in range(600, 606):
        clock.observe(100.0 + k * 0.1, 5.010 + 60.5 + 0.6)  # all arrive at once, late
    assert float(clock.to_host(160.0)) == pytest.approx(before, abs=1e-4)
    assert float(clock.to_host(161.0)) == pytest.approx(66.01, abs=1e-3)


def test_clock_restarts_when_the_sensor_clock_goes_back() -> None:
    clock = ClockModel()
    for k in range(300):
        clock.observe(500.0 + k * 0.1, 10.0 + k * 0.1)
    clock.observe(3.0, 40.0)  # device rebooted: its clock starts from ~0
    assert clock.resets == 1
    assert float(clock.to_host(3.0)) == pytest.approx(40.0)


def test_host_stamp_steps_back_at_nominal_rate_and_never_overlaps() -> None:
    t = host_stamp(3, 10.0, 10.0, None)
    np.testing.assert_allclose(t, [9.8, 9.9, 10.0])
    burst = host_stamp(4, 10.05, 10.0, 10.0)  # arrived right after the previous notification
    assert burst[0] > 10.0 and np.all(np.diff(burst) > 0) and burst[-1] == pytest.approx(10.05)


def test_gap_threshold() -> None:
    assert gap_threshold_s(50.0, host_stamped=False) == pytest.approx(0.03)
    assert gap_threshold_s(10.0, host_stamped=True) == pytest.approx(1.0)


def test_observe_many_equals_observe_point_by_point() -> None:
    rng = np.random.default_rng(3)
    t = 50.0 + np.cumsum(rng.uniform(0.05, 0.3, 2000))
    r = t * (1 - 120e-6) + 7.0 + 0.004 + rng.exponential(0.01, t.size)
    r[700] -= 3.0  # a clock jump in the middle takes the slow path
    one, many = ClockModel(), ClockModel()
    for a, b in zip(t, r, strict=True):
        one.observe(float(a), float(b))
    for k in range(0, t.size, 37):
        many.observe_many(t[k : k + 37], r[k : k + 37])
    assert one.resets == many.resets >= 1
    assert one.fit is not None and many.fit is not None
    assert float(many.to_host(t[-1])) == pytest.approx(float(one.to_host(t[-1])), abs=1e-3)


def _clock_state(c: ClockModel) -> tuple[object, ...]:
    return (
        list(c._buckets),
        c._bucket_id,
        c._t_min,
        c._lat_min,
        c._t_last,
        c._above,
        c.fit,
        c.stale,
        c.resets,
        c.bad_points,
    )


def test_observe_clocks_equals_each_clock_point_by_point() -> None:
    """Many clocks observed together end in exactly the state of each observed alone, through the start
    (no line yet), bucket changes, clock jumps both ways and NaN points."""
    rng = np.random.default_rng(5)
    d, k, steps = 40, 4, 120
    t0 = rng.uniform(0, 1e4, d)
    skew = rng.uniform(-200e-6, 200e-6, d)
    together = [ClockModel() for _ in range(d)]
    alone = [ClockModel() for _ in range(d)]
    for s in range(steps):
        t = t0[:, None] + (s * k + np.arange(k))[None, :] * 0.25
        r = t * (1 + skew[:, None]) + 3.0 + rng.exponential(0.01, (d, k))
        if s == 50:
            t[3] -= 100.0  # device 3's clock goes back
            r[5, 1] -= 1.0  # device 5's points fall far under the line
            t[7, 2] = np.nan
        if 60 <= s < 68:
            r[9] += 5.0  # device 9 jumps back: points far above the line
        observe_clocks(together, t, r)
        for c, ts, tr in zip(alone, t, r, strict=True):
            c.observe_many(ts, tr, refit=False)
        refit_clocks(together)
        refit_clocks(alone)
        for a, b in zip(together, alone, strict=True):
            assert _clock_state(a) == _clock_state(b)
    assert sum(c.resets for c in alone) >= 3 and sum(c.bad_points for c in alone) == 1


def _three_passes(x: np.ndarray, lat: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """envelope_fit's definition: always three passes."""
    d, p = x.shape
    valid = np.arange(p)[None, :] < count[:, None]
    rows = np.arange(d)
    keep = valid.astype(np.float64)
    active = np.ones(d, bool)
    offset, skew = np.zeros(d), np.zeros(d)
    lo, hi = (count - 1) // 2, count // 2
    for _ in range(3):
        n = keep.sum(axis=1)
        xs, ys = x * keep, lat * keep
        sx, sy = xs.sum(axis=1), ys.sum(axis=1)
        den = n * (xs * xs).sum(axis=1) - sx * sx
        pos = den > 0
        sk = np.where(pos, (n * (xs * ys).sum(axis=1) - sx * sy) / np.where(pos, den, 1.0), 0.0)
        off = (sy - sk * sx) / n
        skew = np.where(active, sk, skew)
        offset = np.where(active, off, offset)
        resid = lat - (offset[:, None] + skew[:, None] * x)
        s = np.sort(np.where(valid, resid, np.inf), axis=1)
        med = (s[rows, lo] + s[rows, hi]) / 2
        below = valid & (resid <= med[:, None])
        active &= below.sum(axis=1) >= 2
        keep = np.where(active[:, None], below, keep)
    return offset, skew


def test_envelope_fit_stopping_early_gives_the_three_pass_lines() -> None:
    rng = np.random.default_rng(8)
    for _ in range(300):
        d, width = int(rng.integers(1, 12)), 63
        count = rng.integers(2, width + 1, d)
        x, lat = np.zeros((d, width)), np.zeros((d, width))
        for i, c in enumerate(count):
            x[i, :c] = np.sort(rng.uniform(-120, 0, c))
            x[i, c - 1] = 0.0
            jitter = rng.exponential(0.01, c) if rng.random() < 0.8 else np.zeros(c)
            lat[i, :c] = 0.01 + rng.uniform(-2e-4, 2e-4) * x[i, :c] + jitter
        got, want = envelope_fit(x, lat, count), _three_passes(x, lat, count)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def _clock_rows(
    rng: np.random.Generator,
    count: np.ndarray,
    width: int,
    flat: Callable[[int], bool],
    noisy: Callable[[int], bool],
    decimals: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, width) clock points: row i has ``count[i]`` sorted times ending at 0 (all at 0, no slope,
    where ``flat(i)``) and latencies on a line, plus exponential delays rounded to ``decimals`` (ties when
    rounded) where ``noisy(i)``."""
    x, lat = np.zeros((len(count), width)), np.zeros((len(count), width))
    for i, c in enumerate(count):
        x[i, :c] = np.sort(rng.uniform(-120, 0, c))
        x[i, c - 1] = 0.0
        if flat(i):
            x[i, :c] = 0.0
        lat[i, :c] = 0.01 + rng.uniform(-2e-4, 2e-4) * x[i, :c]
        if noisy(i):
            lat[i, :c] += np.round(rng.exponential(0.01, c), decimals)
    return x, lat


def test_envelope_fit_of_many_rows_dropping_the_finished_ones_gives_each_row_its_three_pass_line() -> None:
    """Rows that stop (a fixed point, too few points left) are dropped from the next passes: every row still
    gets the three-pass line, and the line it gets fitted alone, with ties, rows of one time and two points."""
    rng = np.random.default_rng(31)
    for trial in range(40):
        d, width = 200, int(rng.choice([8, 16, 32, 63]))
        count = rng.integers(2, width + 1, d)
        x, lat = _clock_rows(
            rng, count, width, lambda i: i % 17 == 0, lambda i: i % 3 > 0, 3 if trial % 2 else 12
        )
        got, want = envelope_fit(x, lat, count), _three_passes(x, lat, count)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), trial
        for i in range(0, d, 23):
            alone = envelope_fit(x[i : i + 1], lat[i : i + 1], count[i : i + 1])
            assert alone[0][0] == got[0][i] and alone[1][0] == got[1][i], (trial, i)


@pytest.mark.parametrize("k", [1, 4, 9])
def test_clock_rows_equal_each_clock_point_by_point(k: int) -> None:
    """Clocks kept as rows (a lockstep group's) hold the state each clock observed alone would, through the
    start (one-point lines), every refit while young and settled, buckets leaving the window, and clocks
    that leave the rows (a jump, NaN, time going back) and join again after their own observation."""
    rng = np.random.default_rng(11)
    d, steps = 12, int(300 / (k * 0.25))
    t0 = rng.uniform(0, 1e4, d)
    skew = rng.uniform(-200e-6, 200e-6, d)
    alone = [ClockModel() for _ in range(d)]
    own = [ClockModel() for _ in range(d)]  # each device's own clock while it is not in the rows
    rows = ClockRows()
    members: list[int] = []  # device of each row
    left = joined = 0
    for s in range(steps):
        t = t0[:, None] + (s * k + np.arange(k))[None, :] * 0.25
        r = t * (1 + skew[:, None]) + 3.0 + rng.exponential(0.01, (d, k))
        if s == steps // 3:
            t[3] -= 100.0  # device 3's clock goes back
            r[5, -1] -= 1.0  # device 5's point falls far under the line
            t[7, 0] = np.nan
        if steps // 2 <= s < steps // 2 + 8:
            r[9] += 5.0  # device 9 jumps back: points far above the line
        for c, ts, tr in zip(alone, t, r, strict=True):
            c.observe_many(ts, tr)
        # the rows take what they accept; the others leave, observe on their own, and come back if they can
        idx = np.array([members.index(i) if i in members else -1 for i in range(d)])
        inside = np.flatnonzero(idx >= 0)
        ok = np.zeros(d, bool)
        if inside.size:
            ok[inside] = rows.accepts(idx[inside], t[inside], r[inside])
        out = [i for i in inside.tolist() if not ok[i]]
        if out:
            for i in out:
                rows.restore(int(idx[i]), own[i])
            keep = np.ones(len(members), bool)
            keep[idx[out]] = False
            rows.keep(keep)
            members = [m for m in members if m not in out]
            left += len(out)
        sel = [i for i in range(d) if ok[i]]
        if sel:
            at = np.array([members.index(i) for i in sel])
            rows.observe(at, t[sel], r[sel])
        for i in range(d):
            if i not in members and not ok[i]:
                own[i].observe_many(t[i], r[i])
                if ClockRows.joinable(own[i]):
                    rows.add([own[i]])
                    members.append(i)
                    joined += 1
        for j, i in enumerate(members):
            c = ClockModel()
            c.resets, c.bad_points = alone[i].resets, alone[i].bad_points
            rows.restore(j, c)
            assert _clock_state(c) == _clock_state(alone[i]), (s, i)
    assert left >= 4 and joined >= d + 4
    assert sum(c.resets for c in alone) >= 3
    assert all(c.fit is not None and c.fit.n_points > 30 for c in alone)


def test_fit_rows_gives_each_row_its_own_line_whichever_rows_come_with_it() -> None:
    """Rows fitted at the width their count gives: a row's line is the same fitted alone or with rows of
    other counts, and the line of the full width up to rounding."""
    rng = np.random.default_rng(13)
    d, width = 40, 63
    count = rng.integers(3, width, d)
    x, lat = np.zeros((d, width)), np.zeros((d, width))
    for i, c in enumerate(count):
        x[i, :c] = np.sort(rng.uniform(-120, 0, c))
        x[i, c - 1] = 0.0
        lat[i, :c] = 0.01 + rng.uniform(-2e-4, 2e-4) * x[i, :c] + rng.exponential(0.01, c)
    together = fit_rows(x, lat, count)
    for i in range(d):
        alone = fit_rows(x[i : i + 1], lat[i : i + 1], count[i : i + 1])
        assert alone[0][0] == together[0][i] and alone[1][0] == together[1][i]
    full = envelope_fit(x, lat, count)
    assert np.allclose(full[0], together[0], rtol=0, atol=1e-12)
    assert np.allclose(full[1], together[1], rtol=0, atol=1e-12)


def test_one_clock_refitted_alone_gets_the_line_of_its_row_in_rows() -> None:
    """fit_rows of one row (a device's clock refitted alone, scalar arithmetic) gives the line its row gets
    fitted with others at the same width, bit for bit, also for rows that stop early, ties, two points and
    points at one time (no skew)."""
    rng = np.random.default_rng(21)
    width = 63
    for trial in range(200):
        d = int(rng.integers(2, 9))
        count = rng.integers(2, width + 1 if trial % 3 else 9, d)  # (a third of the trials: young clocks)
        flat, noisy = trial % 7 == 0, trial % 5 > 0
        x, lat = _clock_rows(
            rng, count, width, lambda i, f=flat: f, lambda i, n=noisy: n, 3 if trial % 2 else 12
        )
        together = fit_rows(x, lat, count)
        for i in range(d):
            alone = fit_rows(x[i : i + 1], lat[i : i + 1], count[i : i + 1])
            assert alone[0][0] == together[0][i] and alone[1][0] == together[1][i], (trial, i)


def test_a_few_points_at_once_leave_the_state_of_each_point_observed_alone() -> None:
    """observe_many of a notification's few points (the plain continuations of a fitted line kept in locals)
    ends in exactly the state of each point observed in turn, then one refit, through the start, bucket changes, clock
    jumps both ways, time going back, NaN and inf points."""
    rng = np.random.default_rng(17)
    alone, few = ClockModel(), ClockModel()
    t, off = 300.0, 0.2
    for step in range(1500):
        k = int(rng.integers(1, 7))
        ts = t + np.arange(1, k + 1) / RATE
        t = float(ts[-1])
        tr = ts + off + rng.exponential(0.004, k) + (0.8 if rng.random() < 0.03 else 0.0)
        r = rng.random()
        if r < 0.01:
            off += rng.choice([-0.5, 3.0])  # a jump (forward: under the line; back: above it)
        elif r < 0.02:
            ts[int(rng.integers(0, k))] = np.nan
        elif r < 0.025:
            tr[int(rng.integers(0, k))] = np.inf
        elif r < 0.03:
            ts = ts - 2.0  # back in time
        for a, b in zip(ts.tolist(), tr.tolist(), strict=True):
            alone._observe(a, b)
        if alone.stale:  # (observe_many refits once, after its last point)
            refit_clocks([alone])
        few.observe_many(ts.tolist(), tr.tolist())
        assert _clock_state(few) == _clock_state(alone), step
    assert alone.resets >= 5 and alone.bad_points >= 5 and alone.fit is not None


def test_a_young_clock_refits_every_few_buckets_and_at_once_for_a_lower_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In its first minute a clock refits at most every ``CLOCK_YOUNG_REFIT_S`` (each refit of a lone clock
    costs tens of microseconds), still within 3 ms of the truth from 10 s on; a bucket minimum well under
    the line is taken at once."""
    from mujo_edge import clock as clock_mod

    refs: list[float] = []
    set_fit = ClockModel._set_fit

    def counting(self: ClockModel, offset: float, skew: float, t_ref: float, n_points: int) -> None:
        refs.append(t_ref)
        set_fit(self, offset, skew, t_ref, n_points)

    monkeypatch.setattr(ClockModel, "_set_fit", counting)
    t, err, _ = _run_clock(200.0, 1, minutes=1.5)
    young = [r - t[0] for r in refs if 10.0 + clock_mod.CLOCK_BUCKET_S <= r - t[0] < 60.0]
    assert len(young) <= 50 / clock_mod.CLOCK_YOUNG_REFIT_S + 2  # not every 2-s bucket (25 of them)
    assert min(np.diff(young)) >= clock_mod.CLOCK_YOUNG_REFIT_S - clock_mod.CLOCK_BUCKET_S
    assert np.abs(err[t >= t[0] + 10.0]).max() < 0.003
    # the first point of the bucket after a refit: an ordinary one waits, one 5 ms under the envelope is
    # taken at once
    c = ClockModel()
    i = 0
    while True:
        refs.clear()
        c.observe(i * 0.5, i * 0.5 + 0.010)
        i += 1
        if refs and i * 0.5 > 20.0:  # a refit of a real line (more than 10 s of buckets) just happened
            break
    while int(i * 0.5 / clock_mod.CLOCK_BUCKET_S) == int((i - 1) * 0.5 / clock_mod.CLOCK_BUCKET_S):
        c.observe(i * 0.5, i * 0.5 + 0.010)  # the rest of the refit's bucket
        i += 1
    ordinary, lower = copy.deepcopy(c), copy.deepcopy(c)
    refs.clear()
    ordinary.observe(i * 0.5, i * 0.5 + 0.010)
    assert not refs
    lower.observe(i * 0.5, i * 0.5 + 0.005)
    assert refs and lower.fit is not None and lower.fit.offset_s < 0.010 - 0.004
