"""The ``.mujo`` model bundle: one self-describing zip a phone or gateway needs to recognize activities.

Layout (a plain zip; ``manifest.json`` at its root)::

    manifest.json                         what is inside (schema below), sha256 of every other file, and
                                          one content hash over all of it
    models/student_litert_int8.tflite     LiteRT model, int8 end to end (input and output int8)
    models/student_xnnpack_q8.pte         ExecuTorch program, one XNNPACK partition, float32 I/O
    models/student_litert_int8_b64.tflite optional batch variants of each model: the same int8 model with a
    models/student_xnnpack_q8_b64.pte     fixed batch of 64 windows (one call per 64 windows on a gateway);
                                          a model entry's ``batch`` names it (docs/bundle.md)
    label_embeddings.npy                  optional (L, D) float32, label texts in the student's joint space
    head_weight.npy                       optional (L, D) float32: a linear head over the unit embedding
                                          (a bundle made from words or taught from a few examples)
    open_set_prototypes.npy               optional (K, D) float32: the open-set test's prototypes

The model input is one window of raw accelerometer specific force in g, ``(1, WINDOW, 3)`` float32 in the
axis order of ``manifest["axis_convention"]``, sampled at ``rate_hz``, AFTER the bundle's PIT calibration
(``Bundle.calibration``) when it has one. The runners apply only the model: calibration, windowing and
smoothing are the pipeline's job.

This module is part of the runtime core: numpy and the standard library only, never torch. The loader
verifies the content hash (everything that changes what the bundle means: labels, rates, window,
calibration, head, thresholds, text vectors, model bytes), validates every manifest field (types, ranges,
labels against the model's output size) and refuses what it does not understand (unknown format or schema
version, a file whose sha256 differs from the manifest, a missing file, a corrupted zip), each with a
:class:`~mujo_edge.errors.BundleError` that says which file and what to do; never a traceback.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import math
import os
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mujo_edge._checks import count, real_array
from mujo_edge.constants import PROBABILITIES, UNKNOWN_LABEL
from mujo_edge.errors import BundleError, CalibrationError, ConfigError, MujoError, ShapeError
from mujo_edge.heads import OPEN_SET_KINDS, REJECT_MARGIN, Head, StatsSpace, check_keep_curve
from mujo_edge.provenance import check_format, sha256_bytes

if TYPE_CHECKING:
    from mujo_edge.calibration import PitCalibration
    from mujo_edge.runners import Runner

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "mujo-edge-bundle"
BUNDLE_SCHEMA_VERSION = 2
#: Schema versions this loader reads: 1 only through ``Bundle.open(..., allow_unhashed=True)`` (no hash).
READABLE_SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)
MANIFEST_NAME = "manifest.json"
#: Suffix of bundle files.
BUNDLE_SUFFIX = ".mujo"
#: Model formats a bundle may hold, in the order ``Bundle.runner(None)`` prefers them (LiteRT first: its
#: interpreter imports in ~0.1 s, executorch.runtime in ~6.5 s).
MODEL_FORMATS: tuple[str, ...] = ("tflite", "executorch")
#: Input layouts: ``BWC`` = (batch, window samples, channels), ``BCW`` = (batch, channels, window samples).
INPUT_LAYOUTS: tuple[str, ...] = ("BWC", "BCW")
#: Files inside a bundle besides the models.
LABEL_EMBEDDINGS_FILE = "label_embeddings.npy"
HEAD_WEIGHT_FILE = "head_weight.npy"
OPEN_SET_FILE = "open_set_prototypes.npy"
OPEN_SET_PRECISION_FILE = "open_set_precision.npy"
#: How ``content_hash`` is computed (stated in every manifest).
CONTENT_HASH_SCHEME = (
    "sha256 of the manifest without content_hash and signature, as JSON with sorted keys, separators "
    "(',', ':') and ASCII escapes; the manifest lists the sha256 of every other file, so the hash covers "
    "their bytes too"
)
#: Largest total uncompressed size a bundle may claim (a zip bomb is refused before it is read), bytes.
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
#: Plausible ranges of the sampling contract.
RATE_HZ_RANGE = (1.0, 10_000.0)
WINDOW_RANGE = (8, 100_000)
_REQUIRED_KEYS = ("labels", "rate_hz", "window", "hop", "input", "models", "files")
_REQUIRED_V2 = ("model_labels", "head", "open_set", "content_hash")
_REGENERATE = "Re-create it with `mujo-edge export` or use the shipped default bundle."
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEEP: Any = object()


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
    #: The same model exported with a fixed batch of ``rows`` windows (same quantization), or None (bundles
    #: exported before batch variants, or with ``--no-batch``): the runner then calls this model per window.
    batch: ModelEntry | None = None

    @property
    def rows(self) -> int:
        """Windows per call: the batch dimension of the model's input (1 for the streaming model)."""
        return int(self.inputs[0].shape[0]) if self.inputs and self.inputs[0].shape else 1

    def output(self, name: str) -> TensorSpec | None:
        """The output called ``name`` (``"logits"``, ``"embedding"``, :data:`PROBABILITIES`), or None when the
        model lacks it."""
        return next((o for o in self.outputs if o.name == name), None)


def zero_shot_scores(embeddings: np.ndarray, label_embeddings: np.ndarray) -> np.ndarray:
    """(B, n_labels) float32 joint-space cosines of (B, D) student embeddings with a bundle's (n_labels, D)
    label embeddings. Their rows are W^T t for unit label texts t and the student's map W with orthonormal
    columns, so the dot with the normalized embedding e is cos(W e, t) exactly. ``embeddings`` is not
    modified."""
    e = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    cosines: np.ndarray = (e @ label_embeddings.T).astype(np.float32, copy=False)
    return cosines


def canonical_manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The bytes ``content_hash`` is the sha256 of (see :data:`CONTENT_HASH_SCHEME`)."""
    body = {k: v for k, v in manifest.items() if k not in ("content_hash", "signature")}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode()


def manifest_content_hash(manifest: Mapping[str, Any]) -> str:
    """Hex sha256 over everything in a bundle that changes its meaning (:data:`CONTENT_HASH_SCHEME`)."""
    return sha256_bytes(canonical_manifest_bytes(manifest))


def npy_bytes(arr: np.ndarray) -> bytes:
    """``arr`` as .npy bytes (no pickle)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def write_unchecked_bundle_zip(out: str | Path, manifest: dict[str, Any], files: Mapping[str, bytes]) -> Path:
    """Write ``manifest`` (its ``files`` table and ``content_hash`` filled in here) and ``files`` as a
    ``.mujo`` zip at ``out`` without checking that it loads; returns ``out``. For tests and tools that make
    damaged bundles on purpose; everything else uses :func:`write_bundle_zip`."""
    out = Path(out)
    manifest = dict(manifest)
    manifest["files"] = {k: {"sha256": sha256_bytes(v), "bytes": len(v)} for k, v in files.items()}
    manifest["content_hash_scheme"] = CONTENT_HASH_SCHEME
    manifest.pop("signature", None)
    manifest["content_hash"] = manifest_content_hash(manifest)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for k, v in files.items():
            zf.writestr(k, v)
    return out


def write_bundle_zip(out: str | Path, manifest: dict[str, Any], files: Mapping[str, bytes]) -> Bundle:
    """Write ``manifest`` (its ``files`` table and ``content_hash`` filled in here) and ``files`` as a
    ``.mujo`` zip at ``out``, atomically (a temporary name, then rename), and return it re-opened with
    :meth:`Bundle.open`, so a returned bundle is known to load.

    The zip is opened and verified under its temporary name before it takes ``out``'s place: a bundle that
    would not load raises BundleError and leaves ``out`` as it was (an earlier bundle there stays usable).
    """
    out = Path(out)
    if out.is_dir():
        raise BundleError(f"{out} is a folder; give the bundle a file name (e.g. {out / 'model.mujo'})")
    tmp = write_unchecked_bundle_zip(out.with_name(out.name + ".tmp"), manifest, files)
    try:
        Bundle.open(tmp)
        tmp.replace(out)
    except BundleError as e:
        tmp.unlink(missing_ok=True)
        kept = "the bundle already there is unchanged" if out.exists() else "nothing was written"
        raise BundleError(f"the bundle made for {out} does not load, so {kept}: {e}") from e
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return Bundle.open(out)


class Bundle:
    """An opened, verified ``.mujo`` bundle. Open with :meth:`Bundle.open`.

    ``labels`` are what its events say (the head's labels); ``model_labels`` the classes of the model's
    logits output (the same list unless the bundle was made from words or taught); ``head`` turns model
    outputs into ``labels`` and carries the open-set test (``head.threshold``; None: no test).
    """

    def __init__(self, path: Path, manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        self.path = path
        self.manifest = manifest
        self._files = files
        self.labels: list[str] = [str(x) for x in manifest["labels"]]
        self.model_labels: list[str] = [str(x) for x in manifest.get("model_labels") or manifest["labels"]]
        self.rate_hz: float = float(manifest["rate_hz"])
        self.window: int = int(manifest["window"])
        self.hop: int = int(manifest["hop"])
        self.models: list[ModelEntry] = [_model_entry(m, path) for m in manifest["models"]]
        self.formats: list[str] = list(dict.fromkeys(m.format for m in self.models))
        self.content_hash: str | None = manifest.get("content_hash")

    # --- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, allow_unhashed: bool = False) -> Bundle:
        """Open and verify a bundle: zip, manifest schema and every field, every listed file present with
        its sha256, the content hash, the label embeddings / head / open-set arrays.

        ``allow_unhashed``: also open a schema-1 bundle (made before bundles carried a content hash), with
        a warning: nothing then proves its manifest (labels, rates) was not edited.

        Raises:
            BundleError: for any damage (missing, not a zip, truncated, corrupted, unknown format or schema,
                a field of the wrong type or out of range, labels that do not match the model's output size,
                a file or the manifest modified after export). The message names the file and the fix.
        """
        if not isinstance(path, str | os.PathLike) or not str(path):
            raise BundleError(
                f"Bundle.open takes the path of a .mujo file (a str or Path), got {type(path).__name__} {path!r}"
            )
        if not isinstance(allow_unhashed, bool):
            raise ConfigError(f"allow_unhashed must be True or False, got {allow_unhashed!r}")
        p = Path(path)
        if p.is_dir():
            inside = sorted(x.name for x in p.glob("*.mujo"))
            hint = f"; it holds {', '.join(inside[:5])}" if inside else ""
            raise BundleError(
                f"{p} is a folder, not a bundle: give the .mujo file itself (what `mujo-edge export --out` "
                f"wrote){hint}"
            )
        if not p.is_file():
            raise BundleError(f"no bundle at {p}: the file does not exist. {_REGENERATE}")
        try:
            manifest, files = _read_zip(p)
            _check_schema(manifest, p, allow_unhashed)
            _validate(manifest, files, p)
            bundle = cls(p, manifest, files)
            bundle._load_arrays()
        except BundleError:
            raise
        except MujoError as e:  # a calibration or head table that does not load
            raise BundleError(f"{p}: {e}. {_REGENERATE}") from e
        except Exception as e:  # untrusted bytes: whatever escaped the checks is still damage, not a bug
            raise BundleError(
                f"{p} is damaged ({type(e).__name__}: {e}); the bundle cannot be used. {_REGENERATE}"
            ) from e
        log.info("opened bundle %s: %d labels, formats %s", p, len(bundle.labels), bundle.formats)
        return bundle

    def _load_arrays(self) -> None:
        """Load and check the label embeddings, head and open-set arrays and the calibration table now, so
        that a bad one fails :meth:`open`, not the first window of a stream."""
        m = self.manifest
        emb_dim = _embed_dim(self.models)
        self._label_embeddings = None
        meta = m.get("label_embeddings")
        if meta:
            self._label_embeddings = self._array(
                meta["file"], (len(self.model_labels), emb_dim), "label_embeddings"
            )
        head = m.get("head") or {"kind": "logits"}
        stats = StatsSpace.from_manifest(head["stats"]) if head.get("stats") else None
        with_stats = None if emb_dim is None else emb_dim + (0 if stats is None else stats.dim)
        weight = bias = None
        if head["kind"] == "linear":
            weight = self._array(head["file"], (len(self.labels), with_stats), "head")
            bias = np.asarray(head.get("bias") or np.zeros(len(self.labels)), np.float32)
        open_set = m.get("open_set")
        protos = threshold = precision = curve = None
        reject: tuple[str, ...] = ()
        kind = None
        if open_set:
            kind = open_set["kind"]
            reject = tuple(open_set.get("reject_labels") or ())
            dim = with_stats if kind == "euclidean" else emb_dim
            protos = self._array(open_set["file"], (None, dim), "open_set")
            threshold = float(open_set["threshold"])
            if open_set.get("keep_curve"):
                kc = open_set["keep_curve"]
                curve = np.stack(
                    [np.asarray(kc["keep"], np.float64), np.asarray(kc["threshold"], np.float64)], 1
                )
            if kind == "mahalanobis":
                precision = self._array(open_set["precision_file"], (emb_dim, emb_dim), "open_set precision")
        self.head = Head(
            head["kind"],
            self.labels,
            weight=weight,
            bias=bias,
            prototypes=protos,
            threshold=threshold,
            precision=precision,
            reject=reject,
            stats=stats,
            open_kind=kind,
            keep_curve=curve,
        )
        _ = self.calibration

    def _array(self, name: str, shape: tuple[int | None, int | None], key: str) -> np.ndarray:
        try:
            arr = np.load(io.BytesIO(self.file_bytes(name)), allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise BundleError(f"{self.path}: {name} is not a readable .npy array ({e}). {_REGENERATE}") from e
        want = tuple("D" if s is None else s for s in shape)
        ok = (
            arr.ndim == 2
            and arr.dtype.kind == "f"
            and all(s is None or s == a for s, a in zip(shape, arr.shape, strict=True))
            and arr.shape[0] > 0
        )
        if not ok:
            raise BundleError(
                f"{self.path}: {name} ({key}) must be a float array of shape {want}, got {arr.dtype} "
                f"{arr.shape}: it does not fit the bundle's labels or the model's embedding. {_REGENERATE}"
            )
        if not np.isfinite(arr).all():
            raise BundleError(f"{self.path}: {name} holds NaN or infinite values. {_REGENERATE}")
        table: np.ndarray = arr.astype(np.float32, copy=False)
        return table

    # --- contents --------------------------------------------------------------------------------
    def file_bytes(self, name: str) -> bytes:
        """The verified bytes of a file inside the bundle (e.g. a model file named in ``models``)."""
        try:
            return self._files[name]
        except (KeyError, TypeError):  # (TypeError: a name that is no str, e.g. a list)
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
            cal = PitCalibration.from_dict(table)
        except (CalibrationError, TypeError, ValueError, KeyError) as e:
            raise BundleError(
                f"{self.path}: the calibration table in the manifest cannot be loaded ({e}). {_REGENERATE}"
            ) from e
        if cal.channels != 3:
            raise BundleError(
                f"{self.path}: the calibration table has {cal.channels} channels, expected 3 (x, y, z). "
                f"{_REGENERATE}"
            )
        return cal

    @property
    def label_embeddings(self) -> np.ndarray | None:
        """(n_model_labels, D) float32 label-text embeddings of the model's classes in the student's joint
        space, or None.

        For on-device zero-shot: rank labels by the dot product of an L2-normalized window embedding
        (``runner.embed``) with these rows (see docs/bundle.md for why no row normalization is needed).
        """
        return self._label_embeddings

    @property
    def open_set_threshold(self) -> float | None:
        """The open-set score below which a window is :data:`~mujo_edge.constants.UNKNOWN_LABEL`, or None."""
        return self.head.threshold

    def model(self, fmt: str | None = None, dtype: str | None = None) -> ModelEntry:
        """The model entry of format ``fmt`` (and ``dtype``; int8 preferred), first available if None."""
        for what, v in (("fmt", fmt), ("dtype", dtype)):
            if v is not None and not isinstance(v, str):
                raise ConfigError(
                    f"{what} must be a str or None, got {type(v).__name__} {v!r}; this bundle holds "
                    f"{', '.join(f'{m.format}/{m.dtype}' for m in self.models)}"
                )
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
        The runner's ``labels`` are the model's classes (``model_labels``): its logits are the model's; the
        bundle's own labels come from :attr:`head` (:meth:`classify`, the pipeline).
        Raises MissingDependencyError when no runtime for the wanted format(s) is installed.
        """
        from mujo_edge.runners import make_runner, runtime_available

        count(threads, "threads", 1, "CPU threads for the model", ConfigError)
        if fmt is None:
            usable = [f for f in MODEL_FORMATS if f in self.formats and runtime_available(f)]
            # With no usable runtime, make_runner raises the precise MissingDependencyError.
            fmt = usable[0] if usable else next(f for f in MODEL_FORMATS if f in self.formats)
            log.info("bundle %s: running the %s model (best installed runtime)", self.path.name, fmt)
        return make_runner(_ModelView(self), self.model(fmt, dtype), threads=threads)  # type: ignore[arg-type]

    def classify(
        self, windows_g: np.ndarray, runner: Runner | None = None
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The bundle's answer for (B, WINDOW, 3) windows in g (after :attr:`calibration`): per window its
        label (:data:`~mujo_edge.constants.UNKNOWN_LABEL` when the open-set test rejects it), the (B, L)
        probabilities over :attr:`labels` and the (B,) open-set scores (+inf without a test)."""
        windows_g = _windows(windows_g)
        r = _runner(runner, "run") if runner is not None else self.runner()
        logits, emb = r.run(windows_g, embedding=self.head.needs_embedding)
        probs, scores = self.head(logits, emb, windows_g)
        known = self.head.known(scores)
        out = [
            self.labels[k] if ok else UNKNOWN_LABEL
            for k, ok in zip(probs.argmax(1).tolist(), known.tolist(), strict=True)
        ]
        return out, probs, scores

    def zero_shot(self, windows_g: np.ndarray, runner: Runner | None = None) -> np.ndarray:
        """(B, n_model_labels) float32 zero-shot scores: the joint-space cosine between each window and each
        label text of the model's classes, from the model's embedding output alone (no classifier head).

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
        windows_g = _windows(windows_g)
        r = _runner(runner, "embed") if runner is not None else self.runner()
        emb = r.embed(windows_g)
        if emb.shape[1] != table.shape[1]:
            raise BundleError(
                f"{self.path}: the model's embedding has {emb.shape[1]} dimensions but the label embeddings "
                f"have {table.shape[1]}; the bundle mixes two students. {_REGENERATE}"
            )
        return zero_shot_scores(emb, table)

    # --- deriving ----------------------------------------------------------------------------------
    def derive(
        self,
        out: str | Path,
        *,
        head: Head | None = None,
        head_info: Mapping[str, Any] | None = None,
        open_set_info: Mapping[str, Any] | None = None,
        calibration: Any = _KEEP,
        name: str | None = None,
        note: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Bundle:
        """Write a new bundle at ``out`` with the same model files and a new head, open-set test and/or
        calibration; everything else is copied. No torch: a phone can do it.

        Args:
            head: the new head (its labels become the bundle's labels; its prototypes and threshold the
                open-set test, None for none). None keeps this bundle's head and open-set test.
            head_info, open_set_info: extra manifest fields describing how they were made (source, texts,
                data, keep fraction...).
            calibration: a ``PitCalibration.to_dict()`` table, None to drop it; default keeps this one.
            note: recorded under ``derived_from`` with this bundle's name and content hash.
            extra: further manifest fields to set (e.g. ``calibration_target``); covered by the hash.
        """
        if not isinstance(out, str | os.PathLike) or not str(out):
            raise BundleError(f"derive: out must be the path of the new .mujo file, got {out!r}")
        if head is not None and not isinstance(head, Head):
            raise ConfigError(
                f"derive: head must be a Head (e.g. Bundle.head, fit_head's) or None, got {head!r}"
            )
        if calibration is not _KEEP and calibration is not None and not isinstance(calibration, Mapping):
            raise ConfigError(
                "derive: calibration must be a PitCalibration.to_dict() table or None (to drop it), got "
                f"{type(calibration).__name__}"
            )
        m = json.loads(json.dumps(self.manifest))
        drop = (HEAD_WEIGHT_FILE, OPEN_SET_FILE, OPEN_SET_PRECISION_FILE)
        files = {k: v for k, v in self._files.items() if k not in drop}
        for k in ("content_hash", "content_hash_scheme", "signature"):
            m.pop(k, None)
        m["schema_version"] = BUNDLE_SCHEMA_VERSION
        m.setdefault("model_labels", list(self.model_labels))
        h = head if head is not None else self.head
        if h.kind == "logits" and h.labels != self.model_labels:
            raise BundleError(
                f"a logits head must keep the model's labels {self.model_labels}, got {h.labels}; use a "
                "linear head for other labels"
            )
        m["labels"] = list(h.labels)
        m["head"] = head_manifest(
            h, files, head_info if head is not None else _extras(self.manifest.get("head"))
        )
        if open_set_info is None and head is None:
            open_set_info = _extras(self.manifest.get("open_set"))
        m["open_set"] = open_set_manifest(h, files, open_set_info)
        if calibration is not _KEEP:
            m["calibration"] = dict(calibration) if calibration else None
        if name is not None:
            m["name"] = name
        m["derived_from"] = {
            "name": self.manifest.get("name"),
            "content_hash": self.content_hash,
            **dict(note or {}),
        }
        from mujo_edge.provenance import provenance

        m["provenance"] = provenance(derived=True)
        m.update(extra or {})
        return write_bundle_zip(out, m, files)

    def summary(self) -> dict[str, Any]:
        """A small dict for display: labels, formats with sizes, calibration and verification."""
        return {
            "path": str(self.path),
            "labels": self.labels,
            "model_labels": self.model_labels,
            "head": self.head.kind,
            "open_set_threshold": self.head.threshold,
            # the keep fractions --open-set-keep accepts (None: the threshold cannot be moved on the device)
            "open_set_keep_range": None
            if self.head.keep_curve is None
            else [float(self.head.keep_curve[0, 0]), float(self.head.keep_curve[-1, 0])],
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
                    "batch": None if m.batch is None else m.batch.rows,
                }
                for m in self.models
            ],
            "calibration": bool(self.manifest.get("calibration")),
            "label_embeddings": bool(self.manifest.get("label_embeddings")),
            "verification": self.manifest.get("verification"),
            "content_hash": self.content_hash,
        }

    def __repr__(self) -> str:
        return f"Bundle({str(self.path)!r}, labels={len(self.labels)}, formats={self.formats})"


def _windows(windows_g: Any) -> np.ndarray:
    """``windows_g`` as an array of numbers for a runner (its shape is the runner's to check); ShapeError for
    strings, objects, complex or bool values."""
    return real_array(windows_g, np.dtype(np.float32), "windows ((B, WINDOW, 3) in g)", keep_float=True)


def _runner(runner: Any, need: str) -> Runner:
    """``runner`` when it has the method ``need`` a runner has; ConfigError otherwise."""
    if not callable(getattr(runner, need, None)):
        raise ConfigError(
            f"runner must be one of this bundle's runners (Bundle.runner()), got {type(runner).__name__}"
        )
    r: Runner = runner
    return r


class _ModelView:
    """What :func:`mujo_edge.runners.make_runner` reads of a bundle, with the MODEL's labels (the runner's
    logits are the model's classes, whatever head the bundle puts on top)."""

    def __init__(self, bundle: Bundle) -> None:
        self.formats = bundle.formats
        self.labels = bundle.model_labels
        self.window = bundle.window
        self.file_bytes = bundle.file_bytes


def _extras(entry: Mapping[str, Any] | None) -> dict[str, Any]:
    """The descriptive fields of a manifest ``head`` / ``open_set`` entry (what derive carries over)."""
    fixed = (
        "kind",
        "file",
        "shape",
        "bias",
        "threshold",
        "precision_file",
        "score",
        "unknown_label",
        "reject_labels",
        "reject_rule",
        "stats",
        "keep_curve",
    )
    return {k: v for k, v in (entry or {}).items() if k not in fixed}


def head_manifest(h: Head, files: dict[str, bytes], info: Mapping[str, Any] | None) -> dict[str, Any]:
    """The manifest's ``head`` entry for ``h`` (adds its weight file to ``files``)."""
    out: dict[str, Any] = {"kind": h.kind, **dict(info or {})}
    if h.kind == "linear":
        assert h.weight is not None and h.bias is not None
        files[HEAD_WEIGHT_FILE] = npy_bytes(h.weight)
        out.update(file=HEAD_WEIGHT_FILE, shape=list(h.weight.shape), bias=[float(b) for b in h.bias])
    if h.stats is not None:
        out["stats"] = h.stats.to_manifest()
    return out


def open_set_manifest(
    h: Head, files: dict[str, bytes], info: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The manifest's ``open_set`` entry for ``h`` (adds its prototypes to ``files``), None without a test."""
    if h.prototypes is None or h.threshold is None:
        return None
    files[OPEN_SET_FILE] = npy_bytes(h.prototypes)
    out: dict[str, Any] = {
        **dict(info or {}),
        "kind": h.score_kind,
        "file": OPEN_SET_FILE,
        "shape": list(h.prototypes.shape),
        "threshold": float(h.threshold),
        "unknown_label": UNKNOWN_LABEL,
    }
    if h.keep_curve is not None:
        out["keep_curve"] = {
            "keep": [float(k) for k in h.keep_curve[:, 0]],
            "threshold": [float(t) for t in h.keep_curve[:, 1]],
            "what": "the threshold that keeps each fraction of the known validation windows known "
            "(mujo-edge stream --open-set-keep F reads it)",
        }
    if h.precision is not None:
        files[OPEN_SET_PRECISION_FILE] = npy_bytes(h.precision)
        out["precision_file"] = OPEN_SET_PRECISION_FILE
        out["score"] = (
            "minus the squared Mahalanobis distance of the model embedding to the nearest class mean"
        )
    elif h.score_kind == "euclidean":
        out["score"] = (
            "minus the squared Euclidean distance of the head vector (the unit model embedding, then the "
            "weighted, standardized window statistics of head.stats when it has them) to the nearest prototype"
        )
    else:
        out["score"] = "largest cosine between the unit model embedding and the prototypes"
    if h.reject:
        out["reject_labels"] = list(h.reject)
        out["reject_rule"] = (
            "a window whose most probable label is one of reject_labels is unknown (its score is set "
            f"{REJECT_MARGIN} below the threshold); their probabilities are reported as 0"
        )
    return out


# --- reading and validation ------------------------------------------------------------------------
def _validate_keep_curve(p: Path, kc: Any) -> None:
    """BundleError unless ``kc`` (a manifest's ``open_set.keep_curve``) is absent or a valid curve."""
    if kc is None:
        return
    ok = (
        isinstance(kc, dict)
        and all(isinstance(kc.get(k), list) and all(_is_num(v) for v in kc[k]) for k in ("keep", "threshold"))
        and 0 < len(kc["keep"]) == len(kc["threshold"])
    )
    if ok:
        try:
            check_keep_curve(
                np.stack([np.asarray(kc["keep"], np.float64), np.asarray(kc["threshold"])], 1), True
            )
        except (ConfigError, ShapeError):
            ok = False
    if not ok:
        raise BundleError(
            f"{p}: open_set keep_curve must hold keep (strictly increasing fractions in (0, 1]) and threshold "
            f"(as many numbers, not rising), got {kc!r}. {_REGENERATE}"
        )


def _read_zip(p: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every listed file's bytes (sha256-verified). BundleError for any zip damage."""
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if MANIFEST_NAME not in names:
                raise BundleError(
                    f"{p} is a zip but has no {MANIFEST_NAME} at its root, so it is not a MuJo Edge "
                    f"bundle. {_REGENERATE}"
                )
            total = sum(i.file_size for i in infos)
            if total > MAX_BUNDLE_BYTES:
                raise BundleError(
                    f"{p} claims {total} bytes uncompressed, more than a bundle may hold "
                    f"({MAX_BUNDLE_BYTES}); it is damaged or not a bundle. {_REGENERATE}"
                )
            manifest = _parse_manifest(zf.read(MANIFEST_NAME), p)
            listed = manifest["files"]
            missing = sorted(set(listed) - set(names))
            if missing:
                raise BundleError(
                    f"{p} is incomplete: the manifest lists {', '.join(missing)} but the zip does not "
                    f"contain {'it' if len(missing) == 1 else 'them'}. The bundle was truncated or edited; "
                    f"{_REGENERATE}"
                )
            extra = sorted(set(names) - set(listed) - {MANIFEST_NAME})
            if extra:
                raise BundleError(
                    f"{p} holds {', '.join(extra)}, which the manifest does not list: files were added after "
                    f"export. {_REGENERATE}"
                )
            files = {name: zf.read(name) for name in listed}
    except BundleError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise BundleError(
            f"{p} is not a readable zip ({e}): the bundle is corrupted or truncated (an interrupted "
            f"download or copy?). {_REGENERATE}"
        ) from e
    except (zipfile.LargeZipFile, OSError) as e:
        raise BundleError(f"{p} cannot be read ({type(e).__name__}: {e}). {_REGENERATE}") from e
    except Exception as e:  # a damaged header makes zipfile raise ValueError, NotImplementedError, ...
        raise BundleError(
            f"{p} is not a readable zip ({type(e).__name__}: {e}): the bundle is corrupted or truncated. "
            f"{_REGENERATE}"
        ) from e
    for name, meta in listed.items():
        digest = sha256_bytes(files[name])
        if digest != meta.get("sha256"):
            raise BundleError(
                f"{p}: {name} has sha256 {digest[:16]}... but the manifest records "
                f"{str(meta.get('sha256'))[:16]}...: the file was modified after export (tampered or "
                f"damaged). Do not run it; {_REGENERATE}"
            )
    return manifest, files


def _parse_manifest(raw: bytes, p: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(raw, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise BundleError(f"{p}: {MANIFEST_NAME} is not valid JSON ({e}). {_REGENERATE}") from e
    manifest = check_format(
        manifest,
        BUNDLE_FORMAT,
        READABLE_SCHEMA_VERSIONS,
        BundleError,
        f"{p}: {MANIFEST_NAME}",
        "this is not a MuJo Edge bundle this mujo-edge can open; re-create it with `mujo-edge export` or use "
        "the shipped default bundle",
    )
    absent = [k for k in _REQUIRED_KEYS if k not in manifest]
    if absent:
        raise BundleError(f"{p}: {MANIFEST_NAME} lacks required keys {absent}. {_REGENERATE}")
    files = manifest["files"]
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("sha256"), str)
        for k, v in files.items()
    ):
        raise BundleError(f"{p}: manifest 'files' must map file names to {{sha256, bytes}}. {_REGENERATE}")
    for name in files:
        if not name or name.startswith(("/", "\\")) or ".." in name.split("/") or name == MANIFEST_NAME:
            raise BundleError(
                f"{p}: manifest 'files' names {name!r}, not a plain path inside the bundle. {_REGENERATE}"
            )
    return manifest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_schema(manifest: dict[str, Any], p: Path, allow_unhashed: bool) -> None:
    """The content hash (schema 2) or the explicit permission to open an unhashed schema-1 bundle."""
    if manifest["schema_version"] == 1:
        if not allow_unhashed:
            raise BundleError(
                f"{p} is a schema-1 bundle: it carries no content hash, so nothing proves its manifest "
                "(labels, rates, window) is the one it was exported with. Re-export it with this mujo-edge "
                "(`mujo-edge export --int8 STUDENT --out NEW.mujo`), or, if you trust this copy, re-pack it "
                "with a hash: `mujo-edge export --upgrade OLD.mujo --out NEW.mujo` (or open it anyway with "
                "Bundle.open(path, allow_unhashed=True))."
            )
        log.warning("%s: schema-1 bundle without a content hash, opened because allow_unhashed=True", p)
        return
    absent = [k for k in _REQUIRED_V2 if k not in manifest]
    if absent:
        raise BundleError(f"{p}: {MANIFEST_NAME} lacks required keys {absent}. {_REGENERATE}")
    recorded = manifest["content_hash"]
    if not isinstance(recorded, str) or not _HEX64.match(recorded):
        raise BundleError(f"{p}: content_hash must be 64 hex digits, got {recorded!r}. {_REGENERATE}")
    try:
        actual = manifest_content_hash(manifest)
    except (TypeError, ValueError) as e:
        raise BundleError(f"{p}: the manifest cannot be hashed ({e}). {_REGENERATE}") from e
    if actual != recorded:
        raise BundleError(
            f"{p}: the manifest's content hash is {actual[:16]}... but it records {recorded[:16]}...: the "
            "manifest (labels, rates, window, calibration, head or thresholds) was edited after export. Do "
            f"not run it; {_REGENERATE}"
        )


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _labels(v: Any, key: str, p: Path) -> list[str]:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x.strip() for x in v):
        raise BundleError(
            f"{p}: manifest {key!r} must be a non-empty list of label names, got {v!r}. {_REGENERATE}"
        )
    if len(set(v)) != len(v):
        dup = sorted({x for x in v if v.count(x) > 1})
        raise BundleError(f"{p}: manifest {key!r} names {dup} more than once. {_REGENERATE}")
    return v


def _validate(manifest: dict[str, Any], files: Mapping[str, bytes], p: Path) -> None:
    """Types, ranges and consistency of every field the runtime uses. BundleError names the field."""

    def bad(key: str, want: str) -> BundleError:
        return BundleError(
            f"{p}: manifest {key!r} must be {want}, got {manifest.get(key)!r}. The manifest is damaged; "
            f"{_REGENERATE}"
        )

    labels = _labels(manifest["labels"], "labels", p)
    model_labels = _labels(manifest.get("model_labels") or labels, "model_labels", p)
    if UNKNOWN_LABEL in labels:
        raise BundleError(
            f"{p}: {UNKNOWN_LABEL!r} is reserved for the open-set answer, not a label. {_REGENERATE}"
        )
    r = manifest["rate_hz"]
    if not _is_num(r) or not RATE_HZ_RANGE[0] <= r <= RATE_HZ_RANGE[1]:
        raise bad("rate_hz", f"a number of Hz in {list(RATE_HZ_RANGE)}")
    w = manifest["window"]
    if not _is_int(w) or not WINDOW_RANGE[0] <= w <= WINDOW_RANGE[1]:
        raise bad("window", f"an integer number of samples in {list(WINDOW_RANGE)}")
    h = manifest["hop"]
    if not _is_int(h) or not 1 <= h <= w:
        raise bad("hop", f"an integer number of samples in [1, window={w}]")
    if manifest.get("axis_order", ["x", "y", "z"]) != ["x", "y", "z"]:
        raise bad("axis_order", '["x", "y", "z"]')
    if manifest.get("units", "g") != "g":
        raise bad("units", '"g"')
    inp = manifest["input"]
    if not isinstance(inp, dict) or inp.get("shape", [1, w, 3]) != [1, w, 3]:
        raise bad("input", f"an object with shape [1, {w}, 3]")
    models = manifest["models"]
    if not isinstance(models, list) or not models or not all(isinstance(m, dict) for m in models):
        raise BundleError(f"{p}: the bundle holds no model (manifest 'models' is {models!r}). {_REGENERATE}")
    emb_dims = set()
    for m in models:
        if m.get("file") not in files:
            raise BundleError(
                f"{p}: model {m.get('format')!r} points at {m.get('file')!r}, which the manifest's file "
                f"list does not hold. {_REGENERATE}"
            )
        entry = _model_entry(m, p)
        if entry.dtype not in ("int8", "float32"):
            raise BundleError(
                f"{p}: model {entry.file} has dtype {entry.dtype!r}, expected int8 or float32. {_REGENERATE}"
            )
        variant = () if entry.batch is None else (*entry.batch.inputs, *entry.batch.outputs)
        for t in (*entry.inputs, *entry.outputs, *variant):
            if not t.shape or any(s < 1 for s in t.shape) or t.position < 0:
                raise BundleError(
                    f"{p}: model {entry.file} tensor {t.name!r} has shape {t.shape} / position {t.position}. {_REGENERATE}"
                )
            if t.scale is not None and not (math.isfinite(t.scale) and t.scale > 0):
                raise BundleError(
                    f"{p}: model {entry.file} tensor {t.name!r} has scale {t.scale}. {_REGENERATE}"
                )
            if t.zero_point is not None and not -128 <= t.zero_point <= 255:
                raise BundleError(
                    f"{p}: model {entry.file} tensor {t.name!r} has zero point {t.zero_point}. {_REGENERATE}"
                )
        if len({t.position for t in entry.outputs}) != len(entry.outputs):
            raise BundleError(f"{p}: model {entry.file} names one output position twice. {_REGENERATE}")
        want_in = window_shape(entry.input_layout, w, 1)
        if not entry.inputs or tuple(entry.inputs[0].shape) != want_in:
            raise BundleError(
                f"{p}: model {entry.file} takes {entry.inputs[0].shape if entry.inputs else 'no input'}, "
                f"but the bundle's window is {w} samples of 3 axes, {want_in} in its input_layout "
                f"{entry.input_layout}. {_REGENERATE}"
            )
        logits = entry.output("logits")
        if logits is None:
            raise BundleError(f"{p}: model {entry.file} has no 'logits' output. {_REGENERATE}")
        if logits.shape[-1] != len(model_labels):
            raise BundleError(
                f"{p}: model {entry.file} returns {logits.shape[-1]} logits but the manifest names "
                f"{len(model_labels)} model labels {model_labels}: labels and model do not match (a label "
                f"was added or dropped). {_REGENERATE}"
            )
        probs = entry.output(PROBABILITIES)
        if probs is not None and (
            probs.dtype != "float32" or probs.shape != logits.shape or entry.format != "tflite"
        ):
            raise BundleError(
                f"{p}: model {entry.file} has a {probs.dtype} {PROBABILITIES!r} output of shape {probs.shape}; "
                f"it must be the float32 softmax of the logits {logits.shape} of a .tflite model. {_REGENERATE}"
            )
        emb = entry.output("embedding")
        emb_dims.add(None if emb is None else emb.shape[-1])
        if entry.batch is not None:
            _validate_batch(entry, entry.batch, m["batch"], files, p, w)
    if len(emb_dims) != 1:
        raise BundleError(
            f"{p}: the bundle's models disagree on the embedding size {sorted(map(str, emb_dims))}. {_REGENERATE}"
        )
    emb_dim = emb_dims.pop()
    _validate_arrays_meta(manifest, files, p, labels, model_labels, emb_dim)


def _validate_arrays_meta(
    manifest: dict[str, Any],
    files: Mapping[str, bytes],
    p: Path,
    labels: list[str],
    model_labels: list[str],
    emb_dim: int | None,
) -> None:
    target = manifest.get("calibration_target")
    if target is not None:
        tq = target.get("target_q") if isinstance(target, dict) else None
        ok = (
            isinstance(tq, list)
            and len(tq) == 3
            and all(isinstance(r, list) and len(r) >= 2 and all(_is_num(v) for v in r) for r in tq)
            and all(all(a <= b for a, b in itertools.pairwise(r)) for r in tq)
        )
        if not ok:
            raise BundleError(
                f"{p}: calibration_target must hold target_q: 3 non-decreasing lists of numbers. {_REGENERATE}"
            )
    cal = manifest.get("calibration")
    if cal is not None and not isinstance(cal, dict):
        raise BundleError(f"{p}: manifest 'calibration' must be a PIT table object or null. {_REGENERATE}")
    for key in ("label_embeddings", "open_set"):
        meta = manifest.get(key)
        if meta is None:
            continue
        if not isinstance(meta, dict) or meta.get("file") not in files:
            raise BundleError(
                f"{p}: manifest {key!r} must name a file of the bundle, got {meta!r}. {_REGENERATE}"
            )
        if emb_dim is None:
            raise BundleError(
                f"{p}: {key} needs the model's embedding output, which the model lacks. {_REGENERATE}"
            )
    open_set = manifest.get("open_set")
    if open_set is not None:
        kind = open_set.get("kind")
        if kind not in OPEN_SET_KINDS:
            raise BundleError(
                f"{p}: open_set kind must be one of {OPEN_SET_KINDS}, got {kind!r}. {_REGENERATE}"
            )
        t = open_set.get("threshold")
        if not _is_num(t) or (kind == "cosine" and not -1.0 <= t <= 1.0):
            want = "a cosine in [-1, 1]" if kind == "cosine" else "a finite number"
            raise BundleError(f"{p}: open_set threshold must be {want}, got {t!r}. {_REGENERATE}")
        if kind == "mahalanobis" and open_set.get("precision_file") not in files:
            raise BundleError(f"{p}: a mahalanobis open-set test needs its precision file. {_REGENERATE}")
        _validate_keep_curve(p, open_set.get("keep_curve"))
        reject = open_set.get("reject_labels")
        if reject is not None and (
            not isinstance(reject, list)
            or not all(isinstance(r, str) and r in labels for r in reject)
            or len(set(reject)) >= len(labels)
        ):
            raise BundleError(
                f"{p}: open_set reject_labels must be a list of some (not all) of the labels {labels}, got "
                f"{reject!r}. {_REGENERATE}"
            )
    head = manifest.get("head") or {"kind": "logits"}
    if not isinstance(head, dict) or head.get("kind") not in ("logits", "linear"):
        raise BundleError(
            f"{p}: manifest 'head' must be an object with kind logits or linear, got {head!r}. {_REGENERATE}"
        )
    stats = head.get("stats")
    if stats is not None and (
        not isinstance(stats, dict)
        or not {"features", "mean", "std", "weight"} <= set(stats)
        or not all(isinstance(stats[k], list) and all(_is_num(v) for v in stats[k]) for k in ("mean", "std"))
        or not _is_num(stats["weight"])
    ):
        raise BundleError(
            f"{p}: head stats must be an object with features, mean, std (lists of numbers) and weight. "
            f"{_REGENERATE}"
        )
    if head["kind"] == "logits" and labels != model_labels:
        raise BundleError(
            f"{p}: the head is the model's logits, so labels {labels} must equal the model labels "
            f"{model_labels}. {_REGENERATE}"
        )
    if head["kind"] == "linear":
        if head.get("file") not in files or emb_dim is None:
            raise BundleError(
                f"{p}: a linear head needs its weight file and the model's embedding output. {_REGENERATE}"
            )
        bias = head.get("bias")
        if bias is not None and (
            not isinstance(bias, list) or len(bias) != len(labels) or not all(_is_num(b) for b in bias)
        ):
            raise BundleError(
                f"{p}: head bias must be {len(labels)} finite numbers, one per label. {_REGENERATE}"
            )


#: Largest batch a batch variant may declare (windows per call).
MAX_BATCH = 4096


def _validate_batch(
    entry: ModelEntry, b: ModelEntry, raw: Mapping[str, Any], files: Mapping[str, bytes], p: Path, w: int
) -> None:
    """The batch variant of ``entry`` (manifest ``raw``; it shares the model's format, dtype and layout):
    its own file, listed with the same sha256, a batch of 2..MAX_BATCH windows of the bundle's window, and
    the streaming model's outputs (names and sizes; a converter may order them differently) with that
    batch."""
    what = f"{p}: the batch variant {b.file!r} of model {entry.file}"
    if b.file not in files or b.file == entry.file:
        raise BundleError(f"{what} is not a separate file in the manifest's file list. {_REGENERATE}")
    digest = sha256_bytes(files[b.file])
    if raw.get("sha256") != digest:
        raise BundleError(
            f"{what} records sha256 {str(raw.get('sha256'))[:16]}... but the file is {digest[:16]}...: the "
            f"variant does not belong to this bundle. {_REGENERATE}"
        )
    n = b.rows
    if (
        raw.get("size", n) != n
        or not 2 <= n <= MAX_BATCH
        or len(b.inputs) != 1
        or tuple(b.inputs[0].shape) != window_shape(entry.input_layout, w, n)
    ):
        raise BundleError(
            f"{what} takes {b.inputs[0].shape if b.inputs else 'no input'}; expected a batch of 2 to "
            f"{MAX_BATCH} windows of {w} samples of 3 axes. {_REGENERATE}"
        )
    want = sorted((o.name, (n, *o.shape[1:])) for o in entry.outputs)
    have = sorted((o.name, o.shape) for o in b.outputs)
    if want != have:
        raise BundleError(
            f"{what} returns {have}, expected the model's outputs with batch {n}: {want}. {_REGENERATE}"
        )


def _embed_dim(models: list[ModelEntry]) -> int | None:
    emb = models[0].output("embedding")
    return None if emb is None else int(emb.shape[-1])


def window_shape(layout: str, window: int, batch: int) -> tuple[int, int, int]:
    """A model's input shape for ``batch`` windows in its ``input_layout``: BWC (batch, samples, axes), the
    window as the pipeline holds it, or BCW (batch, axes, samples)."""
    return (batch, window, 3) if layout == "BWC" else (batch, 3, window)


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
        batch = m.get("batch")
        if batch is not None and not isinstance(batch, Mapping):
            raise TypeError(f"'batch' must be an object, got {type(batch).__name__}")
        return ModelEntry(
            format=str(fmt),
            file=str(m["file"]),
            dtype=str(m["dtype"]),
            input_layout=str(layout),
            inputs=tuple(TensorSpec.from_dict(t) for t in m["inputs"]),
            outputs=tuple(TensorSpec.from_dict(t) for t in m["outputs"]),
            info=dict(m),
            batch=None
            if batch is None
            else _model_entry({**batch, "format": fmt, "input_layout": layout, "dtype": m["dtype"]}, p),
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise BundleError(f"{p}: model entry {m.get('file')!r} is malformed ({e!r}). {_REGENERATE}") from e


def calibration_target_entry(model_input_g: np.ndarray, n_quantiles: int | None = None) -> dict[str, Any]:
    """The manifest's ``calibration_target``: per-channel quantiles (3, Q) of the windows the model was
    trained on, as the model takes them (after the training PIT table, if any). ``mujo-edge calibrate``
    maps a user's unlabelled stream onto them."""
    from mujo_edge.constants import PIT_QUANTILES

    q = n_quantiles or PIT_QUANTILES
    x = np.asarray(model_input_g, np.float64).reshape(-1, 3)
    tq = np.maximum.accumulate(np.quantile(x, np.linspace(0, 1, q), axis=0).T.astype(np.float32), axis=1)
    return {
        "what": "per-channel quantiles of the model's training input (g), at probabilities linspace(0, 1, Q)",
        "n": int(x.shape[0]),
        "target_q": [[float(v) for v in row] for row in tq],
    }


def upgrade_bundle(old: str | Path, out: str | Path) -> Bundle:
    """Re-pack a schema-1 bundle (no content hash) as schema 2, trusting its current content: the model's
    logits become the head, no open-set test. For a copy you trust; re-exporting is better."""
    b = Bundle.open(old, allow_unhashed=True)
    if b.manifest.get("schema_version") != 1:
        raise BundleError(
            f"{old} is already a schema-{b.manifest.get('schema_version')} bundle with a content hash: nothing to "
            "upgrade (re-packing would drop its head and open-set test); use it as it is"
        )
    return b.derive(out, head=Head("logits", b.model_labels), note={"upgraded_from_schema": 1})
