"""Polar PMD does not trust the device (#13 items 8, 9): FACTOR checked, rates checked, one frame cannot
claim more than a bounded time, raw frames are not scaled by FACTOR (polar-ble-sdk AccData.kt)."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.errors import DeviceError, ProtocolError
from mujo_edge.firmware_bridge.profiles.polar import PolarPmdProfile, pmd
from mujo_edge.pipeline import Pipeline
from tests.firmware_bridge.test_polar import _start_profile

VECTORS = json.loads((Path(__file__).parent / "vectors" / "polar_pmd_vectors.json").read_text())["vectors"]
WITH_FACTOR = [v for v in VECTORS if "acc_mg_after_factor" in v]


@pytest.mark.parametrize("vector", WITH_FACTOR, ids=[v["name"] for v in WITH_FACTOR])
def test_factor_golden_vectors_match_the_sdk(vector: dict) -> None:
    frame = pmd.decode_acc_frame(bytes.fromhex(vector["frame_hex"]))
    np.testing.assert_allclose(frame.to_g(vector["factor"]) * 1000, vector["acc_mg_after_factor"], atol=1e-3)


@pytest.mark.parametrize("frame_type", [0, 1, 2])
def test_random_raw_frames_are_never_scaled_by_factor(frame_type: int) -> None:
    rng = np.random.default_rng(frame_type)
    hi = 2 ** (8 * (frame_type + 1) - 1) - 1
    for _ in range(200):
        mg = rng.integers(-hi - 1, hi + 1, size=(int(rng.integers(1, 20)), 3))
        frame = pmd.decode_acc_frame(pmd.encode_acc_frame_raw(mg, 10**12, frame_type))
        factor = float(np.exp(rng.uniform(-8, 3)))
        np.testing.assert_array_equal(frame.to_g(factor), (mg / 1000.0).astype(np.float32))


@pytest.mark.parametrize("bad", [math.nan, 0.0, -1.0, 1e30, math.inf])
def test_a_bad_factor_in_the_start_response_is_a_device_error(bad: float) -> None:
    with pytest.raises(DeviceError, match="FACTOR"):
        _start_profile(pmd.PmdDeviceModel(factor=bad))


@pytest.mark.parametrize("bad", [math.nan, 0.0, -1.0, 1e30])
def test_a_bad_factor_indication_is_a_protocol_error_and_changes_nothing(bad: float) -> None:
    profile = PolarPmdProfile()
    profile.decode(
        pmd.PMD_CONTROL_UUID, 1.0, pmd.encode_response(2, 2, parameters=pmd.encode_settings({5: 0.25}))
    )
    with pytest.raises(ProtocolError, match=r"FACTOR .*the indication is skipped and FACTOR stays 0\.25"):
        profile.decode(
            pmd.PMD_CONTROL_UUID, 2.0, pmd.encode_response(2, 2, parameters=pmd.encode_settings({5: bad}))
        )
    assert profile.factor == 0.25


def test_a_device_offering_only_rate_0_is_refused_clearly() -> None:
    with pytest.raises(DeviceError, match="no usable ACC sample rate"):
        _start_profile(pmd.PmdDeviceModel(offered={0: [0], 1: [16], 2: [8]}))
    _, profile = _start_profile(pmd.PmdDeviceModel(offered={0: [0, 52], 1: [16], 2: [8]}))
    assert profile.rate_hz == 52


def test_a_flipped_timestamp_bit_claims_no_lost_samples() -> None:
    rng = np.random.default_rng(5)
    rate, per = 52.0, 10
    profile = PolarPmdProfile(device="w", rate_hz=rate)
    pipe = Pipeline(_Half(), ["a", "b"])
    t0 = 10**15
    flips = 0
    for i in range(600):
        stamp = int(t0 + (i + 1) * per * 1e9 / rate)
        if i % 50 == 25:  # one bit of the u64 timestamp flipped in transit
            stamp ^= 1 << int(rng.integers(36, 63))
            flips += 1
        frame = pmd.encode_acc_frame_raw(np.tile([0, 0, 1000], (per, 1)), stamp)
        for b in profile.decode(pmd.PMD_DATA_UUID, 100.0 + i * per / rate, frame):
            pipe.feed(b)
    pipe.close()
    st = pipe.stats["w"]
    assert profile.dropped_samples == 0 and st.samples_lost == 0
    assert profile.time_jumps == flips and st.samples_in == 600 * per


def test_a_real_clock_jump_is_accepted_after_three_agreeing_frames() -> None:
    profile = PolarPmdProfile(device="w", rate_hz=52.0)
    batches = []
    for i in range(20):
        stamp = int(10**15 + (i + 1) * 10 * 1e9 / 52 + (3600e9 if i >= 10 else 0))
        batches += profile.decode(
            pmd.PMD_DATA_UUID, float(i), pmd.encode_acc_frame_raw(np.zeros((10, 3)), stamp)
        )
    assert profile.time_jumps == 2 and profile.gaps == 1 and profile.dropped_samples == 0
    assert [b.gap_before for b in batches].index(True) == 12


class _Half:
    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        return np.full((len(windows_g), 2), 0.5, np.float32)


# ------------------------------------------------------------------ frames that cannot be readings
def _delta_frame(stamp: int, blocks: bytes, ref: tuple[int, int, int] = (0, 0, 1000)) -> bytes:
    """A compressed type-1 (mG) ACC frame from raw block bytes."""
    return (
        bytes((pmd.MEAS_ACC,))
        + stamp.to_bytes(8, "little")
        + bytes((0x81,))
        + struct.pack("<3h", *ref)
        + blocks
    )


def _block(bits: int, deltas: np.ndarray) -> bytes:
    """One delta block: ``bits`` per value, (count, 3) deltas, LSB first."""
    unsigned = deltas.ravel().astype(np.int64) & ((1 << bits) - 1)
    bit_rows = ((unsigned[:, None] >> np.arange(bits)) & 1).astype(np.uint8).ravel()
    return bytes((bits, len(deltas))) + np.packbits(bit_rows, bitorder="little").tobytes()


def test_compressed_blocks_that_claim_impossible_sample_counts_are_refused() -> None:
    interval = 1e9 / 52
    profile = PolarPmdProfile(rate_hz=52)
    (first,) = profile.decode(pmd.PMD_DATA_UUID, 0.0, pmd.encode_acc_frame_raw(np.zeros((10, 3)), 10**12))
    # 216 bytes of width-0 blocks claim 25,501 samples for the 10 sample intervals since the previous frame
    with pytest.raises(ProtocolError, match="25501 samples, more than 10 s at 52 Hz"):
        profile.decode(
            pmd.PMD_DATA_UUID, 0.2, _delta_frame(int(10**12 + 10 * interval), bytes((0, 255)) * 100)
        )
    # under the 10 s cap, but 100 samples in 10 intervals: closer than 1/1.5 of the nominal interval
    with pytest.raises(ProtocolError, match=r"holds 10.0, and more than 1.5x"):
        profile.decode(pmd.PMD_DATA_UUID, 0.2, _delta_frame(int(10**12 + 10 * interval), bytes((0, 99))))
    # a width-0 block of a still sensor with a believable count is a reading
    (still,) = profile.decode(
        pmd.PMD_DATA_UUID, 0.2, _delta_frame(int(10**12 + 10 * interval), bytes((0, 9)))
    )
    assert len(still) == 10 and not still.gap_before
    np.testing.assert_allclose(np.diff(still.t_sensor_s), interval * 1e-9, atol=1e-6)
    assert profile.dropped_samples == 0 and profile.gaps == 0 and len(first) == 10
    # a fresh decoder (no previous frame) is held to the 10 s cap alone
    with pytest.raises(ProtocolError, match="more than 10 s"):
        PolarPmdProfile(rate_hz=52).decode(pmd.PMD_DATA_UUID, 0.0, _delta_frame(10**12, bytes((0, 255)) * 3))


def test_deltas_taking_samples_beyond_16_bits_are_refused_and_the_stream_goes_on() -> None:
    huge = _delta_frame(10**12, _block(32, np.full((2, 3), 0x7FFFFFFF)))
    with pytest.raises(ProtocolError, match="beyond the 16 bits of the reference sample"):
        pmd.decode_acc_frame(huge)
    profile = PolarPmdProfile(rate_hz=52)
    with pytest.raises(ProtocolError, match="16 bits"):
        profile.decode(pmd.PMD_DATA_UUID, 0.0, huge)
    # a wide (32-bit) block whose deltas stay small is fine
    (ok,) = profile.decode(
        pmd.PMD_DATA_UUID, 0.1, _delta_frame(10**12, _block(32, np.ones((2, 3), np.int64)))
    )
    np.testing.assert_allclose(ok.acc_g, [[0, 0, 1], [0.001, 0.001, 1.001], [0.002, 0.002, 1.002]], atol=1e-6)


def test_values_beyond_the_declared_range_are_refused() -> None:
    profile = PolarPmdProfile()
    profile.apply_config({"rate_hz": 52.0, "factor": 1.0, "settings": {"0": 52, "2": 8}})  # +-8 g
    stamp = 10**12
    with pytest.raises(ProtocolError, match=r"8389 g, beyond the sensor's declared range of \+-8 g"):
        profile.decode(pmd.PMD_DATA_UUID, 0.0, pmd.encode_acc_frame_raw(np.full((3, 3), 8_388_607), stamp, 2))
    (saturated,) = profile.decode(  # a saturated axis a little beyond full scale is still a reading
        pmd.PMD_DATA_UUID, 0.1, pmd.encode_acc_frame_raw(np.array([[9_500, -9_500, 1_000]] * 3), stamp, 2)
    )
    assert saturated.acc_g[0].tolist() == pytest.approx([9.5, -9.5, 1.0])


def test_a_refused_frame_is_skipped_and_every_other_sample_kept(tmp_path: Path) -> None:
    """Through a replay, as a live session decodes: the bad frame is counted and skipped, nothing else lost."""
    from mujo_edge.firmware_bridge.record import Recorder, replay_batches
    from mujo_edge.samples import SampleBatch

    path = tmp_path / "rec.jsonl"
    interval = 1e9 / 52
    with Recorder(path, "polar1", PolarPmdProfile(rate_hz=52)) as rec:
        rec.write_status(
            0.0, "connected", "", {"rate_hz": 52.0, "factor": 1.0, "settings": {"0": 52, "2": 8}}
        )
        for i in range(30):
            stamp = int(10**12 + (i + 1) * 10 * interval)
            if i == 15:  # a corrupt frame between two good ones, with the next frame's time
                rec.write_notification(
                    0.19 * i, pmd.PMD_DATA_UUID, _delta_frame(stamp, bytes((0, 255)) * 100)
                )
            rec.write_notification(
                0.19 * i + 0.01, pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(np.zeros((10, 3)), stamp)
            )
    batches = [b for b in replay_batches(path) if isinstance(b, SampleBatch)]
    assert sum(len(b) for b in batches) == 300 and not any(b.gap_before for b in batches)
    t = np.concatenate([b.t_sensor_s for b in batches])
    assert np.all(np.diff(t) > 0)
