"""``mujo-edge bench``: measure a bundle's models on this host; ``bench compare``; ``bench android``.

    mujo-edge bench --bundle model.mujo [--json FILE] [--threads N] [--runs N] [--warmup N] [--batch N]
                    [--student DIR] [--no-pipeline] [--in-process] [--markdown FILE]
    mujo-edge bench compare A.json B.json ... [--markdown FILE]
    mujo-edge bench android --bundle model.mujo --benchmark-model PATH --executor-runner PATH
                    [--serial S] [--warmup N] [--runs N] [--threads N] [--json OUT] [--raw-dir DIR]

Every command writes/reads the one schema of :mod:`mujo_edge.bench.schema` (docs/bench-schema.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.cli._args import check_output, non_negative_int, positive_int
from mujo_edge.constants import WINDOW


def _print_report(report: dict[str, Any], title: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from mujo_edge.cli._console import console

    m = report["machine"]
    t = Table(
        title=escape(f"{title}: {m['cpu']}, {m['os']}, {m.get('cores_usable') or m['cores']} cores usable")
    )
    for col in (
        "runtime",
        "dtype",
        "threads",
        "p50 us",
        "p90 us",
        "p99 us",
        "windows/s",
        "load ms",
        "RSS MB",
        "bytes",
    ):
        t.add_column(col, justify="left" if col in ("runtime", "dtype") else "right")

    def n(v: Any, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    for r in report["results"]:
        lat = r["latency_us"]
        t.add_row(
            escape(r["runtime"]),
            escape(r["dtype"]),
            str(r["threads"]),
            n(lat["p50"], ".1f") if lat["p50"] is not None else f"~{lat['mean']:.1f}",
            n(lat["p90"], ".1f"),
            n(lat["p99"], ".1f"),
            n(r["throughput_wps"], ",.0f"),
            n(r["load_ms"], ".2f"),
            n(r["peak_rss_mb"], ".1f"),
            n(r["model_bytes"], ",d"),
        )
    console.print(t)
    for s in report["skipped"]:
        console.print(f"[yellow]skipped[/] {escape(s['name'])}: {escape(s['reason'])}")


def cmd_bench(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from mujo_edge.bench.compare import markdown_report
    from mujo_edge.bench.host import bench_host
    from mujo_edge.bench.schema import write_report
    from mujo_edge.cli._console import console

    bundle = Path(args.bundle) if args.bundle else DEFAULT_BUNDLE
    if args.json:
        check_output(args.json, "--json")
    if args.markdown:
        check_output(args.markdown, "--markdown", inputs=[args.json] if args.json else [])
    from mujo_edge.bundle import Bundle

    Bundle.open(bundle)  # (a folder, or a damaged bundle, said before any work starts)
    console.print(
        f"benchmarking [bold]{escape(str(bundle))}[/]: {args.runs} timed single-window calls after {args.warmup} warm-up, "
        f"batch {args.batch}, {args.threads} thread(s); one worker process per model"
        + (" (in-process)" if args.in_process else "")
    )

    def show(r: dict[str, Any]) -> None:
        lat = r["latency_us"]
        console.print(
            f"  {r['runtime']:<14} {r['dtype']:<8} p50 {lat['p50']:.1f} us  p99 {lat['p99']:.1f} us  "
            f"{r['throughput_wps'] or 0:,.0f} windows/s"
        )

    with console.status("measuring (each runtime imports in a fresh process; executorch takes ~6 s)..."):
        report = bench_host(
            bundle,
            threads=args.threads,
            runs=args.runs,
            warmup=args.warmup,
            batch=args.batch,
            student=args.student,
            pipeline=not args.no_pipeline,
            isolate=not args.in_process,
            on_result=show,
        )
    _print_report(report, "host benchmark")
    if args.json:
        write_report(args.json, report)
        console.print(f"wrote {escape(args.json)}")
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown_report(report))
        console.print(f"wrote {escape(args.markdown)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from mujo_edge.bench.compare import comparison_table, markdown_comparison
    from mujo_edge.bench.schema import load_report
    from mujo_edge.cli._console import console

    if args.markdown:
        check_output(args.markdown, "--markdown", inputs=args.files)
    reports = [load_report(p) for p in args.files]
    names = [Path(p).name for p in args.files]
    console.print(comparison_table(reports, names))
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown_comparison(reports, names))
        console.print(f"wrote {escape(args.markdown)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from mujo_edge.bench.compare import markdown_report
    from mujo_edge.bench.schema import load_report
    from mujo_edge.cli._console import console

    if args.out:
        check_output(args.out, "--out", inputs=args.files)
    text = "\n".join(markdown_report(load_report(p)) for p in args.files)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        console.print(f"wrote {escape(args.out)}")
    else:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    return 0


def cmd_android(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from mujo_edge.bench.schema import write_report
    from mujo_edge.cli._console import console
    from mujo_edge.errors import DeviceError
    from mujo_edge.phone.android import FAILED_ON_PHONE, bench_android

    bundle = Path(args.bundle) if args.bundle else DEFAULT_BUNDLE
    if args.json:
        check_output(args.json, "--json")
    raw_dir = args.raw_dir or (Path(args.json).with_suffix("").as_posix() + "-raw" if args.json else None)
    if raw_dir:
        check_output(
            raw_dir, "--raw-dir" if args.raw_dir else "the raw-output folder next to --json", folder=True
        )
    from mujo_edge.bundle import Bundle

    Bundle.open(bundle)  # (a folder, or a damaged bundle, said before any work starts)
    with console.status("running on the phone over adb..."):
        report = bench_android(
            bundle,
            args.benchmark_model,
            args.executor_runner,
            serial=args.serial,
            warmup=args.warmup,
            runs=args.runs,
            threads=args.threads,
            raw_dir=raw_dir,
        )
    a = report["machine"]["android"]
    _print_report(report, f"{a.get('model')} (Android {a.get('release')}, {report['machine']['cpu']})")
    if raw_dir:
        console.print(f"raw tool outputs in {escape(str(raw_dir))}")
    if args.json:
        write_report(args.json, report)
        console.print(f"wrote {escape(args.json)}")
    # The models that did run are written above; a model that failed on the phone is still an error.
    failed = [x for x in report["skipped"] if x["reason"].startswith(FAILED_ON_PHONE)]
    if failed:
        if not report["results"]:
            kept = "no model gave a result"
        elif args.json:
            kept = f"the other results are written to {args.json}"
        else:
            kept = "the other results are printed above; --json keeps them"
        raise DeviceError(
            f"{len(failed)} of {len(failed) + len(report['results'])} model(s) failed on the phone ({kept}): "
            + " | ".join(f"{x['name']}: {x['reason'][len(FAILED_ON_PHONE) :]}" for x in failed)
        )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark a bundle's models on this host (latency, throughput, load time, memory)",
        description="Benchmark every model of a .mujo bundle in its real runtime, the float PyTorch reference "
        "(--student) and the streaming pipeline's own cost per window. Subcommands compare results and run "
        "the same measurement on an Android phone.",
    )
    p.add_argument("--bundle", help="the .mujo bundle (default: the shipped default bundle)")
    p.add_argument("--json", help="write the results to this JSON file (schema: docs/bench-schema.md)")
    p.add_argument("--markdown", help="also write the results as a Markdown table to this file")
    p.add_argument("--threads", type=positive_int, default=1, help="runtime threads (default 1)")
    p.add_argument("--runs", type=positive_int, default=1000, help="timed single-window calls (default 1000)")
    p.add_argument("--warmup", type=non_negative_int, default=100, help="untimed calls first (default 100)")
    p.add_argument(
        "--batch",
        type=positive_int,
        default=32,
        help=f"windows per call for throughput (default 32, each {WINDOW} samples)",
    )
    p.add_argument("--student", help="float student dir (mujo-edge distill --out) for the PyTorch reference")
    p.add_argument("--no-pipeline", action="store_true", help="skip the pipeline-cost measurement")
    p.add_argument(
        "--in-process", action="store_true", help="measure in this process (peak RSS then covers all)"
    )
    p.set_defaults(func=cmd_bench)
    bsub = p.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")

    c = bsub.add_parser("compare", help="print benchmark JSON files side by side")
    c.add_argument("files", nargs="+", help="benchmark JSON files (host or phone)")
    c.add_argument("--markdown", help="also write the comparison as Markdown to this file")
    c.set_defaults(func=cmd_compare)

    r = bsub.add_parser("report", help="every number of benchmark JSON files as Markdown (for docs/)")
    r.add_argument("files", nargs="+")
    r.add_argument("--out", help="write to this file instead of the console")
    r.set_defaults(func=cmd_report)

    a = bsub.add_parser(
        "android",
        help="benchmark the bundle's models on an Android phone over adb with the official tools",
        description="Push the bundle's .tflite/.pte and LiteRT's benchmark_model and ExecuTorch's "
        "executor_runner to the phone, run them, pull and parse their output (docs/phone.md).",
    )
    a.add_argument("--bundle", help="the .mujo bundle (default: the shipped default bundle)")
    a.add_argument("--benchmark-model", help="host path of LiteRT's benchmark_model for the phone's ABI")
    a.add_argument(
        "--executor-runner", help="host path of ExecuTorch's executor_runner (XNNPACK) for the phone"
    )
    a.add_argument("--serial", help="adb serial of the phone (see `adb devices`) when several are attached")
    a.add_argument("--warmup", type=non_negative_int, default=50, help="warm-up runs (default 50)")
    a.add_argument("--runs", type=positive_int, default=500, help="timed runs (default 500)")
    a.add_argument("--threads", type=positive_int, default=1, help="CPU threads (default 1)")
    a.add_argument("--json", help="write the results to this JSON file")
    a.add_argument("--raw-dir", help="keep the pulled raw tool outputs here (default: next to --json)")
    a.set_defaults(func=cmd_android)
