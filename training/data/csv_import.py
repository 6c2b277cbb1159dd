"""Importer for bring-your-own CSV accelerometer recordings, at any sample rate.

One file is one recording. A header row names the columns (case-insensitive, surrounding spaces ignored):

- time: ``t``, ``time`` or ``timestamp`` (or the name given as ``time_col``), in seconds by default
  (``time_unit`` ``ms``/``us``/``ns`` for others), strictly increasing;
- ``ax``, ``ay``, ``az``: the accelerometer in the axis convention, in ``g`` (default) or ``m/s2``;
- optional ``label`` (per row; windows take the majority label) and ``subject`` (an integer, constant in a file).

Every file is validated completely before anything is written, so one bad file leaves no half-written dataset.
Errors name the file, the row (the line number in the file: the header is row 1) and the fix. Each file is split
at gaps (a step of more than 1.5 sample periods), every gap-free run is resampled onto the 50 Hz grid with
anti-aliasing (:mod:`mujo_edge.grid`) and windowed; nothing is interpolated across a gap. Window ``start`` is the
grid index from the first sample of the file.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mujo_edge.constants import HOP, RATE_HZ, STANDARD_GRAVITY, WINDOW
from mujo_edge.errors import CsvFormatError, DataError
from mujo_edge.grid import resample_recording
from mujo_edge.provenance import sha256_file
from mujo_edge.training.data.format import Dataset, write_dataset
from mujo_edge.windows import sliding_windows, window_starts

log = logging.getLogger(__name__)

TIME_COLUMNS: tuple[str, ...] = ("t", "time", "timestamp")
ACC_COLUMNS: tuple[str, ...] = ("ax", "ay", "az")
#: Accepted ``units`` spellings -> factor to g.
UNITS: dict[str, float] = {
    "g": 1.0,
    "m/s2": 1.0 / STANDARD_GRAVITY,
    "m/s^2": 1.0 / STANDARD_GRAVITY,
    "mps2": 1.0 / STANDARD_GRAVITY,
}
TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Label of rows of a file with neither a label column nor ``label=``.
UNLABELED = "unlabeled"


@dataclass
class CsvRecording:
    """One parsed and validated CSV file.

    Attributes:
        path: the file.
        t_s: (n,) float64 seconds, strictly increasing.
        acc_g: (n, 3) float64, g.
        label: (n,) per-row label names.
        subject: subject id, or None when the file has no subject column.
    """

    path: Path
    t_s: np.ndarray
    acc_g: np.ndarray
    label: list[str]
    subject: int | None


def read_csv_recording(
    path: str | Path,
    units: str = "g",
    label: str | None = None,
    time_col: str | None = None,
    time_unit: str = "s",
) -> CsvRecording:
    """Parse and validate one CSV file; raises :class:`CsvFormatError` naming file, row and fix."""
    path = Path(path)
    where = str(path)
    factor = _units_factor(units, where)
    if time_unit not in TIME_UNITS:
        raise CsvFormatError(
            where, None, f"unknown time unit {time_unit!r}", f"use one of {sorted(TIME_UNITS)}"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise CsvFormatError(where, None, "file not found", "check the path") from e
    except (OSError, UnicodeDecodeError) as e:
        raise CsvFormatError(
            where, None, f"cannot be read as UTF-8 text ({e})", "export it as a CSV text file"
        ) from e
    rows = [r for r in csv.reader(text.splitlines())]
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise CsvFormatError(where, None, "the file is empty", "export the recording again with a header row")
    header_row, header = numbered[0]
    names = [c.strip().lower() for c in header]
    candidates = (time_col.strip().lower(),) if time_col else TIME_COLUMNS
    t_name = next((c for c in candidates if c in names), None)
    missing = [c for c in ACC_COLUMNS if c not in names]
    if t_name is None or missing:
        want = [*([] if t_name else [" or ".join(candidates)]), *missing]
        raise CsvFormatError(
            where,
            header_row,
            f"missing column(s) {', '.join(want)} in the header {header}",
            "the header must name a time column (t, time or timestamp, or pass --time-col) and ax, ay, az",
        )
    col = {n: names.index(n) for n in (t_name, *ACC_COLUMNS)}
    lab_col = names.index("label") if "label" in names else None
    sub_col = names.index("subject") if "subject" in names else None
    data = numbered[1:]
    if not data:
        raise CsvFormatError(
            where, header_row, "the file has a header but no data rows", "export the samples too"
        )
    values = np.empty((len(data), 4), dtype=np.float64)
    labels: list[str] = []
    subject: int | None = None
    for k, (row_no, row) in enumerate(data):
        if len(row) < len(names):
            raise CsvFormatError(
                where,
                row_no,
                f"{len(row)} cells for {len(names)} columns",
                "every row needs a cell per column",
            )
        for j, name in enumerate((t_name, *ACC_COLUMNS)):
            cell = row[col[name]].strip()
            try:
                v = float(cell)
            except ValueError:
                raise CsvFormatError(
                    where, row_no, f"column {name} holds {cell!r}, not a number", "fix or delete that row"
                ) from None
            if not math.isfinite(v):
                raise CsvFormatError(
                    where, row_no, f"column {name} is {cell} (NaN or infinite)", "drop or repair that sample"
                )
            values[k, j] = v
        if lab_col is not None:
            cell = row[lab_col].strip()
            if not cell:
                raise CsvFormatError(
                    where, row_no, "the label cell is empty", "label every row (or drop the column)"
                )
            labels.append(cell)
        if sub_col is not None:
            cell = row[sub_col].strip()
            try:
                s = int(cell)
            except ValueError:
                raise CsvFormatError(
                    where, row_no, f"subject {cell!r} is not an integer id", "use integer subject ids"
                ) from None
            if subject is None:
                subject = s
            elif s != subject:
                raise CsvFormatError(
                    where,
                    row_no,
                    f"subject changes from {subject} to {s}",
                    "put each subject's recording in its own file",
                )
    t_s = values[:, 0] * TIME_UNITS[time_unit]
    dt = np.diff(t_s)
    if (dt == 0).any():
        k = int(np.flatnonzero(dt == 0)[0]) + 1
        raise CsvFormatError(
            where,
            data[k][0],
            f"duplicate timestamp {values[k, 0]:g} (same as the row before)",
            "drop duplicate rows",
        )
    if (dt < 0).any():
        k = int(np.flatnonzero(dt < 0)[0]) + 1
        raise CsvFormatError(
            where,
            data[k][0],
            f"timestamp {values[k, 0]:g} goes back in time (previous {values[k - 1, 0]:g})",
            "sort the rows by time, or split the file where the clock restarts",
        )
    if t_s[-1] - t_s[0] < (WINDOW - 1) / RATE_HZ:
        raise CsvFormatError(
            where,
            data[-1][0],
            f"the recording lasts {t_s[-1] - t_s[0]:.2f} s, shorter than one {WINDOW / RATE_HZ:g} s window",
            "record at least a few seconds",
        )
    if lab_col is None:
        labels = [label or UNLABELED] * len(data)
    return CsvRecording(path=path, t_s=t_s, acc_g=values[:, 1:] * factor, label=labels, subject=subject)


def _units_factor(units: str, where: str) -> float:
    key = units.strip().lower().replace(" ", "")
    if key not in UNITS:
        raise CsvFormatError(where, None, f"unknown units {units!r}", f"use one of {sorted(UNITS)}")
    return UNITS[key]


def majority_label(window_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Most frequent label of every window: (n, window) int -> (n,) int64 (ties: the lower index)."""
    n = window_labels.shape[0]
    counts = np.zeros((n, n_classes), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n), window_labels.shape[1]), window_labels.ravel()), 1)
    return counts.argmax(axis=1)


def _nearest(t_src: np.ndarray, t_query: np.ndarray) -> np.ndarray:
    """Index of the nearest ``t_src`` sample (sorted) for every ``t_query``."""
    hi = np.clip(np.searchsorted(t_src, t_query), 1, t_src.size - 1)
    return np.where(t_query - t_src[hi - 1] <= t_src[hi] - t_query, hi - 1, hi)


def import_csv(
    paths: Sequence[str | Path],
    out: str | Path,
    units: str = "g",
    label: str | None = None,
    subject: int | None = None,
    time_col: str | None = None,
    time_unit: str = "s",
    overwrite: bool = False,
) -> Dataset:
    """Import CSV recordings into a dataset folder at ``out`` (see the module docstring for the format).

    Args:
        paths: CSV files; each is one recording (recording id = its position in ``paths``).
        units: accelerometer units, ``g`` or ``m/s2``.
        label: label of files without a label column (default ``"unlabeled"``).
        subject: subject id of files without a subject column (default: the file's position + 1).
        time_col, time_unit: the time column's name and unit.
    Raises:
        CsvFormatError: a file is malformed (nothing is written then).
        DataError: the files hold no full window of gap-free data.
    """
    if not paths:
        raise DataError("no CSV files given; pass one or more paths")
    _units_factor(units, "--units")
    recs = [read_csv_recording(p, units, label, time_col, time_unit) for p in paths]
    names = sorted({lab for r in recs for lab in r.label})
    index = {n: i for i, n in enumerate(names)}
    acc, lab, subj, rec_id, start = [], [], [], [], []
    recordings = []
    for i, r in enumerate(recs):
        sample_label = np.array([index[v] for v in r.label], dtype=np.int64)
        sid = r.subject if r.subject is not None else (subject if subject is not None else i + 1)
        n_win = 0
        for seg in resample_recording(r.t_s, r.acc_g):
            starts = window_starts(seg.x.shape[0])
            if starts.size == 0:
                continue
            # Labels are categories: each grid sample takes the label of the nearest source row.
            seg_labels = sliding_windows(sample_label[_nearest(r.t_s, seg.t_s)])
            acc.append(sliding_windows(seg.x))
            lab.append(majority_label(seg_labels, len(names)))
            offset = round(float(seg.t_s[0] - r.t_s[0]) * RATE_HZ)
            start.append(starts + offset)
            subj.append(np.full(starts.size, sid))
            rec_id.append(np.full(starts.size, i))
            n_win += starts.size
        recordings.append(
            {
                "id": i,
                "file": r.path.name,
                "sha256": sha256_file(r.path),
                "subject": int(sid),
                "n_rows": len(r.label),
                "source_rate_hz": round(float((len(r.t_s) - 1) / (r.t_s[-1] - r.t_s[0])), 3),
                "n_windows": n_win,
            }
        )
        if n_win == 0:
            log.warning("%s: no gap-free run is long enough for one window; it adds nothing", r.path)
    if not acc:
        raise DataError(
            f"none of the {len(recs)} files has {WINDOW / RATE_HZ:g} s of gap-free data, so there is no window "
            "to write; record longer runs without pauses"
        )
    return write_dataset(
        out,
        acc=np.concatenate(acc),
        label=np.concatenate(lab),
        subject=np.concatenate(subj),
        recording=np.concatenate(rec_id),
        start=np.concatenate(start),
        labels=names,
        name="csv-import",
        source=", ".join(str(Path(p)) for p in paths),
        rate_hz=RATE_HZ,
        window=WINDOW,
        hop=HOP,
        extra_manifest={"recordings": recordings, "csv_units": units, "csv_time_unit": time_unit},
        overwrite=overwrite,
    )
