"""Bad arguments to the device-side encoders (MuJo stream, Polar PMD, InfiniTime) and to DeviceSession's
connector: each gives the project's error naming the argument, the value and what is allowed, never a raw
struct.error / ValueError / OverflowError / IndexError from inside, nor bytes that silently say something
else (a wrapped seq, a truncated sample, a dropped block). A refused call leaves an encoder's seq as it was."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from mujo_edge.errors import ConfigError, DataError, ProtocolError
from mujo_edge.firmware_bridge.profiles import get_profile
from mujo_edge.firmware_bridge.profiles.infinitime import motion
from mujo_edge.firmware_bridge.profiles.mujo import stream
from mujo_edge.firmware_bridge.profiles.polar import pmd
from mujo_edge.firmware_bridge.session import DeviceSession
from tests.firmware_bridge.test_api_inputs import refused

Z = np.zeros((2, 3), np.int16)
WALK = np.array([[0, 0, 0], [100, -100, 5], [0, 0, 0]])


def frame(**kwargs: Any) -> Any:
    args: dict[str, Any] = {"seq": 0, "t0_us": 0, "counts": Z, "rate_centihz": 5000, "range_code": 2}
    return lambda: stream.encode_frame(**{**args, **kwargs})


def with_value(shape: tuple[int, int], row: int, col: int, value: float) -> np.ndarray:
    a = np.zeros(shape)
    a[row, col] = value
    return a


# ------------------------------------------------------------------------------------------------ MuJo
@pytest.mark.parametrize(
    ("call", "words"),
    [
        (frame(seq=65536), "seq must be a whole number from 0 to 65535, got 65536"),
        (frame(seq=-1), "seq must be a whole number from 0 to 65535, got -1"),
        (frame(seq=True), "seq must be a whole number from 0 to 65535, got bool True"),
        (frame(seq="1"), "seq must be a whole number from 0 to 65535, got str '1'"),
        (frame(t0_us=-1), "t0_us must be a whole number >= 0, got int -1"),
        (frame(t0_us=1.5), "t0_us must be a whole number >= 0, got float 1.5"),
        (frame(t0_us=True), "t0_us must be a whole number >= 0, got bool True"),
        (frame(rate_centihz=0), "rate_centihz must be a whole number from 1 to 65535, got 0"),
        (
            frame(rate_centihz=1e9),
            "rate_centihz must be a whole number from 1 to 65535, got float 1000000000.0",
        ),
        (frame(rate_centihz=65536), "rate_centihz must be a whole number from 1 to 65535, got 65536"),
        (frame(rate_centihz=True), "rate_centihz must be a whole number from 1 to 65535, got bool True"),
        (frame(range_code=8), "range_code must be a whole number from 0 to 7, got 8"),
        (frame(range_code="2"), "range_code must be a whole number from 0 to 7, got str '2'"),
        (frame(restart="no"), "restart must be True or False, got str 'no'"),
        (frame(restart=2), "restart must be True or False, got int 2"),
        (frame(counts=np.zeros((0, 3))), "counts must hold at least one sample"),
        (frame(counts=np.zeros((256, 3))), "with n <= 255"),
        (frame(counts=np.zeros((2, 2))), "got shape (2, 2)"),
        (frame(counts=np.zeros(3)), "got shape (3,)"),
        (
            frame(counts=np.full((1, 3), 40000)),
            "whole numbers from -32768 to 32767 (int16), got 40000 at sample 0",
        ),
        (frame(counts=with_value((2, 3), 1, 2, -40000)), "got -40000.0 at sample 1, axis z"),
        (frame(counts=with_value((2, 3), 0, 1, 1.5)), "got 1.5 at sample 0, axis y"),
        (frame(counts=with_value((2, 3), 1, 1, math.nan)), "got nan at sample 1, axis y"),
        (frame(counts=np.ones((1, 3), bool)), "counts must hold real numbers (float or int), got dtype bool"),
        (frame(counts="abc"), "counts must hold real numbers"),
        (frame(counts=[[1, 2], [3]]), "numpy cannot make one of"),
        (
            lambda: stream.encode_info((0,), (2,)),
            "rates_centihz[0] must be a whole number from 1 to 65535, got 0",
        ),
        (
            lambda: stream.encode_info((70000,), (2,)),
            "rates_centihz[0] must be a whole number from 1 to 65535",
        ),
        (
            lambda: stream.encode_info((5000.0,), (2,)),
            "rates_centihz must hold whole numbers, got float 5000.0",
        ),
        (lambda: stream.encode_info("5000", (2,)), "rates_centihz must be a list of whole numbers, got str"),
        (lambda: stream.encode_info((True,), (2,)), "rates_centihz must hold whole numbers, got bool True"),
        (
            lambda: stream.encode_info((5000,), (9,)),
            "range_codes[0] must be a whole number from 0 to 7, got 9",
        ),
        (
            lambda: stream.encode_info((5000,), (2,), 0),
            "channels must be a whole number from 1 to 255, got 0",
        ),
        (lambda: stream.encode_info(tuple(range(1, 300)), (2,)), "lists 299 rates"),
        (
            lambda: stream.encode_start(0, 2),
            "MuJo START: rate_centihz must be a whole number from 1 to 65535",
        ),
        (
            lambda: stream.encode_start(5000.0, 2),
            "rate_centihz must be a whole number from 1 to 65535, got float",
        ),
        (
            lambda: stream.encode_start(5000, 9),
            "MuJo START: range_code must be a whole number from 0 to 7, got 9",
        ),
        (lambda: stream.encode_start(True, 2), "got bool True"),
        (lambda: stream.encode_response(256, 0), "op must be a whole number from 0 to 255, got 256"),
        (lambda: stream.encode_response(1, -1), "status must be a whole number from 0 to 255, got -1"),
        (lambda: stream.encode_response("1", 0), "op must be a whole number from 0 to 255, got str '1'"),
    ],
)
def test_mujo_encoders_refuse_what_a_frame_cannot_carry(call: Any, words: str) -> None:
    refused(ProtocolError, call, "MuJo", words)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"rate_centihz": 0}, "rate_centihz must be a whole number from 1 to 65535, got 0"),
        ({"rate_centihz": "5000"}, "rate_centihz must be a whole number from 1 to 65535, got str '5000'"),
        ({"rate_centihz": 50.0}, "got float 50.0"),
        ({"range_code": 8}, "range_code must be a whole number from 0 to 7, got 8"),
        ({"max_payload_bytes": 18}, "ATT MTU >= 22"),
        ({"max_payload_bytes": 244.0}, "max_payload_bytes must be a whole number >= 19, got float 244.0"),
        ({"max_payload_bytes": None}, "max_payload_bytes must be a whole number >= 19, got NoneType"),
        ({"seq": 65536}, "seq must be a whole number from 0 to 65535, got 65536"),
        ({"seq": -1}, "seq must be a whole number from 0 to 65535, got -1"),
        ({"restart": "yes"}, "restart must be True or False, got str 'yes'"),
    ],
)
def test_mujo_stream_encoder_refuses_bad_settings(kwargs: dict[str, Any], words: str) -> None:
    args: dict[str, Any] = {"rate_centihz": 5000, "range_code": 2, "max_payload_bytes": 244, **kwargs}
    refused(ConfigError, lambda: stream.MujoStreamEncoder(**args), "MujoStreamEncoder", words)


PER_FRAME = 4
GOOD = np.arange(3 * 3 * PER_FRAME).reshape(-1, 3).astype(np.int16)  # three frames' worth


def second_frame_out_of_range() -> np.ndarray:
    c = GOOD.astype(np.int64)
    c[PER_FRAME + 1, 0] = 40000  # a sample of the second frame: the first one was packed before the check
    return c


@pytest.mark.parametrize(
    ("t0_us", "counts", "words"),
    [
        (-1, GOOD, "t0_us must be a whole number >= 0, got int -1"),
        (1.5, GOOD, "t0_us must be a whole number >= 0, got float 1.5"),
        ("0", GOOD, "got str '0'"),
        (0, second_frame_out_of_range(), f"got 40000 at sample {PER_FRAME + 1}, axis x"),
        (0, GOOD.astype(np.float64) + 0.5, "got 0.5 at sample 0, axis x"),
        (0, with_value((6, 3), 5, 2, math.nan), "got nan at sample 5, axis z"),
        (0, np.zeros((3, 2)), "got shape (3, 2)"),  # (was read as two samples of three)
        (0, np.zeros(6), "got shape (6,)"),
        (0, "x", "counts must hold real numbers"),
    ],
)
def test_a_refused_encode_leaves_the_encoder_as_it_was(t0_us: Any, counts: Any, words: str) -> None:
    def encoder() -> stream.MujoStreamEncoder:
        return stream.MujoStreamEncoder(5000, 2, stream.OVERHEAD_BYTES + 6 * PER_FRAME, seq=65534)

    enc, untouched = encoder(), encoder()
    refused(ProtocolError, lambda: enc.encode(t0_us, counts), "MujoStreamEncoder.encode", words)
    assert (enc.seq, enc.restart) == (65534, True)
    # the next good call gives the very frames it gives without the refused one: seq 65534, 65535, 0, RESTART first
    frames = enc.encode(2**32 + 10, GOOD)
    assert frames == untouched.encode(2**32 + 10, GOOD)
    assert [f[2] | f[3] << 8 for f in frames] == [65534, 65535, 0] and [f[0] & 1 for f in frames] == [1, 0, 0]
    assert enc.seq == 1 and not enc.restart


@pytest.mark.parametrize(
    ("field", "value"), [("rate_centihz", 0), ("range_code", 9), ("seq", 70000), ("max_payload_bytes", 10)]
)
def test_a_setting_changed_to_a_bad_value_is_refused_at_the_next_encode(field: str, value: int) -> None:
    enc = stream.MujoStreamEncoder(5000, 2, 244, seq=7)
    setattr(enc, field, value)
    refused(ConfigError, lambda: enc.encode(0, GOOD), f"MujoStreamEncoder: {field} must be", str(value))
    assert (enc.seq, enc.restart) == ((70000 if field == "seq" else 7), True)


# ------------------------------------------------------------------------------------------------ Polar PMD
@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: pmd.encode_settings(None), "PMD settings must be a dict, got NoneType"),
        (lambda: pmd.encode_settings([(0, 52)]), "PMD settings must be a dict, got list"),
        (lambda: pmd.encode_settings({7: 1}), "setting id int 7 is not one of 0 (sample rate)"),
        (lambda: pmd.encode_settings({"0": 52}), "setting id str '0' is not one of"),
        (lambda: pmd.encode_settings({0: 52.5}), "sample rate (id 0) must be a whole number from 0 to 65535"),
        (lambda: pmd.encode_settings({0: -1}), "sample rate (id 0) must be a whole number from 0 to 65535"),
        (
            lambda: pmd.encode_settings({0: math.nan}),
            "must be a whole number from 0 to 65535 (its unsigned field), got nan",
        ),
        (lambda: pmd.encode_settings({4: 256}), "channels (id 4) must be a whole number from 0 to 255"),
        (lambda: pmd.encode_settings({0: "52"}), "sample rate (id 0) must be a number, got str '52'"),
        (lambda: pmd.encode_settings({0: True}), "sample rate (id 0) must be a number, got bool True"),
        (
            lambda: pmd.encode_settings({0: list(range(300))}),
            "300 values; its one-byte count holds at most 255",
        ),
        (lambda: pmd.encode_settings({5: "0.5"}), "factor (id 5) must be a number, got str '0.5'"),
        (lambda: pmd.encode_settings({5: 1e39}), "factor (id 5) 1e+39 is beyond a float32"),
        (lambda: pmd.encode_response(256, 2), "op must be a whole number from 0 to 255, got 256"),
        (
            lambda: pmd.encode_response(2, "2"),
            "measurement_type must be a whole number from 0 to 255, got str",
        ),
        (lambda: pmd.encode_response(2, 2, status=-1), "status must be a whole number from 0 to 255, got -1"),
        (lambda: pmd.encode_response(True, 2), "op must be a whole number from 0 to 255, got bool True"),
        (
            lambda: pmd.encode_response(2, 2, 3, b"\x05"),
            "status 3 (ERROR_NOT_SUPPORTED) carries no parameters",
        ),
        (
            lambda: pmd.encode_features((16,)),
            "measurement_types[0] must be a whole number from 0 to 15, got 16",
        ),
        (
            lambda: pmd.encode_features((2, -1)),
            "measurement_types[1] must be a whole number from 0 to 15, got -1",
        ),
        (lambda: pmd.encode_features((True,)), "measurement_types must hold whole numbers, got bool True"),
        (lambda: pmd.encode_features(2), "measurement_types must be a list of whole numbers, got int 2"),
        (
            lambda: pmd.encode_acc_frame_raw(Z, 10**12, 3),
            "frame_type must be a whole number from 0 to 2, got 3",
        ),
        (
            lambda: pmd.encode_acc_frame_raw(Z, 10**12, True),
            "frame_type must be a whole number from 0 to 2, got bool",
        ),
        (
            lambda: pmd.encode_acc_frame_raw(Z, -1),
            "timestamp_ns must be a whole number from 0 to 18446744073709551615",
        ),
        (lambda: pmd.encode_acc_frame_raw(Z, 2**64), "got 18446744073709551616"),
        (
            lambda: pmd.encode_acc_frame_raw(Z, 1.5),
            "timestamp_ns must be a whole number from 0 to 18446744073709551615, got float 1.5",
        ),
        (lambda: pmd.encode_acc_frame_raw(Z, "1"), "got str '1'"),
        (
            lambda: pmd.encode_acc_frame_raw(np.zeros((0, 3)), 1),
            "samples_mg must be an (n, 3) array of x, y, z samples, n >= 1, got shape (0, 3)",
        ),
        (lambda: pmd.encode_acc_frame_raw(np.zeros((2, 2)), 1), "got shape (2, 2)"),
        (lambda: pmd.encode_acc_frame_raw(with_value((2, 3), 1, 0, 1.5), 1), "got 1.5 at sample 1, axis x"),
        (
            lambda: pmd.encode_acc_frame_raw(with_value((2, 3), 0, 2, math.nan), 1),
            "got nan at sample 0, axis z",
        ),
        (lambda: pmd.encode_acc_frame_raw(np.full((1, 3), 200), 1, 0), "from -128 to 127 (int8), got 200"),
        (
            lambda: pmd.encode_acc_frame_raw(np.full((1, 3), 2**23), 1, 2),
            "from -8388608 to 8388607 (int24), got 8388608",
        ),
        (
            lambda: pmd.encode_acc_frame_raw(np.full((1, 3), 2**64 - 1, np.uint64), 1),
            "got 18446744073709551615",
        ),
        (lambda: pmd.encode_acc_frame_raw(np.ones((1, 3), bool), 1), "samples_mg must hold real numbers"),
        (
            lambda: pmd.encode_acc_frame_delta(WALK, 1, 2),
            "frame_type must be a whole number from 0 to 1, got 2",
        ),
        (
            lambda: pmd.encode_acc_frame_delta(WALK, 1, block=0),
            "block must be a whole number from 1 to 255, got 0",
        ),
        (
            lambda: pmd.encode_acc_frame_delta(WALK, 1, block=-1),
            "block must be a whole number from 1 to 255, got -1",
        ),
        (
            lambda: pmd.encode_acc_frame_delta(WALK, 1, block=256),
            "block must be a whole number from 1 to 255, got 256",
        ),
        (
            lambda: pmd.encode_acc_frame_delta(WALK, 1, delta_bits=33),
            "delta_bits must be a whole number from 1 to 32",
        ),
        (
            lambda: pmd.encode_acc_frame_delta(WALK, 1, delta_bits=2.0),
            "delta_bits must be a whole number from 1 to 32, got float",
        ),
        (
            lambda: pmd.encode_acc_frame_delta(WALK, 1, delta_bits=2),
            "block 0 need 8 bits, delta_bits=2 is too narrow",
        ),
        (
            lambda: pmd.encode_acc_frame_delta(np.full((1, 3), 40000), 1),
            "from -32768 to 32767 (int16), got 40000",
        ),
        (lambda: pmd.encode_acc_frame_delta(np.zeros((0, 3)), 1), "n >= 1, got shape (0, 3)"),
        (lambda: pmd.encode_acc_frame_delta(WALK + 0.5, 1), "got 0.5 at sample 0, axis x"),
        (lambda: pmd.encode_acc_frame_delta(WALK, -5), "timestamp_ns must be a whole number from 0"),
    ],
)
def test_pmd_encoders_refuse_what_a_frame_cannot_carry(call: Any, words: str) -> None:
    refused(ProtocolError, call, "PMD", words)


@pytest.mark.parametrize("parameters", ["0501", [5, 1], None])
def test_pmd_response_parameters_must_be_bytes(parameters: Any) -> None:
    refused(DataError, lambda: pmd.encode_response(2, 2, parameters=parameters), "parameters must be bytes")


# ------------------------------------------------------------------------------------------------ InfiniTime
@pytest.mark.parametrize(
    ("call", "words"),
    [
        (
            lambda: motion.encode_motion(np.zeros(2)),
            "acc_g must be three numbers (x, y, z in g), got shape (2,)",
        ),
        (lambda: motion.encode_motion(np.zeros((2, 3))), "got shape (2, 3)"),
        (lambda: motion.encode_motion([0.0, math.nan, 1.0]), "acc_g must be finite, got [0.0, nan, 1.0]"),
        (
            lambda: motion.encode_motion(np.array([math.inf, 0, 1])),
            "acc_g must be finite, got [inf, 0.0, 1.0]",
        ),
        (lambda: motion.encode_motion("abc"), "acc_g must hold real numbers (float or int), got a str"),
        (
            lambda: motion.encode_motion(np.ones(3, bool)),
            "acc_g must hold real numbers (float or int), got dtype bool",
        ),
        (lambda: motion.encode_step_count(-1), "steps must be a whole number >= 0, got int -1"),
        (lambda: motion.encode_step_count(2**32), "steps must be at most 4294967295 (u32), got 4294967296"),
        (lambda: motion.encode_step_count(10.0), "steps must be a whole number >= 0, got float 10.0"),
        (lambda: motion.encode_step_count(True), "steps must be a whole number >= 0, got bool True"),
    ],
)
def test_infinitime_encoders_refuse_what_a_value_cannot_carry(call: Any, words: str) -> None:
    refused(ProtocolError, call, "InfiniTime", words)


# ------------------------------------------------------------------------------------------------ session
class NoFind:
    async def connect(self) -> None: ...


class FindIsNotAMethod:
    find = 5


class StandIn:
    async def find(self, target: str, timeout_s: float) -> Any:
        raise AssertionError("not called here")


@pytest.mark.parametrize("connector", [NoFind(), FindIsNotAMethod(), "replay", 5, object()])
def test_a_connector_without_find_is_refused_at_construction(connector: Any) -> None:
    def session(connector: Any) -> DeviceSession:
        return DeviceSession(connector, "watch", get_profile("mujo"), "w")

    message = refused(
        ConfigError, lambda: session(connector), "DeviceSession: connector", "async find(target"
    )
    assert type(connector).__name__ in message
    assert session(StandIn()).connector.__class__ is StandIn  # duck typing: any object with find will do


def test_no_samples_give_no_frame_whether_an_empty_array_or_an_empty_list() -> None:
    enc = stream.MujoStreamEncoder(5000, 2, 244)
    assert enc.encode(0, np.zeros((0, 3), np.int16)) == [] and enc.encode(0, []) == []
    assert enc.seq == 0 and enc.restart


def test_a_start_the_virtual_polar_watch_cannot_answer_leaves_it_stopped() -> None:
    # (its FACTOR beyond a float32: the response cannot be made, so the watch must not start streaming)
    model = pmd.PmdDeviceModel(factor=1e39)
    start = bytes((pmd.OP_START, pmd.MEAS_ACC)) + pmd.encode_settings(
        {pmd.SETTING_SAMPLE_RATE: 52, pmd.SETTING_RESOLUTION: 16, pmd.SETTING_RANGE: 8}
    )
    refused(ProtocolError, lambda: model.handle_command(start), "beyond a float32")
    assert not model.streaming and model.selected == {}
