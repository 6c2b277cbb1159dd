"""The dataset format: a folder of ``manifest.json`` plus memory-mappable ``.npy`` arrays.

One row per window (``WINDOW`` samples at ``RATE_HZ``, hop ``HOP`` by default):

=================  =====================  =======  ===============================================
file               shape                  dtype    meaning
=================  =====================  =======  ===============================================
``acc.npy``        (N, 100, 3)            float32  wrist accelerometer, specific force in g
``label.npy``      (N,)                   int64    index into ``manifest["labels"]``
``subject.npy``    (N,)                   int64    subject id
``recording.npy``  (N,)                   int64    recording id (unique within the dataset)
``start.npy``      (N,)                   int64    first sample of the window in its recording
``pose.npy``       (N, 100, 17, 3)        float32  optional, 3D joints in metres (H36M order)
``gyr.npy``        (N, 100, 3)            float32  optional, angular rate in rad/s
``video.npy``      (N, F)                 float32  optional, user-supplied video features
``text.npy``       (T, D)                 float32  optional, frozen sentence embeddings of every string
                                                   in ``manifest["texts"]`` (``{"label", "kind", "text"}``)
``text_id.npy``    (N,)                   int64    optional, the text each window is paired with
=================  =====================  =======  ===============================================

``manifest.json`` holds label names, per-label text, rate, window, hop, axis convention, the arrays present
with shapes, provenance and a content hash over the arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.constants import AXIS_CONVENTION, H36M_JOINTS, HOP, N_JOINTS, RATE_HZ, WINDOW
from mujo_edge.errors import DataError, ShapeError
from mujo_edge.provenance import content_hash, provenance, read_manifest, write_json

DATASET_FORMAT = "mujo-edge-dataset"
DATASET_SCHEMA_VERSION = 1

REQUIRED_ARRAYS = ("acc", "label", "subject", "recording", "start")
OPTIONAL_ARRAYS = ("pose", "gyr", "video", "text", "text_id")

_UNITS = {
    "acc": "g",
    "gyr": "rad/s",
    "pose": "m",
    "label": "index",
    "subject": "id",
    "recording": "id",
    "start": "sample",
    "video": "feature",
    "text": "embedding",
    "text_id": "index",
}


@dataclass
class Dataset:
    """An opened dataset folder. Arrays are memory-mapped read-only; optional ones are ``None``."""

    root: Path
    manifest: dict[str, Any]
    acc: np.ndarray
    label: np.ndarray
    subject: np.ndarray
    recording: np.ndarray
    start: np.ndarray
    pose: np.ndarray | None = None
    gyr: np.ndarray | None = None
    video: np.ndarray | None = None
    text: np.ndarray | None = None
    text_id: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """Label names; ``label.npy`` holds indices into this list."""
        return list(self.manifest["labels"])

    @property
    def label_text(self) -> dict[str, list[str]]:
        """Per-label text: chapter-style titles and descriptions, normalized."""
        return {k: list(v) for k, v in self.manifest.get("label_text", {}).items()}

    @property
    def rate_hz(self) -> float:
        return float(self.manifest["rate_hz"])

    @property
    def modalities(self) -> list[str]:
        """Window-level modalities present: ``acc`` always, then ``pose``, ``gyr``, ``video`` if present."""
        return [m for m in ("acc", "pose", "gyr", "video") if getattr(self, m) is not None]

    def __len__(self) -> int:
        return int(self.acc.shape[0])

    @classmethod
    def open(cls, path: str | Path, verify: bool = False) -> Dataset:
        """Open a dataset folder.

        Args:
            path: the folder holding ``manifest.json``.
            verify: recompute the content hash and refuse a dataset whose arrays changed.
        Raises:
            DataError: missing folder / manifest / array, unknown format or schema, shape mismatch.
        """
        root = Path(path)
        manifest = read_manifest(
            root,
            DATASET_FORMAT,
            DATASET_SCHEMA_VERSION,
            DataError,
            "`mujo-edge data synth` or `mujo-edge data import ...`",
        )
        arrays: dict[str, np.ndarray] = {}
        for name in manifest.get("arrays", {}):
            f = root / f"{name}.npy"
            if not f.is_file():
                raise DataError(
                    f"{root}: manifest lists {name}.npy but the file is missing; re-create the dataset."
                )
            try:
                arrays[name] = np.load(f, mmap_mode="r", allow_pickle=False)
            except ValueError as e:
                raise DataError(f"{f} is not a readable .npy array ({e}); re-create the dataset.") from e
        for name in REQUIRED_ARRAYS:
            if name not in arrays:
                raise DataError(f"{root}: required array {name}.npy is missing from the manifest.")
        if verify:
            digest = content_hash([root / f"{n}.npy" for n in manifest["arrays"]], root)
            if digest != manifest.get("content_hash"):
                raise DataError(
                    f"{root}: content hash {digest[:12]} does not match the manifest's "
                    f"{str(manifest.get('content_hash'))[:12]}: the arrays were modified. Re-create the dataset."
                )
        known = set(REQUIRED_ARRAYS) | set(OPTIONAL_ARRAYS)
        ds = cls(
            root=root,
            manifest=manifest,
            **{k: v for k, v in arrays.items() if k in known},
            extra={k: v for k, v in arrays.items() if k not in known},
        )
        _validate(
            ds.acc, ds.label, ds.subject, ds.recording, ds.start, ds.pose, ds.gyr, ds.video, where=str(root)
        )
        return ds


def _validate(
    acc: np.ndarray,
    label: np.ndarray,
    subject: np.ndarray,
    recording: np.ndarray,
    start: np.ndarray,
    pose: np.ndarray | None,
    gyr: np.ndarray | None,
    video: np.ndarray | None,
    where: str,
) -> None:
    if acc.ndim != 3 or acc.shape[2] != 3:
        raise ShapeError(f"{where}: acc must be (N, window, 3) in g, got {acc.shape}")
    n, w = acc.shape[:2]
    for name, arr in (("label", label), ("subject", subject), ("recording", recording), ("start", start)):
        if arr.shape != (n,):
            raise ShapeError(f"{where}: {name} must be ({n},) to match acc, got {arr.shape}")
    if pose is not None and pose.shape != (n, w, N_JOINTS, 3):
        raise ShapeError(f"{where}: pose must be ({n}, {w}, {N_JOINTS}, 3) metres, got {pose.shape}")
    if gyr is not None and gyr.shape != (n, w, 3):
        raise ShapeError(f"{where}: gyr must be ({n}, {w}, 3) rad/s, got {gyr.shape}")
    if video is not None and (video.ndim != 2 or video.shape[0] != n):
        raise ShapeError(f"{where}: video must be ({n}, F) features, got {video.shape}")


def write_dataset(
    out: str | Path,
    *,
    acc: np.ndarray,
    label: np.ndarray,
    subject: np.ndarray,
    recording: np.ndarray,
    start: np.ndarray,
    labels: Sequence[str],
    label_text: Mapping[str, Sequence[str]] | None = None,
    pose: np.ndarray | None = None,
    gyr: np.ndarray | None = None,
    video: np.ndarray | None = None,
    text: np.ndarray | None = None,
    text_id: np.ndarray | None = None,
    name: str = "dataset",
    source: str = "",
    seed: int | None = None,
    rate_hz: float = RATE_HZ,
    window: int = WINDOW,
    hop: int = HOP,
    extra_manifest: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Dataset:
    """Write a dataset folder and return it opened.

    Arrays are validated (shapes, finite values, label range) before anything is written, so a failed
    write never leaves a half-valid dataset behind.
    """
    root = Path(out)
    if (root / "manifest.json").exists() and not overwrite:
        raise DataError(f"{root} already holds a dataset; choose another --out or remove it first.")
    acc = np.ascontiguousarray(acc, dtype=np.float32)
    label = np.ascontiguousarray(label, dtype=np.int64)
    subject = np.ascontiguousarray(subject, dtype=np.int64)
    recording = np.ascontiguousarray(recording, dtype=np.int64)
    start = np.ascontiguousarray(start, dtype=np.int64)
    _validate(acc, label, subject, recording, start, pose, gyr, video, where=str(root))
    if acc.shape[1] != window:
        raise ShapeError(f"{root}: acc windows have {acc.shape[1]} samples but window={window}")
    if len(labels) == 0:
        raise DataError(f"{root}: a dataset needs at least one label name")
    if label.size and (label.min() < 0 or label.max() >= len(labels)):
        raise DataError(
            f"{root}: label indices must be in [0, {len(labels)}), found {label.min()}..{label.max()}"
        )
    arrays: dict[str, np.ndarray] = {
        "acc": acc,
        "label": label,
        "subject": subject,
        "recording": recording,
        "start": start,
    }
    for k, v in (("pose", pose), ("gyr", gyr), ("video", video), ("text", text)):
        if v is not None:
            arrays[k] = np.ascontiguousarray(v, dtype=np.float32)
    if text_id is not None:
        if text is None or text_id.shape != label.shape:
            raise ShapeError(f"{root}: text_id must be ({label.shape[0]},) and needs text.npy beside it")
        if text_id.size and (text_id.min() < 0 or text_id.max() >= text.shape[0]):
            raise DataError(f"{root}: text_id indices must be in [0, {text.shape[0]})")
        arrays["text_id"] = np.ascontiguousarray(text_id, dtype=np.int64)
    for k, v in arrays.items():
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            bad = int(np.argwhere(~np.isfinite(v))[0][0])
            raise DataError(
                f"{root}: {k} has NaN or infinite values (first at row {bad}); clean the input first."
            )
    root.mkdir(parents=True, exist_ok=True)
    for k, v in arrays.items():
        np.save(root / f"{k}.npy", v, allow_pickle=False)
    manifest: dict[str, Any] = {
        "format": DATASET_FORMAT,
        "schema_version": DATASET_SCHEMA_VERSION,
        "name": name,
        "source": source,
        "rate_hz": float(rate_hz),
        "window": int(window),
        "hop": int(hop),
        "axis_convention": AXIS_CONVENTION,
        "pose_joints": list(H36M_JOINTS) if pose is not None else None,
        "labels": list(labels),
        "label_text": {k: list(v) for k, v in (label_text or {}).items()},
        "n_windows": int(acc.shape[0]),
        "subjects": sorted(int(s) for s in np.unique(subject)),
        "class_counts": {lab: int((label == i).sum()) for i, lab in enumerate(labels)},
        "arrays": {
            k: {"shape": list(v.shape), "dtype": str(v.dtype), "units": _UNITS.get(k, "")}
            for k, v in arrays.items()
        },
        "provenance": provenance(seed=seed),
        "content_hash": content_hash([root / f"{k}.npy" for k in arrays], root),
    }
    if extra_manifest:
        manifest.update(extra_manifest)
    write_json(root / "manifest.json", manifest)
    return Dataset.open(root)
