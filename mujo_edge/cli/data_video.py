"""``mujo-edge data video VIDEO... --out DIR``: exercise videos -> 3D pose -> virtual wrist IMU -> dataset."""

from __future__ import annotations

import argparse

from mujo_edge.cli._args import non_negative_int


def register(data_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = data_sub.add_parser(
        "video",
        help="videos -> 3D pose (MediaPipe BlazePose) -> virtual wrist IMU -> dataset, labelled by chapters",
        description="Find the person in every frame with MediaPipe's pose models (run under ai-edge-litert), map "
        "the 33 metric landmarks to the 17-joint skeleton on the 50 Hz grid, simulate a watch on the wrist, "
        "label 2-s windows by YouTube-style chapters (or one --label) and embed the chapter titles. "
        "See docs/video.md.",
    )
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files (mp4, mov, mkv, webm, avi, ...)")
    p.add_argument("--out", required=True, help="dataset folder to create")
    lab = p.add_mutually_exclusive_group(required=True)
    lab.add_argument(
        "--chapters",
        action="append",
        metavar="FILE",
        help="chapter file ('0:00 Warm-up' per line), once per video in the same order",
    )
    lab.add_argument("--label", help="one label for every window (e.g. 'arm swings')")
    p.add_argument(
        "--wrist",
        choices=("left", "right", "both"),
        default="left",
        help="wrist of the virtual watch (default left; stored in the right-wrist frame, left mirrored)",
    )
    p.add_argument("--trim", action="store_true", help="drop the first and last 15 %% of every video")
    p.add_argument("--with-gyr", action="store_true", help="also write the virtual gyroscope (gyr.npy)")
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the virtual sensor's noise (default 0)"
    )
    p.add_argument("--force", action="store_true", help="replace a dataset already at --out")
    p.set_defaults(func=_video)


def _video(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mujo_edge.cli._console import console
    from mujo_edge.cli.data_import import print_summary
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    from mujo_edge.training.video.build import video_to_dataset
    from mujo_edge.training.video.chapters import read_chapters

    chapters = [read_chapters(f) for f in args.chapters] if args.chapters else None
    t0 = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames, {task.fields[fps]:.1f} frames/s"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:

        def progress(index: int, path: Path):  # type: ignore[no-untyped-def]
            task = bar.add_task(path.name, total=None, fps=0.0)

            def update(done: int, total: int, fps: float) -> None:
                bar.update(task, completed=done, total=total, fps=fps)

            return update

        ds = video_to_dataset(
            args.videos,
            args.out,
            chapters=chapters,
            label=args.label,
            wrist=args.wrist,
            trim=args.trim,
            with_gyr=args.with_gyr,
            seed=args.seed,
            overwrite=args.force,
            progress=progress,
        )
    for v in ds.manifest["videos"]:
        console.print(
            f"{v['file']}: {v['frames']} frames, person in {100 * v['found_fraction']:.1f} %, "
            f"{v['pose_frames_per_s']:.1f} frames/s, {v['windows']} windows"
        )
    for msg in ds.manifest["skipped_videos"]:
        console.print(f"[yellow]skipped:[/] {msg}")
    print_summary(ds)
    console.print(
        f"[green]wrote[/] {ds.root}: {len(ds)} windows, {len(ds.labels)} labels; "
        f"{time.perf_counter() - t0:.1f} s; content hash {ds.manifest['content_hash'][:12]}"
    )
    return 0
