"""Classifiers on the joint space (paper section 5.1) and the fine-tuned teacher for distillation.

:func:`train_classifier` is the one training loop of the evaluation protocol: weighted cross-entropy with
w_c = max_count / count_c over the training windows, Adam at ``LEARNING_RATE``, at most ``MAX_EPOCHS`` epochs,
early stopping after ``PATIENCE`` epochs without a better validation macro-F1 (ties: lower validation loss),
and the best epoch's weights restored. Modes:

- ``baseline``: the same architecture, randomly initialised, everything trained;
- ``frozen``: pretrained encoder(s) + projection(s) fixed (and in eval mode), only the head trains;
- ``finetuned``: pretrained encoder(s) + projection(s) initialise the model, everything trains.

:func:`finetune` trains a ``finetuned`` classifier on a labelled dataset (e.g. the real seglearn watch data)
and writes it with :func:`~mujo_edge.training.checkpoint.save_classifier` (``mujo-edge finetune``).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mujo_edge._checks import count, ids, number, path
from mujo_edge.constants import LEARNING_RATE, MAX_EPOCHS, PATIENCE
from mujo_edge.errors import CalibrationError, ConfigError, DataError
from mujo_edge.metrics import macro_f1
from mujo_edge.provenance import provenance
from mujo_edge.training.assets import resolve_pretrained
from mujo_edge.training.checkpoint import load_pretrained, read_joint_manifest, save_classifier
from mujo_edge.training.data.format import Dataset
from mujo_edge.training.models import Classifier, HeadConfig, JointModel

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("baseline", "frozen", "finetuned")
CALIBRATIONS: tuple[str, ...] = ("none", "unsupervised", "supervised")


def check_schedule(lr: Any, max_epochs: Any, patience: Any, batch_size: Any, seed: Any) -> None:
    """ConfigError, before any data is read, for a training setting a classifier cannot be trained with."""
    number(lr, "lr", hi=1e30, fix="pass a learning rate such as 1e-3")
    count(max_epochs, "max_epochs", 1, "pass the most epochs to train")
    count(patience, "patience", 0, "pass the epochs without improvement before stopping")
    count(batch_size, "batch_size", 1, "pass e.g. 32")
    count(seed, "seed", 0, "pass a whole-number random seed")


def subject_ids(values: Any, what: str) -> tuple[int, ...]:
    """A list of subject ids as a tuple of ints; ConfigError for a single str, floats or other values."""
    return ids(values, what, "pass e.g. [9, 10]")


@dataclass
class TrainResult:
    """What :func:`train_classifier` returns besides the model."""

    epochs: int
    best_epoch: int
    val_f1: float | None  # (None: no validation windows, the last epoch is kept)
    val_loss: float | None


@torch.no_grad()
def embed_windows(model: Classifier, x: Inputs, device: str = "cpu", batch_size: int = 512) -> np.ndarray:
    """Joint-space projections (N, joint_dim * inputs) of windows ``x`` with the backbone in eval mode."""
    was = model.training
    model.eval()
    n = len(next(iter(x.values())))
    out = [
        model.embed(_take(x, np.arange(i, min(n, i + batch_size)), device)).cpu()
        for i in range(0, n, batch_size)
    ]
    model.train(was)
    return (
        torch.cat(out).numpy()
        if out
        else np.zeros((0, model.joint_cfg.joint_dim * len(model.inputs)), np.float32)
    )


def class_weights(y: np.ndarray, n_classes: int) -> Tensor:
    """w_c = max_count / count_c (paper eq. 4); classes absent from ``y`` get weight 0."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, counts.max() / np.maximum(counts, 1), 0.0)
    return torch.tensor(w, dtype=torch.float32)


Inputs = dict[str, np.ndarray]


def _take(x: Inputs, idx: np.ndarray, device: str) -> dict[str, Tensor]:
    return {
        m: torch.from_numpy(np.ascontiguousarray(a[idx], dtype=np.float32)).to(device) for m, a in x.items()
    }


@torch.no_grad()
def predict_logits(model: Classifier, x: Inputs, device: str = "cpu", batch_size: int = 512) -> np.ndarray:
    """Logits (N, C) of the classifier on windows ``x`` (``{modality: (N, ...)}``), eval mode."""
    was = model.training
    model.eval()
    n = len(next(iter(x.values())))
    out = [
        model(_take(x, np.arange(i, min(n, i + batch_size)), device)).cpu() for i in range(0, n, batch_size)
    ]
    model.train(was)
    return torch.cat(out).numpy() if out else np.zeros((0, len(model.labels)), np.float32)


def build_classifier(
    joint: JointModel, mode: str, inputs: Sequence[str], labels: Sequence[str], seed: int, hidden: int = 256
) -> Classifier:
    """A classifier for ``mode``: baseline re-initialises the joint model's architecture from ``seed``."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    count(seed, "seed", 0, "pass a whole-number random seed")
    count(hidden, "hidden", 1, "pass the head's hidden size, e.g. 256")
    torch.manual_seed(seed)
    base = JointModel(joint.cfg, text_dim=joint.text_dim) if mode == "baseline" else copy.deepcopy(joint)
    head = HeadConfig(inputs=tuple(inputs), n_classes=len(labels), hidden=hidden, labels=list(labels))
    return Classifier(base, head)


def train_classifier(
    model: Classifier,
    mode: str,
    x_train: Inputs,
    y_train: np.ndarray,
    x_val: Inputs,
    y_val: np.ndarray,
    *,
    lr: float = LEARNING_RATE,
    max_epochs: int = MAX_EPOCHS,
    patience: int = PATIENCE,
    batch_size: int = 32,
    seed: int = 0,
    device: str = "cpu",
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> TrainResult:
    """Train ``model`` in place (paper 5.1) and restore its best validation epoch.

    Args:
        x_train / x_val: ``{modality: (N, ...)}`` windows in the dataset's units (e.g. acc (N, 100, 3) g).
        y_train / y_val: (N,) class indices.
        mode: baseline | frozen | finetuned (frozen keeps encoder + projection fixed and in eval mode).
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    check_schedule(lr, max_epochs, patience, batch_size, seed)
    if len(y_train) == 0:
        raise DataError("no training windows: the fraction or split left nothing to train on")
    model.to(device).train()
    frozen = mode == "frozen"
    for p in model.backbone_parameters():
        p.requires_grad_(not frozen)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    weights = class_weights(y_train, len(model.labels)).to(device)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    val_loss_fn = torch.nn.CrossEntropyLoss()
    gen = np.random.default_rng(seed)
    torch.manual_seed(seed)
    best_state = copy.deepcopy(model.state_dict())
    best = (-1.0, float("inf"))
    best_epoch, since, epoch = -1, 0, 0
    yt = torch.from_numpy(y_train.astype(np.int64)).to(device)
    yv_t = torch.from_numpy(y_val.astype(np.int64))
    if frozen:
        # The backbone is fixed and in eval mode, so its output for a window never changes: embed every
        # window once and train the head on those features (the same computation, 10-50x less work).
        f_train = torch.from_numpy(embed_windows(model, x_train, device)).to(device)
        f_val = torch.from_numpy(embed_windows(model, x_val, device)).to(device)

        def forward_train(idx: np.ndarray) -> Tensor:
            return model.head(f_train[idx])

        def val_logits() -> Tensor:
            model.head.eval()
            with torch.no_grad():
                out = model.head(f_val).cpu()
            return out
    else:

        def forward_train(idx: np.ndarray) -> Tensor:
            return model(_take(x_train, idx, device))

        def val_logits() -> Tensor:
            return torch.from_numpy(predict_logits(model, x_val, device))

    for epoch in range(max_epochs):
        model.train()
        if frozen:
            model.encoders.eval()
            model.projections.eval()
        order = gen.permutation(len(y_train))
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            loss = loss_fn(forward_train(idx), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if len(y_val):
            logits_v = val_logits()
            v_loss = float(val_loss_fn(logits_v, yv_t))
            v_f1 = macro_f1(y_val, logits_v.argmax(1).numpy())
        else:  # no validation subjects: keep the last epoch (reported as no validation score)
            v_loss, v_f1 = math.nan, math.nan
        if on_epoch:
            on_epoch(epoch, v_f1, v_loss)
        if not len(y_val) or (v_f1, -v_loss) > (best[0], -best[1]):
            best, best_epoch, since = (v_f1, v_loss), epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            since += 1
            if since >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    scored = bool(len(y_val))
    return TrainResult(
        epochs=epoch + 1,
        best_epoch=best_epoch,
        val_f1=best[0] if scored else None,
        val_loss=best[1] if scored else None,
    )


def load_calibration_target(run: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The pretraining corpus's acc windows (n, 100, 3) g, their labels and label names from ``RUN``."""
    f = resolve_pretrained(run) / "calibration_target.npz"
    if not f.is_file():
        raise CalibrationError(
            f"{f} is missing: this pretraining run kept no corpus windows to calibrate onto; "
            "re-run `mujo-edge pretrain` or use --calibration none"
        )
    try:
        z = np.load(f, allow_pickle=False)
        # float32: a packaged foundation checkpoint keeps its calibration windows in float16
        return z["acc"].astype(np.float32), z["label"], [str(s) for s in z["labels"]]
    except (ValueError, OSError, KeyError) as e:  # (numpy's own text invites loading it unsafely: not here)
        raise CalibrationError(
            f"{f} is not a calibration sample (npz of acc, label, labels: {type(e).__name__}); re-run "
            "`mujo-edge pretrain` (or pretrain-package) or use --calibration none"
        ) from e


def fit_calibration(
    run: str | Path,
    kind: str,
    acc_train: np.ndarray,
    y_train: np.ndarray,
    labels: Sequence[str],
) -> Any:
    """PIT calibration of real acc onto the run's corpus (``PitCalibration`` / ``SupervisedPit`` / None).

    unsupervised: fitted on all real training windows; supervised: per class, matching real label names to
    the corpus's label names (case-insensitive).
    """
    from mujo_edge.calibration import PitCalibration, SupervisedPit

    if kind == "none":
        return None
    target, t_lab, t_names = load_calibration_target(run)
    if kind == "unsupervised":
        return PitCalibration.fit(acc_train, target)
    if kind == "supervised":
        lookup = {n.lower(): i for i, n in enumerate(t_names)}
        missing = [n for n in labels if n.lower() not in lookup]
        if missing:
            raise CalibrationError(
                f"supervised calibration maps each real class onto the corpus class of the same name, but "
                f"{missing} are not corpus labels ({t_names}); use --calibration unsupervised"
            )
        mapped = np.array([lookup[labels[c].lower()] for c in range(len(labels))])
        return SupervisedPit.fit(acc_train, mapped[y_train], target, t_lab)
    raise CalibrationError(f"calibration must be one of {CALIBRATIONS}, got {kind!r}")


def apply_calibration(
    cal: Any, acc: np.ndarray, y: np.ndarray, labels: Sequence[str], run: str | Path
) -> np.ndarray:
    """Apply a fitted calibration (supervised tables need the windows' labels) to (N, 100, 3) g windows."""
    from mujo_edge.calibration import SupervisedPit

    if cal is None:
        return np.asarray(acc, dtype=np.float32)
    if isinstance(cal, SupervisedPit):
        _, _, t_names = load_calibration_target(run)
        lookup = {n.lower(): i for i, n in enumerate(t_names)}
        mapped = np.array([lookup[labels[c].lower()] for c in range(len(labels))])
        return cal.apply(acc, mapped[y])
    return cal.apply(acc)


def finetune(
    pretrained: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    fraction: float = 1.0,
    calibration: str = "none",
    test_subjects: Sequence[int] = (9, 10),
    val_subjects: Sequence[int] = (8,),
    seed: int = 0,
    max_epochs: int = MAX_EPOCHS,
    patience: int = PATIENCE,
    lr: float = LEARNING_RATE,
    batch_size: int = 32,
    device: str = "cpu",
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune the pretrained acc encoder + projection + a head on ``data``; write the classifier to ``out``.

    ``calibration="unsupervised"`` fits PIT on the training windows and stores its table in the manifest
    (the runtime applies it before the model); supervised tables need labels at inference and are refused.
    Returns the manifest written.
    """
    from mujo_edge.training.data.splits import sample_fraction, subject_split
    from mujo_edge.training.distributed import check_workers

    check_workers(device, 1)
    check_schedule(lr, max_epochs, patience, batch_size, seed)
    number(fraction, "fraction", 0.0, 1.0, fix="pass the share of training windows, e.g. 0.1 for 10 %")
    test_subjects = subject_ids(test_subjects, "test_subjects")
    val_subjects = subject_ids(val_subjects, "val_subjects")
    path(out, "out")
    if calibration not in ("none", "unsupervised"):
        raise CalibrationError(
            f"a deployable classifier can carry only an unsupervised calibration (got {calibration!r}): "
            "supervised PIT needs the label of every window it maps. Use none or unsupervised."
        )
    ds = Dataset.open(data)
    joint = load_pretrained(resolve_pretrained(pretrained))
    pre_manifest = read_joint_manifest(resolve_pretrained(pretrained))
    split = subject_split(ds, test_subjects, val_subjects)
    y = np.asarray(ds.label, dtype=np.int64)
    train_idx = sample_fraction(y, split.train, fraction, seed)
    acc = np.asarray(ds.acc, dtype=np.float32)
    cal = fit_calibration(pretrained, calibration, acc[split.train], y[split.train], ds.labels)
    acc = apply_calibration(cal, acc, y, ds.labels, pretrained)
    model = build_classifier(joint, "finetuned", ("acc",), ds.labels, seed)
    res = train_classifier(
        model,
        "finetuned",
        {"acc": acc[train_idx]},
        y[train_idx],
        {"acc": acc[split.val]},
        y[split.val],
        lr=lr,
        max_epochs=max_epochs,
        patience=patience,
        batch_size=batch_size,
        seed=seed,
        device=device,
        on_epoch=on_epoch,
    )
    model.cpu()
    pred = predict_logits(model, {"acc": acc[split.test]}).argmax(1)
    test_f1 = macro_f1(y[split.test], pred)
    from sklearn.metrics import confusion_matrix

    fields = {
        "rate_hz": ds.rate_hz,
        "window": int(ds.acc.shape[1]),
        "input": "acc",
        "units": "g",
        "axis_convention": ds.manifest.get("axis_convention"),
        "calibration": {
            "kind": calibration,
            "mode": calibration,
            "table": cal.to_dict() if cal is not None else None,
        },
        "splits": {
            "test_subjects": [int(s) for s in test_subjects],
            "val_subjects": [int(s) for s in val_subjects],
            "fraction": fraction,
            "n_train": len(train_idx),
            "n_val": len(split.val),
            "n_test": len(split.test),
        },
        "metrics": {
            "test_macro_f1": test_f1,
            "test_accuracy": float((pred == y[split.test]).mean()) if len(pred) else 0.0,
            "val_macro_f1": res.val_f1,
            "epochs": res.epochs,
            "best_epoch": res.best_epoch,
            "confusion_matrix": confusion_matrix(
                y[split.test], pred, labels=list(range(len(ds.labels)))
            ).tolist(),
        },
        "training": {"lr": lr, "batch_size": batch_size, "max_epochs": max_epochs, "patience": patience},
        "pretrained": {
            "path": str(pretrained),
            "weights_sha256": pre_manifest["weights"]["sha256"],
            "data_hash": pre_manifest.get("data", {}).get("content_hash"),
        },
        "data": {
            "path": str(data),
            "content_hash": ds.manifest.get("content_hash"),
            "name": ds.manifest.get("name"),
        },
        "provenance": provenance(seed=seed),
    }
    save_classifier(out, model, **fields)
    log.info("fine-tuned classifier: test macro-F1 %.3f -> %s", test_f1, out)
    import json

    return json.loads((Path(out) / "manifest.json").read_text())
