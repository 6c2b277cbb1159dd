"""Polar PMD: the SDK's golden vectors decode exactly; settings, responses, timing, gaps and the encoder."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.errors import DeviceError, ProtocolError
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles.polar import PolarDevice, PolarPmdProfile, pmd
from mujo_edge.firmware_bridge.record import Notification, ReplayConnector, ReplayDevice
from mujo_edge.firmware_bridge.session import DeviceSession

# Values asserted in polar-ble-sdk's AccDataTest.kt, frames rebuilt with a PMD header.
VECTORS = json.loads((Path(__file__).parent / "vectors" / "polar_pmd_vectors.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_golden_vector_decodes_every_raw_sample(vector: dict) -> None:
    frame = pmd.decode_acc_frame(bytes.fromhex(vector["frame_hex"]))
    expected = np.array(vector.get("all_raw_samples") or vector["samples_mg"])
    assert frame.timestamp_ns == vector["timestamp_ns_since_2000"]
    assert len(frame.raw) == vector.get("sample_count", len(expected))
    np.testing.assert_array_equal(frame.raw, expected)
    if "first_raw_samples" in vector:
        np.testing.assert_array_equal(frame.raw[:2], vector["first_raw_samples"])


def test_compressed_type0_vector_shape_and_type() -> None:
    frame = pmd.decode_acc_frame(bytes.fromhex(VECTORS[0]["frame_hex"]))
    assert frame.compressed and frame.frame_type == 0 and frame.raw.shape == (57, 3)
    assert frame.raw[-1].tolist() == VECTORS[0]["all_raw_samples"][-1]
    # type 0 is in g x FACTOR: factor 1/1000 -> first sample x = 1.905 g
    assert frame.to_g(0.001)[0, 0] == pytest.approx(1.905, abs=1e-6)


def test_first_frame_is_timed_at_the_nominal_rate_ending_at_its_timestamp() -> None:
    profile = PolarPmdProfile(device="h10", rate_hz=52)
    (batch,) = profile.decode(pmd.PMD_DATA_UUID, 7.0, bytes.fromhex(VECTORS[0]["frame_hex"]))
    expected_ns = 2_000_000_000 - (56 - np.arange(57)) * (1e9 / 52)
    np.testing.assert_allclose(batch.t_sensor_s, expected_ns * 1e-9 + pmd.PMD_EPOCH_UNIX_S, rtol=0, atol=1e-6)
    assert batch.t_sensor_s[-1] == pytest.approx(946_684_802.0, abs=1e-6)
    assert batch.rate_hz == 52 and batch.t_recv_s == 7.0 and not batch.gap_before


def test_later_frames_are_interpolated_from_the_previous_timestamp() -> None:
    times = pmd.sample_times_ns(101, 2, 52, previous_ns=100)
    np.testing.assert_allclose(times, [100.5, 101.0])
    # raw type 1 H10 vector after a frame that ended 2 samples earlier at 200 Hz: 5 ms spacing
    profile = PolarPmdProfile(rate_hz=200)
    profile.decode(pmd.PMD_DATA_UUID, 0.0, pmd.encode_acc_frame_raw(np.zeros((1, 3)), 1_990_000_000))
    (batch,) = profile.decode(pmd.PMD_DATA_UUID, 0.1, bytes.fromhex(VECTORS[2]["frame_hex"]))
    np.testing.assert_allclose(np.diff(batch.t_sensor_s), 0.005, atol=1e-7)
    np.testing.assert_allclose(batch.acc_g, [[-0.009, -0.001, 0.999], [-0.008, -0.002, 0.997]], atol=1e-6)


def test_timestamp_jump_is_a_gap_counted_in_samples() -> None:
    profile = PolarPmdProfile(rate_hz=52)
    interval = 1e9 / 52
    first = pmd.encode_acc_frame_raw(np.ones((10, 3)), 10**12)
    # 30 samples' worth of time but only 10 samples: 20 samples were lost
    second = pmd.encode_acc_frame_raw(np.ones((10, 3)), int(10**12 + 30 * interval))
    profile.decode(pmd.PMD_DATA_UUID, 0.0, first)
    (batch,) = profile.decode(pmd.PMD_DATA_UUID, 1.0, second)
    assert batch.gap_before and profile.dropped_samples == 20 and profile.gaps == 1
    np.testing.assert_allclose(np.diff(batch.t_sensor_s), interval * 1e-9, atol=1e-6)  # float64 Unix seconds
    profile.reset()
    (again,) = profile.decode(pmd.PMD_DATA_UUID, 2.0, second)
    assert not again.gap_before


def test_encoders_reproduce_the_golden_bytes() -> None:
    raw_vec, delta_vec = VECTORS[2], VECTORS[0]
    frame = pmd.decode_acc_frame(bytes.fromhex(raw_vec["frame_hex"]))
    assert pmd.encode_acc_frame_raw(frame.raw, frame.timestamp_ns, 1).hex() == raw_vec["frame_hex"]
    frame = pmd.decode_acc_frame(bytes.fromhex(delta_vec["frame_hex"]))
    assert (
        pmd.encode_acc_frame_delta(frame.raw, frame.timestamp_ns, 0, delta_bits=10).hex()
        == delta_vec["frame_hex"]
    )


@pytest.mark.parametrize("frame_type", [0, 1, 2])
def test_raw_frames_round_trip(frame_type: int) -> None:
    rng = np.random.default_rng(frame_type)
    hi = 1 << (8 * (frame_type + 1) - 1)
    samples = rng.integers(-hi, hi, size=(33, 3))
    samples[0], samples[1] = -hi, hi - 1  # both ends of the range (the sign bit)
    frame = pmd.decode_acc_frame(pmd.encode_acc_frame_raw(samples, 123456789, frame_type))
    np.testing.assert_array_equal(frame.raw, samples)
    assert frame.raw.dtype == np.int64 and frame.raw.shape == (33, 3)
    assert not frame.compressed and frame.frame_type == frame_type and frame.timestamp_ns == 123456789


def test_delta_frames_round_trip_with_minimal_widths_and_blocks() -> None:
    rng = np.random.default_rng(1)
    samples = np.cumsum(rng.integers(-300, 300, size=(600, 3)), axis=0).clip(-32768, 32767)
    payload = pmd.encode_acc_frame_delta(samples, 5, frame_type=1, block=37)
    np.testing.assert_array_equal(pmd.decode_acc_frame(payload).raw, samples)
    still = np.tile([[0, 0, 1000]], (20, 1))
    assert len(pmd.encode_acc_frame_delta(still, 5)) == 10 + 6 + 2 + 8  # constant: 1-bit deltas, 19x3 bits


def test_settings_parse_and_encode_like_the_h10_start_command() -> None:
    h10 = bytes.fromhex("0202 0001 C800 0101 1000 0201 0800")
    settings = pmd.parse_settings(h10[2:])
    assert settings == {0: [200], 1: [16], 2: [8]}
    assert bytes((2, 2)) + pmd.encode_settings({0: 200, 1: 16, 2: 8}) == h10
    offered = pmd.parse_settings(bytes.fromhex("0004 1900 3200 6400 C800 0101 1000 0203 0200 0400 0800"))
    assert offered == {0: [25, 50, 100, 200], 1: [16], 2: [2, 4, 8]}
    assert PolarPmdProfile().choose_settings(offered) == {0: 200, 1: 16, 2: 8}
    assert PolarPmdProfile(rate_hz=50, range_g=4).choose_settings(offered) == {0: 50, 1: 16, 2: 4}
    vs = {0: [52], 1: [16], 2: [8], 4: [3], 5: [0.0024]}
    assert PolarPmdProfile().choose_settings(vs) == {0: 52, 1: 16, 2: 8, 4: 3}
    with pytest.raises(ProtocolError, match="unknown setting id 9"):
        pmd.parse_settings(bytes((9, 1, 0)))
    with pytest.raises(ProtocolError, match="needs 2 bytes"):
        pmd.parse_settings(bytes((0, 1, 5)))


def test_control_point_responses_and_status_names() -> None:
    ok = pmd.parse_response(pmd.encode_response(2, 2, parameters=pmd.encode_settings({5: 0.5})))
    assert ok.ok and ok.op == 2 and pmd.parse_settings(ok.parameters) == {5: [0.5]}
    bad = pmd.parse_response(bytes.fromhex("f0020208"))
    assert not bad.ok and bad.status_name == "ERROR_INVALID_SAMPLE_RATE"
    assert pmd.status_name(13) == "ERROR_DEVICE_IN_CHARGER" and pmd.status_name(14) == "ERROR_DISK_FULL"
    assert pmd.status_name(99) == "UNKNOWN_STATUS_99"
    assert pmd.parse_features(bytes.fromhex("0f0400")) == {2}
    with pytest.raises(ProtocolError):
        pmd.parse_response(bytes.fromhex("f002"))


def test_unsolicited_stop_becomes_a_device_stopped_event_and_start_response_sets_factor() -> None:
    profile = PolarPmdProfile()
    assert profile.decode(pmd.PMD_CONTROL_UUID, 1.0, bytes((0x01, 0x02))) == []
    assert profile.take_events() == [("device_stopped", "the Polar device stopped measurement types [2]")]
    assert profile.take_events() == []
    profile.decode(
        pmd.PMD_CONTROL_UUID, 1.0, pmd.encode_response(2, 2, parameters=pmd.encode_settings({5: 0.25}))
    )
    assert profile.factor == 0.25
    with pytest.raises(ProtocolError, match="unknown indication"):
        profile.decode(pmd.PMD_CONTROL_UUID, 1.0, bytes((0x07, 0x02)))


def test_device_refusal_raises_device_error_with_the_status_name() -> None:
    class InCharger(pmd.PmdDeviceModel):
        def handle_command(self, data: bytes) -> list[bytes]:
            if data[0] == pmd.OP_START:
                return [pmd.encode_response(2, 2, status=13)]
            return super().handle_command(data)

    note = Notification(1.0, pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(np.zeros((1, 3)), 10**9))
    connector = ReplayConnector(
        [note], ReplayDevice(PolarDevice.for_replay({}, model=InCharger())), (pmd.PMD_DATA_UUID,), Faults()
    )
    session = DeviceSession(connector, "replay", PolarPmdProfile(), "polar")

    async def first() -> None:
        async for _ in session.stream():
            pass

    with pytest.raises(DeviceError, match=r"ERROR_DEVICE_IN_CHARGER.*off its charger"):
        asyncio.run(first())


def test_device_without_acc_is_refused_clearly() -> None:
    model = pmd.PmdDeviceModel(features=(0, 1))  # ECG + PPG only
    connector = ReplayConnector(
        [], ReplayDevice(PolarDevice.for_replay({}, model=model)), (pmd.PMD_DATA_UUID,), Faults()
    )
    session = DeviceSession(connector, "replay", PolarPmdProfile(), "polar")

    async def first() -> None:
        async for _ in session.stream():
            pass

    with pytest.raises(DeviceError, match=r"offers PMD measurement types \[0, 1\] but not ACC"):
        asyncio.run(first())


@pytest.mark.parametrize(
    "hex_frame, message",
    [
        ("0200", "at least 10 header bytes"),
        ("0300000000000000000100000000", "handles ACC"),
        ("02000000000000000001000000", "multiple of 6"),
        ("0200000000000000008500000000000000", "compressed ACC frame type 5"),
        ("020000000000000000800000", "reference sample"),
        ("0200000000000000008000000000000008", "block header cut"),
        ("02000000000000000080000000000000080501", "needs 15 bytes"),
        ("020000000000000000800000000000002101", "delta width 33"),
    ],
)
def test_malformed_frames_are_protocol_errors(hex_frame: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        pmd.decode_acc_frame(bytes.fromhex(hex_frame))


def _start_profile(
    model: pmd.PmdDeviceModel, profile: PolarPmdProfile | None = None
) -> tuple[ReplayConnector, PolarPmdProfile]:
    note = Notification(1.0, pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(np.zeros((1, 3)), 10**9))
    connector = ReplayConnector(
        [note], ReplayDevice(PolarDevice.for_replay({}, model=model)), (pmd.PMD_DATA_UUID,), Faults()
    )
    profile = profile or PolarPmdProfile()

    async def main() -> None:
        transport = await connector.find("replay", 1)
        await transport.connect(1)
        await profile.start(transport, lambda *_: None)
        await transport.disconnect()

    asyncio.run(main())
    return connector, profile


def test_multi_part_settings_answer_is_joined() -> None:
    class TwoParts(pmd.PmdDeviceModel):
        def handle_command(self, data: bytes) -> list[bytes]:
            if data[0] == pmd.OP_GET_SETTINGS:
                return [bytes.fromhex("f0010200010002 3400 c800"), bytes.fromhex("f0010200000101 1000")]
            return super().handle_command(data)

    model = TwoParts(offered={0: [52, 200], 1: [16]})
    connector, profile = _start_profile(model)
    assert profile.settings == {0: 52, 1: 16} and model.selected == {0: 52, 1: 16}
    assert connector.writes[1][1] == bytes.fromhex("0202 0001 3400 0101 1000")


def test_stream_left_running_is_stopped_and_started_again() -> None:
    model = pmd.PmdDeviceModel(streaming=True, factor=0.5)
    connector, profile = _start_profile(model)
    assert [w[1][0] for w in connector.writes] == [
        pmd.OP_GET_SETTINGS,
        pmd.OP_START,
        pmd.OP_STOP,
        pmd.OP_START,
    ]
    assert profile.factor == 0.5 and profile.rate_hz == 52


def test_a_silent_control_point_times_out_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from mujo_edge.firmware_bridge.profiles.polar import profile as polar_profile

    class Silent(pmd.PmdDeviceModel):
        def handle_command(self, data: bytes) -> list[bytes]:
            return []

    monkeypatch.setattr(polar_profile, "RESPONSE_TIMEOUT_S", 0.05)
    with pytest.raises(DeviceError, match=r"did not answer command 0102 within 0.05 s"):
        _start_profile(Silent())
