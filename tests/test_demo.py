"""`mujo-edge demo`: its stage plan and commands (dry run), the loud failure when a stage's command is
missing, resumability (a stage is skipped only when its command and outputs are unchanged) and the
scoring of live events against the scripted workout. The full demo takes minutes; it is run by
`make demo`, not here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mujo_edge.cli import main
from mujo_edge.cli._console import console
from mujo_edge.cli.demo import (
    SCALES,
    SHOULDER_EXERCISES,
    Stage,
    check_commands,
    is_done,
    plan,
    rendered_seconds,
    run_stage,
    workout_script,
)
from mujo_edge.errors import MujoError
from mujo_edge.events import score_events


def test_plan_chains_every_stage_through_the_out_folder(tmp_path: Path) -> None:
    stages = plan(tmp_path, fast=False, threads=2)
    assert [s.name for s in stages] == [
        "synth",
        "import",
        "pretrain",
        "evaluate",
        "finetune",
        "distill",
        "export",
        "workout",
        "stream",
        "score",
    ]
    cmd = {s.name: s.command for s in stages}
    t = str(tmp_path)
    assert cmd["synth"] == (
        f"mujo-edge data synth --out {t}/corpus --hours 1 --wrist both --variants gravity --seed 0"
    )
    assert cmd["import"] == f"mujo-edge data import seglearn-watch --out {t}/seglearn"
    assert cmd["pretrain"].startswith(
        f"mujo-edge pretrain --data {t}/corpus --out {t}/pretrain --preset demo"
    )
    # the demo's seconds of pretraining learn little: the later stages start from the shipped foundation
    assert "--pretrained default --data" in cmd["evaluate"]
    assert "--fractions 10 " in cmd["evaluate"]  # at 100 % fine-tuning is the finetune stage's teacher
    assert "--pretrained default --data" in cmd["finetune"]
    assert f"--teacher {t}/teacher --data {t}/seglearn --out {t}/student" in cmd["distill"]
    # one pretraining epoch: the stage shows the command, the foundation does the work
    assert "--preset demo --epochs 1 " in cmd["pretrain"]
    # the batch-1 models only: the batch-64 variants serve a gateway, not one virtual watch
    assert cmd["export"] == (
        f"mujo-edge export --int8 {t}/student --out {t}/model.mujo --data {t}/seglearn --min-agreement 0.95 "
        "--rounding nearest --no-batch"
    )
    # no --duration: the stream ends when the virtual watch has sent the workout's last frame
    assert cmd["stream"] == (
        f"mujo-edge stream --bundle {t}/model.mujo --virtual --profile polar --script {t}/workout.json "
        f"--wrist left --events {t}/events.jsonl --record {t}/stream-record.jsonl --no-live"
    )
    # every stage's input is an earlier stage's output
    produced: set[Path] = set()
    for s in stages:
        for a in s.argv:
            p = Path(a)
            if (
                a.startswith(t)
                and s.name not in ("synth", "import")
                and a not in map(str, s.owns + s.outputs)
            ):
                assert any(p == q or p in q.parents or q.parent == p for q in produced), (s.name, a)
        produced |= set(s.outputs) | set(s.owns)


def test_workout_script_walks_through_the_seven_exercises() -> None:
    """Every label of the demo bundle once, 8 s each, back to back: the real-time stream stage lasts about
    a minute (the generator adds a 0.8-3 s transition between steps)."""
    script = workout_script(SCALES["default"])
    assert script == [
        {"activity": a, "seconds": 8.0} for a in ("PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW")
    ]
    assert 7 * 8 + 6 * 0.8 <= rendered_seconds(script) <= 7 * 8 + 6 * 3
    fast = workout_script(SCALES["fast"])  # with rests: before, between and after the exercises
    assert [s.get("activity", "rest") for s in fast] == [
        "rest",
        *[x for a in SHOULDER_EXERCISES for x in (a, "rest")],
    ]
    assert sum(s.get("seconds", s.get("rest", 0)) for s in fast) == 7 * 8 + 8 * 4


def test_dry_run_lists_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setattr(console, "width", 400)
    rc = main(["demo", "--dry-run", "--out", str(tmp_path / "d")])
    out = capsys.readouterr().out
    problems = check_commands(plan(tmp_path / "d"))
    assert rc == (1 if problems else 0)
    assert f"$ mujo-edge data import seglearn-watch --out {tmp_path}/d/seglearn" in out
    assert "[10/10] score" in out
    assert not (tmp_path / "d").exists()  # a dry run writes nothing


def test_missing_command_or_bad_flag_fails_loudly_naming_the_stage(tmp_path: Path) -> None:
    stages = plan(tmp_path)
    stages[2].argv = ["no-such-command", "--x"]
    stages[5].argv = [*stages[5].argv, "--no-such-flag"]
    problems = {s.name: why for s, why in check_commands(stages)}
    assert problems["pretrain"] == "`mujo-edge no-such-command` is missing"
    assert problems["distill"].startswith("`mujo-edge distill` rejects the demo's flags")
    assert "--no-such-flag" in problems["distill"]


def test_stages_resume_only_when_command_and_outputs_are_unchanged(tmp_path: Path) -> None:
    calls: list[str] = []

    def write(st: Stage) -> dict[str, Any]:
        calls.append(st.name)
        st.outputs[0].parent.mkdir(parents=True, exist_ok=True)
        st.outputs[0].write_text("x")
        return {"n": 1}

    out = tmp_path / "demo"
    st = Stage("one", "a step", [], [out / "one" / "result.txt"], "test", run=write, owns=[out / "one"])
    assert not is_done(out, st)
    (out / "one").mkdir(parents=True)
    (out / "one" / "stale.txt").write_text("left by an interrupted run")
    wall, result = run_stage(out, st, {})
    assert result == {"n": 1} and wall >= 0 and calls == ["one"]
    assert not (out / "one" / "stale.txt").exists()  # a stage starts from a clean folder
    assert is_done(out, st)
    (out / "one" / "result.txt").unlink()
    assert not is_done(out, st)  # an output vanished
    run_stage(out, st, {})
    st2 = Stage("one", "a step", ["data", "--changed"], st.outputs, "test", run=write)
    assert not is_done(out, st2)  # same name, different command


def test_stage_that_writes_nothing_is_an_error(tmp_path: Path) -> None:
    st = Stage("lazy", "does nothing", [], [tmp_path / "never.txt"], "test", run=lambda s: {})
    with pytest.raises(MujoError, match=r"stage 'lazy' exited successfully but did not write .*never\.txt"):
        run_stage(tmp_path, st, {})


def test_failing_subprocess_stage_names_its_command(tmp_path: Path) -> None:
    st = Stage("bad", "bad flags", ["bench", "--runs", "0"], [tmp_path / "x"], "test")
    with pytest.raises(MujoError, match=r"stage 'bad' \(bad flags\) failed with exit code 2") as e:
        run_stage(tmp_path, st, {**__import__("os").environ}, again="mujo-edge demo --out X")
    assert "mujo-edge bench --runs 0" in str(e.value) and "mujo-edge demo --out X" in str(e.value)


@dataclass
class Ev:
    t_start: float
    t_end: float
    label: str


def test_score_events_against_per_sample_truth() -> None:
    rate = 50.0
    names = ["ABD", "FEL", "non_activity"]
    # 10 s ABD, 4 s rest, 10 s FEL
    truth = np.array([0] * 500 + [2] * 200 + [1] * 500)
    t0 = 1000.0
    events = []
    for k in range(23):  # 2 s windows every 1 s
        s = t0 + k
        i_mid = int((k + 1) * rate)
        label = names[truth[i_mid]] if truth[i_mid] != 2 else "ABD"
        if k == 20:
            label = "ABD"  # one mistake inside the FEL block
        events.append(Ev(s, s + 2.0, label))
    sc = score_events(events, truth, names, rate, ["ABD", "FEL"])
    # clean windows: ABD k=0..8 (9), FEL k=14..22 (9); k=9..13 straddle or cover the rest
    assert sc["scored_windows"] == 18 and sc["rest_or_transition_windows"] == 5
    assert sc["correct_windows"] == 17 and sc["accuracy"] == round(17 / 18, 4)
    assert sc["confusion"] == {"ABD": {"ABD": 9}, "FEL": {"FEL": 8, "ABD": 1}}
    json.dumps(sc)  # serializable as score.json


def test_a_changed_workout_script_reruns_the_workout_stage(tmp_path: Path) -> None:
    """In-process stages have no command line: their inputs are their identity, so a resumed demo whose
    script changed (another scale, another version) writes the new script instead of keeping the old one."""
    default = {s.name: s for s in plan(tmp_path, fast=False)}["workout"]
    fast = {s.name: s for s in plan(tmp_path, fast=True)}["workout"]
    assert default.command != fast.command
    assert default.command == {s.name: s for s in plan(tmp_path, fast=False)}["workout"].command
    assert {s.name: s for s in plan(tmp_path)}["score"].command.startswith("(in-process: ")


def test_stages_beside_the_stream_feed_no_later_stage(tmp_path: Path) -> None:
    """synth, pretrain and evaluate run in the background while the stream waits on the watch in real time:
    only stages whose outputs no later stage reads but those beside the same stage may."""
    stages = plan(tmp_path)
    beside = [s for s in stages if s.alongside]
    assert [s.name for s in beside] == ["synth", "pretrain", "evaluate"]
    assert {s.alongside for s in beside} == {"stream"}
    for b in beside:
        written = [str(p) for p in b.owns + b.outputs]
        for later in stages[stages.index(b) + 1 :]:
            reads = any(a.startswith(w) for a in later.argv for w in written)
            assert not reads or later.alongside == b.alongside, (b.name, later.name)


def test_a_stage_alongside_another_runs_in_the_background_during_it(
    tmp_path: Path, monkeypatch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    import mujo_edge.cli.demo as demo

    started = threading.Event()
    threads: dict[str, str] = {}

    def write(st: Stage) -> dict[str, Any]:
        threads[st.name] = threading.current_thread().name
        st.outputs[0].parent.mkdir(parents=True, exist_ok=True)
        st.outputs[0].write_text("x")
        return {"n": 1}

    def side(st: Stage) -> dict[str, Any]:
        result = write(st)
        started.set()
        return result

    def slow(st: Stage) -> dict[str, Any]:
        assert started.wait(10), "the stage beside this one did not run while it ran"
        return write(st)

    out = tmp_path / "d"
    stages = [
        Stage("first", "a step", [], [out / "first.txt"], "test", run=write),
        Stage("side", "a report", [], [out / "side.txt"], "test", run=side, alongside="slow"),
        Stage("slow", "a long wait", [], [out / "slow.txt"], "test", run=slow),
    ]
    monkeypatch.setattr(demo, "plan", lambda out, fast=False, threads=2: stages)
    monkeypatch.setattr(console, "width", 200)
    assert main(["demo", "--out", str(out)]) == 0
    assert threads == {"first": "MainThread", "side": "demo-beside", "slow": "MainThread"}
    assert all(is_done(out, s) for s in stages)
    text = capsys.readouterr().out
    assert "side: a report" in text and "runs in the background beside the slow stage" in text
    assert "ran beside slow" in text  # the summary table says so
    # resumed: everything kept, nothing runs again
    threads.clear()
    assert main(["demo", "--out", str(out)]) == 0
    assert threads == {}
