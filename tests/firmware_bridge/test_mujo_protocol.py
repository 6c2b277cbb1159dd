"""MuJo open stream protocol v1 in Python: layout, CRC, sizing to the MTU, sequence gaps and wrap-around."""

from __future__ import annotations

import numpy as np
import pytest

from mujo_edge.errors import ConfigError, DeviceError, ProtocolError
from mujo_edge.firmware_bridge.profiles.mujo import MujoStreamProfile, stream


def frames_for(
    n_samples: int, per_frame: int = 4, seq: int = 0, t0_us: int = 0, rate: int = 5000
) -> list[bytes]:
    counts = np.stack([np.arange(n_samples), -np.arange(n_samples), np.full(n_samples, 4096)], axis=1)
    enc = stream.MujoStreamEncoder(rate, 2, stream.OVERHEAD_BYTES + 6 * per_frame, seq=seq)
    return enc.encode(t0_us, counts.astype(np.int16))


def test_frame_layout_matches_the_spec_byte_for_byte() -> None:
    frame = stream.encode_frame(0x1234, 0x01020304, np.array([[1, -1, 4096]]), 5000, 2, restart=True)
    assert frame[:11].hex() == "1101341204030201881302"
    assert frame[11:17].hex() == "0100ffff0010"
    assert int.from_bytes(frame[17:], "little") == stream.crc16_ccitt_false(frame[:17])
    assert len(frame) == stream.OVERHEAD_BYTES + 6


def test_round_trip_scales_counts_to_g() -> None:
    counts = np.array([[4096, -4096, 0], [2048, 1, -1]], dtype=np.int16)
    frame = stream.decode_frame(stream.encode_frame(7, 99, counts, 5200, 2))
    np.testing.assert_array_equal(frame.counts, counts)
    np.testing.assert_allclose(frame.acc_g, [[1, -1, 0], [0.5, 1 / 4096, -1 / 4096]])
    assert frame.seq == 7 and frame.t0_us == 99 and frame.rate_hz == 52.0 and not frame.restart
    assert [stream.counts_per_g(c) for c in range(4)] == [16384, 8192, 4096, 2048]


@pytest.mark.parametrize(
    "mtu, per_frame", [(23, 1), (27, 1), (28, 2), (65, 8), (185, 28), (247, 38), (517, 83)]
)
def test_frames_are_sized_to_the_mtu(mtu: int, per_frame: int) -> None:
    assert stream.max_samples_per_frame(mtu - 3) == per_frame
    enc = stream.MujoStreamEncoder(5000, 2, mtu - 3)
    frames = enc.encode(0, np.zeros((100, 3), dtype=np.int16))
    assert all(len(f) <= mtu - 3 for f in frames)
    assert sum(f[1] for f in frames) == 100 and frames[0][1] == min(per_frame, 100)


def test_encoder_refuses_an_mtu_that_cannot_hold_a_sample() -> None:
    with pytest.raises(ConfigError, match="ATT MTU >= 22"):
        stream.MujoStreamEncoder(5000, 2, 18)


def test_frames_split_keep_sensor_time_continuous() -> None:
    profile = MujoStreamProfile()
    batches = [
        b
        for f in frames_for(10, per_frame=3, t0_us=500)
        for b in profile.decode(stream.MUJO_DATA_UUID, 1.0, f)
    ]
    t = np.concatenate([b.t_sensor_s for b in batches])
    np.testing.assert_allclose(t, 500e-6 + np.arange(10) * 0.02, atol=1e-9)
    assert [b.seq for b in batches] == [0, 1, 2, 3] and [len(b) for b in batches] == [3, 3, 3, 1]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda f: f[:-1], "truncated"),
        (lambda f: f[:10], "at least 19 bytes"),
        (lambda f: bytes((0x21,)) + f[1:], "protocol version 2"),
        (lambda f: f[:12] + bytes((f[12] ^ 1,)) + f[13:], "CRC"),
        (lambda f: f + b"\x00", "truncated"),
    ],
)
def test_bad_frames_are_protocol_errors(mutate, message: str) -> None:
    frame = frames_for(4)[0]
    with pytest.raises(ProtocolError, match=message):
        stream.decode_frame(mutate(frame))


def test_zero_rate_and_bad_range_code_are_refused() -> None:
    def forged(rate_centihz: int, range_code: int) -> bytes:
        """A frame with a valid CRC over fields the encoder refuses to write."""
        good = stream.encode_frame(0, 0, np.zeros((1, 3)), 5000, 2)
        body = good[:8] + rate_centihz.to_bytes(2, "little") + bytes((range_code,)) + good[11:-2]
        return body + stream.crc16_ccitt_false(body).to_bytes(2, "little")

    with pytest.raises(ProtocolError, match="sample rate 0"):
        stream.decode_frame(forged(0, 2))
    with pytest.raises(ProtocolError, match="range code 9"):
        stream.decode_frame(forged(5000, 9))


def test_sequence_gap_flags_the_next_batch_and_counts_the_lost_samples() -> None:
    frames = frames_for(40, per_frame=4)
    profile = MujoStreamProfile()
    kept = [f for i, f in enumerate(frames) if i not in (3, 4, 7)]
    batches = [b for f in kept for b in profile.decode(stream.MUJO_DATA_UUID, 0.0, f)]
    assert [b.seq for b in batches if b.gap_before] == [5, 8]
    assert profile.dropped_samples == 12 and profile.gaps == 2


def test_sequence_wraps_from_65535_to_0_without_a_gap() -> None:
    frames = frames_for(20, per_frame=4, seq=65533)
    assert [f[2] | f[3] << 8 for f in frames] == [65533, 65534, 65535, 0, 1]
    profile = MujoStreamProfile()
    batches = [b for f in frames for b in profile.decode(stream.MUJO_DATA_UUID, 0.0, f)]
    assert not any(b.gap_before for b in batches) and profile.dropped_samples == 0
    # a gap ACROSS the wrap: 65535 and 0 lost
    profile.reset()
    kept = [frames[0], frames[1], frames[4]]
    gaps = [b.gap_before for f in kept for b in profile.decode(stream.MUJO_DATA_UUID, 0.0, f)]
    assert gaps == [False, False, True] and profile.dropped_samples == 8


def test_duplicate_or_old_frame_is_refused_so_no_sample_repeats() -> None:
    frames = frames_for(16, per_frame=4)
    profile = MujoStreamProfile()
    for f in frames[:3]:
        profile.decode(stream.MUJO_DATA_UUID, 0.0, f)
    for stale in (frames[2], frames[1]):  # (frames[0] carries RESTART: a new stream, accepted by design)
        with pytest.raises(ProtocolError, match="duplicate or out of order"):
            profile.decode(stream.MUJO_DATA_UUID, 0.0, stale)
    (batch,) = profile.decode(stream.MUJO_DATA_UUID, 0.0, frames[3])
    assert batch.seq == 3 and not batch.gap_before


def test_restart_flag_resets_sequence_tracking() -> None:
    profile = MujoStreamProfile()
    for f in frames_for(12, per_frame=4, seq=100):
        profile.decode(stream.MUJO_DATA_UUID, 0.0, f)
    (batch,) = profile.decode(stream.MUJO_DATA_UUID, 0.0, frames_for(4, per_frame=4)[0])  # seq 0, RESTART
    assert batch.seq == 0 and not batch.gap_before and profile.dropped_samples == 0


def test_info_control_and_device_model() -> None:
    info = stream.decode_info(stream.encode_info((5000, 5200, 10000), (0, 2)))
    assert info.rates_centihz == (5000, 5200, 10000) and info.range_codes == (0, 2) and info.channels == 3
    with pytest.raises(ProtocolError, match="range codes need"):
        stream.decode_info(stream.encode_info((5000,), (0, 2))[:-1])
    model = stream.MujoDeviceModel()
    assert stream.decode_response(model.handle_command(stream.encode_start(5200, 2))[0]) == (1, 3)
    assert stream.decode_response(model.handle_command(stream.encode_start(5000, 7))[0]) == (1, 4)
    assert stream.decode_response(model.handle_command(stream.encode_start(5000, 2))[0]) == (1, 0)
    assert model.streaming
    assert stream.decode_response(model.handle_command(stream.encode_stop())[0]) == (2, 0)
    assert stream.decode_response(model.handle_command(stream.encode_stop())[0]) == (2, 5)
    assert stream.decode_response(model.handle_command(b"\x09")[0]) == (9, 1)
    assert stream.status_name(3) == "UNSUPPORTED_RATE"


def test_profile_chooses_50_hz_and_8_g_or_honours_a_request() -> None:
    info = stream.MujoInfo(1, 3, (2500, 5000, 10000), (0, 1, 2, 3))
    assert MujoStreamProfile().choose(info) == (5000, 2)
    assert MujoStreamProfile(rate_hz=100, range_g=16).choose(info) == (10000, 3)
    assert MujoStreamProfile().choose(stream.MujoInfo(1, 3, (10400, 20800), (3,))) == (10400, 3)
    with pytest.raises(DeviceError, match=r"does not offer 52 Hz"):
        MujoStreamProfile(rate_hz=52).choose(info)


def test_profile_ignores_rates_and_range_codes_no_start_can_carry() -> None:
    # (a listed rate 0 or range code 9 would make START raise ProtocolError at every connection attempt)
    assert MujoStreamProfile().choose(stream.MujoInfo(1, 3, (0, 2500), (9, 3))) == (2500, 3)
    with pytest.raises(DeviceError, match=r"no usable rates or ranges .*range codes 0\.\.7"):
        MujoStreamProfile().choose(stream.MujoInfo(1, 3, (5000,), (8, 9)))
    with pytest.raises(DeviceError, match=r"no usable rates or ranges"):
        MujoStreamProfile().choose(stream.MujoInfo(1, 3, (0,), (2,)))


def test_crc_matches_a_bitwise_reference() -> None:
    def bitwise(data: bytes) -> int:
        crc = 0xFFFF
        for byte in data:
            crc ^= byte << 8
            for _ in range(8):
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        return crc

    rng = np.random.default_rng(5)
    assert stream.crc16_ccitt_false(b"123456789") == 0x29B1
    for n in (0, 1, 13, 241, 1000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert stream.crc16_ccitt_false(data) == bitwise(data)


def test_hex_examples_in_docs_protocol_md_are_what_the_encoder_writes() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    frame = stream.encode_frame(7, 1_000_000, np.array([[0, 0, 4096], [12, -7, 4090]]), 5000, 2)
    assert "10 02 0700 40420f00 8813 02 | 0000 0000 0010 | 0c00 f9ff fa0f | e73b" in doc
    assert frame.hex() == "1002070040420f008813020000000000100c00f9fffa0fe73b"
    first = stream.MujoStreamEncoder(5000, 2, 20).encode(1_000_000, np.array([[0, 0, 4096]], dtype=np.int16))[
        0
    ]
    assert (
        "`11 01 0000 40420f00 8813 02 0000 0000 0010 3c7a`" in doc
        and first.hex() == "1101000040420f008813020000000000103c7a"
    )
    assert (
        "`01 03 02 8813 1027 03 01 02 03`" in doc
        and stream.encode_info((5000, 10000), (1, 2, 3)).hex() == "0103028813102703010203"
    )
    assert "`01 8813 02`" in doc and stream.encode_start(5000, 2).hex() == "01881302"


# ------------------------------------------------------------------ resynchronising, time order, rate
def decode_all(profile: MujoStreamProfile, frames: list[bytes]) -> tuple[list, list[str]]:
    """Every batch the frames give, and the message of every frame refused."""
    batches, refused = [], []
    for f in frames:
        try:
            batches += profile.decode(stream.MUJO_DATA_UUID, 0.0, f)
        except ProtocolError as err:
            refused.append(str(err))
    return batches, refused


@pytest.mark.parametrize("clock", ["continues", "restarts at 0"])
def test_a_lost_restart_frame_resynchronises_after_three_frames_and_loses_nothing_else(clock: str) -> None:
    """The watch restarts its stream (seq 0, RESTART) and that one frame is lost: the decoder used to refuse
    every later frame as 'out of order'."""
    profile = MujoStreamProfile()
    first, _ = decode_all(profile, frames_for(400, per_frame=4, t0_us=10_000_000))  # seq 0..99
    t0 = 10_000_000 + 400 * 20_000 + 3_000_000 if clock == "continues" else 0
    second = frames_for(200, per_frame=4, t0_us=t0)  # a new stream: seq 0 (RESTART) .. 49
    batches, refused = decode_all(profile, second[1:])  # its RESTART frame lost on the air
    assert len(refused) == 2 and all("skipped for now: if the next" in r for r in refused)
    assert [b.seq for b in batches] == list(range(1, 50))  # the two held frames come back with the third
    assert [b.seq for b in batches if b.gap_before] == [1]
    assert profile.resyncs == 1 and profile.gaps == 1 and profile.dropped_samples == 0
    t = np.concatenate([b.t_sensor_s for b in batches])
    np.testing.assert_allclose(t, (t0 + 80_000 + np.arange(196) * 20_000) * 1e-6, atol=1e-9)
    assert sum(len(b) for b in first) == 400


def test_one_frame_with_a_far_ahead_seq_is_not_believed_and_costs_nothing() -> None:
    frames = frames_for(40, per_frame=4)
    forged = stream.encode_frame(30000, 2 * 80_000, np.zeros((4, 3)), 5000, 2)  # seq 30000, frame 2's time
    profile = MujoStreamProfile()
    batches, refused = decode_all(profile, [*frames[:2], forged, *frames[2:]])
    assert len(refused) == 1 and "seq says 29998 frames were lost after seq 1 but its t0 says 0" in refused[0]
    assert [b.seq for b in batches] == list(range(10)) and not any(b.gap_before for b in batches)
    assert profile.dropped_samples == 0 and profile.gaps == 0 and profile.resyncs == 0


def test_a_time_jump_of_hours_with_one_frame_lost_counts_no_phantom_samples() -> None:
    frames = frames_for(12, per_frame=4)
    jumped = stream.encode_frame(2, 2**31 - 1, np.zeros((4, 3)), 5000, 2)
    profile = MujoStreamProfile()
    batches, refused = decode_all(profile, [frames[0], jumped, frames[2]])
    assert len(refused) == 1 and "more than the 10 s one frame may claim" in refused[0]
    assert [b.seq for b in batches] == [0, 2] and batches[1].gap_before
    assert profile.dropped_samples == 4  # frame 1's four samples, not 107,374 from the jump


def test_a_frame_going_back_in_time_is_refused_so_samples_stay_in_order() -> None:
    c = np.zeros((5, 3))
    profile = MujoStreamProfile()
    frames = [
        stream.encode_frame(0, 1_000_000, c, 5000, 2, restart=True),
        stream.encode_frame(1, 1_100_000, c, 5000, 2),
        stream.encode_frame(2, 500_000, c, 5000, 2),  # seq goes on, t0 goes back 0.7 s (should be 1.2 s)
        stream.encode_frame(3, 1_300_000, c, 5000, 2),
    ]
    batches, refused = decode_all(profile, frames)
    assert (
        len(refused) == 1 and "is not after the last one of seq 1 (duplicate or out of order)" in refused[0]
    )
    t = np.concatenate([b.t_sensor_s for b in batches])
    assert np.all(np.diff(t) > 0) and [b.seq for b in batches] == [0, 1, 3]
    assert batches[-1].gap_before and profile.dropped_samples == 5  # frame 2's samples are the ones missing


def test_a_frame_rate_far_from_the_stream_rate_is_refused() -> None:
    c = np.zeros((5, 3))
    profile = MujoStreamProfile()
    batches, refused = decode_all(
        profile,
        [
            stream.encode_frame(0, 0, c, 5000, 2, restart=True),
            stream.encode_frame(1, 100_000, c, 1, 2),  # 0.01 Hz: 5 samples over 400 s
            stream.encode_frame(2, 200_000, c, 65535, 2),
            stream.encode_frame(3, 300_000, c, 5100, 2),  # 51 Hz: within 10 % of 50 Hz
        ],
    )
    assert [b.seq for b in batches] == [0, 3] and batches[1].rate_hz == 51.0
    assert len(refused) == 2 and "rate 0.01 Hz, but the stream began at 50 Hz" in refused[0]
    assert batches[1].t_sensor_s[-1] < 0.4
    # the rate a recording's config (or START) gives is the reference, from the first frame on
    configured = MujoStreamProfile()
    configured.apply_config({"rate_hz": 100.0})
    with pytest.raises(ProtocolError, match="rate 50 Hz, but the stream was started at 100 Hz"):
        configured.decode(stream.MUJO_DATA_UUID, 0.0, frames_for(4)[0])
    # without one, a RESTART starts a stream at a new rate
    bare = MujoStreamProfile()
    decode_all(bare, frames_for(8))
    (batch,) = bare.decode(stream.MUJO_DATA_UUID, 0.0, frames_for(4, rate=10000)[0])
    assert batch.rate_hz == 100.0
