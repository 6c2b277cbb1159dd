"""Pipeline end to end with a numpy classifier: windows, events, per-device state, batching, flags."""

from __future__ import annotations

import numpy as np
import pytest

from mujo_edge.errors import ShapeError
from mujo_edge.events import ActivityEvent
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.simulated_session import simulate_stream
from mujo_edge.pipeline import Pipeline
from mujo_edge.samples import SampleBatch, StreamStatus


class MeanXRunner:
    """Class 'up' when a window's mean x is above 0 g, else 'down'; counts its calls."""

    labels = ("down", "up")

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        assert windows_g.dtype == np.float32 and windows_g.shape[1:] == (100, 3)
        self.calls.append(windows_g.shape[0])
        m = windows_g[:, :, 0].mean(axis=1)
        p_up = 1.0 / (1.0 + np.exp(-20.0 * m))
        return np.stack([1 - p_up, p_up], axis=1).astype(np.float32)


def _motion(rate_hz: float, seconds: float, switch_s: float) -> np.ndarray:
    """x = -0.5 g before ``switch_s``, +0.5 g after; a 1.5 Hz wiggle on y; gravity on z."""
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    x = np.where(t < switch_s, -0.5, 0.5)
    return np.stack([x, 0.3 * np.sin(2 * np.pi * 1.5 * t), np.ones_like(t)], 1).astype(np.float32)


def _run(items, runner=None, **kw) -> tuple[list[ActivityEvent], Pipeline]:
    p = Pipeline(runner or MeanXRunner(), list(MeanXRunner.labels), **kw)
    ev = []
    for it in items:
        ev += p.feed(it)
    ev += p.close()
    return ev, p


@pytest.mark.parametrize("rate_hz", [50.0, 52.0, 104.0, 200.0])
def test_clean_stream_gives_one_event_per_hop_with_the_right_label(rate_hz: float) -> None:
    sim = simulate_stream(_motion(rate_hz, 60.0, 30.0), rate_hz, batch=9, faults=Faults(seed=1))
    ev, p = _run(sim.items)
    st = p.stats["sim"]
    assert st.samples_in == int(60 * rate_hz) and st.gaps == 0 and st.windows_dropped_at_gaps == 0
    # 60 s of input -> ~60 s of grid (less the filter delay) -> 58 or 59 windows.
    assert st.windows == len(ev) and len(ev) in (58, 59)
    assert sum(st.label_counts.values()) == len(ev) and set(st.label_counts) == {"up", "down"}
    assert st.rate_hz == pytest.approx(rate_hz, rel=1e-6)
    t_true = 1000.0  # host time of the first sample
    for e in ev:
        assert e.t_end - e.t_start == pytest.approx(2.0, abs=1e-3)
        mid = e.t_start + 1.0 - t_true
        if abs(mid - 30.0) > 1.2:  # windows that do not straddle the switch
            assert e.label == ("up" if mid > 30.0 else "down")
            assert e.confidence > 0.99
    starts = np.array([e.t_start for e in ev])
    np.testing.assert_allclose(np.diff(starts), 1.0, atol=2e-3)  # one per hop, on the host clock
    # host times: first window starts at the first sample (+ the latency floor the clock cannot see)
    assert starts[0] == pytest.approx(t_true + 0.005, abs=0.005)


def test_faults_no_sample_lost_but_the_radio_lost_and_no_window_spans_a_gap() -> None:
    # bursts: every 78 notifications (~9 s), 4 go out together (~0.4 s held)
    faults = Faults(
        clock_skew_ppm=150.0,
        latency_mean_s=0.01,
        burst_every=78,
        burst_len=4,
        drop_prob=0.01,
        disconnect_at_s=(40.0, 100.0),
        down_s=3.0,
        seed=5,
    )
    sim = simulate_stream(_motion(52.0, 150.0, 75.0), 52.0, batch=6, faults=faults)
    ev, p = _run(sim.items)
    st = p.stats["sim"]
    assert st.samples_in == int(sim.delivered.sum())  # nothing lost on our side
    assert st.reconnects == 2 and st.disconnects == 2
    assert sim.dropped_batches > 3
    # every drop is flagged as a gap (adjacent drops make one gap)
    assert st.gaps == sim.dropped_batches - _adjacent_drops(sim)
    assert st.samples_lost == sim.dropped_batches * 6
    assert st.windows_dropped_at_gaps >= st.gaps + 2  # each cut at least one begun window
    lost_t = sim.t_host_true_s[~sim.delivered] + 0.005
    for e in ev:  # no event window contains a lost sample
        assert not np.any((lost_t > e.t_start + 1e-3) & (lost_t < e.t_end - 1e-3)), e
    assert len(ev) == st.windows > 60


def _adjacent_drops(sim) -> int:
    """Drop runs longer than one batch count as one gap: how many extra drops there were."""
    seqs = [it.seq for it in sim.items if isinstance(it, SampleBatch)]
    # seq counts sent batches (outside disconnects); a jump of k+1 means k dropped in a row
    jumps = np.diff(seqs)
    return int(np.sum(np.maximum(jumps - 2, 0)))


def test_gateway_state_is_per_device_and_windows_are_batched() -> None:
    streams = {
        f"w{i}": simulate_stream(
            _motion(rate, 30.0, 10.0 + 5 * i), rate, device=f"w{i}", batch=b, faults=Faults(seed=i)
        )
        for i, (rate, b) in enumerate([(52.0, 7), (104.0, 13), (200.0, 25)])
    }
    alone = {d: _run(s.items)[0] for d, s in streams.items()}
    # Interleave by receive time as a gateway's queue would, and feed 1 s of traffic at a time.
    items = sorted((it for s in streams.values() for it in s.items), key=lambda it: it.t_recv_s)
    runner = MeanXRunner()
    p = Pipeline(runner, list(MeanXRunner.labels))
    got: list[ActivityEvent] = []
    t_next, chunk = items[0].t_recv_s + 1.0, []
    for it in items:
        if it.t_recv_s > t_next:
            got += p.feed_many(chunk)
            chunk, t_next = [], t_next + 1.0
        chunk.append(it)
    got += p.feed_many(chunk) + p.close()
    for d, ev in alone.items():
        assert [e for e in got if e.device == d] == ev
    assert sum(runner.calls) == len(got)
    assert max(runner.calls) >= 3  # windows of several devices went through one model call


@pytest.mark.parametrize("labels", [["down"], ["down", "up", "sideways"]])
def test_labels_that_do_not_match_the_model_outputs_are_refused(labels: list[str]) -> None:
    """Too few labels would name every window by the first ones with a tiny confidence; too many would
    name windows by labels the model has no output for: both are refused at the first window."""
    p = Pipeline(MeanXRunner(), labels)
    t = np.arange(300) / 50.0
    with pytest.raises(ShapeError, match=f"2 probabilities per window .* for {len(labels)} labels"):
        p.feed(SampleBatch("w", _motion(50.0, 6.0, 3.0), 6.0, 50.0, t))


@pytest.mark.parametrize("times", ["backwards", "ms"])
def test_sample_times_that_cannot_form_a_run_say_so(times: str, caplog: pytest.LogCaptureFixture) -> None:
    p = Pipeline(MeanXRunner(), list(MeanXRunner.labels))
    for k in range(8):
        t = k * 0.5 + np.arange(25) / 50.0
        t = t[::-1].copy() if times == "backwards" else t * 1000.0
        assert p.feed(SampleBatch("w", _motion(50.0, 0.5, 1.0), float(k * 0.5 + 0.5), 50.0, t)) == []
    assert p.stats["w"].gaps > 100
    said = [r.getMessage() for r in caplog.records if "no window can form" in r.getMessage()]
    assert len(said) == 1 and "increasing seconds" in said[0]  # once per device, not per batch


def test_calibration_is_applied_and_flagged() -> None:
    class Shift:
        def apply(self, x: np.ndarray) -> np.ndarray:
            return (x + np.array([1.0, 0.0, 0.0], np.float32)).astype(np.float32)

    sim = simulate_stream(_motion(50.0, 20.0, 100.0), 50.0, batch=5)  # all 'down' (-0.5 g)
    raw, _ = _run(sim.items)
    cal, _ = _run(sim.items, calibration=Shift())
    assert {e.label for e in raw} == {"down"} and not any(e.calibrated for e in raw)
    assert {e.label for e in cal} == {"up"} and all(e.calibrated for e in cal)


def test_smoothing_averages_the_last_k_windows() -> None:
    sim = simulate_stream(_motion(50.0, 30.0, 15.0), 50.0, batch=5)
    plain, _ = _run(sim.items)
    smooth, _ = _run(sim.items, smooth=4)
    i = next(k for k, e in enumerate(plain) if e.label == "up")
    j = next(k for k, e in enumerate(smooth) if e.label == "up")
    assert j > i  # the switch is reported later, once most of the last 4 windows agree
    assert [e.t_start for e in plain] == [e.t_start for e in smooth]


def test_host_stamped_slow_device_is_upsampled_and_marked() -> None:
    sim = simulate_stream(_motion(10.0, 30.0, 100.0), 10.0, batch=1, host_stamped=True)
    ev, p = _run(sim.items)
    st = p.stats["sim"]
    assert st.upsampled and st.host_stamped and st.gaps == 0
    assert len(ev) == 28 and all(e.upsampled and e.label == "down" for e in ev)
    assert ev[0].t_start == pytest.approx(1000.005, abs=1e-6)  # host time of the first arrival


def test_latency_is_measured_only_when_a_clock_is_given() -> None:
    sim = simulate_stream(_motion(52.0, 10.0, 100.0), 52.0, batch=4)
    now = {"t": 0.0}
    p = Pipeline(MeanXRunner(), list(MeanXRunner.labels), now=lambda: now["t"])
    for it in sim.items:
        now["t"] = it.t_recv_s + 0.002  # processing takes 2 ms
        p.feed(it)
    lat = p.stats["sim"].latency_quantile_ms(0.5)
    # window end -> event: the anti-alias filter delay (~0.115 s at 52 Hz) + waiting for the batch + 2 ms
    assert lat is not None and 100.0 < lat < 200.0
    assert Pipeline(MeanXRunner(), ["a", "b"]).stats == {}


def test_nan_samples_are_dropped_and_become_a_gap() -> None:
    acc = _motion(50.0, 12.0, 100.0)
    acc[300:303] = np.nan
    sim = simulate_stream(acc, 50.0, batch=10)
    ev, p = _run(sim.items)
    st = p.stats["sim"]
    assert st.bad_samples == 3 and st.gaps == 1 and st.samples_in == 600 - 3
    assert all(np.isfinite(e.confidence) for e in ev)


def test_status_events_end_runs_and_count() -> None:
    sim = simulate_stream(_motion(50.0, 5.0, 100.0), 50.0, batch=10)
    p = Pipeline(MeanXRunner(), list(MeanXRunner.labels))
    for it in sim.items[:20]:  # 200 samples: windows at 0, 50, 100 done, the one at 150 begun
        p.feed(it)
    p.feed(StreamStatus("sim", 2000.0, "disconnected"))
    p.feed(StreamStatus("sim", 2001.0, "reconnected"))
    st = p.stats["sim"]
    assert (st.windows, st.windows_dropped_at_gaps, st.reconnects, st.disconnects) == (3, 1, 1, 1)


def test_runtime_core_imports_no_torch_training_export_or_firmware_bridge() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "BANNED = ('torch', 'mujo_edge.training', 'mujo_edge.export', 'mujo_edge.firmware_bridge', 'bleak',"
        " 'bumble')\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith(BANNED):\n"
        "            raise ImportError(f'the runtime core imported {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import mujo_edge.clock, mujo_edge.grid, mujo_edge.windows, mujo_edge.pipeline\n"
        "import mujo_edge.events, mujo_edge.gateway, mujo_edge.cli.stream, mujo_edge.cli.live_view\n"
        "print(sorted(m for m in sys.modules if m.startswith(BANNED)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


class MeanXEmbedRunner(MeanXRunner):
    """MeanXRunner with an embedding output: (mean x, mean |y|) of the window."""

    def run(self, windows_g: np.ndarray, embedding: bool = True):
        p = self.predict(windows_g)
        logits = np.log(np.maximum(p, 1e-9))
        emb = np.stack([windows_g[:, :, 0].mean(1), np.abs(windows_g[:, :, 1]).mean(1)], 1)
        return logits, (emb if embedding else None)


def test_open_set_windows_come_out_unknown_and_are_counted() -> None:
    from mujo_edge.heads import Head

    # known windows sit at embedding (+-0.5, ~0.19); the "unknown" activity shakes y with 1.5 g
    head = Head(
        "logits",
        ["down", "up"],
        prototypes=np.array([[-0.5, 0.19], [0.5, 0.19]], np.float32),
        threshold=-1.0,
        precision=np.eye(2, dtype=np.float32) * 10.0,
    )
    acc = _motion(50.0, 60.0, 30.0)
    acc[1500:, 1] *= 5.0  # the last 30 s: y wiggles 1.5 g, unlike anything the head knows
    sim = simulate_stream(acc, 50.0, batch=10, faults=Faults(seed=2))
    ev, p = _run(sim.items, runner=MeanXEmbedRunner(), head=head)
    first = [e for e in ev if e.t_start - 1000.0 < 27.0]
    last = [e for e in ev if e.t_start - 1000.0 > 31.0]
    assert first and all(e.known and e.label == "down" and e.score > -1.0 for e in first)
    assert last and all(not e.known and e.label == "unknown" and e.nearest == "up" for e in last)
    st = p.stats["sim"]
    assert st.unknown == sum(not e.known for e in ev) == st.label_counts["unknown"]
    assert sum(st.label_counts.values()) == len(ev)
    d = last[0].to_dict()
    assert (d["label"], d["known"], d["nearest"]) == ("unknown", False, "up") and d["score"] < -1.0
