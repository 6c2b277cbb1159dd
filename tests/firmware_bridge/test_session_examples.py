"""The examples run as they are (the replay one needs no Bluetooth; the Polar one fails clearly without it)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", [name, *argv])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return int(done.value.code or 0)


def test_replay_with_faults_example_counts_every_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_example("replay_with_faults.py", ["--out", str(tmp_path)], monkeypatch) == 0
    out = capsys.readouterr().out
    live = next(line for line in out.splitlines() if line.startswith("live (recorded)")).split()
    faulty = next(line for line in out.splitlines() if line.startswith("replay with faults")).split()
    assert live[2:8] == ["1000", "0", "0", "0", "0", "yes"]
    # 1000 samples - 3 lost notifications - 1 corrupt - 5 while the link was down (10 samples each)
    assert faulty[3:9] == ["910", "1", "3", "40", "1", "yes"]
    assert "connected > disconnected > reconnected > stopped" in out
    assert "decodes the recording again: 1000 samples" in out
    assert (tmp_path / "left.jsonl").exists()


@pytest.mark.ble
def test_stream_polar_example_without_bluetooth_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("bleak", reason="the 'ble' extra (bleak) is not installed")
    import bleak

    async def no_adapter(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(bleak.BleakScanner, "find_device_by_filter", no_adapter)
    assert run_example("stream_polar.py", ["Polar Sense 1", "--seconds", "1"], monkeypatch) == 2
    assert "error: no Bluetooth adapter found" in capsys.readouterr().out


def test_decode_throughput_example_prints_every_decoder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_example("decode_throughput.py", ["--frames", "20"], monkeypatch) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["polar delta", "polar raw int16", "mujo v1", "infinitime"]
    assert all(float(r.split()[-1]) > 0 for r in rows)
