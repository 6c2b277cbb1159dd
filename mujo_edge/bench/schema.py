"""The ONE JSON schema of every benchmark result MuJo Edge writes, host or phone (docs/bench-schema.md).

A report is a JSON object::

    {
      "schema": "mujo-edge-bench", "schema_version": 1, "created_utc": "2026-11-22T01:30:00Z",
      "machine": {...},            # where it ran: OS, CPU, cores, Python, library versions (+ "android")
      "bundle": {...} | null,      # what was measured: path, sha256, labels, formats
      "settings": {"runs", "warmup", "batch", "threads"},
      "results": [ {...}, ... ],   # one entry per (runtime, format, dtype, threads), see RESULT_FIELDS
      "skipped": [ {"name", "reason"} ],
      "provenance": {...}          # mujo_edge.provenance.provenance()
    }

Latencies are microseconds per single-window call (batch 1) after warm-up; ``p50/p90/p99`` are null when
the tool that measured them reports only a mean (LiteRT's ``benchmark_model``). Throughput is windows per
second through batched calls. This module is pure Python (no numpy needed to validate a file).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mujo_edge.errors import ArtifactError
from mujo_edge.provenance import check_format

SCHEMA_NAME = "mujo-edge-bench"
SCHEMA_VERSION = 1

#: Where a result was measured.
SOURCES: tuple[str, ...] = ("host", "android-adb")
#: What ran the model. ``mujo-pipeline`` is the runtime's own per-window cost with a no-op model.
RUNTIMES: tuple[str, ...] = ("litert", "executorch", "pytorch", "mujo-pipeline")
#: File format of the model that ran (``none`` for the pipeline-only measurement).
FORMATS: tuple[str, ...] = ("tflite", "pte", "pytorch", "none")
DTYPES: tuple[str, ...] = ("int8", "float32", "none")
#: Keys of ``latency_us``; the percentiles may be null, mean/min/max/n may not.
LATENCY_KEYS: tuple[str, ...] = ("p50", "p90", "p99", "mean", "min", "max", "std", "n")
_NULLABLE_LATENCY = ("p50", "p90", "p99", "std")

#: Field -> (allowed JSON types, nullable).
RESULT_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), False),
    "runtime": ((str,), False),
    "format": ((str,), False),
    "dtype": ((str,), False),
    "threads": ((int,), False),
    "source": ((str,), False),
    "tool": ((str,), False),
    "latency_us": ((dict,), False),
    "throughput_wps": ((int, float), True),
    "batch": ((int,), True),
    "load_ms": ((int, float), True),
    "import_ms": ((int, float), True),
    "peak_rss_mb": ((int, float), True),
    "model_bytes": ((int,), True),
    "notes": ((str,), False),
    "extra": ((dict,), False),
}
_TOP_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "schema": ((str,), False),
    "schema_version": ((int,), False),
    "created_utc": ((str,), False),
    "machine": ((dict,), False),
    "bundle": ((dict,), True),
    "settings": ((dict,), False),
    "results": ((list,), False),
    "skipped": ((list,), False),
    "provenance": ((dict,), False),
}
_MACHINE_REQUIRED = ("os", "arch", "cpu", "cores", "python", "libraries")


@dataclass
class BenchResult:
    """One measured configuration. ``latency_us`` holds :data:`LATENCY_KEYS` (microseconds)."""

    name: str
    runtime: str
    format: str
    dtype: str
    threads: int
    source: str
    tool: str
    latency_us: dict[str, float | int | None]
    throughput_wps: float | None = None
    batch: int | None = None
    load_ms: float | None = None
    import_ms: float | None = None
    peak_rss_mb: float | None = None
    model_bytes: int | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        check_result(d, where=f"result {self.name!r}")
        return d


def latency_summary(
    p50: float | None,
    p90: float | None,
    p99: float | None,
    mean: float,
    min_: float,
    max_: float,
    std: float | None,
    n: int,
) -> dict[str, float | int | None]:
    """A ``latency_us`` dict in schema order, floats rounded to 0.01 us."""

    def r(v: float | None) -> float | None:
        return None if v is None else round(float(v), 2)

    return {
        "p50": r(p50),
        "p90": r(p90),
        "p99": r(p99),
        "mean": r(mean),
        "min": r(min_),
        "max": r(max_),
        "std": r(std),
        "n": int(n),
    }


def _fail(where: str, problem: str) -> ArtifactError:
    return ArtifactError(
        f"{where}: {problem}. A {SCHEMA_NAME} v{SCHEMA_VERSION} file is expected (see docs/bench-schema.md); "
        "re-create it with `mujo-edge bench` or `mujo-edge bench android`."
    )


def _check_fields(
    obj: Mapping[str, Any], spec: Mapping[str, tuple[tuple[type, ...], bool]], where: str
) -> None:
    for key, (types, nullable) in spec.items():
        if key not in obj:
            raise _fail(where, f"lacks the field {key!r}")
        v = obj[key]
        if v is None:
            if not nullable:
                raise _fail(
                    where, f"field {key!r} is null but must be a {'/'.join(t.__name__ for t in types)}"
                )
            continue
        # bool is an int subclass in Python; a JSON true/false is never a valid number here.
        if isinstance(v, bool) or not isinstance(v, types):
            raise _fail(
                where,
                f"field {key!r} is {type(v).__name__} {v!r:.60} but must be {'/'.join(t.__name__ for t in types)}",
            )
        if isinstance(v, float) and not math.isfinite(v):
            raise _fail(where, f"field {key!r} is {v}, not a finite number")


def check_result(r: Mapping[str, Any], where: str = "result") -> None:
    """Raise ArtifactError unless ``r`` is a valid result entry."""
    if not isinstance(r, Mapping):
        raise _fail(where, f"is a {type(r).__name__}, not an object")
    _check_fields(r, RESULT_FIELDS, where)
    for key, allowed in (("runtime", RUNTIMES), ("format", FORMATS), ("dtype", DTYPES), ("source", SOURCES)):
        if r[key] not in allowed:
            raise _fail(where, f"{key} {r[key]!r} is not one of {', '.join(allowed)}")
    if r["threads"] < 1:
        raise _fail(where, f"threads is {r['threads']}, must be >= 1")
    lat = r["latency_us"]
    missing = [k for k in LATENCY_KEYS if k not in lat]
    if missing:
        raise _fail(where, f"latency_us lacks {missing}")
    for k in LATENCY_KEYS:
        v = lat[k]
        if v is None and k in _NULLABLE_LATENCY:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise _fail(where, f"latency_us.{k} is {v!r}, must be a non-negative number")
    if lat["n"] < 1:
        raise _fail(where, "latency_us.n is 0: no timed call")


def validate_report(obj: Any, where: str = "benchmark report") -> dict[str, Any]:
    """Check ``obj`` against the schema and return it. Raises ArtifactError saying what is wrong."""
    if not isinstance(obj, dict):
        raise _fail(where, f"is a JSON {type(obj).__name__}, not an object")
    check_format(
        obj,
        SCHEMA_NAME,
        SCHEMA_VERSION,
        ArtifactError,
        where,
        "it is not a MuJo Edge benchmark this mujo-edge reads (see docs/bench-schema.md); re-create it with "
        "`mujo-edge bench` or `mujo-edge bench android`",
        format_key="schema",
    )
    _check_fields(obj, _TOP_FIELDS, where)
    absent = [k for k in _MACHINE_REQUIRED if k not in obj["machine"]]
    if absent:
        raise _fail(where, f"machine lacks {absent}")
    for i, r in enumerate(obj["results"]):
        check_result(r, where=f"{where}, results[{i}]")
    for i, s in enumerate(obj["skipped"]):
        if (
            not isinstance(s, dict)
            or not isinstance(s.get("name"), str)
            or not isinstance(s.get("reason"), str)
        ):
            raise _fail(where, f"skipped[{i}] must be an object with string 'name' and 'reason'")
    return obj


def load_report(path: str | Path) -> dict[str, Any]:
    """Read and validate a benchmark JSON file."""
    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"no benchmark file at {p}. Write one with `mujo-edge bench --json {p}`.")
    try:
        obj = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _fail(str(p), f"is not valid JSON ({e})") from e
    return validate_report(obj, where=str(p))


def new_report(
    machine: dict[str, Any],
    settings: dict[str, Any],
    results: list[dict[str, Any]],
    bundle: dict[str, Any] | None = None,
    skipped: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Assemble and validate a report (created_utc and provenance filled in)."""
    from mujo_edge.provenance import provenance

    prov = provenance()
    report = {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "created_utc": prov["created_utc"],
        "machine": machine,
        "bundle": bundle,
        "settings": settings,
        "results": results,
        "skipped": list(skipped or []),
        "provenance": prov,
    }
    return validate_report(report, where="new benchmark report")


def write_report(path: str | Path, report: dict[str, Any]) -> None:
    """Validate then write atomically (indented, key-sorted)."""
    from mujo_edge.provenance import write_json

    validate_report(report, where=f"report for {path}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_json(path, report)
