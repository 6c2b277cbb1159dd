"""Checkpoints that describe themselves: safetensors weights + a JSON manifest (+ a resume state file).

A pretraining run folder ``RUN/`` holds

- ``model.safetensors`` + ``manifest.json``: the joint model (best validation loss so far), its
  :class:`~mujo_edge.training.models.ModelConfig`, the training config, data content hash, metrics per epoch,
  provenance. :func:`load_pretrained` reads these.
- ``resume.safetensors``: ONE file holding the latest weights, the optimizer / scheduler / RNG state and the
  position in the epoch, so ``mujo-edge pretrain --resume`` continues bit-identically. It is written to a
  temporary file, flushed and renamed: the rename is the checkpoint's single commit point, so a kill at any
  moment leaves either the previous checkpoint or the new one, never new weights beside old optimizer state.
  Tensors are safetensors, everything else JSON in the file's metadata: nothing is unpickled on resume.
- ``calibration_target.npz``: accelerometer windows of the pretraining corpus per label, the target
  distribution of PIT calibration (so a run can be evaluated without its corpus at hand).

A fine-tuned classifier folder (``mujo-edge finetune``; the teacher of distillation) holds ``model.safetensors``
+ ``manifest.json`` (format ``mujo-edge-classifier``): configs, labels, rate, window, the PIT table if
calibrated, splits, test metrics, provenance. :func:`load_classifier` reads it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from mujo_edge._checks import path as path_of
from mujo_edge.errors import ArtifactError, ConfigError
from mujo_edge.provenance import check_format, read_manifest, sha256_file, write_json
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
    return _read_manifest(path_of(run, "run (a folder written by `mujo-edge pretrain`)"), JOINT_FORMAT)


def load_pretrained(run: str | Path, weights: str = "model.safetensors") -> JointModel:
    """The pretrained :class:`JointModel` of a ``mujo-edge pretrain`` run folder (eval mode, CPU)."""
    run = path_of(run, "load_pretrained: run (a folder written by `mujo-edge pretrain`)")
    manifest = _read_manifest(run, JOINT_FORMAT)
    with _manifest_fields(run):
        model = JointModel(ModelConfig.from_dict(manifest["model"]), text_dim=int(manifest["text_dim"]))
        sha = manifest["weights"]["sha256"] if weights == "model.safetensors" else None
    _load_into(model, run / weights, sha)
    return model.eval()


@contextlib.contextmanager
def _manifest_fields(folder: Path) -> Iterator[None]:
    """ArtifactError naming the folder for a manifest field that is missing or of the wrong kind (a manifest
    edited by hand crashed with a bare KeyError)."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as e:
        raise ArtifactError(
            f"{folder}/manifest.json lacks or mangles a field ({type(e).__name__}: {e}); re-create the artifact"
        ) from e


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
    path = path_of(path, "load_classifier: path (a folder written by `mujo-edge finetune`)")
    manifest = _read_manifest(path, CLASSIFIER_FORMAT)
    with _manifest_fields(path):
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
        sha = manifest["weights"]["sha256"]
    _load_into(model, path / "model.safetensors", sha)
    model.manifest = manifest  # type: ignore[assignment]
    return model.eval()


#: The resume checkpoint of a pretraining run: weights + optimizer + scheduler + RNG + position, one file.
RESUME_FILE = "resume.safetensors"
RESUME_FORMAT = "mujo-edge-resume-state"
#: Resume files of mujo-edge before the single-file checkpoint (a weights file and a pickle beside it).
LEGACY_RESUME_FILES = ("last.safetensors", "state.pt")


def _flatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """``obj`` as JSON-able data with every tensor moved into ``tensors`` (referenced by key)."""
    if isinstance(obj, torch.Tensor):
        key = f"state.{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: _flatten(v, tensors) for k, v in obj.items()}
        return {"__items__": [[k, _flatten(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_flatten(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_flatten(v, tensors) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"resume state holds a {type(obj).__name__}, which has no safe (non-pickle) encoding")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return tensors[obj["__tensor__"]]
        if set(obj) == {"__items__"}:
            return {k: _unflatten(v, tensors) for k, v in obj["__items__"]}
        if set(obj) == {"__tuple__"}:
            return tuple(_unflatten(v, tensors) for v in obj["__tuple__"])
        return {k: _unflatten(v, tensors) for k, v in obj.items()}
    return obj


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without directory file descriptors
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_train_state(run: Path, model: nn.Module, state: dict[str, Any]) -> None:
    """Write weights + resume ``state`` as ONE file, :data:`RESUME_FILE`, with one commit point (the rename).

    ``state`` may hold tensors, dicts, lists, tuples, numbers, strings and None (an optimizer state dict,
    RNG states, the position in the epoch); tensors go into safetensors, the rest into JSON metadata.
    """
    tensors: dict[str, torch.Tensor] = {
        f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()
    }
    meta = {
        "format": RESUME_FORMAT,
        "schema_version": str(SCHEMA_VERSION),
        "torch_version": torch.__version__,
        "state": json.dumps(_flatten(state, tensors)),
    }
    tmp = run / (RESUME_FILE + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, run / RESUME_FILE)  # the commit point
    _fsync_dir(run)
    for name in LEGACY_RESUME_FILES:  # an older checkpoint pair is superseded now
        (run / name).unlink(missing_ok=True)


def has_train_state(run: Path) -> bool:
    """Whether ``run`` holds resume state (the current file or the legacy pair); reads nothing."""
    return (run / RESUME_FILE).is_file() or (run / LEGACY_RESUME_FILES[1]).is_file()


def load_train_state(run: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], str | None] | None:
    """The model weights, resume state and, if the resume cannot be bit-exact, why (else None).

    Only called for ``--resume``. Reads :data:`RESUME_FILE` with safetensors + JSON (no pickle). A run of an
    older mujo-edge (``last.safetensors`` + ``state.pt``) is read with ``torch.load(weights_only=True)``,
    which refuses any pickle that would construct objects or call functions; the pair was written in two
    steps, so that resume is reported as possibly not exact.
    """
    f = run / RESUME_FILE
    if f.is_file():
        try:
            with safe_open(str(f), framework="pt") as sf:
                meta = sf.metadata() or {}
                tensors = {k: sf.get_tensor(k) for k in sf.keys()}  # noqa: SIM118 (safe_open has no __iter__)
            # safetensors metadata holds strings only: the version is written as "1"
            version = meta.get("schema_version", "")
            check_format(
                {**meta, "schema_version": int(version) if version.isdigit() else version},
                RESUME_FORMAT,
                SCHEMA_VERSION,
                ValueError,
                "its metadata",
                "it is not a resume state of this mujo-edge",
            )
            state = _unflatten(json.loads(meta["state"]), tensors)
        except Exception as e:  # safetensors / json raise their own error types
            raise ArtifactError(
                f"{f} cannot be read as a resume checkpoint ({e}); delete it to restart the run from scratch."
            ) from e
        weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        why = None
        if meta.get("torch_version") != torch.__version__:
            why = f"written by torch {meta.get('torch_version')}, resumed with torch {torch.__version__}"
        return weights, state, why
    legacy_w, legacy_s = (run / n for n in LEGACY_RESUME_FILES)
    if not legacy_s.is_file():
        return None
    if not legacy_w.is_file():
        raise ArtifactError(
            f"{legacy_s} has no {legacy_w.name} beside it; delete the run folder and restart."
        )
    try:
        # weights_only=True: the restricted unpickler of torch, which loads tensors and plain containers and
        # refuses everything else (no code runs); the legacy file came from this project's own trainer.
        state = torch.load(legacy_s, map_location="cpu", weights_only=True)
        weights = load_file(str(legacy_w))
    except Exception as e:
        raise ArtifactError(
            f"{legacy_s} cannot be read safely ({type(e).__name__}: {str(e)[:200]}); delete the run folder "
            "and restart the run from scratch."
        ) from e
    return weights, state, "an older run's weights and state were written one after the other (possibly torn)"
