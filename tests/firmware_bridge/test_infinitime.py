"""InfiniTime Motion Service: 3 x int16 at 1024 counts per g, host-stamped, honest about its low rate."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

from mujo_edge.errors import ProtocolError
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles import get_profile
from mujo_edge.firmware_bridge.profiles.infinitime import InfiniTimeProfile, motion
from mujo_edge.firmware_bridge.record import Notification, ReplayConnector, ReplayDevice
from mujo_edge.firmware_bridge.session import DeviceSession
from mujo_edge.samples import SampleBatch


def test_a_still_watch_reads_one_g() -> None:
    profile = InfiniTimeProfile(device="pinetime")
    (batch,) = profile.decode(motion.MOTION_VALUES_UUID, 12.5, bytes.fromhex("0000000000fc"))  # z = -1024
    np.testing.assert_array_equal(batch.acc_g, [[0.0, 0.0, -1.0]])
    assert batch.t_sensor_s is None and batch.t_recv_s == 12.5 and batch.rate_hz == 10.0
    assert profile.host_stamped and batch.seq is None and not batch.gap_before


def test_encode_decode_round_trip_within_one_count() -> None:
    acc_g = np.array([0.123, -0.5, 1.98])
    payload = motion.encode_motion(acc_g)
    assert len(payload) == 6
    np.testing.assert_allclose(motion.decode_motion(payload)[0], acc_g, atol=0.5 / 1024)
    assert motion.encode_motion(np.array([40.0, -40.0, 0])) == bytes.fromhex("ff7f00800000")  # clipped


@pytest.mark.parametrize("length", [0, 1, 5, 7, 12])
def test_wrong_length_is_a_protocol_error(length: int) -> None:
    with pytest.raises(ProtocolError, match=f"expected 6 bytes .*got {length}"):
        InfiniTimeProfile().decode(motion.MOTION_VALUES_UUID, 0.0, bytes(length))


def test_step_count_and_other_characteristics() -> None:
    assert motion.decode_step_count(motion.encode_step_count(12345)) == 12345
    with pytest.raises(ProtocolError):
        motion.decode_step_count(b"\x01")
    assert InfiniTimeProfile().decode(motion.STEP_COUNT_UUID, 0.0, motion.encode_step_count(3)) == []


def test_session_subscribes_warns_and_stamps_with_host_time(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0, 0.3, size=(30, 3)) + np.array([0.0, 0.0, 1.0])
    notes = [
        Notification(1.0 + 0.1 * i, motion.MOTION_VALUES_UUID, motion.encode_motion(v))
        for i, v in enumerate(values)
    ]
    connector = ReplayConnector(
        notes, ReplayDevice.for_profile("infinitime"), (motion.MOTION_VALUES_UUID,), Faults()
    )
    profile = get_profile("infinitime")
    session = DeviceSession(connector, "replay", profile, "pinetime")
    got: list[SampleBatch] = []

    async def main() -> None:
        async def consume() -> None:
            async for item in session.stream():
                if isinstance(item, SampleBatch):
                    got.append(item)

        task = asyncio.ensure_future(consume())
        await connector.finished.wait()
        await session.stop()
        await task

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
    assert "only on change, without sensor timestamps" in caplog.text
    assert connector.transports[0].subscriptions == [motion.MOTION_VALUES_UUID] and connector.writes == []
    assert [b.t_recv_s for b in got] == pytest.approx([1.0 + 0.1 * i for i in range(30)])
    np.testing.assert_allclose(np.concatenate([b.acc_g for b in got]), values, atol=0.5 / 1024)
    assert all(b.t_sensor_s is None for b in got)
