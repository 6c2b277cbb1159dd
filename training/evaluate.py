"""The paper's evaluation protocol (section 5.1, Table 2, Figures 3-4) on a labelled dataset.

For every input (``acc``, ``pose``, ``multimodal`` = the concatenated projections of every window modality
that both the pretrained model and the data have), calibration (``none``, ``unsupervised``, ``supervised``;
PIT of the accelerometer onto the pretraining corpus, fitted on the real training split), mode (``baseline``,
``frozen``, ``finetuned``), training fraction (per-class sample of the training subjects) and seed, train a
classifier with :func:`~mujo_edge.training.finetune.train_classifier` and score macro-F1 on the test subjects.
Each seed draws a fresh training sample and a fresh head (and, for the baseline, fresh weights).

Outputs in the report folder: ``results.json`` (every run: its spec, macro-F1, epochs; the run list is
appended after each run, so an interrupted evaluation resumes where it stopped), ``table.md`` (mean +- std
macro-F1, rows input x calibration, columns fraction x mode, as Table 2) and ``boxplot_<input>_<calibration>.png``
(macro-F1 over fractions per mode, as Figures 3-4). Runs go to a process pool of ``jobs`` workers with one
torch thread each.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge._checks import count, names, number, path
from mujo_edge.constants import LEARNING_RATE, MAX_EPOCHS, PATIENCE
from mujo_edge.errors import ConfigError, DataError
from mujo_edge.metrics import macro_f1
from mujo_edge.provenance import provenance, write_json
from mujo_edge.training.assets import resolve_pretrained
from mujo_edge.training.data.splits import check_disjoint_subjects

log = logging.getLogger(__name__)

INPUTS: tuple[str, ...] = ("acc", "pose", "multimodal")


@dataclass(frozen=True)
class RunSpec:
    """One classifier run of the protocol."""

    input: str
    calibration: str
    mode: str
    fraction_pct: float
    seed: int

    @property
    def key(self) -> str:
        return f"{self.input}/{self.calibration}/{self.mode}/{self.fraction_pct:g}/{self.seed}"


@dataclass(frozen=True)
class EvalContext:
    """What every worker needs to run a :class:`RunSpec` (picklable)."""

    pretrained: str
    data: str
    test_subjects: tuple[int, ...]
    val_subjects: tuple[int, ...]
    max_epochs: int = MAX_EPOCHS
    patience: int = PATIENCE
    lr: float = LEARNING_RATE
    batch_size: int = 32
    device: str = "cpu"


_CACHE: dict[str, Any] = {}


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _input_modalities(
    spec_input: str, joint_modalities: Sequence[str], data_modalities: Sequence[str]
) -> list[str]:
    if spec_input == "multimodal":
        mods = [m for m in ("acc", "pose", "gyr", "video") if m in joint_modalities and m in data_modalities]
        if len(mods) < 2:
            raise DataError(
                f"multimodal input needs two window modalities in both the model ({list(joint_modalities)}) and "
                f"the data ({list(data_modalities)})"
            )
        return mods
    if spec_input not in joint_modalities or spec_input not in data_modalities:
        raise DataError(
            f"input {spec_input!r} needs an encoder in the pretrained model ({list(joint_modalities)}) and "
            f"{spec_input}.npy in the data ({list(data_modalities)})"
        )
    return [spec_input]


def _prepared(ctx: EvalContext, calibration: str) -> dict[str, Any]:
    """Dataset arrays, split and (calibrated) acc, cached per worker process."""
    key = f"{ctx.pretrained}|{ctx.data}|{calibration}"
    if key in _CACHE:
        return _CACHE[key]
    from mujo_edge.training.checkpoint import load_pretrained
    from mujo_edge.training.data.format import Dataset
    from mujo_edge.training.data.splits import subject_split
    from mujo_edge.training.finetune import apply_calibration, fit_calibration

    ds = Dataset.open(ctx.data)
    split = subject_split(ds, ctx.test_subjects, ctx.val_subjects)
    y = np.asarray(ds.label, dtype=np.int64)
    arrays = {m: np.asarray(getattr(ds, m), dtype=np.float32) for m in ds.modalities}
    cal = fit_calibration(ctx.pretrained, calibration, arrays["acc"][split.train], y[split.train], ds.labels)
    arrays["acc"] = apply_calibration(cal, arrays["acc"], y, ds.labels, ctx.pretrained)
    prep = {
        "joint": load_pretrained(resolve_pretrained(ctx.pretrained)),
        "split": split,
        "y": y,
        "arrays": arrays,
        "labels": ds.labels,
        "modalities": ds.modalities,
    }
    _CACHE[key] = prep
    return prep


def run_one(spec: RunSpec, ctx: EvalContext) -> dict[str, Any]:
    """Train and score one classifier; returns the result row for ``results.json``."""
    from mujo_edge.training.data.splits import sample_fraction
    from mujo_edge.training.finetune import build_classifier, predict_logits, train_classifier

    t0 = time.perf_counter()
    prep = _prepared(ctx, spec.calibration)
    joint, split, y = prep["joint"], prep["split"], prep["y"]
    mods = _input_modalities(spec.input, list(joint.cfg.modalities), prep["modalities"])
    train_idx = sample_fraction(y, split.train, spec.fraction_pct / 100.0, spec.seed)
    x = {m: prep["arrays"][m] for m in mods}
    model = build_classifier(joint, spec.mode, mods, prep["labels"], seed=spec.seed)
    res = train_classifier(
        model,
        spec.mode,
        {m: a[train_idx] for m, a in x.items()},
        y[train_idx],
        {m: a[split.val] for m, a in x.items()},
        y[split.val],
        lr=ctx.lr,
        max_epochs=ctx.max_epochs,
        patience=ctx.patience,
        batch_size=ctx.batch_size,
        seed=spec.seed,
        device=ctx.device,
    )
    pred = predict_logits(model, {m: a[split.test] for m, a in x.items()}, ctx.device).argmax(1)
    return {
        **asdict(spec),
        "key": spec.key,
        "macro_f1": macro_f1(y[split.test], pred),
        "accuracy": float((pred == y[split.test]).mean()),
        "epochs": res.epochs,
        "best_epoch": res.best_epoch,
        "val_f1": res.val_f1,
        "n_train": len(train_idx),
        "n_test": len(split.test),
        "seconds": time.perf_counter() - t0,
    }


def plan_runs(
    inputs: Sequence[str],
    calibrations: Sequence[str],
    modes: Sequence[str],
    fractions_pct: Sequence[float],
    seeds: int,
) -> list[RunSpec]:
    """Every run of the grid, cheapest fractions first (so early results cover every cell)."""
    return [
        RunSpec(i, c, m, float(f), s)
        for f in sorted(fractions_pct)
        for s in range(seeds)
        for i in inputs
        for c in calibrations
        for m in modes
    ]


def evaluate(
    pretrained: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    modes: Sequence[str] = ("baseline", "frozen", "finetuned"),
    inputs: Sequence[str] = ("acc",),
    fractions_pct: Sequence[float] = (1, 2, 5, 10, 20, 50, 100),
    seeds: int = 5,
    calibrations: Sequence[str] = ("none",),
    test_subjects: Sequence[int] = (9, 10),
    val_subjects: Sequence[int] = (8,),
    max_epochs: int = MAX_EPOCHS,
    patience: int = PATIENCE,
    lr: float = LEARNING_RATE,
    batch_size: int = 32,
    jobs: int = 1,
    device: str = "cpu",
    on_result: Callable[[dict[str, Any], int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the protocol grid into ``out`` (resumable), then write the table and boxplots. Returns results."""
    from mujo_edge.training.distributed import check_workers
    from mujo_edge.training.finetune import CALIBRATIONS, MODES, check_schedule, subject_ids

    # the whole grid is checked before the results folder is made or a run starts
    for what, given, known in (
        ("modes", modes, MODES),
        ("inputs", inputs, INPUTS),
        ("calibrations", calibrations, CALIBRATIONS),
    ):
        fix = f"pass a list of {', '.join(known)}"
        unknown = [v for v in names(given, what, fix) if v not in known]
        if unknown or not given:
            raise ConfigError(f"{what} {list(given)!r} names {unknown or 'nothing'}: {fix}")
    fix = "pass training fractions in percent, e.g. [1, 10, 100]"
    if isinstance(fractions_pct, str) or not isinstance(fractions_pct, Sequence) or not fractions_pct:
        raise ConfigError(
            f"fractions_pct must be a non-empty list of numbers, got {fractions_pct!r:.60}: {fix}"
        )
    for f in fractions_pct:
        number(f, "each of fractions_pct", 0.0, 100.0, fix=fix)
    count(seeds, "seeds", 1, "pass how many seeds each cell is run with")
    count(jobs, "jobs", 1, "pass how many runs go in parallel")
    check_schedule(lr, max_epochs, patience, batch_size, 0)
    subject_ids(test_subjects, "test_subjects")
    subject_ids(val_subjects, "val_subjects")
    check_disjoint_subjects(test_subjects, val_subjects, where="evaluate")
    check_workers(device, jobs)
    out = path(out, "out")
    out.mkdir(parents=True, exist_ok=True)
    ctx = EvalContext(
        str(pretrained),
        str(data),
        tuple(test_subjects),
        tuple(val_subjects),
        max_epochs,
        patience,
        lr,
        batch_size,
        device,
    )
    rpath = out / "results.json"
    record = open_record(rpath, {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(ctx).items()})
    done = {r["key"] for r in record["runs"]}
    todo = [s for s in plan_runs(inputs, calibrations, modes, fractions_pct, seeds) if s.key not in done]
    total = len(todo)
    log.info("evaluation: %d runs to do, %d already in %s", total, len(done), rpath)

    def finish(row: dict[str, Any], k: int) -> None:
        record["runs"].append(row)
        write_json(rpath, record)
        if on_result:
            on_result(row, k, total)

    run_pool(run_one, todo, ctx, jobs, finish)
    write_report(record, out)
    return record


def open_record(rpath: Path, context: dict[str, Any]) -> dict[str, Any]:
    """The ``results.json`` of a resumable report folder: the runs done so far, refused if made with other
    settings (``context``), else ``{"runs": [], "context": context, "provenance": ...}``."""
    record: dict[str, Any] = json.loads(rpath.read_text()) if rpath.exists() else {"runs": []}
    if record.get("context") not in (None, context):
        raise DataError(
            f"{rpath} holds runs made with other settings ({record['context']}); use another --out to avoid "
            "mixing them."
        )
    record["context"] = context
    record.setdefault("provenance", provenance())
    return record


def run_pool(
    fn: Callable[[Any, Any], dict[str, Any]],
    todo: Sequence[Any],
    ctx: Any,
    jobs: int,
    finish: Callable[[dict[str, Any], int], None],
) -> None:
    """``finish(fn(spec, ctx), k)`` for every spec of ``todo``: in this process (``jobs`` <= 1) or in a pool of
    ``jobs`` spawned workers with one torch thread each, in completion order (``fn`` must be picklable)."""
    if jobs <= 1:
        _worker_init()
        for k, spec in enumerate(todo, 1):
            finish(fn(spec, ctx), k)
        return
    import multiprocessing as mp

    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=_worker_init) as pool:
        pending = {pool.submit(fn, s, ctx) for s in todo}
        k = 0
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                k += 1
                finish(fut.result(), k)


def summarize(runs: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str, float], tuple[float, float, int]]:
    """(input, calibration, mode, fraction) -> (mean, std, n) of macro-F1."""
    cells: dict[tuple[str, str, str, float], list[float]] = {}
    for r in runs:
        cells.setdefault((r["input"], r["calibration"], r["mode"], float(r["fraction_pct"])), []).append(
            r["macro_f1"]
        )
    return {k: (float(np.mean(v)), float(np.std(v)), len(v)) for k, v in cells.items()}


def format_cell(v: tuple[float, float, int] | None, bold: bool = False) -> str:
    """A table cell of macro-F1 (mean, std, n): ``.735 ± .008 (5)``, bold if asked, ``—`` for no runs."""
    if v is None:
        return "—"

    def num(x: float) -> str:
        t = f"{x:.3f}"
        return t[1:] if t.startswith("0.") else t

    txt = f"{num(v[0])} ± {num(v[1])} ({v[2]})"
    return f"**{txt}**" if bold else txt


def markdown_table(runs: Sequence[dict[str, Any]]) -> str:
    """Table 2's shape: rows input x calibration, columns fraction x mode, cells mean +- std (n runs)."""
    s = summarize(runs)
    rows = sorted(
        {(k[0], k[1]) for k in s}, key=lambda r: (INPUTS.index(r[0]) if r[0] in INPUTS else 9, r[1])
    )
    fracs = sorted({k[3] for k in s})
    modes = [m for m in ("baseline", "frozen", "finetuned") if any(k[2] == m for k in s)]
    head = "| Input | Calibration | " + " | ".join(f"{f:g}% {m}" for f in fracs for m in modes) + " |"
    sep = "|---|---|" + "---|" * (len(fracs) * len(modes))
    lines = [head, sep]
    for inp, cal in rows:
        cells = []
        for f in fracs:
            best = max((s[(inp, cal, m, f)][0] for m in modes if (inp, cal, m, f) in s), default=None)
            for m in modes:
                v = s.get((inp, cal, m, f))
                cells.append(format_cell(v, bold=v is not None and v[0] == best))
        lines.append(f"| {inp} | {cal} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def boxplots(runs: Sequence[dict[str, Any]], out: Path) -> list[Path]:
    """One PNG per (input, calibration): macro-F1 boxes over fractions, one colour per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    groups = sorted({(r["input"], r["calibration"]) for r in runs})
    colours = {"baseline": "#999999", "frozen": "#4c72b0", "finetuned": "#dd8452"}
    for inp, cal in groups:
        sub = [r for r in runs if r["input"] == inp and r["calibration"] == cal]
        fracs = sorted({float(r["fraction_pct"]) for r in sub})
        modes = [m for m in colours if any(r["mode"] == m for r in sub)]
        fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(fracs), 3.6))
        width = 0.8 / max(1, len(modes))
        for j, m in enumerate(modes):
            data = [
                [r["macro_f1"] for r in sub if r["mode"] == m and float(r["fraction_pct"]) == f]
                for f in fracs
            ]
            pos = [i + (j - (len(modes) - 1) / 2) * width for i in range(len(fracs))]
            bp = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True, manage_ticks=False)
            for patch in bp["boxes"]:
                patch.set_facecolor(colours[m])
            ax.plot([], [], color=colours[m], lw=8, label=m)
        ax.set_xticks(range(len(fracs)), [f"{f:g}%" for f in fracs])
        ax.set_xlabel("training data")
        ax.set_ylabel("macro-F1 (test subjects)")
        ax.set_title(f"{inp}, calibration {cal}")
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        p = out / f"boxplot_{inp}_{cal}.png"
        fig.savefig(p, dpi=120)
        plt.close(fig)
        paths.append(p)
    return paths


def write_report(record: dict[str, Any], out: Path) -> None:
    runs = record["runs"]
    if not runs:
        return
    ctx = record.get("context", {})
    text = (
        "# Evaluation (macro-F1 on the test subjects, mean ± std over runs)\n\n"
        f"Pretrained: `{ctx.get('pretrained')}`; data: `{ctx.get('data')}`; test subjects {ctx.get('test_subjects')}, "
        f"validation subjects {ctx.get('val_subjects')}; lr {ctx.get('lr')}, at most {ctx.get('max_epochs')} epochs, "
        f"patience {ctx.get('patience')}.\n\n" + markdown_table(runs)
    )
    (out / "table.md").write_text(text)
    boxplots(runs, out)
