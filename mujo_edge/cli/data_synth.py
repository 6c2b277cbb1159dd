"""``mujo-edge data synth``: generate the synthetic multimodal fitness corpus (pose, virtual watch, text)."""

from __future__ import annotations

import argparse
import time

from mujo_edge.cli._args import non_negative_int, positive_int

#: Default --source-rates (Hz); the generator's DEFAULT_SOURCE_RATES_HZ, repeated here so that building the
#: parser imports no training code (a test checks they agree).
DEFAULT_SOURCE_RATES_HZ = (10.0, 12.5, 20.0, 25.0, 26.0, 32.0, 50.0, 52.0, 64.0, 100.0)


def cmd_synth(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mujo_edge.cli._console import console
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    from mujo_edge.training.synth.corpus import generate_corpus

    activities = [a for a in (args.activities or "").split(",") if a.strip()] or None
    rates = _rates(args.source_rates)
    t0 = time.perf_counter()
    with Progress(
        TextColumn("[bold]synth[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("sessions"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("sessions", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        ds = generate_corpus(
            args.out,
            hours=args.hours,
            seed=args.seed,
            subjects=args.subjects,
            wrist=args.wrist,
            with_gyr=args.with_gyr,
            activities=activities,
            workers=args.workers,
            overwrite=args.overwrite,
            progress=progress,
            placements=args.placements,
            variants=[v for v in args.variants.split(",") if v.strip()],
            source_rates_hz=rates,
            orientation=args.orientation,
        )
    gen = ds.manifest["generator"]
    present = len(ds.manifest["subjects"])
    subjects = f"{present} subjects"
    if present < gen["subjects"]:  # (a short corpus has fewer sessions than subjects)
        subjects += f" (of {gen['subjects']} asked: too few sessions for each to get one; raise --hours)"
    console.print(
        f"[green]wrote[/] {ds.root}: {len(ds)} windows ({len(ds) * ds.manifest['hop'] / ds.rate_hz / 3600:.2f} h "
        f"at hop {ds.manifest['hop']}), {len(ds.labels)} labels, {subjects}, "
        f"{gen['sessions']} sessions, {len(gen['placements'])} placements, "
        f"{ds.text.shape[0] if ds.text is not None else 0} texts, "
        f"modalities {', '.join(ds.modalities)}; {time.perf_counter() - t0:.1f} s; "
        f"content hash {ds.manifest['content_hash'][:12]}"
    )
    return 0


def _rates(text: str) -> list[float]:
    """Source rates from ``"10,25,50"`` (Hz)."""
    from mujo_edge.errors import DataError

    try:
        return [float(r) for r in text.split(",") if r.strip()]
    except ValueError as e:
        raise DataError(
            f"--source-rates takes comma-separated rates in Hz like 10,25,50; got {text!r}"
        ) from e


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "synth",
        help="generate the synthetic corpus: procedural 3D motion, virtual IMU at every placement, texts",
        description="Render random sessions of synthetic subjects (everyday activities, sports, gym and "
        "physiotherapy exercises incl. the 10 MM-Fit and 7 seglearn shoulder exercises, plus rests), simulate a device worn at one placement per session (wrists, waist, "
        "pockets, upper arms, chest, ankles; worn or random orientation; with or without gravity; at its own "
        "sampling rate, resampled to 50 Hz), pair each 2-s window with a "
        "title or description embedded by all-MiniLM-L6-v2, and write a dataset folder.",
    )
    p.add_argument("--out", required=True, help="output dataset folder")
    p.add_argument("--hours", type=float, default=2.0, help="hours of data (about 3600 windows per hour)")
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="random seed; same seed -> identical arrays"
    )
    p.add_argument(
        "--subjects",
        type=int,
        default=None,
        help="synthetic subjects, at least 1 (default: 20 per hour, at least 10 and at most 1000)",
    )
    p.add_argument(
        "--wrist",
        choices=("left", "right", "both"),
        default=None,
        help="restrict to watches on this wrist (both: either wrist per session); stored in the right-wrist "
        "frame, left sessions mirrored (default: every placement of --placements)",
    )
    p.add_argument(
        "--placements",
        default="all",
        help="comma-separated placements, one per session: left_wrist, right_wrist, waist, left_pocket, "
        "right_pocket, left_upper_arm, right_upper_arm, chest, left_ankle, right_ankle (default: all)",
    )
    p.add_argument(
        "--variants",
        default="gravity,linear",
        help="gravity (specific force) and/or linear (gravity removed, as phones report), per session "
        "(default: gravity,linear)",
    )
    p.add_argument(
        "--source-rates",
        default=",".join(f"{r:g}" for r in DEFAULT_SOURCE_RATES_HZ),
        help="device sampling rates in Hz simulated before the 50 Hz grid, one per session "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--orientation",
        choices=("random", "worn", "both"),
        default="both",
        help="device orientation per session: worn (plausible ways to wear it), random (any rotation) or both "
        "(default: both)",
    )
    p.add_argument("--with-gyr", action="store_true", help="also write the virtual gyroscope (gyr.npy)")
    p.add_argument("--activities", default=None, help="comma-separated exercises to include (default all)")
    p.add_argument(
        "--workers", type=positive_int, default=1, help="rendering processes (output does not depend on it)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a dataset already in --out")
    p.set_defaults(func=cmd_synth)
