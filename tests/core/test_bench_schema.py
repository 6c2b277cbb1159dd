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
        # machine fields that compare/report print: a wrong type is refused on load, not a traceback later
        (lambda r: r["machine"].update(android="pixel"), "'machine.android' is str 'pixel' but must be dict"),
        (lambda r: r["machine"].update(libraries=["torch"]), "'machine.libraries' is list"),
        (lambda r: r["machine"].update(libraries=None), "'machine.libraries' is null"),
        (lambda r: r["machine"]["libraries"].update(torch=2), r"machine.libraries\['torch'\] is int 2"),
        (lambda r: r["machine"].update(cpu=None), "'machine.cpu' is null but must be a str"),
        (lambda r: r["machine"].update(cores="many"), "'machine.cores' is str 'many'"),
        (lambda r: r["machine"].update(cores_usable=-1), "machine.cores_usable is -1, must be >= 0"),
        (lambda r: r.update(schema_version="1"), "schema_version is str '1' but must be the number 1"),
        (
            lambda r: r["results"][0]["latency_us"].update(n=0.5),
            r"latency_us.n is 0.5, must be a whole number",
        ),
        (lambda r: r["results"][0]["latency_us"].update(n=0), "latency_us.n is 0, .*no call was timed"),
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


def test_deeply_nested_json_is_refused_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ArtifactError, match="nests arrays/objects 100000 deep"):
        load_report(deep)
    # brackets inside strings are text, not nesting
    rep = report([result()])
    rep["machine"]["cpu"] = "[[[[" * 40
    write_report(tmp_path / "ok.json", rep)
    assert load_report(tmp_path / "ok.json")["machine"]["cpu"] == "[[[[" * 40
    assert main(["bench", "report", str(deep)]) == 2
    assert "deep.json" in capsys.readouterr().out


@pytest.mark.parametrize("cpu", ["[/]oops", "[red]x[/red] [link=file:///etc/passwd]y"])
def test_report_strings_are_printed_as_text_not_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cpu: str
) -> None:
    rep = report([result()])
    rep["machine"]["cpu"] = cpu
    write_report(tmp_path / "m[red].json", rep)
    monkeypatch.setattr(console, "width", 300)
    assert main(["bench", "compare", str(tmp_path / "m[red].json")]) == 0
    out = capsys.readouterr().out
    assert f"[1] m[red].json: {cpu} (" in out


def test_compare_refuses_a_repeated_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rep = report([result("litert", p50=20.0), result("executorch"), result("litert", p50=99.0)])
    write_report(tmp_path / "dup.json", rep)
    assert main(["bench", "compare", str(tmp_path / "dup.json")]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert "dup.json: results[0] and results[2] are both runtime litert, format tflite" in out
    assert "Delete the one you do not want" in out


@pytest.mark.parametrize("command", ["report", "compare"])
def test_output_that_is_an_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_report(a, report([result()]))
    write_report(b, report([result()]))
    before = a.read_bytes()
    flag = "--out" if command == "report" else "--markdown"
    # the same file spelled differently is still the same file
    assert main(["bench", command, str(a), str(b), flag, str(tmp_path / "." / "a.json")]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert f"{flag} " in out and "is one of the input files" in out
    assert a.read_bytes() == before and load_report(a)["results"]


def test_bench_checks_its_paths_before_measuring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mujo_edge.bench.host as host

    def no_measuring(*a: Any, **kw: Any) -> dict[str, Any]:
        raise AssertionError("measured although the output path was bad")

    monkeypatch.setattr(host, "bench_host", no_measuring)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    bundle = tmp_path / "m.mujo"
    bundle.write_bytes(b"placeholder: never opened")
    cases = [
        (["--json", str(tmp_path)], "is a folder: give a file path inside it"),
        (["--json", str(a_file / "b.json")], "notes.txt is a file, not a folder"),
        (["--markdown", str(a_file / "sub" / "b.md")], "notes.txt is a file, not a folder"),
        (["--json", str(tmp_path / "b.json"), "--markdown", str(tmp_path / "b.json")], "is one of the input"),
    ]
    for extra, message in cases:
        assert main(["bench", "--bundle", str(bundle), *extra]) == 2
        assert message in " ".join(capsys.readouterr().out.split())
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.mujo").write_bytes(b"x")
    assert main(["bench", "--bundle", str(tmp_path / "out")]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert "is a folder, not a bundle" in out and "model.mujo" in out


def test_a_bad_measured_number_names_the_tool_output() -> None:
    with pytest.raises(ArtifactError) as e:
        result(
            "litert",
            p50=None,
            source="android-adb",
            tool="benchmark_model",
            latency_us=latency_summary(None, None, None, float("nan"), 37.0, 904.0, 12.0, 500),
            extra={"raw_output": "benchmark_model_m.txt"},
        )
    msg = str(e.value)
    assert (
        "result 'litert int8' from benchmark_model's output benchmark_model_m.txt: latency_us.mean is nan"
        in msg
    )
    assert "v1 file" not in msg and "re-create" not in msg
