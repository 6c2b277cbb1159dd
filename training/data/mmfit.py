"""Importer for MM-Fit (Strömbäck et al. 2020), the paper's benchmark, in its published folder format.

MM-Fit cannot be downloaded here, so this reads the format its authors publish (one folder per workout):

- ``wXX/wXX_sw_l_acc.npy`` / ``wXX_sw_r_acc.npy`` (smartwatch, left/right wrist): rows
  ``[frame, timestamp_ms, x, y, z]``, m/s^2, ~100 Hz; ``..._gyr.npy`` the same in rad/s;
- ``wXX/wXX_pose_3d.npy``: (3, T, 1 + J), 30 Hz; along the joint axis entry 0 is the camera frame index and the
  rest are the joints (J = 16: the Human3.6M joints without the root "Hip", which the 3D estimate keeps at the
  origin; J = 17: all of them), in MM-Fit's published order :data:`MMFIT_POSE_JOINTS`;
- ``wXX/wXX_labels.csv``: rows ``start_frame, end_frame, reps, activity``.

What the importer does:

- frames -> seconds with the line ``t = a * frame + b`` fitted to the watch rows (every row has both);
- accelerometer m/s^2 -> g, split at gaps and resampled to 50 Hz with anti-aliasing (:mod:`mujo_edge.grid`); the
  gyroscope is resampled the same way and sampled on the accelerometer's grid;
- pose: MM-Fit's joints are mapped by name into :data:`~mujo_edge.constants.H36M_JOINTS` order; a missing root
  hip is filled with the midpoint of the two hips; the skeleton is linearly interpolated from 30 to 50 Hz
  within runs of consecutive frames, never across a dropped frame. Values in millimetres (a median thigh over
  5 units long) are converted to metres. Windows the pose does not cover completely are dropped (counted in
  the manifest); ``with_pose=False`` keeps them and writes no pose;
- labels: each grid sample gets the activity whose ``[start_frame, end_frame]`` holds its frame, else
  ``non_activity``; a window takes its majority label;
- subject = the participant of the workout (MM-Fit's published workout -> participant map,
  :data:`WORKOUT_SUBJECT`; unknown workouts get ``1000 + workout`` so they collide with no participant);
  recording = the workout number; the authors' splits are stored in ``manifest["splits"]``
  (use :func:`mujo_edge.training.data.splits.predefined_split`).
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.axes import mirror_left_wrist
from mujo_edge.constants import H36M_JOINTS, HOP, RATE_HZ, STANDARD_GRAVITY, WINDOW
from mujo_edge.errors import DataError
from mujo_edge.grid import resample_recording, resample_segment, split_at_gaps
from mujo_edge.training.data.csv_import import majority_label
from mujo_edge.training.data.format import Dataset, write_dataset
from mujo_edge.windows import sliding_windows, window_starts

log = logging.getLogger(__name__)

#: MM-Fit's classes in its own index order; ``non_activity`` is time outside every labelled set.
MMFIT_LABELS: tuple[str, ...] = (
    "squats",
    "lunges",
    "bicep_curls",
    "situps",
    "pushups",
    "tricep_extensions",
    "dumbbell_rows",
    "jumping_jacks",
    "dumbbell_shoulder_press",
    "lateral_shoulder_raises",
    "non_activity",
)

#: The authors' recommended split, by workout number.
MMFIT_SPLITS: dict[str, list[int]] = {
    "train": [1, 2, 3, 4, 6, 7, 8, 16, 17, 18],
    "val": [14, 15, 19],
    "test": [9, 10, 11],
    "unseen": [0, 5, 12, 13, 20],
}

#: Workout -> participant, as MM-Fit publishes it.
WORKOUT_SUBJECT: dict[int, int] = {
    0: 2, 1: 0, 2: 1, 3: 0, 4: 1, 5: 2, 6: 0, 7: 1, 8: 0, 9: 1, 10: 0,
    11: 1, 12: 3, 13: 4, 14: 0, 15: 1, 16: 5, 17: 6, 18: 7, 19: 8, 20: 9,
}  # fmt: skip

#: MM-Fit's 3D-pose joints in its published order (Human3.6M keypoints; names in our spelling).
MMFIT_POSE_JOINTS: tuple[str, ...] = (
    "hip",
    "l_hip",
    "l_knee",
    "l_ankle",
    "r_hip",
    "r_knee",
    "r_ankle",
    "spine",
    "thorax",
    "neck",
    "head",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
)

#: Short instructor-style text per class (titles, then one description).
LABEL_TEXT: dict[str, list[str]] = {
    "squats": ["squats", "bodyweight squat", "Stand feet shoulder-width apart, sit back and down until the thighs "
               "are parallel to the floor, then drive up through the heels."],
    "lunges": ["lunges", "alternating forward lunge", "Step forward and lower the back knee towards the floor, "
               "push back up to standing and switch legs."],
    "bicep_curls": ["bicep curls", "dumbbell bicep curl", "Keep the elbows at your sides and curl the dumbbells "
                    "up to the shoulders, then lower them slowly."],
    "situps": ["sit-ups", "sit up", "Lie on your back with the knees bent, curl the upper body up towards the "
               "knees and roll back down with control."],
    "pushups": ["push-ups", "push up", "From a plank with the hands under the shoulders, lower the chest to the "
                "floor and press back up, keeping the body straight."],
    "tricep_extensions": ["tricep extensions", "overhead tricep extension", "Hold a dumbbell overhead, bend the "
                          "elbows to lower it behind the head and straighten the arms again."],
    "dumbbell_rows": ["dumbbell rows", "bent-over dumbbell row", "Hinge forward with a flat back, pull the "
                      "dumbbell up to the ribs leading with the elbow, then lower it."],
    "jumping_jacks": ["jumping jacks", "star jumps", "Jump the feet out wide while swinging the arms overhead, "
                      "then jump back to the start."],
    "dumbbell_shoulder_press": ["dumbbell shoulder press", "overhead press", "Start with the dumbbells at "
                                "shoulder height and press them straight overhead, then lower them back."],
    "lateral_shoulder_raises": ["lateral shoulder raises", "lateral raise", "Raise the dumbbells out to the "
                                "sides up to shoulder height with slightly bent elbows, then lower slowly."],
    "non_activity": ["no activity", "rest between sets", "Rest, walk around or get ready for the next set."],
}  # fmt: skip

#: A thigh (hip -> knee) longer than this many pose units means the pose is in millimetres.
_MM_THIGH: float = 5.0


def workout_dirs(path: str | Path) -> list[tuple[int, Path]]:
    """``(workout number, folder)`` of every ``wXX`` folder at ``path`` (or ``path`` itself if it is one)."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(
            f"{path} is not a folder; pass the MM-Fit root (holding w00/ ... w20/) or a workout folder"
        )
    pattern = re.compile(r"^w(\d+)$")
    m = pattern.match(path.name)
    if m:
        return [(int(m.group(1)), path)]
    found = sorted(
        (int(m.group(1)), d) for d in path.iterdir() if d.is_dir() and (m := pattern.match(d.name))
    )
    if not found:
        raise DataError(f"{path} holds no workout folders named wXX (e.g. w00/); is it the MM-Fit root?")
    return found


def _load_sensor(path: Path) -> np.ndarray:
    """A ``[frame, timestamp_ms, x, y, z]`` array sorted by time, duplicate timestamps dropped."""
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"{path} is not a readable .npy array ({e}); re-extract the MM-Fit archive") from e
    if a.ndim != 2 or a.shape[1] != 5 or a.shape[0] < 2:
        raise DataError(f"{path} must be (n, 5) rows [frame, timestamp_ms, x, y, z], got shape {a.shape}")
    a = a[np.isfinite(a).all(axis=1)].astype(np.float64)
    a = a[np.argsort(a[:, 1], kind="stable")]
    keep = np.concatenate([[True], np.diff(a[:, 1]) > 0])
    if (~keep).any():
        log.info("%s: dropped %d rows with repeated timestamps", path.name, int((~keep).sum()))
    return a[keep]


def _load_labels(path: Path) -> list[tuple[int, int, str]]:
    """``(start_frame, end_frame, activity)`` rows of a labels CSV (a header row is tolerated)."""
    rows = []
    with open(path, newline="") as f:
        for row_no, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip():
                continue
            try:
                start, end = int(float(row[0])), int(float(row[1]))
            except (ValueError, IndexError):
                if row_no == 1:
                    continue  # header
                raise DataError(
                    f"{path}, row {row_no}: expected start_frame, end_frame, reps, activity, got {row}"
                ) from None
            activity = row[3].strip() if len(row) > 3 else ""
            if activity not in MMFIT_LABELS:
                raise DataError(
                    f"{path}, row {row_no}: unknown activity {activity!r}; MM-Fit's classes are {MMFIT_LABELS}"
                )
            rows.append((start, end, activity))
    return rows


def _load_pose(path: Path, swap_sides: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """``(frames (T,), pose (T, 17, 3) in H36M_JOINTS order, scale to metres)`` from a pose_3d file."""
    try:
        p = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"{path} is not a readable .npy array ({e}); re-extract the MM-Fit archive") from e
    if p.ndim != 3 or p.shape[0] != 3 or p.shape[2] not in (17, 18):
        raise DataError(
            f"{path} must be (3, T, 1 + 16) or (3, T, 1 + 17): the frame index then the joints, got {p.shape}"
        )
    frames = p[0, :, 0].astype(np.float64)
    names = MMFIT_POSE_JOINTS[1:] if p.shape[2] == 17 else MMFIT_POSE_JOINTS
    if swap_sides:
        names = tuple(n.replace("l_", "x_").replace("r_", "l_").replace("x_", "r_") for n in names)
    joints = np.transpose(p[:, :, 1:], (1, 2, 0)).astype(np.float64)  # (T, J, 3)
    pose = np.zeros((p.shape[1], len(H36M_JOINTS), 3))
    for k, name in enumerate(names):
        pose[:, H36M_JOINTS.index(name)] = joints[:, k]
    if "hip" not in names:
        pose[:, 0] = 0.5 * (pose[:, H36M_JOINTS.index("l_hip")] + pose[:, H36M_JOINTS.index("r_hip")])
    good = np.isfinite(pose).all(axis=(1, 2)) & np.isfinite(frames)
    frames, pose = frames[good], pose[good]
    order = np.argsort(frames, kind="stable")
    frames, pose = frames[order], pose[order]
    thigh = np.linalg.norm(
        pose[:, H36M_JOINTS.index("l_hip")] - pose[:, H36M_JOINTS.index("l_knee")], axis=-1
    )
    scale = 1e-3 if thigh.size and float(np.median(thigh)) > _MM_THIGH else 1.0
    return frames, pose * scale, scale


def _on_grid(
    t_grid: np.ndarray, t_src: np.ndarray, x_src: np.ndarray, rate_hz: float | None, anti_alias: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``x_src`` (n, C) at ``t_grid`` and which grid points a gap-free run of the source covers.

    With ``anti_alias`` each run is first resampled to the grid rate (low-pass when faster); otherwise it is
    linearly interpolated directly. Nothing is interpolated across a gap.
    """
    out = np.zeros((t_grid.size, x_src.shape[1]), dtype=np.float64)
    valid = np.zeros(t_grid.size, dtype=bool)
    for sl in split_at_gaps(t_src, rate_hz):
        ts, xs = t_src[sl], x_src[sl]
        if ts.size < 2:
            continue
        if anti_alias:
            ts, xs = resample_segment(ts, xs, RATE_HZ)
        inside = (t_grid >= ts[0] - 1e-9) & (t_grid <= ts[-1] + 1e-9)
        for c in range(xs.shape[1]):
            out[inside, c] = np.interp(t_grid[inside], ts, xs[:, c])
        valid |= inside
    return out, valid


def _window_ok(valid: np.ndarray) -> np.ndarray:
    """(n_windows,) True where every sample of the window is valid."""
    if valid.size < WINDOW:
        return np.zeros(0, dtype=bool)
    return np.asarray(sliding_windows(valid.astype(np.int8)).all(axis=1), dtype=bool)


def import_mmfit(
    path: str | Path,
    out: str | Path,
    wrist: str = "left",
    split: str = "all",
    with_gyr: bool = False,
    with_pose: bool = True,
    mirror: bool = False,
    swap_pose_sides: bool = False,
    overwrite: bool = False,
) -> Dataset:
    """Import MM-Fit workouts (module docstring) into a dataset folder at ``out``.

    Args:
        path: MM-Fit root (holding ``w00/`` ...) or one workout folder.
        wrist: ``"left"`` (``sw_l``) or ``"right"`` (``sw_r``) smartwatch.
        split: ``train``, ``val``, ``test``, ``unseen`` (the authors' workouts) or ``all``.
        with_gyr: also import the watch gyroscope; with_pose: import the 3D pose.
        mirror: mirror the watch x axis (``ax -> -ax``, gyro ``(wx, -wy, -wz)``), e.g. left-wrist data into
            the axis convention; MM-Fit's mounting cannot be checked here, so the default keeps device axes.
        swap_pose_sides: read MM-Fit's pose joint names with left and right exchanged.
    """
    if wrist not in ("left", "right"):
        raise DataError(f"wrist must be 'left' or 'right', got {wrist!r}")
    if split != "all" and split not in MMFIT_SPLITS:
        raise DataError(f"split must be one of {[*MMFIT_SPLITS, 'all']}, got {split!r}")
    side = wrist[0]
    workouts = workout_dirs(path)
    if split != "all":
        workouts = [(w, d) for w, d in workouts if w in MMFIT_SPLITS[split]]
        if not workouts:
            raise DataError(f"{path} holds none of the {split} workouts {MMFIT_SPLITS[split]}")
    acc_w, gyr_w, pose_w, lab_w, subj_w, rec_w, start_w = [], [], [], [], [], [], []
    recordings: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    non_activity = MMFIT_LABELS.index("non_activity")
    pose_scale = None
    for w, d in workouts:
        wid = f"w{w:02d}"
        files = {
            "acc": d / f"{wid}_sw_{side}_acc.npy",
            "gyr": d / f"{wid}_sw_{side}_gyr.npy",
            "pose": d / f"{wid}_pose_3d.npy",
            "labels": d / f"{wid}_labels.csv",
        }
        needed = ["acc", "labels", *(["gyr"] if with_gyr else []), *(["pose"] if with_pose else [])]
        missing = [files[k].name for k in needed if not files[k].is_file()]
        if missing:
            skipped[wid] = f"missing {', '.join(missing)}"
            log.warning("%s: skipped, missing %s", wid, ", ".join(missing))
            continue
        acc = _load_sensor(files["acc"])
        frame_to_s = np.polyfit(acc[:, 0], acc[:, 1] / 1000.0, 1)
        if not frame_to_s[0] > 0:
            raise DataError(
                f"{files['acc']}: frame numbers do not increase with time; re-extract the archive"
            )
        t_acc = acc[:, 1] / 1000.0
        acc_g = acc[:, 2:] / STANDARD_GRAVITY
        sets = _load_labels(files["labels"])
        gyr = _load_sensor(files["gyr"]) if with_gyr else None
        pose_data = _load_pose(files["pose"], swap_pose_sides) if with_pose else None
        n_win = n_dropped = 0
        for seg in resample_recording(t_acc, acc_g):
            if window_starts(seg.x.shape[0]).size == 0:
                continue
            tg = seg.t_s
            valid = np.ones(tg.size, dtype=bool)
            channels = [seg.x.astype(np.float64)]
            if gyr is not None:
                g, ok = _on_grid(tg, gyr[:, 1] / 1000.0, gyr[:, 2:], None, anti_alias=True)
                channels.append(g)
                valid &= ok
            if pose_data is not None:
                frames, pose, pose_scale = pose_data
                t_pose = np.polyval(frame_to_s, frames)
                p, ok = _on_grid(tg, t_pose, pose.reshape(pose.shape[0], -1), None, anti_alias=False)
                channels.append(p)
                valid &= ok
            frame_grid = (tg - frame_to_s[1]) / frame_to_s[0]
            sample_label = np.full(tg.size, non_activity, dtype=np.int64)
            for start_f, end_f, activity in sets:
                sample_label[(frame_grid >= start_f) & (frame_grid <= end_f)] = MMFIT_LABELS.index(activity)
            keep = _window_ok(valid)
            starts = window_starts(tg.size)[keep]
            n_dropped += int((~keep).sum())
            if starts.size == 0:
                continue
            x = np.concatenate(channels, axis=1)
            idx = starts[:, None] + np.arange(WINDOW)[None, :]
            wins = x[idx]
            acc_part = wins[..., :3]
            k = 3
            if gyr is not None:
                gyr_w.append(wins[..., k : k + 3])
                k += 3
            if pose_data is not None:
                pose_w.append(wins[..., k:].reshape(starts.size, WINDOW, len(H36M_JOINTS), 3))
            acc_w.append(acc_part)
            lab_w.append(majority_label(sample_label[idx], len(MMFIT_LABELS)))
            subj_w.append(np.full(starts.size, WORKOUT_SUBJECT.get(w, 1000 + w)))
            rec_w.append(np.full(starts.size, w))
            start_w.append(starts + round(float(seg.t_s[0] - t_acc[0]) * RATE_HZ))
            n_win += starts.size
        recordings.append(
            {
                "id": w,
                "workout": wid,
                "subject": WORKOUT_SUBJECT.get(w, 1000 + w),
                "wrist": wrist,
                "split": next((k for k, v in MMFIT_SPLITS.items() if w in v), None),
                "n_windows": n_win,
                "windows_dropped_without_pose_or_gyr": n_dropped,
                "seconds_per_frame": float(frame_to_s[0]),
            }
        )
    if not acc_w:
        raise DataError(
            f"no window could be made from {path} (skipped: {skipped or 'none'}); check the wrist and that the "
            "workouts hold at least 2 s of watch data"
        )
    acc_all = np.concatenate(acc_w)
    gyr_all = np.concatenate(gyr_w) if with_gyr else None
    if mirror:
        acc_all, gyr_all = mirror_left_wrist(acc_all, gyr_all)
    return write_dataset(
        out,
        acc=acc_all,
        gyr=gyr_all,
        pose=np.concatenate(pose_w) if with_pose else None,
        label=np.concatenate(lab_w),
        subject=np.concatenate(subj_w),
        recording=np.concatenate(rec_w),
        start=np.concatenate(start_w),
        labels=MMFIT_LABELS,
        label_text=LABEL_TEXT,
        name=f"mmfit-{wrist}-{split}",
        source=f"MM-Fit {Path(path)} (sw_{side}; Strömbäck et al. 2020)",
        rate_hz=RATE_HZ,
        window=WINDOW,
        hop=HOP,
        extra_manifest={
            "splits": {"by": "recording", **MMFIT_SPLITS},
            "recordings": recordings,
            "skipped_workouts": skipped,
            "mirrored": bool(mirror),
            "pose_source_joints": _joint_map(swap_pose_sides) if with_pose else None,
            "pose_scale_to_m": pose_scale,
        },
        overwrite=overwrite,
    )


def _joint_map(swap_sides: bool) -> dict[str, str]:
    """MM-Fit joint index -> our joint name, as the manifest documents it."""
    names: Iterable[str] = MMFIT_POSE_JOINTS
    if swap_sides:
        names = (n.replace("l_", "x_").replace("r_", "l_").replace("x_", "r_") for n in names)
    return {str(i): n for i, n in enumerate(names)}
