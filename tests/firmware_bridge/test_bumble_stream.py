"""End to end over bumble: virtual watches (real GATT servers) -> LocalLink -> BumbleTransport -> E's
DeviceSession and profiles -> SampleBatch. Every sample the watch sent arrives decoded, in order, equal
within the profile's quantization; faults (drops, bursts, disconnects) are accounted for exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

pytest.importorskip("bumble", reason="virtual watches need bumble (the dev extra)")

from mujo_edge.errors import DeviceError
from mujo_edge.firmware_bridge.profiles import get_profile
from mujo_edge.firmware_bridge.profiles.infinitime import motion as it_motion
from mujo_edge.firmware_bridge.profiles.mujo import stream
from mujo_edge.firmware_bridge.profiles.polar import pmd
from mujo_edge.firmware_bridge.session import Backoff, DeviceSession
from mujo_edge.firmware_bridge.virtual import Faults, VirtualWatch, virtual_watches
from mujo_edge.samples import SampleBatch, StreamStatus

pytestmark = pytest.mark.ble

RATES_HZ = {"polar": 52.0, "mujo": 50.0, "infinitime": 10.0}
#: Largest decoding error per profile, g: half a count (Polar mG, InfiniTime 1/1024 g, MuJo +-8 g 1/4096 g).
QUANT_G = {"polar": 0.5e-3, "infinitime": 0.5 / 1024, "mujo": 0.5 / 4096}
FAST = Backoff(initial_s=0.02, max_s=0.1)


def motion(profile: str, seconds: float, seed: int = 0) -> np.ndarray:
    """(n, 3) float32 g: a wrist swinging around gravity, plus noise so every InfiniTime poll changes."""
    rate = RATES_HZ[profile]
    t = np.arange(round(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    acc = np.stack(
        [0.9 * np.sin(2 * np.pi * 0.8 * t), 0.4 * np.cos(2 * np.pi * 1.3 * t), 1 + 0.2 * t / t[-1]], 1
    )
    return (acc + rng.normal(0, 0.05, acc.shape)).astype(np.float32)


async def stream_all(
    watches: Sequence[VirtualWatch], settle_s: float = 0.1, timeout_s: float = 20.0
) -> list[tuple[DeviceSession, list[SampleBatch | StreamStatus]]]:
    """One DeviceSession per watch until every watch has sent its whole motion; the items each yielded."""
    async with virtual_watches(watches) as connector:
        runs = []
        for w in watches:
            session = DeviceSession(connector, w.name, get_profile(w.profile), w.name, backoff=FAST)
            items: list[SampleBatch | StreamStatus] = []

            async def consume(s: DeviceSession = session, out: list[Any] = items) -> None:
                async for item in s.stream():
                    out.append(item)

            runs.append((session, items, asyncio.ensure_future(consume())))
        await asyncio.wait_for(asyncio.gather(*(w.finished.wait() for w in watches)), timeout_s)
        # Wait for what is still in flight (a busy CI machine), then a little longer: a sample too many
        # would show up in the counts.
        for _ in range(500):
            if all(
                s.stats.samples >= w.stats.samples_sent - w.stats.samples_dropped
                for w, (s, _, _) in zip(watches, runs, strict=True)
            ):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(settle_s)
        for session, _, task in runs:
            await session.stop()
            await asyncio.wait_for(task, 5.0)
    return [(s, items) for s, items, _ in runs]


def batches(items: list[SampleBatch | StreamStatus]) -> list[SampleBatch]:
    return [b for b in items if isinstance(b, SampleBatch)]


def kinds(items: list[SampleBatch | StreamStatus]) -> list[str]:
    return [s.kind for s in items if isinstance(s, StreamStatus)]


def sent_indices(watch: VirtualWatch) -> np.ndarray:
    """Stream indices of every delivered sample, in send order."""
    return np.concatenate([np.arange(i, i + n) for i, n in watch.stats.delivered])


def expected_acc(watch: VirtualWatch, indices: np.ndarray) -> np.ndarray:
    rows = np.array([watch.device.motion_index(int(i)) for i in indices])
    return watch.device.acc_g[rows % len(watch.device.acc_g)]


@pytest.mark.parametrize("profile", ["polar", "infinitime", "mujo"])
def test_every_sample_sent_arrives_decoded_in_order(profile: str) -> None:
    watch = VirtualWatch(profile, motion(profile, 6.0), RATES_HZ[profile], loop=False, speed=12)
    ((session, items),) = asyncio.run(stream_all([watch]))
    got = batches(items)
    assert kinds(items) == ["connected", "stopped"]
    assert session.stats.decode_errors == 0 and session.stats.gaps == 0
    idx = sent_indices(watch)
    acc = np.concatenate([b.acc_g for b in got])
    assert watch.stats.samples_dropped == 0
    assert len(acc) == watch.stats.samples_sent == len(idx)
    assert len(idx) == (60 if profile == "infinitime" else len(watch.device.acc_g))  # nothing left out
    np.testing.assert_array_equal(idx, np.arange(len(idx)))
    np.testing.assert_allclose(acc, expected_acc(watch, idx), rtol=0, atol=QUANT_G[profile] + 1e-6)
    t_recv = np.array([b.t_recv_s for b in got])
    assert np.all(np.diff(t_recv) >= 0)
    if profile == "infinitime":
        assert all(b.t_sensor_s is None and len(b) == 1 for b in got)
        return
    t_sensor = np.concatenate([b.t_sensor_s for b in got if b.t_sensor_s is not None])
    expected_t = np.array([watch.sensor_time_s(int(i)) for i in idx])
    np.testing.assert_allclose(t_sensor, expected_t, rtol=0, atol=1e-6)
    assert np.all(np.diff(t_sensor) > 0)
    # Frames fill the negotiated MTU (247 -> 244 bytes of payload): MuJo packs 38 samples, Polar's delta
    # compression far more than raw int16 would (39).
    sizes = [len(b) for b in got[:-1]]
    if profile == "mujo":
        assert set(sizes) == {stream.max_samples_per_frame(244)} == {38}
    else:
        assert min(sizes) > 39 and session.stats.bytes / session.stats.packets <= 244


@pytest.mark.parametrize("profile", ["polar", "infinitime", "mujo"])
def test_disconnect_mid_stream_resumes_without_duplicates_and_accounts_for_every_loss(profile: str) -> None:
    faults = Faults(disconnect_at_s=(4.0,), down_s=1.0, drop_prob=0.12, seed=5)
    # ATT MTU 80: smaller frames, so several are lost and found (Polar packs ~50 samples into 244 bytes).
    watch = VirtualWatch(
        profile,
        motion(profile, 10.0, seed=1),
        RATES_HZ[profile],
        faults=faults,
        loop=False,
        speed=10,
        max_mtu=80,
    )
    ((session, items),) = asyncio.run(stream_all([watch]))
    got = batches(items)
    assert kinds(items) == ["connected", "disconnected", "reconnected", "stopped"]
    assert watch.stats.disconnects == 1 and watch.stats.connections == 2 and session.stats.reconnects == 1
    assert watch.stats.frames_dropped > 0
    # Counts add up: what arrived is what the watch sent minus what fault injection lost on the air.
    received = sum(len(b) for b in got)
    assert received == watch.stats.samples_sent - watch.stats.samples_dropped
    idx = sent_indices(watch)
    assert len(np.unique(idx)) == len(idx) and np.all(np.diff(idx) > 0)  # no duplicates, in order
    acc = np.concatenate([b.acc_g for b in got])
    np.testing.assert_allclose(acc, expected_acc(watch, idx), rtol=0, atol=QUANT_G[profile] + 1e-6)
    # The watch's motion clock ran on while the link was down: those samples were never sent.
    start2 = watch.stats.stream_starts[1]
    first_after, _ = watch.stats.delivered[start2]
    last_before = watch.stats.delivered[start2 - 1][0] + watch.stats.delivered[start2 - 1][1]
    assert first_after - last_before >= watch.device.stream_rate_hz * faults.down_s
    if profile == "infinitime":
        return  # no sequence, no timestamps: InfiniTime cannot see losses (documented); counts still add up
    t_sensor = np.concatenate([b.t_sensor_s for b in got if b.t_sensor_s is not None])
    assert np.all(np.diff(t_sensor) > 0)  # strictly increasing across the reconnect
    # Each notification is one batch; a batch says gap_before exactly when frames of the same connection
    # were lost right before it (after a reconnect the "reconnected" status marks the break instead).
    delivered = watch.stats.delivered
    assert len(got) == len(delivered)
    starts = set(watch.stats.stream_starts)
    expected_gap = [
        k not in starts and delivered[k][0] != delivered[k - 1][0] + delivered[k - 1][1]
        for k in range(len(got))
    ]
    assert [b.gap_before for b in got] == expected_gap
    assert sum(expected_gap) > 0
    lost_in_stream = sum(
        delivered[k][0] - delivered[k - 1][0] - delivered[k - 1][1]
        for k in range(len(got))
        if expected_gap[k]
    )
    assert session.profile.dropped_samples == lost_in_stream


def test_bursts_arrive_together_in_order_without_false_gaps() -> None:
    faults = Faults(burst_every=4, burst_len=3, seed=2)
    watch = VirtualWatch("mujo", motion("mujo", 8.0), 50.0, faults=faults, loop=False, speed=8)
    ((session, items),) = asyncio.run(stream_all([watch]))
    got = batches(items)
    assert watch.stats.bursts >= 2
    assert session.stats.gaps == 0 and sum(len(b) for b in got) == watch.stats.samples_sent == 400
    assert [b.seq for b in got] == list(range(len(got)))
    # Frames are 38 samples = 95 ms apart at 8x; held frames come out back to back.
    dt = np.diff([b.t_recv_s for b in got])
    assert np.sum(dt < 0.04) >= 2 * watch.stats.bursts - 1


def test_gateway_streams_several_watches_on_one_link() -> None:
    watches = [
        VirtualWatch("polar", motion("polar", 4.0), 52.0, name="left wrist", loop=False, speed=10),
        VirtualWatch("mujo", motion("mujo", 4.0, seed=3), 50.0, name="right wrist", loop=False, speed=10),
        VirtualWatch("infinitime", motion("infinitime", 4.0), 10.0, name="PineTime", loop=False, speed=10),
    ]
    runs = asyncio.run(stream_all(watches))
    assert len({w.address for w in watches}) == 3
    for watch, (session, items) in zip(watches, runs, strict=True):
        got = batches(items)
        assert {b.device for b in got} == {watch.name}
        assert sum(len(b) for b in got) == watch.stats.samples_sent == len(sent_indices(watch)) > 0
        assert session.stats.decode_errors == 0


def test_small_mtu_gives_small_frames() -> None:
    # A watch that only accepts the default ATT MTU (23): 20-byte notifications, one MuJo sample each.
    watch = VirtualWatch("mujo", motion("mujo", 1.0), 50.0, loop=False, speed=10, max_mtu=23)
    ((session, items),) = asyncio.run(stream_all([watch]))
    got = batches(items)
    assert session.transport is None  # stopped
    assert [len(b) for b in got] == [1] * 50
    # 50 one-sample frames plus the 3-byte START response on the control characteristic.
    assert session.stats.packets == 51
    assert session.stats.bytes == 50 * (stream.OVERHEAD_BYTES + stream.SAMPLE_BYTES) + 3


def test_connector_finds_by_name_address_and_service_and_reports_a_miss() -> None:
    async def scenario() -> tuple[list[str], str]:
        watch = VirtualWatch("polar", motion("polar", 1.0), 52.0)
        async with virtual_watches([watch]) as connector:
            found = []
            for target in ("Polar Sense", watch.address.lower(), "FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"):
                transport = await connector.find(target, 2.0)
                found.append(f"{transport.name}@{transport.address}")
            with pytest.raises(DeviceError) as err:
                await connector.find("Nobody", 0.2)
            return found, str(err.value)

    found, error = asyncio.run(scenario())
    assert found == ["Polar Sense@F0:00:00:00:00:01"] * 3
    assert "device 'Nobody' not found after 0 s" in error


def test_gatt_layouts_match_the_real_devices() -> None:
    from bumble.gatt import Characteristic

    C = Characteristic.Properties

    expected = {
        "polar": {pmd.PMD_CONTROL_UUID: C.READ | C.WRITE | C.INDICATE, pmd.PMD_DATA_UUID: C.NOTIFY},
        "infinitime": {
            it_motion.STEP_COUNT_UUID: C.READ | C.NOTIFY,
            it_motion.MOTION_VALUES_UUID: C.READ | C.NOTIFY,
        },
        "mujo": {
            stream.MUJO_INFO_UUID: C.READ,
            stream.MUJO_CONTROL_UUID: C.WRITE | C.INDICATE,
            stream.MUJO_DATA_UUID: C.NOTIFY,
        },
    }

    async def discover(profile: str) -> tuple[dict[str, int], int]:
        watch = VirtualWatch(profile, motion(profile, 1.0), RATES_HZ[profile])
        async with virtual_watches([watch]) as connector:
            transport = await connector.find(get_profile(profile).service_uuid, 2.0)
            await transport.connect(2.0)
            props = {u: int(c.properties) for u, c in transport._chars.items() if u in expected[profile]}  # type: ignore[attr-defined]
            mtu = transport.mtu
            await transport.disconnect()
            return props, mtu

    for profile, chars in expected.items():
        props, mtu = asyncio.run(discover(profile))
        assert props == {u: int(p) for u, p in chars.items()}, profile
        assert mtu == 247  # the MTU exchange happened


def test_jitter_and_clock_drift_keep_every_sample_in_order() -> None:
    faults = Faults(jitter_s=0.03, clock_skew_ppm=-180.0, seed=4)
    watch = VirtualWatch("polar", motion("polar", 6.0), 52.0, faults=faults, loop=False, speed=12, max_mtu=60)
    ((session, items),) = asyncio.run(stream_all([watch]))
    got = batches(items)
    assert sum(len(b) for b in got) == watch.stats.samples_sent == 312 and session.stats.gaps == 0
    t_sensor = np.concatenate([b.t_sensor_s for b in got if b.t_sensor_s is not None])
    np.testing.assert_allclose(np.diff(t_sensor), 1 / 52, rtol=0, atol=1e-6)  # the sensor clock's own spacing
    # Frames of 8 samples are 12.8 ms apart at 12x; jitter of up to 30 ms makes their arrival uneven.
    dt = np.diff([b.t_recv_s for b in got])
    assert dt.std() > 0.004
