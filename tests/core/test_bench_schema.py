"""The one benchmark schema: validation on load refuses foreign or broken files with a clear message;
compare renders reports side by side; the timing primitives return real statistics."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mujo_edge.bench.compare import markdown_comparison, markdown_report
from mujo_edge.bench.host import measure, summarize_us, synthetic_windows, time_calls
from mujo_edge.bench.machine import host_machine
from mujo_edge.bench.schema import BenchResult, latency_summary, load_report, new_report, write_report
from mujo_edge.cli import main
from mujo_edge.cli._console import console
from mujo_edge.errors import ArtifactError


def result(runtime: str = "litert", p50: float | None = 20.0, **kw: Any) -> dict[str, Any]:
    fmt = {"litert": "tflite", "executorch": "pte", "pytorch": "pytorch", "mujo-pipeline": "none"}[runtime]
    base: dict[str, Any] = dict(
        name=f"{runtime} int8",
        runtime=runtime,
        format=fmt,
        dtype="int8" if runtime in ("litert", "executorch") else "float32",
        threads=1,
        source="host",
        tool="mujo-edge bench",
        latency_us=latency_summary(
            p50, 25.0 if p50 else None, 40.0 if p50 else None, 21.0, 15.0, 90.0, 3.0, 1000
        ),
        throughput_wps=50000.0,
        batch=32,
        load_ms=1.5,
        import_ms=120.0,
        peak_rss_mb=45.2,
        model_bytes=18000,
    )
    base.update(kw)
    return BenchResult(**base).to_dict()


def report(results: list[dict[str, Any]]) -> dict[str, Any]:
    return new_report(host_machine(), {"runs": 1000, "warmup": 100, "batch": 32, "threads": 1}, results)


def test_round_trip(tmp_path: Path) -> None:
    rep = report([result("litert"), result("executorch", p50=18.0), result("pytorch", p50=70.0)])
    write_report(tmp_path / "a.json", rep)
    back = load_report(tmp_path / "a.json")
    assert back["results"] == rep["results"]
    assert back["machine"]["cores"] >= 1 and back["machine"]["libraries"]["numpy"] == np.__version__


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.update(schema="something-else"), "not a MuJo Edge benchmark"),
        (lambda r: r.update(schema_version=2), "newer mujo-edge"),
        (lambda r: r.pop("machine"), "lacks the field 'machine'"),
        (lambda r: r["results"][0].update(runtime="onnx"), "runtime 'onnx' is not one of"),
        (lambda r: r["results"][0]["latency_us"].update(mean=None), r"latency_us.mean is None"),
        (lambda r: r["results"][0].update(threads=True), "field 'threads' is bool"),
        (lambda r: r["results"][0].update(load_ms=float("nan")), "not a finite number"),
        (lambda r: r["results"][0].update(source="cloud"), "source 'cloud'"),
    ],
)
def test_refuses_broken_files(tmp_path: Path, edit: Any, message: str) -> None:
    rep = copy.deepcopy(report([result()]))
    edit(rep)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(rep))
    with pytest.raises(ArtifactError, match=message) as e:
        load_report(p)
    assert str(p) in str(e.value) and "mujo-edge bench" in str(e.value)


def test_compare_refuses_another_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    write_report(good, report([result()]))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "pytest-benchmark", "benchmarks": []}))
    assert main(["bench", "compare", str(good), str(other)]) == 2
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "other.json" in out and "not a MuJo Edge benchmark" in out


def test_compare_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = report([result("litert", p50=20.0), result("executorch", p50=18.0)])
    b = report([result("litert", p50=None, source="android-adb", tool="benchmark_model")])
    md = markdown_comparison([a, b], ["host.json", "phone.json"])
    lines = md.splitlines()
    assert lines[0].startswith(
        "| runtime | format | dtype | threads | [1] latency us | [1] windows/s | [1] RSS MB |"
    )
    assert lines[2] == "| litert | tflite | int8 | 1 | 20.0 | 50,000 | 45.2 | ~21.0 | 50,000 | 45.2 |"
    assert lines[3] == "| executorch | pte | int8 | 1 | 18.0 | 50,000 | 45.2 | - | - | - |"
    for name, rep in (("h.json", a), ("p.json", b)):
        write_report(tmp_path / name, rep)
    monkeypatch.setattr(console, "width", 200)  # the test terminal is 80 columns: rich would fold cells
    assert main(["bench", "compare", str(tmp_path / "h.json"), str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "executorch" in out and "~21.0" in out


def test_markdown_report_has_every_number() -> None:
    md = markdown_report(report([result("litert")]))
    assert (
        "| litert | tflite | int8 | 1 | 20.0 | 25.0 | 40.0 | 21.0 | 50,000 (32) | 1.50 | 120 | 45.2 | 18,000 |"
        in md
    )


def test_timing_primitives_measure_real_calls() -> None:
    x = synthetic_windows(4, seed=1)
    assert x.shape == (4, 100, 3) and x.dtype == np.float32
    assert abs(float(x[..., 2].mean()) - 1.0) < 0.02  # a still watch, face up: z = 1 g
    calls: list[int] = []
    us = time_calls(lambda w: calls.append(len(w)), x[:1], runs=7, warmup=3)
    assert len(calls) == 10 and us.shape == (7,) and (us >= 0).all()
    s = summarize_us(np.array([10.0, 20.0, 30.0, 40.0, 50.0]))
    assert (s["p50"], s["p90"], s["mean"], s["min"], s["max"], s["n"]) == (30.0, 46.0, 30.0, 10.0, 50.0, 5)
    assert s["std"] == pytest.approx(14.14, abs=0.01)

    def slow(w: np.ndarray) -> np.ndarray:  # ~cost proportional to the batch, like a real model
        return np.tanh(np.repeat(w, 50, axis=0)).sum(axis=(1, 2))

    lat, wps = measure(slow, runs=20, warmup=2, batch=8)
    assert lat["n"] == 20 and lat["p50"] is not None and lat["min"] <= lat["p50"] <= lat["max"]
    assert wps > 0 and wps < 8 * 1e6 / lat["min"] * 10  # finite and physically plausible
