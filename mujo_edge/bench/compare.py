"""Side-by-side comparison of benchmark reports (rich table for the console, Markdown for docs/).

Rows are configurations (runtime, format, dtype, threads); for every report there are columns for the
single-window latency (p50, or the mean marked ``~`` where the tool reports no percentiles), the batched
throughput and the peak RSS. A report that lacks a configuration shows ``-``; a report that holds one
configuration twice is refused (one cell cannot show two numbers, and silently keeping one would hide the
other). Every string from a report is escaped before rich sees it: a CPU name is text, not markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mujo_edge.errors import ArtifactError

Key = tuple[str, str, str, int]


def result_key(r: dict[str, Any]) -> Key:
    return (r["runtime"], r["format"], r["dtype"], int(r["threads"]))


def report_label(report: dict[str, Any], fallback: str) -> str:
    """A short name for a report's column: phone model or CPU, and where it ran."""
    m = report["machine"]
    android = m.get("android") or {}
    if android:
        return f"{android.get('model', '?')} ({android.get('soc') or android.get('platform') or '?'})"
    return f"{m.get('cpu', fallback)} ({m.get('cores_usable', m.get('cores'))} cores)"


def _latency_cell(r: dict[str, Any]) -> str:
    lat = r["latency_us"]
    if lat.get("p50") is not None:
        return f"{lat['p50']:.1f}"
    return f"~{lat['mean']:.1f}"


def _num(v: float | int | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _index(report: dict[str, Any], name: str) -> dict[Key, dict[str, Any]]:
    """``report``'s results by configuration; ArtifactError naming both entries when one repeats."""
    index: dict[Key, dict[str, Any]] = {}
    first: dict[Key, int] = {}
    for i, r in enumerate(report["results"]):
        k = result_key(r)
        if k in index:
            raise ArtifactError(
                f"{name}: results[{first[k]}] and results[{i}] are both runtime {k[0]}, format {k[1]}, "
                f"dtype {k[2]}, threads {k[3]}; a report holds one entry per configuration. Delete the one "
                "you do not want from the file, or re-create it with `mujo-edge bench`."
            )
        index[k] = r
        first[k] = i
    return index


def _ordered_keys(reports: Sequence[dict[str, Any]]) -> list[Key]:
    keys: list[Key] = []
    for rep in reports:
        for r in rep["results"]:
            k = result_key(r)
            if k not in keys:
                keys.append(k)
    return keys


def comparison_rows(
    reports: Sequence[dict[str, Any]], names: Sequence[str] | None = None
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the side-by-side table (plain strings; used by both renderers).

    ``names`` (the files) name a report in the error when it holds one configuration twice.
    """
    header = ["runtime", "format", "dtype", "threads"]
    for i, _rep in enumerate(reports):
        tag = f"[{i + 1}]"
        header += [f"{tag} latency us", f"{tag} windows/s", f"{tag} RSS MB"]
    rows: list[list[str]] = []
    labels = list(names) if names is not None else [f"report [{i + 1}]" for i in range(len(reports))]
    index = [_index(rep, label) for rep, label in zip(reports, labels, strict=True)]
    for key in _ordered_keys(reports):
        row = [key[0], key[1], key[2], str(key[3])]
        for idx in index:
            r = idx.get(key)
            if r is None:
                row += ["-", "-", "-"]
            else:
                row += [_latency_cell(r), _num(r["throughput_wps"], ",.0f"), _num(r["peak_rss_mb"], ".1f")]
        rows.append(row)
    return header, rows


def comparison_table(reports: Sequence[dict[str, Any]], names: Sequence[str]) -> Any:
    """A rich Table comparing ``reports`` (``names``: their file names, shown in the caption)."""
    from rich.markup import escape
    from rich.table import Table

    header, rows = comparison_rows(reports, names)
    caption = "   ".join(
        escape(
            f"[{i + 1}] {name}: {report_label(rep, name)}, "
            f"{rep['results'][0]['source'] if rep['results'] else '?'}"
        )
        for i, (rep, name) in enumerate(zip(reports, names, strict=True))
    )
    table = Table(
        title="MuJo Edge benchmarks (latency: single window p50, ~ = mean only)",
        caption=caption,
        caption_justify="left",
    )
    for i, h in enumerate(header):
        table.add_column(escape(h), justify="left" if i < 3 else "right")
    for row in rows:
        table.add_row(*(escape(c) for c in row))
    return table


def markdown_comparison(reports: Sequence[dict[str, Any]], names: Sequence[str]) -> str:
    """The side-by-side table as GitHub Markdown, with a legend of the reports."""
    header, rows = comparison_rows(reports, names)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append("")
    for i, (rep, name) in enumerate(zip(reports, names, strict=True)):
        lines.append(f"[{i + 1}] `{name}`: {report_label(rep, name)}, created {rep['created_utc']}")
    return "\n".join(lines) + "\n"


def markdown_report(report: dict[str, Any]) -> str:
    """Every number of ONE report as a Markdown table (what docs/benchmarks.md pastes)."""
    header = [
        "runtime",
        "format",
        "dtype",
        "threads",
        "p50 us",
        "p90 us",
        "p99 us",
        "mean us",
        "windows/s (batch)",
        "load ms",
        "import ms",
        "peak RSS MB",
        "model bytes",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in report["results"]:
        lat = r["latency_us"]
        if r["throughput_wps"] is None:
            wps = "-"
        else:
            wps = f"{r['throughput_wps']:,.0f}" + (f" ({r['batch']})" if r["batch"] is not None else "")
        lines.append(
            "| "
            + " | ".join(
                [
                    r["runtime"],
                    r["format"],
                    r["dtype"],
                    str(r["threads"]),
                    _num(lat["p50"], ".1f"),
                    _num(lat["p90"], ".1f"),
                    _num(lat["p99"], ".1f"),
                    _num(lat["mean"], ".1f"),
                    wps,
                    _num(r["load_ms"], ".2f"),
                    _num(r["import_ms"], ".0f"),
                    _num(r["peak_rss_mb"], ".1f"),
                    _num(r["model_bytes"], ",d"),
                ]
            )
            + " |"
        )
    m = report["machine"]
    lines.append("")
    lines.append(
        f"Machine: {m['cpu']}, {m['cores']} cores ({m.get('cores_usable', m['cores'])} usable), {m['os']}, "
        f"Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(m["libraries"].items()) if v is not None)
        + f". Settings: {report['settings']}. Created {report['created_utc']}."
    )
    for s in report["skipped"]:
        lines.append(f"Skipped {s['name']}: {s['reason']}")
    return "\n".join(lines) + "\n"
