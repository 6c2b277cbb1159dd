"""Joint-space pretraining (paper section 4): pairwise symmetric InfoNCE over acc, pose, text (, gyr, video).

``pretrain(data, out, cfg)`` trains a :class:`~mujo_edge.training.models.JointModel` on a dataset folder
(``mujo-edge data synth``) with AdamW, linear warm-up then cosine decay, validation on held-out subjects
(loss, and accelerometer -> label-text retrieval top-1 / top-5), and checkpoints in ``out`` every epoch, every
``checkpoint_every`` steps and on Ctrl-C. ``resume=True`` continues from ``out/resume.safetensors`` and ends with the
same weights as an uninterrupted run (same seed): the epoch permutation comes from a ``DistributedSampler``
seeded by (seed, epoch), augmentation from a generator seeded by (seed, epoch, step, rank), and the global
torch RNG (dropout) is saved and restored with the optimizer and scheduler.

Under ``torchrun`` the same function trains with DistributedDataParallel: each rank sees its shard, the
contrastive loss uses the rank's local batch (``batch_size`` is the global batch, split over ranks), and only
rank 0 writes.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from mujo_edge._checks import count, ids, number, text
from mujo_edge.errors import ArtifactError, ConfigError, DataError, TrainingError
from mujo_edge.provenance import provenance, write_json
from mujo_edge.training.checkpoint import (
    RESUME_FILE,
    has_train_state,
    load_train_state,
    save_train_state,
    save_weights,
    write_joint_manifest,
)
from mujo_edge.training.data.format import Dataset, read_rows
from mujo_edge.training.distributed import DistInfo, all_reduce_mean, barrier, init_distributed, shutdown
from mujo_edge.training.loss import multimodal_info_nce
from mujo_edge.training.models import JointModel, ModelConfig

log = logging.getLogger(__name__)

#: Callback of the trainer's progress: ``(event, info)`` with events "start", "step", "epoch", "end".
ProgressFn = Callable[[str, dict[str, Any]], None]

#: Windows of each label kept in ``calibration_target.npz``.
CALIBRATION_WINDOWS_PER_LABEL = 200
#: At most this many validation windows are scored per epoch (a fixed, seeded subset).
MAX_VAL_WINDOWS = 4096


#: What ``PretrainConfig.select`` may name.
SELECT_METRICS: tuple[str, ...] = ("val_loss", "val_top1", "val_top5")


@dataclass
class PretrainConfig:
    """Everything that decides a pretraining run's result (stored in its manifest)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_frac: float = 0.05
    text_anchored: bool = False
    same_label_positives: bool = False
    augment_rotation_deg: float = 0.0
    augment_scale: float = 0.0
    augment_tempo: float = 0.0
    val_subjects: tuple[int, ...] = ()
    seed: int = 0
    checkpoint_every: int = 0
    max_windows: int = 0
    device: str = "cpu"
    #: which epoch's weights become ``model.safetensors``: the lowest validation loss, or the highest
    #: accelerometer -> label-text retrieval on the validation subjects (``val_top1`` / ``val_top5``)
    select: str = "val_loss"

    def __post_init__(self) -> None:
        # every field is checked here, before any data is read or any run folder made
        if not isinstance(self.model, ModelConfig):
            raise ConfigError(
                f"model must be a ModelConfig, got {type(self.model).__name__} {self.model!r:.60}: pass "
                "ModelConfig(...) (or leave it out for the default)"
            )
        if not isinstance(self.select, str) or self.select not in SELECT_METRICS:
            raise ConfigError(f"select {self.select!r} unknown; use one of {', '.join(SELECT_METRICS)}")
        count(self.epochs, "epochs", 1, "pass how many passes over the data to train")
        count(self.batch_size, "batch_size", 0, "pass e.g. 256")
        number(self.lr, "lr", hi=1e30, fix="pass a learning rate such as 1e-3")
        number(self.weight_decay, "weight_decay", hi=10.0, above_lo=False, fix="pass e.g. 1e-4 (0: none)")
        number(self.warmup_frac, "warmup_frac", hi=1.0, above_lo=False, fix="pass a fraction such as 0.05")
        number(
            self.augment_rotation_deg, "augment_rotation_deg", hi=180.0, above_lo=False, fix="pass degrees"
        )
        number(self.augment_scale, "augment_scale", hi=1.0, above_lo=False, fix="pass e.g. 0.1 for +-10 %")
        number(self.augment_tempo, "augment_tempo", hi=0.9, above_lo=False, fix="pass e.g. 0.2 (0: none)")
        for name in ("text_anchored", "same_label_positives"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}")
        fix = "pass subject ids, e.g. (8,), or () to hold out the last tenth of the subjects"
        self.val_subjects = ids(self.val_subjects, "val_subjects", fix)
        count(self.seed, "seed", 0, "pass a whole-number random seed")
        count(self.checkpoint_every, "checkpoint_every", 0, "pass steps between checkpoints (0: per epoch)")
        count(self.max_windows, "max_windows", 0, "pass the most training windows to use (0: all)")
        text(self.device, "device", "pass 'cpu', 'cuda' or 'cuda:0'")
        if self.batch_size < 2:  # (a batch of one has no negatives: its loss is 0 whatever the weights)
            raise ConfigError(
                f"batch size {self.batch_size}: contrastive pretraining contrasts each window with the others "
                "of its batch, so it needs at least 2 (the paper uses 256)"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        d["val_subjects"] = list(self.val_subjects)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PretrainConfig:
        d = dict(d)
        d["model"] = ModelConfig.from_dict(d["model"])
        d["val_subjects"] = tuple(d.get("val_subjects", ()))
        return cls(**d)


def selection_score(select: str, metrics: dict[str, float], train_loss: float) -> float:
    """The number an epoch is chosen by, lower is better: the validation loss, or minus a retrieval accuracy.
    Without validation subjects (no metrics) it is the training loss."""
    if select not in SELECT_METRICS:
        raise ConfigError(f"select {select!r} unknown; use one of {', '.join(SELECT_METRICS)}")
    if select == "val_loss" or select not in metrics:
        return float(metrics.get("val_loss", train_loss))
    return -float(metrics[select])


#: Scale presets: ``demo`` pretrains in about a minute on 2 cores (for the end-to-end demo).
PRESETS: dict[str, dict[str, Any]] = {
    "demo": {
        "epochs": 5,
        "batch_size": 64,
        "lr": 2e-3,
        "max_windows": 3000,
        "cnn": "mmfit",
        "joint_dim": 256,
    },
}


def _mix_seed(*parts: int) -> int:
    h = 1469598103934665603
    for p in parts:
        h = ((h ^ (p & 0xFFFFFFFF)) * 1099511628211) % (1 << 63)
    return h


class PretrainData:
    """The dataset's arrays (memory-mapped) and the train / validation split by subject.

    Batches are gathered by index with :func:`~mujo_edge.training.data.format.read_rows` (plain file reads of
    the batch's rows), so the trainer's memory is a few batches whatever the size of the corpus.
    """

    def __init__(self, ds: Dataset, cfg: PretrainConfig):
        self.ds = ds
        self.modalities = cfg.model.modalities
        for m in self.modalities:
            if m == "text":
                if ds.text is None or ds.text_id is None:
                    raise DataError(
                        f"{ds.root}: --modalities includes text but the dataset has no text.npy/text_id.npy; "
                        "create it with `mujo-edge data synth` or drop text."
                    )
            elif getattr(ds, m) is None:
                raise DataError(
                    f"{ds.root}: --modalities includes {m} but the dataset has no {m}.npy "
                    f"(it has {ds.modalities}); choose --modalities from those."
                )
        subjects = np.asarray(ds.subject)
        uniq = np.unique(subjects)
        if cfg.val_subjects:
            val_s = np.asarray(cfg.val_subjects)
            missing = sorted(set(val_s.tolist()) - set(uniq.tolist()))
            if missing:
                raise DataError(
                    f"{ds.root}: validation subjects {missing} are not in the dataset ({uniq.tolist()})"
                )
        else:
            n_val = max(1, round(0.1 * len(uniq))) if len(uniq) > 1 else 0
            val_s = uniq[len(uniq) - n_val :]
        is_val = np.isin(subjects, val_s)
        self.val_subjects = [int(s) for s in val_s]
        train_idx = np.flatnonzero(~is_val)
        val_idx = np.flatnonzero(is_val)
        if cfg.max_windows and len(train_idx) > cfg.max_windows:
            rng = np.random.default_rng(cfg.seed)
            train_idx = np.sort(rng.choice(train_idx, cfg.max_windows, replace=False))
        if len(val_idx) > MAX_VAL_WINDOWS:
            rng = np.random.default_rng(cfg.seed + 1)
            val_idx = np.sort(rng.choice(val_idx, MAX_VAL_WINDOWS, replace=False))
        if len(train_idx) < 2:
            raise DataError(f"{ds.root}: fewer than 2 training windows after the subject split")
        self.train_idx, self.val_idx = train_idx, val_idx
        self.cfg = cfg
        #: optional per-window presence masks: ``<modality>_mask.npy`` (N,) bool listed in the manifest
        self.masks = {m: ds.extra[f"{m}_mask"] for m in self.modalities if f"{m}_mask" in ds.extra}

    def batch(self, idx: np.ndarray, device: str, gen: torch.Generator | None = None) -> dict[str, Tensor]:
        """Tensors of the windows ``idx`` (read in sorted order from the files), augmented if ``gen`` is given.

        Raises:
            DataError: a window holds NaN or infinity (names the file and the window).
        """
        order = np.argsort(idx, kind="stable")
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        sidx = idx[order]
        out: dict[str, Tensor] = {}
        for m in self.modalities:
            if m == "text":
                assert self.ds.text is not None and self.ds.text_id is not None
                arr = np.asarray(self.ds.text[np.asarray(self.ds.text_id[sidx])])
            else:
                arr = read_rows(getattr(self.ds, m), sidx)
            if not np.isfinite(arr).all():
                row = int(np.argwhere(~np.isfinite(arr.reshape(len(arr), -1)))[0][0])
                win = int(sidx[row])
                if m == "text":
                    assert self.ds.text_id is not None
                    what = f"text.npy row {int(self.ds.text_id[win])} (text of window {win})"
                else:
                    what = f"{m}.npy (window {win})"
                raise DataError(
                    f"{self.ds.root}: {what} holds NaN or infinite values; training "
                    "would produce NaN weights. Re-create the dataset from clean input or drop that window."
                )
            out[m] = torch.from_numpy(np.ascontiguousarray(arr[inv], dtype=np.float32))
        if gen is not None:
            out = augment(out, self.cfg, gen)
        out["label"] = torch.from_numpy(np.asarray(self.ds.label[sidx])[inv].astype(np.int64))
        for m, mask in self.masks.items():
            out[f"{m}_mask"] = torch.from_numpy(np.asarray(mask[sidx], dtype=bool)[inv])
        return {k: v.to(device) for k, v in out.items()}


def random_rotations(n: int, max_deg: float, gen: torch.Generator) -> Tensor:
    """(n, 3, 3) rotation matrices about uniformly random axes by angles uniform in [-max_deg, max_deg]."""
    axis = torch.randn(n, 3, generator=gen)
    axis = axis / axis.norm(dim=1, keepdim=True).clamp_min(1e-8)
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(max_deg)
    k = torch.zeros(n, 3, 3)
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(1, 2)
    s, c = angle.sin()[:, None, None], angle.cos()[:, None, None]
    return torch.eye(3).expand(n, 3, 3) + s * k + (1 - c) * (k @ k)


def time_warp(x: Tensor, speed: Tensor, offset: Tensor) -> Tensor:
    """Replay windows (B, T, ...) at ``speed`` (B,) <= 1 from ``offset`` (B,) samples, linearly interpolated."""
    b, t = x.shape[:2]
    pos = offset[:, None] + speed[:, None] * torch.arange(t, dtype=x.dtype)[None, :]
    i0 = pos.floor().long().clamp(0, t - 2)
    w = (pos - i0).clamp(0, 1)
    flat = x.reshape(b, t, -1)
    idx = i0[:, :, None].expand(-1, -1, flat.shape[2])
    out = flat.gather(1, idx) * (1 - w[:, :, None]) + flat.gather(1, idx + 1) * w[:, :, None]
    return out.reshape(x.shape)


def augment(batch: dict[str, Tensor], cfg: PretrainConfig, gen: torch.Generator) -> dict[str, Tensor]:
    """Random rotation (watch placement) and gain (sensor scale) of acc and gyr windows, and a random slower
    tempo of every window modality; text is unchanged.

    Tempo (``augment_tempo`` = a): each window is replayed at a speed drawn from [1 - a, 1] from a random start
    inside it, acc / pose / gyr alike (gyr scaled by the speed). The specific force of a slowed motion is
    approximated by the resampled one: for slow exercises it is dominated by the orientation to gravity, which
    a slower replay does not change (the small dynamic part would scale with speed^2).
    """
    out = dict(batch)
    for m in ("acc", "gyr"):
        if m not in out:
            continue
        x = out[m]
        if cfg.augment_rotation_deg > 0:
            r = random_rotations(x.shape[0], cfg.augment_rotation_deg, gen)
            x = x @ r.transpose(1, 2)
        if cfg.augment_scale > 0:
            x = x * (1 + (torch.rand(x.shape[0], 1, 1, generator=gen) * 2 - 1) * cfg.augment_scale)
        out[m] = x
    if cfg.augment_tempo > 0:
        mods = [m for m in ("acc", "pose", "gyr") if m in out]
        if mods:
            b, t = out[mods[0]].shape[:2]
            speed = 1 - torch.rand(b, generator=gen) * cfg.augment_tempo
            offset = torch.rand(b, generator=gen) * (t - 1) * (1 - speed)
            for m in mods:
                out[m] = time_warp(out[m], speed, offset) * (speed[:, None, None] if m == "gyr" else 1)
    return out


def pop_masks(batch: dict[str, Tensor]) -> dict[str, Tensor] | None:
    """Remove the ``<modality>_mask`` entries of a batch and return them keyed by modality (None if none)."""
    masks = {k[: -len("_mask")]: batch.pop(k) for k in [k for k in batch if k.endswith("_mask")]}
    return masks or None


def _lr_lambda(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    return f


def label_text_embeddings(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """For each label the sentence embeddings of the texts its windows are paired with.

    Returns (text (T, D) embeddings, owner (T,) label index). Labels without paired windows are absent.
    """
    if ds.text is None or ds.text_id is None:
        raise DataError(f"{ds.root} has no text.npy/text_id.npy to build label texts from")
    tid = np.asarray(ds.text_id)
    lab = np.asarray(ds.label)
    pairs = np.unique(np.stack([tid, lab], axis=1), axis=0)
    return np.asarray(ds.text)[pairs[:, 0]], pairs[:, 1]


@torch.no_grad()
def class_text_matrix(
    model: JointModel, text: np.ndarray, owner: np.ndarray, n_labels: int, device: str
) -> Tensor:
    """(n_labels, joint_dim) normalized mean of each label's projected texts (zero rows for absent labels)."""
    z = torch.nn.functional.normalize(model.embed("text", torch.from_numpy(text).float().to(device)), dim=1)
    out = torch.zeros(n_labels, z.shape[1], device=device)
    for c in range(n_labels):
        sel = torch.from_numpy(owner == c).to(device)
        if bool(sel.any()):
            out[c] = torch.nn.functional.normalize(z[sel].mean(0), dim=0)
    return out


@torch.no_grad()
def validate(model: JointModel, data: PretrainData, cfg: PretrainConfig, device: str) -> dict[str, float]:
    """Validation loss and acc -> label-text retrieval top-1 / top-5 over the held-out subjects."""
    if len(data.val_idx) < 2:
        return {}
    model.eval()
    bs = max(2, cfg.batch_size)
    loss_sum, n_scored, zs, labels = 0.0, 0, [], []
    for i in range(0, len(data.val_idx), bs):
        idx = data.val_idx[i : i + bs]
        if len(idx) < 2:
            continue
        batch = data.batch(idx, device)
        lab = batch.pop("label")
        masks = pop_masks(batch)
        out = model(batch)
        scale = out.pop("logit_scale")
        loss, _ = multimodal_info_nce(
            out,
            scale,
            masks=masks,
            labels=lab if cfg.same_label_positives else None,
            text_anchored=cfg.text_anchored,
        )
        loss_sum += float(loss) * len(idx)
        n_scored += len(idx)
        if "acc" in out:
            keep = masks["acc"] if masks and "acc" in masks else torch.ones(len(lab), dtype=torch.bool)
            zs.append(torch.nn.functional.normalize(out["acc"][keep], dim=1))
            labels.append(lab[keep])
    metrics = {"val_loss": loss_sum / max(1, n_scored)}
    if zs and "text" in cfg.model.modalities:
        text, owner = label_text_embeddings(data.ds)
        ct = class_text_matrix(model, text, owner, len(data.ds.labels), device)
        sim = torch.cat(zs) @ ct.T
        present = torch.from_numpy(np.isin(np.arange(len(data.ds.labels)), owner)).to(device)
        sim[:, ~present] = -math.inf
        y = torch.cat(labels)
        rank = sim.argsort(dim=1, descending=True)
        metrics["val_top1"] = float((rank[:, 0] == y).float().mean())
        metrics["val_top5"] = float((rank[:, :5] == y[:, None]).any(1).float().mean())
    model.train()
    return metrics


def save_calibration_target(ds: Dataset, idx: np.ndarray, out: Path, seed: int) -> None:
    """Keep up to CALIBRATION_WINDOWS_PER_LABEL acc windows per label of the training split."""
    rng = np.random.default_rng(seed)
    lab = np.asarray(ds.label)[idx]
    keep = []
    for c in np.unique(lab):
        sel = idx[lab == c]
        keep.append(np.sort(rng.choice(sel, min(len(sel), CALIBRATION_WINDOWS_PER_LABEL), replace=False)))
    k = np.sort(np.concatenate(keep))
    tmp = out / "calibration_target.tmp.npz"
    np.savez_compressed(
        tmp,
        acc=np.asarray(ds.acc[k], dtype=np.float32),
        label=np.asarray(ds.label[k], dtype=np.int64),
        labels=np.asarray(ds.labels),
    )
    os.replace(tmp, out / "calibration_target.npz")  # a kill mid-write leaves no truncated target behind


def _check_finite_weights(model: torch.nn.Module, global_step: int) -> None:
    """Refuse to write weights with NaN or infinity in them (an update that diverged)."""
    for name, v in model.state_dict().items():
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise TrainingError(
                f"weight {name} is not finite after global step {global_step}; nothing was written. "
                "The training diverged: lower --lr or check the data."
            )


def pretrain(
    data: str | Path,
    out: str | Path,
    cfg: PretrainConfig,
    *,
    resume: bool = False,
    stop_after_steps: int | None = None,
    progress: ProgressFn | None = None,
    verify_data: bool = True,
) -> dict[str, Any]:
    """Train a joint model on ``data`` into the run folder ``out``; return the final manifest.

    Args:
        resume: continue from ``out/resume.safetensors`` (refused if the config or data changed); only then
            is the resume file read at all.
        stop_after_steps: stop (and checkpoint) once this many optimizer steps are done in total, as if
            the run had been interrupted there (used to test resume).
        progress: optional callback for progress display.
        verify_data: check the dataset's content hash first (reads it once); False skips that.
    Raises:
        ArtifactError: ``out`` holds another run and ``resume`` is not set, or resume state mismatches.
        DataError: the dataset lacks a requested modality or subjects.
    """
    info = init_distributed(cfg.device)
    try:
        return _pretrain(Path(data), Path(out), cfg, info, resume, stop_after_steps, progress, verify_data)
    finally:
        shutdown(info)


def _pretrain(
    data_dir: Path,
    out: Path,
    cfg: PretrainConfig,
    info: DistInfo,
    resume: bool,
    stop_after_steps: int | None,
    progress: ProgressFn | None,
    verify_data: bool,
) -> dict[str, Any]:
    emit = progress if (progress and info.is_main) else (lambda _e, _i: None)
    ds = Dataset.open(data_dir, verify=verify_data)
    if "video" in cfg.model.modalities and ds.video is not None and cfg.model.video_dim != ds.video.shape[1]:
        cfg = replace(cfg, model=replace(cfg.model, video_dim=int(ds.video.shape[1])))
    data = PretrainData(ds, cfg)
    text_dim = int(ds.text.shape[1]) if ds.text is not None else 384
    data_hash = ds.manifest.get("content_hash")

    if not resume and has_train_state(out):  # refuse before reading anything of the run
        raise ArtifactError(
            f"{out} already holds a pretraining run ({RESUME_FILE}); pass --resume to continue it or choose "
            "another --out."
        )
    if resume and not Path(out).exists():  # (a folder without a checkpoint yet: a run killed early, resumed)
        raise ArtifactError(
            f"--resume: there is no {out} to continue; check the path, or drop --resume to start a new run"
        )
    loaded = load_train_state(out) if resume else None
    state = loaded[1] if loaded is not None else None
    not_exact = loaded[2] if loaded is not None else None
    if state is not None:
        was, now = PretrainConfig.from_dict(state["config"]).to_dict(), cfg.to_dict()
        if was != now:
            changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
            raise ArtifactError(
                f"{out}: --resume with a different configuration than the run was started with ({', '.join(changed)} "
                "differ); use the same flags or another --out."
            )
        if state["data_hash"] != data_hash:
            raise ArtifactError(
                f"{out}: --resume on different data (content hash changed); use the same --data."
            )
        rng_ranks = len(state["rng"]) if isinstance(state["rng"], list) else 1
        if rng_ranks != info.world_size:
            raise ArtifactError(
                f"{out}: the run was checkpointed with {rng_ranks} rank(s) and is resumed with "
                f"{info.world_size}; the batch order would differ. Resume with the same number of ranks."
            )
        if not_exact:
            log.warning(
                "resuming %s, but the result may differ from an uninterrupted run: %s", out, not_exact
            )
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(cfg.seed)
    model = JointModel(cfg.model, text_dim=text_dim).to(info.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    local_bs = max(2, cfg.batch_size // info.world_size)
    sampler: DistributedSampler[int] = DistributedSampler(
        range(len(data.train_idx)),  # type: ignore[arg-type]
        num_replicas=info.world_size,
        rank=info.rank,
        shuffle=True,
        seed=cfg.seed,
        drop_last=True,
    )
    steps_per_epoch = max(1, len(sampler) // local_bs)
    total_steps = steps_per_epoch * cfg.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, _lr_lambda(total_steps, max(1, int(cfg.warmup_frac * total_steps)))
    )
    epoch, step_in_epoch, global_step = 0, 0, 0
    loss_sum, n_steps, seen = 0.0, 0, 0
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"val_loss": math.inf, "epoch": -1}
    #: resumes that could not be bit-exact, with the reason (recorded in the manifest)
    resume_not_exact: list[dict[str, Any]] = []
    if loaded is not None and state is not None:
        try:
            model.load_state_dict(loaded[0])
        except RuntimeError as e:
            raise ArtifactError(f"{out / RESUME_FILE} does not match the configured model: {e}") from e
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"][info.rank] if isinstance(state["rng"], list) else state["rng"])
        epoch, step_in_epoch, global_step = state["epoch"], state["step_in_epoch"], state["global_step"]
        history, best = state["history"], state["best"]
        loss_sum, n_steps, seen = state["epoch_progress"]
        resume_not_exact = list(state.get("resume_not_exact", []))
        if not_exact:
            resume_not_exact.append({"global_step": global_step, "why": not_exact})
        log.info("resuming %s at epoch %d step %d", out, epoch, step_in_epoch)
    else:
        torch.manual_seed(_mix_seed(cfg.seed, 7, info.rank))
    net: torch.nn.Module = (
        DistributedDataParallel(
            model, device_ids=None if info.device == "cpu" else [torch.device(info.device)]
        )
        if info.enabled
        else model
    )
    if info.is_main and not (out / "calibration_target.npz").exists():
        save_calibration_target(ds, data.train_idx, out, cfg.seed)

    def rng_states() -> Any:
        rng = torch.get_rng_state()
        if not info.enabled:
            return rng
        gathered: list[Any] = [None] * info.world_size
        torch.distributed.all_gather_object(gathered, rng)
        return gathered

    def checkpoint(ep: int, step: int, complete: bool) -> None:
        rng = rng_states()
        if not info.is_main:
            return
        _check_finite_weights(model, global_step)
        save_train_state(
            out,
            model,
            {
                "config": cfg.to_dict(),
                "data_hash": data_hash,
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "rng": rng,
                "epoch": ep,
                "step_in_epoch": step,
                "global_step": global_step,
                "history": history,
                "best": best,
                "complete": complete,
                "epoch_progress": [loss_sum, n_steps, seen],
                "resume_not_exact": resume_not_exact,
            },
        )

    def manifest_fields(complete: bool) -> dict[str, Any]:
        return {
            "config": cfg.to_dict(),
            "data": {
                "path": str(data_dir),
                "content_hash": data_hash,
                "labels": ds.labels,
                "n_train_windows": len(data.train_idx),
                "n_val_windows": len(data.val_idx),
                "val_subjects": data.val_subjects,
                "rate_hz": ds.rate_hz,
                "window": int(ds.acc.shape[1]),
            },
            "best": best,
            "history": history,
            "epochs_done": len(history),
            "complete": complete,
            "world_size": info.world_size,
            "resume_not_exact": resume_not_exact,
            "provenance": provenance(seed=cfg.seed),
        }

    emit("start", {"total_steps": total_steps, "steps_per_epoch": steps_per_epoch, "done": global_step})
    model.train()
    interrupted = False
    pos = step_in_epoch
    # where a Ctrl-C / SIGTERM lands inside a step: "clean" (between steps), "forward" (only the RNG moved:
    # restored from rng_at_step), "update" (the optimizer is changing the weights: the last checkpoint stands)
    phase, rng_at_step = "clean", torch.get_rng_state()
    try:
        while epoch < cfg.epochs:
            sampler.set_epoch(epoch)
            order = np.asarray(list(sampler), dtype=np.int64)
            t0 = time.perf_counter()
            if step_in_epoch == 0:
                loss_sum, n_steps, seen = 0.0, 0, 0
            for step in range(step_in_epoch, steps_per_epoch):
                idx = data.train_idx[order[step * local_bs : (step + 1) * local_bs]]
                phase, rng_at_step = "forward", torch.get_rng_state()
                gen = torch.Generator().manual_seed(_mix_seed(cfg.seed, epoch, step, info.rank))
                batch = data.batch(idx, info.device, gen)
                labels = batch.pop("label")
                masks = pop_masks(batch)
                z = net(batch)
                scale = z.pop("logit_scale")
                loss, _ = multimodal_info_nce(
                    z,
                    scale,
                    masks=masks,
                    labels=labels if cfg.same_label_positives else None,
                    text_anchored=cfg.text_anchored,
                )
                if not bool(torch.isfinite(loss.detach())):
                    raise TrainingError(
                        f"the loss became {float(loss.detach())} at epoch {epoch}, step {step} (global step "
                        f"{global_step + 1}); training stopped before the update, nothing from this step was "
                        f"written (the last checkpoint in {out} is intact). Lower --lr or check the data."
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]  # (torch leaves Tensor.backward unannotated)
                phase = "update"
                opt.step()
                sched.step()
                global_step, pos = global_step + 1, step + 1
                phase = "clean"
                seen += len(idx) * info.world_size
                loss_sum += float(loss.detach())
                n_steps += 1
                emit(
                    "step",
                    {
                        "global_step": global_step,
                        "loss": float(loss.detach()),
                        "windows_per_s": seen / max(1e-9, time.perf_counter() - t0),
                        "epoch": epoch,
                    },
                )
                if cfg.checkpoint_every and global_step % cfg.checkpoint_every == 0:
                    checkpoint(epoch, step + 1, False)
                if stop_after_steps is not None and global_step >= stop_after_steps:
                    checkpoint(epoch, step + 1, False)
                    interrupted = True
                    break
            if interrupted:
                break
            train_loss = all_reduce_mean(loss_sum / max(1, n_steps), info)
            metrics = validate(model, data, cfg, info.device) if info.is_main else {}
            entry = {
                "epoch": epoch,
                "train_loss": train_loss,
                "lr": sched.get_last_lr()[0],
                "temperature": float(1.0 / model.logit_scale()),
                "windows_per_s": seen / max(1e-9, time.perf_counter() - t0),
                **metrics,
            }
            history.append(entry)
            epoch, step_in_epoch, pos = epoch + 1, 0, 0
            if info.is_main:
                score = selection_score(cfg.select, metrics, train_loss)
                if score < best.get("score", best["val_loss"]):
                    best = {
                        "val_loss": metrics.get("val_loss", train_loss),
                        "epoch": entry["epoch"],
                        **metrics,
                    }
                    best["score"] = score
                    _check_finite_weights(model, global_step)
                    sha = save_weights(model, out / "model.safetensors")
                    write_joint_manifest(out, model, sha, **manifest_fields(False))
            checkpoint(epoch, 0, epoch >= cfg.epochs)
            emit("epoch", entry)
    except KeyboardInterrupt:
        if phase == "forward":
            torch.set_rng_state(rng_at_step)
        if phase != "update":
            checkpoint(epoch, pos, False)
        else:
            log.warning("interrupted inside an optimizer update; the last checkpoint in %s stands", out)
        raise
    digests = rank_weight_digests(model, info)
    barrier(info)
    result: dict[str, Any] = {}
    if info.is_main:
        complete = epoch >= cfg.epochs
        mpath = out / "manifest.json"
        if mpath.exists():
            manifest = json.loads(mpath.read_text())
            manifest.update({k: v for k, v in manifest_fields(complete).items() if k != "best"})
            manifest["best"] = best
            manifest["rank_weight_sha256"] = digests
            write_json(mpath, manifest)
            result = manifest
        else:
            result = manifest_fields(complete)
        result["interrupted"] = interrupted
        emit("end", result)
    return result


def rank_weight_digests(model: torch.nn.Module, info: DistInfo) -> list[str]:
    """sha256 of every rank's final weights (one entry per rank): DDP must leave them all identical."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    digest = h.hexdigest()
    if not info.enabled:
        return [digest]
    gathered: list[Any] = [None] * info.world_size
    torch.distributed.all_gather_object(gathered, digest)
    if len(set(gathered)) > 1:
        log.error("ranks ended with different weights: %s", gathered)
    return [str(g) for g in gathered]


#: The random-search space of the paper (lr, dropout, projection depth / width, activation).
SEARCH_SPACE: dict[str, Any] = {
    "lr": (3e-4, 3e-3),
    "dropout": (0.0, 0.1, 0.2, 0.3),
    "proj_layers": (1, 2, 3),
    "proj_hidden": (256, 512, 1024),
    "activation": ("relu", "gelu", "silu"),
}


def sample_trial(base: PretrainConfig, rng: np.random.Generator) -> PretrainConfig:
    """One random configuration around ``base`` (log-uniform lr, the rest uniform over SEARCH_SPACE)."""
    lo, hi = SEARCH_SPACE["lr"]
    model = replace(
        base.model,
        dropout=float(rng.choice(SEARCH_SPACE["dropout"])),
        proj_layers=int(rng.choice(SEARCH_SPACE["proj_layers"])),
        proj_hidden=int(rng.choice(SEARCH_SPACE["proj_hidden"])),
        activation=str(rng.choice(SEARCH_SPACE["activation"])),
    )
    return replace(base, model=model, lr=float(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def random_search(
    data: str | Path,
    out: str | Path,
    base: PretrainConfig,
    n_trials: int,
    *,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Random hyperparameter search: ``n_trials`` runs under ``out/trials/``, the best by validation loss
    copied to ``out`` itself; every trial (config, best validation metrics) in ``out/search.json``.

    Resumable: trials already finished in ``search.json`` are skipped, an interrupted one is resumed.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spath = out / "search.json"
    record: dict[str, Any] = json.loads(spath.read_text()) if spath.exists() else {"trials": []}
    if record.get("base") not in (None, base.to_dict()):
        raise ArtifactError(f"{spath} belongs to a search with other base flags; use another --out.")
    record["base"] = base.to_dict()
    record["n_trials"] = n_trials
    rng = np.random.default_rng(base.seed)
    trials = [sample_trial(base, rng) for _ in range(n_trials)]
    done = {t["trial"] for t in record["trials"]}
    for i, trial_cfg in enumerate(trials):
        if i in done:
            continue
        tdir = out / "trials" / f"trial_{i:03d}"
        res = pretrain(data, tdir, trial_cfg, resume=has_train_state(tdir), progress=progress)
        record["trials"].append(
            {
                "trial": i,
                "dir": str(tdir.relative_to(out)),
                "lr": trial_cfg.lr,
                "dropout": trial_cfg.model.dropout,
                "proj_layers": trial_cfg.model.proj_layers,
                "proj_hidden": trial_cfg.model.proj_hidden,
                "activation": trial_cfg.model.activation,
                "best": res.get("best", {}),
            }
        )
        write_json(spath, record)
    best = min(record["trials"], key=lambda t: t["best"].get("val_loss", math.inf))
    record["best_trial"] = best["trial"]
    write_json(spath, record)
    src = out / best["dir"]
    for name in ("model.safetensors", "calibration_target.npz", "manifest.json"):
        shutil.copy2(src / name, out / name)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["search"] = {"n_trials": n_trials, "best_trial": best["trial"], "file": "search.json"}
    write_json(out / "manifest.json", manifest)
    return copy.deepcopy(record)
