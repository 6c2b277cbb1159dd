"""`mujo-edge stream` and `mujo-edge replay` end to end through the CLI: a watch on the replay link (in place
of the BLE connector), events and a raw recording written, and the replay of that recording yielding the
same event lines. The model is a numpy stand-in bundle, so this runs without the export extras."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import mujo_edge.cli.stream as stream_cli
from mujo_edge import gateway, workouts
from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.cli import main
from mujo_edge.errors import DataError, MujoError
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles.polar import pmd
from mujo_edge.firmware_bridge.record import ReplayConnector, ReplayDevice, read_header

from .test_replay_faults import LABELS, MeanXRunner, polar_notifications


class FakeBundle:
    """The parts of mujo_edge.bundle.Bundle the stream commands use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.labels = list(LABELS)
        self.window, self.hop, self.rate_hz = 100, 50, 50.0
        self.calibration = None
        self.formats = ["tflite"]

    def runner(self, fmt: str | None = None, threads: int = 1) -> MeanXRunner:
        r = MeanXRunner()
        r.name = "numpy stand-in"  # type: ignore[attr-defined]
        return r


@pytest.fixture
def fake_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    p = tmp_path / "fake.mujo"
    p.write_bytes(b"stand-in")
    monkeypatch.setattr(stream_cli, "open_bundle", lambda path: FakeBundle(p))
    return p


@pytest.fixture
def replay_radio(monkeypatch: pytest.MonkeyPatch) -> dict:
    """`--device watch` finds a watch replaying 60 s of PMD frames (one link loss at 25 s)."""
    made: dict = {}

    def connector() -> ReplayConnector:
        c = ReplayConnector(
            polar_notifications(60.0),
            ReplayDevice.for_profile("polar", {"rate_hz": 52.0}),
            (pmd.PMD_DATA_UUID,),
            Faults(disconnect_at_s=(25.0,), drop_indices=frozenset({150})),
            name="watch",
        )
        made["connector"] = c
        return c

    fake = types.ModuleType("mujo_edge.firmware_bridge.bleak_transport")
    fake.BleakConnector = connector  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mujo_edge.firmware_bridge.bleak_transport", fake)
    return made


def test_stream_records_and_replay_gives_the_same_events(
    tmp_path: Path,
    fake_bundle: Path,
    replay_radio: dict,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # both gateway commands set the allocator (tests/core/test_gateway_allocator.py)
    allocator: list[str] = []
    monkeypatch.setattr(stream_cli, "keep_heap", lambda: allocator.append("set") or "set")
    ev, raw = tmp_path / "events.jsonl", tmp_path / "raw.jsonl"
    code = main(
        [
            *("stream", "--device", "watch", "--profile", "polar", "--events", str(ev), "--record", str(raw)),
            *("--duration", "4", "--no-live", "--smooth", "2", "--wrist", "right"),
        ]
    )
    assert code == 0
    assert allocator == ["set"]
    assert replay_radio["connector"].finished.is_set()
    live = ev.read_text().splitlines()
    assert len(live) > 40
    first = json.loads(live[0])
    assert set(first) == {
        "t_start",
        "t_end",
        "label",
        "confidence",
        "device",
        "calibrated",
        "upsampled",
        "known",
    }
    assert first["device"] == "watch" and first["label"] == "down"
    out = _said(capsys)
    assert "summary" in out and f"{len(live)} events" in out
    header = read_header(raw)
    assert header.profile == "polar" and header.meta["mujo_edge_stream"]["smooth"] == 2
    assert header.meta["mujo_edge_stream"]["wrist"] == {"watch": "right"}

    again = tmp_path / "again.jsonl"
    assert main(["replay", str(raw), "--events", str(again)]) == 0  # smoothing 2 read from the recording
    assert allocator == ["set", "set"]
    assert again.read_text().splitlines() == live
    assert main(["replay", str(raw), "--events", str(tmp_path / "s1.jsonl"), "--smooth", "1"]) == 0
    assert (tmp_path / "s1.jsonl").read_text().splitlines() != live  # the override is honoured
    assert header.meta["mujo_edge_stream"]["open_set_keep"] is None  # the bundle's own threshold

    # a header whose open-set keep is not a fraction: refused with what to do, no events written
    lines = raw.read_text().splitlines(keepends=True)
    head = json.loads(lines[0])
    head["meta"]["mujo_edge_stream"]["open_set_keep"] = "strict"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(head) + "\n" + "".join(lines[1:]))
    capsys.readouterr()
    assert main(["replay", str(bad), "--events", str(tmp_path / "b.jsonl")]) == 2
    assert "not a fraction; give --open-set-keep F" in _said(capsys) and not (tmp_path / "b.jsonl").exists()

    # other header settings a replay cannot use, and a recording named twice: refused with what to do
    for key, value, said in (
        ("smooth", "abc", "names smooth 'abc', not a count >= 1; give --smooth K"),
        ("wrist", ["left"], "names wrist ['left'], not left or right; give --wrist"),
        ("format", "onnx", "names format 'onnx'; give --format tflite or executorch"),
    ):
        head = json.loads(lines[0])
        head["meta"]["mujo_edge_stream"][key] = value
        bad.write_text(json.dumps(head) + "\n" + "".join(lines[1:]))
        capsys.readouterr()
        assert main(["replay", str(bad)]) == 2
        assert said in _said(capsys)
    assert main(["replay", str(raw), str(raw)]) == 2
    assert "a recording is named twice" in _said(capsys)

    # a packet that does not decode is skipped and counted in the summary, as a live session counts it
    frames = [i for i, line in enumerate(lines) if '"d":' in line]
    short = lines.copy()
    rec = json.loads(short[frames[10]])
    short[frames[10]] = json.dumps({**rec, "d": rec["d"][:4]}) + "\n"
    skipped = tmp_path / "skipped.jsonl"
    skipped.write_text("".join(short))
    capsys.readouterr()
    assert main(["replay", str(skipped)]) == 0
    said = _said(capsys)
    assert "skipped a bad packet" in said
    assert re.search(r"packets not decoded\s*│\s*1\b", said), said

    # a corrupt line half way: the replay stops there with what to do, and the events before it are kept
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: len(lines) // 2]) + "{not json\n" + "".join(lines[len(lines) // 2 :]))
    partial = tmp_path / "partial.jsonl"
    capsys.readouterr()
    assert main(["replay", str(cut), "--events", str(partial)]) == 2
    said = _said(capsys)
    kept = partial.read_text().splitlines()
    assert "is not a valid record" in said and f"the {len(kept)} events before it are in" in said
    assert 0 < len(kept) < len(live) and kept == live[: len(kept)]

    # a file that is not text at all
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage" * 20)
    assert main(["replay", str(binary)]) == 2
    assert "is not a recording: its first line is not UTF-8 text" in _said(capsys)


def test_left_wrist_watch_is_mirrored_live_and_in_replay(
    tmp_path: Path, fake_bundle: Path, replay_radio: dict
) -> None:
    """A watch on the left wrist (the default) reads x mirrored: the first half's x = -0.5 g (down in the
    device's axes) is +0.5 g in the right-wrist frame the model works in; the replay repeats the mirroring."""
    ev, raw = tmp_path / "events.jsonl", tmp_path / "raw.jsonl"
    args = ("stream", "--device", "watch", "--profile", "polar", "--events", str(ev), "--record", str(raw))
    assert main([*args, "--duration", "4", "--no-live"]) == 0
    live = [json.loads(line) for line in ev.read_text().splitlines()]
    assert live[0]["label"] == "up" and live[-1]["label"] == "down"
    assert read_header(raw).meta["mujo_edge_stream"]["wrist"] == {"watch": "left"}
    again = tmp_path / "again.jsonl"
    assert main(["replay", str(raw), "--events", str(again)]) == 0
    assert [json.loads(line) for line in again.read_text().splitlines()] == live
    flipped = tmp_path / "right.jsonl"
    assert main(["replay", str(raw), "--events", str(flipped), "--wrist", "right"]) == 0
    assert json.loads(flipped.read_text().splitlines()[0])["label"] == "down"


def _said(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().out.split())  # rich wraps long lines


def test_gateway_records_one_file_per_device(tmp_path: Path) -> None:
    assert gateway.recording_path(str(tmp_path / "raw.jsonl"), "AA:BB", 2).name == "raw-AA_BB.jsonl"
    assert gateway.recording_path(str(tmp_path / "raw.jsonl"), "AA:BB", 1).name == "raw.jsonl"


def test_bad_invocations_say_what_to_do(
    tmp_path: Path, fake_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stream"]) == 2
    assert "--device NAME|ADDRESS" in _said(capsys)
    assert (
        main(
            [
                "stream",
                "--device",
                "a",
                "--device",
                "b",
                "--profile",
                "polar",
                "--profile",
                "mujo",
                "--profile",
                "polar",
            ]
        )
        == 2
    )
    assert "one per --device" in _said(capsys)
    assert main(["replay", str(tmp_path / "nope.jsonl")]) == 2
    assert "not found" in _said(capsys)


def test_workout_scripts(tmp_path: Path) -> None:
    assert workouts.parse_script("ABD:20,rest:5") == [{"activity": "ABD", "seconds": 20.0}, {"rest": 5.0}]
    with pytest.raises(DataError):
        workouts.parse_script("ABD-20")
    with pytest.raises(DataError, match="not found"):
        workouts.parse_script(str(tmp_path / "missing.json"))
    f = tmp_path / "w.json"
    f.write_text(json.dumps([{"activity": "FEL", "seconds": 8}, {"rest": 3}]))
    assert workouts.parse_script(str(f)) == [{"activity": "FEL", "seconds": 8.0}, {"rest": 3.0}]
    f.write_text('[{"activity": "FEL", "seconds": 8}')  # broken JSON: said so, not read as activity names
    with pytest.raises(DataError, match="is not valid JSON"):
        workouts.parse_script(str(f))
    steps = workouts.default_script(["PEN", "ABD", "non_activity"])
    assert workouts.script_seconds(steps) == 2 * (workouts.DEFAULT_ACTIVITY_S + workouts.DEFAULT_REST_S)


def test_generator_script_formats_when_installed(tmp_path: Path) -> None:
    pytest.importorskip("mujo_edge.training.synth.workout", reason="the training extra (synthetic workouts)")
    f = tmp_path / "w.txt"
    f.write_text("pendulum 10   # long name\nrest 4 walking\nABD 12\n")
    assert workouts.parse_script(str(f)) == [
        {"activity": "PEN", "seconds": 10.0},
        {"rest": 4.0, "kind": "rest_walking"},  # the alias of the rest kind
        {"activity": "ABD", "seconds": 12.0},
    ]


def test_fallback_motion_is_real_seglearn_data() -> None:
    pytest.importorskip("mujo_edge.training.data.seglearn")
    try:
        acc = workouts.seglearn_motion([{"activity": "PEN", "seconds": 4}, {"rest": 2}], 52.0)
    except MujoError as e:  # seglearn not installed: the message names the extra
        pytest.skip(f"seglearn watch data not available here: {e}")
    assert acc.shape == (6 * 52, 3) and acc.dtype == np.float32
    # a still arm at rest reads 1 g along -x (hanging); the exercise moves
    assert np.linalg.norm(acc[-50:], axis=1).mean() == pytest.approx(1.0, abs=0.05)
    assert acc[-50:, 0].mean() == pytest.approx(-1.0, abs=0.05)
    assert acc[:150].std(axis=0).max() > 0.02
    with pytest.raises(DataError, match="no recorded motion"):
        workouts.seglearn_motion([{"activity": "squats", "seconds": 2}], 50.0)


def test_workout_motion_covers_the_script() -> None:
    try:
        acc, source = workouts.workout_motion([{"activity": "ABD", "seconds": 6}, {"rest": 3}], 52.0)
    except MujoError as e:
        pytest.skip(f"no workout motion available here: {e}")
    assert acc.ndim == 2 and acc.shape[1] == 3 and acc.shape[0] >= 9 * 52 * 0.95
    assert np.isfinite(acc).all() and source


@pytest.mark.ble
def test_stream_virtual_watch_over_bumble_then_replay(tmp_path: Path, fake_bundle: Path) -> None:
    """`--virtual`: a bumble Polar watch doing a scripted workout (5x real time), recorded and replayed."""
    pytest.importorskip("bumble", reason="the virtual watch needs bumble (the dev extra)")
    ev, raw = tmp_path / "ev.jsonl", tmp_path / "raw.jsonl"
    args = ["stream", "--virtual", "--script", "PEN:9,rest:3,ABD:9", "--speed", "6"]
    assert main([*args, "--events", str(ev), "--record", str(raw), "--no-live"]) == 0
    live = ev.read_text().splitlines()
    assert len(live) >= 15
    from mujo_edge.firmware_bridge.record import replay_batches
    from mujo_edge.samples import SampleBatch

    # The run waited for the whole workout: every sample the watch measured was received and recorded.
    got = sum(len(b) for b in replay_batches(raw) if isinstance(b, SampleBatch))
    acc, _ = workouts.workout_motion(workouts.parse_script("PEN:9,rest:3,ABD:9"), 52.0, seed=0)
    assert got == len(acc)
    assert {json.loads(line)["device"] for line in live} == {"virtual-1"}
    again = tmp_path / "again.jsonl"
    assert main(["replay", str(raw), "--events", str(again)]) == 0
    assert again.read_text().splitlines() == live


def test_virtual_watch_with_labels_it_cannot_perform_says_to_give_a_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A taught bundle's labels (here two made-up activities) are not all the virtual watch can perform."""
    pytest.importorskip("bumble", reason="the virtual watch needs bumble (the dev extra)")
    from mujo_edge.assets import PHYSIO_BUNDLE
    from mujo_edge.bundle import Bundle
    from mujo_edge.heads import Head

    physio = Bundle.open(PHYSIO_BUNDLE)
    d = physio.head.embed_dim or 0
    head = Head(
        "linear", ["mopping", "juggling"], weight=np.zeros((2, d), np.float32), bias=np.zeros(2, np.float32)
    )
    odd = physio.derive(tmp_path / "odd.mujo", head=head)
    assert main(["stream", "--virtual", "--bundle", str(odd.path), "--no-live", "--duration", "3"]) == 2
    said = _said(capsys)
    assert "cannot perform every label of odd.mujo" in said and "with --script" in said


def test_live_view_renders_activity_and_health() -> None:
    import io

    from rich.console import Console

    from mujo_edge.cli.live_view import LiveView
    from mujo_edge.firmware_bridge.faults import Faults
    from mujo_edge.firmware_bridge.simulated_session import simulate_stream
    from mujo_edge.pipeline import Pipeline

    acc = np.tile(np.array([[0.5, 0.0, 1.0]], np.float32), (52 * 8, 1))
    sim = simulate_stream(acc, 52.0, device="w1", batch=8, faults=Faults(drop_prob=0.05, seed=2))
    p = Pipeline(MeanXRunner(), list(LABELS), now=lambda: 2000.0)
    buf = io.StringIO()
    con = Console(file=buf, force_terminal=True, width=160)
    with LiveView(con, p, ["w1", "w2"]) as view:
        for it in sim.items:
            view.add_events(p.feed(it))
            view.refresh()
    text = buf.getvalue()
    assert "w1" in text and "up" in text and "connecting" in text  # w2 never sent anything
    st = p.stats["w1"]
    assert st.gaps > 0 and str(st.gaps) in text


@pytest.mark.slow
def test_default_bundle_replays_identically_with_its_real_runner(tmp_path: Path, replay_radio: dict) -> None:
    """With the shipped bundle's int8 model: a live run over the replayed link and its replay agree."""
    if not DEFAULT_BUNDLE.is_file():
        pytest.skip(f"no default bundle at {DEFAULT_BUNDLE} (the package ships it)")
    from mujo_edge.runners import runtime_available

    if not runtime_available("tflite"):
        pytest.skip("ai-edge-litert is not installed (the runtime extra)")
    ev, raw = tmp_path / "ev.jsonl", tmp_path / "raw.jsonl"
    args = ["stream", "--device", "watch", "--format", "tflite", "--duration", "4", "--no-live"]
    assert main([*args, "--events", str(ev), "--record", str(raw)]) == 0
    again = tmp_path / "again.jsonl"
    assert main(["replay", str(raw), "--events", str(again)]) == 0
    live = ev.read_text().splitlines()
    assert len(live) > 40 and again.read_text().splitlines() == live
    from mujo_edge.bundle import Bundle
    from mujo_edge.constants import UNKNOWN_LABEL

    # every event is one of the bundle's labels, or the open-set answer for a window it does not know
    bundle = Bundle.open(DEFAULT_BUNDLE)
    labels = {*bundle.labels, UNKNOWN_LABEL}
    assert {json.loads(line)["label"] for line in live} <= labels
    # a stricter open-set test on the device, from the bundle's keep curve: the same windows and scores,
    # known exactly where the score reaches the threshold that keeps 60 % of the validation windows
    strict = tmp_path / "strict.jsonl"
    assert main(["replay", str(raw), "--events", str(strict), "--open-set-keep", "0.6"]) == 0
    thr = bundle.head.at_keep(0.6).threshold
    assert thr is not None and bundle.open_set_threshold is not None and thr > bundle.open_set_threshold
    before = [json.loads(line) for line in live]
    after = [json.loads(line) for line in strict.read_text().splitlines()]
    assert [(e["t_start"], e["score"]) for e in after] == [(e["t_start"], e["score"]) for e in before]
    for e in after:  # (scores are rounded to 1e-4 in events)
        assert e["known"] == (e["score"] >= thr) or abs(e["score"] - thr) < 1e-4
    assert sum(not e["known"] for e in after) >= sum(not e["known"] for e in before)
    # a fraction the curve does not hold is refused before any event is written
    assert main(["replay", str(raw), "--events", str(tmp_path / "x.jsonl"), "--open-set-keep", "0.3"]) == 2
    assert not (tmp_path / "x.jsonl").exists()


def test_gateway_keeps_serving_when_one_watch_is_missing(
    tmp_path: Path, fake_bundle: Path, replay_radio: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = tmp_path / "ev.jsonl"
    args = ["stream", "--device", "watch", "--device", "ghost", "--profile", "polar", "--duration", "4"]
    assert main([*args, "--events", str(ev), "--no-live"]) == 0
    said = _said(capsys)
    assert "failed" in said and "ghost" in said and "not found" in said
    devices = {json.loads(line)["device"] for line in ev.read_text().splitlines()}
    assert devices == {"watch"}
    # With nothing left to stream the command fails and says why.
    assert main(["stream", "--device", "ghost", "--duration", "4", "--no-live"]) == 2
    assert "not found" in _said(capsys)
