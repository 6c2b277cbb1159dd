"""A recording's connection config is checked before a decoder uses it: a corrupt value (0 Hz, a string, NaN,
a list for the settings) is a DataError naming the key, the value and the fix, and changes nothing; a replay
keeps every batch before the line that holds it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mujo_edge.errors import ConfigError, DataError
from mujo_edge.firmware_bridge.profiles import get_profile
from mujo_edge.firmware_bridge.profiles.polar import PolarPmdProfile, pmd
from mujo_edge.firmware_bridge.record import Recorder, ReplayDevice, replay_batches
from mujo_edge.samples import SampleBatch

GOOD = {"rate_hz": 52.0, "factor": 0.5, "settings": {"0": 52, "2": 8}}


@pytest.mark.parametrize(
    "name, config, shown",
    [
        ("polar", {"rate_hz": 0}, "rate_hz=0 is not a sample rate in Hz"),
        ("polar", {"rate_hz": "abc"}, "rate_hz='abc' is not a sample rate in Hz"),
        ("polar", {"rate_hz": math.nan}, "rate_hz=nan is not a sample rate"),
        ("polar", {"rate_hz": -52}, "rate_hz=-52 is not a sample rate"),
        ("polar", {"rate_hz": True}, "rate_hz=True is not a sample rate"),
        ("polar", {"rate_hz": 52, "factor": "x"}, "factor='x' is not a PMD FACTOR"),
        ("polar", {"rate_hz": 52, "factor": math.nan}, "factor=nan is not a PMD FACTOR"),
        ("polar", {"rate_hz": 52, "settings": [1, 2]}, r"settings=\[1, 2\] is not an object"),
        (
            "polar",
            {"rate_hz": 52, "settings": {"9": 1}},
            r"settings=\{'9': 1\} is not keyed by PMD setting ids",
        ),
        ("polar", {"rate_hz": 52, "settings": {"2": math.inf}}, "settings.2=inf is not a PMD range"),
        ("mujo", {"rate_hz": 0}, "rate_hz=0 is not a sample rate"),
        (
            "mujo",
            {"rate_hz": 700.0},
            r"rate_hz=700.0 is not a sample rate in Hz \(a finite number in \[0.01, 655.35\]",
        ),
        ("infinitime", {"rate_hz": "10"}, "rate_hz='10' is not a sample rate"),
    ],
)
def test_a_corrupt_config_is_a_data_error_naming_key_and_value_and_changes_nothing(
    name: str, config: dict[str, Any], shown: str
) -> None:
    profile = get_profile(name, rate_hz=52.0)
    if name == "polar":
        profile.apply_config(GOOD)
    before = dict(vars(profile))
    with pytest.raises(
        DataError, match=f"{name} connection config: {shown}.*set it to what the device streamed"
    ):
        profile.apply_config(config)
    assert {k: v for k, v in vars(profile).items() if k != "_events"} == {
        k: v for k, v in before.items() if k != "_events"
    }


def test_a_good_config_is_restored() -> None:
    profile = PolarPmdProfile()
    profile.apply_config(GOOD)
    assert (profile.rate_hz, profile.factor, profile.settings) == (52.0, 0.5, {0: 52, 2: 8})
    assert profile.config() == {"rate_hz": 52.0, "factor": 0.5, "settings": {"0": 52, "2": 8}}


def test_the_replay_device_checks_the_config_too() -> None:
    with pytest.raises(DataError, match="rate_hz='abc' is not a sample rate"):
        ReplayDevice.for_profile("polar", {"rate_hz": "abc"})
    with pytest.raises(DataError, match="factor=nan is not a PMD FACTOR"):
        ReplayDevice.for_profile("polar", {"rate_hz": 52, "factor": math.nan})
    with pytest.raises(DataError, match="rate_hz=0 is not a sample rate"):
        ReplayDevice.for_profile("mujo", {"rate_hz": 0})
    assert ReplayDevice.for_profile("polar", {"rate_hz": 52.0, "factor": 1.0}).profile_name == "polar"


@pytest.mark.parametrize("bad", [math.nan, -1.0, math.inf, "52"])
def test_a_bad_constructor_rate_is_a_config_error(bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"rate_hz=.*expected a sample rate in Hz"):
        get_profile("infinitime", rate_hz=bad)


def test_replay_keeps_every_batch_before_a_reconnect_with_a_corrupt_config(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    interval_ns = 1e9 / 52
    with Recorder(path, "polar1", PolarPmdProfile(rate_hz=52)) as rec:
        rec.write_status(0.0, "connected", "", {"rate_hz": 52.0, "factor": 1.0, "settings": {"0": 52}})
        for i in range(20):
            stamp = int(10**12 + (i + 1) * 10 * interval_ns)
            rec.write_notification(
                0.2 * i, pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(np.zeros((10, 3)), stamp)
            )
        rec.write_status(5.0, "reconnected", "", {"rate_hz": 0, "factor": 1.0})
        rec.write_notification(5.1, pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(np.zeros((10, 3)), 10**13))
    got: list[SampleBatch] = []
    with pytest.raises(DataError, match="rate_hz=0 is not a sample rate"):
        for item in replay_batches(path):
            if isinstance(item, SampleBatch):
                got.append(item)
    assert sum(len(b) for b in got) == 200


def test_a_header_rate_the_profile_does_not_stream_at_is_refused_before_any_sample(tmp_path: Path) -> None:
    """A header claiming 1e9 Hz (and no config after it) made the pipeline size a 426 GiB grid."""
    path = tmp_path / "rec.jsonl"
    with Recorder(path, "polar1", PolarPmdProfile(rate_hz=52)) as rec:
        rec.write_notification(0.2, pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(np.zeros((10, 3)), 10**12))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0].replace('"rate_hz":52.0', '"rate_hz":1e9') + "".join(lines[1:]))
    assert '"rate_hz":1e9' in path.read_text()
    with pytest.raises(DataError, match=r"header's rate_hz 1000000000\.0 is not a rate the 'polar' profile"):
        list(replay_batches(path))
    with pytest.raises(Exception, match="at most 10000 Hz"):  # and the runtime refuses such a batch itself
        SampleBatch("w", np.zeros((2, 3), np.float32), 0.0, 1e9, np.arange(2.0))
