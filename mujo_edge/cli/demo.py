"""``mujo-edge demo``: the whole toolkit end to end, at demo scale, in a few minutes (``make demo``).

    synthetic corpus -> real seglearn watch data -> joint-space pretraining -> brief evaluation on the
    real data -> fine-tuned teacher -> distilled student -> int8 export (LiteRT) -> a scripted workout
    streamed from a virtual Polar watch over a bumble BLE link through the runtime -> scored.

Pretraining a joint space that transfers takes hours (docs/pretraining.md); the demo runs the pretraining
command at a scale of seconds to show it, and the stages after it start from the shipped foundation
checkpoint (``--pretrained default``), as a user's own work would.

Every stage is a subprocess of this same CLI (memory stays tidy, and the printed command is exactly what
a user re-runs); each shows its own progress and its wall time, and a summary table closes the run.
Resumable and idempotent in ``--out`` (default ``demo-out/``): a stage whose command is unchanged and
whose outputs exist is not run again; when a stage re-runs, every later stage re-runs too. A stage whose
command this installation lacks fails the demo LOUDLY, naming the stage and the missing command.

    mujo-edge demo [--out DIR] [--fast] [--dry-run] [--force] [--threads N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from mujo_edge.errors import MujoError
from mujo_edge.training.assets import DEFAULT_PRETRAINED as FOUNDATION

#: The seven seglearn shoulder exercises the demo's workout script walks through (seglearn short names).
SHOULDER_EXERCISES: tuple[str, ...] = ("PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW")
MARKER_DIR = ".demo"


@dataclass
class Stage:
    """One step of the demo: a ``mujo-edge`` command line, or an in-process step (``run``)."""

    name: str
    title: str
    argv: list[str]  # arguments after `mujo-edge` (empty for in-process steps)
    outputs: list[Path]  # must exist after the stage
    implemented_in: str  # the modules behind the stage, named in the error when it cannot run
    run: Callable[[Stage], dict[str, Any]] | None = None  # in-process step
    results: Callable[[], dict[str, Any]] | None = None  # key numbers for the summary after it ran
    info: dict[str, Any] = field(default_factory=dict)
    owns: list[Path] = field(default_factory=list)  # what the stage writes: removed before it re-runs
    #: what an in-process step depends on (its command line for a resumed demo: a changed input re-runs it)
    inputs: Any = None
    #: the stage this one runs beside, in the background (its output into ``logs/<name>.log``), after the
    #: earlier stages beside it: only for a stage whose outputs no later stage reads but those beside the same
    #: stage, beside one that leaves the CPU idle
    alongside: str | None = None

    @property
    def command(self) -> str:
        if self.argv:
            return shlex.join(["mujo-edge", *self.argv])
        if self.inputs is None:
            return f"(in-process: {self.title})"
        digest = hashlib.sha256(json.dumps(self.inputs, sort_keys=True).encode()).hexdigest()[:12]
        return f"(in-process: {self.title}; inputs {digest})"


@dataclass(frozen=True)
class Scale:
    """Demo scale. ``fast`` is for a quick check (and the test), the default for ``make demo``."""

    synth_hours: float
    pretrain_epochs: int | None  # None: the epochs of `mujo-edge pretrain --preset demo`
    eval_fractions: str
    eval_max_epochs: int
    eval_patience: int
    finetune_epochs: int
    distill_epochs: int
    exercise_s: float
    rest_s: float  # 0: no rests, the exercises follow each other (the generator still renders transitions)
    #: int8 top-1 agreement with the float student the export must reach. Demo-scale students are trained
    #: for minutes, so their logits sit close together and int8 flips more of them than a fully trained
    #: student's; the demo reports the measured agreement and gates at this value, the shipped bundle at
    #: the export default 0.99 (docs/export.md).
    min_agreement: float


SCALES: dict[str, Scale] = {
    # One pretraining epoch: at this scale retrieval stays near chance however long it runs (the stages
    # after it start from the foundation). Evaluation at 10 % of the labels only: fine-tuned at 100 % it
    # trains what the finetune stage trains. An 8-s set of each exercise back to back keeps the real-time
    # stream stage near a minute and still scores 6-7 windows per exercise.
    "default": Scale(1.0, 1, "10", 8, 3, 15, 15, 8.0, 0.0, 0.95),
    "fast": Scale(0.5, 1, "100", 3, 2, 4, 4, 8.0, 4.0, 0.8),
}


def workout_script(scale: Scale, exercises: tuple[str, ...] = SHOULDER_EXERCISES) -> list[dict[str, Any]]:
    """The scripted workout the virtual watch performs: every exercise once, with rests around them when the
    scale has any."""
    n_rests = 1 if scale.rest_s > 0 else 0
    script: list[dict[str, Any]] = [{"rest": scale.rest_s, "kind": "standing"}] * n_rests
    for ex in exercises:
        script.append({"activity": ex, "seconds": scale.exercise_s})
        script += [{"rest": scale.rest_s, "kind": "standing"}] * n_rests
    return script


#: The wrist the virtual watch is worn on (the stream mirrors it into the models' right-wrist frame).
WORKOUT_WRIST: Final = "left"
#: The Polar profile's sample rate the virtual watch streams at (the stream stage renders motion at it).
POLAR_RATE_HZ = 52.0


def rendered_seconds(script: list[dict[str, Any]]) -> float:
    """How long the rendered workout lasts: the script's seconds plus the generator's transitions
    between steps (0.8-3 s each), from rendering it as the stream stage will (~0.2 s)."""
    try:
        from mujo_edge.training.synth import simulate_workout
    except ImportError:
        return sum(float(x.get("seconds", x.get("rest", 0))) for x in script) * 1.3
    rec = simulate_workout(script, seed=0, wrist=WORKOUT_WRIST, rate_hz=POLAR_RATE_HZ)
    return len(rec.label) / POLAR_RATE_HZ


def plan(out: Path, fast: bool = False, threads: int = 2) -> list[Stage]:
    """The demo's stages, in order, with their exact commands and outputs under ``out``."""
    s = SCALES["fast" if fast else "default"]
    corpus, real, run = out / "corpus", out / "seglearn", out / "pretrain"
    report, teacher, student, bundle = out / "evaluate", out / "teacher", out / "student", out / "model.mujo"
    script, events, record = out / "workout.json", out / "events.jsonl", out / "stream-record.jsonl"
    duration = rendered_seconds(workout_script(s))
    stages = [
        Stage(
            "synth",
            "synthetic multimodal corpus of a watch (virtual wrist IMU + pose + text)",
            [
                "data",
                "synth",
                "--out",
                str(corpus),
                "--hours",
                f"{s.synth_hours:g}",
                # a watch on either wrist, reporting gravity: every activity, and 1,363 texts for the
                # sentence encoder instead of the 4,341 of every placement and variant (about 40 s less
                # where the text cache is empty, as on a fresh machine)
                "--wrist",
                "both",
                "--variants",
                "gravity",
                "--seed",
                "0",
            ],
            [corpus / "manifest.json"],
            "training/synth + mujo_edge/cli/data_synth.py",
            results=lambda: _dataset_info(corpus),
        ),
        Stage(
            "import",
            "real seglearn smartwatch data (7 shoulder exercises, 10 subjects)",
            ["data", "import", "seglearn-watch", "--out", str(real)],
            [real / "manifest.json"],
            "training/data/seglearn.py + mujo_edge/cli/data_import.py",
            results=lambda: _dataset_info(real),
        ),
        Stage(
            "pretrain",
            "joint-space pretraining on the synthetic corpus (demo preset: the command at seconds of scale; the "
            "stages after it start from the shipped foundation checkpoint, `--pretrained default`)",
            [
                "pretrain",
                "--data",
                str(corpus),
                "--out",
                str(run),
                "--preset",
                "demo",
                *(["--epochs", str(s.pretrain_epochs)] if s.pretrain_epochs else []),
                # the recipe of the shipped teacher (docs/pretraining.md): rotation/gain augmentation of the
                # virtual accelerometer and same-label positives transfer better to real watches
                "--augment-rotation",
                "15",
                "--augment-scale",
                "0.1",
                "--same-label-positives",
                "--threads",
                str(threads),
                "--seed",
                "0",
            ],
            [run / "manifest.json", run / "model.safetensors"],
            "training/pretrain.py + mujo_edge/cli/train.py",
            results=lambda: _pretrain_info(run),
        ),
        Stage(
            "evaluate",
            "brief evaluation on the real data (subjects 9-10 unseen): baseline vs fine-tuned from the shipped "
            "foundation joint space",
            [
                "evaluate",
                "--pretrained",
                FOUNDATION,
                "--data",
                str(real),
                "--out",
                str(report),
                "--modes",
                "baseline,finetuned",
                "--inputs",
                "acc",
                "--fractions",
                s.eval_fractions,
                "--seeds",
                "1",
                "--calibration",
                "none",
                "--test-subjects",
                "9,10",
                "--val-subjects",
                "8",
                "--max-epochs",
                str(s.eval_max_epochs),
                "--patience",
                str(s.eval_patience),
                "--jobs",
                str(threads),
            ],
            [report / "results.json", report / "table.md"],
            "training/evaluate.py + mujo_edge/cli/train.py",
            results=lambda: _evaluate_info(report),
        ),
        Stage(
            "finetune",
            "fine-tuned teacher on the real data (train subjects 1-7, val 8, test 9-10)",
            [
                "finetune",
                "--pretrained",
                FOUNDATION,
                "--data",
                str(real),
                "--out",
                str(teacher),
                "--fraction",
                "1.0",
                "--test-subjects",
                "9,10",
                "--val-subjects",
                "8",
                "--epochs",
                str(s.finetune_epochs),
                "--seed",
                "0",
            ],
            [teacher / "manifest.json", teacher / "model.safetensors"],
            "training/finetune.py + mujo_edge/cli/train.py",
            results=lambda: _manifest_metrics(teacher),
        ),
        Stage(
            "distill",
            "distilled int8-friendly student (~30k parameters)",
            [
                "distill",
                "--teacher",
                str(teacher),
                "--data",
                str(real),
                "--out",
                str(student),
                "--epochs",
                str(s.distill_epochs),
                "--seed",
                "0",
            ],
            [student / "manifest.json"],
            "training/distill.py + mujo_edge/cli/export.py",
            results=lambda: _manifest_metrics(student),
        ),
        Stage(
            "export",
            f"int8 export to LiteRT (.tflite) and ExecuTorch (.pte), verified in both runtimes "
            f"(demo gate: int8/float agreement >= {s.min_agreement:g}; nearest rounding: the default "
            "adaptive rounding costs about a minute more; the batch-1 models only: the batch-64 variants "
            "serve a gateway)",
            [
                "export",
                "--int8",
                str(student),
                "--out",
                str(bundle),
                "--data",
                str(real),
                "--min-agreement",
                f"{s.min_agreement:g}",
                "--rounding",
                "nearest",
                # the batch-64 variants serve a gateway (docs/bundle.md); one virtual watch does not use them
                "--no-batch",
            ],
            [bundle],
            "mujo_edge/export + mujo_edge/cli/export.py",
            results=lambda: _bundle_info(bundle),
        ),
        Stage(
            "workout",
            "scripted workout for the virtual watch",
            [],
            [script],
            "the demo itself",
            run=lambda st: _write_script(script, workout_script(s)),
            inputs=workout_script(s),
        ),
        Stage(
            "stream",
            f"stream the workout from a virtual Polar watch (bumble BLE link) through the runtime, in real "
            f"time (~{duration:.0f} s)",
            [
                "stream",
                "--bundle",
                str(bundle),
                "--virtual",
                "--profile",
                "polar",
                "--script",
                str(script),
                "--wrist",
                WORKOUT_WRIST,
                # no --duration: the stream ends when the watch has sent its last frame
                "--events",
                str(events),
                "--record",
                str(record),
                "--no-live",
            ],
            [events, record],
            "mujo_edge/cli/stream.py + firmware_bridge/virtual + firmware_bridge/profiles/polar",
            info={"workout_seconds": duration},
            results=lambda: {"events": _count_lines(events), "workout s": round(duration, 1)},
        ),
        Stage(
            "score",
            "score the live events against the script; stream health and latency from the recording",
            [],
            [out / "score.json"],
            "mujo_edge/cli/demo.py (+ training/synth simulate_workout, the stream replay)",
            run=lambda st: score_stream(bundle, script, events, record, out / "score.json"),
        ),
    ]
    # pretrain and evaluate only report, and only pretrain reads the synthetic corpus: these three run one
    # after the other in the background beside the stream stage, which waits on the watch in real time and
    # leaves the CPU mostly idle.
    for st in stages:
        if st.name in ("synth", "pretrain", "evaluate"):
            st.alongside = "stream"
    owned = {"synth": corpus, "import": real, "pretrain": run, "evaluate": report, "finetune": teacher}
    owned["distill"] = student
    for st in stages:
        if st.name in owned:
            st.owns = [owned[st.name]]
    return stages


# --- stage outputs -> summary numbers -------------------------------------------------------------------
def _read_json(p: Path) -> Any:
    return json.loads(p.read_text())


def _dataset_info(folder: Path) -> dict[str, Any]:
    try:
        m = _read_json(folder / "manifest.json")
    except (OSError, ValueError):
        return {}
    n = m.get("n_windows") or m.get("windows") or m.get("count")
    return {"windows": n, "labels": len(m.get("labels", []))}


def _manifest_metrics(folder: Path) -> dict[str, Any]:
    try:
        m = _read_json(folder / "manifest.json")
    except (OSError, ValueError):
        return {}
    metrics = m.get("metrics") or {}
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and "f1" in k.lower()}


def _evaluate_info(report: Path) -> dict[str, Any]:
    """Macro-F1 of every (mode, fraction) run of ``results.json`` (mean over seeds)."""
    try:
        data = _read_json(report / "results.json")
    except (OSError, ValueError):
        return {}
    runs = data.get("runs", []) if isinstance(data, dict) else data
    scores: dict[str, list[float]] = {}
    for r in runs if isinstance(runs, list) else []:
        if isinstance(r, dict) and isinstance(r.get("macro_f1"), (int, float)):
            key = f"{r.get('mode')} {r.get('fraction_pct', r.get('fraction')):g}% F1"
            scores.setdefault(key, []).append(float(r["macro_f1"]))
    return {k: round(sum(v) / len(v), 3) for k, v in sorted(scores.items())}


def _pretrain_info(run: Path) -> dict[str, Any]:
    """Best epoch's validation retrieval (accelerometer -> label text) of the pretraining run."""
    try:
        best = _read_json(run / "manifest.json").get("best") or {}
    except (OSError, ValueError):
        return {}
    return {k: round(float(v), 3) for k, v in best.items() if k in ("val_loss", "val_top1", "val_top5")}


def _bundle_info(bundle: Path) -> dict[str, Any]:
    try:
        from mujo_edge.bundle import Bundle

        b = Bundle.open(bundle)
    except MujoError:
        return {}
    sizes = {f"{m['format']} bytes": m["bytes"] for m in b.summary()["models"]}
    return {"labels": len(b.labels), **sizes}


def _count_lines(p: Path) -> int:
    try:
        with open(p, "rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return 0


def _write_script(path: Path, script: list[dict[str, Any]]) -> dict[str, Any]:
    path.write_text(json.dumps(script, indent=1) + "\n")
    return {"steps": len(script), "seconds": sum(float(s.get("seconds", s.get("rest", 0))) for s in script)}


# --- scoring the live run -------------------------------------------------------------------------------
def score_stream(
    bundle_path: Path, script_path: Path, events_path: Path, record_path: Path, out: Path
) -> dict[str, Any]:
    """Accuracy against the script, latency per window and dropped samples of the live stream stage.

    * Truth: the script rendered again exactly as ``mujo-edge stream --virtual`` renders it
      (``simulate_workout(steps, seed=0, wrist="left", rate_hz=<Polar rate>)``), per-sample labels; sample i
      was taken at ``t0 + i / rate`` where ``t0`` is the first event's ``t_start`` (the first window starts
      at the first sample). A window is scored when >= 75 % of its samples are one scripted exercise;
      windows over rests and transitions are counted, not scored (the bundle has no rest class).
    * Stream health and latency: the recording replayed through the same pipeline (what ``mujo-edge
      replay`` does): samples received/lost, gaps, windows dropped at gaps, reconnects; per window,
      latency = receive time of the notification that completed it + processing time - the window's end.
    * ``replay_identical``: the replay's event labels equal the live run's.
    """
    import numpy as np

    from mujo_edge.bundle import Bundle
    from mujo_edge.events import read_events, score_events
    from mujo_edge.firmware_bridge.profiles import get_profile
    from mujo_edge.gateway import make_pipeline, recorded_settings, replay_items
    from mujo_edge.samples import SampleBatch
    from mujo_edge.training.synth import simulate_workout
    from mujo_edge.workouts import parse_script

    bundle = Bundle.open(bundle_path)
    live = read_events(events_path)
    if not live:
        raise MujoError(
            f"{events_path} holds no event: the stream stage recognized nothing. Run its command again "
            "and look at its output (was the virtual watch found?)."
        )
    rate = float(get_profile("polar").rate_hz)
    steps = parse_script(str(script_path))
    rec = simulate_workout(steps, seed=0, wrist=WORKOUT_WRIST, rate_hz=rate)
    scores = score_events(live, np.asarray(rec.label), list(rec.labels), rate, bundle.labels)
    settings = recorded_settings([record_path])
    # the recorded wrist: the live run mirrored the left-wrist watch into the models' right-wrist frame
    pipe = make_pipeline(
        bundle,
        settings.get("format"),
        1,
        int(settings.get("smooth") or 1),
        live=False,
        wrist=settings.get("wrist", "right"),
        open_set_keep=settings.get("open_set_keep"),
    )
    replayed: list[Any] = []
    latency_ms: list[float] = []
    for item in replay_items([record_path]):
        t_a = time.perf_counter()
        ev = pipe.feed(item)
        dt = time.perf_counter() - t_a
        if ev and isinstance(item, SampleBatch):
            latency_ms += [(item.t_recv_s + dt - e.t_end) * 1e3 for e in ev]
        replayed += ev
    replayed += pipe.close()
    stats = list(pipe.stats.values())
    samples_in = sum(st.samples_in for st in stats)
    lat = np.asarray(latency_ms) if latency_ms else np.asarray([np.nan])
    result = {
        **scores,
        "events": len(live),
        "latency_ms": {
            "p50": round(float(np.nanpercentile(lat, 50)), 2),
            "p95": round(float(np.nanpercentile(lat, 95)), 2),
            "max": round(float(np.nanmax(lat)), 2),
        },
        "samples_sent": len(rec.label),
        "samples_received": int(samples_in),
        "samples_lost": int(sum(st.samples_lost for st in stats)),
        "samples_not_received": int(len(rec.label) - samples_in),
        "gaps": int(sum(st.gaps for st in stats)),
        "windows_dropped_at_gaps": int(sum(st.windows_dropped_at_gaps for st in stats)),
        "reconnects": int(sum(st.reconnects for st in stats)),
        "replay_identical": [e.label for e in replayed] == [e.label for e in live],
        "rate_hz": rate,
    }
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return {
        "accuracy": result["accuracy"],
        "windows scored": scores["scored_windows"],
        "latency p50 ms": result["latency_ms"]["p50"],
        "samples lost": result["samples_lost"],
        "replay identical": result["replay_identical"],
    }


# --- running --------------------------------------------------------------------------------------------
def _command_exists(parser: argparse.ArgumentParser, path: list[str]) -> bool:
    """Whether ``mujo-edge <path...>`` is a registered (sub)command."""
    current = parser
    for word in path:
        subs = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            return False
        current = subs[0].choices[word]
    return True


def _command_path(argv: list[str]) -> list[str]:
    path = []
    for a in argv:
        if a.startswith("-"):
            break
        path.append(a)
    return path[:3] if path[:1] == ["data"] else path[:1]


def check_commands(stages: list[Stage]) -> list[tuple[Stage, str]]:
    """Stages this installation cannot run, with why: a missing command (its part is not
    installed) or flags the command does not accept. Checked before anything runs."""
    import contextlib
    import io

    from mujo_edge.cli import build_parser

    parser = build_parser()
    problems: list[tuple[Stage, str]] = []
    for st in stages:
        if not st.argv:
            continue
        path = _command_path(st.argv)
        if not _command_exists(parser, path):
            problems.append((st, f"`mujo-edge {' '.join(path)}` is missing"))
            continue
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                parser.parse_args(st.argv)
        except SystemExit:
            msg = err.getvalue().strip().splitlines()
            problems.append(
                (st, f"`mujo-edge {' '.join(path)}` rejects the demo's flags: {msg[-1] if msg else '?'}")
            )
    return problems


def _marker(out: Path, st: Stage) -> Path:
    return out / MARKER_DIR / f"{st.name}.json"


def is_done(out: Path, st: Stage) -> bool:
    """Done = its marker records the same command, and every output exists."""
    m = _marker(out, st)
    if not m.is_file() or not all(p.exists() for p in st.outputs):
        return False
    try:
        return _read_json(m).get("command") == st.command
    except ValueError:
        return False


def _clear_outputs(out: Path, st: Stage) -> None:
    """Remove what a stage writes (its ``owns``, else its outputs) before it runs again; only inside ``out``."""
    root = out.resolve()
    for p in st.owns or st.outputs:
        rp = p.resolve()
        if root not in rp.parents:
            continue  # never touch anything outside the demo folder
        if rp.is_dir():
            shutil.rmtree(rp)
        elif rp.exists():
            rp.unlink()


def run_stage(
    out: Path, st: Stage, env: dict[str, str], again: str = "", log: Path | None = None
) -> tuple[float, dict[str, Any]]:
    """Run one stage (subprocess or in-process); its wall time and result numbers. Raises on failure.
    ``log``: a subprocess stage's output goes to this file instead of the console."""
    _clear_outputs(out, st)
    t0 = time.perf_counter()
    result: dict[str, Any] = {}
    if st.run is not None:
        result = st.run(st)
    else:
        argv = [sys.executable, "-m", "mujo_edge.cli", *st.argv]
        if log is None:
            proc = subprocess.run(argv, env=env)
        else:
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "wb") as f:
                proc = subprocess.run(argv, env=env, stdout=f, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            raise MujoError(
                f"demo stage '{st.name}' ({st.title}) failed with exit code {proc.returncode}"
                + (f" (its output: {log})" if log is not None else "")
                + f". Its command, to re-run and debug it alone:\n  {st.command}\nFix the cause and run "
                f"`{again or 'mujo-edge demo'}` again: the stages already done are kept."
            )
    wall = time.perf_counter() - t0
    missing = [str(p) for p in st.outputs if not p.exists()]
    if missing:
        raise MujoError(
            f"demo stage '{st.name}' exited successfully but did not write {', '.join(missing)}. Its command:\n"
            f"  {st.command}\n({st.implemented_in}) The demo needs those files for the next stages."
        )
    if st.results is not None:
        result = {**st.results(), **result}
    _marker(out, st).parent.mkdir(parents=True, exist_ok=True)
    _marker(out, st).write_text(
        json.dumps(
            {"command": st.command, "wall_s": wall, "results": result, "finished": time.time()}, indent=1
        )
    )
    return wall, result


class _Beside(threading.Thread):
    """Stages run one after the other in the background while another stage runs (``Stage.alongside``),
    each subprocess's output into ``<out>/logs/<stage>.log``; what finished and the first error are kept."""

    def __init__(self, out: Path, stages: list[tuple[int, Stage]], env: dict[str, str], again: str) -> None:
        super().__init__(name="demo-beside", daemon=True)
        self.out, self.stages, self.env, self.again = out, stages, env, again
        self.done: list[tuple[int, Stage, float, dict[str, Any]]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for i, st in self.stages:
                log = self.out / "logs" / f"{st.name}.log"
                wall, result = run_stage(self.out, st, self.env, self.again, log=log)
                self.done.append((i, st, wall, result))
        except BaseException as e:  # raised in the main thread once the foreground stage is done
            self.error = e


def cmd_demo(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.rule import Rule
    from rich.table import Table

    from mujo_edge.cli._console import console

    out = Path(args.out)
    stages = plan(out, fast=args.fast, threads=args.threads)
    problems = check_commands(stages)
    if args.dry_run:
        for i, st in enumerate(stages, 1):
            console.print(f"[{i}/{len(stages)}] {st.name}: {st.title}\n  $ {st.command}", markup=False)
        for st, why in problems:
            console.print(f"[red]cannot run yet:[/] stage '{st.name}': {escape(why)} ({st.implemented_in})")
        return 1 if problems else 0
    if problems:
        lines = "\n".join(f"  - stage '{st.name}': {why} ({st.implemented_in})" for st, why in problems)
        raise MujoError(
            f"the demo cannot run: {len(problems)} of its stages need commands this installation does not "
            f"have or accept:\n{lines}\nInstall everything (`pip install -e '.[all,dev]'`, what `make demo` "
            "does) or update the checkout; `mujo-edge demo --dry-run` lists every stage's command."
        )
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(args.threads))
    env.setdefault("HF_HUB_OFFLINE", "1")
    console.print(
        Rule(f"MuJo Edge end-to-end demo ({'fast' if args.fast else 'demo'} scale) -> {out}", style="bold")
    )
    rows: dict[int, tuple[Stage, str, float, dict[str, Any]]] = {}
    t_start = time.perf_counter()
    rerun = args.force
    again = shlex.join(["mujo-edge", "demo", "--out", str(out), *(["--fast"] if args.fast else [])])
    beside: dict[
        str, list[tuple[int, Stage]]
    ] = {}  # stage name -> the stages to run in the background beside it
    n = len(stages)
    for i, st in enumerate(stages, 1):
        if not rerun and is_done(out, st):
            rec = _read_json(_marker(out, st))
            console.print(f"[dim][{i}/{n}] {st.name}: already done ({rec['wall_s']:.1f} s earlier), kept[/]")
            result = st.results() if st.results else rec.get("results", {})
            rows[i] = (st, "kept", float(rec["wall_s"]), result)
            continue
        rerun = True  # everything after a re-run stage depends on it
        if st.alongside is not None:
            beside.setdefault(st.alongside, []).append((i, st))
            console.print(
                f"[{i}/{n}] {st.name}: {st.title}\n  runs in the background beside the {st.alongside} stage "
                f"(output in {out / 'logs' / (st.name + '.log')})\n  $ {st.command}",
                markup=False,
            )
            continue
        console.print(Rule(f"[{i}/{n}] {st.name}: {st.title}", align="left"))
        console.print(f"$ {st.command}", markup=False, style="cyan")
        worker = _Beside(out, beside.pop(st.name, []), env, again)
        if worker.stages:
            console.print(f"beside it, in the background: {', '.join(b.name for _, b in worker.stages)}")
            worker.start()
        try:
            wall, result = run_stage(out, st, env, again)
        except BaseException:
            # the foreground stage's error propagates; a background stage's own failure is said too
            if worker.stages:
                worker.join()
                if worker.error is not None:
                    console.print(f"[red]also failed in the background: {worker.error}[/]")
            raise
        if worker.stages:
            worker.join()
        console.print(f"[green]{st.name} done in {wall:.1f} s[/]")
        rows[i] = (st, "ran", wall, result)
        for j, b, b_wall, b_result in worker.done:
            console.print(f"[green]{b.name} done in {b_wall:.1f} s, beside {st.name}[/]")
            rows[j] = (b, f"ran beside {st.name}", b_wall, b_result)
        if worker.error is not None:
            raise worker.error
    for pending in beside.values():  # the stage they were to run beside was kept: run them now
        for j, b in pending:
            console.print(Rule(f"[{j}/{n}] {b.name}: {b.title}", align="left"))
            console.print(f"$ {b.command}", markup=False, style="cyan")
            b_wall, b_result = run_stage(out, b, env, again)
            console.print(f"[green]{b.name} done in {b_wall:.1f} s[/]")
            rows[j] = (b, "ran", b_wall, b_result)
    total = time.perf_counter() - t_start
    table = Table(
        title=f"MuJo Edge demo: {total:.0f} s this run ({sum(r[2] for r in rows.values()):.0f} s of stage time)"
    )
    for col in ("stage", "status", "wall s", "result"):
        table.add_column(col, justify="right" if col == "wall s" else "left")
    for _, (st, status, wall, result) in sorted(rows.items()):
        table.add_row(st.name, status, f"{wall:.1f}", _fmt_result(result))
    console.print(table)
    console.print(
        "The pretrain stage runs the command at demo scale (seconds on a 1-hour corpus; its retrieval scores "
        "show how little that learns); evaluate and finetune start from the shipped foundation checkpoint "
        "(`--pretrained default`, docs/pretraining.md). The stream stage runs in real time: the virtual watch "
        "sends each frame when its last sample is measured, so its latencies are those of a live watch (on a "
        "host that also runs synth, pretrain and evaluate beside it, as a gateway runs other work)."
    )
    score = out / "score.json"
    if score.is_file():
        _print_score(_read_json(score))
    return 0


def _fmt_result(result: dict[str, Any]) -> str:
    parts = []
    for k, v in result.items():
        if isinstance(v, float):
            v = f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}"
        elif isinstance(v, (dict, list)):
            continue
        parts.append(f"{k}={v}")
    return ", ".join(parts)


def _print_score(score: dict[str, Any]) -> None:
    from mujo_edge.cli._console import console

    acc = score.get("accuracy")
    lat = score.get("latency_ms") or {}
    console.print(
        "[bold]Closing summary[/] (virtual Polar watch -> bumble BLE -> runtime): "
        + (
            f"accuracy vs script {acc:.1%} ({score['correct_windows']}/{score['scored_windows']} exercise windows; "
            f"{score['rest_or_transition_windows']} rest/transition windows not scored); "
            if acc is not None
            else ""
        )
        + f"latency per window p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms; "
        + f"samples sent {score.get('samples_sent')}, received {score.get('samples_received')}, lost "
        f"{score.get('samples_lost')}; windows dropped at gaps {score.get('windows_dropped_at_gaps')}; "
        f"reconnects {score.get('reconnects')}; replay identical: {score.get('replay_identical')}"
    )
    confusion = score.get("confusion") or {}
    if confusion:
        parts = []
        for truth, row in confusion.items():
            total = sum(row.values())
            top = max(row, key=lambda k: row[k])
            parts.append(
                f"{truth} {row.get(truth, 0)}/{total}" + (f" (mostly {top})" if top != truth else "")
            )
        console.print("per scripted exercise, windows recognized: " + ", ".join(parts))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole toolkit end to end at demo scale (what `make demo` runs)",
        description="Synthetic corpus -> seglearn import -> pretrain -> evaluate -> fine-tuned teacher -> "
        "distill -> int8 export -> virtual Polar watch streamed through the runtime, scored against the "
        "script. Resumable: re-running keeps the stages already done.",
    )
    p.add_argument("--out", default="demo-out", help="folder for every artifact (default demo-out/)")
    p.add_argument("--fast", action="store_true", help="an even smaller scale (a quick check, a few minutes)")
    p.add_argument("--dry-run", action="store_true", help="print the stages and their commands, run nothing")
    p.add_argument("--force", action="store_true", help="re-run every stage even when its outputs exist")
    p.add_argument(
        "--threads", type=int, default=2, help="CPU threads / parallel jobs for training (default 2)"
    )
    p.set_defaults(func=cmd_demo)
