"""The runtime fed by the real BLE session code over a fault-injecting replay link (firmware_bridge.record.ReplayConnector):
no sample lost but those the radio lost, every gap flagged, cut windows counted, reconnects restart the grid,
and replaying the recording the live run made gives the same events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.events import ActivityEvent
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles import get_profile
from mujo_edge.firmware_bridge.profiles.polar import pmd
from mujo_edge.firmware_bridge.record import Notification, Recorder, ReplayConnector, ReplayDevice
from mujo_edge.firmware_bridge.session import DeviceSession
from mujo_edge.gateway import recorded_settings, replay_events, run_sessions
from mujo_edge.pipeline import Pipeline

RATE = 52.0
FRAME = 10  # samples per notification
LABELS = ["down", "up"]


class MeanXRunner:
    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        p_up = 1.0 / (1.0 + np.exp(-20.0 * windows_g[:, :, 0].mean(axis=1)))
        return np.stack([1 - p_up, p_up], axis=1).astype(np.float32)


def polar_notifications(seconds: float, seed: int = 0) -> list[Notification]:
    """PMD ACC frames (int16 mG) of a watch whose x flips from -0.5 g to +0.5 g half way."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE) // FRAME * FRAME
    t = np.arange(n) / RATE
    acc = np.stack([np.where(t < seconds / 2, -0.5, 0.5), 0.3 * np.sin(2 * np.pi * t), 1 + 0 * t], 1)
    mg = np.round(acc * 1000).astype(np.int64)
    t_sensor_ns = 8.0e17 + t * 1e9 * (1 + 80e-6)  # the watch's clock runs 80 ppm fast
    notes = []
    for a in range(0, n, FRAME):
        b = a + FRAME
        frame = pmd.encode_acc_frame_raw(mg[a:b], int(t_sensor_ns[b - 1]))
        t_recv = 500.0 + t[b - 1] + 0.008 + rng.exponential(0.01)
        notes.append(Notification(t_recv, pmd.PMD_DATA_UUID, frame))
    return notes


def live_run(tmp_path: Path, faults: Faults, seconds: float = 90.0):
    notes = polar_notifications(seconds)
    connector = ReplayConnector(
        notes,
        ReplayDevice.for_profile("polar", {"rate_hz": RATE}),
        (pmd.PMD_DATA_UUID,),
        faults,
        name="watch",
    )
    profile = get_profile("polar", rate_hz=RATE)
    rec_path = tmp_path / "raw.jsonl"
    recorder = Recorder(rec_path, "watch", profile, meta={"mujo_edge_stream": {"smooth": 1}})

    async def no_sleep(_s: float) -> None:
        await asyncio.sleep(0)

    session = DeviceSession(connector, "watch", profile, "watch", recorder=recorder, sleep=no_sleep)
    pipeline = Pipeline(MeanXRunner(), LABELS)
    events: list[ActivityEvent] = []

    async def main() -> None:
        stop = asyncio.Event()

        async def watch_end() -> None:
            await connector.finished.wait()
            await asyncio.sleep(0.05)
            stop.set()

        ender = asyncio.ensure_future(watch_end())
        await asyncio.wait_for(
            run_sessions([session], pipeline, events.extend, stop_event=stop, tick_s=0.01), 30
        )
        ender.cancel()

    asyncio.run(main())
    recorder.close()
    return notes, connector, session, pipeline, events, rec_path


def test_clean_replay_link_gives_every_sample_and_window(tmp_path: Path) -> None:
    notes, connector, session, pipeline, events, _ = live_run(tmp_path, Faults())
    st = pipeline.stats["watch"]
    assert connector.delivered == len(notes)
    assert st.samples_in == len(notes) * FRAME == session.stats.samples
    assert (st.gaps, st.samples_lost, st.windows_dropped_at_gaps, st.reconnects) == (0, 0, 0, 0)
    assert len(events) == st.windows == 88  # 90 s of 50 Hz grid, less the filter delay and the tail
    assert st.clock_skew_ppm == pytest.approx(80.0, abs=40.0)
    labels = [e.label for e in events]
    assert labels[:40] == ["down"] * 40 and labels[-40:] == ["up"] * 40


def test_drops_bursts_and_disconnects_are_flagged_counted_and_never_bridged(tmp_path: Path) -> None:
    faults = Faults(
        drop_indices=frozenset({40, 41, 200, 333}),
        burst_every=25,
        burst_len=5,
        disconnect_at_s=(30.0, 60.0),
        down_s=2.0,
    )
    notes, connector, session, pipeline, events, rec_path = live_run(tmp_path, faults)
    st = pipeline.stats["watch"]
    # Nothing lost on our side: every delivered notification's samples reached the pipeline.
    assert st.samples_in == connector.delivered * FRAME
    assert connector.lost > 4  # the drops plus everything sent while the link was down
    assert st.reconnects == 2 == session.stats.reconnects
    assert st.gaps == 3  # 40-41 (one gap), 200, 333; the link losses end runs through the reconnect instead
    assert st.samples_lost == 4 * FRAME
    assert st.windows_dropped_at_gaps >= st.gaps + st.reconnects
    # No event's window contains a lost sample: map the lost frames' sensor times to host time.
    clock = pipeline._devices["watch"].clock
    lost_t = _lost_sensor_times(notes, rec_path)
    assert lost_t.size >= connector.lost * FRAME - FRAME
    lost_host = np.asarray(clock.to_host(lost_t))
    for e in events:
        assert e.t_end - e.t_start == pytest.approx(2.0, abs=2e-3)
        inside = (lost_host > e.t_start + 0.005) & (lost_host < e.t_end - 0.005)
        assert not inside.any(), e
    assert np.all(np.diff([e.t_start for e in events]) > 0)


def _lost_sensor_times(notes: list[Notification], rec_path: Path) -> np.ndarray:
    """Sensor times (s) of every sample in a notification that never reached the recording."""
    from mujo_edge.firmware_bridge.record import replay_batches
    from mujo_edge.samples import SampleBatch

    def end_s(payload: bytes) -> float:
        return pmd.decode_acc_frame(payload).timestamp_ns * 1e-9 + pmd.PMD_EPOCH_UNIX_S

    got = {round(float(b.t_sensor_s[-1]), 6) for b in replay_batches(rec_path) if isinstance(b, SampleBatch)}
    ends = [end_s(n.payload) for n in notes]
    lost = [t for t in ends if round(t, 6) not in got]
    return np.concatenate([t - np.arange(FRAME)[::-1] / RATE for t in lost])


def test_replaying_the_recording_gives_the_same_events(tmp_path: Path) -> None:
    faults = Faults(drop_indices=frozenset({100}), burst_every=30, burst_len=4, disconnect_at_s=(40.0,))
    _, _, _, _, events, rec_path = live_run(tmp_path, faults)
    assert len(events) > 60
    again = replay_events([rec_path], Pipeline(MeanXRunner(), LABELS))
    assert [e.to_json() for e in again] == [e.to_json() for e in events]
    assert again == events  # bit for bit, not just after rounding
    assert recorded_settings([rec_path]) == {"smooth": 1}
