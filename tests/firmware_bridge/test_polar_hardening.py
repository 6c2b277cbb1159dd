"""Polar PMD does not trust the device (#13 items 8, 9): FACTOR checked, rates checked, one frame cannot
claim more than a bounded time, raw frames are not scaled by FACTOR (polar-ble-sdk AccData.kt)."""

from __future__ import annotations

import json
import math
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
    with pytest.raises(ProtocolError, match="FACTOR"):
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
