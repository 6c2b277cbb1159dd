"""Motion-capture clips -> a dataset folder: pose on the 50 Hz grid, a virtual watch, windows, texts.

Each clip is put on the ``RATE_HZ`` grid (:func:`.clip.clip_on_grid`; a looping DeepMimic clip is first
repeated to at least ``loop_s`` seconds by :func:`.deepmimic.loop_frames`), and a clip shorter than one window is padded to ``WINDOW`` samples by holding its first and last frames (standing still before and
after the move). Then the public :func:`mujo_edge.training.synth.imu.virtual_imu` puts a watch on the wrist:

- ``wrist="right"``: the right wrist, read in its own frame, which is ``AXIS_CONVENTION``;
- ``wrist="left"``: the left wrist, mirrored into the convention as the synthetic corpus does (the pose is
  reflected across the sagittal plane and the watch read on the reflected right wrist; the pose stored is the
  mirrored one, so pose and watch agree);
- ``wrist="both"`` (default): one recording of each.

``placement`` (any of :data:`mujo_edge.training.synth.placement.PLACEMENTS` but the wrists, e.g. "waist",
"right_pocket", "chest") wears the device there instead, in its first wearing orientation, read in the
device's own frame (one recording per clip; ``wrist`` is then ignored; "left_wrist" / "right_wrist" are the
same as ``wrist="left"`` / ``"right"``).

The windows (``WINDOW`` samples, hop ``HOP``) carry ``acc.npy`` (g, with the default :class:`SensorModel`),
``pose.npy`` (m) and a text: each clip's label has a title (the label) and, when given, a description; every
window is paired with its clip's description (else its title), embedded with the frozen sentence encoder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mujo_edge import __version__
from mujo_edge.constants import HOP, RATE_HZ, WINDOW
from mujo_edge.errors import DataError
from mujo_edge.windows import sliding_windows, window_starts

from .clip import MocapClip, clip_on_grid

log = logging.getLogger(__name__)

#: A looping clip is repeated to at least this many seconds (several windows of one cycle).
LOOP_S = 10.0
#: The mocap formats and what their FILE arguments are.
FORMATS = ("bvh", "asf", "deepmimic")

Wrist = Literal["left", "right", "both"]


@dataclass
class LabelledClip:
    """A clip with what it shows."""

    clip: MocapClip
    label: str  #: the dataset label
    text: str | None = None  #: a short description for the text modality ("walking at a normal pace")
    subject: int = 1  #: subject id in the dataset


@dataclass
class _Recording:
    acc: np.ndarray
    pose: np.ndarray
    start: np.ndarray
    info: dict[str, Any]


def read_clips(
    paths: Sequence[str | Path],
    fmt: str,
    urdf: str | Path | None = None,
    scale_m: float | None = None,
    asf_rate_hz: float | None = None,
    loop_s: float = LOOP_S,
) -> list[MocapClip]:
    """Read mocap files of one format into clips.

    Args:
        paths: ``bvh``: .bvh files; ``deepmimic``: DeepMimic humanoid clips (.txt JSON); ``asf``: one .asf
            skeleton followed by one or more .amc motions of it (another .asf starts a new skeleton).
        urdf: the DeepMimic humanoid's URDF (default: the one of the pybullet package, downloaded on first use).
        scale_m: metres per file unit (BVH, ASF; default: guessed / from the ASF units).
        asf_rate_hz: the AMC frame rate (default 120 Hz, CMU's).
        loop_s: a looping DeepMimic clip is repeated to at least this many seconds.
    """
    from .asf import CMU_RATE_HZ, read_asf_amc
    from .bvh import read_bvh
    from .deepmimic import read_deepmimic

    files = [Path(p) for p in paths]
    if not files:
        raise DataError("no mocap files given; pass one or more FILE arguments")
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise DataError(f"mocap file(s) not found: {', '.join(missing)}")
    if fmt == "bvh":
        return [read_bvh(p, scale_m=scale_m) for p in files]
    if fmt == "deepmimic":
        if urdf is None:
            from .deepmimic import humanoid_urdf

            urdf = humanoid_urdf()
        return [read_deepmimic(p, urdf, loop_s) for p in files]
    if fmt == "asf":
        clips, asf = [], None
        for p in files:
            if p.suffix.lower() == ".asf":
                asf = p
            elif asf is None:
                raise DataError(f"{p}: an .amc motion needs its .asf skeleton before it in the file list")
            else:
                clips.append(read_asf_amc(asf, p, asf_rate_hz or CMU_RATE_HZ, scale_m=scale_m))
        if not clips:
            raise DataError("the file list holds an .asf skeleton but no .amc motion; add the .amc file(s)")
        return clips
    raise DataError(f"unknown mocap format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _pad(pose: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """Hold the first and last frames so that the pose has at least ``n`` frames; (pose, frames added before)."""
    short = n - pose.shape[0]
    if short <= 0:
        return pose, 0
    before = short // 2
    return np.concatenate(
        [np.repeat(pose[:1], before, 0), pose, np.repeat(pose[-1:], short - before, 0)]
    ), before


def clip_recordings(
    item: LabelledClip,
    wrist: Wrist = "both",
    rng: np.random.Generator | None = None,
    sensor: Any = None,
    rate_hz: float = RATE_HZ,
    window: int = WINDOW,
    hop: int = HOP,
    placement: str | None = None,
) -> list[_Recording]:
    """One clip -> its recordings (one per wrist, or one at ``placement``), as windows of acc (g) and pose (m)."""
    from mujo_edge.training.synth.imu import virtual_imu
    from mujo_edge.training.synth.workout import mirror_pose

    if placement in ("left_wrist", "right_wrist"):
        wrist, placement = ("left" if placement == "left_wrist" else "right"), None
    if wrist not in ("left", "right", "both"):
        raise DataError(f"wrist must be left, right or both, got {wrist!r}")
    rng = rng if rng is not None else np.random.default_rng(0)
    grid = clip_on_grid(item.clip, rate_hz)
    pose, padded = _pad(grid.pose_m, window)
    out = []
    sides: tuple[str, ...] = ("right", "left") if wrist == "both" else (wrist,)
    for side in sides if placement is None else (placement,):
        p = mirror_pose(pose) if side == "left" else pose
        if placement is None:
            imu = virtual_imu(p, rate_hz, "right", sensor=sensor, rng=rng)
        else:
            imu = virtual_imu(p, rate_hz, sensor=sensor, rng=rng, placement=placement)
        starts = window_starts(p.shape[0], window, hop)
        out.append(
            _Recording(
                acc=sliding_windows(imu.acc_g, window, hop),
                pose=sliding_windows(p.astype(np.float32), window, hop),
                start=starts,
                info={
                    "clip": item.clip.name,
                    "file": Path(item.clip.source).name,
                    "label": item.label,
                    "subject": int(item.subject),
                    "wrist": side if placement is None else None,
                    "placement": f"{side}_wrist" if placement is None else placement,
                    "mirrored": side == "left",
                    "source_rate_hz": round(float(item.clip.rate_hz), 3),
                    "clip_s": round(item.clip.duration_s, 3),
                    "cycles": int(item.clip.cycles),
                    "padded_s": round((pose.shape[0] - grid.pose_m.shape[0]) / rate_hz, 3),
                    "padded_before_s": round(padded / rate_hz, 3),
                    "samples": int(p.shape[0]),
                    "windows": int(starts.size),
                },
            )
        )
    return out


def import_clips(
    items: Sequence[LabelledClip],
    out: str | Path,
    *,
    wrist: Wrist = "both",
    seed: int = 0,
    sensor: Any = None,
    name: str = "mocap",
    source: str = "",
    placement: str | None = None,
    overwrite: bool = False,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    extra_manifest: dict[str, Any] | None = None,
) -> Any:
    """Labelled clips -> a dataset folder (see the module docstring). Returns the opened dataset.

    Nothing is written until every clip is read and windowed; ``seed`` draws the sensor errors.
    """
    from mujo_edge.training.data.format import check_dataset_out, write_dataset
    from mujo_edge.training.synth.imu import SensorModel
    from mujo_edge.training.text import normalize_text

    if not items:
        raise DataError("no clips to import")
    out = Path(out)
    check_dataset_out(out, overwrite)
    sensor = SensorModel() if sensor is None else sensor
    rng = np.random.default_rng(seed)
    labels: list[str] = []
    for it in items:
        if not it.label or not isinstance(it.label, str):
            raise DataError(
                f"{it.clip.source}: every clip needs a label (a non-empty name), got {it.label!r}"
            )
        if it.label not in labels:
            labels.append(it.label)
    texts: list[dict[str, str]] = []

    def text_index(label: str, kind: str, text: str) -> int:
        entry = {"label": label, "kind": kind, "text": normalize_text(text)}
        if entry not in texts:
            texts.append(entry)
        return texts.index(entry)

    for lab in labels:
        text_index(lab, "title", lab)
    recs: list[_Recording] = []
    rec_text: list[int] = []
    rec_label: list[int] = []
    for it in items:
        tid = (
            text_index(it.label, "description", it.text)
            if it.text
            else text_index(it.label, "title", it.label)
        )
        for r in clip_recordings(it, wrist, rng, sensor, placement=placement):
            recs.append(r)
            rec_text.append(tid)
            rec_label.append(labels.index(it.label))
    counts = np.array([len(r.start) for r in recs])
    if counts.sum() == 0:
        raise DataError("no clip yields a full window; every clip is shorter than 2 s even after looping")
    if encode is None:
        from mujo_edge.training.text import encode_texts

        encode = encode_texts
    emb = encode([t["text"] for t in texts])
    label_text: dict[str, list[str]] = {lab: [] for lab in labels}
    for t in texts:
        if t["text"] not in label_text[t["label"]]:
            label_text[t["label"]].append(t["text"])
    mocap = {
        "version": __version__,
        "wrist": wrist if placement is None else None,
        "placement": placement,
        "frame": "AXIS_CONVENTION (right-wrist frame); left-wrist recordings mirrored, pose included",
        "world": "z up, metres, floor z = 0, gravity (0, 0, -9.80665)",
        "sensor": {k: float(v) for k, v in asdict(sensor).items()},
        "virtual_imu": "mujo_edge.training.synth.imu.virtual_imu",
        "text_model": "all-MiniLM-L6-v2",
    }
    return write_dataset(
        out,
        acc=np.concatenate([r.acc for r in recs]),
        pose=np.concatenate([r.pose for r in recs]),
        label=np.repeat(rec_label, counts),
        subject=np.repeat([r.info["subject"] for r in recs], counts),
        recording=np.repeat(np.arange(len(recs)), counts),
        start=np.concatenate([r.start for r in recs]),
        labels=labels,
        label_text=label_text,
        text=emb,
        text_id=np.repeat(rec_text, counts),
        name=name,
        source=source,
        seed=seed,
        overwrite=overwrite,
        extra_manifest={
            "recordings": [r.info for r in recs],
            "texts": texts,
            "mocap": mocap,
            **(extra_manifest or {}),
        },
    )


def import_mocap(
    paths: Sequence[str | Path],
    out: str | Path,
    fmt: str,
    label: str,
    *,
    text: str | None = None,
    subject: int = 1,
    urdf: str | Path | None = None,
    scale_m: float | None = None,
    wrist: Wrist = "both",
    loop_s: float = LOOP_S,
    seed: int = 0,
    sensor: Any = None,
    placement: str | None = None,
    overwrite: bool = False,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> Any:
    """Mocap files of one format, all showing ``label``, into a dataset folder (one subject: ``subject``)."""
    clips = read_clips(paths, fmt, urdf=urdf, scale_m=scale_m, loop_s=loop_s)
    items = [LabelledClip(c, label, text, subject) for c in clips]
    return import_clips(
        items,
        out,
        wrist=wrist,
        seed=seed,
        sensor=sensor,
        placement=placement,
        name=f"mocap-{fmt}-{label}",
        source=f"{fmt} motion capture: {', '.join(Path(p).name for p in paths)}",
        overwrite=overwrite,
        encode=encode,
    )
