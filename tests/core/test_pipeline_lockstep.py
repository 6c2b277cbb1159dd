"""The lockstep path: many devices of one rate advanced together give the per-device path's events, bit for bit.

A gateway's traffic with what makes the lockstep fall back mixed in: radio drops (gaps), link losses with
reconnects, NaN samples, clock skew, a left-wrist watch, other rates (50, 104 Hz) and a host-stamped device.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import mujo_edge.pipeline as pipeline_mod
from mujo_edge.calibration import PitCalibration
from mujo_edge.clock import ClockModel, refit_clocks
from mujo_edge.events import ActivityEvent
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.simulated_session import simulate_stream
from mujo_edge.grid import StreamGrid, push_lockstep
from mujo_edge.pipeline import Pipeline
from mujo_edge.samples import SampleBatch, StreamStatus
from tests.core.pipeline_helpers import Features, by_device

LABELS = ["a", "b", "c", "d"]


def _motion(rate_hz: float, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    f = rng.uniform(0.3, 2.0)
    acc = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t), 1 + 0.1 * np.sin(t)], 1) * 0.8
    return (acc + rng.normal(0, 0.05, acc.shape)).astype(np.float32)


def _traffic(seconds: float = 75.0) -> list[SampleBatch | StreamStatus]:
    items: list[SampleBatch | StreamStatus] = []
    for i in range(28):
        rate, batch, host = 52.0, 13, False
        faults = Faults(seed=i, latency_mean_s=0.01, clock_skew_ppm=float(40 * (i % 5) - 80))
        if i >= 20:  # 50 Hz watches, one of them losing frames
            rate, batch = 50.0, 12
            faults = dataclasses.replace(faults, drop_prob=0.02 if i == 20 else 0.0)
        if i == 3:
            faults = dataclasses.replace(faults, drop_prob=0.03)
        if i == 5:
            faults = dataclasses.replace(faults, disconnect_at_s=(20.0, 47.0), down_s=2.0)
        if i == 26:
            rate, batch = 104.0, 26
        if i == 27:
            rate, batch, host = 10.0, 3, True
        acc = _motion(rate, seconds, i)
        if i == 7:
            acc[1500:1504] = np.nan
        sim = simulate_stream(acc, rate, device=f"w{i}", batch=batch, faults=faults, host_stamped=host)
        items += sim.items
    items.sort(key=lambda it: it.t_recv_s)
    return items


def _ticks(items: list[SampleBatch | StreamStatus], tick_s: float) -> list[list[SampleBatch | StreamStatus]]:
    out: list[list[SampleBatch | StreamStatus]] = [[]]
    t_next = items[0].t_recv_s + tick_s
    for it in items:
        while it.t_recv_s > t_next:
            out.append([])
            t_next += tick_s
        out[-1].append(it)
    return out


def _events(p: Pipeline, ticks: list[list[SampleBatch | StreamStatus]]) -> dict[str, list[ActivityEvent]]:
    got: list[ActivityEvent] = []
    for tick in ticks:
        got += p.feed_many(tick)
    got += p.close()
    return by_device(got)


@pytest.mark.parametrize("smooth", [1, 3])
def test_lockstep_events_equal_the_per_device_path(monkeypatch: pytest.MonkeyPatch, smooth: int) -> None:
    items = _traffic()
    ticks = _ticks(items, 0.25)
    rng = np.random.default_rng(0)
    pit = PitCalibration.fit(rng.normal(0, 1.1, (5000, 3)), rng.normal(0, 1.0, (5000, 3)))
    lockstep_devices: list[int] = []

    step = pipeline_mod._Group.step

    def counting(self, devs, n, ready):  # type: ignore[no-untyped-def]
        lockstep_devices.append(len(devs))
        return step(self, devs, n, ready)

    monkeypatch.setattr(pipeline_mod._Group, "step", counting)
    kw = dict(calibration=pit, smooth=smooth, wrist={"w4": "left"})
    fast = _events(Pipeline(Features(), LABELS, lockstep=True, **kw), ticks)  # type: ignore[arg-type]
    slow_p = Pipeline(Features(), LABELS, lockstep=False, **kw)  # type: ignore[arg-type]
    slow = _events(slow_p, ticks)
    assert sum(lockstep_devices) > 1000  # most windows went the lockstep way
    assert set(fast) == set(slow) and len(slow) == 28
    for device, events in slow.items():
        assert fast[device] == events, device  # every field of every event
    # the faults happened: gaps, reconnects, dropped NaN samples
    st = slow_p.stats
    assert st["w3"].gaps > 0 and st["w5"].reconnects == 2 and st["w7"].bad_samples == 4
    # and a device fed alone (one item at a time) gives the same events too
    alone = Pipeline(Features(), LABELS, **kw)  # type: ignore[arg-type]
    solo = _events(alone, [[it] for it in items if it.device == "w9"])
    assert solo["w9"] == slow["w9"]


class _ShiftedPit(PitCalibration):
    """A PIT table whose own ``apply`` adds 0.3 g afterwards (still elementwise)."""

    def apply(self, x: np.ndarray) -> np.ndarray:
        return super().apply(x) + np.float32(0.3)


def test_a_pit_subclass_maps_with_its_own_apply_on_every_path() -> None:
    # The pipeline maps windows and grid samples with PitCalibration.map_finite, which skips apply; a
    # subclass that overrides apply must still have its apply called, in lockstep groups and alone.
    ticks = _ticks(_traffic(30.0), 0.25)
    rng = np.random.default_rng(1)
    source, target = rng.normal(0, 1.1, (5000, 3)), rng.normal(0, 1.0, (5000, 3))
    shifted = _ShiftedPit.fit(source, target)
    fast = _events(Pipeline(Features(), LABELS, calibration=shifted, lockstep=True), ticks)
    slow = _events(Pipeline(Features(), LABELS, calibration=shifted, lockstep=False), ticks)
    plain = _events(Pipeline(Features(), LABELS, calibration=PitCalibration.fit(source, target)), ticks)
    assert fast == slow
    assert fast != plain  # (the shift changed the events: the subclass's apply ran)


def test_lockstep_grid_equals_push_for_every_rate() -> None:
    rng = np.random.default_rng(1)
    for rate in (50.0, 52.0, 104.0, 200.0):
        d, n = 12, int(rate // 4)
        alone = [StreamGrid(rate) for _ in range(d)]
        together = [StreamGrid(rate) for _ in range(d)]
        t_next = rng.uniform(0, 1000, d)
        for step in range(30):
            t = t_next[:, None] + np.arange(n)[None] / rate * (1 + rng.normal(0, 1e-4, (d, 1)))
            t_next = t[:, -1] + 1 / rate
            x = rng.normal(0, 1, (d, n, 3)).astype(np.float32)
            ref = [g.push(t[i], x[i]) for i, g in enumerate(alone)]
            if step < 1:
                for i, g in enumerate(together):
                    g.push(t[i], x[i])
                continue
            grid_t, grid_x, count = push_lockstep(together, t, x)
            for i in range(d):
                assert np.array_equal(grid_t[i, : count[i]], ref[i].t_s)
                assert np.array_equal(grid_x[i, : count[i]], ref[i].x)


def test_refit_of_many_clocks_equals_refit_alone() -> None:
    rng = np.random.default_rng(2)
    clocks = [ClockModel() for _ in range(6)]
    alone = [ClockModel() for _ in range(6)]
    t = np.arange(0, 90, 0.25)
    for i, (c, a) in enumerate(zip(clocks, alone, strict=True)):
        recv = t * (1 + (i - 3) * 5e-5) + 3.0 + rng.exponential(0.01, t.size)
        c.observe_many(t, recv, refit=False)
        a.observe_many(t, recv)
    refit_clocks(clocks)
    for c, a in zip(clocks, alone, strict=True):
        assert c.fit == a.fit and not c.stale


def test_status_between_batches_of_a_due_device_keeps_the_order() -> None:
    sims = [simulate_stream(_motion(52.0, 8.0, i), 52.0, device=f"w{i}", batch=13) for i in range(6)]
    items = sorted((it for s in sims for it in s.items), key=lambda it: it.t_recv_s)
    cut = len(items) // 2
    items.insert(cut, StreamStatus("w0", items[cut].t_recv_s, "reconnected"))
    a = _events(Pipeline(Features(), LABELS, lockstep=True), [items])
    b = _events(Pipeline(Features(), LABELS, lockstep=False), [items])
    assert a == b
