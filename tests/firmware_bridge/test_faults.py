"""One fault vocabulary: every simulator takes the same Faults, refuses what it cannot inject; the profile
registry gives each profile's decoder and device model from its one folder."""

from __future__ import annotations

import numpy as np
import pytest

from mujo_edge.errors import ConfigError, DeviceError
from mujo_edge.firmware_bridge.faults import INJECTED_BY, Faults
from mujo_edge.firmware_bridge.profiles import PROFILE_NAMES, device_model, get_profile
from mujo_edge.firmware_bridge.record import ReplayConnector, ReplayDevice
from mujo_edge.firmware_bridge.simulated_session import simulate_stream


def test_faults_out_of_range_say_which() -> None:
    with pytest.raises(ConfigError, match=r"drop_prob=1\.0 .*clock_skew_ppm=-300\.0"):
        Faults(drop_prob=1.0, clock_skew_ppm=-300.0)
    with pytest.raises(ConfigError, match="scan_failures=-1"):
        Faults(scan_failures=-1)
    assert Faults(seed=3).changed() == []
    assert Faults(down_s=2.0, jitter_s=0.01).changed() == ["jitter_s", "down_s"]


def test_each_simulator_refuses_a_fault_it_cannot_inject() -> None:
    device = ReplayDevice.for_profile("mujo", {"rate_hz": 50.0})
    with pytest.raises(
        ConfigError, match=r"the replay transport cannot inject jitter_s; it injects .*burst_every"
    ):
        ReplayConnector([], device, ("x",), Faults(jitter_s=0.01))
    acc = np.zeros((100, 3), np.float32)
    with pytest.raises(ConfigError, match="the simulated session stream cannot inject corrupt_indices"):
        simulate_stream(acc, 50.0, faults=Faults(corrupt_indices=frozenset({1})))
    assert INJECTED_BY["virtual watch"] >= {"drop_prob", "clock_skew_ppm", "jitter_s", "disconnect_at_s"}


def test_simulated_stream_skew_disconnect_and_bursts() -> None:
    acc = np.zeros((50 * 20, 3), np.float32)  # 20 s at 50 Hz, 10-sample notifications
    sim = simulate_stream(
        acc,
        50.0,
        batch=10,
        faults=Faults(clock_skew_ppm=100.0, disconnect_at_s=(5.0,), down_s=2.0, burst_every=10, burst_len=3),
    )
    # a fast sensor clock: 100 ppm more sensor seconds per host second
    assert sim.t_sensor_s[-1] - sim.t_sensor_s[0] == pytest.approx(19.98 * (1 + 100e-6))
    # the link is down from 5 s to 7 s after the first sample: 10 notifications (2 s) lost
    assert int((~sim.delivered).sum()) == 100
    assert [s.kind for s in sim.items if not hasattr(s, "acc_g")] == ["disconnected", "reconnected"]
    recv = [b.t_recv_s for b in sim.items if hasattr(b, "acc_g")]
    assert recv[0] == recv[1] == recv[2] < recv[3]  # notifications 0..2 go out together


def test_every_profile_folder_has_its_decoder_and_device_model() -> None:
    for name in PROFILE_NAMES:
        profile, model = get_profile(name), device_model(name)
        assert profile.name == model.profile == name and profile.service_uuid == model.service_uuid
        replay = ReplayDevice.for_profile(name, {"rate_hz": profile.rate_hz})
        assert replay.device.default_name and not replay.streaming
    with pytest.raises(ConfigError, match="unknown device profile 'fitbit'; expected one of polar"):
        device_model("fitbit")
    with pytest.raises(DeviceError, match="cannot write characteristic"):
        ReplayDevice.for_profile("infinitime").write("0000-not-a-char", b"\x01")
