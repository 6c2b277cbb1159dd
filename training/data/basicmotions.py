"""Importer for BasicMotions: real smartwatch recordings of standing, walking, running and badminton.

The UEA/UCR archive's multivariate BasicMotions problem ships inside the ``aeon`` wheel (BSD-3) as
``aeon/datasets/data/BasicMotions/BasicMotions_{TRAIN,TEST}.ts``. Four students wore a smartwatch and did
each activity five times for 10 s: 80 recordings (40 train, 40 test), accelerometer and gyroscope at
**10 Hz**, 100 samples each. The archive gives no subject ids.

What the importer reads from the numbers (checked on the TRAIN half, class means):

- the accelerometer is **gravity-removed** ("linear acceleration", as phone and watch APIs report it): a
  standing participant reads |a| ~ 0.8 m/s^2 on average, not 9.8;
- its unit is **m/s^2** (running peaks near 2 g = 20 m/s^2; in g the same numbers would be 16 g on average);
  it is stored in g, divided by standard gravity;
- the gyroscope is in rad/s.

Every recording is resampled from 10 Hz to the 50 Hz grid with :func:`scipy.signal.resample_poly` (a
polyphase anti-imaging filter), then windowed (``WINDOW`` samples, hop ``HOP``): 9 windows per recording,
720 in all. The manifest records ``source_rate_hz`` 10, ``upsampled`` true, ``gravity`` "removed" and
``placement`` "wrist".

Splits: the archive's own TRAIN / TEST halves (not known to be subject-disjoint). ``subject.npy`` holds one
id per recording (1-40 TRAIN, 101-140 TEST) so that the subject-wise tools split by recording; the
manifest's ``splits`` name the halves, and hold the last TRAIN recording of each class out as validation.

The wheel is fetched with ``pip download --no-deps aeon==1.6.0`` into the cache of
:mod:`mujo_edge.training.data.package_files` on first use, so nothing is installed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from mujo_edge.constants import HOP, RATE_HZ, STANDARD_GRAVITY, WINDOW
from mujo_edge.errors import DataError
from mujo_edge.provenance import sha256_file
from mujo_edge.training.data.format import Dataset, write_dataset
from mujo_edge.training.data.package_files import package_file
from mujo_edge.windows import sliding_windows, window_starts

log = logging.getLogger(__name__)

#: The package release whose wheel carries the files.
AEON_REQUIREMENT = "aeon==1.6.0"
#: The two halves inside the wheel.
MEMBERS = {
    "train": "aeon/datasets/data/BasicMotions/BasicMotions_TRAIN.ts",
    "test": "aeon/datasets/data/BasicMotions/BasicMotions_TEST.ts",
}
#: Sampling rate of the recordings, Hz.
SOURCE_RATE_HZ = 10
#: Label names (lower-case of the archive's class labels), in a fixed order.
BASICMOTIONS_LABELS: tuple[str, ...] = ("standing", "walking", "running", "badminton")
#: Label texts for zero-shot: the activity as a person would name it.
LABEL_TEXT: dict[str, list[str]] = {
    "standing": ["standing", "standing still", "resting while standing"],
    "walking": ["walking", "walking at a normal pace", "going for a walk"],
    "running": ["running", "jogging", "running at a steady pace"],
    "badminton": ["badminton", "playing badminton", "badminton strokes with a racket"],
}
#: Subject-id offset of the TEST half (TRAIN recordings are 1-40).
TEST_ID_BASE = 100


def _splits(train_ids: list[int], test_ids: list[int], val_per_class: dict[str, list[int]]) -> dict[str, Any]:
    val = sorted(i for ids in val_per_class.values() for i in ids)
    return {
        "by": "subject",
        "note": "the archive's TRAIN/TEST halves; one id per recording (no subject ids in the archive)",
        "train": [i for i in train_ids if i not in val],
        "val": val,
        "test": test_ids,
    }


def parse_ts(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """Read a multivariate ``.ts`` file of equal-length series: (n, length, dims) float64 and class labels."""
    path = Path(path)
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path} cannot be read as a .ts text file ({e}); fetch it again") from e
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("@data"):
            in_data = True
            continue
        if line.startswith("@") or not in_data:
            continue
        *dims, label = line.split(":")
        try:
            x = np.stack([np.array([float(v) for v in d.split(",")]) for d in dims], axis=1)
        except ValueError as e:
            raise DataError(
                f"{path}, line {lineno}: not a series of equal-length numeric dimensions ({e})"
            ) from e
        if series and x.shape != series[0].shape:
            raise DataError(f"{path}, line {lineno}: series shape {x.shape} differs from {series[0].shape}")
        series.append(x)
        labels.append(label.strip())
    if not series:
        raise DataError(f"{path} holds no @data rows: not a BasicMotions .ts file")
    return np.stack(series), labels


def import_basicmotions(out: str | Path, with_gyr: bool = True, overwrite: bool = False) -> Dataset:
    """Import BasicMotions (both halves) into a dataset folder at ``out``; see the module docstring."""
    acc, gyr, label, subject, recording, start = [], [], [], [], [], []
    recordings: list[dict[str, Any]] = []
    ids: dict[str, list[int]] = {"train": [], "test": []}
    val_per_class: dict[str, list[int]] = {}
    sources: dict[str, str] = {}
    up = round(RATE_HZ / SOURCE_RATE_HZ)
    for half, member in MEMBERS.items():
        path = package_file(AEON_REQUIREMENT, member)
        sources[half] = sha256_file(path)
        x, names = parse_ts(path)
        if x.shape[2] != 6:
            raise DataError(f"{path}: expected 6 dimensions (acc xyz, gyr xyz), found {x.shape[2]}")
        if not np.isfinite(x).all():
            raise DataError(f"{path}: non-finite values in the series; the file is damaged, fetch it again")
        for i, (series, name) in enumerate(zip(x, names, strict=True)):
            key = name.lower()
            if key not in BASICMOTIONS_LABELS:
                raise DataError(f"{path}: unknown class {name!r}; expected one of {BASICMOTIONS_LABELS}")
            rid = (1 if half == "train" else TEST_ID_BASE + 1) + i
            ids[half].append(rid)
            if half == "train":
                val_per_class.setdefault(key, []).append(rid)
            a50 = resample_poly(series[:, :3] / STANDARD_GRAVITY, up, 1, axis=0).astype(np.float32)
            w50 = resample_poly(series[:, 3:], up, 1, axis=0).astype(np.float32)
            starts = window_starts(a50.shape[0])
            acc.append(sliding_windows(a50))
            gyr.append(sliding_windows(w50))
            label += [BASICMOTIONS_LABELS.index(key)] * starts.size
            subject += [rid] * starts.size
            recording += [rid] * starts.size
            start.append(starts)
            recordings.append({"id": rid, "half": half, "label": key, "n_windows": int(starts.size)})
    # validation: the last recording of each class in TRAIN (chosen by position, before looking at results)
    val = {k: v[-1:] for k, v in val_per_class.items()}
    log.info("BasicMotions: %d recordings -> %d windows", len(recordings), len(label))
    return write_dataset(
        out,
        acc=np.concatenate(acc),
        gyr=np.concatenate(gyr) if with_gyr else None,
        label=np.asarray(label),
        subject=np.asarray(subject),
        recording=np.asarray(recording),
        start=np.concatenate(start),
        labels=BASICMOTIONS_LABELS,
        label_text=LABEL_TEXT,
        name="basicmotions",
        source=f"BasicMotions (UEA archive) from the {AEON_REQUIREMENT} wheel",
        rate_hz=RATE_HZ,
        window=WINDOW,
        hop=HOP,
        extra_manifest={
            "source_sha256": sources,
            "source_rate_hz": SOURCE_RATE_HZ,
            "upsampled": {
                "from_hz": SOURCE_RATE_HZ,
                "to_hz": RATE_HZ,
                "method": "scipy.signal.resample_poly",
            },
            "gravity": "removed",
            "units_in_file": {"acc": "m/s^2", "gyr": "rad/s"},
            "placement": "wrist",
            "recordings": recordings,
            "splits": _splits(ids["train"], ids["test"], val),
        },
        overwrite=overwrite,
    )
