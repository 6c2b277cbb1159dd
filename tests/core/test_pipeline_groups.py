"""Lockstep groups: devices whose state is kept as arrays leave the group for the per-device path (NaN, a
gap, a status, a rate change, a clock jump, a silence, a missing receive time, two batches in a tick) and
join again, and a late device joins; the events and stats stay those of the per-device path, field for
field, and a bad item in the middle of a call raises the same error and loses none of the samples before it.
"""

from __future__ import annotations

import numpy as np
import pytest

import mujo_edge.pipeline as pipeline_mod
from mujo_edge.calibration import PitCalibration
from mujo_edge.errors import ShapeError
from mujo_edge.events import ActivityEvent
from mujo_edge.pipeline import Pipeline
from mujo_edge.samples import SampleBatch, StreamStatus
from tests.core.pipeline_helpers import Features, by_device

LABELS = ["a", "b", "c", "d"]
RATE, N, DEVICES, TICKS = 52.0, 13, 10, 560  # 0.25 s notifications, 140 s (the clock window slides)
Item = SampleBatch | StreamStatus


def _traffic() -> list[list[Item]]:
    """Per tick: one notification per device, with what makes a device leave its group mixed in."""
    rng = np.random.default_rng(21)
    t0 = rng.uniform(0, 1e4, DEVICES)
    skew = rng.uniform(-150e-6, 150e-6, DEVICES)
    lost = np.zeros(DEVICES)
    out: list[list[Item]] = []
    for k in range(TICKS):
        tick: list[Item] = []
        for d in range(DEVICES):
            if d == 8 and k < 80:  # w8 starts late
                continue
            if d == 6 and 300 <= k < 320:  # w6 falls silent for 5 s
                continue
            if d == 2 and k == 150:
                lost[2] += 0.4  # w2: samples lost (a gap)
            rate, n = (104.0, 2 * N) if d == 4 and k >= 250 else (RATE, N)  # w4 changes rate
            t = t0[d] + lost[d] + (k * N + np.arange(n) * N / n) / RATE
            recv = float(t[-1] * (1 + skew[d]) + 50.0 + rng.exponential(0.01))
            if d == 5 and 360 <= k < 370:
                recv += 5.0  # w5: the points jump far above the clock's line
            if d == 7 and k == 200:
                recv = float("nan")  # w7: a notification without a receive time
            acc = (0.8 * np.sin(t[:, None] * [1.0, 1.3, 0.7] + d) + rng.normal(0, 0.05, (n, 3))).astype(
                np.float32
            )
            if d == 1 and k == 100:
                acc[4:7] = np.nan  # w1: NaN samples
            if d == 9 and k % 40 == 13:  # w9: two notifications in one tick
                tick.append(SampleBatch(f"w{d}", acc[:6], recv - 0.05, rate, t[:6]))
                tick.append(SampleBatch(f"w{d}", acc[6:], recv, rate, t[6:]))
                continue
            tick.append(SampleBatch(f"w{d}", acc, recv, rate, t))
        if k == 200:
            tick.insert(3, StreamStatus("w3", tick[2].t_recv_s, "reconnected"))
        out.append(tick)
    return out


def _pipeline(lockstep: bool) -> Pipeline:
    rng = np.random.default_rng(0)
    pit = PitCalibration.fit(rng.normal(0, 1.1, (5000, 3)), rng.normal(0, 1.0, (5000, 3)))
    return Pipeline(Features(), LABELS, calibration=pit, lockstep=lockstep, wrist={"w0": "left"})


def test_devices_leave_and_join_groups_with_the_per_device_events(monkeypatch: pytest.MonkeyPatch) -> None:
    released: list[str] = []
    joined: list[str] = []
    release, join = pipeline_mod._Group.release, pipeline_mod._Group.join

    def counting_release(self, devs):  # type: ignore[no-untyped-def]
        released.extend(d.name for d in devs)
        return release(self, devs)

    def counting_join(self, devs):  # type: ignore[no-untyped-def]
        rest = join(self, devs)
        joined.extend(d.name for d in devs if d not in rest)
        return rest

    compactions: list[int] = []
    compact = pipeline_mod._Group._compact

    def counting_compact(self):  # type: ignore[no-untyped-def]
        compactions.append(self.dead)
        return compact(self)

    monkeypatch.setattr(pipeline_mod._Group, "release", counting_release)
    monkeypatch.setattr(pipeline_mod._Group, "join", counting_join)
    monkeypatch.setattr(pipeline_mod._Group, "_compact", counting_compact)
    traffic = _traffic()
    fast, slow = _pipeline(True), _pipeline(False)
    got_fast: list[ActivityEvent] = []
    got_slow: list[ActivityEvent] = []
    for tick in traffic:
        got_fast += fast.feed_many(tick)
        got_slow += slow.feed_many(tick)
    in_group = {d.name for g in fast._groups.values() for d in g.members()}
    got_fast += fast.close()
    got_slow += slow.close()
    a, b = by_device(got_fast), by_device(got_slow)
    assert set(a) == set(b) == {f"w{d}" for d in range(DEVICES)}
    for device, events in b.items():
        assert a[device] == events, device  # every field of every event
        assert fast.stats[device].to_dict() == slow.stats[device].to_dict(), device
    # every faulty device left its group; those whose windows still fall due with the others' came back
    # (w2's gap moved its windows off the others' ticks, w4 has a rate of its own: they go on by themselves)
    assert {f"w{d}" for d in (1, 2, 3, 4, 5, 6, 7, 9)} <= set(released)
    for d in (1, 3, 5, 6, 7, 9):
        assert joined.count(f"w{d}") >= 2, d
    assert "w8" in joined and in_group == {f"w{d}" for d in range(DEVICES)} - {"w2", "w4"}
    st = slow.stats
    assert (
        st["w1"].bad_samples == 3 and st["w2"].gaps == 1 and st["w3"].reconnects == 1 and st["w6"].gaps == 1
    )
    assert not fast._groups[RATE].devs  # close() wrote every row back
    # rows of devices that left stayed dead (the others' rows and blocks in place) until half were dead,
    # then the arrays were compacted: during the stream and at close()
    assert len(compactions) >= 2 and min(compactions) >= 2


def test_a_bad_item_mid_call_raises_and_loses_no_samples() -> None:
    """A call that fails on a bad item (not a batch; arrays of the wrong shape) raises the same clear error
    in the lockstep and per-device paths, and the samples taken before it still give their events."""
    traffic = _traffic()[:200]
    ref = _pipeline(True)
    want: list[ActivityEvent] = []
    for tick in traffic:
        want += ref.feed_many(tick)
    want += ref.close()
    for lockstep in (True, False):
        p = _pipeline(lockstep)
        got: list[ActivityEvent] = []
        for k, tick in enumerate(traffic):
            if k % 50 == 49:  # the bad item after half the tick's batches: those were taken
                half = len(tick) // 2
                with pytest.raises(ShapeError, match=r"Pipeline\.feed takes SampleBatch or StreamStatus"):
                    p.feed_many([*tick[:half], "not a batch", *tick[half:]])  # type: ignore[list-item]
                got += p.feed_many(tick[half:])
                continue
            if k % 50 == 30:
                with pytest.raises(ShapeError, match=r"acc_g must be"):
                    p.feed_arrays(
                        ["w0", "w1"], np.zeros((3, N, 3), np.float32), [0.0, 0.0], RATE, np.zeros((2, N))
                    )
            got += p.feed_many(tick)
        got += p.close()
        a, b = by_device(got), by_device(want)
        assert set(a) == set(b)
        for device, events in b.items():
            assert a[device] == events, (lockstep, device)


def test_a_silent_watch_does_not_keep_the_waiting_blocks() -> None:
    """A watch of a lockstep group falls silent with samples waiting in the group's blocks (feed_arrays): the
    blocks stay bounded (its samples move to its own lists), and when it comes back its events are the
    per-device path's."""
    rng = np.random.default_rng(3)
    d, silent = 8, range(30, 30 + pipeline_mod.MAX_WAITING_BLOCKS + 40)
    t0 = rng.uniform(0, 1e4, d)
    fast, slow = _pipeline(True), _pipeline(False)
    got_fast: list[ActivityEvent] = []
    got_slow: list[ActivityEvent] = []
    most = 0
    for k in range(240):
        rows = [i for i in range(d) if not (i == 3 and k in silent)]
        t = t0[rows, None] + (k * N + np.arange(N))[None, :] / RATE
        recv = t[:, -1] + 50.0 + rng.exponential(0.01, len(rows))
        acc = (0.8 * np.sin(t[:, :, None] * [1.0, 1.3, 0.7]) + rng.normal(0, 0.05, (len(rows), N, 3))).astype(
            np.float32
        )
        names = [f"w{i}" for i in rows]
        got_fast += fast.feed_arrays(names, acc, recv, RATE, t)
        got_slow += slow.feed_many(
            [SampleBatch(n, acc[j], float(recv[j]), RATE, t[j]) for j, n in enumerate(names)]
        )
        group = fast._groups.get(RATE)
        most = max(most, len(group.blocks) if group is not None else 0)
    got_fast += fast.close()
    got_slow += slow.close()
    a, b = by_device(got_fast), by_device(got_slow)
    assert set(a) == set(b) == {f"w{i}" for i in range(d)}
    for device, events in b.items():
        assert a[device] == events, device
        assert fast.stats[device].to_dict() == slow.stats[device].to_dict(), device
    assert 4 <= most <= pipeline_mod.MAX_WAITING_BLOCKS + 1
