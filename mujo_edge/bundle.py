"""The ``.mujo`` model bundle: one self-describing zip a phone or gateway needs to recognize activities.

Layout (a plain zip; ``manifest.json`` at its root)::

    manifest.json                         what is inside (schema below), sha256 of every other file
    models/student_litert_int8.tflite     LiteRT model, int8 end to end (input and output int8)
    models/student_xnnpack_q8.pte         ExecuTorch program, one XNNPACK partition, float32 I/O
    label_embeddings.npy                  optional (L, D) float32, label texts in the student's joint space

The model input is one window of raw accelerometer specific force in g, ``(1, WINDOW, 3)`` float32 in the
axis order of ``manifest["axis_convention"]``, sampled at ``rate_hz``, AFTER the bundle's PIT calibration
(``Bundle.calibration``) when it has one. The runners apply only the model: calibration, windowing and
smoothing are the pipeline's job.

This module is part of the runtime core: numpy and the standard library only, never torch. The loader
refuses what it does not understand (unknown format or schema version, a file whose sha256 differs from
the manifest, a missing file, a corrupted zip), each with a :class:`~mujo_edge.errors.BundleError` that
says which file and what to do.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mujo_edge.errors import BundleError
from mujo_edge.provenance import sha256_bytes

if TYPE_CHECKING:
    from mujo_edge.calibration import PitCalibration
    from mujo_edge.runners import Runner

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "mujo-edge-bundle"
BUNDLE_SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
#: Suffix of bundle files.
BUNDLE_SUFFIX = ".mujo"
#: Model formats a bundle may hold, in the order ``Bundle.runner(None)`` prefers them (LiteRT first: its
#: interpreter imports in ~0.1 s, executorch.runtime in ~6.5 s).
MODEL_FORMATS: tuple[str, ...] = ("tflite", "executorch")
#: Input layouts: ``BWC`` = (batch, window samples, channels), ``BCW`` = (batch, channels, window samples).
INPUT_LAYOUTS: tuple[str, ...] = ("BWC", "BCW")
_REQUIRED_KEYS = ("labels", "rate_hz", "window", "hop", "input", "models", "files")
_REGENERATE = "Re-create it with `mujo-edge export` or use the shipped default bundle."


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output as the runtime sees it.

    ``position`` is the index in the runtime's input/output list; ``scale``/``zero_point`` are the affine
    int8 quantization parameters (real = scale * (q - zero_point)) when ``dtype`` is ``int8``, else None.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    position: int
    scale: float | None = None
    zero_point: int | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TensorSpec:
        return cls(
            name=str(d["name"]),
            shape=tuple(int(s) for s in d["shape"]),
            dtype=str(d["dtype"]),
            position=int(d.get("position", 0)),
            scale=None if d.get("scale") is None else float(d["scale"]),
            zero_point=None if d.get("zero_point") is None else int(d["zero_point"]),
        )


@dataclass(frozen=True)
class ModelEntry:
    """One model file of a bundle: its format, where it is, what it expects and returns."""

    format: str
    file: str
    dtype: str  # "int8" or "float32": the weights/activations precision
    input_layout: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    info: Mapping[str, Any]  # the whole manifest entry (partitions, verification, sizes...)

    def output(self, name: str) -> TensorSpec | None:
        """The output called ``name`` (``"logits"`` or ``"embedding"``), or None when the model lacks it."""
        return next((o for o in self.outputs if o.name == name), None)


def zero_shot_scores(embeddings: np.ndarray, label_embeddings: np.ndarray) -> np.ndarray:
    """(B, n_labels) float32 joint-space cosines of (B, D) student embeddings with a bundle's (n_labels, D)
    label embeddings. Their rows are W^T t for unit label texts t and the student's map W with orthonormal
    columns, so the dot with the normalized embedding e is cos(W e, t) exactly. ``embeddings`` is not
    modified."""
    e = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return (e @ label_embeddings.T).astype(np.float32, copy=False)


class Bundle:
    """An opened, verified ``.mujo`` bundle. Open with :meth:`Bundle.open`."""

    def __init__(self, path: Path, manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        self.path = path
        self.manifest = manifest
        self._files = files
        self.labels: list[str] = [str(x) for x in manifest["labels"]]
        self.rate_hz: float = float(manifest["rate_hz"])
        self.window: int = int(manifest["window"])
        self.hop: int = int(manifest["hop"])
        self.models: list[ModelEntry] = [_model_entry(m, path) for m in manifest["models"]]
        self.formats: list[str] = list(dict.fromkeys(m.format for m in self.models))

    # --- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> Bundle:
        """Open and verify a bundle: schema, required keys, every listed file present with its sha256.

        Raises:
            BundleError: the file is missing, not a zip (or corrupted), has no or an unreadable manifest,
                an unknown format or schema version, lacks a listed file, or a file's sha256 differs from
                the manifest's (it was modified after export). The message names the file.
        """
        p = Path(path)
        if not p.is_file():
            raise BundleError(f"no bundle at {p}: the file does not exist. {_REGENERATE}")
        try:
            with zipfile.ZipFile(p) as zf:
                names = set(zf.namelist())
                if MANIFEST_NAME not in names:
                    raise BundleError(
                        f"{p} is a zip but has no {MANIFEST_NAME} at its root, so it is not a MuJo Edge "
                        f"bundle. {_REGENERATE}"
                    )
                manifest = _parse_manifest(zf.read(MANIFEST_NAME), p)
                listed = manifest["files"]
                missing = sorted(set(listed) - names)
                if missing:
                    raise BundleError(
                        f"{p} is incomplete: the manifest lists {', '.join(missing)} but the zip does not "
                        f"contain {'it' if len(missing) == 1 else 'them'}. The bundle was truncated or edited; "
                        f"{_REGENERATE}"
                    )
                files = {name: zf.read(name) for name in listed}
        except zipfile.BadZipFile as e:
            raise BundleError(
                f"{p} is not a readable zip ({e}): the bundle is corrupted or truncated (an interrupted "
                f"download or copy?). {_REGENERATE}"
            ) from e
        except (zipfile.LargeZipFile, OSError, EOFError) as e:
            raise BundleError(f"{p} cannot be read ({type(e).__name__}: {e}). {_REGENERATE}") from e
        for name, meta in listed.items():
            digest = sha256_bytes(files[name])
            if digest != meta.get("sha256"):
                raise BundleError(
                    f"{p}: {name} has sha256 {digest[:16]}... but the manifest records "
                    f"{str(meta.get('sha256'))[:16]}...: the file was modified after export (tampered or "
                    f"damaged). Do not run it; {_REGENERATE}"
                )
        for m in manifest["models"]:
            if m.get("file") not in listed:
                raise BundleError(
                    f"{p}: model {m.get('format')!r} points at {m.get('file')!r}, which the manifest's file "
                    f"list does not hold. {_REGENERATE}"
                )
        bundle = cls(p, manifest, files)
        log.info("opened bundle %s: %d labels, formats %s", p, len(bundle.labels), bundle.formats)
        return bundle

    # --- contents --------------------------------------------------------------------------------
    def file_bytes(self, name: str) -> bytes:
        """The verified bytes of a file inside the bundle (e.g. a model file named in ``models``)."""
        try:
            return self._files[name]
        except KeyError:
            raise BundleError(
                f"{self.path} has no file {name!r}; it holds {', '.join(sorted(self._files))}."
            ) from None

    @cached_property
    def calibration(self) -> PitCalibration | None:
        """The unsupervised PIT table to apply to raw windows before the model, or None when not fitted."""
        table = self.manifest.get("calibration")
        if not table:
            return None
        from mujo_edge.calibration import PitCalibration

        try:
            return PitCalibration.from_dict(table)
        except Exception as e:
            raise BundleError(
                f"{self.path}: the calibration table in the manifest cannot be loaded ({e}). {_REGENERATE}"
            ) from e

    @cached_property
    def label_embeddings(self) -> np.ndarray | None:
        """(n_labels, D) float32 label-text embeddings in the student's joint space, or None.

        For on-device zero-shot: rank labels by the dot product of an L2-normalized window embedding
        (``runner.embed``) with these rows (see docs/bundle.md for why no row normalization is needed).
        """
        meta = self.manifest.get("label_embeddings")
        if not meta:
            return None
        arr = np.load(io.BytesIO(self.file_bytes(meta["file"])), allow_pickle=False)
        if arr.ndim != 2 or arr.shape[0] != len(self.labels):
            raise BundleError(
                f"{self.path}: {meta['file']} must be ({len(self.labels)}, D), one row per label, got "
                f"{arr.shape}. {_REGENERATE}"
            )
        return arr.astype(np.float32, copy=False)

    def model(self, fmt: str | None = None, dtype: str | None = None) -> ModelEntry:
        """The model entry of format ``fmt`` (and ``dtype``; int8 preferred), first available if None."""
        cands = [m for m in self.models if fmt is None or m.format == fmt]
        if dtype is not None:
            cands = [m for m in cands if m.dtype == dtype]
        if not cands:
            have = ", ".join(f"{m.format}/{m.dtype}" for m in self.models)
            raise BundleError(
                f"{self.path} has no {fmt or 'any'}{'/' + dtype if dtype else ''} model; it holds {have}. "
                f"Choose one of those or re-export with --formats {fmt}."
            )
        cands.sort(key=lambda m: m.dtype != "int8")
        return cands[0]

    def runner(self, fmt: str | None = None, threads: int = 1, dtype: str | None = None) -> Runner:
        """A runner for this bundle's model of format ``fmt`` (``"tflite"`` or ``"executorch"``).

        ``fmt=None`` picks the best format whose runtime is installed (LiteRT first), and logs which.
        Raises MissingDependencyError when no runtime for the wanted format(s) is installed.
        """
        from mujo_edge.runners import make_runner, runtime_available

        if fmt is None:
            usable = [f for f in MODEL_FORMATS if f in self.formats and runtime_available(f)]
            # With no usable runtime, make_runner raises the precise MissingDependencyError.
            fmt = usable[0] if usable else next(f for f in MODEL_FORMATS if f in self.formats)
            log.info("bundle %s: running the %s model (best installed runtime)", self.path.name, fmt)
        return make_runner(self, self.model(fmt, dtype), threads=threads)

    def zero_shot(self, windows_g: np.ndarray, runner: Runner | None = None) -> np.ndarray:
        """(B, n_labels) float32 zero-shot scores: the joint-space cosine between each window and each label
        text, from the model's embedding output alone (no classifier head, no labelled data).

        ``windows_g``: (B, WINDOW, 3) g, as :meth:`Runner.embed` takes them (after :attr:`calibration` when
        the bundle has one). ``runner``: defaults to :meth:`runner` with the best installed runtime. Rank
        labels by the scores (``argmax`` for top-1). Raises BundleError when the bundle carries no label
        embeddings or its model no embedding output.
        """
        table = self.label_embeddings
        if table is None:
            raise BundleError(
                f"{self.path} carries no label embeddings, so zero-shot is not available with it; distill "
                "with the pretraining run (mujo-edge distill --pretrained RUN) and re-export."
            )
        r = runner if runner is not None else self.runner()
        emb = r.embed(windows_g)
        if emb.shape[1] != table.shape[1]:
            raise BundleError(
                f"{self.path}: the model's embedding has {emb.shape[1]} dimensions but the label embeddings "
                f"have {table.shape[1]}; the bundle mixes two students. {_REGENERATE}"
            )
        return zero_shot_scores(emb, table)

    def summary(self) -> dict[str, Any]:
        """A small dict for display: labels, formats with sizes, calibration and verification."""
        return {
            "path": str(self.path),
            "labels": self.labels,
            "rate_hz": self.rate_hz,
            "window": self.window,
            "hop": self.hop,
            "models": [
                {
                    "format": m.format,
                    "dtype": m.dtype,
                    "file": m.file,
                    "bytes": len(self._files[m.file]),
                    "partitions": m.info.get("partitions"),
                }
                for m in self.models
            ],
            "calibration": bool(self.manifest.get("calibration")),
            "label_embeddings": bool(self.manifest.get("label_embeddings")),
            "verification": self.manifest.get("verification"),
        }

    def __repr__(self) -> str:
        return f"Bundle({str(self.path)!r}, labels={len(self.labels)}, formats={self.formats})"


def _parse_manifest(raw: bytes, p: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{p}: {MANIFEST_NAME} is not valid JSON ({e}). {_REGENERATE}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BundleError(
            f"{p}: {MANIFEST_NAME} has format {found!r}, expected {BUNDLE_FORMAT!r}: this is not a "
            f"MuJo Edge bundle. {_REGENERATE}"
        )
    version = manifest.get("schema_version")
    if version != BUNDLE_SCHEMA_VERSION:
        newer = isinstance(version, int) and version > BUNDLE_SCHEMA_VERSION
        what = (
            "made by a newer mujo-edge; upgrade mujo-edge (pip install -U mujo-edge) to open it"
            if newer
            else "not one this mujo-edge understands; re-export it with this version"
        )
        raise BundleError(
            f"{p}: unknown bundle schema_version {version!r} (this mujo-edge reads version "
            f"{BUNDLE_SCHEMA_VERSION}): {what}."
        )
    absent = [k for k in _REQUIRED_KEYS if k not in manifest]
    if absent:
        raise BundleError(f"{p}: {MANIFEST_NAME} lacks required keys {absent}. {_REGENERATE}")
    if not manifest["models"]:
        raise BundleError(f"{p}: the bundle holds no model. {_REGENERATE}")
    if not isinstance(manifest["files"], dict):
        raise BundleError(f"{p}: manifest 'files' must map file names to {{sha256, bytes}}. {_REGENERATE}")
    return manifest


def _model_entry(m: Mapping[str, Any], p: Path) -> ModelEntry:
    fmt = m.get("format")
    if fmt not in MODEL_FORMATS:
        raise BundleError(
            f"{p}: model format {fmt!r} is unknown to this mujo-edge (it runs {', '.join(MODEL_FORMATS)}); "
            "upgrade mujo-edge or re-export."
        )
    layout = m.get("input_layout", "BWC")
    if layout not in INPUT_LAYOUTS:
        raise BundleError(f"{p}: model {m.get('file')} has unknown input_layout {layout!r}. {_REGENERATE}")
    try:
        return ModelEntry(
            format=str(fmt),
            file=str(m["file"]),
            dtype=str(m["dtype"]),
            input_layout=str(layout),
            inputs=tuple(TensorSpec.from_dict(t) for t in m["inputs"]),
            outputs=tuple(TensorSpec.from_dict(t) for t in m["outputs"]),
            info=dict(m),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise BundleError(f"{p}: model entry {m.get('file')!r} is malformed ({e!r}). {_REGENERATE}") from e
