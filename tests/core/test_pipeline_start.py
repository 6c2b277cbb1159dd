"""A gateway's first tick: many new devices start their runs together (the grid's first push for all at once)
and are left exactly as each device's own first notification leaves it, through NaN, gaps, time going back,
a missing clock point and a left wrist."""

from __future__ import annotations

import numpy as np
import pytest

import mujo_edge.pipeline as pipeline_mod
from mujo_edge.calibration import PitCalibration
from mujo_edge.events import ActivityEvent
from mujo_edge.grid import StreamGrid, start_lockstep
from mujo_edge.pipeline import Pipeline
from mujo_edge.samples import SampleBatch
from tests.core.pipeline_helpers import by_device

LABELS = ["a", "b", "c", "d"]


class Means:
    """Probabilities from each window's mean (every sample counts)."""

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        m = windows_g.mean(axis=1)
        z = np.concatenate([m, m[:, :1] * 0.5], axis=1).astype(np.float64)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("rate", [52.0, 104.0, 200.0])
@pytest.mark.parametrize("n", [2, 13, 64, 256])
def test_start_lockstep_equals_first_push(rate: float, n: int) -> None:
    rng = np.random.default_rng(int(rate) + n)
    d = 9
    alone = [StreamGrid(rate) for _ in range(d)]
    together = [StreamGrid(rate) for _ in range(d)]
    t = rng.uniform(0, 1e4, (d, 1)) + np.arange(n)[None] / rate * (1 + rng.normal(0, 1e-4, (d, 1)))
    x = rng.normal(0, 1, (d, n, 3)).astype(np.float32)
    ref = [g.push_finite(t[i], x[i]) for i, g in enumerate(alone)]
    grid_t, grid_x, count = start_lockstep(together, t, x)
    for i in range(d):
        assert np.array_equal(grid_t[i, : count[i]], ref[i][0])
        assert np.array_equal(grid_x[i, : count[i]], ref[i][1])
        assert grid_x.dtype == ref[i][1].dtype
    # and every grid goes on as its twin does
    t2 = t[:, -1:] + np.arange(1, 14)[None] / rate
    x2 = rng.normal(0, 1, (d, 13, 3)).astype(np.float32)
    for i in range(d):
        a, b = alone[i].push_finite(t2[i], x2[i]), together[i].push_finite(t2[i], x2[i])
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        assert alone[i].next_time_s == together[i].next_time_s


def _first_ticks(n_first: int) -> list[list[SampleBatch]]:
    """12 new watches at 52 Hz: a first notification of ``n_first`` samples each (the odd ones spoiled), then
    13-sample notifications for 30 s."""
    rng = np.random.default_rng(n_first)
    rate, d = 52.0, 12
    n = n_first + 13 * 120
    t = rng.uniform(0, 1e4, (d, 1)) + np.arange(n)[None] / rate * (1 + rng.normal(0, 5e-5, (d, 1)))
    x = rng.normal(0, 0.5, (d, n, 3)).astype(np.float32)
    arrive = rng.uniform(0.005, 0.05, d)
    x[1, 3] = np.nan  # a NaN sample in the first notification
    t[2, 1] = np.nan  # a NaN time
    t[3, 1:] += 0.5  # a gap inside the first notification
    t[4, 1] = t[4, 0] - 0.01  # time going back
    x[5, 0, 1] = np.inf
    ticks: list[list[SampleBatch]] = []
    a = 0
    while a < n:
        b = n_first if a == 0 else a + 13
        tick = []
        for i in range(d):
            recv = 100.0 + b / rate + arrive[i]
            if i == 6 and a == 0:
                recv = float("nan")  # no clock point with the first notification
            tick.append(SampleBatch(f"w{i}", x[i, a:b], recv, rate, t[i, a:b]))
        ticks.append(tick)
        a = b
    return ticks


def _run(p: Pipeline, ticks: list[list[SampleBatch]], arrays: bool) -> dict[str, list[ActivityEvent]]:
    got: list[ActivityEvent] = []
    for tick in ticks:
        if arrays:
            acc = np.stack([b.acc_g for b in tick])
            t = np.stack([b.t_sensor_s for b in tick])  # type: ignore[misc]
            got += p.feed_arrays([b.device for b in tick], acc, [b.t_recv_s for b in tick], 52.0, t)
        else:
            got += p.feed_many(tick)
    got += p.close()
    return by_device(got)


@pytest.mark.parametrize(("n_first", "arrays"), [(13, False), (13, True), (150, False), (150, True)])
def test_new_devices_started_together_equal_the_per_device_path(
    monkeypatch: pytest.MonkeyPatch, n_first: int, arrays: bool
) -> None:
    started: list[int] = []
    start = pipeline_mod._start_runs

    def counting(devs, ready):  # type: ignore[no-untyped-def]
        started.append(len(devs))
        return start(devs, ready)

    monkeypatch.setattr(pipeline_mod, "_start_runs", counting)
    rng = np.random.default_rng(0)
    pit = PitCalibration.fit(rng.normal(0, 1.1, (5000, 3)), rng.normal(0, 1.0, (5000, 3)))
    ticks = _first_ticks(n_first)
    kw = dict(calibration=pit, smooth=3, wrist={"w7": "left"})
    fast_p = Pipeline(Means(), LABELS, lockstep=True, **kw)  # type: ignore[arg-type]
    fast = _run(fast_p, ticks, arrays)
    slow_p = Pipeline(Means(), LABELS, lockstep=False, **kw)  # type: ignore[arg-type]
    slow = _run(slow_p, ticks, arrays)
    assert started and started[0] >= 4  # the first tick went the batched way
    assert set(fast) == set(slow) and len(slow) == 12
    for device, events in slow.items():
        assert fast[device] == events, device  # every field of every event
    assert {k: v.to_dict() for k, v in fast_p.stats.items()} == {
        k: v.to_dict() for k, v in slow_p.stats.items()
    }
    st = slow_p.stats  # the spoiled first notifications happened
    assert st["w1"].bad_samples == 1 and st["w2"].bad_samples == 1 and st["w3"].gaps >= 1


@pytest.mark.parametrize("arrays", [False, True])
def test_float64_samples_give_the_float32_samples_events_on_every_path(arrays: bool) -> None:
    """Samples handed over as float64 are the float32 samples a watch decodes: the lockstep and the
    per-device paths give the events of the float32 samples, field for field."""
    ticks = _first_ticks(13)
    wide = [
        [SampleBatch(b.device, b.acc_g.astype(np.float64), b.t_recv_s, b.rate_hz, b.t_sensor_s) for b in tick]
        for tick in ticks
    ]
    assert wide[0][0].acc_g.dtype == np.float32
    want = _run(Pipeline(Means(), LABELS, lockstep=False), ticks, arrays)  # type: ignore[arg-type]
    for lockstep in (True, False):
        p = Pipeline(Means(), LABELS, lockstep=lockstep)  # type: ignore[arg-type]
        if arrays:
            got: list[ActivityEvent] = []
            for tick in ticks:
                acc = np.stack([b.acc_g for b in tick]).astype(np.float64)
                t = np.stack([b.t_sensor_s for b in tick])  # type: ignore[misc]
                got += p.feed_arrays([b.device for b in tick], acc, [b.t_recv_s for b in tick], 52.0, t)
            by = by_device(got + p.close())
        else:
            by = _run(p, wide, arrays)
        assert by == want, lockstep
