"""Write a ``.mujo`` bundle: the exported models, label embeddings and a manifest that describes them.

The schema is the one :mod:`mujo_edge.bundle` reads (``BUNDLE_FORMAT``, ``BUNDLE_SCHEMA_VERSION``); see
docs/bundle.md for every key. No torch here: the writer only packs bytes and JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge import _checks
from mujo_edge.bundle import (
    BUNDLE_FORMAT,
    BUNDLE_SCHEMA_VERSION,
    INPUT_LAYOUTS,
    LABEL_EMBEDDINGS_FILE,
    MODEL_FORMATS,
    Bundle,
    head_manifest,
    npy_bytes,
    open_set_manifest,
    write_bundle_zip,
)
from mujo_edge.constants import ACC_AXES, AXIS_CONVENTION, HOP, RATE_HZ, WINDOW
from mujo_edge.errors import ExportError, ShapeError
from mujo_edge.heads import Head
from mujo_edge.provenance import provenance, sha256_bytes

#: What the model input is, stated in every manifest.
INPUT_CONTRACT = (
    "one window of wrist accelerometer specific force in g, resampled to rate_hz, axes in axis_order "
    "(axis_convention), AFTER the bundle's PIT calibration when 'calibration' is present; no other "
    "scaling or normalization (the runner handles layout and int8 quantization)"
)


@dataclass
class ModelFile:
    """One exported model to pack: bytes plus what the runtime needs to feed and read it."""

    format: str  # "tflite" | "executorch"
    filename: str  # e.g. "student_litert_int8.tflite"
    data: bytes
    dtype: str  # "int8" | "float32"
    input_layout: str  # "BWC" | "BCW"
    inputs: list[dict[str, Any]]  # [{name, shape, dtype, position, scale?, zero_point?}]
    outputs: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)  # partitions, runtime, verification...
    #: The same model with a fixed batch of windows (its input's first dimension), stored next to it and
    #: described under the model entry's ``batch`` key (format, dtype and layout are the model's).
    batch: ModelFile | None = None


def write_bundle(
    out: str | Path,
    *,
    labels: Sequence[str],
    models: Sequence[ModelFile],
    name: str = "mujo-student",
    rate_hz: float = RATE_HZ,
    window: int = WINDOW,
    hop: int = HOP,
    calibration: Mapping[str, Any] | None = None,
    label_embeddings: np.ndarray | None = None,
    label_embedding_info: Mapping[str, Any] | None = None,
    student: Mapping[str, Any] | None = None,
    teacher: Mapping[str, Any] | None = None,
    verification: Mapping[str, Any] | None = None,
    seed: int | None = None,
    extra: Mapping[str, Any] | None = None,
    head: Head | None = None,
    head_info: Mapping[str, Any] | None = None,
    open_set_info: Mapping[str, Any] | None = None,
) -> Bundle:
    """Pack ``models`` (and optional calibration table / label embeddings) into a ``.mujo`` zip at ``out``.

    ``labels`` are the classes of the models' logits. ``head`` (default: those logits, no open-set test)
    decides the bundle's own labels and carries the open-set prototypes and threshold; ``head_info`` and
    ``open_set_info`` describe how they were made (data, subjects, keep fraction). The manifest gets its
    content hash last, over everything including ``extra``. The zip is written to a temporary name and
    renamed, then re-opened with :meth:`Bundle.open`, so a returned bundle is known to load. Raises
    ExportError on inconsistent input.
    """
    out = _checks.path(out, "write_bundle: out")
    labels = _checks.names(labels, "labels", "pass the model's class names in logit order", ExportError)
    if not labels:
        raise ExportError("labels names no classes: pass the model's class names in logit order")
    if models is None or not models:
        raise ExportError("a bundle needs at least one model; none was given.")
    models = _checks.names(models, "models", "pass a list of ModelFile", ExportError, kind=ModelFile)
    for m in models:
        _model_file(m)
        if m.batch is not None:
            _model_file(m.batch)
    name = _checks.text(name, "name", "pass the bundle's name", ExportError)
    rate_hz = _checks.number(
        rate_hz, "rate_hz", 0.0, 1e6, fix="pass the sample rate in Hz", error=ExportError
    )
    window = _checks.count(window, "window", 1, "pass samples per window", ExportError)
    hop = _checks.count(hop, "hop", 1, "pass samples between windows", ExportError)
    if seed is not None:
        seed = _checks.count(seed, "seed", 0, "pass a whole-number seed or None", ExportError)
    if head is not None and not isinstance(head, Head):
        raise ExportError(f"head must be a Head or None, got {type(head).__name__} {head!r:.60}")
    for what, value in (
        ("calibration", calibration),
        ("label_embedding_info", label_embedding_info),
        ("student", student),
        ("teacher", teacher),
        ("verification", verification),
        ("extra", extra),
        ("head_info", head_info),
        ("open_set_info", open_set_info),
    ):
        if value is not None:
            _checks.mapping(value, what, "pass a dict or None", ExportError)
    for m in models:
        if m.format not in MODEL_FORMATS or m.input_layout not in INPUT_LAYOUTS:
            raise ExportError(
                f"model {m.filename}: format {m.format!r} / layout {m.input_layout!r} must be one of "
                f"{MODEL_FORMATS} / {INPUT_LAYOUTS}."
            )
        if not any(o["name"] == "logits" for o in m.outputs):
            raise ExportError(f"model {m.filename} has no output named 'logits'.")
        if m.batch is not None and (m.batch.format, m.batch.dtype, m.batch.input_layout) != (
            m.format,
            m.dtype,
            m.input_layout,
        ):
            raise ExportError(f"the batch variant {m.batch.filename} of {m.filename} is not the same model.")
    files: dict[str, bytes] = {f"models/{m.filename}": m.data for m in models}
    files.update({f"models/{m.batch.filename}": m.batch.data for m in models if m.batch is not None})
    emb_meta: dict[str, Any] | None = None
    if label_embeddings is not None:
        emb = _checks.real_array(label_embeddings, np.dtype(np.float32), "label_embeddings")
        if not np.isfinite(emb).all():
            raise ShapeError("label embeddings hold NaN or inf: pass finite (L, D) label vectors")
        if emb.ndim != 2 or emb.shape[0] != len(labels):
            raise ExportError(
                f"label embeddings must be ({len(labels)}, D), one row per label; got {emb.shape}."
            )
        files[LABEL_EMBEDDINGS_FILE] = npy_bytes(emb)
        emb_meta = {"file": LABEL_EMBEDDINGS_FILE, "shape": list(emb.shape), **(label_embedding_info or {})}
    head = head if head is not None else Head("logits", list(labels))
    if head.kind == "logits" and head.labels != list(labels):
        raise ExportError(f"a logits head must have the model's labels {list(labels)}, got {head.labels}")
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "schema_version": BUNDLE_SCHEMA_VERSION,
        "name": name,
        "labels": list(head.labels),
        "model_labels": list(labels),
        "rate_hz": float(rate_hz),
        "window": int(window),
        "hop": int(hop),
        "axis_order": list(ACC_AXES),
        "axis_convention": AXIS_CONVENTION,
        "units": "g",
        "input": {
            "name": "acc_g",
            "shape": [1, int(window), len(ACC_AXES)],
            "dtype": "float32",
            "units": "g",
            "contract": INPUT_CONTRACT,
        },
        "models": [
            {
                "format": m.format,
                "file": f"models/{m.filename}",
                "bytes": len(m.data),
                "sha256": sha256_bytes(m.data),
                "dtype": m.dtype,
                "input_layout": m.input_layout,
                "inputs": m.inputs,
                "outputs": m.outputs,
                **m.info,
                **({"batch": _batch_entry(m.batch)} if m.batch is not None else {}),
            }
            for m in models
        ],
        "calibration": dict(calibration) if calibration else None,
        "label_embeddings": emb_meta,
        "head": head_manifest(head, files, head_info),
        "open_set": open_set_manifest(head, files, open_set_info),
        "student": dict(student or {}),
        "teacher": dict(teacher or {}),
        "verification": dict(verification or {}),
        "provenance": provenance(seed=seed),
    }
    if extra:
        manifest.update(extra)
    try:
        return write_bundle_zip(out, manifest, files)
    except ValueError as e:  # a non-finite number in the manifest (JSON cannot hold it)
        raise ExportError(f"the bundle manifest for {out} holds a value JSON cannot store: {e}") from e


def _model_file(m: ModelFile) -> None:
    """ExportError naming the field of a :class:`ModelFile` whose type the manifest cannot use."""
    fix = "build ModelFile from the converter's bytes and tensor_dict() specs"
    if not isinstance(m.data, bytes):
        raise ExportError(f"model {m.filename!r}: data must be bytes, got {type(m.data).__name__}: {fix}")
    name = _checks.text(m.filename, "a model's filename", fix, ExportError)
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ExportError(f"model filename {name!r} must be a plain file name (no folders): {fix}")
    for what, specs in (("inputs", m.inputs), ("outputs", m.outputs)):
        if (
            isinstance(specs, str)
            or not isinstance(specs, Sequence)
            or not all(isinstance(d, Mapping) and isinstance(d.get("name"), str) for d in specs)
        ):
            raise ExportError(
                f"model {name}: {what} must be a list of tensor dicts with a name, got {specs!r:.60}: {fix}"
            )
    for what, value in (("format", m.format), ("dtype", m.dtype), ("input_layout", m.input_layout)):
        _checks.text(value, f"model {name}: {what}", fix, ExportError)
    _checks.mapping(m.info, f"model {name}: info", fix, ExportError)
    if m.batch is not None and not isinstance(m.batch, ModelFile):
        raise ExportError(
            f"model {name}: batch must be a ModelFile or None, got {type(m.batch).__name__}: {fix}"
        )


def _batch_entry(b: ModelFile) -> dict[str, Any]:
    """The manifest's ``batch`` entry of a model: the variant's file, size, hash, tensors and checks."""
    return {
        "size": int(b.inputs[0]["shape"][0]),
        "file": f"models/{b.filename}",
        "bytes": len(b.data),
        "sha256": sha256_bytes(b.data),
        "inputs": b.inputs,
        "outputs": b.outputs,
        **b.info,
    }
