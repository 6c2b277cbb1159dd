"""``mujo-edge pretrain | evaluate | zeroshot | finetune | benchmark | pretrain-package``: the joint space,
what is measured on it, and the shipped foundation checkpoint.

Handlers import torch and the training package lazily. Under ``torchrun`` ``pretrain`` trains with
DistributedDataParallel (``torchrun --nproc_per_node 2 -m mujo_edge.cli pretrain ...``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mujo_edge.cli._args import non_negative_int, positive_float, positive_int
from mujo_edge.constants import (
    BENCHMARK_FRACTIONS_PCT,
    BENCHMARK_MAX_EPOCHS,
    BENCHMARK_PATIENCE,
    BENCHMARK_SEEDS,
    BENCHMARK_SHOTS,
    FOUNDATION_CALIBRATION_WINDOWS,
    FOUNDATION_MAX_BYTES,
    JOINT_DIM,
    LEARNING_RATE,
    MAX_EPOCHS,
    PATIENCE,
    TRAIN_FRACTIONS_PCT,
)

#: ``--pretrained`` of every command that reads a joint space (resolved by ``training.assets.resolve_pretrained``).
PRETRAINED_HELP = "pretraining RUN folder, or `default`: the foundation checkpoint shipped with mujo-edge"


def _ints(s: str) -> tuple[int, ...]:
    return tuple(int(v) for v in s.split(",") if v.strip())


def _floats(s: str) -> tuple[float, ...]:
    return tuple(float(v) for v in s.split(",") if v.strip())


def _csv(values: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in values)


def _names(s: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in s.split(",") if v.strip())


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "pretrain",
        help="learn the joint space (pairwise symmetric InfoNCE) on a multimodal corpus",
        description="Pretrain encoders + projections of every modality into one joint space (paper eq. 3). "
        "Checkpoints every epoch into OUT; --resume continues an interrupted run exactly.",
    )
    p.add_argument("--data", required=True, type=Path, help="dataset folder (mujo-edge data synth)")
    p.add_argument("--out", required=True, type=Path, help="run folder to write")
    p.add_argument(
        "--modalities",
        type=_names,
        default=("acc", "pose", "text"),
        help="comma list (default acc,pose,text)",
    )
    p.add_argument(
        "--preset", choices=["demo"], help="demo: a small model and ~3000 windows, ~1 min on 2 cores"
    )
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument(
        "--temperature", type=positive_float, default=0.07, help="softmax temperature (initial if learnable)"
    )
    p.add_argument("--learnable-temperature", action="store_true")
    p.add_argument("--text-anchored", action="store_true", help="only (text, m) pairs (the paper's ablation)")
    p.add_argument("--same-label-positives", action="store_true", help="same-label windows are positives too")
    p.add_argument(
        "--select",
        choices=("val_loss", "val_top1", "val_top5"),
        default="val_loss",
        help="the epoch kept as model.safetensors: lowest validation loss (default) or best acc -> label-text "
        "retrieval on the validation subjects",
    )
    p.add_argument("--joint-dim", type=positive_int, help=f"joint space size (default {JOINT_DIM})")
    p.add_argument(
        "--cnn", choices=["mmfit", "wide"], help="acc/pose encoder: MM-Fit's (9-15-24) or wide (32-64-128)"
    )
    p.add_argument("--proj-layers", type=int, default=2)
    p.add_argument("--proj-hidden", type=int, default=512)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--activation", choices=["relu", "gelu", "silu"], default="relu")
    p.add_argument("--augment-rotation", type=float, default=0.0, help="max random rotation of acc, degrees")
    p.add_argument(
        "--augment-scale", type=float, default=0.0, help="max random gain change of acc (0.1 = ±10%%)"
    )
    p.add_argument(
        "--augment-tempo",
        type=float,
        default=0.0,
        help="max slow-down of windows (0.4: replay at 0.6-1.0x speed)",
    )
    p.add_argument("--max-windows", type=positive_int, help="use at most this many training windows")
    p.add_argument(
        "--val-subjects", type=_ints, default=(), help="comma list (default: last 10%% of subjects)"
    )
    p.add_argument(
        "--checkpoint-every", type=int, default=200, help="also checkpoint every N steps (0: per epoch)"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    p.add_argument("--resume", action="store_true", help="continue the run in OUT")
    p.add_argument(
        "--no-verify-data",
        action="store_true",
        help="skip the check of the dataset's content hash (it reads the whole corpus once)",
    )
    p.add_argument(
        "--search", type=int, default=0, metavar="N", help="random hyperparameter search with N trials"
    )
    p.set_defaults(func=_pretrain)

    e = sub.add_parser(
        "evaluate",
        help="the paper's classification protocol: baseline vs frozen vs fine-tuned over fractions and seeds",
    )
    e.add_argument("--pretrained", required=True, help=PRETRAINED_HELP)
    e.add_argument("--data", required=True, type=Path, help="labelled dataset (e.g. seglearn watch import)")
    e.add_argument("--out", required=True, type=Path, help="report folder (results.json, table.md, boxplots)")
    e.add_argument("--modes", type=_names, default=("baseline", "frozen", "finetuned"))
    e.add_argument("--inputs", type=_names, default=("acc",), help="comma list of acc, pose, multimodal")
    e.add_argument("--fractions", type=_floats, default=TRAIN_FRACTIONS_PCT, help="percent, comma list")
    e.add_argument("--seeds", type=positive_int, default=5, help="independent runs per configuration")
    e.add_argument(
        "--calibration", type=_names, default=("none",), help="comma list of none, unsupervised, supervised"
    )
    e.add_argument("--test-subjects", type=_ints, default=(9, 10))
    e.add_argument("--val-subjects", type=_ints, default=(8,))
    e.add_argument("--max-epochs", type=positive_int, default=MAX_EPOCHS)
    e.add_argument("--patience", type=int, default=PATIENCE)
    e.add_argument("--lr", type=positive_float, default=LEARNING_RATE)
    e.add_argument("--batch-size", type=positive_int, default=32)
    e.add_argument(
        "--jobs", type=positive_int, default=1, help="parallel worker processes (one torch thread each)"
    )
    e.add_argument("--device", default="cpu")
    e.set_defaults(func=_evaluate)

    z = sub.add_parser("zeroshot", help="nearest label text in the joint space, top-1/3/5 macro-F1")
    z.add_argument("--pretrained", required=True, help=PRETRAINED_HELP)
    z.add_argument("--data", required=True, type=Path)
    z.add_argument("--calibration", choices=["none", "unsupervised", "supervised"], default="none")
    z.add_argument("--subjects", type=_ints, help="only these subjects (default all)")
    z.add_argument("--out", type=Path, help="write the results as JSON here")
    z.set_defaults(func=_zeroshot)

    f = sub.add_parser(
        "finetune", help="fine-tune the pretrained acc encoder + a head on labelled data (the teacher)"
    )
    f.add_argument("--pretrained", required=True, help=PRETRAINED_HELP)
    f.add_argument("--data", required=True, type=Path)
    f.add_argument("--out", required=True, type=Path, help="classifier folder to write")
    f.add_argument("--fraction", type=float, default=1.0, help="fraction of the training windows, (0, 1]")
    f.add_argument("--calibration", choices=["none", "unsupervised"], default="none")
    f.add_argument("--test-subjects", type=_ints, default=(9, 10))
    f.add_argument("--val-subjects", type=_ints, default=(8,))
    f.add_argument("--epochs", type=positive_int, default=MAX_EPOCHS, help="maximum epochs")
    f.add_argument("--patience", type=int, default=PATIENCE)
    f.add_argument("--lr", type=positive_float, default=LEARNING_RATE)
    f.add_argument("--batch-size", type=positive_int, default=32)
    f.add_argument("--seed", type=non_negative_int, default=0)
    f.add_argument("--device", default="cpu")
    f.set_defaults(func=_finetune)

    b = sub.add_parser(
        "benchmark",
        help="zero-shot and few-label transfer (scratch / linear probe / fine-tuned) on datasets of a spec file",
        description="Runs the benchmark protocol (docs/benchmark-protocol.md) on every dataset of SPEC: zero-shot "
        "top-1/3 macro-F1, then k windows per class and training fractions in modes scratch, linear and "
        "finetuned over seeds, all modes on the same windows. Writes OUT/results.json (resumable), "
        "OUT/table.md and OUT/plot_<dataset>.png. Settings given here override the spec's.",
    )
    b.add_argument(
        "--spec", required=True, type=Path, help="benchmark spec (JSON; YAML if pyyaml is installed)"
    )
    b.add_argument("--pretrained", required=True, help=PRETRAINED_HELP)
    b.add_argument("--out", required=True, type=Path, help="report folder")
    b.add_argument(
        "--control", help="a pretraining RUN on the noise-control corpus (`mujo-edge data noise-control`)"
    )
    b.add_argument(
        "--shots",
        type=_ints,
        help=f"labelled windows per class, comma list (default {_csv(BENCHMARK_SHOTS)})",
    )
    b.add_argument(
        "--fractions",
        type=_floats,
        help=f"training fractions in percent, comma list (default {_csv(BENCHMARK_FRACTIONS_PCT)})",
    )
    b.add_argument("--modes", type=_names, help="comma list of scratch, linear, finetuned (default all)")
    b.add_argument("--seeds", type=positive_int, help=f"seeds per configuration (default {BENCHMARK_SEEDS})")
    b.add_argument(
        "--max-epochs",
        type=positive_int,
        help=f"training-loop epochs at most (default {BENCHMARK_MAX_EPOCHS})",
    )
    b.add_argument(
        "--patience", type=int, help=f"early-stopping patience in epochs (default {BENCHMARK_PATIENCE})"
    )
    b.add_argument(
        "--jobs", type=positive_int, default=1, help="parallel worker processes (one torch thread each)"
    )
    b.add_argument("--device", default="cpu")
    b.set_defaults(func=_benchmark)

    k = sub.add_parser(
        "pretrain-package",
        help="the foundation checkpoint from a pretraining run: float16 weights + manifest, at most 10 MB",
        description="Converts RUN's best weights to float16, drops optimizer and resume state, keeps a few "
        "corpus windows per label for calibration, and writes OUT/model.safetensors, OUT/manifest.json "
        "(provenance, content hash) and OUT/calibration_target.npz. Refuses a result over --max-bytes. "
        "The shipped one: mujo-edge pretrain-package RUN --out training/assets/joint_space",
    )
    k.add_argument("run", type=Path, help="a finished `mujo-edge pretrain` run folder")
    k.add_argument("--out", required=True, type=Path, help="folder to write (training/assets/joint_space)")
    k.add_argument(
        "--calibration-windows",
        type=int,
        default=None,
        help=f"corpus acc windows per label kept (default {FOUNDATION_CALIBRATION_WINDOWS})",
    )
    k.add_argument(
        "--max-bytes",
        type=int,
        default=None,
        help=f"size limit of all files together (default {FOUNDATION_MAX_BYTES:,})",
    )
    k.set_defaults(func=_pretrain_package)


def _torch(threads: int = 1) -> None:
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    import torch

    torch.set_num_threads(max(1, threads))


def _interrupt_on_term() -> None:
    """SIGTERM (a scheduler stopping the job) and SIGINT (even where a background launch ignored it) raise
    KeyboardInterrupt, so the trainer writes its resume state before the process ends."""
    import signal

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _pretrain(args: argparse.Namespace) -> int:
    from mujo_edge.training.models import ALL_MODALITIES

    _refuse_unknown("--modalities", tuple(args.modalities), ALL_MODALITIES)
    if len(set(args.modalities)) < 2:
        from mujo_edge.errors import ConfigError

        raise ConfigError(
            f"--modalities {','.join(args.modalities)}: contrastive pretraining pairs at least two"
        )
    if not args.search:
        from mujo_edge.provenance import check_out_folder
        from mujo_edge.training.checkpoint import JOINT_FORMAT

        check_out_folder(args.out, JOINT_FORMAT, "pretraining run", {"--data": args.data})
    _torch(args.threads)
    _interrupt_on_term()
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from mujo_edge.cli._console import console
    from mujo_edge.training.models import ModelConfig
    from mujo_edge.training.pretrain import PRESETS, PretrainConfig, pretrain, random_search

    preset: dict[str, Any] = PRESETS.get(args.preset, {}) if args.preset else {}

    def pick(name: str, default: Any) -> Any:
        v = getattr(args, name)
        return v if v is not None else preset.get(name, default)

    model = ModelConfig(
        modalities=tuple(args.modalities),
        joint_dim=pick("joint_dim", JOINT_DIM),
        cnn=pick("cnn", "wide"),
        proj_layers=args.proj_layers,
        proj_hidden=args.proj_hidden,
        dropout=args.dropout,
        activation=args.activation,
        temperature=args.temperature,
        learnable_temperature=args.learnable_temperature,
    )
    cfg = PretrainConfig(
        model=model,
        epochs=pick("epochs", 20),
        batch_size=pick("batch_size", 256),
        lr=pick("lr", 1e-3),
        weight_decay=args.weight_decay,
        text_anchored=args.text_anchored,
        same_label_positives=args.same_label_positives,
        augment_rotation_deg=args.augment_rotation,
        augment_scale=args.augment_scale,
        augment_tempo=args.augment_tempo,
        val_subjects=tuple(args.val_subjects),
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        max_windows=pick("max_windows", 0),
        device=args.device,
        select=args.select,
    )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("pretrain", total=None, info="")

        def progress(event: str, info: dict[str, Any]) -> None:
            if event == "start":
                bar.reset(task, total=info["total_steps"], completed=info["done"], info="")
            elif event == "step":
                bar.update(
                    task,
                    completed=info["global_step"],
                    info=f"epoch {info['epoch']} loss {info['loss']:.3f} {info['windows_per_s']:.0f} win/s",
                )
            elif event == "epoch":
                extra = " ".join(
                    f"{k} {info[k]:.3f}" for k in ("val_loss", "val_top1", "val_top5") if k in info
                )
                bar.console.print(f"epoch {info['epoch']}: train loss {info['train_loss']:.3f} {extra}")

        if args.search:
            rec = random_search(args.data, args.out, cfg, args.search, progress=progress)
            best = rec["trials"][rec["best_trial"]] if rec["trials"][0]["trial"] == 0 else None
            console.print(f"search done: best trial {rec['best_trial']} -> {args.out}")
            if best:
                console.print(json.dumps(best, indent=1))
            return 0
        res = pretrain(
            args.data,
            args.out,
            cfg,
            resume=args.resume,
            progress=progress,
            verify_data=not args.no_verify_data,
        )
    if res:
        best = res["best"]
        scores = ", ".join(f"{k} {best[k]:.3f}" for k in ("val_loss", "val_top1", "val_top5") if k in best)
        console.print(
            f"[green]pretrained[/] {args.out}: best epoch {best.get('epoch')} ({scores or 'no validation'}; "
            f"chosen by {cfg.select})"
        )
    return 0


def _refuse_unknown(flag: str, given: tuple[str, ...], known: tuple[str, ...]) -> None:
    """ConfigError before any work for names a comma-list flag does not know (they failed mid-run)."""
    from mujo_edge.errors import ConfigError

    unknown = [g for g in given if g not in known]
    if unknown or not given:
        raise ConfigError(f"{flag} {','.join(given)}: {unknown or 'nothing'} not among {', '.join(known)}")


def _evaluate(args: argparse.Namespace) -> int:
    _torch(1)
    from mujo_edge.cli._console import console
    from mujo_edge.training.evaluate import evaluate
    from mujo_edge.training.finetune import CALIBRATIONS, MODES

    _refuse_unknown("--modes", tuple(args.modes), MODES)
    _refuse_unknown("--calibration", tuple(args.calibration), CALIBRATIONS)

    def on_result(row: dict[str, Any], k: int, total: int) -> None:
        console.print(
            f"[{k}/{total}] {row['key']}: macro-F1 {row['macro_f1']:.3f} ({row['epochs']} epochs, "
            f"{row['seconds']:.0f} s)"
        )

    evaluate(
        args.pretrained,
        args.data,
        args.out,
        modes=args.modes,
        inputs=args.inputs,
        fractions_pct=args.fractions,
        seeds=args.seeds,
        calibrations=args.calibration,
        test_subjects=args.test_subjects,
        val_subjects=args.val_subjects,
        max_epochs=args.max_epochs,
        patience=args.patience,
        lr=args.lr,
        batch_size=args.batch_size,
        jobs=args.jobs,
        device=args.device,
        on_result=on_result,
    )
    console.print((args.out / "table.md").read_text())
    return 0


def _zeroshot(args: argparse.Namespace) -> int:
    _torch(1)
    from mujo_edge.cli._console import console
    from mujo_edge.provenance import write_json
    from mujo_edge.training.zeroshot import zeroshot

    if args.out is not None and (Path(args.out).is_dir() or Path(args.out).name == "manifest.json"):
        from mujo_edge.errors import ConfigError

        raise ConfigError(
            f"--out {args.out}: give a .json file of its own for the result (not a folder or a manifest)"
        )
    res = zeroshot(args.pretrained, args.data, calibration=args.calibration, subjects=args.subjects)
    for part in ("without_no_activity", "with_no_activity"):
        r = res[part]
        console.print(
            f"{part.replace('_', ' ')}: top-1 {r['top1']:.3f}  top-3 {r['top3']:.3f}  top-5 {r['top5']:.3f}"
        )
    console.print(f"chance top-1: {res['chance_top1']:.3f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.out, res)
    return 0


def _finetune(args: argparse.Namespace) -> int:
    _torch(1)
    from mujo_edge.cli._console import console
    from mujo_edge.provenance import check_out_folder
    from mujo_edge.training.checkpoint import CLASSIFIER_FORMAT
    from mujo_edge.training.finetune import finetune

    check_out_folder(
        args.out, CLASSIFIER_FORMAT, "classifier", {"--pretrained": args.pretrained, "--data": args.data}
    )

    if not args.val_subjects:
        console.print(
            "[yellow]no validation subjects (--val-subjects is empty): nothing chooses the epoch, so the "
            f"classifier is the last of {args.epochs} epochs; name validation subjects to stop early[/]"
        )

    def on_epoch(epoch: int, f1: float, loss: float) -> None:
        if epoch % 10 == 0 and args.val_subjects:
            console.print(f"epoch {epoch}: val macro-F1 {f1:.3f} val loss {loss:.3f}")

    m = finetune(
        args.pretrained,
        args.data,
        args.out,
        fraction=args.fraction,
        calibration=args.calibration,
        test_subjects=args.test_subjects,
        val_subjects=args.val_subjects,
        seed=args.seed,
        max_epochs=args.epochs,
        patience=args.patience,
        lr=args.lr,
        batch_size=args.batch_size,
        device=args.device,
        on_epoch=on_epoch,
    )
    console.print(
        f"[green]classifier[/] {args.out}: test macro-F1 {m['metrics']['test_macro_f1']:.3f} "
        f"(best epoch {m['metrics']['best_epoch']})"
    )
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    _torch(1)
    from mujo_edge.cli._console import console
    from mujo_edge.training.benchmark import benchmark, load_spec

    spec = load_spec(
        args.spec,
        shots=args.shots,
        fractions_pct=args.fractions,
        modes=args.modes,
        seeds=args.seeds,
        max_epochs=args.max_epochs,
        patience=args.patience,
    )

    def on_result(row: dict[str, Any], k: int, total: int) -> None:
        extra = f"{row['epochs']} epochs" if "epochs" in row else f"C {row['C']:g}"
        console.print(
            f"[{k}/{total}] {row['key']}: macro-F1 {row['macro_f1']:.3f} ({row['n_train']} windows, {extra}, "
            f"{row['seconds']:.0f} s)"
        )

    benchmark(
        spec,
        args.pretrained,
        args.out,
        control=args.control,
        jobs=args.jobs,
        device=args.device,
        on_result=on_result,
    )
    console.print((args.out / "table.md").read_text())
    return 0


def _pretrain_package(args: argparse.Namespace) -> int:
    _torch(1)
    from mujo_edge.cli._console import console
    from mujo_edge.provenance import check_out_folder
    from mujo_edge.training.assets import package_pretrained
    from mujo_edge.training.checkpoint import JOINT_FORMAT

    check_out_folder(args.out, JOINT_FORMAT, "foundation checkpoint", {"RUN": args.run})

    opts = {
        k: v
        for k, v in (("calibration_windows", args.calibration_windows), ("max_bytes", args.max_bytes))
        if v is not None
    }
    m = package_pretrained(args.run, args.out, **opts)
    total = sum((args.out / f).stat().st_size for f in [*m["foundation"]["files"], "manifest.json"])
    cos = m["foundation"].get("fp16_min_cosine_to_source")
    console.print(
        f"[green]foundation checkpoint[/] {args.out}: {total:,} bytes, weights sha256 {m['weights']['sha256'][:12]}, "
        f"content hash {m['content_hash'][:12]}"
        + (f", float16 vs source acc embeddings: min cosine {cos:.6f}" if cos is not None else "")
    )
    return 0
