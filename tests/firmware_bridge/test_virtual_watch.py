"""The virtual watches' models without a link: frames sized to the MTU decode back through E's decoders,
the sensor clock and its drift, InfiniTime's poll-and-notify-on-change, seeded faults, input checks."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("bumble", reason="virtual watches need bumble (the dev extra)")

from mujo_edge.errors import ConfigError, DataError, ShapeError
from mujo_edge.firmware_bridge.profiles.infinitime import InfiniTimeDevice, motion
from mujo_edge.firmware_bridge.profiles.mujo import MujoDevice, stream
from mujo_edge.firmware_bridge.profiles.polar import PolarDevice, pmd
from mujo_edge.firmware_bridge.profiles.polar.device import POLAR_SENSOR_START_NS
from mujo_edge.firmware_bridge.virtual import Faults, VirtualWatch
from mujo_edge.firmware_bridge.virtual.watch import FaultPlan

pytestmark = pytest.mark.ble


def swing(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 50.0
    acc = np.stack([np.sin(2 * np.pi * t), 0.5 * np.cos(3 * t), np.ones_like(t)], 1)
    return (acc + rng.normal(0, 0.02, acc.shape)).astype(np.float32)


@pytest.mark.parametrize("compressed", [True, False])
@pytest.mark.parametrize("max_payload", [20, 97, 244])
def test_polar_frames_fill_the_payload_and_decode_to_the_motion(compressed: bool, max_payload: int) -> None:
    dev = PolarDevice(swing(400), 52.0, loop=False, compressed=compressed)
    i, decoded = 0, []
    while i < 300:
        n, payload = dev.frame(i, max_payload, None)
        assert payload is not None and len(payload) <= max_payload
        if not compressed:
            assert n == max(1, (max_payload - pmd.HEADER_BYTES) // 6)
        else:  # one more sample would not have fitted
            assert len(pmd.encode_acc_frame_delta(dev._mg(i, n + 1), 0)) > max_payload
        frame = pmd.decode_acc_frame(payload)
        assert frame.compressed == compressed and len(frame.raw) == n
        # The timestamp is the sensor time of the frame's LAST sample.
        assert frame.timestamp_ns == POLAR_SENSOR_START_NS + round((i + n - 1) * 1e9 / 52)
        decoded.append(frame.to_g(1.0))
        i += n
    acc = np.concatenate(decoded)
    np.testing.assert_allclose(acc, swing(400)[: len(acc)], rtol=0, atol=0.5e-3 + 1e-6)


def test_polar_control_point_is_es_device_model() -> None:
    dev = PolarDevice(swing(10), 52.0)
    assert pmd.MEAS_ACC in pmd.parse_features(dev.read(pmd.PMD_CONTROL_UUID))
    ((uuid, reply),) = dev.write(pmd.PMD_CONTROL_UUID, bytes((pmd.OP_GET_SETTINGS, pmd.MEAS_ACC)))
    offered = pmd.parse_settings(pmd.parse_response(reply).parameters)
    assert uuid == pmd.PMD_CONTROL_UUID and offered[pmd.SETTING_SAMPLE_RATE] == [52]
    start = bytes((pmd.OP_START, pmd.MEAS_ACC)) + pmd.encode_settings({0: 52, 1: 16, 2: 8})
    ((_, reply),) = dev.write(pmd.PMD_CONTROL_UUID, start)
    assert pmd.parse_response(reply).ok and dev.streaming
    dev.connection_lost()  # a real sensor stops measuring when the link drops
    assert not dev.streaming and not dev.model.streaming
    with pytest.raises(DataError, match="whole Hz"):
        PolarDevice(swing(10), 52.5)


def test_mujo_frames_round_trip_through_the_decoder_with_restart_and_sequence() -> None:
    dev = MujoDevice(swing(200), 50.0)
    dev.write(stream.MUJO_CONTROL_UUID, stream.encode_start(5000, 2))
    frames = []
    i = 0
    for _ in range(4):
        n, payload = dev.frame(i, 97, None)
        assert n == stream.max_samples_per_frame(97) == 14 and payload is not None and len(payload) <= 97
        frames.append(stream.decode_frame(payload))
        i += n
    assert [f.seq for f in frames] == [0, 1, 2, 3] and [f.restart for f in frames] == [
        True,
        False,
        False,
        False,
    ]
    assert frames[1].t0_us * 1e-6 == pytest.approx(dev.sensor_time_s(14), abs=1e-9)
    acc = np.concatenate([f.acc_g for f in frames])
    np.testing.assert_allclose(acc, swing(200)[:56], rtol=0, atol=0.5 / 4096 + 1e-6)
    # A new START (after a reconnect) begins a new stream: seq 0 and RESTART again.
    dev.connection_lost()
    dev.write(stream.MUJO_CONTROL_UUID, stream.encode_start(5000, 2))
    _, payload = dev.frame(i, 97, None)
    assert payload is not None
    again = stream.decode_frame(payload)
    assert again.seq == 0 and again.restart
    # The frame may be cut short (end of motion, a fault disconnect).
    n, payload = dev.frame(i, 97, limit=3)
    assert n == 3 and payload is not None and len(stream.decode_frame(payload).counts) == 3


def test_infinitime_polls_at_10_hz_and_notifies_only_changes() -> None:
    acc = np.repeat(swing(10), 5, axis=0)  # 50 Hz motion that changes every 5th sample
    acc[20:30] = acc[20]  # ... and stands still for 10 samples
    dev = InfiniTimeDevice(acc, 50.0, loop=False)
    assert dev.stream_rate_hz == motion.NOMINAL_RATE_HZ and dev.stream_length == 10
    assert [dev.motion_index(i) for i in range(4)] == [0, 5, 10, 15]
    dev.subscribed(motion.MOTION_VALUES_UUID, True)
    assert dev.streaming
    sent = [dev.frame(i, 20, None)[1] for i in range(10)]
    assert [p is None for p in sent] == [False, False, False, False, False, True, False, False, False, False]
    np.testing.assert_allclose(motion.decode_motion(sent[1])[0], acc[5], atol=0.5 / 1024 + 1e-6)
    assert dev.read(motion.MOTION_VALUES_UUID) == sent[-1]
    assert dev.sensor_time_s(3) is None


def test_sensor_clock_runs_fast_or_slow_by_the_drift() -> None:
    for ppm in (200.0, -200.0):
        watch = VirtualWatch("mujo", swing(10), 50.0, faults=Faults(clock_skew_ppm=ppm), speed=4)
        watch._t0_host = 100.0
        # Sample 50 000 (1000 s of sensor time) is measured 1000 s / (1 + ppm 1e-6) / speed after t0.
        assert watch.host_time_of(50_000) - 100.0 == pytest.approx(1000.0 / (1 + ppm * 1e-6) / 4, abs=1e-9)
        assert watch.index_at(watch.host_time_of(50_000)) == 50_000
        # Its timestamps stay on the nominal sample spacing of its own clock.
        assert watch.sensor_time_s(50_000) - watch.sensor_time_s(0) == pytest.approx(1000.0, abs=1e-6)
    drift_s = 1000.0 / (1 - 200e-6) - 1000.0 / (1 + 200e-6)
    assert drift_s == pytest.approx(0.4, abs=1e-3)  # +-200 ppm: 0.4 s apart after 1000 s


def test_faults_are_seeded_and_checked() -> None:
    f = Faults(drop_prob=0.3, jitter_s=0.01, burst_every=5, burst_len=3, seed=7)
    a, b = FaultPlan(f), FaultPlan(f)
    draws_a = [(a.drop(), a.jitter_s()) for _ in range(50)]
    assert draws_a == [(b.drop(), b.jitter_s()) for _ in range(50)]
    assert 5 < sum(d for d, _ in draws_a) < 25 and all(0 <= j <= 0.01 for _, j in draws_a)
    assert [a.hold(k) for k in range(6)] == [True, True, False, False, False, True]
    for bad in (
        {"drop_prob": 1.0},
        {"clock_skew_ppm": 250.0},
        {"burst_every": 2, "burst_len": 3},
        {"disconnect_at_s": (5.0, 2.0)},
        {"jitter_s": -0.1},
    ):
        with pytest.raises(ConfigError, match="faults out of range"):
            Faults(**bad)  # type: ignore[arg-type]


def test_bad_watch_inputs_say_what_to_fix() -> None:
    with pytest.raises(ShapeError, match=r"shape \(n, 3\)"):
        VirtualWatch("polar", np.zeros((10, 2), np.float32), 52.0)
    with pytest.raises(DataError, match="NaN"):
        VirtualWatch("mujo", np.full((10, 3), np.nan, np.float32), 50.0)
    with pytest.raises(ConfigError, match="expected one of polar, infinitime, mujo"):
        VirtualWatch("fitbit", swing(10), 50.0)
    with pytest.raises(DataError, match="speed"):
        VirtualWatch("mujo", swing(10), 50.0, speed=0)


def test_missing_bumble_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from mujo_edge.errors import MissingDependencyError

    real_import = builtins.__import__

    def no_bumble(name: str, *args: object, **kwargs: object) -> object:
        if name == "bumble" or name.startswith("bumble."):
            raise ImportError("No module named 'bumble'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_bumble)
    with pytest.raises(MissingDependencyError, match=r"pip install 'mujo-edge\[virtual\]'"):
        VirtualWatch("mujo", swing(10), 50.0)
