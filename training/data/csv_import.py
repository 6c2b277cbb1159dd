"""Importer for bring-your-own CSV accelerometer recordings, at any sample rate.

One file is one recording. A header row names the columns (case-insensitive, surrounding spaces ignored):

- time: ``t``, ``time`` or ``timestamp`` (or the name given as ``time_col``), in seconds by default
  (``time_unit`` ``ms``/``us``/``ns`` for others), strictly increasing;
- ``ax``, ``ay``, ``az``: the accelerometer in the axis convention, in ``g`` (default) or ``m/s2``;
- optional ``label`` (per row; windows take the majority label) and ``subject`` (an integer, constant in a file).

Every file is validated completely before anything is written, so one bad file leaves no half-written dataset.
Errors name the file, the row (the line number in the file: the header is row 1) and the fix. The delimiter
(comma, semicolon, tab or bar) is taken from the header row. Refused as ambiguous rather than guessed: a column
the importer reads named twice, a number with an underscore (``1_0``: Python's float() would read 10) or a
decimal comma (``0,5``: convert the file to decimal points), the label ``unknown`` (the open-set answer of every
bundle), two labels that differ only in case or spacing (``walk`` and ``Walk``: one activity, two classes), the
same file content passed twice (one recording counted as two), and an ``out`` that is an existing file or a
folder that cannot be created. Sanity checks refuse what would import as
nonsense, each with the fix (``checks=False`` / ``--skip-checks`` turns them off): a sample rate outside
:data:`SOURCE_RATE_RANGE_HZ` (timestamps in ms read as s, or the reverse), a value beyond :data:`MAX_ABS_G`, and a
typical magnitude far from 1 g (m/s2 read as g, g read as m/s2, or gravity removed: a still watch must read 1 g).
A file slower than the grid is upsampled: logged, and ``upsampled_from_hz`` in its manifest entry. Each file is split
at gaps (a step of more than 1.5 sample periods), every gap-free run is resampled onto the 50 Hz grid with
anti-aliasing (:mod:`mujo_edge.grid`) and windowed; nothing is interpolated across a gap. Window ``start`` is the
grid index from the first sample of the file.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mujo_edge.constants import HOP, RATE_HZ, STANDARD_GRAVITY, WINDOW
from mujo_edge.errors import CsvFormatError, DataError
from mujo_edge.events import is_unknown_label, label_key
from mujo_edge.grid import RATE_TOLERANCE, resample_recording, split_at_gaps
from mujo_edge.provenance import sha256_file
from mujo_edge.training.data.format import Dataset, check_dataset_out, write_dataset
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
#: Delimiters recognized in the header row.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
#: Median sample rates believed, Hz (watches stream 10..400 Hz; outside: the time unit is wrong).
SOURCE_RATE_RANGE_HZ: tuple[float, float] = (4.0, 2000.0)
#: Largest |value| on any axis believed, g (the widest consumer IMU ranges are +-16..+-200 g).
MAX_ABS_G: float = 200.0
#: The median |acc| of a wrist recording lies in this range, g (gravity dominates: a still watch reads 1 g).
MEDIAN_NORM_RANGE_G: tuple[float, float] = (0.5, 2.5)
#: A number written with a decimal comma (``0,5``, ``-1,25e-3``): refused, never guessed (``1,000`` may be a
#: thousand with a thousands separator or one with a decimal comma).
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


@dataclass
class CsvRecording:
    """One parsed and validated CSV file.

    Attributes:
        path: the file.
        t_s: (n,) float64 seconds, strictly increasing.
        acc_g: (n, 3) float64, g.
        label: (n,) per-row label names.
        subject: subject id, or None when the file has no subject column.
        rows: (n,) line number of every sample in the file (the header is row 1), for errors found later.
    """

    path: Path
    t_s: np.ndarray
    acc_g: np.ndarray
    label: list[str]
    subject: int | None
    rows: list[int] = field(default_factory=list)


def read_csv_recording(
    path: str | Path,
    units: str = "g",
    label: str | None = None,
    time_col: str | None = None,
    time_unit: str = "s",
    checks: bool = True,
) -> CsvRecording:
    """Parse and validate one CSV file; raises :class:`CsvFormatError` naming file, row and fix.

    ``checks``: the sanity checks of rate, range and magnitude (see the module docstring)."""
    path = Path(path)
    where = str(path)
    factor = _units_factor(units, where)
    label = label.strip() if label is not None else None
    if label is not None and is_unknown_label(label):
        raise CsvFormatError("--label", None, *_unknown_label_refusal(label))
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
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
    rows = [r for r in csv.reader(lines, delimiter=delimiter)]
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
    read = [t_name, *ACC_COLUMNS, *(n for n in ("label", "subject") if n in names)]
    twice = next((n for n in read if names.count(n) > 1), None)
    if twice is not None:
        raise CsvFormatError(
            where,
            header_row,
            f"column {twice!r} appears {names.count(twice)} times in the header {header} (names are "
            "case-insensitive), so which one holds the data is ambiguous",
            "keep one column of that name: delete or rename the others",
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
                v = _number(cell)
            except ValueError:
                if delimiter != "," and _DECIMAL_COMMA.fullmatch(cell):
                    raise CsvFormatError(
                        where,
                        row_no,
                        f"column {name} holds {cell!r}: the file uses decimal commas",
                        "convert them to decimal points (export with '.' as the decimal separator)",
                    ) from None
                grouped = " (underscores are not accepted in numbers)" if "_" in cell else ""
                raise CsvFormatError(
                    where,
                    row_no,
                    f"column {name} holds {cell!r}, not a number{grouped}",
                    "fix or delete that row",
                ) from None
            if not math.isfinite(v):
                raise CsvFormatError(
                    where, row_no, f"column {name} is {cell} (NaN or infinite)", "drop or repair that sample"
                )
            if checks and name != t_name and abs(v) * factor > MAX_ABS_G:
                raise CsvFormatError(
                    where,
                    row_no,
                    f"column {name} is {cell}, {abs(v) * factor:.3g} g: beyond any wrist sensor's range "
                    f"(+-{MAX_ABS_G:g} g)",
                    "repair or drop that row (or check --units)",
                )
            values[k, j] = v
        if lab_col is not None:
            cell = row[lab_col].strip()
            if not cell:
                raise CsvFormatError(
                    where, row_no, "the label cell is empty", "label every row (or drop the column)"
                )
            if is_unknown_label(cell):
                raise CsvFormatError(where, row_no, *_unknown_label_refusal(cell))
            labels.append(cell)
        if sub_col is not None:
            cell = row[sub_col].strip()
            try:
                if "_" in cell:  # int() reads "1_0" as 10
                    raise ValueError(cell)
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
    acc_g = values[:, 1:] * factor
    if checks:
        _sanity(where, t_s, acc_g, units, time_unit)
    if lab_col is None:
        labels = [label or UNLABELED] * len(data)
    return CsvRecording(
        path=path, t_s=t_s, acc_g=acc_g, label=labels, subject=subject, rows=[r for r, _ in data]
    )


def _number(cell: str) -> float:
    """``float(cell)`` without Python's digit grouping: ``1_0`` is a typo or a foreign format, not 10."""
    if "_" in cell:
        raise ValueError(cell)
    return float(cell)


def _unknown_label_refusal(label: str) -> tuple[str, str]:
    """(problem, fix) for the label ``unknown``: ``teach`` and every bundle reserve it for the open-set answer."""
    return (
        f"the label {label!r} is the open-set answer of every bundle (what a model says for an activity it was "
        "not taught), so it cannot name an activity",
        "rename that activity (e.g. 'other')",
    )


def _sanity(where: str, t_s: np.ndarray, acc_g: np.ndarray, units: str, time_unit: str) -> None:
    """Refuse a rate or magnitude that says the units are wrong; each message names the likely fix."""
    skip = "or pass --skip-checks if the data really is so"
    rate = 1.0 / float(np.median(np.diff(t_s)))
    lo, hi = SOURCE_RATE_RANGE_HZ
    if not lo <= rate <= hi:
        scale = TIME_UNITS[time_unit]
        better = [
            u for u, f in TIME_UNITS.items() if u != time_unit and lo <= rate * scale / f <= hi and f != scale
        ]
        hint = (
            f"are the times in {better[0]}? pass --time-unit {better[0]}"
            if better
            else "check the time column"
        )
        raise CsvFormatError(
            where,
            None,
            f"the median sample rate is {rate:.4g} Hz with times in {time_unit}, outside {lo:g}..{hi:g} Hz",
            f"{hint}, {skip}",
        )
    norm = float(np.median(np.linalg.norm(acc_g, axis=1)))
    lo, hi = MEDIAN_NORM_RANGE_G
    if lo <= norm <= hi:
        return
    as_g = UNITS[units.strip().lower().replace(" ", "")] == 1.0
    if as_g and norm > hi and lo <= norm * UNITS["m/s2"] <= hi:
        fix = "the values look like m/s2: pass --units m/s2"
    elif not as_g and norm < lo and lo <= norm / UNITS["m/s2"] <= hi:
        fix = "the values look like g, read as m/s2: pass --units g"
    elif norm < lo:
        fix = (
            "gravity seems removed (linear acceleration: a still watch reads ~0 instead of 1 g); the models need "
            "the raw accelerometer (specific force with gravity): export that"
        )
    else:
        fix = "check --units and the sensor's scale"
    raise CsvFormatError(
        where,
        None,
        f"the median |acc| is {norm:.3g} g with --units {units}, where a worn watch reads about 1 g",
        f"{fix}, {skip}",
    )


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
    checks: bool = True,
) -> Dataset:
    """Import CSV recordings into a dataset folder at ``out`` (see the module docstring for the format).

    Args:
        paths: CSV files; each is one recording (recording id = its position in ``paths``).
        units: accelerometer units, ``g`` or ``m/s2``.
        label: label of files without a label column (default ``"unlabeled"``).
        subject: subject id of files without a subject column (default: the file's position + 1).
        time_col, time_unit: the time column's name and unit.
        checks: sanity checks of rate and magnitude (False: ``--skip-checks``).
    Raises:
        CsvFormatError: a file is malformed, two files hold the same bytes, or labels differ only in case
            (nothing is written then).
        DataError: the files hold no full window of gap-free data, or ``out`` is an existing file (never
            replaced, not even with ``overwrite``), an existing dataset without ``overwrite``, or cannot be
            created; ``out`` is checked before any file is read.
    """
    if not paths:
        raise DataError("no CSV files given; pass one or more paths")
    _units_factor(units, "--units")
    _check_out(Path(out), overwrite)
    recs = [read_csv_recording(p, units, label, time_col, time_unit, checks) for p in paths]
    hashes = [sha256_file(r.path) for r in recs]
    first_with: dict[str, Path] = {}
    for r, h in zip(recs, hashes, strict=True):
        if h in first_with:
            twin = first_with[h]
            same = twin.resolve() == r.path.resolve()
            raise CsvFormatError(
                str(r.path),
                None,
                ("given twice" if same else f"the same bytes as {twin} (sha256 {h[:16]}...)")
                + ", so one recording would be imported twice, as two recordings",
                "pass each recording once",
            )
        first_with[h] = r.path
    _refuse_case_variants(recs)
    names = sorted({lab for r in recs for lab in r.label})
    index = {n: i for i, n in enumerate(names)}
    acc, lab, subj, rec_id, start = [], [], [], [], []
    recordings = []
    for i, r in enumerate(recs):
        sample_label = np.array([index[v] for v in r.label], dtype=np.int64)
        sid = r.subject if r.subject is not None else (subject if subject is not None else i + 1)
        n_win = 0
        runs = split_at_gaps(r.t_s)
        n_steps = sum(sl.stop - sl.start - 1 for sl in runs)
        span_s = sum(float(r.t_s[sl.stop - 1] - r.t_s[sl.start]) for sl in runs)
        source_rate = n_steps / span_s if span_s > 0 else float("nan")  # over gap-free runs only
        upsampled = source_rate < RATE_HZ * (1.0 - RATE_TOLERANCE)
        if upsampled:
            log.warning(
                "%s: %.3g Hz is slower than the %g Hz grid; it is upsampled (interpolated), which adds no detail",
                r.path,
                source_rate,
                RATE_HZ,
            )
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
                "sha256": hashes[i],
                "subject": int(sid),
                "n_rows": len(r.label),
                "source_rate_hz": round(source_rate, 3),
                "gap_free_runs": len(runs),
                "upsampled_from_hz": round(source_rate, 3) if upsampled else None,
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
    try:
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
    except OSError as e:  # checked up front; this is the disk filling up or the folder changing meanwhile
        raise DataError(
            f"cannot write the dataset to {out} ({e.strerror or e}); free space or choose another --out, then "
            "import again"
        ) from e


def _check_out(root: Path, overwrite: bool) -> None:
    """Refuse an ``out`` the dataset cannot be written to, before any file is read (DataError with the fix).

    An existing file is never replaced, ``overwrite`` or not: it is not a dataset folder, and replacing it
    would lose it. A folder that does not exist yet is created and removed again, which proves that it can be
    (a read-only or virtual file system such as /proc refuses that; checking permissions alone does not, e.g.
    for root).
    """
    check_dataset_out(root, overwrite, ", remove it first, or pass --force to replace it")
    base = next(p for p in (root, *root.parents) if p.exists() or p == Path(p.anchor))
    if base.exists() and not base.is_dir():
        raise DataError(f"cannot create --out {root}: {base} is a file, not a folder; choose another --out")
    created = []
    try:
        for folder in reversed([p for p in (root, *root.parents) if p not in (base, *base.parents)]):
            folder.mkdir()
            created.append(folder)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as e:
        raise DataError(
            f"cannot create or write the dataset folder {root} in {base} ({e.strerror or e}); choose an --out in "
            "a folder you can write to"
        ) from e
    finally:
        for folder in reversed(created):
            os.rmdir(folder)


def _refuse_case_variants(recs: Sequence[CsvRecording]) -> None:
    """CsvFormatError when two labels differ only in case or spacing (``walk``, ``Walk``, ``walk  ``).

    They would import as two classes of one activity, each with half its windows; a spelling is a typo far more
    often than a deliberate distinction, so it is refused with both places to fix rather than merged silently.
    """
    seen: dict[str, tuple[str, str]] = {}
    for r in recs:
        for lab in dict.fromkeys(r.label):
            row = r.rows[r.label.index(lab)] if r.rows else None
            where = f"{r.path}" + (f", row {row}" if row is not None else "")
            other, other_where = seen.setdefault(label_key(lab), (lab, where))
            if other != lab:
                raise CsvFormatError(
                    str(r.path),
                    row,
                    f"label {lab!r} differs from {other!r} ({other_where}) only in case or spacing, so one "
                    "activity would import as two classes",
                    "spell each activity the same way in every row and file",
                )
