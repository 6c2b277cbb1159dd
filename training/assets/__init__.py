"""The shipped foundation checkpoint: ``--pretrained default``, and the packager that makes it.

``joint_space/`` beside this file holds the pretrained MuJo joint space that ships with the toolkit:
``model.safetensors`` (half precision), ``manifest.json`` (format ``mujo-edge-joint-model``, provenance of the
pretraining run it came from, a content hash) and ``calibration_target.npz`` (a few corpus acc windows per label,
float16, the target of PIT calibration), at most ``FOUNDATION_MAX_BYTES`` together.

- :func:`resolve_pretrained` turns the word ``default`` into that folder (and any other value into a path);
  evaluate, finetune, zeroshot, distill and benchmark call it, then read the folder with
  :func:`mujo_edge.training.checkpoint.load_pretrained`, which loads the float16 weights into the float32
  model (``load_state_dict`` casts on copy).
- :func:`package_pretrained` (``mujo-edge pretrain-package RUN --out training/assets/joint_space``) regenerates
  it from a finished ``mujo-edge pretrain`` run: float16 weights, no optimizer or resume state, a smaller
  calibration sample, a manifest with provenance and a content hash; it refuses a result over the size limit.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.constants import FOUNDATION_CALIBRATION_WINDOWS, FOUNDATION_MAX_BYTES
from mujo_edge.errors import ArtifactError
from mujo_edge.provenance import content_hash, provenance, sha256_file, write_json

log = logging.getLogger(__name__)

#: The word ``--pretrained`` takes for the shipped foundation checkpoint.
DEFAULT_PRETRAINED = "default"
#: Where the shipped foundation checkpoint lives (package data of ``mujo_edge.training.assets``).
JOINT_SPACE_DIR: Path = Path(__file__).resolve().parent / "joint_space"
#: The files of a packaged checkpoint, in the order the content hash covers them.
PACKAGED_FILES: tuple[str, ...] = ("model.safetensors", "calibration_target.npz")


def resolve_pretrained(run: str | Path) -> Path:
    """The pretraining run folder ``--pretrained`` names: ``default`` is the shipped foundation checkpoint.

    Raises:
        ArtifactError: ``default`` was asked for but the shipped checkpoint is not installed.
    """
    if str(run) != DEFAULT_PRETRAINED:
        return Path(run)
    missing = [f for f in ("manifest.json", "model.safetensors") if not (JOINT_SPACE_DIR / f).is_file()]
    if missing:
        raise ArtifactError(
            f"--pretrained default: the shipped foundation checkpoint is not installed (expected "
            f"{', '.join(missing)} in the package folder mujo_edge/training/assets/joint_space). "
            "Pass --pretrained RUN with a `mujo-edge pretrain` run folder, or make the checkpoint with "
            "`mujo-edge pretrain-package RUN --out training/assets/joint_space` and reinstall."
        )
    return JOINT_SPACE_DIR


def _fp16_state(run: Path) -> dict[str, Any]:
    import torch
    from safetensors.torch import load_file

    state = load_file(str(run / "model.safetensors"))
    return {k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous() for k, v in state.items()}


def _calibration_sample(run: Path, per_label: int, seed: int) -> dict[str, np.ndarray] | None:
    f = run / "calibration_target.npz"
    if not f.is_file() or per_label <= 0:
        return None
    try:
        z = np.load(f, allow_pickle=False)
        acc, label = z["acc"], z["label"]
    except (ValueError, OSError, KeyError) as e:
        raise ArtifactError(
            f"{f} is not the run's calibration sample (npz of acc, label, labels: {e}); re-run pretraining, "
            "or package with --calibration-windows 0"
        ) from e
    rng = np.random.default_rng(seed)
    keep = [np.sort(rng.permutation(np.flatnonzero(label == c))[:per_label]) for c in np.unique(label)]
    k = np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)
    return {"acc": acc[k].astype(np.float16), "label": label[k].astype(np.int64), "labels": z["labels"]}


def _embedding_agreement(run: Path, packaged: Path, acc: np.ndarray) -> float:
    """Smallest cosine similarity between the source and packaged acc projections of ``acc`` windows."""
    import torch

    from mujo_edge.training.checkpoint import load_pretrained

    src, pkg = load_pretrained(run), load_pretrained(packaged)
    x = torch.from_numpy(np.asarray(acc, dtype=np.float32))
    with torch.no_grad():
        cos = torch.nn.functional.cosine_similarity(src.embed("acc", x), pkg.embed("acc", x), dim=1)
    return float(cos.min())


def package_pretrained(
    run: str | Path,
    out: str | Path,
    *,
    calibration_windows: int = FOUNDATION_CALIBRATION_WINDOWS,
    max_bytes: int = FOUNDATION_MAX_BYTES,
    seed: int = 0,
) -> dict[str, Any]:
    """Write the foundation checkpoint folder ``out`` from a finished pretraining run; return its manifest.

    Args:
        run: a ``mujo-edge pretrain`` run folder (its best weights, ``model.safetensors``, are packaged).
        out: the folder to write (``training/assets/joint_space`` for the shipped one); only the packaged
            files in it are replaced, and only once everything is written and checked.
        calibration_windows: corpus acc windows per label kept from the run's ``calibration_target.npz``
            (float16); 0 keeps none (then ``--calibration`` other than none is unavailable with it).
        max_bytes: refuse (and write nothing) when the packaged files together are larger.
    Raises:
        ArtifactError: ``run`` is not a readable pretraining run, or the result is over ``max_bytes``.
    """
    from safetensors.torch import save_file

    from mujo_edge.training.checkpoint import read_joint_manifest

    run, out = Path(run), Path(out)
    source = read_joint_manifest(run)
    if not (run / "model.safetensors").is_file():
        raise ArtifactError(f"{run} has no model.safetensors: not a finished `mujo-edge pretrain` run.")
    if out.resolve() == run.resolve():
        raise ArtifactError(f"--out {out} is the run folder itself; package into another folder.")
    if source.get("complete") is False:
        raise ArtifactError(
            f"{run} is an unfinished pretraining run (its manifest says complete: false); finish it with "
            "`mujo-edge pretrain ... --resume` before packaging"
        )
    # the weights as the run recorded them (packaging re-hashes what it writes, so a damaged or replaced
    # model.safetensors would otherwise become a self-consistent foundation)
    from mujo_edge.training.checkpoint import load_pretrained

    load_pretrained(run)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}-", dir=out.parent) as tmp_dir:
        tmp = Path(tmp_dir)
        save_file(_fp16_state(run), str(tmp / "model.safetensors"))
        cal = _calibration_sample(run, calibration_windows, seed)
        files = ["model.safetensors"]
        if cal is not None:
            np.savez_compressed(
                tmp / "calibration_target.npz", acc=cal["acc"], label=cal["label"], labels=cal["labels"]
            )
            files.append("calibration_target.npz")
        manifest = {k: v for k, v in source.items() if k not in ("weights", "foundation", "content_hash")}
        manifest["what"] = "MuJo foundation joint space (float16 weights of a pretraining run's best epoch)"
        manifest["weights"] = {
            "file": "model.safetensors",
            "sha256": sha256_file(tmp / "model.safetensors"),
            "dtype": "float16",
            "loads_as": "float32",
        }
        manifest["content_hash"] = content_hash([tmp / f for f in files], tmp)
        manifest["foundation"] = {
            "source_run": run.name,
            "source_weights_sha256": source["weights"]["sha256"],
            "source_data": source.get("data"),
            "dropped": "optimizer, scheduler and resume state (state.pt, last.safetensors)",
            "calibration_windows_per_label": calibration_windows if cal is not None else 0,
            "files": files,
            "packaged_by": provenance(seed=seed),
        }
        write_json(tmp / "manifest.json", manifest)
        if cal is not None and "acc" in manifest["model"]["modalities"] and len(cal["acc"]):
            manifest["foundation"]["fp16_min_cosine_to_source"] = _embedding_agreement(
                run, tmp, cal["acc"][:256]
            )
            write_json(tmp / "manifest.json", manifest)
        sizes = {f: (tmp / f).stat().st_size for f in [*files, "manifest.json"]}
        total = sum(sizes.values())
        if total > max_bytes:
            raise ArtifactError(
                f"the packaged checkpoint would be {total:,} bytes ({sizes}), over the limit of {max_bytes:,}; "
                "keep fewer calibration windows (--calibration-windows) or pretrain a smaller model "
                "(--joint-dim, --proj-hidden, --cnn mmfit). Nothing was written."
            )
        out.mkdir(parents=True, exist_ok=True)
        for f in PACKAGED_FILES:
            (out / f).unlink(missing_ok=True)
        for f in [*files, "manifest.json"]:
            shutil.move(str(tmp / f), str(out / f))
    log.info("foundation checkpoint: %s (%d bytes) from %s", out, total, run)
    return manifest
