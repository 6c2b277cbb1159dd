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
``pose.npy``       (N, 100, 17, 3)        float32  optional, 3D joints in metres (H36M order); float16
                                                   accepted (half the disk and page cache of large corpora)
``gyr.npy``        (N, 100, 3)            float32  optional, angular rate in rad/s
``video.npy``      (N, F)                 float32  optional, user-supplied video features
``text.npy``       (T, D)                 float32  optional, frozen sentence embeddings of every string
                                                   in ``manifest["texts"]`` (``{"label", "kind", "text"}``)
``text_id.npy``    (N,)                   int64    optional, the text each window is paired with
=================  =====================  =======  ===============================================

``manifest.json`` holds label names, per-label text, rate, window, hop, axis convention, the arrays present
with shapes, provenance and a content hash over the arrays. Other ``.npy`` arrays listed in the manifest (per-
window extras such as presence masks) are opened too and kept in :attr:`Dataset.extra`.

Arrays are opened memory-mapped, so opening a corpus of tens of GB costs no memory; :func:`read_rows` reads
the rows of a batch with plain file reads, so training touches no more than a batch (the pages of a memory
map that were read would stay in the process's resident set until the whole corpus is resident).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge._checks import count, mapping, names, number, real_array
from mujo_edge._checks import path as _checks_path
from mujo_edge._checks import text as a_str
from mujo_edge.constants import AXIS_CONVENTION, H36M_JOINTS, HOP, N_JOINTS, RATE_HZ, WINDOW
from mujo_edge.errors import DataError, ShapeError
from mujo_edge.provenance import content_hash, manifest_format, provenance, read_manifest, write_json

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
    # per-window extras of the synthetic corpus (ids index manifest["placements"], ["variants"], ["orientations"])
    "placement": "index",
    "variant": "index",
    "orientation": "index",
    "source_rate_hz": "Hz",
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
    def open(cls, path: str | Path, verify: bool = True) -> Dataset:
        """Open a dataset folder.

        Args:
            path: the folder holding ``manifest.json``.
            verify: recompute the content hash and refuse a dataset whose arrays changed (default; it reads
                every array once). ``False`` skips it, e.g. for a corpus checked already.
        Raises:
            DataError: missing folder / manifest / array, unknown format or schema, a manifest field of the
                wrong type, shape / dtype mismatch, an index out of range, a stale content hash, and (when
                verifying) NaN or inf among the samples.
        """
        root = _checks_path(path, "Dataset.open: path")
        if not isinstance(verify, bool):
            raise DataError(
                f"Dataset.open: verify must be True or False, got {type(verify).__name__} {verify!r}"
            )
        manifest = read_manifest(
            root,
            DATASET_FORMAT,
            DATASET_SCHEMA_VERSION,
            DataError,
            "`mujo-edge data synth` or `mujo-edge data import ...`",
        )
        _check_manifest(root, manifest)
        arrays: dict[str, np.ndarray] = {}
        for name, info in manifest["arrays"].items():
            f = root / f"{name}.npy"
            if not f.is_file():
                raise DataError(
                    f"{root}: manifest lists {name}.npy but the file is missing; re-create the dataset."
                )
            try:
                arrays[name] = np.load(f, mmap_mode="r", allow_pickle=False)
            except (ValueError, EOFError, OSError) as e:
                size = f.stat().st_size
                raise DataError(
                    f"{f} ({size} bytes) is not a readable .npy array ({type(e).__name__}: {e}); "
                    "re-create the dataset."
                ) from e
            listed = info.get("shape") if isinstance(info, dict) else None
            if listed is not None and list(arrays[name].shape) != list(listed):
                raise DataError(
                    f"{f}: shape {list(arrays[name].shape)} but the manifest lists {listed}; the file was "
                    "replaced or truncated. Re-create the dataset."
                )
        for name in REQUIRED_ARRAYS:
            if name not in arrays:
                raise DataError(f"{root}: required array {name}.npy is missing from the manifest.")
        if verify:
            # (the samples too: a dataset edited and re-hashed with a NaN trained NaN weights without a word)
            bad = first_non_finite_row(arrays["acc"])
            if bad is not None:
                raise DataError(
                    f"{root}: acc.npy window {bad} holds NaN or infinite values; training on it would give NaN "
                    "weights. Re-create the dataset from clean input or drop that window."
                )
            digest = content_hash([root / f"{n}.npy" for n in manifest["arrays"]], root)
            if digest != manifest.get("content_hash"):
                raise DataError(
                    f"{root}: content hash {digest[:12]} does not match the manifest's "
                    f"{str(manifest.get('content_hash'))[:12]}: the arrays were modified after the dataset was "
                    "written. Re-create the dataset (or, if you changed it on purpose and checked it, open it "
                    "without verification: `mujo-edge pretrain --no-verify-data`, "
                    "Dataset.open(path, verify=False) in Python)."
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
        _check_indices(ds)
        return ds


def _check_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """The manifest fields every reader relies on, with their types; a DataError naming the first bad one."""
    where = root / "manifest.json"
    labels = manifest.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(v, str) for v in labels):
        raise DataError(
            f"{where}: 'labels' must be a non-empty list of label names, found {str(labels)[:80]!r}; "
            "re-create the dataset."
        )
    twice = sorted({v for v in labels if labels.count(v) > 1})
    if twice:
        raise DataError(
            f"{where}: 'labels' names {twice} more than once, so windows of one activity would train as two "
            "classes; re-create the dataset."
        )
    rate = manifest.get("rate_hz")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1e5:
        raise DataError(f"{where}: 'rate_hz' must be a positive number of Hz, found {rate!r}; re-create it.")
    arrays = manifest.get("arrays")
    if not isinstance(arrays, dict) or not all(isinstance(k, str) and k.isidentifier() for k in arrays):
        raise DataError(
            f"{where}: 'arrays' must map array names to their shapes, found {str(arrays)[:80]!r}; re-create it."
        )


def _check_indices(ds: Dataset) -> None:
    """Dtypes and index ranges: label into the label names, text_id into text.npy (both small to read)."""
    for name in ("label", "subject", "recording", "start", "text_id"):
        arr = getattr(ds, name)
        if arr is not None and arr.dtype.kind not in "iu":
            raise DataError(
                f"{ds.root}: {name}.npy must hold integers, found dtype {arr.dtype}; re-create it."
            )
    for name in ("acc", "pose", "gyr", "video", "text"):
        arr = getattr(ds, name)
        if arr is not None and arr.dtype not in (np.float32, np.float16):
            raise DataError(
                f"{ds.root}: {name}.npy must be float32 (or float16), found dtype {arr.dtype}; re-create it."
            )
    label = np.asarray(ds.label)
    bad = np.flatnonzero((label < 0) | (label >= len(ds.labels)))
    if bad.size:
        raise DataError(
            f"{ds.root}: label.npy window {int(bad[0])} holds {int(label[bad[0]])}, but the manifest names "
            f"{len(ds.labels)} labels ({bad.size} windows out of range); re-create the dataset."
        )
    if (ds.text is None) != (ds.text_id is None):
        raise DataError(f"{ds.root}: text.npy and text_id.npy come together, but only one is present.")
    if ds.text is not None and ds.text_id is not None:
        tid = np.asarray(ds.text_id)
        if tid.shape != label.shape or ds.text.ndim != 2:
            raise DataError(
                f"{ds.root}: text_id.npy must be ({len(label)},) and text.npy (T, D), found "
                f"{tid.shape} and {ds.text.shape}; re-create the dataset."
            )
        bad = np.flatnonzero((tid < 0) | (tid >= ds.text.shape[0]))
        if bad.size:
            raise DataError(
                f"{ds.root}: text_id.npy window {int(bad[0])} points at text {int(tid[bad[0]])}, but text.npy "
                f"has {ds.text.shape[0]} rows ({bad.size} windows out of range); re-create the dataset."
            )


def check_dataset_out(out: str | Path, overwrite: bool, otherwise: str = " or pass --force") -> None:
    """DataError, before any work, when a dataset may not be written at ``out``: a file (never replaced); a
    folder holding another kind of artifact (a classifier, a pretraining run: never replaced, even when
    overwriting); a dataset, unless ``overwrite`` (``otherwise`` says how to allow it, after "choose another
    --out"). Every importer and writer of datasets asks this one."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(
            f"--out {out} is an existing file, not a dataset folder; it is never replaced (not even with "
            "--force): choose a new folder name for --out"
        )
    if not (out / "manifest.json").exists():
        return
    found = manifest_format(out)
    if found != DATASET_FORMAT:
        held = f"a {found}" if isinstance(found, str) else "a manifest.json of no known kind"
        raise DataError(
            f"{out} holds {held}, not a dataset; it is never replaced by one (not even with --force): choose "
            "another --out"
        )
    if not overwrite:
        raise DataError(f"{out} already holds a dataset; choose another --out{otherwise}.")


def first_non_finite_row(arr: np.ndarray, block: int = 4096) -> int | None:
    """The first row of a float array holding NaN or inf (None: none, or not a float array), read in blocks
    of rows, so a memory-mapped corpus of many GB is checked without a copy of its size."""
    for lo in range(0, arr.shape[0] if arr.dtype.kind == "f" else 0, block):
        rows = np.asarray(arr[lo : lo + block])
        if not np.isfinite(rows).all():
            return lo + int(np.argwhere(~np.isfinite(rows))[0][0])
    return None


def read_rows(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``arr[idx]`` for sorted row indices ``idx``, read from the file of a memory-mapped array with plain reads.

    Rows of consecutive indices are read together. Nothing of the file stays mapped in the process (its pages
    live in the OS page cache, which the kernel reclaims), so the resident memory of a trainer is its batches,
    not the part of the corpus it has seen. A plain in-memory array is simply indexed.
    """
    idx = np.asarray(idx, dtype=np.int64)
    mm: Any = arr  # a np.memmap: .filename and .offset
    whole_file = isinstance(arr, np.memmap) and isinstance(arr.base, mmap.mmap)  # not a view of one
    if not whole_file or mm.filename is None or not arr.flags.c_contiguous or idx.size == 0:
        return np.asarray(arr[idx])
    row_shape = arr.shape[1:]
    row_bytes = arr.dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))
    out = np.empty((idx.size, *row_shape), dtype=arr.dtype)
    flat = out.reshape(idx.size, -1).view(np.uint8).reshape(idx.size, row_bytes)
    runs = np.flatnonzero(np.diff(idx) != 1) + 1
    fd = os.open(mm.filename, os.O_RDONLY)
    try:
        for lo, hi in zip(np.r_[0, runs], np.r_[runs, idx.size], strict=True):
            first = int(idx[lo])
            if first < 0 or int(idx[hi - 1]) >= arr.shape[0]:
                raise IndexError(f"rows {first}..{int(idx[hi - 1])} out of range for {arr.shape[0]} rows")
            want = (hi - lo) * row_bytes
            buf = os.pread(fd, want, mm.offset + first * row_bytes)
            if len(buf) != want:
                raise DataError(f"{mm.filename} ended early (read {len(buf)} of {want} bytes); re-create it.")
            flat[lo:hi] = np.frombuffer(buf, dtype=np.uint8).reshape(hi - lo, row_bytes)
    finally:
        os.close(fd)
    return out


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


#: Manifest fields write_dataset derives from its arguments and arrays; extra_manifest may not replace them.
_WRITTEN_FIELDS = frozenset(
    {"format", "schema_version", "rate_hz", "window", "hop", "labels", "n_windows", "arrays", "content_hash"}
)


def _floats(x: Any, what: str) -> np.ndarray:
    """An array argument of real numbers (float16 pose kept as it is); ShapeError for strings, objects, None."""
    if x is None:
        raise ShapeError(f"{what} is required: pass a numeric numpy array")
    a = real_array(x, np.dtype(np.float32), what, keep_float=True)
    return a if a.dtype in (np.float32, np.float16) else a.astype(np.float32)


def _ints(x: Any, what: str) -> np.ndarray:
    """A contiguous int64 array of whole numbers; ShapeError for fractions, strings, objects."""
    if x is None:
        raise ShapeError(f"{what} is required: pass an (N,) integer numpy array")
    a = real_array(x, np.dtype(np.int64), what, keep_float=True)
    if a.dtype.kind == "f":
        if not (np.isfinite(a).all() and (a == np.round(a)).all()):
            raise ShapeError(
                f"{what} must hold whole numbers, got fractional or non-finite values: pass integers"
            )
        a = a.astype(np.int64)
    return np.ascontiguousarray(a, dtype=np.int64)


def _numeric(x: Any, what: str) -> np.ndarray:
    """A contiguous array of numbers (bool, int or float) in its own dtype; ShapeError for anything else."""
    try:
        a = np.ascontiguousarray(x)
    except (TypeError, ValueError) as e:
        raise ShapeError(f"{what} must be an array of numbers ({e}): pass a numeric numpy array") from None
    if a.dtype.kind not in "biuf":
        raise ShapeError(f"{what} must hold numbers, got dtype {a.dtype}: pass a numeric numpy array")
    return a


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
    extra_arrays: Mapping[str, np.ndarray] | None = None,
) -> Dataset:
    """Write a dataset folder and return it opened.

    Arrays are validated (shapes, finite values, label range) before anything is written, so a failed
    write never leaves a half-valid dataset behind. ``extra_arrays``: more per-window arrays (first axis N,
    e.g. the synthetic corpus's ``placement``), written as ``<name>.npy`` and opened into ``Dataset.extra``.
    """
    root = _checks_path(out, "write_dataset: out")
    if not isinstance(overwrite, bool):
        raise DataError(
            f"write_dataset: overwrite must be True or False, got {type(overwrite).__name__} {overwrite!r}"
        )
    check_dataset_out(root, overwrite, " or remove it first")
    # every argument is checked before the first file is written: a failed call leaves no half-made dataset
    # and an existing one (overwrite=True) as it was
    acc = np.ascontiguousarray(_floats(acc, f"{root}: acc"), dtype=np.float32)
    label = _ints(label, f"{root}: label")
    subject = _ints(subject, f"{root}: subject")
    recording = _ints(recording, f"{root}: recording")
    start = _ints(start, f"{root}: start")
    pose, gyr, video, text = (
        None if v is None else _floats(v, f"{root}: {k}")
        for k, v in (("pose", pose), ("gyr", gyr), ("video", video), ("text", text))
    )
    _validate(acc, label, subject, recording, start, pose, gyr, video, where=str(root))
    rate_hz = number(rate_hz, f"{root}: rate_hz", hi=1e5, fix="pass the sample rate in Hz", error=DataError)
    window = count(window, f"{root}: window", 1, "pass the samples per window", error=DataError)
    hop = count(hop, f"{root}: hop", 1, "pass the samples between window starts", error=DataError)
    if acc.shape[1] != window:
        raise ShapeError(f"{root}: acc windows have {acc.shape[1]} samples but window={window}")
    labels = names(labels, f"{root}: labels", "pass the label names, e.g. ['squat', 'lunge']", DataError)
    if len(labels) == 0:
        raise DataError(f"{root}: a dataset needs at least one label name")
    twice = sorted({v for v in labels if labels.count(v) > 1})
    if twice:
        raise DataError(f"{root}: labels names {twice} more than once; give each activity one label name")
    fix_text = "pass {label name: [titles or descriptions]}"
    label_text = mapping(label_text or {}, f"{root}: label_text", fix_text, DataError)
    for k, v in label_text.items():
        a_str(k, f"{root}: a label_text key", fix_text, DataError)
        names(v, f"{root}: label_text[{k!r}]", fix_text, DataError)
    unknown = [k for k in label_text if k not in labels]
    if unknown:
        raise DataError(
            f"{root}: label_text has text for {unknown}, which are not labels of this dataset ({list(labels)}): "
            "give text only for its labels (leave the others out)"
        )
    name = a_str(name, f"{root}: name", "pass the dataset's name", DataError)
    source = a_str(source, f"{root}: source", "pass where the data came from", DataError)
    if seed is not None:
        seed = count(seed, f"{root}: seed", 0, "pass the seed that made the data, or None", DataError)
    fix_extra = "pass {field name: JSON value}"
    extra_manifest = mapping(extra_manifest or {}, f"{root}: extra_manifest", fix_extra, DataError)
    clash = sorted(set(extra_manifest) & _WRITTEN_FIELDS)
    if clash:
        raise DataError(
            f"{root}: extra_manifest may not set {clash}, which write_dataset derives from the arrays; pass "
            "them as write_dataset's own arguments"
        )
    fix_arrays = "pass {array name: (N, ...) per-window array}"
    extra_arrays = mapping(extra_arrays or {}, f"{root}: extra_arrays", fix_arrays, DataError)
    for k in extra_arrays:
        if not (isinstance(k, str) and k.isidentifier()):
            raise DataError(
                f"{root}: extra array name {k!r} must be a plain identifier (it becomes <name>.npy): {fix_arrays}"
            )
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
            keep16 = k == "pose" and np.asarray(v).dtype == np.float16  # large corpora store pose in half
            arrays[k] = np.ascontiguousarray(v, dtype=np.float16 if keep16 else np.float32)
    if text is not None and text_id is None:
        raise ShapeError(f"{root}: text needs text_id beside it (the text row each window is paired with)")
    if text_id is not None:
        text_id = _ints(text_id, f"{root}: text_id")
        if text is None or text_id.shape != label.shape or text.ndim != 2:
            raise ShapeError(
                f"{root}: text_id must be ({label.shape[0]},) and needs text (T, D) beside it, got "
                f"{text_id.shape} and {None if text is None else text.shape}"
            )
        if text_id.size and (text_id.min() < 0 or text_id.max() >= text.shape[0]):
            raise DataError(f"{root}: text_id indices must be in [0, {text.shape[0]})")
        arrays["text_id"] = np.ascontiguousarray(text_id, dtype=np.int64)
    for k, v in (extra_arrays or {}).items():
        if k in arrays or k in REQUIRED_ARRAYS or k in OPTIONAL_ARRAYS or np.shape(v)[:1] != label.shape:
            raise ShapeError(
                f"{root}: extra array {k!r} must have a new name and one row per window ({label.shape[0]}, ...), "
                f"got shape {np.shape(v)}"
            )
        arrays[k] = _numeric(v, f"{root}: extra array {k!r}")
    for k, v in arrays.items():
        bad = first_non_finite_row(v)
        if bad is not None:
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
