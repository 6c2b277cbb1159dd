"""NaN / infinite times (#13 item 5): samples with a bad sensor or receive time are dropped and counted, as
bad accelerometer values are; no event gets a NaN time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mujo_edge.clock import ClockModel
from mujo_edge.grid import StreamGrid
from mujo_edge.pipeline import Pipeline
from mujo_edge.samples import SampleBatch


class MeanXRunner:
    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        p_up = 1.0 / (1.0 + np.exp(-20.0 * windows_g[:, :, 0].mean(axis=1)))
        return np.stack([1 - p_up, p_up], axis=1).astype(np.float32)


def _batches(seconds: float, rate_hz: float, frame: int, stamped: bool, seed: int = 0) -> list[SampleBatch]:
    rng = np.random.default_rng(seed)
    n = int(seconds * rate_hz) // frame * frame
    t = np.arange(n) / rate_hz
    acc = np.stack([np.where(t < seconds / 2, -0.5, 0.5), 0 * t, 1 + 0 * t], 1).astype(np.float32)
    out = []
    for a in range(0, n, frame):
        b = a + frame
        ts = 1000.0 + t[a:b] if stamped else None
        t_recv = 50.0 + t[b - 1] + 0.01 + rng.exponential(0.005)
        out.append(SampleBatch("watch", acc[a:b], t_recv, rate_hz, ts))
    return out


def _run(batches: list[SampleBatch]) -> tuple[list, Pipeline]:
    p = Pipeline(MeanXRunner(), ["down", "up"])
    events = []
    events += p.feed_many(batches)
    events += p.close()
    return events, p


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("stamped", [True, False])
def test_bad_receive_and_sensor_times_are_dropped_and_counted(bad: float, stamped: bool) -> None:
    rng = np.random.default_rng(3)
    clean = _batches(60.0, 52.0, 13, stamped)
    events_clean, p_clean = _run(clean)
    hit = sorted(rng.choice(np.arange(5, len(clean) - 5), 12, replace=False).tolist())
    dirty = list(clean)
    n_bad = 0
    for k, i in enumerate(hit):
        b = clean[i]
        if stamped and k % 2:  # one bad sensor time inside the batch
            ts = b.t_sensor_s.copy()
            ts[int(rng.integers(len(ts)))] = bad
            dirty[i] = SampleBatch("watch", b.acc_g, b.t_recv_s, b.rate_hz, ts)
            n_bad += 1
        else:  # a bad receive time: the sensor times stand; a host-stamped batch has no time at all
            dirty[i] = SampleBatch("watch", b.acc_g, bad, b.rate_hz, b.t_sensor_s)
            n_bad += 0 if stamped else len(b)
    events, p = _run(dirty)
    st = p.stats["watch"]
    assert st.bad_samples == n_bad
    assert st.samples_in == p_clean.stats["watch"].samples_in - n_bad
    assert events and all(math.isfinite(e.t_start) and math.isfinite(e.t_end) for e in events)
    starts = [e.t_start for e in events]
    assert starts == sorted(starts)
    assert {e.label for e in events} == {e.label for e in events_clean} == {"down", "up"}


def test_clock_and_grid_ignore_non_finite_points() -> None:
    c = ClockModel()
    for i in range(200):
        c.observe(float(i) * 0.2, 10.0 + float(i) * 0.2 + 0.01)
        c.observe(math.nan, 5.0)
        c.observe(float(i) * 0.2, math.inf)
    assert c.bad_points == 400 and c.fit is not None
    assert abs(float(c.to_host(20.0)) - 30.01) < 1e-6
    g = StreamGrid(50.0)
    t = np.arange(100) / 50.0
    x = np.ones((100, 3), np.float32)
    t_bad = t.copy()
    t_bad[[10, 40]] = [math.nan, math.inf]
    out = g.push(t_bad, x)
    assert g.bad_samples == 2 and out.t_s.size == 100 and np.isfinite(out.t_s).all()
    assert np.array_equal(out.t_s, t) and float(np.abs(out.x - 1).max()) == 0.0
