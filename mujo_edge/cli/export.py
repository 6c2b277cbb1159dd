"""``mujo-edge distill`` and ``mujo-edge export``: teacher -> compact student -> verified int8 ``.mujo`` bundle.

Both handlers import torch, executorch and litert-torch lazily, inside the command.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from mujo_edge.cli._args import (
    check_output,
    comma_names,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
)
from mujo_edge.constants import OPEN_SET_KEEP, PER_TENSOR_CHOICES, UNKNOWN_LABEL
from mujo_edge.events import is_unknown_label


def _ints(s: str) -> list[int]:
    try:
        return [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated subject ids like 9,10, got {s!r}"
        ) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser(
        "distill",
        help="train a compact accelerometer student (<= 30k params) from a fine-tuned teacher",
        description="Distill the fine-tuned teacher into a depthwise-separable 1D CNN student: soft targets "
        "(KL at --temperature), weighted hard-label CE and the teacher's joint-space embedding (cosine through "
        "an orthonormal map). Trains on the teacher's training subjects, picks the best epoch on its validation "
        "subjects, reports student vs teacher macro-F1 on its test subjects.",
    )
    d.add_argument("--teacher", required=True, type=Path, help="teacher folder (mujo-edge finetune --out)")
    d.add_argument("--data", required=True, type=Path, help="dataset folder the teacher was fine-tuned on")
    d.add_argument("--out", required=True, type=Path, help="STUDENT folder to write")
    d.add_argument("--epochs", type=positive_int, default=60)
    d.add_argument("--batch-size", type=positive_int, default=64)
    d.add_argument("--lr", type=positive_float, default=3e-3, help="peak learning rate (one-cycle schedule)")
    d.add_argument(
        "--temperature", type=positive_float, default=4.0, help="softmax temperature of the soft targets"
    )
    d.add_argument(
        "--alpha", type=fraction, default=0.7, help="weight of the soft-target KL (1 - alpha: hard CE)"
    )
    d.add_argument("--embed-weight", type=float, default=1.0, help="weight of the joint-space cosine term")
    d.add_argument("--width", type=positive_int, default=32, help="stem channels; blocks scale from it")
    d.add_argument("--embed-dim", type=positive_int, default=32, help="student joint-space embedding size D")
    d.add_argument(
        "--activation",
        choices=("relu", "relu6"),
        default="relu",
        help="relu: fused with conv by the int8 quantizers (relu6 is not, and loses int8 agreement)",
    )
    d.add_argument(
        "--input-noise", type=float, default=0.03, help="std (g) of training input noise: robustness to int8"
    )
    d.add_argument("--max-params", type=int, default=30_000, help="refuse a student larger than this")
    d.add_argument("--test-subjects", type=_ints, help="override the teacher's test subjects (e.g. 9,10)")
    d.add_argument("--val-subjects", type=_ints, help="override the teacher's validation subjects (e.g. 8)")
    d.add_argument(
        "--pretrained",
        type=Path,
        help="pretraining RUN, or `default` (the shipped foundation checkpoint), whose text encoder embeds the "
        "label texts (for on-device zero-shot); if omitted: the one the teacher's manifest names, if any",
    )
    d.add_argument("--seed", type=non_negative_int, default=0)
    d.set_defaults(func=_distill)

    e = sub.add_parser(
        "export",
        help="quantize a student to int8, convert to LiteRT (.tflite) and ExecuTorch (.pte), verify, bundle",
        description="Static int8 PTQ through PT2E (per-channel weights) calibrated on training windows; "
        ".tflite via litert-torch and .pte via ExecuTorch + XNNPACK; both run in their real runtimes on the "
        "held-out test subjects and must agree with the float student on --min-agreement of windows, else no "
        "bundle is written and the command fails.",
    )
    e.add_argument(
        "student", type=Path, nargs="?", help="STUDENT folder (mujo-edge distill --out); not with --upgrade"
    )
    e.add_argument("--out", required=True, type=Path, help="bundle to write, e.g. model.mujo")
    e.add_argument("--int8", action="store_true", help="int8 models (default: float32 variants)")
    e.add_argument("--formats", default="tflite,executorch", help="comma-separated: tflite, executorch")
    e.add_argument(
        "--calib-windows", type=positive_int, default=512, help="training windows for int8 calibration"
    )
    e.add_argument("--min-agreement", type=float, default=0.99, help="required top-1 agreement with float")
    e.add_argument(
        "--equalize",
        type=_equalize_arg,
        default=0.5,
        metavar="STRENGTH|off",
        help="int8: rescale channels so activations use their int8 ranges evenly before quantizing (the float "
        "function is unchanged); STRENGTH 0-1 applies where it costs weight precision (default 0.5), off "
        "quantizes the student as it is",
    )
    e.add_argument(
        "--rounding",
        choices=("adaround", "nearest"),
        default="adaround",
        help="int8 weight rounding: adaround chooses each weight's rounding direction so that every layer's "
        "output on training windows matches the float student's (default; ~1 min); nearest is PT2E's own",
    )
    e.add_argument(
        "--batch",
        type=int,
        default=64,  # export.pipeline.EXPORT_BATCH (not imported here: it imports torch)
        metavar="B",
        help="also export each model with a fixed batch of B windows (the same int8 model; a gateway then "
        "classifies B ready windows in one call; default 64, 0: none)",
    )
    e.add_argument(
        "--no-batch",
        dest="batch",
        action="store_const",
        const=0,
        help="export only the batch-1 models (what a watch or phone runs); the bundle is smaller",
    )
    e.add_argument(
        "--stem",
        choices=("float", "int8"),
        default="float",
        help="int8: keep the first conv (3 -> width channels, a few hundred weights) and its ReLU in float32, so "
        "the raw window is not rounded to int8 (default; the model takes a float32 input), or quantize it too",
    )
    e.add_argument(
        "--per-tensor-weights",
        choices=PER_TENSOR_CHOICES,
        default="none",
        help="int8: layers whose weights get one scale for the whole tensor instead of one per output channel: "
        "pointwise (the 1x1 convs, head and embedding) or all (the depthwise convs too); each such layer's "
        "per-channel scales and int64 zero points leave the .tflite (about 16 bytes per channel), at the cost "
        "of coarser weights, which the agreement check measures (default none)",
    )
    e.add_argument(
        "--rounding-windows",
        type=positive_int,
        default=4096,
        metavar="N",
        help="training windows adaptive rounding fits on (default 4096, capped at what the data has)",
    )
    e.add_argument("--data", type=Path, help="dataset (default: the one recorded in the student manifest)")
    e.add_argument("--name", default="student", help="model file stem inside the bundle")
    e.add_argument("--seed", type=non_negative_int, default=0)
    e.add_argument(
        "--c-array",
        type=Path,
        metavar="DIR",
        help="also write the int8 .tflite as C source for watch firmware (TensorFlow Lite Micro): "
        "DIR/mujo_model.h "
        "(length, alignment, arena, quantization, labels, ops) and DIR/mujo_model.c (docs/export.md)",
    )
    e.add_argument(
        "--labels",
        metavar="TEXT",
        help='a bundle from words: comma-separated activity names, e.g. "walking, cycling, push-ups"; each is '
        "embedded with the frozen sentence encoder and the pretraining run's text encoder, and the device "
        "classifies by joint-space cosine to them (needs --pretrained)",
    )
    e.add_argument(
        "--labels-file",
        type=Path,
        metavar="FILE",
        help="like --labels, several phrasings per label: one label per line as 'label: phrase; phrase' "
        "(or a JSON object label -> [phrases])",
    )
    e.add_argument("--pretrained", type=Path, help="pretraining RUN whose text encoder embeds --labels")
    e.add_argument(
        "--from-bundle",
        type=Path,
        metavar="BUNDLE",
        help="reuse this bundle's verified models (exported from STUDENT) instead of quantizing again: only "
        "the head, labels and open-set test change (seconds instead of minutes)",
    )
    e.add_argument(
        "--open-set-keep",
        type=float,
        default=OPEN_SET_KEEP,
        metavar="FRACTION",
        help="the open-set threshold keeps this fraction of the student's validation windows known "
        f"(default {OPEN_SET_KEEP}); windows scoring lower become 'unknown'",
    )
    e.add_argument(
        "--open-set-kind",
        choices=("mahalanobis", "cosine", "euclidean"),
        default="mahalanobis",
        help="the open-set score: distance to the nearest class mean under the training windows' shared "
        "covariance (default), the largest cosine to the class prototypes, or the Euclidean distance to the "
        "nearest prototype of the head vectors (unit embedding, and the window statistics with "
        "--window-stats)",
    )
    e.add_argument(
        "--open-set-prototypes",
        type=int,
        default=1,
        metavar="M",
        help="cosine and euclidean: M prototypes per label, k-means centres of its training windows "
        "(default 1, the class mean); a label worn or done in several ways gets a prototype for each",
    )
    e.add_argument(
        "--window-stats",
        type=float,
        default=0.0,
        metavar="WEIGHT",
        help="heads mujo-edge teach fits on the bundle (and a euclidean open-set test) also read 16 "
        "statistics of each window (wrist orientation, motion intensity, rhythm), standardized on the "
        "training windows and weighted WEIGHT against the unit embedding (default 0: none)",
    )
    e.add_argument(
        "--reject-labels",
        type=comma_names,
        default=[],
        metavar="LABELS",
        help="comma-separated labels of the student that mean 'none of these' (a class trained on other "
        "activities, e.g. other): a window whose most probable label is one of them comes out unknown",
    )
    e.add_argument("--no-open-set", action="store_true", help="no open-set test: every window gets a label")
    e.add_argument(
        "--upgrade",
        type=Path,
        metavar="OLD",
        help="re-pack a schema-1 bundle (no content hash) you trust as schema 2, with a hash, at --out",
    )
    e.set_defaults(func=_export)


def _pretrained_path(args: argparse.Namespace, teacher_manifest: dict[str, Any]) -> Path | None:
    from mujo_edge.training.assets import DEFAULT_PRETRAINED, resolve_pretrained

    if args.pretrained:
        return resolve_pretrained(args.pretrained)
    for key in ("pretrained", "pretrained_run"):
        v = teacher_manifest.get(key)
        if isinstance(v, dict):
            v = v.get("path") or v.get("run")
        if isinstance(v, str) and (v == DEFAULT_PRETRAINED or Path(v).is_dir()):
            return resolve_pretrained(v)
    return None


def _equalize_arg(text: str) -> float | None:
    """``--equalize``: off, or a strength in [0, 1]."""
    if text == "off":
        return None
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected off or a number in [0, 1], got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"the strength must be in [0, 1], got {v}")
    return v


def _distill(args: argparse.Namespace) -> int:
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    import numpy as np
    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from mujo_edge.cli._console import console
    from mujo_edge.errors import DataError
    from mujo_edge.training.checkpoint import load_classifier
    from mujo_edge.training.data.format import Dataset
    from mujo_edge.training.distill import (
        DistillConfig,
        distill,
        save_student,
        student_label_embeddings,
        student_splits,
        teacher_calibration,
        teacher_label_embeddings,
        teacher_outputs,
    )

    torch.set_num_threads(1)
    from mujo_edge.provenance import check_out_folder
    from mujo_edge.training.distill import STUDENT_FORMAT

    check_out_folder(args.out, STUDENT_FORMAT, "student", {"--teacher": args.teacher, "--data": args.data})
    teacher = load_classifier(args.teacher)
    tman: dict[str, Any] = dict(getattr(teacher, "manifest", {}))
    ds = Dataset.open(args.data)
    labels = list(teacher.labels)
    if ds.labels != labels:
        raise DataError(
            f"{args.data} has labels {ds.labels} but the teacher predicts {labels}; distill on the dataset "
            "the teacher was fine-tuned on."
        )
    splits = student_splits(tman, np.asarray(ds.subject), args.test_subjects, args.val_subjects)
    # the label texts in the teacher's joint space, checked before training: a pretraining run that is not
    # the teacher's (another joint dim) failed only after the whole distillation, losing the student
    t_emb = None
    pre = _pretrained_path(args, tman)
    if pre is not None:
        from mujo_edge.provenance import sha256_file
        from mujo_edge.training.checkpoint import load_pretrained
        from mujo_edge.training.distill import require_joint_dim

        recorded = (
            (tman.get("pretrained") or {}).get("weights_sha256")
            if isinstance(tman.get("pretrained"), dict)
            else None
        )
        if recorded and sha256_file(Path(pre) / "model.safetensors") != recorded:
            console.print(
                f"[yellow]{pre}/model.safetensors is not the pretrained model the teacher was fine-tuned from "
                "(sha256 differs): its label-text embeddings may not match the teacher's joint space[/]"
            )
        t_emb = teacher_label_embeddings(load_pretrained(pre), labels, ds.label_text)
        teacher_dim = int(teacher_outputs(teacher, np.asarray(ds.acc[:1]))[1].shape[1])
        require_joint_dim(pre, t_emb.shape[1], teacher_dim, f"the teacher {args.teacher} embeds windows in")
    calibration = teacher_calibration(tman)
    cfg = DistillConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        temperature=args.temperature,
        alpha=args.alpha,
        embed_weight=args.embed_weight,
        width=args.width,
        embed_dim=args.embed_dim,
        activation=args.activation,
        input_noise_g=args.input_noise,
        seed=args.seed,
        max_params=args.max_params,
    )
    console.print(
        f"distilling {args.teacher} -> {args.out}: train subjects {splits.train}, val {splits.val}, "
        f"test {splits.test}; PIT {'from the teacher' if calibration else 'none'}"
    )
    with Progress(
        TextColumn("[bold]distill"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("distill", total=cfg.epochs, info="")

        def on_epoch(epoch: int, m: dict[str, float]) -> None:
            info = f"loss {m['loss']:.3f} kl {m['kl']:.3f} cos {m['cos']:.3f}"
            if "val_macro_f1" in m:
                info += f" val F1 {m['val_macro_f1']:.3f}"
            progress.update(task, completed=epoch, info=info)

        result = distill(
            teacher,
            np.asarray(ds.acc),
            np.asarray(ds.label),
            np.asarray(ds.subject),
            labels,
            splits,
            cfg,
            calibration=calibration,
            on_epoch=on_epoch,
        )
    label_emb = None
    if t_emb is not None:
        label_emb = student_label_embeddings(t_emb, result.joint_map)
    else:
        console.print(
            "[yellow]no pretraining run known (--pretrained): the student carries no label-text embeddings, "
            "so its bundle cannot do on-device zero-shot[/]"
        )
    save_student(
        args.out,
        result,
        cfg,
        splits=splits,
        calibration=calibration,
        teacher_info={
            "path": str(args.teacher),  # as given, like the data path: no machine folder in artifacts
            "weights_sha256": tman.get("weights", {}).get("sha256"),
            "metrics": tman.get("metrics"),
        },
        data_info={"path": str(args.data), "content_hash": ds.manifest.get("content_hash")},
        label_embeddings=label_emb,
    )
    m = result.metrics
    table = Table(title=f"student {args.out}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in (
        "student_params",
        "best_epoch",
        "train_kl_to_teacher",
        "teacher_test_macro_f1",
        "student_test_macro_f1",
        "student_teacher_test_agreement",
    ):
        if key in m:
            v = m[key]
            table.add_row(key, f"{v:.4f}" if isinstance(v, float) else str(v))
    console.print(table)
    return 0


#: A model file stem inside a bundle (--name): it becomes part of the files' paths in the zip.
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _check_export_args(args: argparse.Namespace) -> None:
    """What export would refuse only after minutes of work, refused before any (ConfigError)."""
    from mujo_edge.errors import ConfigError

    check_output(args.out, "--out", example="model.mujo")
    if args.upgrade is not None:
        return
    if not 0.0 <= args.min_agreement <= 1.0:  # (NaN too; 0 turns the gate off)
        raise ConfigError(f"--min-agreement must be a fraction in [0, 1], got {args.min_agreement}")
    if not args.name or not set(args.name) <= _NAME_CHARS:
        raise ConfigError(
            f"--name {args.name!r}: use letters, digits, '_' and '-' (it names files in the bundle)"
        )
    from mujo_edge.bundle import MODEL_FORMATS

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in MODEL_FORMATS]
    if not formats or unknown:
        said = f"names {', '.join(unknown)}, which is not a format" if unknown else "names no format"
        raise ConfigError(f"--formats {said}; give tflite, executorch or both")
    args.formats = formats  # (the list, for the steps below)
    if args.c_array is not None:
        check_output(args.c_array, "--c-array", folder=True)
        if args.from_bundle is None and not (args.int8 and "tflite" in formats):
            raise ConfigError(
                "--c-array writes the int8 .tflite for TensorFlow Lite Micro: add --int8 and keep tflite in --formats"
            )


def _export(args: argparse.Namespace) -> int:
    """export, with ``--out`` as it was before the command whatever step fails: the bundle is written in
    several steps (models, then the open-set test or a words head), and a failure in a later one must not
    leave an earlier step's bundle in place of one that was there (or a half-made one where none was)."""
    _check_export_args(args)
    out = Path(args.out)
    before = out.read_bytes() if out.is_file() else None
    try:
        return _export_steps(args)
    except BaseException:
        if before is None:
            out.unlink(missing_ok=True)
        elif not out.is_file() or out.read_bytes() != before:
            tmp = out.with_name(out.name + ".restore")
            tmp.write_bytes(before)
            tmp.replace(out)
        raise


def _export_steps(args: argparse.Namespace) -> int:
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    import torch
    from rich.table import Table

    from mujo_edge.cli._console import console
    from mujo_edge.errors import ExportError
    from mujo_edge.export.pipeline import export_data, export_models, write_export_bundle
    from mujo_edge.training.distill import load_label_embeddings, load_student

    torch.set_num_threads(1)
    if args.upgrade is not None:
        from mujo_edge.bundle import upgrade_bundle

        b = upgrade_bundle(args.upgrade, args.out)
        console.print(
            f"[green]wrote {args.out}[/]: {args.upgrade} re-packed as schema 2, content hash {b.content_hash}"
        )
        return 0
    if args.student is None:
        raise ExportError("export needs a STUDENT folder (mujo-edge distill --out), or --upgrade OLD.mujo")
    _open_set_options(args)
    label_texts = _label_texts(args)
    if args.from_bundle is not None:
        from mujo_edge.bundle import Bundle

        _, manifest = load_student(args.student)
        _reject_labels(args, manifest)
        base = Bundle.open(args.from_bundle)
        if args.c_array is not None:
            from mujo_edge.export.c_array import tflite_entry

            tflite_entry(base)  # (--c-array of a bundle without an int8 .tflite: refused before any work)
        recorded = base.manifest.get("student", {}).get("weights_sha256")
        if base.model_labels != manifest["labels"] or (
            recorded and recorded != manifest.get("weights", {}).get("sha256")
        ):
            raise ExportError(
                f"{args.from_bundle} was not exported from {args.student} (its labels or student weights "
                "differ); pass the bundle made from this student, or drop --from-bundle to export again"
            )
        if base.head.kind != "logits":
            base = base.derive(args.out, head=_logits_head(base))
        return _finish(args, base, manifest, label_texts)
    formats: list[str] = args.formats  # (split and checked by _check_export_args)
    student, manifest = load_student(args.student)
    label_emb = load_label_embeddings(args.student, manifest)  # (checked before minutes of export)
    _reject_labels(args, manifest)
    data = export_data(
        manifest,
        args.data,
        calib_windows=args.calib_windows,
        seed=args.seed,
        rounding_windows=args.rounding_windows if args.int8 and args.rounding == "adaround" else 0,
    )
    with console.status("exporting") as status:
        report = export_models(
            student,
            list(manifest["labels"]),
            int(manifest["window"]),
            data,
            formats=formats,
            int8=args.int8,
            min_agreement=args.min_agreement,
            name=args.name,
            on_step=lambda s: status.update(s),
            equalize=args.equalize,
            rounding=args.rounding,
            float_stem=args.stem == "float",
            batch=args.batch,
            per_tensor_weights=args.per_tensor_weights,
        )
    table = Table(
        title=f"export of {args.student} ({'int8' if args.int8 else 'float32'}), "
        f"{data.info['verification_windows']} held-out windows of subjects {data.info['verification_subjects']}"
    )
    for col in (
        "model",
        "KB",
        "XNNPACK partitions",
        "agreement",
        "macro-F1",
        "float macro-F1",
        "max |logit err|",
        "embedding cos",
    ):
        table.add_column(col, justify="left" if col == "model" else "right")
    for m in report.models:
        v, p = m.verification, m.file.info["partitions"]
        ok = v.agreement >= report.min_agreement
        table.add_row(
            m.file.filename,
            f"{len(m.file.data) / 1024:.1f}",
            f"{p['xnnpack_partitions']}{' (whole model)' if p['whole_model_in_one_partition'] else ' [red](split)[/]'}",
            f"[{'green' if ok else 'red'}]{v.agreement:.4f}[/]",
            f"{v.macro_f1:.4f}",
            f"{v.float_macro_f1:.4f}",
            f"{v.max_abs_logit_error:.3f}",
            "-" if v.embedding_cosine is None else f"{v.embedding_cosine:.4f}",
        )
        if m.file.batch is not None:  # same int8 model: equal outputs per window, checked in export
            bv, bp = m.file.batch.info["verification"], m.file.batch.info["partitions"]
            table.add_row(
                f"{m.file.batch.filename} (batch)",
                f"{len(m.file.batch.data) / 1024:.1f}",
                f"{bp['xnnpack_partitions']}{' (whole model)' if bp['whole_model_in_one_partition'] else ' [red](split)[/]'}",
                f"{bv['agreement']:.4f}",
                f"{bv['macro_f1']:.4f}",
                f"{bv['float_macro_f1']:.4f}",
                f"{bv['max_abs_logit_error']:.3f}",
                "-" if bv["embedding_cosine"] is None else f"{bv['embedding_cosine']:.4f}",
            )
    console.print(table)
    info = report.models[0].file.info if report.models else {}
    eq, fm, wr = info.get("equalization"), info.get("float_modules"), info.get("weight_rounding")
    if eq:
        console.print(f"activation equalization: strength {eq['strength']} (--equalize)")
    if fm:
        console.print(f"float32 stem: {', '.join(fm)} (--stem)")
    if isinstance(wr, dict):
        console.print(f"weight rounding: AdaRound on {wr['windows']} training windows (--rounding)")
    if not report.passed:
        raise ExportError(
            "verification failed, no bundle written: "
            + "; ".join(report.failures())
            + ". Calibrate on more windows (--calib-windows) or export float32 (drop --int8)."
        )
    bundle = write_export_bundle(args.out, report, manifest, data, label_emb)
    return _finish(args, bundle, manifest, label_texts)


def _logits_head(bundle: Any) -> Any:
    from mujo_edge.heads import Head

    return Head("logits", bundle.model_labels)


def _label_texts(args: argparse.Namespace) -> dict[str, list[str]] | None:
    """``--labels`` / ``--labels-file`` as {label: [phrasings]} (None when neither is given)."""
    import json

    from mujo_edge.errors import ConfigError, DataError

    out: dict[str, list[str]] = {}
    if args.labels:
        for name in args.labels.split(","):
            if name.strip():
                out.setdefault(name.strip(), []).append(name.strip())
    if args.labels_file:
        try:
            text = Path(args.labels_file).read_text(encoding="utf-8")
        except OSError as e:
            raise DataError(f"cannot read --labels-file {args.labels_file}: {e}") from e
        except UnicodeDecodeError as e:
            raise DataError(
                f"--labels-file {args.labels_file} is not UTF-8 text ({e}); save it as UTF-8"
            ) from e
        if text.lstrip().startswith(("{", "[")):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                raise DataError(f"{args.labels_file} is not valid JSON ({e})") from e
            if not isinstance(obj, dict) or not all(
                isinstance(v, list) and all(isinstance(x, str) for x in v) for v in obj.values()
            ):
                raise DataError(
                    f"{args.labels_file}: expected a JSON object label -> [phrases], e.g. "
                    f'{{"walking": ["walking", "a person walking"]}}, got a JSON {type(obj).__name__}'
                )
            for k, v in obj.items():
                if not k.strip():
                    raise DataError(f"{args.labels_file}: a label with no name ({k!r}); name it or remove it")
                out.setdefault(k.strip(), []).extend(x for x in v if x.strip())
        else:
            for i, line in enumerate(text.splitlines(), 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                name, _, phrases = line.partition(":")
                if not name.strip():
                    raise DataError(
                        f"{args.labels_file}, line {i}: expected 'label: phrase; phrase', got {line!r}"
                    )
                texts = [x.strip() for x in phrases.split(";") if x.strip()] or [name.strip()]
                out.setdefault(name.strip(), []).extend(texts)
    if not out:
        if args.labels is not None or args.labels_file is not None:
            raise ConfigError("--labels / --labels-file named no label; give at least two, comma-separated")
        return None
    if len(out) < 2:
        raise ConfigError(f"a bundle from words needs at least two labels, got {list(out)}")
    folded: dict[str, str] = {}
    for name in out:
        if is_unknown_label(name):
            raise ConfigError(
                f"{name!r}: {UNKNOWN_LABEL!r} is the open-set answer of every bundle; do not name it as a label"
            )
        twin = folded.setdefault(name.casefold(), name)
        if twin != name:
            raise ConfigError(
                f"labels {twin!r} and {name!r} differ only in case, which events cannot tell apart; "
                "give one of them, with both phrasings (--labels-file 'label: phrase; phrase')"
            )
    if args.pretrained is None:
        raise ConfigError("--labels needs --pretrained RUN: its text encoder embeds the label texts")
    return out


def _open_set_options(args: argparse.Namespace) -> tuple[float, int]:
    """``--open-set-keep`` and ``--open-set-prototypes``, checked before any work (ConfigError)."""
    from mujo_edge.errors import ConfigError

    keep = float(args.open_set_keep)
    if not 0.0 < keep <= 1.0:
        raise ConfigError(f"--open-set-keep must be in (0, 1], got {keep}")
    per_class = int(args.open_set_prototypes)
    if per_class < 1 or (per_class > 1 and args.open_set_kind == "mahalanobis"):
        raise ConfigError(
            f"--open-set-prototypes {per_class}: give a count >= 1; more than one needs --open-set-kind "
            "cosine or euclidean"
        )
    weight = float(args.window_stats)
    words = bool(args.labels or args.labels_file)
    if not (math.isfinite(weight) and weight >= 0.0) or (weight > 0 and (args.no_open_set or words)):
        raise ConfigError(
            f"--window-stats {args.window_stats}: give a weight >= 0 (0: none); the statistics go with the "
            "open-set test of the student's own labels, so not with --no-open-set, --labels or --labels-file"
        )
    return keep, per_class


def _reject_labels(args: argparse.Namespace, manifest: dict[str, Any]) -> list[str]:
    """``--reject-labels``, checked against the student's labels before any work (ConfigError)."""
    from mujo_edge.errors import ConfigError

    reject: list[str] = args.reject_labels
    labels = list(manifest["labels"])
    bad = [r for r in reject if r not in labels]
    if bad or (reject and len(set(reject)) >= len(labels)):
        raise ConfigError(
            f"--reject-labels {','.join(reject)}: name some, not all, of the student's labels {labels}"
        )
    if reject and (args.no_open_set or args.labels or args.labels_file):
        raise ConfigError(
            "--reject-labels works through the open-set test of the student's own labels; drop "
            "--no-open-set / --labels / --labels-file"
        )
    return reject


def _finish(args: argparse.Namespace, bundle: Any, manifest: dict[str, Any], label_texts: Any) -> int:
    """The open-set test (unless --no-open-set) and, with --labels, the words head; then the summary."""
    from mujo_edge.cli._console import console

    keep, per_class = _open_set_options(args)
    if not args.no_open_set or label_texts:
        from mujo_edge.export.pipeline import add_open_set, open_set_windows, words_bundle

        windows = open_set_windows(manifest, args.data, seed=args.seed)
        if label_texts:
            from mujo_edge.training.data.format import Dataset
            from mujo_edge.training.distill import text_label_vectors

            own_texts = Dataset.open(windows.info["data"]).label_text
            own = text_label_vectors(
                args.student,
                args.pretrained,
                {lab: own_texts.get(lab) or [lab] for lab in manifest["labels"]},
            )
            vectors = text_label_vectors(args.student, args.pretrained, label_texts)
            bundle = words_bundle(bundle, args.out, label_texts, vectors, own, windows, keep)
        else:
            bundle = add_open_set(
                bundle,
                args.out,
                windows,
                keep,
                kind=args.open_set_kind,
                per_class=per_class,
                seed=args.seed,
                reject=_reject_labels(args, manifest),
                stats_weight=float(args.window_stats) or None,
            )
    elif Path(bundle.path).resolve() != Path(args.out).resolve():
        bundle = bundle.derive(args.out, head=_logits_head(bundle))
    size = Path(args.out).stat().st_size
    thr = bundle.open_set_threshold
    held = (bundle.manifest.get("open_set") or {}).get("prototypes_per_class")
    if held is not None and held < per_class:
        console.print(
            f"[yellow]--open-set-prototypes {per_class}: no label has that many training windows, so each "
            f"label keeps every one of its windows as a prototype (at most {held})[/]"
        )
    console.print(
        f"[green]wrote {args.out}[/] ({size / 1024:.1f} KB): {len(bundle.labels)} labels "
        f"({', '.join(bundle.labels)}), formats {', '.join(bundle.formats)}, calibration "
        f"{'yes' if bundle.calibration is not None else 'no'}, head {bundle.head.kind}, open-set test "
        f"{'no' if thr is None else f'{bundle.head.score_kind}, threshold {thr:.4g} (keeps {keep:g} of validation windows)'}"
    )
    _c_array(args, bundle)
    return 0


def _c_array(args: argparse.Namespace, bundle: Any) -> None:
    """``--c-array DIR``: the bundle's int8 .tflite as mujo_model.h / mujo_model.c for watch firmware."""
    if getattr(args, "c_array", None) is None:
        return
    from mujo_edge.cli._console import console
    from mujo_edge.export.c_array import write_c_array

    paths = write_c_array(bundle, args.c_array)
    arena = next(
        (m.info.get("tflm", {}).get("arena_bytes") for m in bundle.models if m.format == "tflite"), None
    )
    console.print(
        f"[green]wrote {', '.join(str(p) for p in paths)}[/]: the int8 .tflite for TensorFlow Lite Micro"
        + (f", tensor arena {arena} bytes" if arena else "")
    )
