"""Pose from video on the real clips: speed on one CPU core and the checks of docs/data.md ("Exercise videos").

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_video.py [--json OUT]

For every clip (Sports2D demo, Pose2Sim cam01..cam04; fetched by ``make video-assets``): frames, the share of
frames with a person, decoding + pose speed (frames per wall-clock second and per CPU second, one interpreter
thread), how often the tracker picked up another person, the bone lengths' coefficient of variation in the
model's world landmarks over the longest one-person run (median over the ten bones, the worst bone, bones over
10 %), and the virtual wrist accelerometer over the stillest second of each wrist
(|acc| should read 1 g), for the grid pose written to datasets and for other low-pass cut-offs. For the four
Pose2Sim views: the mean joint distance to cam01 after one rigid alignment for the whole clip and after
per-frame Procrustes (PA-MPJPE).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from mujo_edge.constants import H36M_JOINTS, RATE_HZ
from mujo_edge.errors import DataError
from mujo_edge.training.synth.imu import SensorModel, virtual_imu
from mujo_edge.training.video import assets
from mujo_edge.training.video.blazepose import PoseEstimator
from mujo_edge.training.video.build import track_video
from mujo_edge.training.video.quality import bone_cv, stillest_stretch, view_agreement
from mujo_edge.training.video.skeleton import SMOOTH_HZ, landmarks_to_h36m, to_grid

#: Low-pass cut-offs compared for the still-wrist check (Hz); SMOOTH_HZ is the one datasets use.
CUTOFFS_HZ: tuple[float, ...] = (6.0, 4.0, 3.0, 2.5, 2.0)
#: Bone-length coefficient of variation the checks allow.
MAX_CV = 0.10


def still_acc(pose_m: np.ndarray) -> dict[str, dict[str, float]]:
    """Per wrist: mean |acc| (g) of an ideal virtual watch over the stillest second, and where it starts (s)."""
    out = {}
    for wrist in ("left", "right"):
        imu = virtual_imu(
            pose_m.astype(np.float64), RATE_HZ, wrist, gravity_axis="z", sensor=SensorModel.ideal()
        )
        s = stillest_stretch(pose_m, H36M_JOINTS.index(f"{wrist[0]}_wrist"))
        g = np.linalg.norm(imu.acc_g[s : s + int(RATE_HZ)], axis=1)
        out[wrist] = {
            "mean_g": float(g.mean()),
            "max_dev_g": float(np.abs(g - 1).max()),
            "start_s": s / RATE_HZ,
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    ap.add_argument(
        "--clips", nargs="*", help="only these clips (sports2d, pose2sim_cam01 .. pose2sim_cam04)"
    )
    args = ap.parse_args()
    try:
        clips = assets.demo_clips()
        estimator = PoseEstimator(*assets.pose_models(), threads=1)
    except DataError as e:
        print(f"cannot run: {e}")
        return 1
    if args.clips:
        clips = {k: v for k, v in clips.items() if k in args.clips}
    rows: dict[str, dict] = {}
    joints: dict[str, np.ndarray] = {}
    grids: dict[str, np.ndarray] = {}
    sweep: dict[str, dict[float, dict]] = {}
    print(
        "| clip | frames | rate (Hz) | person found | person changes | frames/s (wall) | frames/CPU-s "
        "| bone CV median | "
        f"bone CV worst | bones over {MAX_CV:.0%} | still wrist L / R (g) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, path in clips.items():
        tr = track_video(path, estimator)
        raw = landmarks_to_h36m(tr.world_m)
        joints[name] = raw
        sweep[name] = {}
        for hz in CUTOFFS_HZ:
            runs = to_grid(tr.t_s, raw, smooth_hz=hz, new_person=tr.new_person)
            longest = max(runs, key=lambda r: r.t_s.size)
            sweep[name][hz] = still_acc(longest.pose_m)
            if hz == SMOOTH_HZ:
                grids[name] = longest.pose_m
                n_runs = len(runs)
                # the model's own bone lengths over the frames of that run (one person)
                in_run = (tr.t_s >= longest.t_s[0] - 1e-6) & (tr.t_s <= longest.t_s[-1] + 1e-6) & tr.found
        cv = bone_cv(raw[in_run])
        worst = max(cv, key=lambda k: cv[k])
        still = sweep[name][SMOOTH_HZ]
        rows[name] = {
            "frames": int(tr.t_s.size),
            "rate_hz": tr.info.rate_hz,
            "found_fraction": float(tr.found.mean()),
            "detector_runs": tr.detections,
            "person_changes": int(tr.new_person.sum()),
            "frames_in_longest_run": int(in_run.sum()),
            "frames_per_s": tr.frames_per_s,
            "frames_per_cpu_s": tr.frames_per_cpu_s,
            "bone_cv": cv,
            "still_acc_g": still,
            "runs": n_runs,
        }
        over = sum(v > MAX_CV for v in cv.values())
        print(
            f"| {name} | {tr.t_s.size} | {tr.info.rate_hz:.0f} | {100 * tr.found.mean():.1f} % "
            f"| {int(tr.new_person.sum())} "
            f"| {tr.frames_per_s:.1f} | {tr.frames_per_cpu_s:.1f} | {100 * np.median(list(cv.values())):.1f} % "
            f"| {100 * cv[worst]:.1f} % ({worst}) | {over} of {len(cv)} "
            f"| {still['left']['mean_g']:.3f} / {still['right']['mean_g']:.3f} |"
        )
    print("\nStill wrist |acc| (g, mean over the stillest second, left / right) by low-pass cut-off:\n")
    print("| clip | " + " | ".join(f"{hz:g} Hz" for hz in CUTOFFS_HZ) + " |")
    print("|---|" + "---:|" * len(CUTOFFS_HZ))
    for name, by_hz in sweep.items():
        cells = [f"{v['left']['mean_g']:.2f} / {v['right']['mean_g']:.2f}" for v in by_hz.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    views = [k for k in joints if k.startswith("pose2sim_cam")]
    agreement = {}
    if len(views) > 1:
        print("\n| views | frames | one rotation, whole clip (mm) | per-frame Procrustes (mm) |")
        print("|---|---:|---:|---:|")
        for other in views[1:]:
            for kind, x, y in (
                ("model", joints[views[0]], joints[other]),
                ("grid", grids[views[0]], grids[other]),
            ):
                n = min(x.shape[0], y.shape[0])
                agr = view_agreement(x[:n], y[:n])
                agreement[f"{views[0]}-{other}-{kind}"] = agr
                print(
                    f"| {views[0]} vs {other} ({kind}) | {agr['frames']} | {agr['sequence_mm']:.0f} "
                    f"| {agr['per_frame_mm']:.0f} |"
                )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"clips": rows, "still_by_cutoff_hz": sweep, "view_agreement": agreement},
                f,
                indent=2,
                sort_keys=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
