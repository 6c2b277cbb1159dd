"""DeviceSession against the deterministic replay transport: reconnect, backoff, no lost/duplicated samples."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

from mujo_edge.errors import DeviceError
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles.mujo import MujoStreamProfile, stream
from mujo_edge.firmware_bridge.profiles.polar import PolarPmdProfile, pmd
from mujo_edge.firmware_bridge.record import Notification, ReplayConnector, ReplayDevice
from mujo_edge.firmware_bridge.session import Backoff, DeviceSession
from mujo_edge.samples import SampleBatch, StreamStatus

RATE_CENTIHZ = 5000
PER_FRAME = 5  # samples per notification


def mujo_notifications(n_frames: int = 100, latency_s: float = 0.02) -> tuple[list[Notification], np.ndarray]:
    """Frames of a 50 Hz ramp (x counts = sample index) with receive time = end of frame + latency."""
    rng = np.random.default_rng(0)
    counts = np.zeros((n_frames * PER_FRAME, 3), dtype=np.int16)
    counts[:, 0] = np.arange(len(counts))
    counts[:, 1:] = rng.integers(-4096, 4096, size=(len(counts), 2))
    enc = stream.MujoStreamEncoder(RATE_CENTIHZ, 2, max_payload_bytes=stream.OVERHEAD_BYTES + 6 * PER_FRAME)
    frames = enc.encode(1_000_000, counts)
    notes = [
        Notification(10.0 + (i + 1) * PER_FRAME / 50 + latency_s, stream.MUJO_DATA_UUID, f)
        for i, f in enumerate(frames)
    ]
    return notes, counts


def mujo_connector(faults: Faults | None = None, n_frames: int = 100) -> tuple[ReplayConnector, np.ndarray]:
    notes, counts = mujo_notifications(n_frames)
    device = ReplayDevice.for_profile("mujo", {"rate_hz": 50.0})
    return ReplayConnector(notes, device, (stream.MUJO_DATA_UUID,), faults or Faults(), name="watch"), counts


async def run_session(session: DeviceSession, connector: ReplayConnector) -> list[SampleBatch | StreamStatus]:
    items: list[SampleBatch | StreamStatus] = []

    async def consume() -> None:
        async for item in session.stream():
            items.append(item)

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(connector.finished.wait(), 10)
    await session.stop()
    await asyncio.wait_for(task, 10)
    return items


def batches(items: list) -> list[SampleBatch]:
    return [i for i in items if isinstance(i, SampleBatch)]


def kinds(items: list) -> list[str]:
    return [i.kind for i in items if isinstance(i, StreamStatus)]


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def test_backoff_doubles_from_half_a_second_to_thirty() -> None:
    delays = Backoff().delays_s()
    assert [next(delays) for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_clean_stream_yields_every_sample_once_in_order() -> None:
    connector, counts = mujo_connector()
    session = DeviceSession(connector, "watch", MujoStreamProfile(), "left")
    items = asyncio.run(run_session(session, connector))
    got = np.concatenate([b.acc_g for b in batches(items)])
    np.testing.assert_allclose(got * 4096, counts.astype(np.float32), atol=1e-3)
    t = np.concatenate([b.t_sensor_s for b in batches(items)])
    np.testing.assert_allclose(np.diff(t), 0.02, atol=1e-9)
    assert kinds(items) == ["connected", "stopped"]
    # 100 data frames + the START response on the control characteristic
    assert session.stats.packets == 101 and session.stats.decode_errors == 0 and session.stats.samples == 500
    assert all(b.device == "left" and b.rate_hz == 50.0 for b in batches(items))


def test_disconnect_reconnects_with_backoff_new_transport_and_restarts_stream() -> None:
    faults = Faults(disconnect_at_s=(0.9,), down_s=0.3, scan_failures=2)
    connector, _ = mujo_connector(faults)
    sleep = FakeSleep()
    session = DeviceSession(connector, "watch", MujoStreamProfile(), "left", sleep=sleep)
    items = asyncio.run(run_session(session, connector))

    assert kinds(items) == ["connected", "disconnected", "reconnected", "stopped"]
    # Two scans fail after the drop, so three waits: 0.5 s, then 1 s, then 2 s before the third (good) scan.
    assert sleep.delays == [0.5, 1.0, 2.0]
    assert session.stats.reconnects == 1 and session.stats.reconnect_attempts == 3
    # A NEW transport per connection, each subscribed to control + data, and START sent on each.
    assert len(connector.transports) == 2 and connector.transports[0] is not connector.transports[1]
    for tr in connector.transports:
        assert sorted(tr.subscriptions) == sorted([stream.MUJO_CONTROL_UUID, stream.MUJO_DATA_UUID])
    starts = [w for w in connector.writes if w[1][0] == stream.OP_START]
    assert len(starts) == 2
    # The notifications inside the 0.3 s outage are lost; every other sample arrives once, in order.
    x = np.concatenate([np.rint(b.acc_g[:, 0] * 4096) for b in batches(items)]).astype(int)
    assert np.all(np.diff(x) > 0)
    assert len(x) == len(set(x.tolist())) == 500 - PER_FRAME * connector.lost
    assert connector.lost == 3  # frames received at 0.9 .. 1.2 s (each 0.1 s)
    t = np.concatenate([b.t_sensor_s for b in batches(items)])
    assert np.all(np.diff(t) > 0)


def test_bad_packets_are_counted_and_skipped_and_gaps_flagged() -> None:
    faults = Faults(corrupt_indices=frozenset({3, 40}), drop_indices=frozenset({10, 11}))
    connector, _ = mujo_connector(faults)
    profile = MujoStreamProfile()
    session = DeviceSession(connector, "watch", profile, "left")
    items = asyncio.run(run_session(session, connector))
    assert session.stats.decode_errors == 2 and session.stats.packets == 98 + 1
    got = batches(items)
    assert len(got) == 96
    gap_seqs = [b.seq for b in got if b.gap_before]
    assert gap_seqs == [4, 12, 41]  # after the corrupt frame 3, the dropped 10-11, the corrupt 40
    assert profile.dropped_samples == 4 * PER_FRAME
    assert session.stats.gaps == 3


def test_bursts_and_clock_skew_reach_the_batches() -> None:
    faults = Faults(burst_every=10, burst_len=4, clock_skew_ppm=100.0, clock_offset_s=0.5)
    connector, _ = mujo_connector(faults)
    session = DeviceSession(connector, "watch", MujoStreamProfile(), "left")
    got = batches(asyncio.run(run_session(session, connector)))
    t_recv = np.array([b.t_recv_s for b in got])
    # frames 0..3 arrive together with frame 3's receive time, sooner by the fast sensor clock
    expected_3 = 10.0 + 0.5 + (4 * 0.1 + 0.02 - 0.12) / (1 + 100e-6) + 0.12
    assert t_recv[0] == t_recv[3] == pytest.approx(expected_3, abs=1e-9)
    assert len(set(t_recv.tolist())) == 100 - 10 * 3


def test_polar_session_reads_features_gets_settings_and_starts_with_them() -> None:
    samples = np.stack([np.arange(520), np.zeros(520), np.full(520, 1000)], axis=1).astype(int)
    notes = [
        Notification(
            5.0 + (i + 1) * 0.2,
            pmd.PMD_DATA_UUID,
            pmd.encode_acc_frame_delta(samples[i * 10 : (i + 1) * 10], 10**12 + (i + 1) * 10 * 10**9 // 52),
        )
        for i in range(52)
    ]
    device = ReplayDevice.for_profile("polar", {"rate_hz": 52, "factor": 1.0})
    connector = ReplayConnector(
        notes, device, (pmd.PMD_DATA_UUID,), Faults(disconnect_at_s=(4.0,), down_s=0.0)
    )
    profile = PolarPmdProfile()
    session = DeviceSession(connector, "replay", profile, "polar", sleep=FakeSleep())
    items = asyncio.run(run_session(session, connector))
    ops = [w[1][:2] for w in connector.writes]
    # GET then START; both again after the reconnect; STOP when the session stops.
    assert ops == [b"\x01\x02", b"\x02\x02", b"\x01\x02", b"\x02\x02", b"\x03\x02"]
    assert connector.writes[1][1] == bytes.fromhex("0202 0001 3400 0101 1000 0201 0800")
    assert profile.rate_hz == 52.0
    got = batches(items)
    x = np.concatenate([b.acc_g[:, 0] for b in got])
    np.testing.assert_allclose(x, np.arange(520) / 1000, rtol=1e-6)
    np.testing.assert_allclose(np.concatenate([b.acc_g[:, 2] for b in got]), 1.0)
    assert kinds(items) == ["connected", "disconnected", "reconnected", "stopped"]


def test_first_connection_failure_is_a_clear_device_error() -> None:
    connector, _ = mujo_connector()
    session = DeviceSession(connector, "Polar H10 1234", MujoStreamProfile(), "left")

    async def first() -> None:
        async for _ in session.stream():
            pass

    with pytest.raises(DeviceError, match=r"device 'Polar H10 1234' not found after 10 s"):
        asyncio.run(first())


def test_watch_refusing_the_rate_names_what_it_offers() -> None:
    connector, _ = mujo_connector()
    session = DeviceSession(connector, "watch", MujoStreamProfile(rate_hz=25.0), "left")

    async def first() -> None:
        async for _ in session.stream():
            pass

    with pytest.raises(DeviceError, match=r"does not offer 25.0 Hz; it offers \[50.0\] Hz"):
        asyncio.run(first())


def test_gives_up_after_max_reconnect_attempts(caplog: pytest.LogCaptureFixture) -> None:
    faults = Faults(disconnect_at_s=(0.5,), scan_failures=100)
    connector, _ = mujo_connector(faults)
    session = DeviceSession(
        connector, "watch", MujoStreamProfile(), "left", sleep=FakeSleep(), max_reconnect_attempts=4
    )
    items: list = []

    async def consume() -> None:
        async for item in session.stream():
            items.append(item)

    with caplog.at_level(logging.WARNING), pytest.raises(DeviceError, match="gave up after 4 attempts"):
        asyncio.run(consume())
    assert kinds(items) == ["connected", "disconnected"]
    assert len(batches(items)) == 5  # frames at 0 .. 0.4 s (after the first) arrived before the drop
    assert connector.finds == 5


def test_stop_during_backoff_cancels_the_reconnection() -> None:
    faults = Faults(disconnect_at_s=(0.3,), scan_failures=100)
    connector, _ = mujo_connector(faults)

    async def slow_sleep(_: float) -> None:
        await asyncio.sleep(3600)

    session = DeviceSession(connector, "watch", MujoStreamProfile(), "left", sleep=slow_sleep)

    async def main() -> list:
        items: list = []
        async for item in session.stream():
            items.append(item)
            if isinstance(item, StreamStatus) and item.kind == "disconnected":
                await session.stop()
        return items

    items = asyncio.run(asyncio.wait_for(main(), 5))
    assert kinds(items) == ["connected", "disconnected", "stopped"]
    assert session.stats.reconnect_attempts == 0


def test_retry_first_connect_waits_with_backoff_until_the_watch_appears() -> None:
    connector, _ = mujo_connector(Faults(first_scan_failures=3))
    sleep = FakeSleep()
    session = DeviceSession(
        connector, "watch", MujoStreamProfile(), "left", sleep=sleep, retry_first_connect=True
    )
    items = asyncio.run(run_session(session, connector))
    assert sleep.delays == [0.5, 1.0, 2.0] and connector.finds == 4
    assert kinds(items) == ["connected", "stopped"] and session.stats.samples == 500
    assert session.stats.reconnects == 0


def test_polar_stopping_on_its_own_restarts_the_stream() -> None:
    frames = [
        Notification(
            1.0 + 0.1 * i, pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(np.full((5, 3), i), 10**12 + i * 10**8)
        )
        for i in range(20)
    ]
    frames.insert(
        10, Notification(1.95, pmd.PMD_CONTROL_UUID, bytes((0x01, pmd.MEAS_ACC)))
    )  # "I stopped ACC"
    device = ReplayDevice.for_profile("polar", {"rate_hz": 52})
    connector = ReplayConnector(frames, device, (pmd.PMD_DATA_UUID,), Faults(down_s=0.0))
    session = DeviceSession(connector, "replay", PolarPmdProfile(), "h10", sleep=FakeSleep())
    items = asyncio.run(run_session(session, connector))
    assert kinds(items) == ["connected", "device_stopped", "disconnected", "reconnected", "stopped"]
    assert len(connector.transports) == 2
    assert [w[1][:2] for w in connector.writes].count(b"\x02\x02") == 2  # START sent again
    values = [int(b.acc_g[0, 0] * 1000) for b in batches(items)]
    assert values == sorted(values) and len(values) == len(set(values))


def test_an_unexpected_error_while_reconnecting_ends_the_stream_clearly() -> None:
    connector, _ = mujo_connector(Faults(disconnect_at_s=(0.5,)))
    original_find = connector.find

    async def broken_find(target: str, timeout_s: float):
        if connector.finds >= 1:
            raise RuntimeError("adapter driver crashed")
        return await original_find(target, timeout_s)

    connector.find = broken_find  # type: ignore[method-assign]
    session = DeviceSession(connector, "watch", MujoStreamProfile(), "left", sleep=FakeSleep())

    async def consume() -> None:
        async for _ in session.stream():
            pass

    with pytest.raises(
        DeviceError, match="unexpected error while connecting: RuntimeError: adapter driver crashed"
    ):
        asyncio.run(consume())


def test_stop_before_the_stream_starts_is_not_lost() -> None:
    connector, _ = mujo_connector()
    session = DeviceSession(connector, "watch", MujoStreamProfile(), "left")

    async def main() -> list:
        await session.stop()
        return [item async for item in session.stream()]

    items = asyncio.run(asyncio.wait_for(main(), 5))
    assert kinds(items) == ["stopped"] and connector.finds == 0


def test_real_time_replay_paces_notifications() -> None:
    notes, _ = mujo_notifications(n_frames=6)  # 0.1 s apart in recording time
    device = ReplayDevice.for_profile("mujo", {"rate_hz": 50.0})
    connector = ReplayConnector(notes, device, (stream.MUJO_DATA_UUID,), Faults(), speed=10.0, name="watch")
    session = DeviceSession(connector, "watch", MujoStreamProfile(), "left")

    async def timed() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await run_session(session, connector)
        return loop.time() - start

    elapsed = asyncio.run(timed())
    assert 0.045 <= elapsed < 1.0  # 5 gaps of 0.1 s at 10x speed = 0.05 s
    assert session.stats.samples == 6 * PER_FRAME


def test_random_loss_is_seeded_and_every_loss_is_accounted_for() -> None:
    results = []
    for _ in range(2):
        connector, _ = mujo_connector(Faults(drop_prob=0.2, seed=11))
        profile = MujoStreamProfile()
        session = DeviceSession(connector, "watch", profile, "left")
        got = batches(asyncio.run(run_session(session, connector)))
        results.append([b.seq for b in got])
        assert connector.lost > 5
        assert len(got) + connector.lost == 100
        # every lost frame is seen as a gap, except those before the first / after the last frame received
        leading, trailing = got[0].seq, 99 - got[-1].seq
        assert profile.dropped_samples == PER_FRAME * (connector.lost - leading - trailing)
    assert results[0] == results[1]


def test_replay_is_found_by_name_address_or_service() -> None:
    connector, _ = mujo_connector()
    connector.service_uuids = (stream.MUJO_SERVICE_UUID,)
    for target in ("watch", "REPLAY:00", stream.MUJO_SERVICE_UUID.upper()):
        assert connector.matches(target)
    assert not connector.matches("other")
