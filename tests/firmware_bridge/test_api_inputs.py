"""Bad arguments to firmware_bridge's public API, workouts and the gateway: each gives the project's
error saying what to pass, never a raw TypeError / KeyError / struct.error from inside, and a refused call
leaves a decoder or a recording as it was."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mujo_edge import gateway, workouts
from mujo_edge.errors import ConfigError, DataError, MujoError, ShapeError
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles import device_model, get_profile
from mujo_edge.firmware_bridge.profiles.infinitime import motion
from mujo_edge.firmware_bridge.profiles.mujo import stream
from mujo_edge.firmware_bridge.profiles.polar import pmd
from mujo_edge.firmware_bridge.record import (
    Notification,
    Recorder,
    ReplayConnector,
    ReplayDevice,
    read_header,
    read_recording,
    replay_batches,
)
from mujo_edge.firmware_bridge.session import Backoff, DeviceSession
from mujo_edge.firmware_bridge.simulated_session import simulate_stream

COUNTS = np.stack([np.arange(6), np.zeros(6), np.full(6, 4096)], axis=1).astype(np.int16)
FRAMES = stream.MujoStreamEncoder(5000, 2, stream.OVERHEAD_BYTES + 18).encode(0, COUNTS)
ACC = np.tile(np.array([[0.0, 0.0, 1.0]], np.float32), (20, 1))

DATA_UUID = {
    "mujo": stream.MUJO_DATA_UUID,
    "polar": pmd.PMD_DATA_UUID,
    "infinitime": motion.MOTION_VALUES_UUID,
}
GOOD_PAYLOAD = {
    "mujo": FRAMES[0],
    "polar": pmd.encode_acc_frame_raw(np.zeros((4, 3)), 10**18),
    "infinitime": motion.encode_motion(np.array([0.0, 0.0, 1.0])),
}


def refused(error: type[MujoError], call: Any, *words: str) -> str:
    """Run ``call``; it must raise ``error`` (a project error) whose message holds every one of ``words``."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, message
    return message


# ------------------------------------------------------------------------------------------------ profiles
@pytest.mark.parametrize("name", [None, 3, b"mujo"])
def test_profile_names_must_be_str(name: Any) -> None:
    refused(ConfigError, lambda: get_profile(name), "str", "polar, infinitime, mujo")
    refused(ConfigError, lambda: device_model(name), "str")
    refused(ConfigError, lambda: ReplayDevice.for_profile(name), "str")


def test_unknown_profile_option_is_named() -> None:
    refused(ConfigError, lambda: get_profile("mujo", bogus=1), "bogus", "rate_hz")


@pytest.mark.parametrize(
    ("name", "options", "words"),
    [
        ("mujo", {"rate_hz": 1e9}, ("655.35",)),
        ("mujo", {"range_g": "8"}, ("range_g",)),
        ("mujo", {"range_g": 3}, ("power of two",)),
        ("polar", {"rate_hz": 0}, ("rate_hz=0",)),
        ("polar", {"range_g": math.nan}, ("range_g",)),
        ("polar", {"range_g": "8"}, ("range_g",)),
        ("infinitime", {"device": 5}, ("device",)),
    ],
)
def test_profile_options_are_checked(name: str, options: dict[str, Any], words: tuple[str, ...]) -> None:
    refused(ConfigError, lambda: get_profile(name, **options), *words)


@pytest.mark.parametrize("name", ["mujo", "polar", "infinitime"])
@pytest.mark.parametrize(
    "bad",
    [
        ("payload", "0102"),
        ("payload", None),
        ("payload", [1, 2, 3]),
        ("payload", 5),
        ("uuid", None),
        ("uuid", b"uuid"),
        ("t", "1.0"),
        ("t", None),
        ("t", True),
    ],
)
def test_decode_refuses_bad_arguments_and_keeps_its_state(name: str, bad: tuple[str, Any]) -> None:
    uuid, payload = DATA_UUID[name], GOOD_PAYLOAD[name]
    args: dict[str, Any] = {"uuid": uuid, "t": 1.0, "payload": payload}
    args[bad[0]] = bad[1]
    profile = get_profile(name)
    refused(DataError, lambda: profile.decode(args["uuid"], args["t"], args["payload"]))
    # the refused call changed nothing: the same notification still decodes as on a fresh decoder
    (batch,) = profile.decode(uuid, 1.0, payload)
    (fresh,) = get_profile(name).decode(uuid, 1.0, payload)
    np.testing.assert_array_equal(batch.acc_g, fresh.acc_g)
    assert (batch.gap_before, profile.gaps, profile.dropped_samples) == (fresh.gap_before, 0, 0)


def test_mujo_decoder_keeps_its_sequence_after_a_refused_call() -> None:
    profile = get_profile("mujo")
    profile.decode(stream.MUJO_DATA_UUID, 1.0, FRAMES[0])
    refused(DataError, lambda: profile.decode(stream.MUJO_DATA_UUID, "2.0", FRAMES[1]))  # time as a str
    (batch,) = profile.decode(stream.MUJO_DATA_UUID, 2.0, FRAMES[1])
    assert batch.seq == 1 and not batch.gap_before


@pytest.mark.parametrize("name", ["mujo", "polar", "infinitime"])
def test_decode_takes_any_bytes_like_payload(name: str) -> None:
    uuid, payload = DATA_UUID[name], GOOD_PAYLOAD[name]
    expected = get_profile(name).decode(uuid, 1.0, payload)[0].acc_g
    for form in (bytearray(payload), memoryview(payload)):
        np.testing.assert_array_equal(get_profile(name).decode(uuid, 1.0, form)[0].acc_g, expected)


@pytest.mark.parametrize(
    "decoder",
    [
        stream.decode_frame,
        stream.decode_info,
        stream.decode_response,
        pmd.decode_acc_frame,
        pmd.parse_settings,
        pmd.parse_response,
        pmd.parse_features,
        motion.decode_motion,
        motion.decode_step_count,
    ],
)
@pytest.mark.parametrize("payload", ["f00100", None, [1, 2, 3, 4, 5, 6]])
def test_byte_decoders_refuse_what_is_not_bytes(decoder: Any, payload: Any) -> None:
    refused(DataError, lambda: decoder(payload), "bytes")


# ------------------------------------------------------------------------------------------------ recordings
def test_recorder_arguments(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    refused(DataError, lambda: Recorder(None, "w", "mujo"), "path")  # type: ignore[arg-type]
    refused(ConfigError, lambda: Recorder(path, None, "mujo"), "device")  # type: ignore[arg-type]
    refused(ConfigError, lambda: Recorder(path, "w", "nope"), "polar, infinitime, mujo")
    refused(ConfigError, lambda: Recorder(path, "w", "mujo", meta=[1]), "meta")  # type: ignore[arg-type]
    refused(DataError, lambda: Recorder(path, "w", "mujo", meta={"x": object()}), "meta")
    refused(ConfigError, lambda: Recorder(path, "w", "mujo", rate_hz=-1), "rate_hz")
    assert not path.exists()  # a refused header leaves no file behind


def test_a_refused_write_keeps_the_recording_readable(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    uuid = stream.MUJO_DATA_UUID
    with Recorder(path, "w", "mujo", rate_hz=50) as rec:
        rec.write_status(0.5, "connected", "a", {"rate_hz": 50.0})
        rec.write_notification(1.0, uuid, FRAMES[0])
        bad_calls = [
            lambda: rec.write_notification(2.0, uuid, "0102"),
            lambda: rec.write_notification(2.0, uuid, 5),  # (bytes(5) would be five zero bytes)
            lambda: rec.write_notification(2.0, uuid, None),
            lambda: rec.write_notification("2.0", uuid, FRAMES[1]),
            lambda: rec.write_notification(math.nan, uuid, FRAMES[1]),
            lambda: rec.write_notification(2.0, None, FRAMES[1]),
            lambda: rec.write_status(2.0, "bogus"),  # an unknown kind made every later line unreadable
            lambda: rec.write_status(2.0, "connected", None),
            lambda: rec.write_status(2.0, "connected", "", [1]),
            lambda: rec.write_status(2.0, "connected", "", {"x": object()}),
        ]
        for call in bad_calls:
            refused(DataError, call)
        rec.write_notification(2.0, uuid, FRAMES[1])
    records = list(read_recording(path))
    assert [r.payload for r in records if isinstance(r, Notification)] == FRAMES[:2]
    assert len(path.read_text().splitlines()) == 4  # header, connected, two notifications
    batches = [b for b in replay_batches(path) if not hasattr(b, "kind")]
    assert [b.seq for b in batches] == [0, 1]


def test_reading_and_replaying_arguments(tmp_path: Path) -> None:
    refused(DataError, lambda: read_header(None), "path")  # type: ignore[arg-type]
    refused(DataError, lambda: list(read_recording(5)), "path")  # type: ignore[arg-type]
    path = tmp_path / "r.jsonl"
    with Recorder(path, "w", "mujo", rate_hz=50) as rec:
        rec.write_notification(1.0, stream.MUJO_DATA_UUID, FRAMES[0])
    refused(ConfigError, lambda: list(replay_batches(path, profile="mujo")), "DeviceProfile")  # type: ignore[arg-type]
    refused(ConfigError, lambda: list(replay_batches(path, device=5)), "device")  # type: ignore[arg-type]
    refused(ConfigError, lambda: list(replay_batches(path, decode_errors=[])), "dict")  # type: ignore[arg-type]


def test_replay_connector_arguments() -> None:
    device = ReplayDevice.for_profile("mujo")
    notes = [Notification(1.0, stream.MUJO_DATA_UUID, FRAMES[0])]
    uuids = (stream.MUJO_DATA_UUID,)
    refused(ConfigError, lambda: ReplayDevice(None), "for_profile")  # type: ignore[arg-type]
    refused(ConfigError, lambda: ReplayDevice.for_profile("mujo", [1]), "config")  # type: ignore[arg-type]
    refused(ConfigError, lambda: ReplayConnector(None, device, uuids), "Notification")  # type: ignore[arg-type]
    refused(ConfigError, lambda: ReplayConnector([b"x"], device, uuids), "Notification")  # type: ignore[list-item]
    refused(ConfigError, lambda: ReplayConnector(notes, None, uuids), "ReplayDevice")  # type: ignore[arg-type]
    refused(ConfigError, lambda: ReplayConnector(notes, device, uuids[0]), "tuple")  # type: ignore[arg-type]
    refused(ConfigError, lambda: ReplayConnector(notes, device, uuids, faults={}), "Faults")  # type: ignore[arg-type]
    for speed in (0, -1, "1", math.nan):
        refused(ConfigError, lambda speed=speed: ReplayConnector(notes, device, uuids, speed=speed), "speed")
    refused(ConfigError, lambda: ReplayConnector(notes, device, uuids, mtu=5), "mtu")
    refused(ConfigError, lambda: ReplayConnector(notes, device, uuids, service_uuids="abc"), "tuple")  # type: ignore[arg-type]
    connector = ReplayConnector(notes, device, uuids)
    refused(ConfigError, lambda: asyncio.run(connector.find(None, 1.0)), "target")  # type: ignore[arg-type]
    for model in ("mujo", "polar", "infinitime"):
        refused(DataError, lambda model=model: device_model(model).for_replay(None), "dict")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ faults
@pytest.mark.parametrize(
    "options",
    [
        {"drop_prob": "0.1"},
        {"drop_prob": None},
        {"drop_indices": 5},
        {"drop_indices": {1, "a"}},
        {"corrupt_indices": [1.5]},
        {"burst_every": "2"},
        {"burst_every": 2.5, "burst_len": 1},
        {"latency_mean_s": "1"},
        {"jitter_s": None},
        {"disconnect_at_s": 5.0},
        {"disconnect_at_s": (math.inf,)},
        {"disconnect_at_s": ("1",)},
        {"down_s": math.inf},
        {"scan_failures": 1.5},
        {"clock_skew_ppm": math.nan},
        {"clock_offset_s": "1"},
        {"seed": -1},
        {"seed": "x"},
    ],
)
def test_faults_of_the_wrong_type(options: dict[str, Any]) -> None:
    refused(ConfigError, lambda: Faults(**options), next(iter(options)))


def test_faults_take_lists_and_name_unknown_simulators() -> None:
    f = Faults(drop_indices=[1, 2], disconnect_at_s=[1.0, 2.0])
    assert f.drop_indices == frozenset({1, 2}) and f.disconnect_at_s == (1.0, 2.0)
    refused(ConfigError, lambda: Faults().require_injectable("radio"), "replay transport")


# ------------------------------------------------------------------------------------------------ simulators
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"acc_g": None}, ShapeError),
        ({"acc_g": np.zeros((5, 4))}, ShapeError),
        ({"rate_hz": "50"}, ConfigError),
        ({"rate_hz": 0}, ConfigError),
        ({"batch": 0}, ConfigError),
        ({"batch": 2.5}, ConfigError),
        ({"faults": {}}, ConfigError),
        ({"device": None}, ConfigError),
        ({"t0_host_s": "1"}, ConfigError),
        ({"link_latency_s": -1}, ConfigError),
    ],
)
def test_simulate_stream_arguments(kwargs: dict[str, Any], error: type[MujoError]) -> None:
    args: dict[str, Any] = {"acc_g": ACC, "rate_hz": 50.0, **kwargs}
    refused(error, lambda: simulate_stream(**args), next(iter(kwargs)))


def test_simulate_stream_takes_a_list() -> None:
    sim = simulate_stream(ACC.tolist(), 50.0, batch=5)
    assert sum(len(b) for b in sim.items) == len(ACC)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "rate", "words"),
    [
        ("mujo", None, "rate_hz"),
        ("mujo", "50", "rate_hz"),
        ("mujo", math.inf, "rate_hz"),
        ("mujo", 1e6, "655.35"),
        ("polar", 20_000, "10000"),
    ],
)
def test_device_models_check_their_rate(model: str, rate: Any, words: str) -> None:
    refused(DataError, lambda: device_model(model)(ACC, rate), words)


def test_device_models_check_their_motion() -> None:
    refused(ShapeError, lambda: device_model("mujo")("abc", 50.0), "acc_g")  # type: ignore[arg-type]
    refused(ShapeError, lambda: device_model("polar")([[0, 0, 1], [0, 1]], 52.0), "acc_g")  # type: ignore[arg-type]
    refused(DataError, lambda: device_model("mujo")(ACC, 50.0, range_codes=(9,)), "range_codes")


def test_virtual_watch_arguments() -> None:
    pytest.importorskip("bumble")
    from mujo_edge.firmware_bridge.virtual import VirtualWatch

    refused(ConfigError, lambda: VirtualWatch(None, ACC, 50.0), "str")  # type: ignore[arg-type]
    for speed in ("1", None, math.inf):
        refused(DataError, lambda speed=speed: VirtualWatch("mujo", ACC, 50.0, speed=speed), "speed")
    for mtu in ("247", 100.5, None):
        refused(DataError, lambda mtu=mtu: VirtualWatch("mujo", ACC, 50.0, max_mtu=mtu), "max_mtu")
    refused(ConfigError, lambda: VirtualWatch("mujo", ACC, 50.0, faults={}), "Faults")  # type: ignore[arg-type]
    refused(DataError, lambda: VirtualWatch("mujo", ACC, 50.0, name=5), "name")  # type: ignore[arg-type]
    refused(ConfigError, lambda: VirtualWatch("mujo", ACC, 50.0, bogus=1), "bogus", "range_codes")


# ------------------------------------------------------------------------------------------------ session
@pytest.mark.parametrize(
    "kwargs",
    [
        {"connector": None},
        {"target": None},
        {"profile": "mujo"},
        {"device_name": 5},
        {"recorder": "x"},
        {"backoff": None},
        {"scan_timeout_s": 0},
        {"scan_timeout_s": "10"},
        {"connect_timeout_s": math.inf},
        {"connect_timeout_s": True},
        {"max_reconnect_attempts": 0},
        {"max_reconnect_attempts": 1.5},
        {"retry_first_connect": "no"},
        {"sleep": None},
    ],
)
def test_session_arguments(kwargs: dict[str, Any]) -> None:
    connector = ReplayConnector([], ReplayDevice.for_profile("mujo"), (stream.MUJO_DATA_UUID,))
    args: dict[str, Any] = {
        "connector": connector,
        "target": "replay",
        "profile": get_profile("mujo"),
        "device_name": "w",
        **kwargs,
    }
    refused(ConfigError, lambda: DeviceSession(**args), next(iter(kwargs)).split("_s")[0].split("_")[0])


@pytest.mark.parametrize(
    "kwargs", [{"initial_s": -1}, {"initial_s": "1"}, {"factor": 0}, {"max_s": math.nan}, {"max_s": 0.1}]
)
def test_backoff_arguments(kwargs: dict[str, Any]) -> None:
    refused(ConfigError, lambda: Backoff(**kwargs), "Backoff")


# ------------------------------------------------------------------------------------------------ workouts
def test_workout_arguments() -> None:
    for spec in (None, 5, [{"rest": 5}], Path("no-such-script.txt")):
        refused(DataError, lambda spec=spec: workouts.parse_script(spec), "workout script")
    for labels in (None, "ABD", [1, 2]):
        refused(DataError, lambda labels=labels: workouts.default_script(labels), "labels")
    for steps in (None, "ABD:20", ["a"], [{"rest": "x"}], [{"activity": "ABD"}]):
        refused(DataError, lambda steps=steps: workouts.script_seconds(steps), "step")
    assert workouts.script_seconds([{"activity": "squats", "reps": 10}, {"rest": 5}]) == 5.0
    rest = [{"rest": 1.0}]
    for steps in (None, "ABD:20", [{"foo": 1}], [{"rest": -1}], [{"activity": "ABD", "seconds": math.nan}]):
        refused(DataError, lambda steps=steps: workouts.workout_motion(steps, 50.0), "step")
        refused(DataError, lambda steps=steps: workouts.seglearn_motion(steps, 50.0), "step")
    for rate in (0, -1, "50", math.nan, True):
        refused(DataError, lambda rate=rate: workouts.workout_motion(rest, rate), "rate_hz")
        refused(DataError, lambda rate=rate: workouts.seglearn_motion(rest, rate), "rate_hz")
    for seed in ("x", -1, 1.5):
        refused(DataError, lambda seed=seed: workouts.workout_motion(rest, 50.0, seed=seed), "seed")
    refused(DataError, lambda: workouts.seglearn_motion(rest, 50.0, wrist="middle"), "wrist")
    refused(DataError, lambda: workouts.seglearn_motion([{"activity": "ABD"}], 50.0), "seconds")


# ------------------------------------------------------------------------------------------------ gateway
def test_gateway_arguments(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with Recorder(path, "w", "mujo", rate_hz=50, meta={gateway.RECORDING_META_KEY: {"wrist": "left"}}):
        pass
    assert gateway.recorded_wrist([path]) == {"w": "left"}
    for paths in (None, str(path), path, [None]):
        refused(DataError, lambda paths=paths: gateway.recorded_wrist(paths), "path")
        refused(DataError, lambda paths=paths: gateway.recorded_settings(paths), "path")
        refused(DataError, lambda paths=paths: list(gateway.replay_items(paths)), "path")
    for environ in (5, ["MALLOC_MMAP_THRESHOLD_"], "x"):
        refused(ConfigError, lambda environ=environ: gateway.keep_heap(environ), "environ")
    refused(ConfigError, lambda: gateway.recording_path("", "a", 2), "file name")
    refused(ConfigError, lambda: gateway.recording_path("r.jsonl", None, 2), "device")  # type: ignore[arg-type]
    refused(ConfigError, lambda: gateway.recording_path("r.jsonl", "a", 0), "n_devices")
    refused(ConfigError, lambda: gateway.replay_events([path], None), "Pipeline")  # type: ignore[arg-type]
    refused(ConfigError, lambda: gateway.replay_events([path], None, chunk=0), "chunk")  # type: ignore[arg-type]
    assert json.loads(path.read_text().splitlines()[0])["device"] == "w"
