"""``mujo-edge teach --live`` (a guided recording, then teaching from it) and the wrist a recording was
streamed with, which teaching and calibration read as replay does."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.bundle import Bundle
from mujo_edge.cli import main, teach_live
from mujo_edge.cli.teach import examples_from_recording, recording_windows, teach_bundle
from mujo_edge.cli.teach_live import SETTLE_S, GuidedPlan, live_paths, record_guided, write_segments
from mujo_edge.errors import ConfigError, DataError, DeviceError, MujoError
from mujo_edge.firmware_bridge.profiles import get_profile
from mujo_edge.firmware_bridge.profiles.polar import pmd
from mujo_edge.firmware_bridge.record import Notification, Recorder, ReplayConnector, ReplayDevice
from mujo_edge.firmware_bridge.session import DeviceSession
from mujo_edge.firmware_bridge.transport import host_time_s
from mujo_edge.gateway import RECORDING_META_KEY
from mujo_edge.samples import SampleBatch

PHYSIO = Path(__file__).resolve().parents[2] / "mujo_edge" / "assets" / "shoulder_physio.mujo"
RATE = 52.0
FRAME = 26  # samples per notification


def motion(steps: list[tuple[str, float]], seed: int = 0) -> np.ndarray:
    """(n, 3) g of a watch whose wearer rests (gravity on z), swings along x at 1 Hz or shakes along y at
    4 Hz, step by step."""
    rng = np.random.default_rng(seed)
    parts = []
    for kind, seconds in steps:
        t = np.arange(int(seconds * RATE)) / RATE
        acc = np.zeros((t.size, 3))
        acc[:, 2] = 1.0
        if kind == "swing":
            acc[:, 0] = 0.8 * np.sin(2 * np.pi * t)
        elif kind == "shake":
            acc[:, 1] = 0.6 * np.sin(2 * np.pi * 4.0 * t)
        parts.append(acc + 0.02 * rng.standard_normal(acc.shape))
    return np.concatenate(parts)


def notifications(acc: np.ndarray, t0: float = 100.0) -> list[Notification]:
    """PMD ACC frames of ``acc``, each received (host clock, s) ``t0`` + its last sample's time + 10 ms;
    the replay link delivers them with these receive times, paced by their differences."""
    n = acc.shape[0] // FRAME * FRAME
    t = np.arange(n) / RATE
    mg = np.round(acc[:n] * 1000).astype(np.int64)
    t_ns = 7.0e17 + t * 1e9
    return [
        Notification(
            t0 + t[b - 1] + 0.01, pmd.PMD_DATA_UUID, pmd.encode_acc_frame_raw(mg[a:b], int(t_ns[b - 1]))
        )
        for a, b in ((a, a + FRAME) for a in range(0, n, FRAME))
    ]


def guided_recording(path: Path, plan: GuidedPlan, kinds: list[str]) -> list:
    """A guided recording of ``plan`` (real time) from a replayed watch whose wearer does ``kinds`` as
    prompted; returns the segments on the recording's host clock."""
    steps: list[tuple[str, float]] = []
    for kind in kinds:
        steps += [("rest", plan.rest_s), (kind, plan.seconds)]
    # received on this host's clock as the link plays them (the first frame at once), as a live watch's are
    notes = notifications(motion([*steps, ("rest", 3.0)]), t0=host_time_s() - FRAME / RATE)
    device = ReplayDevice.for_profile("polar", {"rate_hz": RATE})
    connector = ReplayConnector(notes, device, (pmd.PMD_DATA_UUID,), name="watch", speed=1.0)
    profile = get_profile("polar", rate_hz=RATE)
    said: list[str] = []
    with Recorder(
        path, "watch", profile, meta={RECORDING_META_KEY: {"wrist": {"watch": "right"}}}
    ) as recorder:
        session = DeviceSession(connector, "watch", profile, "watch", recorder=recorder)
        got = asyncio.run(record_guided(session, plan, said.append, host_time_s))
    segments, samples = got.segments, got.samples
    assert samples >= (plan.rest_s + plan.seconds) * len(kinds) * RATE - 2 * FRAME
    # the schedule: from the first sample, rest, then the activity (its first SETTLE_S not taken), and so on
    assert got.first_sample_s is not None
    assert segments[0][0] == pytest.approx(got.first_sample_s + plan.rest_s + SETTLE_S, abs=0.05)
    assert segments[1][0] - segments[0][1] == pytest.approx(plan.rest_s + SETTLE_S, abs=0.05)
    assert said[0] == "[1/2] get ready: swing in 0.5 s" and said[1].startswith(
        "[1/2] now: swing, 10 repetitions"
    )
    assert said[-1] == "[2/2] stop: shake done"
    return segments


@pytest.mark.slow
def test_a_guided_recording_teaches_what_was_asked(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    base = Bundle.open(PHYSIO)
    plan = GuidedPlan(("swing", "shake"), seconds=7.0, rest_s=0.5)
    rec = tmp_path / "me.jsonl"
    segments = guided_recording(rec, plan, ["swing", "shake"])
    assert [s[2] for s in segments] == ["swing", "shake"]
    # the segments on the recording's first window's clock, as teach --segments reads them
    _, t_start, _ = recording_windows(base, rec, calibrate=False)
    seg = tmp_path / "me.csv"
    write_segments(seg, [(a - t_start.min(), b - t_start.min(), lab) for a, b, lab in segments])
    rows = list(csv.reader(seg.open()))
    assert rows[0] == ["start_s", "end_s", "label"] and [r[2] for r in rows[1:]] == ["swing", "shake"]
    x, names, labels = examples_from_recording(base, rec, seg)
    assert labels == ["swing", "shake"]
    # 5 s of each activity after the settling time hold 3-4 windows of 2 s, 1 s apart; each is the
    # activity asked for (the bundle has no calibration: the examples are the windows as recorded)
    counts = {lab: names.count(lab) for lab in labels}
    assert all(3 <= c <= 4 for c in counts.values()), counts
    assert base.calibration is None
    is_swing = np.array([n == "swing" for n in names])
    assert (x[is_swing, :, 0].std(axis=1) > 0.4).all() and (x[is_swing, :, 1].std(axis=1) < 0.1).all()
    assert (x[~is_swing, :, 1].std(axis=1) > 0.3).all() and (x[~is_swing, :, 0].std(axis=1) < 0.1).all()
    b, rep = teach_bundle(base, tmp_path / "me.mujo", x, names, labels)
    assert b.labels == ["swing", "shake"] and rep["examples"] == counts
    test = motion([("swing", 12.0), ("shake", 12.0)], seed=3)
    starts = range(0, test.shape[0] - 100, 50)
    windows = np.stack([test[i : i + 100] for i in starts]).astype(np.float32)
    got = b.classify(windows)[0]
    edge = 12 * RATE
    clear = [
        (g, "swing" if i + 100 <= edge else "shake")
        for g, i in zip(got, starts, strict=True)
        if not i < edge < i + 100
    ]
    assert np.mean([g == w for g, w in clear]) >= 0.9


def recording(path: Path, acc: np.ndarray, wrist: str) -> None:
    """A recording of ``acc`` as `stream --record` writes it, its header naming the wrist."""
    profile = get_profile("polar", rate_hz=RATE)
    with Recorder(path, "watch", profile, meta={RECORDING_META_KEY: {"wrist": {"watch": wrist}}}) as r:
        for n in notifications(acc):
            r.write_notification(n.t_recv_s, n.char_uuid, n.payload)


def test_teaching_and_calibration_read_the_wrist_the_recording_was_streamed_with(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    base = Bundle.open(PHYSIO)
    acc = motion([("swing", 10.0), ("shake", 10.0)])
    acc[:, 0] += (
        0.3  # (x leans one way: its median, 0.3 g here, is -0.3 g in the model's frame when mirrored)
    )
    left, right = tmp_path / "left.jsonl", tmp_path / "right.jsonl"
    recording(left, acc, "left")
    recording(right, acc, "right")
    x_left, t_left, _ = recording_windows(base, left, calibrate=False)
    x_right, t_right, _ = recording_windows(base, right, calibrate=False)
    # left: x mirrored into the model's right-wrist frame, as `stream` and `replay` do; y and z as measured
    np.testing.assert_array_equal(t_left, t_right)
    np.testing.assert_array_equal(x_left[..., 0], -x_right[..., 0])
    np.testing.assert_array_equal(x_left[..., 1:], x_right[..., 1:])
    # --wrist overrides the header
    np.testing.assert_array_equal(recording_windows(base, left, calibrate=False, wrist="right")[0], x_right)
    # a header naming no wrist is refused with what to do
    lines = left.read_text().splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines[0].replace('"left"', '"elbow"') + "".join(lines[1:]))
    with pytest.raises(DataError, match="not left or right; give --wrist"):
        recording_windows(base, bad)
    # calibrate fits its table on the windows the stream will map: the mirrored ones
    out = tmp_path / "cal.mujo"
    assert main(["calibrate", "--bundle", str(PHYSIO), "--recording", str(left), "--out", str(out)]) == 0
    table = Bundle.open(out).calibration
    assert table is not None
    median = table.source_q[:, table.source_q.shape[1] // 2]
    assert median[0] == pytest.approx(-0.3, abs=0.05) and median[2] == pytest.approx(1.0, abs=0.05)


def test_segments_that_give_no_window_and_an_out_over_the_base_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "r.jsonl"
    recording(rec, motion([("swing", 10.0), ("shake", 10.0)]), "right")
    seg = tmp_path / "s.csv"
    # an activity beyond the recording's end and one shorter than a window: named, with why
    seg.write_text("0,9,swing\n10,19,shake\n40,60,squats\n9.2,9.8,tiny\n")
    with pytest.raises(
        DataError, match=r"\['squats', 'tiny'\].*squats 40-60 s \(beyond the recording's end\)"
    ):
        examples_from_recording(Bundle.open(PHYSIO), rec, seg)
    with pytest.raises(DataError, match=r"tiny 9.2-9.8 s \(shorter than a 2-s window\)"):
        examples_from_recording(Bundle.open(PHYSIO), rec, seg)
    # a segments file saved by Excel (byte-order mark before the header) reads; one not in UTF-8 says so
    seg.write_bytes("\ufeffstart_s,end_s,label\n0,9,swing\n10,19,shake\n".encode())
    assert set(examples_from_recording(Bundle.open(PHYSIO), rec, seg)[1]) == {"swing", "shake"}
    seg.write_bytes(b"0,9,caf\xe9\n10,19,shake\n")
    with pytest.raises(DataError, match="is not UTF-8 text"):
        examples_from_recording(Bundle.open(PHYSIO), rec, seg)
    # two activities' segments that overlap: the shared seconds went silently to the first row's label
    seg.write_text("start_s,end_s,label\n0,9,swing\n8,19,shake\n2,5,swing\n")
    with pytest.raises(DataError, match=r"rows 2 and 3: swing 0-9 s and shake 8-19 s overlap"):
        examples_from_recording(Bundle.open(PHYSIO), rec, seg)
    seg.write_text("0,9,swing\n2,5,swing\n10,19,shake\n")  # (the same activity twice is fine)
    assert set(examples_from_recording(Bundle.open(PHYSIO), rec, seg)[1]) == {"swing", "shake"}
    # teach and calibrate never write over the bundle they start from
    base = tmp_path / "base.mujo"
    base.write_bytes(PHYSIO.read_bytes())
    for argv in (
        ["teach", "--bundle", str(base), "--recording", str(rec), "--segments", str(seg), "--out", str(base)],
        ["calibrate", "--bundle", str(base), "--recording", str(rec), "--out", str(base)],
    ):
        capsys.readouterr()
        assert main(argv) == 2
        assert "is the --bundle itself" in " ".join(capsys.readouterr().out.split())
    assert base.read_bytes() == PHYSIO.read_bytes()
    # calibrating on a few seconds warns that the table describes them, not the wearer
    assert (
        main(["calibrate", "--bundle", str(base), "--recording", str(rec), "--out", str(tmp_path / "c.mujo")])
        == 0
    )
    assert "only 18 windows to fit on" in " ".join(capsys.readouterr().out.split())


def test_guided_plans_and_files_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least two --activities"):
        GuidedPlan(("squats",))
    with pytest.raises(ConfigError, match="names one activity twice"):
        GuidedPlan(("squats", "squats"))
    with pytest.raises(ConfigError, match="--seconds must be > 4"):
        GuidedPlan(("a", "b"), seconds=3.0)
    with pytest.raises(ConfigError, match="--reps >= 1"):
        GuidedPlan(("a", "b"), reps=0)
    with pytest.raises(ConfigError, match="--rest must be >= 0"):
        GuidedPlan(("a", "b"), rest_s=float("nan"))
    with pytest.raises(ConfigError, match="--seconds must be > 4"):
        GuidedPlan(("a", "b"), seconds=float("inf"))
    assert GuidedPlan(("a", "b"), seconds=8.0, rest_s=2.0).workout() == [
        {"rest": 2.0},
        {"activity": "a", "seconds": 8.0},
        {"rest": 2.0},
        {"activity": "b", "seconds": 8.0},
        {"rest": 2.5},
    ]
    (tmp_path / "me.jsonl").write_text("old")
    with pytest.raises(DataError, match=r"already exists; give --record NEW\.jsonl"):
        live_paths(tmp_path / "me.mujo", None)
    with pytest.raises(ConfigError, match=r"name the recording \.jsonl"):
        live_paths(tmp_path / "me.mujo", tmp_path / "mine.csv")  # (its segments would overwrite it)
    assert live_paths(tmp_path / "me.mujo", tmp_path / "new.jsonl") == (
        tmp_path / "new.jsonl",
        tmp_path / "new.csv",
    )


def test_teach_cli_refuses_live_flags_without_live_and_live_without_a_watch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "o.mujo")
    assert (
        main(["teach", "--bundle", str(PHYSIO), "--data", str(tmp_path), "--activities", "a,b", "--out", out])
        == 2
    )
    assert "--activities belongs to a guided recording: add --live" in capsys.readouterr().out
    assert main(["teach", "--bundle", str(PHYSIO), "--live", "--activities", "a,b", "--out", out]) == 2
    assert "give --device NAME|ADDRESS or --virtual" in capsys.readouterr().out
    live = ["teach", "--bundle", str(PHYSIO), "--live", "--device", "w", "--out", out]
    # the plan and the labels are checked before any connection: the user does not move in vain
    for extra, said in (
        (["--activities", "squats"], "at least two activities"),
        (["--activities", "a,b", "--seconds", "3"], "the bundle's window is 2 s"),
        (["--activities", "a,unknown"], "'unknown' is the open-set answer"),
        (["--activities", "a,b", "--reject-labels", "c"], "not among the taught labels"),
        (["--activities", "a,b", "--per-class", "0"], "--per-class must be >= 1"),
        (["--activities", "a,b", "--segments", "s.csv"], "--live writes its own"),
    ):
        assert main([*live, *extra]) == 2, extra
        assert said in " ".join(capsys.readouterr().out.split()), extra
    data = ["teach", "--bundle", str(PHYSIO), "--data", str(tmp_path), "--out", out]
    assert main([*data, "--seconds", "20"]) == 2  # (a flag of --live, not silently ignored)
    assert "--seconds belongs to a guided recording: add --live" in capsys.readouterr().out
    assert main([*data, "--wrist", "left"]) == 2
    assert "a dataset's windows are as stored" in " ".join(capsys.readouterr().out.split())
    assert not (tmp_path / "o.jsonl").exists()


class FailingSession:
    """A session that streams a little, then loses the watch for good."""

    device_name = "watch"

    def __init__(self) -> None:
        self.stopped = False

    async def stream(self) -> AsyncIterator[SampleBatch]:
        for i in range(5):
            yield SampleBatch(
                "watch", np.zeros((26, 3), np.float32), 100.0 + i, RATE, 50.0 + i / 2 + np.arange(26) / RATE
            )
            await asyncio.sleep(0.01)
        raise DeviceError("watch: gave up reconnecting after 3 attempts")

    async def stop(self) -> None:
        self.stopped = True


def test_a_watch_lost_during_the_guided_recording_says_so() -> None:
    session = FailingSession()
    plan = GuidedPlan(("a", "b"), seconds=5.0, rest_s=0.0)
    with pytest.raises(DeviceError, match="gave up reconnecting"):
        asyncio.run(record_guided(session, plan, lambda m: None, host_time_s))
    assert session.stopped

    class Silent(FailingSession):
        async def stream(self) -> AsyncIterator[SampleBatch]:
            await asyncio.sleep(0)
            return
            yield  # (an async generator that ends at once)

    with pytest.raises(MujoError, match="no samples from watch before its stream ended: is the watch on"):
        asyncio.run(record_guided(Silent(), plan, lambda m: None, host_time_s))


def _live_args(tmp_path: Path) -> argparse.Namespace:
    return argparse.Namespace(
        device="watch", virtual=False, activities=["a", "b"], seconds=10.0, rest=1.0, reps=10,
        wrist=None, out=tmp_path / "me.mujo", record=None, profile="polar", seed=0,
    )  # fmt: skip


@pytest.fixture
def no_bleak(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoRadio:
        async def find(self, target: str, timeout_s: float) -> None:
            raise AssertionError("the session below never connects")

    fake = types.ModuleType("mujo_edge.firmware_bridge.bleak_transport")
    fake.BleakConnector = NoRadio  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mujo_edge.firmware_bridge.bleak_transport", fake)


def test_a_guided_recording_stopped_early_keeps_what_it_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_bleak: None
) -> None:
    async def lost_in_the_second(session, plan, say, clock, progress):  # type: ignore[no-untyped-def]
        progress.first_sample_s, progress.samples = 100.0, 600
        progress.segments.append((103.0, 111.0, "a"))
        raise DeviceError("watch: gave up reconnecting after 3 attempts")

    monkeypatch.setattr(teach_live, "record_guided", lost_in_the_second)

    def no_window(rec: Path) -> float:
        raise DataError("no complete window")  # (then the first sample's time is the origin)

    with pytest.raises(DeviceError, match=r"gave up reconnecting.*kept in .*me\.jsonl, and the finished"):
        teach_live.run_live(_live_args(tmp_path), 2.0, no_window)
    rows = list(csv.reader((tmp_path / "me.csv").open()))
    assert rows[1:] == [["3.000", "11.000", "a"]]
    assert (tmp_path / "me.jsonl").is_file()

    # nothing arrived (a mistyped device, a watch that never streamed): nothing kept, the command repeatable
    async def never_streamed(session, plan, say, clock, progress):  # type: ignore[no-untyped-def]
        raise MujoError("no samples from watch in 60 s: is the watch on, worn and streaming?")

    monkeypatch.setattr(teach_live, "record_guided", never_streamed)
    args = _live_args(tmp_path)
    args.record = tmp_path / "again.jsonl"
    with pytest.raises(MujoError, match=r"^no samples from watch in 60 s"):
        teach_live.run_live(args, 2.0, no_window)
    assert not (tmp_path / "again.jsonl").exists() and not (tmp_path / "again.csv").exists()


def test_the_virtual_wearer_moves_when_the_prompts_say() -> None:
    pytest.importorskip("mujo_edge.training.synth.workout")
    plan = GuidedPlan(("jumping_jacks", "standing", "burpees"), seconds=8.0, rest_s=3.0)
    acc = teach_live.virtual_motion(plan, RATE, seed=1, wrist="left")
    steps = plan.workout()
    assert acc.shape == (round(sum(s.get("seconds", s.get("rest", 0)) for s in steps) * RATE), 3)
    # movement (the spread of |a| over each second) high exactly in the jumping-jack steps, at their times
    per_s = np.linalg.norm(acc, axis=1)[: int(acc.shape[0] // RATE * RATE)].reshape(-1, int(RATE)).std(axis=1)
    t = 0.0
    for step in steps:
        length = step.get("seconds", step.get("rest"))
        inner = per_s[int(t) + 1 : int(t + length) - 1]  # (whole seconds inside the step)
        if not inner.size:
            pass
        elif step.get("activity") in ("jumping_jacks", "burpees"):
            assert inner.min() > 0.3, (step, inner)
        else:
            assert inner.max() < 0.2, (step, inner)
        t += length


@pytest.mark.slow
def test_teach_live_with_a_virtual_watch_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("bumble")
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("mujo_edge.training.synth.workout")
    out = tmp_path / "mine.mujo"
    teach = ["teach", "--bundle", str(DEFAULT_BUNDLE), "--live", "--virtual", "--out", str(out)]
    code = main([*teach, "--activities", "jumping_jacks,standing", "--seconds", "6", "--rest", "0.5"])
    said = capsys.readouterr().out
    assert code == 0, said
    words = " ".join(said.split())  # (the console wraps long lines)
    assert "[2/2] now: standing, 10 repetitions, or keep it up for 6 s" in words
    taught = Bundle.open(out)
    assert taught.labels == ["jumping_jacks", "standing"]
    rec, seg = tmp_path / "mine.jsonl", tmp_path / "mine.csv"
    assert [r[2] for r in list(csv.reader(seg.open()))[1:]] == ["jumping_jacks", "standing"]
    # the examples are what the virtual wearer did when asked: jumping (|a| spread wide), standing (still)
    x, names, _ = examples_from_recording(Bundle.open(DEFAULT_BUNDLE), rec, seg)
    spread = np.linalg.norm(x, axis=2).std(axis=1)
    jumping = np.array([n == "jumping_jacks" for n in names])
    assert jumping.any() and (~jumping).any()
    assert spread[jumping].min() > 0.3 and spread[~jumping].max() < 0.1, (names, spread)
    # the same bundle again from the kept files, without moving again
    again = tmp_path / "again.mujo"
    args = ["teach", "--bundle", str(DEFAULT_BUNDLE), "--recording", str(rec), "--segments", str(seg)]
    assert main([*args, "--out", str(again)]) == 0
    assert (
        Bundle.open(again).manifest["head"]["examples_per_label"]
        == taught.manifest["head"]["examples_per_label"]
    )
