"""`mujo-edge stream --virtual` fault flags (#13 item 14): drops, bursts, disconnects, drift and jitter from
the command line, seeded; the run ends cleanly, every received sample is recorded, events stay monotone."""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import pytest

from mujo_edge import workouts
from mujo_edge.cli import build_parser, main
from mujo_edge.cli.stream import virtual_faults
from mujo_edge.errors import ConfigError
from tests.core.test_stream_cli import fake_bundle  # noqa: F401 (the fixture)


def _args(**kw: object) -> argparse.Namespace:
    base = {
        "drop": 0.0,
        "burst": "0:0",
        "disconnect_every": 0.0,
        "down": 0.5,
        "clock_skew": 0.0,
        "jitter": 0.0,
    }
    base.update(kw)
    return argparse.Namespace(**base)


def test_fault_flags_become_the_watch_faults() -> None:
    f = virtual_faults(_args(drop=0.05, burst="10:4", disconnect_every=7.0, clock_skew=80.0), 30.0, seed=3)
    assert (f.drop_prob, f.burst_every, f.burst_len, f.clock_skew_ppm, f.seed) == (0.05, 10, 4, 80.0, 3)
    assert f.disconnect_at_s == (7.0, 14.0, 21.0, 28.0)
    with pytest.raises(ConfigError, match="EVERY:LEN"):
        virtual_faults(_args(burst="ten"), 30.0, seed=0)
    with pytest.raises(ConfigError, match="drop_prob"):
        virtual_faults(_args(drop=1.5), 30.0, seed=0)
    for every in (-1.0, float("nan")):
        with pytest.raises(ConfigError, match="--disconnect-every must be >= 0 seconds"):
            virtual_faults(_args(disconnect_every=every), 30.0, seed=0)
    # counts, seeds and durations that mean nothing are refused by the parser, naming the flag
    for argv in (["--threads", "0"], ["--virtual-count", "0"], ["--seed", "-1"], ["--duration", "nan"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["stream", "--virtual", *argv])


@pytest.mark.parametrize("flag", ["--clock-skew", "--clock-drift"])
def test_clock_skew_flag_keeps_its_old_name(flag: str) -> None:
    args = build_parser().parse_args(["stream", "--virtual", flag, "-40"])
    assert virtual_faults(args, 30.0, seed=0).clock_skew_ppm == -40.0


@pytest.mark.ble
def test_stream_virtual_with_every_fault_flag(
    tmp_path: Path,
    fake_bundle: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("bumble", reason="the virtual watch needs bumble (the dev extra)")
    import numpy as np

    import mujo_edge.cli.stream as stream_cli

    def motion(steps: list, rate_hz: float, seed: int = 0, wrist: str = "left") -> tuple[np.ndarray, str]:
        n = round(workouts.script_seconds(steps) * rate_hz)  # x flips every 3 s: the faults are under test
        x = np.where((np.arange(n) // round(3 * rate_hz)) % 2 == 0, -0.5, 0.5)
        return np.stack([x, 0 * x, 1 + 0 * x], 1).astype(np.float32), "square wave"

    monkeypatch.setattr(stream_cli, "workout_motion", motion)
    ev, raw = tmp_path / "ev.jsonl", tmp_path / "raw.jsonl"
    args = [
        "stream", "--virtual", "--script", "PEN:9,rest:3,ABD:9", "--speed", "3", "--drop", "0.03",
        "--burst", "8:3", "--disconnect-every", "8", "--down", "0.5", "--clock-drift", "60", "--jitter", "0.004",
        "--fault-seed", "2",
    ]  # fmt: skip
    assert main([*args, "--events", str(ev), "--record", str(raw), "--no-live"]) == 0
    events = [json.loads(line) for line in ev.read_text().splitlines()]
    assert len(events) >= 8
    starts = [e["t_start"] for e in events]
    assert all(b > a for a, b in itertools.pairwise(starts))
    again = tmp_path / "again.jsonl"
    assert main(["replay", str(raw), "--events", str(again)]) == 0
    assert [json.loads(line)["t_start"] for line in again.read_text().splitlines()] == starts
