"""The runtime's input types: a StreamStatus names one of the connection events every stage knows."""

from __future__ import annotations

from pathlib import Path

import pytest

from mujo_edge.errors import DataError
from mujo_edge.samples import STATUS_KINDS, StreamStatus


def test_status_kinds_are_the_five_a_stream_reports() -> None:
    assert STATUS_KINDS == ("connected", "disconnected", "reconnected", "device_stopped", "stopped")
    assert [StreamStatus("w", 1.0, k).kind for k in STATUS_KINDS] == list(STATUS_KINDS)
    with pytest.raises(DataError, match=r"kind must be one of connected, .*got 'paused'"):
        StreamStatus("w", 1.0, "paused")  # type: ignore[arg-type]


def test_a_recording_with_an_unknown_event_names_the_line(tmp_path: Path) -> None:
    from mujo_edge.firmware_bridge.record import Recorder, read_recording

    path = tmp_path / "r.jsonl"
    with Recorder(path, "w", "mujo", rate_hz=50.0) as rec:
        rec.write_status(1.0, "connected")
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"t": 2.0, "s": "paused", "detail": ""}\n{"t": 3.0, "s": "stopped", "detail": ""}\n')
    with pytest.raises(DataError, match=r"line 3 is not a valid record .*unknown connection event 'paused'"):
        list(read_recording(path))
