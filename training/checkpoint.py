"""Checkpoints that describe themselves: safetensors weights + a JSON manifest (+ a resume state file).

A pretraining run folder ``RUN/`` holds

- ``model.safetensors`` + ``manifest.json``: the joint model (best validation loss so far), its
  :class:`~mujo_edge.training.models.ModelConfig`, the training config, data content hash, metrics per epoch,
  provenance. :func:`load_pretrained` reads these.
- ``last.safetensors`` + ``state.pt``: the latest weights plus optimizer / scheduler / RNG state and the
  position in the epoch, so ``mujo-edge pretrain --resume`` continues bit-identically.
- ``calibration_target.npz``: accelerometer windows of the pretraining corpus per label, the target
  distribution of PIT calibration (so a run can be evaluated without its corpus at hand).

A fine-tuned classifier folder (``mujo-edge finetune``; the teacher of distillation) holds ``model.safetensors``
+ ``manifest.json`` (format ``mujo-edge-classifier``): configs, labels, rate, window, the PIT table if
calibrated, splits, test metrics, provenance. :func:`load_classifier` reads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from mujo_edge.errors import ArtifactError
from mujo_edge.provenance import read_manifest, sha256_file, write_json
from mujo_edge.training.models import Classifier, HeadConfig, JointModel, ModelConfig

JOINT_FORMAT = "mujo-edge-joint-model"
CLASSIFIER_FORMAT = "mujo-edge-classifier"
SCHEMA_VERSION = 1


def save_weights(module: nn.Module, path: Path) -> str:
    """Write a module's state dict as safetensors atomically; return the file's sha256."""
    tmp = path.with_suffix(".tmp")
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(tmp))
    os.replace(tmp, path)
    return sha256_file(path)


def _read_manifest(folder: Path, fmt: str) -> dict[str, Any]:
    made_by = "`mujo-edge pretrain`" if fmt == JOINT_FORMAT else "`mujo-edge finetune`"
    return read_manifest(folder, fmt, SCHEMA_VERSION, ArtifactError, made_by)


def _load_into(module: nn.Module, path: Path, expected_sha: str | None) -> None:
    if not path.is_file():
        raise ArtifactError(f"{path} is missing; the artifact is incomplete, re-create it.")
    if expected_sha and sha256_file(path) != expected_sha:
        raise ArtifactError(
            f"{path}: sha256 does not match the manifest; the weights were modified or truncated. Re-create it."
        )
    try:
        state = load_file(str(path))
    except Exception as e:  # safetensors raises its own error types
        raise ArtifactError(f"{path} is not a readable safetensors file ({e}); re-create it.") from e
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ArtifactError(f"{path} does not match the architecture in its manifest: {e}") from e


def write_joint_manifest(run: Path, model: JointModel, weights_sha: str, **fields: Any) -> None:
    manifest = {
        "format": JOINT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "what": "MuJo joint embedding space: per-modality encoders and projections",
        "model": model.cfg.to_dict(),
        "text_dim": model.text_dim,
        "inputs": {
            "acc": "(B, window, 3) float32, g",
            "pose": "(B, window, 17, 3) float32, m",
            "gyr": "(B, window, 3) float32, rad/s",
            "text": f"(B, {model.text_dim}) float32 sentence embeddings",
            "video": "(B, F) float32 video features",
        },
        "weights": {"file": "model.safetensors", "sha256": weights_sha},
        **fields,
    }
    write_json(run / "manifest.json", manifest)


def read_joint_manifest(run: str | Path) -> dict[str, Any]:
    return _read_manifest(Path(run), JOINT_FORMAT)


def load_pretrained(run: str | Path, weights: str = "model.safetensors") -> JointModel:
    """The pretrained :class:`JointModel` of a ``mujo-edge pretrain`` run folder (eval mode, CPU)."""
    run = Path(run)
    manifest = _read_manifest(run, JOINT_FORMAT)
    model = JointModel(ModelConfig.from_dict(manifest["model"]), text_dim=int(manifest["text_dim"]))
    sha = manifest["weights"]["sha256"] if weights == "model.safetensors" else None
    _load_into(model, run / weights, sha)
    return model.eval()


def save_classifier(out: str | Path, model: Classifier, **fields: Any) -> Path:
    """Write a classifier folder: ``model.safetensors`` + ``manifest.json`` with ``fields`` merged in."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sha = save_weights(model, out / "model.safetensors")
    manifest = {
        "format": CLASSIFIER_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "what": "activity classifier: pretrained encoder(s) + projection(s) + 2-layer head",
        "model": model.joint_cfg.to_dict(),
        "text_dim": model.text_dim,
        "head": model.head_cfg.to_dict(),
        "labels": model.labels,
        "forward": f"acc_g (B, {model.joint_cfg.window}, 3) float32 g -> logits (B, {len(model.labels)})",
        "embed": f"acc_g -> (B, {model.joint_cfg.joint_dim * len(model.inputs)}) joint-space projection",
        "weights": {"file": "model.safetensors", "sha256": sha},
        **fields,
    }
    write_json(out / "manifest.json", manifest)
    return out


def load_classifier(path: str | Path) -> Classifier:
    """A fine-tuned classifier (teacher) in eval mode: ``forward(acc_g (B,100,3)) -> logits (B, C)``.

    ``.labels`` holds the class names, ``.embed(acc_g)`` the joint-space projection (B, JOINT_DIM),
    ``.manifest`` the whole manifest (rate, window, calibration table, metrics).
    """
    path = Path(path)
    manifest = _read_manifest(path, CLASSIFIER_FORMAT)
    joint = JointModel(ModelConfig.from_dict(manifest["model"]), text_dim=int(manifest["text_dim"]))
    h = manifest["head"]
    head = HeadConfig(
        inputs=tuple(h["inputs"]),
        n_classes=int(h["n_classes"]),
        hidden=int(h["hidden"]),
        dropout=float(h["dropout"]),
        labels=list(h["labels"]),
    )
    model = Classifier(joint, head)
    _load_into(model, path / "model.safetensors", manifest["weights"]["sha256"])
    model.manifest = manifest  # type: ignore[assignment]
    return model.eval()


def save_train_state(run: Path, state: dict[str, Any]) -> None:
    """Optimizer / scheduler / RNG state and position, for bit-identical resume (torch.save, atomic)."""
    tmp = run / "state.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, run / "state.pt")


def load_train_state(run: Path) -> dict[str, Any] | None:
    f = run / "state.pt"
    if not f.is_file():
        return None
    try:
        return torch.load(f, map_location="cpu", weights_only=False)
    except Exception as e:
        raise ArtifactError(f"{f} cannot be read ({e}); delete it to restart the run from scratch.") from e
