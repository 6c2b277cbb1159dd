"""Importer for the seglearn smartwatch dataset: real wrist data of 7 shoulder physiotherapy exercises.

Burns et al. 2018, "Shoulder physiotherapy exercise recognition: machine learning the inertial signals from a
smartwatch". The file ``seglearn/data/watch_dataset.npy`` ships inside the ``seglearn`` wheel (BSD): 140
recordings at 50 Hz, channels ``ax ay az`` (g) and ``wx wy wz`` (rad/s), 10 subjects x 7 exercises x 2 sides
(``side`` 1 = right, 0 = left). It is read with numpy alone: seglearn's own code needs old scikit-learn APIs.

Axis convention. Mean gravity per exercise shows that right-side recordings already follow
:data:`~mujo_edge.constants.AXIS_CONVENTION` (hanging arm in PEN: x = -1.08 g, i.e. x points to the hand;
thumb-up forearm in IR/ER: y = +0.96 g, i.e. y points to the thumb), while left-side recordings read x with the
opposite sign (PEN x = +1.01 g) and y, z with the same sign. A left wrist is the mirror image of a right one,
so by default the importer mirrors left-side recordings into the convention: ``ax -> -ax`` and, for the
angular rate (a pseudo-vector), ``(wx, wy, wz) -> (wx, -wy, -wz)``. ``mirror_left=False`` keeps the device
axes as recorded. The manifest records side and mirroring per recording.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.axes import mirror_left_wrist
from mujo_edge.constants import HOP, RATE_HZ, WINDOW
from mujo_edge.errors import DataError, MissingDependencyError
from mujo_edge.provenance import sha256_file
from mujo_edge.training.data.format import Dataset, write_dataset
from mujo_edge.windows import sliding_windows, window_starts

log = logging.getLogger(__name__)

#: Label names as the file has them (``y`` indexes this tuple).
SEGLEARN_LABELS: tuple[str, ...] = ("PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW")

#: Full exercise names.
FULL_NAMES: dict[str, str] = {
    "PEN": "pendulum",
    "ABD": "shoulder abduction",
    "FEL": "forward elevation",
    "IR": "internal rotation",
    "ER": "external rotation",
    "TRAP": "trapezius extension",
    "ROW": "upright row",
}

#: Per label: chapter-style titles (as a workout video would name its chapters) and one instructor-style
#: description. Lower-case titles, sentences for descriptions.
LABEL_TEXT: dict[str, list[str]] = {
    "PEN": [
        "pendulum",
        "shoulder pendulum exercise",
        "arm pendulum swings",
        "Lean forward with your other hand on a table, let the arm hang straight down and relaxed, and swing it "
        "gently in small circles and back and forth, letting gravity do the work.",
    ],
    "ABD": [
        "shoulder abduction",
        "side arm raise",
        "lateral arm raise to shoulder height",
        "Stand tall with the arm at your side, thumb pointing forward, and slowly raise the straight arm out to "
        "the side up to shoulder height, then lower it back down under control.",
    ],
    "FEL": [
        "forward elevation",
        "forward arm raise",
        "shoulder flexion",
        "Keep the elbow straight and raise the arm forward in front of you, thumb up, as high as is comfortable, "
        "then lower it slowly back to your side.",
    ],
    "IR": [
        "internal rotation",
        "shoulder internal rotation with band",
        "resistance band internal rotation",
        "Hold the band with the elbow bent at ninety degrees and tucked against your side, then rotate the "
        "forearm inwards across your stomach and let it return slowly, keeping the elbow in place.",
    ],
    "ER": [
        "external rotation",
        "shoulder external rotation with band",
        "resistance band external rotation",
        "With the elbow bent at ninety degrees and pinned to your side, rotate the forearm outwards away from "
        "your body against the band, then bring it back in slowly.",
    ],
    "TRAP": [
        "trapezius extension",
        "shoulder extension for the lower trapezius",
        "straight arm pull back",
        "Stand with the arm hanging straight down, squeeze the shoulder blade down and back and pull the "
        "straight arm backwards behind you, hold briefly and return.",
    ],
    "ROW": [
        "upright row",
        "shoulder upright row",
        "standing upright row",
        "Hold the weight with the arm hanging in front of you and pull it straight up along the body towards "
        "your chin, leading with the elbow, then lower it slowly.",
    ],
}

_SIDES = {0: "left", 1: "right"}

#: The subject split of the reference baseline (data-sources: train 1-7, test on unseen subjects 9 and 10),
#: with subject 8 for validation; stored in the manifest for ``predefined_split``.
SEGLEARN_SPLITS: dict[str, Any] = {
    "by": "subject",
    "train": [1, 2, 3, 4, 5, 6, 7],
    "val": [8],
    "test": [9, 10],
}


def find_watch_file() -> Path:
    """Path of ``watch_dataset.npy`` inside the installed seglearn package (its code is not imported)."""
    spec = importlib.util.find_spec("seglearn")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("The seglearn watch importer", "training", "seglearn")
    for root in spec.submodule_search_locations:
        path = Path(root) / "data" / "watch_dataset.npy"
        if path.is_file():
            return path
    raise DataError(
        f"seglearn is installed at {list(spec.submodule_search_locations)} but data/watch_dataset.npy is not "
        "there; reinstall it with: pip install --force-reinstall seglearn==1.2.5"
    )


#: sha256 of ``seglearn/data/watch_dataset.npy`` in seglearn 1.2.5 (the one pickle this project loads).
WATCH_SHA256 = "eb122f23cdf06ef6bd6c6c5312958ec5cf9d038e2e6d457b8081662c75a42537"


def load_watch(path: str | Path | None = None) -> dict[str, Any]:
    """The raw dict of the watch file (``X``, ``y``, ``subject``, ``side``, ``X_labels``, ``y_labels``), checked."""
    path = Path(path) if path is not None else find_watch_file()
    # The file is a pickled dict (np.save of a dict), so unpickling it could run code. It is unpickled only
    # when its bytes are exactly seglearn 1.2.5's file (sha256 below): nothing else is ever unpickled.
    digest = sha256_file(path) if path.is_file() else None
    if digest is not None and digest != WATCH_SHA256:
        raise DataError(
            f"{path}: sha256 {digest[:12]}... is not that of seglearn 1.2.5's watch_dataset.npy "
            f"({WATCH_SHA256[:12]}...). The file is a pickle, which is only loaded when it is the known one; "
            "use the file of the seglearn package: pip install --force-reinstall seglearn==1.2.5"
        )
    try:
        raw = np.load(path, allow_pickle=True).item()
    except (OSError, ValueError, AttributeError) as e:
        raise DataError(f"{path} is not a readable seglearn watch file ({e}); reinstall seglearn") from e
    missing = [k for k in ("X", "y", "subject", "side") if k not in raw]
    if missing:
        raise DataError(f"{path} lacks {missing}: not the seglearn watch dataset this importer knows")
    n = len(raw["X"])
    for k in ("y", "subject", "side"):
        if len(raw[k]) != n:
            raise DataError(f"{path}: {k} has {len(raw[k])} entries for {n} recordings")
    for i, x in enumerate(raw["X"]):
        if x.ndim != 2 or x.shape[1] != 6 or not np.isfinite(x).all():
            raise DataError(f"{path}: recording {i} must be finite (n, 6) ax ay az wx wy wz, got {x.shape}")
    labels = tuple(str(v) for v in raw.get("y_labels", SEGLEARN_LABELS))
    if labels != SEGLEARN_LABELS:
        raise DataError(f"{path}: labels {labels} differ from the expected {SEGLEARN_LABELS}")
    return raw


def import_seglearn_watch(
    out: str | Path,
    with_gyr: bool = True,
    mirror_left: bool = True,
    path: str | Path | None = None,
    overwrite: bool = False,
) -> Dataset:
    """Window the seglearn watch recordings (``WINDOW`` samples, hop ``HOP``) into a dataset folder at ``out``.

    Args:
        out: dataset folder to create.
        with_gyr: also write ``gyr.npy`` (rad/s).
        mirror_left: mirror left-side recordings into the axis convention (module docstring).
        path: the watch file; default: the one inside the installed seglearn package.
        overwrite: replace a dataset already at ``out``.
    Returns:
        the written :class:`Dataset`; its manifest lists every recording's subject, side, exercise, length
        and whether it was mirrored.
    """
    path = Path(path) if path is not None else find_watch_file()
    raw = load_watch(path)
    acc, gyr, label, subject, recording, start = [], [], [], [], [], []
    recordings = []
    for i, x in enumerate(raw["X"]):
        side = _SIDES[int(raw["side"][i])]
        a, w = x[:, :3], x[:, 3:]
        mirrored = mirror_left and side == "left"
        if mirrored:
            a, w = mirror_left_wrist(a, w)
        starts = window_starts(x.shape[0])
        acc.append(sliding_windows(a.astype(np.float32)))
        gyr.append(sliding_windows(w.astype(np.float32)))
        label += [int(raw["y"][i])] * starts.size
        subject += [int(raw["subject"][i])] * starts.size
        recording += [i] * starts.size
        start.append(starts)
        recordings.append(
            {
                "id": i,
                "subject": int(raw["subject"][i]),
                "side": side,
                "label": SEGLEARN_LABELS[int(raw["y"][i])],
                "n_samples": int(x.shape[0]),
                "n_windows": int(starts.size),
                "mirrored": bool(mirrored),
            }
        )
    log.info("seglearn watch: %d recordings -> %d windows", len(recordings), len(label))
    return write_dataset(
        out,
        acc=np.concatenate(acc),
        gyr=np.concatenate(gyr) if with_gyr else None,
        label=np.asarray(label),
        subject=np.asarray(subject),
        recording=np.asarray(recording),
        start=np.concatenate(start),
        labels=SEGLEARN_LABELS,
        label_text=LABEL_TEXT,
        name="seglearn-watch",
        source=f"seglearn watch_dataset.npy (Burns et al. 2018), {path.name}",
        rate_hz=RATE_HZ,
        window=WINDOW,
        hop=HOP,
        extra_manifest={
            "label_names": FULL_NAMES,
            "source_sha256": sha256_file(path),
            "mirror_left": bool(mirror_left),
            "recordings": recordings,
            "splits": SEGLEARN_SPLITS,
        },
        overwrite=overwrite,
    )
