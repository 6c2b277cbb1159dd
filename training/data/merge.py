"""Merge dataset folders into one: ``mujo-edge data merge A B ... --out C``.

The datasets must share the grid (``rate_hz``, ``window``, ``hop``) and the accelerometer axis convention;
their windows are concatenated in the order given.

- **Labels** are the union in order of first appearance (``label.npy`` is re-indexed), ``label_text`` the union
  of each label's strings.
- **Subjects stay distinct**: a dataset keeps its subject ids unless one was already used by an earlier
  dataset; then all its ids are moved up by the smallest multiple of :data:`SUBJECT_STRIDE` that frees them.
  Recording ids are renumbered ``0..``. ``manifest["merged_from"]`` records, per input, its name, source,
  content hash, windows and subject map, so every window can be traced back.
- **Optional arrays** (``pose``, ``gyr``, ``video``, ``text`` + ``text_id``) are kept when every input has them
  with the same shape per window (text: the same embedding width); otherwise they are left out and
  ``manifest["dropped_arrays"]`` says why. ``manifest["texts"]`` is the concatenation of the inputs' texts
  (``text_id`` shifted to match).
- Keys that only make sense for one input (its ``splits``, ``recordings`` ...) are not copied; they stay in
  the input's own manifest.

``pose.npy``, the bulk, is spooled through a memory-mapped file so memory does not grow with it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.errors import DataError

from .format import Dataset, check_dataset_out, write_dataset

#: Subject ids of a later dataset that collide with earlier ones move up by a multiple of this.
SUBJECT_STRIDE = 10_000
_OPTIONAL = ("pose", "gyr", "video")


def _check_grid(sets: list[Dataset]) -> None:
    first = sets[0]
    for ds in sets[1:]:
        for key in ("rate_hz", "window", "hop", "axis_convention"):
            if ds.manifest.get(key) != first.manifest.get(key):
                raise DataError(
                    f"{ds.root}: {key} is {ds.manifest.get(key)!r} but {first.root} has "
                    f"{first.manifest.get(key)!r}; only datasets on the same grid and axes can be merged "
                    "(re-import one of them with the other's settings)"
                )


def _check_distinct(sets: list[Dataset]) -> None:
    """Refuse a dataset given twice, by path or as a copy: merging it would count every window twice (as
    windows of new subjects, so no split would notice)."""
    seen: dict[Any, Dataset] = {}
    for ds in sets:
        for key in (("path", ds.root.resolve()), ("content", ds.manifest.get("content_hash"))):
            if key[1] is None:
                continue
            if key in seen:
                same = "is given twice" if key[0] == "path" else f"holds the same arrays as {seen[key].root}"
                raise DataError(
                    f"{ds.root} {same}: merging would count each of its windows twice; give each dataset once"
                )
            seen[key] = ds


def _subject_offset(ids: np.ndarray, used: set[int]) -> int:
    offset = 0
    while used & {int(s) + offset for s in ids}:
        offset += SUBJECT_STRIDE
    return offset


def merge_datasets(paths: Sequence[str | Path], out: str | Path, overwrite: bool = False) -> Dataset:
    """Merge the dataset folders ``paths`` into a new one at ``out`` (see the module docstring).

    Raises:
        DataError: fewer than two inputs, an input that does not open, different grids or axes, or ``out``
            already holds a dataset (without ``overwrite``) or is one of the inputs.
    """
    if len(paths) < 2:
        raise DataError(f"merging needs at least two datasets, got {len(paths)}")
    out = Path(out)
    if any(Path(p).resolve() == out.resolve() for p in paths):
        raise DataError(f"--out {out} is one of the inputs; write the merge to a new folder")
    check_dataset_out(out, overwrite)
    sets = [Dataset.open(p, verify=True) for p in paths]
    _check_distinct(sets)
    _check_grid(sets)

    labels: list[str] = []
    label_text: dict[str, list[str]] = {}
    for ds in sets:
        for lab in ds.labels:
            if lab not in labels:
                labels.append(lab)
            for t in ds.label_text.get(lab, []):
                if t not in label_text.setdefault(lab, []):
                    label_text[lab].append(t)

    keep: list[str] = []
    dropped: dict[str, str] = {
        name: f"an array of {ds.root.name} that the format does not know; not merged"
        for ds in sets
        for name in ds.extra
    }
    for name in (*_OPTIONAL, "text"):
        have = [getattr(ds, name) is not None for ds in sets]
        if not all(have):
            if any(have):
                missing = [str(ds.root) for ds, h in zip(sets, have, strict=True) if not h]
                dropped[name] = f"missing in {', '.join(missing)}"
            continue
        shapes = {getattr(ds, name).shape[1:] for ds in sets}
        if len(shapes) > 1:
            dropped[name] = f"shapes differ: {sorted(shapes)}"
            continue
        keep.append(name)

    used: set[int] = set()
    label_parts, subject_parts, recording_parts, start_parts = [], [], [], []
    text_id_parts: list[np.ndarray] = []
    merged_from: list[dict[str, Any]] = []
    texts: list[Any] = []
    n_rec = 0
    n_text = 0
    for ds in sets:
        remap = np.array([labels.index(lab) for lab in ds.labels], dtype=np.int64)
        label_parts.append(remap[np.asarray(ds.label)])
        subj = np.asarray(ds.subject)
        ids = np.unique(subj)
        offset = _subject_offset(ids, used)
        used |= {int(s) + offset for s in ids}
        subject_parts.append(subj + offset)
        rec_ids, rec = np.unique(np.asarray(ds.recording), return_inverse=True)
        recording_parts.append(rec + n_rec)
        n_rec += rec_ids.size
        start_parts.append(np.asarray(ds.start))
        if "text" in keep:
            if ds.text_id is not None:
                text_id_parts.append(np.asarray(ds.text_id) + n_text)
            n_text += np.asarray(ds.text).shape[0]
            texts += list(ds.manifest.get("texts", []))
        merged_from.append(
            {
                "path": Path(ds.root).name,
                "name": ds.manifest.get("name"),
                "source": ds.manifest.get("source"),
                "content_hash": ds.manifest.get("content_hash"),
                "windows": len(ds),
                "labels": ds.labels,
                "subject_offset": offset,
                "subject_map": {str(int(s)): int(s) + offset for s in ids},
            }
        )

    arrays: dict[str, Any] = {"acc": np.concatenate([np.asarray(ds.acc) for ds in sets])}
    for name in ("gyr", "video"):
        if name in keep:
            arrays[name] = np.concatenate([np.asarray(getattr(ds, name)) for ds in sets])
    if "text" in keep:
        arrays["text"] = np.concatenate([np.asarray(ds.text) for ds in sets])
        if len(text_id_parts) == len(sets):
            arrays["text_id"] = np.concatenate(text_id_parts)
        else:
            dropped["text_id"] = "some inputs have text.npy but no text_id.npy"
    extra = {
        "merged_from": merged_from,
        "dropped_arrays": dropped,
        "texts": texts if "text" in keep else [],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".merge-spool-", dir=out.parent) as spool_dir:
        if "pose" in keep:
            n = sum(len(ds) for ds in sets)
            pose = np.lib.format.open_memmap(
                Path(spool_dir) / "pose.npy",
                mode="w+",
                dtype=np.float32,
                shape=(n, *np.asarray(sets[0].pose).shape[1:]),
            )
            i = 0
            for ds in sets:
                pose[i : i + len(ds)] = ds.pose
                i += len(ds)
            pose.flush()
            arrays["pose"] = np.load(Path(spool_dir) / "pose.npy", mmap_mode="r")
        return write_dataset(
            out,
            label=np.concatenate(label_parts),
            subject=np.concatenate(subject_parts),
            recording=np.concatenate(recording_parts),
            start=np.concatenate(start_parts),
            labels=labels,
            label_text=label_text,
            name="merged: " + " + ".join(str(ds.manifest.get("name", ds.root)) for ds in sets),
            source="mujo-edge data merge of " + ", ".join(Path(ds.root).name for ds in sets),
            rate_hz=float(sets[0].manifest["rate_hz"]),
            window=int(sets[0].manifest["window"]),
            hop=int(sets[0].manifest["hop"]),
            overwrite=overwrite,
            extra_manifest=extra,
            **arrays,
        )
