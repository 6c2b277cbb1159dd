"""Recordings: append-only JSON lines, crash-tolerant reading, replay identical to the live stream."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.errors import DataError
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles.mujo import MujoStreamProfile, stream
from mujo_edge.firmware_bridge.profiles.polar import PolarPmdProfile, pmd
from mujo_edge.firmware_bridge.record import (
    Notification,
    Recorder,
    ReplayConnector,
    ReplayDevice,
    StatusRecord,
    read_header,
    read_recording,
    replay_batches,
)
from mujo_edge.firmware_bridge.session import DeviceSession
from mujo_edge.samples import SampleBatch, StreamStatus

from .test_session import run_session


def mujo_live(path: Path, faults: Faults) -> tuple[list, DeviceSession]:
    counts = np.stack([np.arange(300), np.zeros(300), np.full(300, 4096)], axis=1).astype(np.int16)
    frames = stream.MujoStreamEncoder(5000, 2, stream.OVERHEAD_BYTES + 60).encode(0, counts)
    notes = [Notification(100.0 + 0.2 * (i + 1), stream.MUJO_DATA_UUID, f) for i, f in enumerate(frames)]
    connector = ReplayConnector(
        notes, ReplayDevice.for_profile("mujo"), (stream.MUJO_DATA_UUID,), faults, name="w"
    )

    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    profile = MujoStreamProfile()
    with Recorder(path, "left", profile, {"wrist": "left"}) as recorder:
        session = DeviceSession(connector, "w", profile, "left", recorder=recorder, sleep=no_wait)
        items = asyncio.run(run_session(session, connector))
    return items, session


def same_items(live: list, replayed: list) -> None:
    live_b = [i for i in live if isinstance(i, SampleBatch)]
    rep_b = [i for i in replayed if isinstance(i, SampleBatch)]
    assert len(live_b) == len(rep_b) > 0
    for a, b in zip(live_b, rep_b, strict=True):
        np.testing.assert_array_equal(a.acc_g, b.acc_g)
        np.testing.assert_array_equal(a.t_sensor_s, b.t_sensor_s)
        assert (a.seq, a.gap_before, a.rate_hz) == (b.seq, b.gap_before, b.rate_hz)
        assert a.t_recv_s == pytest.approx(b.t_recv_s, abs=1e-6)  # recorded with microsecond resolution
    assert [i.kind for i in live if isinstance(i, StreamStatus)] == [
        i.kind for i in replayed if isinstance(i, StreamStatus)
    ]


def test_recording_format_header_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "rec" / "left.jsonl"
    _, session = mujo_live(path, Faults(disconnect_at_s=(1.0,), down_s=0.2, corrupt_indices=frozenset({9})))
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "mujo-edge-ble-recording" and header["version"] == 1
    assert header["device"] == "left" and header["profile"] == "mujo" and header["meta"] == {"wrist": "left"}
    assert "mujo_edge_version" in header["provenance"]
    first = json.loads(lines[1])
    assert first["s"] == "connected" and first["config"] == {"rate_hz": 50.0}
    kinds = [json.loads(x).get("s") for x in lines[1:] if "s" in json.loads(x)]
    assert kinds == ["connected", "disconnected", "reconnected", "stopped"]
    # every received notification is on disk, including the corrupt one that did not decode
    notes = [json.loads(x) for x in lines[1:] if "c" in json.loads(x)]
    assert len(notes) == session.stats.packets and session.stats.decode_errors == 1
    assert read_header(path).rate_hz == 50.0


def test_replay_batches_equal_the_live_stream(tmp_path: Path) -> None:
    path = tmp_path / "left.jsonl"
    live, _ = mujo_live(path, Faults(disconnect_at_s=(1.5,), down_s=0.4, drop_indices=frozenset({3})))
    same_items(live, list(replay_batches(path)))


def test_polar_replay_uses_the_recorded_factor(tmp_path: Path) -> None:
    samples = np.tile([[0, 0, 4000]], (60, 1))
    notes = [
        Notification(
            1.0 + 0.1 * i,
            pmd.PMD_DATA_UUID,
            pmd.encode_acc_frame_delta(samples[i * 6 : i * 6 + 6], 10**12 + i * 10**8, 0),
        )
        for i in range(10)
    ]
    device = ReplayDevice.for_profile(
        "polar", {"rate_hz": 52, "factor": 0.00025}
    )  # compressed type 0: g x FACTOR
    connector = ReplayConnector(notes, device, (pmd.PMD_DATA_UUID,), Faults())
    path = tmp_path / "h10.jsonl"
    profile = PolarPmdProfile()
    with Recorder(path, "h10", profile) as recorder:
        live = asyncio.run(
            run_session(DeviceSession(connector, "replay", profile, "h10", recorder=recorder), connector)
        )
    live_b = [i for i in live if isinstance(i, SampleBatch)]
    np.testing.assert_allclose(live_b[0].acc_g[:, 2], 1.0)  # 4000 x 0.00025 g
    same_items(live, list(replay_batches(path)))
    # and through the Transport interface again: the recording drives a full session
    again = ReplayConnector.from_recording(path)
    replayed = asyncio.run(run_session(DeviceSession(again, "h10", PolarPmdProfile(), "h10"), again))
    same_items(live, replayed)


def test_truncated_last_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "crash.jsonl"
    with Recorder(path, "w", "mujo", rate_hz=50) as rec:
        rec.write_status(1.0, "connected")
        rec.write_notification(1.5, stream.MUJO_DATA_UUID, b"\x01\x02")
        # the file is complete on disk while still open: each line is flushed as written
        assert len(path.read_text().splitlines()) == 3
    with open(path, "a") as f:
        f.write('{"t": 2.0, "c": "c842ee03-5d13-4718-ac9c-b14bd3cd8bfc", "d": "01')
    with caplog.at_level(logging.WARNING):
        records = list(read_recording(path))
    assert records == [StatusRecord(1.0, "connected"), Notification(1.5, stream.MUJO_DATA_UUID, b"\x01\x02")]
    assert "skipped a truncated last line 4" in caplog.text


def test_corrupt_middle_line_raises_after_yielding_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    with Recorder(path, "w", "mujo", rate_hz=50) as rec:
        rec.write_notification(1.0, "x", b"\x01")
    with open(path, "a") as f:
        f.write("garbage\n")
        f.write('{"t": 3.0, "s": "stopped", "detail": ""}\n')
    got = []
    with pytest.raises(DataError, match="line 3 is not a valid record"):
        for record in read_recording(path):
            got.append(record)
    assert got == [Notification(1.0, "x", b"\x01")]


def test_bad_files_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_header(tmp_path / "missing.jsonl")
    other = tmp_path / "other.jsonl"
    other.write_text('{"format": "something-else"}\n')
    with pytest.raises(DataError, match="expected format 'mujo-edge-ble-recording', found 'something-else'"):
        read_header(other)
    newer = tmp_path / "newer.jsonl"
    newer.write_text('{"format": "mujo-edge-ble-recording", "version": 2}\n')
    with pytest.raises(DataError, match=r"version 2 is not supported by this mujo-edge \(it reads 1\)"):
        read_header(newer)
    with pytest.raises(DataError, match="already exists"):
        Recorder(other, "w", "mujo")
    rec = Recorder(tmp_path / "closed.jsonl", "w", "mujo")
    rec.close()
    with pytest.raises(DataError, match="closed"):
        rec.write_status(0.0, "stopped")
