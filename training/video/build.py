"""Videos -> dataset: pose per frame, 17 joints on the 50 Hz grid, virtual wrist IMU, chapter labels and texts.

:func:`track_video` runs the pose models over every frame of one file (:class:`VideoTrack`, at the file's own
rate); :func:`video_to_dataset` turns the tracks of several files into one dataset folder in the format of
``docs/data.md``: ``acc.npy`` (virtual watch, g, right-wrist frame of ``AXIS_CONVENTION``; left-wrist
recordings mirrored, pose included, as the synthetic corpus does), ``pose.npy``, labels from chapters or one
``label``, the chapter texts embedded by the frozen sentence encoder, and provenance (video and model sha256).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mujo_edge.constants import HOP, RATE_HZ, WINDOW
from mujo_edge.errors import DataError
from mujo_edge.provenance import sha256_file
from mujo_edge.training.video import assets
from mujo_edge.training.video.blazepose import PoseEstimator
from mujo_edge.training.video.chapters import Chapter, normalize_title
from mujo_edge.training.video.decode import VideoInfo, frames, probe
from mujo_edge.training.video.skeleton import MAX_FILL_S, SMOOTH_HZ, PoseRun, landmarks_to_h36m, to_grid

log = logging.getLogger(__name__)

#: Fraction of a video dropped at its start and at its end with ``trim`` on (the paper: intros and farewells).
TRIM_FRACTION: float = 0.15
#: A video whose person is found in fewer frames than this is reported as "no person found".
MIN_FOUND_FRACTION: float = 0.05

#: A re-detected person whose hips are farther than this many region-of-interest sides from the hips of the
#: last person seen is taken to be someone else: the pose track is cut there (no window spans two people).
NEW_PERSON_DISTANCE: float = 0.5

#: ``progress(done_frames, total_frames, frames_per_s)`` for one video.
Progress = Callable[[int, int, float], None]


@dataclass
class VideoTrack:
    """The pose of one video at its own frame rate.

    Attributes:
        info: what the file is (size, rate, duration).
        t_s: (n,) float64 frame times, seconds from the first frame.
        world_m: (n, 33, 3) float32 MediaPipe world landmarks (camera orientation), NaN where nobody was found.
        image_px: (n, 33, 3) float32 image landmarks, pixels of the decoded frame, NaN where nobody was found.
        presence: (n,) float32 pose flag, 0 where nobody was found.
        detections: frames on which the detector ran.
        new_person: (n,) bool, frames where the detector found someone away from the person tracked before
            (:data:`NEW_PERSON_DISTANCE`); the track is cut before them.
        pose_s: wall-clock seconds spent in decoding and the pose models.
        sha256: of the file.
        cpu_s: CPU seconds of this process (all its threads) spent in decoding and the pose models; on a
            machine busy with other work this, not ``pose_s``, tells the speed of one free core.
    """

    info: VideoInfo
    t_s: np.ndarray
    world_m: np.ndarray
    image_px: np.ndarray
    presence: np.ndarray
    detections: int
    pose_s: float
    sha256: str = ""
    cpu_s: float = 0.0
    new_person: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> np.ndarray:
        """(n,) bool: frames with a person."""
        return np.isfinite(self.world_m).all(axis=(1, 2))

    @property
    def frames_per_s(self) -> float:
        """Frames decoded and posed per second of wall time."""
        return self.t_s.size / max(self.pose_s, 1e-9)

    @property
    def frames_per_cpu_s(self) -> float:
        """Frames decoded and posed per CPU second (equals :attr:`frames_per_s` on an otherwise idle core)."""
        return self.t_s.size / max(self.cpu_s, 1e-9)


def track_video(
    path: str | Path,
    estimator: PoseEstimator | None = None,
    progress: Progress | None = None,
    max_frames: int | None = None,
) -> VideoTrack:
    """Run the pose models over the frames of one video.

    Args:
        path: the video file.
        estimator: a :class:`PoseEstimator` (reset here); None loads the cached models (fetched if missing).
        progress: called after every frame with (done, total, frames per second).
        max_frames: stop after this many frames (tests, previews).
    Raises:
        DataError: unreadable file, no video stream, models missing and not downloadable.
    """
    path = Path(path)
    info = probe(path)
    if estimator is None:
        estimator = PoseEstimator(*assets.pose_models())
    estimator.reset()
    total = info.n_frames if max_frames is None else min(info.n_frames or max_frames, max_frames)
    ts, world, image, pres = [], [], [], []
    detections = 0
    new_person: list[bool] = []
    last_hips: np.ndarray | None = None
    last_size = 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    nan33 = np.full((33, 3), np.nan, dtype=np.float32)
    for t, img in frames(path):
        p = estimator(img)
        ts.append(t)
        if p is None:
            world.append(nan33)
            image.append(nan33)
            pres.append(0.0)
        else:
            world.append(p.world_m.astype(np.float32))
            image.append(p.image_px.astype(np.float32))
            pres.append(p.presence)
            detections += int(p.detected)
            hips = p.image_px[[23, 24], :2].mean(0)
            new_person.append(
                bool(
                    p.detected
                    and last_hips is not None
                    and np.linalg.norm(hips - last_hips) > NEW_PERSON_DISTANCE * last_size
                )
            )
            last_hips, last_size = hips, p.roi.size_px
        if len(new_person) < len(ts):
            new_person.append(False)
        if progress is not None:
            progress(len(ts), max(total, len(ts)), len(ts) / max(time.perf_counter() - t0, 1e-9))
        if max_frames is not None and len(ts) >= max_frames:
            break
    t_s = np.asarray(ts, dtype=np.float64)
    return VideoTrack(
        info=info,
        t_s=t_s - t_s[0],
        world_m=np.stack(world),
        image_px=np.stack(image),
        presence=np.asarray(pres, dtype=np.float32),
        new_person=np.asarray(new_person, dtype=bool),
        detections=detections,
        pose_s=time.perf_counter() - t0,
        sha256=sha256_file(path),
        cpu_s=time.process_time() - c0,
    )


def chapter_index(t_s: np.ndarray, chapters: Sequence[Chapter]) -> np.ndarray:
    """(m,) index of the chapter each time falls in, -1 before the first chapter."""
    starts = np.array([c.start_s for c in chapters])
    return np.searchsorted(starts, t_s, side="right") - 1


def _windows(run: PoseRun, lo_s: float, hi_s: float) -> list[int]:
    """Window starts (grid samples of the run) of windows lying in [lo_s, hi_s]."""
    out = []
    for k in range(0, run.t_s.size - WINDOW + 1, HOP):
        if run.t_s[k] >= lo_s - 1e-9 and run.t_s[k + WINDOW - 1] <= hi_s + 1e-9:
            out.append(k)
    return out


def video_to_dataset(
    videos: Sequence[str | Path],
    out: str | Path,
    chapters: Sequence[Sequence[Chapter]] | None = None,
    label: str | None = None,
    wrist: Literal["left", "right", "both"] = "left",
    trim: bool = False,
    with_gyr: bool = False,
    seed: int = 0,
    overwrite: bool = False,
    progress: Callable[[int, Path], Progress] | None = None,
    tracks: Sequence[VideoTrack] | None = None,
    encode: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> Any:
    """Build a dataset folder from videos.

    Args:
        videos: the video files (one recording per file and wrist; subject = position + 1).
        out: the dataset folder to write.
        chapters: per video, its parsed chapters (labels = normalized titles); or None with ``label``.
        label: one label for every window (when there are no chapters).
        wrist: which wrist wears the virtual watch; "both" gives two recordings per video.
        trim: drop the first and last :data:`TRIM_FRACTION` of every video.
        with_gyr: also write the virtual gyroscope.
        seed: randomness of the sensor model (noise, bias).
        overwrite: replace a dataset already at ``out``.
        progress: ``progress(video_index, path)`` returns the per-frame callback of that video.
        tracks: already computed tracks of ``videos`` (skips the pose models).
        encode: the sentence encoder (default :func:`mujo_edge.training.text.encode_texts`).
    Returns:
        The written :class:`~mujo_edge.training.data.format.Dataset`.
    Raises:
        DataError: bad arguments; a video that cannot be read; nobody found in any video; no 2-s window left.
    """
    from mujo_edge.training.data.format import check_dataset_out, write_dataset
    from mujo_edge.training.synth.imu import virtual_imu
    from mujo_edge.training.synth.workout import mirror_pose

    paths = [Path(v) for v in videos]
    if not paths:
        raise DataError("no video given. Name at least one video file")
    if (chapters is None) == (label is None):
        raise DataError("give either chapters (one chapter file per video) or one label for all windows")
    if chapters is not None and len(chapters) != len(paths):
        raise DataError(
            f"{len(chapters)} chapter files for {len(paths)} videos. Give one chapter file per video, in order"
        )
    if wrist not in ("left", "right", "both"):
        raise DataError(f"wrist must be 'left', 'right' or 'both', got {wrist!r}")
    if label is not None and not (normalize_title(label) or label.strip()):
        raise DataError(f"the label {label!r} is empty. Name the activity")
    check_dataset_out(out, overwrite)
    infos = [probe(v) for v in paths]  # every file checked before the slow part
    det_path, lmk_path = assets.pose_models()
    estimator = None if tracks is not None else PoseEstimator(det_path, lmk_path)

    label_names: list[str] = []
    label_titles: dict[str, list[str]] = {}

    def label_id(name: str, title: str) -> int:
        if name not in label_names:
            label_names.append(name)
            label_titles[name] = []
        if title not in label_titles[name]:
            label_titles[name].append(title)
        return label_names.index(name)

    if label is not None:
        single = label_id(normalize_title(label) or label.strip().lower(), label)
    wrists = ["left", "right"] if wrist == "both" else [wrist]
    rng = np.random.default_rng(seed)
    acc: list[np.ndarray] = []
    gyr: list[np.ndarray] = []
    pose: list[np.ndarray] = []
    lab: list[int] = []
    subj: list[int] = []
    rec: list[int] = []
    start: list[int] = []
    video_info: list[dict[str, Any]] = []
    problems: list[str] = []
    for vi, path in enumerate(paths):
        track = (
            tracks[vi]
            if tracks is not None
            else track_video(path, estimator, progress(vi, path) if progress else None)
        )
        found = track.found
        entry: dict[str, Any] = {
            "file": path.name,
            "sha256": track.sha256 or sha256_file(path),
            "subject": vi + 1,
            "width_px": infos[vi].width_px,
            "height_px": infos[vi].height_px,
            "rate_hz": round(infos[vi].rate_hz, 4),
            "frames": int(track.t_s.size),
            "duration_s": round(float(track.t_s[-1]) if track.t_s.size else 0.0, 3),
            "frames_with_person": int(found.sum()),
            "found_fraction": round(float(found.mean()), 4),
            "detector_runs": track.detections,
            "person_changes": int(track.new_person.sum()) if track.new_person is not None else 0,
            "pose_frames_per_s": round(track.frames_per_s, 2),
            "pose_frames_per_cpu_s": round(track.frames_per_cpu_s, 2),
        }
        video_info.append(entry)
        if found.mean() < MIN_FOUND_FRACTION:
            problems.append(
                f"{path}: no person found ({int(found.sum())} of {track.t_s.size} frames). The pose models need "
                "one person seen whole or from the hips up, not too small in the frame"
            )
            entry["windows"] = 0
            continue
        runs = to_grid(track.t_s, landmarks_to_h36m(track.world_m), new_person=track.new_person)
        dur = float(track.t_s[-1])
        lo, hi = (TRIM_FRACTION * dur, (1 - TRIM_FRACTION) * dur) if trim else (0.0, dur)
        entry["runs"] = [[round(float(r.t_s[0]), 3), round(float(r.t_s[-1]), 3)] for r in runs]
        entry["grid_samples_filled"] = int(sum(int(r.filled.sum()) for r in runs))
        chs = chapters[vi] if chapters is not None else None
        if chs is not None:
            entry["chapters"] = [{"start_s": c.start_s, "title": c.title, "label": c.label} for c in chs]
        n_before = len(acc)
        for wi, side in enumerate(wrists):
            for run in runs:
                ks = _windows(run, lo, hi)
                if not ks:
                    continue
                p = run.pose_m.astype(np.float64)
                if side == "left":
                    p = mirror_pose(p)  # stored in the right-wrist frame, as the corpus and importers do
                imu = virtual_imu(p, RATE_HZ, "right", gravity_axis="z", rng=rng)
                if chs is not None:
                    ci = chapter_index(run.t_s, chs)
                grid0 = round(float(run.t_s[0]) * RATE_HZ)
                for k in ks:
                    if chs is not None:
                        c = ci[k : k + WINDOW]
                        vals, counts = np.unique(c, return_counts=True)
                        best = int(vals[np.argmax(counts)])
                        if best < 0:
                            continue
                        y = label_id(chs[best].label, chs[best].title)
                    else:
                        y = single
                    acc.append(imu.acc_g[k : k + WINDOW])
                    gyr.append(imu.gyr_rad_s[k : k + WINDOW])
                    pose.append(p[k : k + WINDOW].astype(np.float32))
                    lab.append(y)
                    subj.append(vi + 1)
                    rec.append(vi * len(wrists) + wi)
                    start.append(grid0 + k)
        entry["windows"] = len(acc) - n_before
        entry["wrists"] = wrists
    if not acc:
        detail = (
            "; ".join(problems)
            if problems
            else (
                "every video is shorter than one 2-s window of continuous pose"
                + (" after trimming 15 % at each end" if trim else "")
            )
        )
        raise DataError(f"no windows to write: {detail}")
    for msg in problems:
        log.warning("%s (skipped)", msg)
    if encode is None:
        from mujo_edge.training.text import encode_texts

        encode = encode_texts
    text = encode(label_names)
    text_id = np.asarray(lab, dtype=np.int64)
    models = {
        name: {"file": Path(a.member).name, "package": a.requirement, "sha256": sha256_file(p)}
        for name, a, p in (
            ("detector", assets.POSE_DETECTOR, det_path),
            ("landmarks", assets.POSE_LANDMARK, lmk_path),
        )
    }
    return write_dataset(
        out,
        acc=np.stack(acc),
        label=np.asarray(lab),
        subject=np.asarray(subj),
        recording=np.asarray(rec),
        start=np.asarray(start),
        labels=label_names,
        label_text=label_titles,
        pose=np.stack(pose),
        gyr=np.stack(gyr) if with_gyr else None,
        text=text,
        text_id=text_id,
        name="video",
        source=", ".join(v.name for v in paths),
        seed=seed,
        overwrite=overwrite,
        extra_manifest={
            "videos": video_info,
            "skipped_videos": problems,
            "pose_models": models,
            "pose_pipeline": {
                "landmarks": "MediaPipe BlazePose full, world landmarks (metres) -> H36M 17 joints, z up",
                "max_fill_s": MAX_FILL_S,
                "smooth_hz": SMOOTH_HZ,
                "root": "hip-relative (no body translation)",
            },
            "virtual_imu": {"wrists": wrists, "frame": "AXIS_CONVENTION; left wrist mirrored, pose included"},
            "trim_fraction": TRIM_FRACTION if trim else 0.0,
            "texts": [
                {"label": n, "kind": "chapter" if chapters is not None else "label", "text": n}
                for n in label_names
            ],
        },
    )
