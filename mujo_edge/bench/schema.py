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
#: ``machine`` field -> (allowed JSON types, nullable); all required. ``cores`` may be 0 on a phone whose
#: ``nproc`` did not answer.
_MACHINE_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "os": ((str,), False),
    "arch": ((str,), False),
    "cpu": ((str,), False),
    "cores": ((int,), False),
    "python": ((str,), False),
    "libraries": ((dict,), False),
}
#: Optional ``machine`` fields: present only on some machines (host / phone), null allowed.
_MACHINE_OPTIONAL: dict[str, tuple[tuple[type, ...], bool]] = {
    "kind": ((str,), True),
    "cores_usable": ((int,), True),
    "android": ((dict,), True),
    "host": ((dict,), True),
}
#: Deeper nesting than this is no benchmark report (a real one is 4 levels deep); refusing it early keeps
#: a crafted file from exhausting Python's recursion limit in the JSON decoder.
MAX_JSON_DEPTH = 64


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
        """The schema entry; raises ArtifactError when a measured number is not one (NaN, inf, negative,
        no timed call), naming the tool and its raw output so the user looks there, not at a JSON file."""
        d = asdict(self)
        try:
            _check_result(d)
        except _InvalidError as e:
            raw = self.extra.get("raw_output") if isinstance(self.extra, dict) else None
            source = f"{self.tool}'s output {raw}" if raw else f"what {self.tool} measured"
            raise ArtifactError(
                f"result {self.name!r} from {source}: {e}. The tool printed no usable measurement: read that "
                "output (the run may have failed or been cut short) and run the benchmark again."
            ) from None
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


class _InvalidError(Exception):
    """What is wrong with a result, before we know whether it came from a file or from a measurement."""


def _check_fields(
    obj: Mapping[str, Any],
    spec: Mapping[str, tuple[tuple[type, ...], bool]],
    prefix: str = "",
    required: bool = True,
) -> None:
    """Raise _InvalidError unless every field of ``spec`` has its JSON type (``prefix``: ``machine.`` etc.)."""
    for key, (types, nullable) in spec.items():
        name = f"{prefix}{key}"
        if key not in obj:
            if not required:
                continue
            raise _InvalidError(f"lacks the field {name!r}")
        v = obj[key]
        if v is None:
            if not nullable:
                raise _InvalidError(
                    f"field {name!r} is null but must be a {'/'.join(t.__name__ for t in types)}"
                )
            continue
        # bool is an int subclass in Python; a JSON true/false is never a valid number here.
        if isinstance(v, bool) or not isinstance(v, types):
            raise _InvalidError(
                f"field {name!r} is {type(v).__name__} {v!r:.60} but must be {'/'.join(t.__name__ for t in types)}"
            )
        if isinstance(v, float) and not math.isfinite(v):
            raise _InvalidError(f"field {name!r} is {v}, not a finite number")


def _check_result(r: Any) -> None:
    """Raise _InvalidError unless ``r`` is a valid result entry."""
    if not isinstance(r, Mapping):
        raise _InvalidError(f"is a {type(r).__name__}, not an object")
    _check_fields(r, RESULT_FIELDS)
    for key, allowed in (("runtime", RUNTIMES), ("format", FORMATS), ("dtype", DTYPES), ("source", SOURCES)):
        if r[key] not in allowed:
            raise _InvalidError(f"{key} {r[key]!r} is not one of {', '.join(allowed)}")
    if r["threads"] < 1:
        raise _InvalidError(f"threads is {r['threads']}, must be >= 1")
    lat = r["latency_us"]
    missing = [k for k in LATENCY_KEYS if k not in lat]
    if missing:
        raise _InvalidError(f"latency_us lacks {missing}")
    for k in LATENCY_KEYS:
        v = lat[k]
        if v is None and k in _NULLABLE_LATENCY:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise _InvalidError(f"latency_us.{k} is {v!r}, must be a non-negative number")
    n = lat["n"]
    if not isinstance(n, int) or n < 1:
        raise _InvalidError(
            f"latency_us.n is {n!r}, must be a whole number >= 1 (how many calls were timed)"
            + ("; 0 means no call was timed" if n == 0 else "")
        )


def check_result(r: Mapping[str, Any], where: str = "result") -> None:
    """Raise ArtifactError unless ``r`` is a valid result entry."""
    try:
        _check_result(r)
    except _InvalidError as e:
        raise _fail(where, str(e)) from None


def _check_machine(m: Mapping[str, Any]) -> None:
    """Raise _InvalidError unless ``machine`` has the documented types (compare/report print every field)."""
    _check_fields(m, _MACHINE_FIELDS, "machine.")
    _check_fields(m, _MACHINE_OPTIONAL, "machine.", required=False)
    for key in ("cores", "cores_usable"):
        if m.get(key) is not None and m[key] < 0:
            raise _InvalidError(f"machine.{key} is {m[key]}, must be >= 0")
    for lib, version in m["libraries"].items():
        if version is not None and not isinstance(version, str):
            raise _InvalidError(
                f"machine.libraries[{lib!r}] is {type(version).__name__} {version!r:.60} but must be a "
                "version string or null"
            )
    for key, value in (m.get("android") or {}).items():
        if value is not None and not isinstance(value, str):
            raise _InvalidError(
                f"machine.android[{key!r}] is {type(value).__name__} {value!r:.60} but must be a string or null"
            )


def _json_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting of JSON ``text`` (brackets inside strings skipped), in one pass."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def validate_report(obj: Any, where: str = "benchmark report") -> dict[str, Any]:
    """Check ``obj`` against the schema and return it. Raises ArtifactError saying what is wrong."""
    if not isinstance(obj, dict):
        raise _fail(where, f"is a JSON {type(obj).__name__}, not an object")
    version = obj.get("schema_version")
    if obj.get("schema") == SCHEMA_NAME and (isinstance(version, bool) or not isinstance(version, int)):
        raise _fail(
            where,
            f"schema_version is {type(version).__name__} {version!r:.60} but must be the number "
            f"{SCHEMA_VERSION} (a JSON number, not a string)",
        )
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
    try:
        _check_fields(obj, _TOP_FIELDS)
        _check_machine(obj["machine"])
    except _InvalidError as e:
        raise _fail(where, str(e)) from None
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
        text = p.read_text()
    except UnicodeDecodeError as e:
        raise _fail(str(p), f"is not UTF-8 text ({e})") from e
    depth = _json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise _fail(str(p), f"nests arrays/objects {depth} deep (a report is at most {MAX_JSON_DEPTH})")
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
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
