"""Distillation: a compact accelerometer student trained from the fine-tuned teacher.

The student is a 1D CNN of depthwise-separable blocks (about 30k parameters or fewer) built ONLY from ops
that XNNPACK and the LiteRT int8 kernels run whole: Conv1d (stem, depthwise, pointwise), BatchNorm (folded
into the convs before export), ReLU, a global average pool written as a mean over two trailing axes (the
form that stays in one XNNPACK partition; ``x.mean(-1)`` / ``AdaptiveAvgPool1d`` do not), and two linear
heads: class logits and a small joint-space embedding.

Its export graph is ``forward(acc (B, 3, WINDOW) float32 g) -> (logits (B, C), embedding (B, D))``; the
``(B, WINDOW, 3)`` windows the rest of the toolkit uses are transposed outside the graph (an in-graph
transpose costs a separate op in both runtimes).

Training (:func:`distill`) combines three terms on the teacher's training subjects, with the teacher's PIT
table applied to inputs when it has one:

* ``alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))``: soft targets at temperature T;
* ``(1 - alpha) * weighted CE(student, label)``: hard labels, w_c = max_count / count_c as the paper;
* ``embed_weight * (1 - cos(W e_s, e_t))``: the teacher's 1280-d joint-space projection e_t matched through a
  training-only map W (JOINT_DIM x D) with orthonormal columns. Because W^T W = I, cos(W e_s, t) =
  e_s . (W^T t) / (|e_s| |t|), so label-text embeddings projected once with W^T give EXACT joint-space
  zero-shot rankings on the device from the D-dim student embedding alone.

The best epoch is chosen on the validation subjects' macro-F1; the student and its teacher are both scored
on the teacher's test subjects.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from mujo_edge._checks import count, number
from mujo_edge._checks import path as a_path
from mujo_edge.constants import HOP, JOINT_DIM, RATE_HZ, WINDOW
from mujo_edge.errors import ArtifactError, ConfigError, DataError
from mujo_edge.metrics import macro_f1
from mujo_edge.provenance import provenance, read_manifest, sha256_file, write_json

log = logging.getLogger(__name__)

STUDENT_FORMAT = "mujo-edge-student"
STUDENT_SCHEMA_VERSION = 1
#: Default upper bound on the deployable student's parameter count (the training-only map W excluded).
MAX_STUDENT_PARAMS = 30_000


# --- the student -----------------------------------------------------------------------------------
@dataclass
class StudentConfig:
    """Shape of the student. ``width`` is the stem's channel count; later blocks scale from it."""

    n_classes: int
    labels: list[str] = field(default_factory=list)
    width: int = 32
    kernel: int = 5
    embed_dim: int = 32
    joint_dim: int = JOINT_DIM
    window: int = WINDOW
    #: "relu": the PT2E quantizers fuse conv + ReLU, so each block output is quantized once, after the
    #: activation. ReLU6 (hardtanh) is not fused: the conv output is quantized over its whole pre-activation
    #: range first, and int8 agreement with the float model drops (0.985 vs 0.992 measured, docs/export.md).
    activation: str = "relu"

    @property
    def channels(self) -> tuple[int, ...]:
        """Output channels of the stem and each depthwise-separable block."""
        w = self.width
        return (w, w * 3 // 2, w * 2, w * 3, w * 7 // 2)

    @property
    def strides(self) -> tuple[int, ...]:
        """Stride of the stem and each block's depthwise conv: 100 -> 50 -> 25 -> 13 -> 7 -> 7 samples."""
        return (2, 2, 2, 2, 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StudentConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "relu6": nn.ReLU6}


def _conv_bn_act(
    c_in: int, c_out: int, kernel: int, stride: int, groups: int = 1, act: str = "relu"
) -> list[nn.Module]:
    return [
        nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm1d(c_out),
        ACTIVATIONS[act](),
    ]


class Student(nn.Module):
    """The deployable student: ``forward(acc_bcw (B, 3, WINDOW) g) -> (logits (B, C), embedding (B, D))``."""

    def __init__(self, cfg: StudentConfig) -> None:
        super().__init__()
        self.cfg = cfg
        ch, st, k = cfg.channels, cfg.strides, cfg.kernel
        act = cfg.activation
        layers = _conv_bn_act(3, ch[0], k, st[0], act=act)
        for c_in, c_out, s in zip(ch[:-1], ch[1:], st[1:], strict=True):
            layers += _conv_bn_act(c_in, c_in, k, s, groups=c_in, act=act)  # depthwise
            layers += _conv_bn_act(c_in, c_out, 1, 1, act=act)  # pointwise
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(ch[-1], cfg.n_classes)
        self.embedding = nn.Linear(ch[-1], cfg.embed_dim)

    def forward(self, acc_bcw: Tensor) -> tuple[Tensor, Tensor]:
        h = self.features(acc_bcw)
        # Global average pool as a mean over two trailing axes: one XNNPACK partition (see module doc).
        h = h.unsqueeze(-1).mean(dim=(-2, -1), keepdim=True).flatten(1)
        return self.head(h), self.embedding(h)

    def classify(self, acc_g: Tensor) -> Tensor:
        """Logits (B, C) for windows in the toolkit's layout (B, WINDOW, 3) g."""
        return self(acc_g.transpose(1, 2))[0]

    def fused(self) -> Student:
        """A copy in eval mode with every BatchNorm folded into the conv before it (the export graph)."""
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        m = copy.deepcopy(self).eval()
        mods = list(m.features)
        out: list[nn.Module] = []
        i = 0
        while i < len(mods):
            if (
                isinstance(mods[i], nn.Conv1d)
                and i + 1 < len(mods)
                and isinstance(mods[i + 1], nn.BatchNorm1d)
            ):
                out.append(fuse_conv_bn_eval(mods[i], mods[i + 1]))  # type: ignore[arg-type,type-var]
                i += 2
            else:
                out.append(mods[i])
                i += 1
        m.features = nn.Sequential(*out)
        return m


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class JointMap(nn.Module):
    """Training-only map W: student embedding (D) -> teacher joint space (JOINT_DIM), orthonormal columns."""

    def __init__(self, embed_dim: int, joint_dim: int) -> None:
        super().__init__()
        if joint_dim < embed_dim:
            raise ValueError(f"joint_dim {joint_dim} must be >= embed_dim {embed_dim}")
        self.raw = nn.Parameter(torch.randn(joint_dim, embed_dim) / math.sqrt(joint_dim))

    @property
    def weight(self) -> Tensor:
        """(joint_dim, embed_dim) with orthonormal columns (W^T W = I): the reduced QR factor of ``raw``."""
        return torch.linalg.qr(self.raw, mode="reduced").Q

    def forward(self, e: Tensor) -> Tensor:
        return e @ self.weight.T


# --- data and teacher ------------------------------------------------------------------------------
@dataclass
class Splits:
    """Subject ids of each part, as the teacher used them."""

    train: list[int]
    val: list[int]
    test: list[int]


def teacher_splits(manifest: Mapping[str, Any], subjects: Sequence[int]) -> Splits | None:
    """The train/val/test subjects recorded in a teacher manifest, or None when it records none.

    Accepts ``splits: {train_subjects|train, val_subjects|val, test_subjects|test}``; training subjects
    default to everyone not held out.
    """
    s = manifest.get("splits")
    if not isinstance(s, Mapping):
        return None

    def get(name: str) -> list[int] | None:
        for key in (f"{name}_subjects", name):
            v = s.get(key)
            if isinstance(v, list | tuple):
                return [int(x) for x in v]
        return None

    test = get("test")
    if not test:
        return None
    val = get("val") or []
    train = get("train") or [int(x) for x in subjects if int(x) not in set(test) | set(val)]
    return Splits(train=train, val=val, test=test)


def student_splits(
    manifest: Mapping[str, Any],
    subject: np.ndarray,
    test_subjects: Sequence[int] | None = None,
    val_subjects: Sequence[int] | None = None,
) -> Splits:
    """The subjects a student trains, validates and tests on: the teacher's (:func:`teacher_splits`), with
    ``test_subjects`` / ``val_subjects`` overriding its parts; everyone else trains.

    Raises:
        DataError: the teacher records no test subjects and none are given, or the split is not one of the
            data (a subject missing from it, in both parts, or nobody left to train on).
    """
    from mujo_edge.training.data.splits import subject_split

    subjects = sorted(int(s) for s in np.unique(subject))
    splits = teacher_splits(manifest, subjects)
    test = list(test_subjects) if test_subjects else (splits.test if splits else None)
    if test is None:
        raise DataError(
            "the teacher manifest records no test subjects; pass --test-subjects (and --val-subjects) so "
            "the student trains and tests on the same subjects as its teacher"
        )
    val = list(val_subjects) if val_subjects is not None else (splits.val if splits else [])
    subject_split(subject, test, val)  # (says which subject is not in the data, or held out twice)
    held = set(test) | set(val)
    if splits is not None and not test_subjects and val_subjects is None:
        return splits
    return Splits(train=[s for s in subjects if s not in held], val=val, test=test)


def teacher_calibration(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The teacher's unsupervised PIT table dict (``PitCalibration.to_dict``), or None.

    Accepts the table directly under ``calibration`` or nested as ``calibration.table``; a ``mode`` of
    ``none`` or a supervised table (needs labels, unusable on a device) yields None.
    """
    c = manifest.get("calibration")
    if not isinstance(c, Mapping) or not c:
        return None
    if str(c.get("mode", "unsupervised")).lower() in ("none", "supervised"):
        return None
    table = c.get("table", c)
    return dict(table) if isinstance(table, Mapping) and table else None


def apply_calibration(acc_g: np.ndarray, table: Mapping[str, Any] | None) -> np.ndarray:
    """Windows (N, WINDOW, 3) g through the PIT table (unchanged, as float32, when there is none)."""
    if not table:
        return np.array(acc_g, np.float32)  # a writable copy: datasets are read-only memory maps
    from mujo_edge.calibration import PitCalibration

    return PitCalibration.from_dict(table).apply(np.asarray(acc_g, np.float32))


@torch.no_grad()
def teacher_outputs(teacher: nn.Module, acc_g: np.ndarray, batch: int = 256) -> tuple[Tensor, Tensor]:
    """Teacher logits (N, C) and joint-space embeddings (N, JOINT_DIM) for windows (N, WINDOW, 3) g."""
    teacher.eval()
    logits, emb = [], []
    for i in range(0, len(acc_g), batch):
        # (a copy: a slice of a memory-mapped dataset is read-only, which torch warns about)
        x = torch.from_numpy(np.array(acc_g[i : i + batch], np.float32))
        e = teacher.embed(x)  # type: ignore[operator]
        emb.append(e)
        logits.append(teacher(x))
    return torch.cat(logits), torch.cat(emb)


@torch.no_grad()
def student_logits(student: nn.Module, acc_g: np.ndarray, batch: int = 512) -> Tensor:
    """Student logits (N, C) for windows (N, WINDOW, 3) g, in eval mode."""
    was = student.training
    student.eval()
    out = [
        student(torch.from_numpy(np.array(acc_g[i : i + batch], np.float32)).transpose(1, 2))[0]
        for i in range(0, len(acc_g), batch)
    ]
    student.train(was)
    return torch.cat(out)


def teacher_label_embeddings(
    pretrained: nn.Module, labels: Sequence[str], label_text: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """(L, JOINT_DIM) unit label embeddings in the teacher's joint space, exactly as zero-shot evaluation
    computes them (:func:`mujo_edge.training.zeroshot.label_embeddings`): each label's texts (its name when
    it has none) through the frozen sentence encoder and the pretrained text encoder + projection."""
    from mujo_edge.training.zeroshot import label_embeddings

    return label_embeddings(pretrained, [list(label_text.get(lab, [])) or [lab] for lab in labels])


# --- distillation ----------------------------------------------------------------------------------
@dataclass
class DistillConfig:
    epochs: int = 60
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    temperature: float = 4.0
    alpha: float = 0.7
    embed_weight: float = 1.0
    width: int = 32
    embed_dim: int = 32
    activation: str = "relu"
    #: Std of Gaussian noise added to the student's inputs (g) while training: makes its decisions robust
    #: to int8 input rounding (the exported input step is ~0.05 g). The teacher sees clean windows.
    input_noise_g: float = 0.03
    seed: int = 0
    max_params: int = MAX_STUDENT_PARAMS

    def __post_init__(self) -> None:
        # refused here, before the teacher runs over the data, not as NaN losses or a torch error mid-training
        count(self.epochs, "epochs", 1, "pass how many passes over the data to train")
        count(self.batch_size, "batch_size", 2, "pass e.g. 64 (batch norm needs two windows a batch)")
        number(self.lr, "lr", hi=1e30, fix="pass a learning rate such as 3e-3")
        number(self.weight_decay, "weight_decay", hi=10.0, above_lo=False, fix="pass e.g. 1e-4 (0: none)")
        number(self.temperature, "temperature", hi=100.0, fix="pass the soft-target temperature, e.g. 4")
        number(
            self.alpha, "alpha", hi=1.0, above_lo=False, fix="pass the soft-target weight in [0, 1], e.g. 0.7"
        )
        number(
            self.embed_weight,
            "embed_weight",
            hi=1e3,
            above_lo=False,
            fix="pass e.g. 1.0 (0: no joint-space term)",
        )
        count(self.width, "width", 1, "pass the stem's channel count, e.g. 32")
        count(self.embed_dim, "embed_dim", 1, "pass the student's embedding size, e.g. 32")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        number(
            self.input_noise_g,
            "input_noise_g",
            hi=10.0,
            above_lo=False,
            fix="pass a std in g, e.g. 0.03 (0: none)",
        )
        count(self.seed, "seed", 0, "pass a whole-number random seed")
        count(self.max_params, "max_params", 1, f"pass the parameter limit, e.g. {MAX_STUDENT_PARAMS}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def distill_loss(
    s_logits: Tensor,
    s_emb: Tensor,
    t_logits: Tensor,
    t_emb: Tensor,
    y: Tensor,
    joint_map: JointMap,
    cfg: DistillConfig,
    class_weight: Tensor | None,
) -> tuple[Tensor, dict[str, float]]:
    """The three-term loss of the module doc; returns (loss, its parts as floats)."""
    T = cfg.temperature
    kl = F.kl_div(
        F.log_softmax(s_logits / T, 1), F.log_softmax(t_logits / T, 1), reduction="batchmean", log_target=True
    )
    ce = F.cross_entropy(s_logits, y, weight=class_weight)
    cos = F.cosine_similarity(joint_map(s_emb), t_emb, dim=1).mean()
    loss = cfg.alpha * T * T * kl + (1 - cfg.alpha) * ce + cfg.embed_weight * (1 - cos)
    return loss, {"kl": kl.item(), "ce": ce.item(), "cos": cos.item()}


@dataclass
class DistillResult:
    student: Student
    joint_map: JointMap
    history: list[dict[str, float]]
    metrics: dict[str, Any]


def distill(
    teacher: nn.Module,
    acc_g: np.ndarray,
    label: np.ndarray,
    subject: np.ndarray,
    labels: Sequence[str],
    splits: Splits,
    cfg: DistillConfig,
    calibration: Mapping[str, Any] | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> DistillResult:
    """Train a student from ``teacher`` on the windows of ``splits.train`` subjects.

    Args:
        teacher: ``forward(acc_g (B, WINDOW, 3)) -> logits``, ``embed(acc_g) -> (B, JOINT_DIM)``.
        acc_g: (N, WINDOW, 3) float32 windows in g (raw: ``calibration`` is applied here).
        label, subject: (N,) int arrays.
        splits: subject ids of train / val (best-epoch selection) / test (reported) parts.
        calibration: the teacher's PIT table dict, applied to every window before teacher and student.
        on_epoch: called with (epoch, metrics) after each epoch (progress display).
    Returns:
        the best student (by validation macro-F1, or training loss without validation subjects), the map
        W, per-epoch history and metrics: teacher and student macro-F1 and their top-1 agreement on test.
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    x_all = apply_calibration(acc_g, calibration)
    label = np.array(label, np.int64)  # a writable copy (datasets are read-only memory maps)
    subject = np.array(subject, np.int64)
    part = {k: np.flatnonzero(np.isin(subject, v)) for k, v in asdict(splits).items()}
    if len(part["train"]) == 0:
        raise DataError(f"no windows of the training subjects {splits.train} in the data")
    n_classes = len(labels)
    scfg = StudentConfig(
        n_classes=n_classes,
        labels=list(labels),
        width=cfg.width,
        embed_dim=cfg.embed_dim,
        activation=cfg.activation,
    )
    student = Student(scfg)
    n_params = count_params(student)
    if n_params > cfg.max_params:
        raise DataError(
            f"the student has {n_params} parameters, above the limit {cfg.max_params}; lower --width "
            "or --embed-dim"
        )
    t_logits_all, t_emb_all = teacher_outputs(teacher, x_all)
    joint_map = JointMap(cfg.embed_dim, int(t_emb_all.shape[1]))
    tr = part["train"]
    counts = np.bincount(label[tr], minlength=n_classes).astype(np.float64)
    weight = torch.tensor(
        np.where(counts > 0, counts.max() / np.maximum(counts, 1), 0.0), dtype=torch.float32
    )
    params = [*student.parameters(), *joint_map.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(tr) / cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.15
    )
    x_t = torch.from_numpy(np.ascontiguousarray(x_all.transpose(0, 2, 1)))
    y_t = torch.from_numpy(label)
    best: tuple[tuple[float, float], dict[str, Any]] | None = None
    history: list[dict[str, float]] = []
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        student.train()
        order = tr[rng.permutation(len(tr))]
        sums = {"loss": 0.0, "kl": 0.0, "ce": 0.0, "cos": 0.0}
        for b in range(steps_per_epoch):
            idx = torch.from_numpy(order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
            if len(idx) < 2:
                continue
            xb = x_t[idx]
            if cfg.input_noise_g > 0:
                xb = xb + cfg.input_noise_g * torch.randn_like(xb)
            s_logits, s_emb = student(xb)
            loss, parts = distill_loss(
                s_logits, s_emb, t_logits_all[idx], t_emb_all[idx], y_t[idx], joint_map, cfg, weight
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # (torch leaves Tensor.backward unannotated)
            opt.step()
            sched.step()
            sums["loss"] += loss.item()
            for k, v in parts.items():
                sums[k] += v
        recalibrate_batchnorm(student, x_t[torch.from_numpy(tr)])
        rec = {k: v / steps_per_epoch for k, v in sums.items()}
        rec["epoch"] = epoch + 1
        rec["seconds"] = time.perf_counter() - t0
        if len(part["val"]):
            va = part["val"]
            s_val = student_logits(student, x_all[va])
            rec["val_macro_f1"] = macro_f1(label[va], s_val.argmax(1).numpy())
            rec["val_kl_to_teacher"] = _kl(s_val, t_logits_all[va], cfg.temperature)
            score = (rec["val_macro_f1"], -rec["val_kl_to_teacher"])
        else:
            score = (0.0, -rec["loss"])
        history.append(rec)
        if on_epoch:
            on_epoch(epoch + 1, rec)
        if best is None or score > best[0]:
            best = (
                score,
                {
                    "student": copy.deepcopy(student.state_dict()),
                    "map": copy.deepcopy(joint_map.state_dict()),
                    "epoch": epoch + 1,
                },
            )
    assert best is not None
    student.load_state_dict(best[1]["student"])
    joint_map.load_state_dict(best[1]["map"])
    student.eval()
    metrics: dict[str, Any] = {
        "best_epoch": best[1]["epoch"],
        "student_params": n_params,
        "student_params_fused": count_params(student.fused()),
        "train_windows": len(tr),
    }
    metrics.update(kl_to_teacher(student, x_all[tr], t_logits_all[tr], cfg.temperature, prefix="train"))
    te = part["test"]
    if len(te):
        t_pred = t_logits_all[te].argmax(1).numpy()
        s_pred = student_logits(student, x_all[te]).argmax(1).numpy()
        metrics.update(
            test_windows=len(te),
            teacher_test_macro_f1=macro_f1(label[te], t_pred),
            student_test_macro_f1=macro_f1(label[te], s_pred),
            student_teacher_test_agreement=float((t_pred == s_pred).mean()),
        )
    return DistillResult(student=student, joint_map=joint_map, history=history, metrics=metrics)


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, x: Tensor, batch: int = 256) -> None:
    """Set every BatchNorm's running statistics to the exact mean/variance over ``x`` (train-mode passes).

    With few steps per epoch the momentum averages lag the weights; the eval-mode (and exported, folded)
    model then differs from what was trained. One pass with cumulative averaging fixes that.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    was = model.training
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average
    model.train()
    for i in range(0, len(x), batch):
        model(x[i : i + batch])
    for bn, mom in zip(bns, saved, strict=True):
        bn.momentum = mom
    model.train(was)


@torch.no_grad()
def kl_to_teacher(
    student: nn.Module, acc_g: np.ndarray, t_logits: Tensor, temperature: float, prefix: str = ""
) -> dict[str, float]:
    """Mean KL(teacher || student) at ``temperature`` over windows (N, WINDOW, 3) g (the soft-target gap)."""
    kl = _kl(student_logits(student, acc_g), t_logits, temperature)
    return {f"{prefix}_kl_to_teacher" if prefix else "kl_to_teacher": kl}


def _kl(s_logits: Tensor, t_logits: Tensor, temperature: float) -> float:
    """Mean KL(teacher || student) of the softened distributions."""
    return F.kl_div(
        F.log_softmax(s_logits / temperature, 1),
        F.log_softmax(t_logits / temperature, 1),
        reduction="batchmean",
        log_target=True,
    ).item()


# --- the STUDENT folder ----------------------------------------------------------------------------
def save_label_embeddings(out: Path, label_embeddings: np.ndarray, what: str) -> dict[str, Any]:
    """Write a STUDENT folder's ``label_embeddings.npy`` (L, D) float32; its manifest entry."""
    np.save(out / "label_embeddings.npy", label_embeddings.astype(np.float32), allow_pickle=False)
    return {
        "file": "label_embeddings.npy",
        "shape": list(label_embeddings.shape),
        "sha256": sha256_file(out / "label_embeddings.npy"),
        "what": what,
    }


def save_student(
    out: str | Path,
    result: DistillResult,
    cfg: DistillConfig,
    *,
    splits: Splits,
    calibration: Mapping[str, Any] | None,
    teacher_info: Mapping[str, Any],
    data_info: Mapping[str, Any],
    label_embeddings: np.ndarray | None = None,
) -> Path:
    """Write STUDENT/: ``model.safetensors`` (student), ``joint_map.safetensors`` (training-only W),
    optional ``label_embeddings.npy`` (L, D) and ``manifest.json``."""
    from mujo_edge.training.checkpoint import save_weights

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sha = save_weights(result.student, out / "model.safetensors")
    map_sha = save_weights(result.joint_map, out / "joint_map.safetensors")
    emb_meta = None
    if label_embeddings is not None:
        emb_meta = save_label_embeddings(
            out,
            label_embeddings,
            "label texts in the student's embedding space: W^T t (t = unit teacher-joint-space label "
            "embedding); rank labels by dot(normalize(student embedding), row)",
        )
    scfg = result.student.cfg
    manifest = {
        "format": STUDENT_FORMAT,
        "schema_version": STUDENT_SCHEMA_VERSION,
        "what": "distilled accelerometer student: depthwise-separable 1D CNN, logits + joint-space embedding",
        "model": scfg.to_dict(),
        "labels": list(scfg.labels),
        "rate_hz": RATE_HZ,
        "window": scfg.window,
        "hop": HOP,
        "forward": f"acc (B, 3, {scfg.window}) float32 g (transposed windows) -> (logits (B, {scfg.n_classes}), "
        f"embedding (B, {scfg.embed_dim}))",
        "calibration": dict(calibration) if calibration else None,
        "splits": asdict(splits),
        "distill": cfg.to_dict(),
        "metrics": result.metrics,
        "history": result.history,
        "teacher": dict(teacher_info),
        "data": dict(data_info),
        "weights": {"file": "model.safetensors", "sha256": sha},
        "joint_map": {
            "file": "joint_map.safetensors",
            "sha256": map_sha,
            "shape": [scfg.joint_dim, scfg.embed_dim],
        },
        "label_embeddings": emb_meta,
        "provenance": provenance(seed=cfg.seed),
    }
    write_json(out / "manifest.json", manifest)
    return out


def load_student(path: str | Path) -> tuple[Student, dict[str, Any]]:
    """The student of a STUDENT folder (eval mode) and its manifest. Raises ArtifactError when unreadable."""
    from safetensors.torch import load_file

    path = a_path(path, "load_student: path (a folder written by `mujo-edge distill`)")
    manifest = read_manifest(
        path, STUDENT_FORMAT, STUDENT_SCHEMA_VERSION, ArtifactError, "`mujo-edge distill`"
    )
    try:
        wpath = path / str(manifest["weights"]["file"])
        want = manifest["weights"]["sha256"]
        config = StudentConfig.from_dict(manifest["model"])
        labels, splits = manifest["labels"], manifest["splits"]
        if not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
            raise TypeError(f"'labels' must be a list of names, got {labels!r}")
        if len(labels) != config.n_classes:
            raise ValueError(f"it names {len(labels)} labels for a model of {config.n_classes} classes")
        if not all(isinstance(splits.get(k), list) for k in ("train", "val", "test")):
            raise TypeError(f"'splits' must hold train, val and test subject lists, got {splits!r}")
        int(manifest["window"]), float(manifest["rate_hz"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ArtifactError(
            f"{path}/manifest.json is not a student manifest this mujo-edge reads ({type(e).__name__}: {e}); "
            "re-run distill"
        ) from e
    if not wpath.is_file() or sha256_file(wpath) != want:
        raise ArtifactError(
            f"{wpath} is missing or does not match its sha256 in the manifest; re-run distill."
        )
    student = Student(config)
    try:
        student.load_state_dict(load_file(str(wpath)), strict=True)
    except RuntimeError as e:
        raise ArtifactError(f"{wpath} does not match the architecture in its manifest: {e}") from e
    return student.eval(), manifest


def load_label_embeddings(path: str | Path, manifest: dict[str, Any]) -> np.ndarray | None:
    """The STUDENT folder's ``label_embeddings.npy`` (L, D) float32, checked against its manifest entry
    (sha256, one row per label); None when the student has none. ArtifactError otherwise: a file replaced
    after distill would put someone else's label vectors into a bundle's zero-shot head."""
    meta = manifest.get("label_embeddings")
    if not meta:
        return None
    f = Path(path) / str(meta.get("file", "label_embeddings.npy"))
    if not f.is_file() or sha256_file(f) != meta.get("sha256"):
        raise ArtifactError(f"{f} is missing or does not match its sha256 in the manifest; re-run distill.")
    emb = np.load(f, allow_pickle=False)
    if emb.ndim != 2 or emb.shape[0] != len(manifest["labels"]):
        raise ArtifactError(
            f"{f} holds {emb.shape} label embeddings for {len(manifest['labels'])} labels; re-run distill."
        )
    return np.asarray(emb, np.float32)


def student_label_embeddings(teacher_label_emb: np.ndarray, joint_map: JointMap) -> np.ndarray:
    """(L, D) = normalize(t) @ W: label texts in the student's embedding space (see the module doc)."""
    t = F.normalize(torch.from_numpy(np.asarray(teacher_label_emb, np.float32)), dim=1)
    with torch.no_grad():
        return (t @ joint_map.weight).numpy().astype(np.float32)


# --- a head from words (``mujo-edge export --labels``) -----------------------------------------------
def load_joint_map(student_dir: str | Path) -> JointMap:
    """The training-only map W of a STUDENT folder (``joint_map.safetensors``), checked against its sha256."""
    from safetensors.torch import load_file

    path = Path(student_dir)
    manifest = read_manifest(
        path, STUDENT_FORMAT, STUDENT_SCHEMA_VERSION, ArtifactError, "`mujo-edge distill`"
    )
    meta = manifest.get("joint_map") or {}
    wpath = path / str(meta.get("file", "joint_map.safetensors"))
    if not wpath.is_file() or sha256_file(wpath) != meta.get("sha256"):
        raise ArtifactError(
            f"{wpath} is missing or does not match its sha256 in the manifest; a bundle from words needs the "
            "student's joint map: re-run distill."
        )
    state = load_file(str(wpath))
    if "raw" not in state or state["raw"].ndim != 2:
        raise ArtifactError(f"{wpath} holds no joint map 'raw' (joint_dim, D) tensor; re-run distill.")
    joint_dim, embed_dim = (int(x) for x in state["raw"].shape)  # the teacher's joint dim, as trained
    jm = JointMap(embed_dim, joint_dim)
    jm.load_state_dict(state, strict=True)
    return jm.eval()


def text_label_vectors(
    student_dir: str | Path, pretrained_run: str | Path, label_texts: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """(L, D) float32 label vectors W^T t_l for any labels, in the order of ``label_texts``: each label's
    phrasings through the frozen sentence encoder and the pretraining run's text encoder + projection
    (:func:`teacher_label_embeddings`), then into the student's embedding space with its map W. The dot
    with a unit student embedding is the cosine to the label text in the joint space (module doc)."""
    from mujo_edge.training.assets import resolve_pretrained
    from mujo_edge.training.checkpoint import load_pretrained

    labels = list(label_texts)
    joint_map = load_joint_map(student_dir)  # (checked first: it is the quicker of the two to find wrong)
    run = resolve_pretrained(pretrained_run)
    t = teacher_label_embeddings(load_pretrained(run), labels, label_texts)
    require_joint_dim(
        pretrained_run,
        t.shape[1],
        int(joint_map.weight.shape[0]),
        f"the student in {student_dir} was distilled from",
    )
    return student_label_embeddings(t, joint_map)


def require_joint_dim(pretrained: str | Path, text_dim: int, joint_dim: int, whose: str) -> None:
    """ArtifactError when the pretraining run's text vectors (``text_dim``) cannot live in the joint space a
    teacher or student was made in (``joint_dim``; ``whose`` says which, ending in a verb): another run than
    the teacher's, found before any training or export rather than as a failed matrix product after it."""
    if text_dim != joint_dim:
        raise ArtifactError(
            f"--pretrained {pretrained} embeds text in a {text_dim}-d joint space, but {whose} a {joint_dim}-d one; "
            "give the pretraining run the teacher was fine-tuned from (the teacher's manifest.json names it under "
            "'pretrained')"
        )
