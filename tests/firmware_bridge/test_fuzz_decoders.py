"""Fuzzing every decoder: random bytes, truncations and bit flips of valid frames give batches or ProtocolError.

Nothing else may escape (no IndexError, ValueError, struct.error, numpy errors): the session counts a
ProtocolError and carries on, any other exception would end the stream.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mujo_edge.errors import ProtocolError
from mujo_edge.firmware_bridge.profiles.base import DeviceProfile
from mujo_edge.firmware_bridge.profiles.infinitime import InfiniTimeProfile, motion
from mujo_edge.firmware_bridge.profiles.mujo import MujoStreamProfile, stream
from mujo_edge.firmware_bridge.profiles.polar import PolarPmdProfile, pmd
from mujo_edge.samples import SampleBatch

FUZZ = settings(
    max_examples=int(os.environ.get("MUJO_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_rng = np.random.default_rng(7)
_walk = np.cumsum(_rng.integers(-200, 200, size=(40, 3)), axis=0)
VALID: dict[str, list[tuple[str, bytes]]] = {
    "polar": [
        (pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(_walk[:10], 10**12, 1)),
        (pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(_walk[:5] // 300, 10**12, 0)),
        (pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(_walk[:5] * 100, 10**12, 2)),
        (pmd.PMD_DATA_UUID, pmd.encode_acc_frame_delta(_walk, 10**12, 1, block=13)),
        (pmd.PMD_DATA_UUID, pmd.encode_acc_frame_delta(_walk, 10**12, 0)),
        (pmd.PMD_CONTROL_UUID, pmd.encode_response(2, 2, parameters=pmd.encode_settings({5: 1.0}))),
        (pmd.PMD_CONTROL_UUID, bytes((1, 2))),
    ],
    "infinitime": [(motion.MOTION_VALUES_UUID, motion.encode_motion(np.array([0.1, -0.2, 1.0])))],
    "mujo": [
        (stream.MUJO_DATA_UUID, f)
        for f in stream.MujoStreamEncoder(5000, 2, 80).encode(123, _walk.astype(np.int16))
    ]
    + [(stream.MUJO_CONTROL_UUID, stream.encode_response(1, 0))],
}
PROFILES: dict[str, Callable[[], DeviceProfile]] = {
    "polar": lambda: PolarPmdProfile(rate_hz=52),
    "infinitime": InfiniTimeProfile,
    "mujo": MujoStreamProfile,
}


def decode_or_protocol_error(profile: DeviceProfile, uuid: str, payload: bytes) -> None:
    try:
        out = profile.decode(uuid, 1.0, payload)
    except ProtocolError:
        return
    assert isinstance(out, list)
    for batch in out:
        assert isinstance(batch, SampleBatch)
        assert batch.acc_g.dtype == np.float32 and np.all(np.isfinite(batch.acc_g))
        if batch.t_sensor_s is not None:
            assert np.all(np.isfinite(batch.t_sensor_s))


def test_valid_frames_decode() -> None:
    for name, frames in VALID.items():
        profile = PROFILES[name]()
        n = sum(len(b) for uuid, f in frames for b in profile.decode(uuid, 1.0, f))
        assert n > 0, name


@FUZZ
@given(name=st.sampled_from(sorted(PROFILES)), data=st.binary(max_size=300), which=st.integers(0, 1))
def test_random_bytes(name: str, data: bytes, which: int) -> None:
    profile = PROFILES[name]()
    uuids = sorted({u for u, _ in VALID[name]})
    decode_or_protocol_error(profile, uuids[which % len(uuids)], data)


@FUZZ
@given(name=st.sampled_from(sorted(PROFILES)), pick=st.integers(0, 100), cut=st.integers(0, 400))
def test_truncated_valid_frames(name: str, pick: int, cut: int) -> None:
    uuid, frame = VALID[name][pick % len(VALID[name])]
    decode_or_protocol_error(PROFILES[name](), uuid, frame[: cut % (len(frame) + 1)])


@FUZZ
@given(
    name=st.sampled_from(sorted(PROFILES)),
    pick=st.integers(0, 100),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), min_size=1, max_size=4),
    extra=st.binary(max_size=8),
)
def test_bit_flipped_and_extended_frames(
    name: str, pick: int, flips: list[tuple[int, int]], extra: bytes
) -> None:
    uuid, frame = VALID[name][pick % len(VALID[name])]
    data = bytearray(frame)
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    profile = PROFILES[name]()
    decode_or_protocol_error(profile, uuid, bytes(data))
    decode_or_protocol_error(profile, uuid, bytes(data) + extra)


@FUZZ
@given(frames=st.lists(st.integers(0, 6), min_size=1, max_size=12))
def test_sequences_of_valid_frames_in_any_order(frames: list[int]) -> None:
    """Reordered, repeated or missing frames: never a crash, and never a sample earlier than the last one
    except where a new timeline starts: a RESTART frame, or a resync (flagged as a gap, counted in resyncs)."""
    profile = MujoStreamProfile()
    data = VALID["mujo"][:-1]
    last_t = -np.inf
    for i in frames:
        resyncs = profile.resyncs
        try:
            batches = profile.decode(stream.MUJO_DATA_UUID, 0.0, data[i % len(data)][1])
        except ProtocolError:
            continue
        assert len(batches) == 1 or (profile.resyncs == resyncs + 1 and len(batches) == 3)
        for k, batch in enumerate(batches):
            assert batch.t_sensor_s is not None
            resync = k == 0 and profile.resyncs > resyncs
            assert batch.gap_before or not resync
            if batch.seq != 0 and not resync:  # seq 0 carries RESTART: a new stream may start anywhere
                assert batch.t_sensor_s[0] > last_t
            last_t = batch.t_sensor_s[-1]


@FUZZ
@given(data=st.binary(max_size=64))
def test_control_and_info_parsers(data: bytes) -> None:
    for parse in (
        pmd.parse_settings,
        pmd.parse_response,
        pmd.parse_features,
        stream.decode_info,
        stream.decode_response,
        stream.decode_frame,
        motion.decode_step_count,
        pmd.decode_acc_frame,
    ):
        with contextlib.suppress(ProtocolError):
            parse(data)


@FUZZ
@given(
    samples=st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=300),
    block=st.integers(1, 255),
)
def test_delta_encoder_round_trips_any_int16_walk(samples: list[tuple[int, int, int]], block: int) -> None:
    s = np.array(samples)
    np.testing.assert_array_equal(
        pmd.decode_acc_frame(pmd.encode_acc_frame_delta(s, 1, 1, block=block)).raw, s
    )


@FUZZ
@given(
    samples=st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=120),
    payload=st.integers(19, 300),
    seq=st.integers(0, 65535),
    t0=st.integers(0, 2**32 - 1),
)
def test_mujo_encoder_round_trips_at_any_mtu(samples: list, payload: int, seq: int, t0: int) -> None:
    counts = np.array(samples, dtype=np.int16)
    frames = stream.MujoStreamEncoder(5000, 0, payload, seq=seq).encode(t0, counts)
    profile = MujoStreamProfile()
    got = np.concatenate([b.acc_g for f in frames for b in profile.decode(stream.MUJO_DATA_UUID, 0.0, f)])
    np.testing.assert_array_equal(got * 16384, counts.astype(np.float32))
    assert all(len(f) <= payload for f in frames) and profile.gaps == 0
