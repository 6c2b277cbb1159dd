"""``Pipeline.feed_arrays``: a gateway's tick as arrays gives the events and stats of one SampleBatch per
notification through ``feed_many``, field for field, with gaps, NaN, clock resets, a left-wrist watch and
devices joining and leaving mixed in."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mujo_edge.pipeline as pipeline_mod
from mujo_edge.calibration import PitCalibration
from mujo_edge.errors import ShapeError
from mujo_edge.events import ActivityEvent
from mujo_edge.pipeline import Pipeline, round_array, round_recv, round_times
from mujo_edge.samples import SampleBatch
from tests.core.pipeline_helpers import Features, assert_same_events

LABELS = ["a", "b", "c", "d"]
RATE, N, DEVICES, TICKS = 52.0, 13, 24, 360  # 0.25 s notifications, 90 s


def _ticks() -> list[tuple[list[str], np.ndarray, np.ndarray, np.ndarray]]:
    """Per tick: (devices, acc (D, N, 3) float32 g, t_recv (D,), t_sensor (D, N))."""
    rng = np.random.default_rng(7)
    t0 = rng.uniform(0, 1e4, DEVICES)
    skew = rng.uniform(-150e-6, 150e-6, DEVICES)
    out = []
    for k in range(TICKS):
        idx = np.arange(k * N, (k + 1) * N)
        t = t0[:, None] + idx[None, :] / RATE
        t[2] += 0.5 if k >= 100 else 0.0  # device 2: samples lost (a gap)
        t[8] -= 40.0 if k >= 150 else 0.0  # device 8: the sensor clock goes back (a reboot)
        recv = t[:, -1] * (1 + skew) + 50.0 + rng.exponential(0.01, DEVICES)
        acc = (0.8 * np.sin(t[:, :, None] * [1.0, 1.3, 0.7]) + rng.normal(0, 0.05, (DEVICES, N, 3))).astype(
            np.float32
        )
        if k == 120:
            acc[4, 3:6] = np.nan  # device 4: NaN samples
            recv[6] = np.nan  # device 6: a notification without a receive time
        rows = [d for d in range(DEVICES) if not (d == 12 and k < 40) and not (d == 14 and 200 <= k < 210)]
        out.append(([f"w{d}" for d in rows], acc[rows], recv[rows], t[rows]))
    return out


def _run(p: Pipeline, arrays: bool) -> dict[str, list[ActivityEvent]]:
    got: list[ActivityEvent] = []
    for names, acc, recv, t in _ticks():
        if arrays:
            got += p.feed_arrays(names, acc, recv, RATE, t)
        else:
            got += p.feed_many(
                [SampleBatch(n, acc[i], float(recv[i]), RATE, t[i]) for i, n in enumerate(names)]
            )
    got += p.close()
    by: dict[str, list[ActivityEvent]] = {}
    for e in got:
        by.setdefault(e.device, []).append(e)
    return by


@pytest.mark.parametrize(("lockstep", "smooth"), [(True, 1), (True, 3), (False, 1)])
def test_feed_arrays_equals_feed_many(monkeypatch: pytest.MonkeyPatch, lockstep: bool, smooth: int) -> None:
    blocks: list[int] = []
    add_block = pipeline_mod._Group.add_block

    def counting(self, rows, *rest):  # type: ignore[no-untyped-def]
        blocks.append(rows.size)
        return add_block(self, rows, *rest)

    monkeypatch.setattr(pipeline_mod._Group, "add_block", counting)
    rng = np.random.default_rng(0)
    pit = PitCalibration.fit(rng.normal(0, 1.1, (5000, 3)), rng.normal(0, 1.0, (5000, 3)))
    kw = dict(calibration=pit, smooth=smooth, wrist={"w10": "left"}, lockstep=lockstep)
    a = Pipeline(Features(), LABELS, **kw)  # type: ignore[arg-type]
    b = Pipeline(Features(), LABELS, **kw)  # type: ignore[arg-type]
    b._ticks_as_arrays = False  # one SampleBatch at a time: feed_many does not hand the ticks to feed_arrays
    by_arrays, by_batches = _run(a, arrays=True), _run(b, arrays=False)
    assert set(by_arrays) == set(by_batches) and len(by_batches) == DEVICES
    for device, events in by_batches.items():
        assert by_arrays[device] == events, device  # every field of every event
        assert a.stats[device].to_dict() == b.stats[device].to_dict(), device
    st = b.stats
    assert st["w2"].gaps == 1 and st["w4"].bad_samples == 3 and st["w14"].gaps == 1
    assert a._devices["w8"].clock.resets == 1 and a._devices["w6"].clock.bad_points == 0
    assert sum(s.windows for s in st.values()) > 80 * DEVICES
    if lockstep:  # most ticks waited as blocks of the group's rows
        assert len(blocks) > TICKS // 2 and max(blocks) == DEVICES
    else:
        assert not blocks


def _feed_mixed(p: Pipeline, every: int) -> dict[str, list[ActivityEvent]]:
    """The ticks fed as arrays, except every ``every``-th (and the one after it, as a second call) one
    SampleBatch per notification, so that ticks waiting as blocks meet samples in the devices' own lists."""
    got: list[ActivityEvent] = []
    for k, (names, acc, recv, t) in enumerate(_ticks()):
        if k % every in (0, 1):
            got += p.feed_many(
                [SampleBatch(n, acc[i], float(recv[i]), RATE, t[i]) for i, n in enumerate(names)]
            )
        else:
            got += p.feed_arrays(names, acc, recv, RATE, t)
    got += p.close()
    by: dict[str, list[ActivityEvent]] = {}
    for e in got:
        by.setdefault(e.device, []).append(e)
    return by


@pytest.mark.parametrize("every", [3, 7, 50])
def test_feed_arrays_and_feed_many_mixed(every: int) -> None:
    """Ticks as arrays and as batches in turn, for the same devices: the events and stats of batches alone."""
    a = Pipeline(Features(), LABELS, wrist={"w10": "left"})
    b = Pipeline(Features(), LABELS, wrist={"w10": "left"}, lockstep=False)
    by_mixed, by_batches = _feed_mixed(a, every), _run(b, arrays=False)
    assert set(by_mixed) == set(by_batches)
    for device, events in by_batches.items():
        assert by_mixed[device] == events, device
        assert a.stats[device].to_dict() == b.stats[device].to_dict(), device


def test_feed_arrays_ticks_of_another_order_or_subset() -> None:
    """Ticks whose rows change (another order, a device missing) while blocks wait: the same events."""
    rng = np.random.default_rng(5)
    ticks = _ticks()
    a = Pipeline(Features(), LABELS)
    b = Pipeline(Features(), LABELS, lockstep=False)
    got_a: list[ActivityEvent] = []
    got_b: list[ActivityEvent] = []
    for k, (names, acc, recv, t) in enumerate(ticks):
        order = np.arange(len(names))
        if k % 17 == 5:
            order = rng.permutation(order)
        if k % 23 == 9:
            order = order[1:]
        sel = [names[i] for i in order]
        got_a += a.feed_arrays(sel, acc[order], recv[order], RATE, t[order])
        got_b += b.feed_arrays(sel, acc[order], recv[order], RATE, t[order])
    got_a += a.close()
    got_b += b.close()
    assert_same_events(a, b, got_a, got_b)


def test_feed_arrays_refuses_mismatched_shapes() -> None:
    p = Pipeline(Features(), LABELS)
    acc = np.zeros((2, 13, 3), np.float32)
    with pytest.raises(ShapeError, match=r"acc_g must be \(3, n, 3\)"):
        p.feed_arrays(["a", "b", "c"], acc, np.zeros(3), RATE, np.zeros((3, 13)))
    with pytest.raises(ShapeError, match="t_sensor_s must be"):
        p.feed_arrays(["a", "b"], acc, np.zeros(2), RATE, np.zeros((2, 12)))


def test_round_times_equals_python_round() -> None:
    rng = np.random.default_rng(3)
    v = np.concatenate(
        [
            rng.uniform(0, 1e5, 20000),
            rng.uniform(-1e9, 1e9, 5000),
            (rng.integers(0, 10**11, 5000) + 0.5) / 1e6,  # exact and near halves of the 6th decimal
            [0.5e-6, 1.5e-6, 2.5e-6, -2.5e-6, np.nan, np.inf, -np.inf, 0.0, 1e20, 123.0000005],
        ]
    )
    got = round_times(v, 6)
    want = [round(float(x), 6) for x in v]
    assert [g == w or (g != g and w != w) for g, w in zip(got, want, strict=True)] == [True] * v.size
    # the array form, of any shape (a step's clock points are (devices, points))
    cut = v[: v.size // 30 * 30]
    grid = round_array(cut.reshape(-1, 30), 6)
    assert grid.shape == (cut.size // 30, 30)
    assert np.array_equal(grid.ravel(), np.array(want[: cut.size]), equal_nan=True)


def test_round_recv_equals_python_round_sign_of_zero_included() -> None:
    rng = np.random.default_rng(4)
    v = np.concatenate(
        [
            rng.uniform(0, 1e5, 20000),
            rng.uniform(1.6e9, 1.8e9, 5000),  # epoch seconds: the product is near 2**52
            rng.normal(0, 1e-6, 2000),  # around zero: -0.0 where round gives it
            (rng.integers(-(10**11), 10**11, 5000) + 0.5) / 1e6,  # exact and near halves of the 6th decimal
            [0.5e-6, -2.5e-7, -0.0, 0.0, np.nan, np.inf, -np.inf, 2.0**52 / 1e6, 1e20, 123.0000005],
        ]
    )
    for x in v.tolist():
        got, want = round_recv(x), round(x, 6)
        assert got == want or (got != got and want != want), x
        assert math.copysign(1.0, got) == math.copysign(1.0, want), x


def test_feed_arrays_devices_due_on_different_ticks() -> None:
    """Devices that started on different ticks fall due on different ticks: each tick steps a part of the
    group from the blocks it waits in, and the blocks are dropped once every row has taken them."""
    a = Pipeline(Features(), LABELS)
    b = Pipeline(Features(), LABELS)
    got_a: list[ActivityEvent] = []
    got_b: list[ActivityEvent] = []
    waiting = 0
    for k, (names, acc, recv, t) in enumerate(_ticks()):
        keep = [i for i, name in enumerate(names) if k >= int(name[1:]) % 4]
        sel = [names[i] for i in keep]
        got_a += a.feed_arrays(sel, acc[keep], recv[keep], RATE, t[keep])
        got_b += b.feed_many(
            [SampleBatch(n, acc[i], float(recv[i]), RATE, t[i]) for n, i in zip(sel, keep, strict=True)]
        )
        group = a._groups.get(RATE)
        waiting = max(waiting, len(group.blocks) if group is not None else 0)
    got_a += a.close()
    got_b += b.close()
    assert_same_events(a, b, got_a, got_b)
    # every block is dropped once taken: a window hop's ticks, more while w14 is silent (10 ticks) with
    # samples waiting
    assert 2 <= waiting <= 4 + 10 + 1


@pytest.mark.parametrize("smooth", [1, 3])
def test_feed_many_hands_a_tick_to_feed_arrays_with_the_same_events(
    monkeypatch: pytest.MonkeyPatch, smooth: int
) -> None:
    """A feed_many call that is one tick of known devices goes through feed_arrays: every device's events and
    every stat as one SampleBatch at a time gives them, with the gaps, NaN, clock resets, left wrist and
    devices joining and leaving of the ticks; calls it cannot take as arrays go the usual way."""
    calls: list[int] = []
    feed_arrays = Pipeline.feed_arrays

    def counting(self, devices, *rest):  # type: ignore[no-untyped-def]
        calls.append(len(devices))
        return feed_arrays(self, devices, *rest)

    monkeypatch.setattr(Pipeline, "feed_arrays", counting)
    a = Pipeline(Features(), LABELS, smooth=smooth, wrist={"w10": "left"})
    b = Pipeline(Features(), LABELS, smooth=smooth, wrist={"w10": "left"})
    b._ticks_as_arrays = False
    got: dict[str, list[ActivityEvent]] = {"a": [], "b": []}
    for k, (names, acc, recv, t) in enumerate(_ticks()):
        items = [SampleBatch(n, acc[i], float(recv[i]), RATE, t[i]) for i, n in enumerate(names)]
        if k % 50 == 7:  # a decoder gap in one batch: the whole call goes the usual way
            items[3] = SampleBatch(names[3], acc[3], float(recv[3]), RATE, t[3], gap_before=True)
        for key, p in (("a", a), ("b", b)):
            got[key] += p.feed_many(items)
    got["a"] += a.close()
    got["b"] += b.close()
    assert len(got["a"]) == len(got["b"]) > 80 * DEVICES
    # every device's events in order, every field (across devices the order of one call's events is the
    # order the devices were processed in, as between a live run and its replay)
    by = {k: {d: [e for e in v if e.device == d] for d in {e.device for e in v}} for k, v in got.items()}
    assert by["a"] == by["b"]
    assert {d: s.to_dict() for d, s in a.stats.items()} == {d: s.to_dict() for d, s in b.stats.items()}
    assert len(calls) > TICKS // 2 and max(calls) == DEVICES  # most ticks went through as arrays


def test_feed_many_takes_a_call_it_cannot_lay_out_as_a_tick_the_usual_way() -> None:
    p = Pipeline(Features(), LABELS)
    names, acc, recv, t = _ticks()[0]
    assert (
        p._as_tick([SampleBatch(n, acc[i], float(recv[i]), RATE, t[i]) for i, n in enumerate(names)]) is None
    )
    p.feed_many([SampleBatch(n, acc[i], float(recv[i]), RATE, t[i]) for i, n in enumerate(names)])
    ok = [SampleBatch(n, acc[i], float(recv[i]), RATE, t[i]) for i, n in enumerate(names)]
    assert p._as_tick(ok) is not None  # known devices now
    for bad in (
        ok[:3],  # too few devices
        [*ok, ok[0]],  # a device twice
        [*ok[:-1], SampleBatch(names[-1], acc[-1, :5], float(recv[-1]), RATE, t[-1, :5])],  # another length
        [*ok[:-1], SampleBatch(names[-1], acc[-1], float(recv[-1]), RATE, t[-1].astype(np.float32))],
        [*ok[:-1], SampleBatch(names[-1], acc[-1], float(recv[-1]), RATE)],  # host-stamped
        [*ok[:-1], SampleBatch(names[-1], acc[-1], float(recv[-1]), 25.0, t[-1])],  # another rate
        [*ok[:-1], SampleBatch("new", acc[-1], float(recv[-1]), RATE, t[-1])],  # a device not seen yet
    ):
        assert p._as_tick(bad) is None
