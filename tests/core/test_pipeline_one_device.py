"""A device fed on its own takes shortcuts for its usual case (StreamGrid.continue_run, the windower keeping the
grid's arrays, the clock's scalar path for a notification's points, one window classified without lists): with
every shortcut turned off, the general code gives the same events, every field, and the same stats."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mujo_edge.calibration import PitCalibration
from mujo_edge.clock import ClockModel
from mujo_edge.events import ActivityEvent
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.simulated_session import simulate_stream
from mujo_edge.grid import StreamGrid
from mujo_edge.pipeline import Pipeline
from mujo_edge.samples import SampleBatch, StreamStatus
from mujo_edge.windows import StreamWindower
from tests.core.pipeline_helpers import Features, assert_same_events

LABELS = ["a", "b", "c", "d"]


def _items(rate: float, batch: int, seed: int) -> list[SampleBatch | StreamStatus]:
    """A watch with drops, a link loss, skew, bursts, NaN samples, a batch going back in time and a decoder gap
    flag."""
    rng = np.random.default_rng(seed)
    n = int(rate * 150)
    t = np.arange(n) / rate
    acc = np.stack([np.sin(1.3 * t), np.cos(0.7 * t), 1 + 0.1 * np.sin(t)], 1) * 0.8
    acc = (acc + rng.normal(0, 0.05, acc.shape)).astype(np.float32)
    acc[int(rate * 40) : int(rate * 40) + 3] = np.nan
    faults = Faults(seed=seed, latency_mean_s=0.01, clock_skew_ppm=120.0, drop_prob=0.01)
    faults = dataclasses.replace(faults, disconnect_at_s=(70.0,), down_s=2.0)
    items = list(simulate_stream(acc, rate, device="w", batch=batch, faults=faults).items)
    out: list[SampleBatch | StreamStatus] = []
    for i, it in enumerate(items):
        if isinstance(it, SampleBatch) and it.t_sensor_s is not None and i == len(items) // 3:
            it = dataclasses.replace(it, t_sensor_s=it.t_sensor_s - 3.0)  # time going back
        elif isinstance(it, SampleBatch) and i == len(items) // 2:
            it = dataclasses.replace(it, gap_before=True)
        out.append(it)
    return out


_PUSH = StreamWindower.push
_OBSERVE = ClockModel._observe


def _push_copying(self: StreamWindower, t: np.ndarray, x: np.ndarray, owned: bool = False) -> object:
    return _PUSH(self, t, x)


def _observe_one_by_one(self: ClockModel, ts: list[float], tr: list[float]) -> None:
    for a, b in zip(ts, tr, strict=True):
        _OBSERVE(self, float(a), float(b))


def _run(items: list[SampleBatch | StreamStatus], **kw: object) -> tuple[Pipeline, list[ActivityEvent]]:
    pipe = Pipeline(Features(), LABELS, **kw)  # type: ignore[arg-type]
    events: list[ActivityEvent] = []
    for it in items:
        events += pipe.feed(it)
    return pipe, events + pipe.close()


@pytest.mark.parametrize(("rate", "batch"), [(52.0, 13), (52.0, 4), (104.0, 36), (50.0, 12), (200.0, 40)])
def test_one_device_shortcuts_give_the_general_codes_events(
    rate: float, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(1)
    pit = PitCalibration.fit(rng.normal(0, 1.1, (4000, 3)), rng.normal(0, 1.0, (4000, 3)))
    items = _items(rate, batch, int(rate) + batch)
    for kw in ({"calibration": pit}, {"calibration": pit, "smooth": 3, "wrist": "left"}, {}):
        fast, got = _run(items, **kw)
        with monkeypatch.context() as m:
            m.setattr(StreamGrid, "continue_run", lambda self, *a: None)
            m.setattr(StreamWindower, "push", _push_copying)
            m.setattr(ClockModel, "_observe_few", _observe_one_by_one)
            m.setattr(Pipeline, "_classify_one", lambda self, r: self._classify_many([r]))
            general, want = _run(items, **kw)
        assert len(got) > 100
        assert got == want
        assert_same_events(fast, general, got, want)
    st = fast.stats["w"]
    assert st.gaps >= 3 and st.bad_samples >= 3 and st.reconnects + st.disconnects >= 1
