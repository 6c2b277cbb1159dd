"""`mujo-edge bench` on a real bundle: every model in its real runtime, the pipeline row, one isolated
worker. Uses the shipped default bundle (no conversion in the test)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.bench.host import _run_in_worker, bench_host
from mujo_edge.bench.schema import validate_report
from mujo_edge.cli import main

# MUJO_BENCH_TEST_BUNDLE points the tests at another bundle (e.g. a `mujo-edge demo` output).
DEFAULT = Path(
    os.environ.get(
        "MUJO_BENCH_TEST_BUNDLE",
        DEFAULT_BUNDLE,
    )
)
needs_bundle = pytest.mark.skipif(not DEFAULT.is_file(), reason=f"no shipped default bundle at {DEFAULT}")


def _runtime(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


@needs_bundle
@pytest.mark.slow
@pytest.mark.skipif(not _runtime("ai_edge_litert"), reason="ai-edge-litert (runtime extra) not installed")
@pytest.mark.skipif(not _runtime("executorch"), reason="executorch (export extra) not installed")
def test_bench_every_model_of_the_default_bundle() -> None:
    from mujo_edge.bundle import Bundle

    bundle = Bundle.open(DEFAULT)
    rep = bench_host(DEFAULT, runs=40, warmup=5, batch=4, isolate=False, pipeline=True)
    validate_report(rep)
    by = {(r["runtime"], r["dtype"]): r for r in rep["results"]}
    for m in bundle.models:
        runtime = {"tflite": "litert", "executorch": "executorch"}[m.format]
        r = by[(runtime, m.dtype)]
        lat = r["latency_us"]
        assert lat["n"] == 40 and 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        assert r["model_bytes"] == len(bundle.file_bytes(m.file))
        assert r["throughput_wps"] > 0 and r["load_ms"] > 0 and r["batch"] == 4
    pipe = by[("mujo-pipeline", "none")]
    assert pipe["extra"]["windows_per_repeat"] > 500  # ten simulated minutes at hop 1 s
    assert rep["bundle"]["labels"] == bundle.labels
    assert [s["name"] for s in rep["skipped"]] == ["pytorch float32"]


@needs_bundle
@pytest.mark.skipif(not _runtime("ai_edge_litert"), reason="ai-edge-litert (runtime extra) not installed")
def test_isolated_worker_measures_its_own_peak_rss(tmp_path: Path) -> None:
    from mujo_edge.bundle import Bundle

    dtype = next(m.dtype for m in Bundle.open(DEFAULT).models if m.format == "tflite")
    spec = {"kind": "model", "bundle": str(DEFAULT), "format": "tflite", "dtype": dtype}
    reply = _run_in_worker({**spec, "threads": 1, "runs": 20, "warmup": 2, "batch": 2})
    assert reply["ok"], reply
    r = reply["result"]
    assert r["runtime"] == "litert" and r["latency_us"]["n"] == 20
    assert r["peak_rss_mb"] >= r["extra"]["rss_baseline_mb"] > 0
    assert r["import_ms"] > 0


@needs_bundle
@pytest.mark.slow
@pytest.mark.skipif(not _runtime("ai_edge_litert"), reason="ai-edge-litert (runtime extra) not installed")
def test_cli_writes_json_and_markdown(tmp_path: Path) -> None:
    out, md = tmp_path / "b.json", tmp_path / "b.md"
    args = ["bench", "--bundle", str(DEFAULT), "--runs", "20", "--warmup", "2", "--batch", "2"]
    assert main([*args, "--no-pipeline", "--in-process", "--json", str(out), "--markdown", str(md)]) == 0
    text = md.read_text()
    assert "| litert | tflite |" in text and "Skipped pytorch float32" in text
    assert main(["bench", "compare", str(out)]) == 0


@pytest.mark.torch
@pytest.mark.skipif(not _runtime("torch"), reason="torch (training extra) not installed")
def test_pytorch_reference_row(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The PyTorch row times softmax(model(x)) on (B, 100, 3) windows (the student loader is swapped for a
    tiny module here; the real one is mujo_edge.training.distill.load_student)."""
    import torch

    from mujo_edge.bench import host

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(300, 7))
    monkeypatch.setattr(host, "_load_float_student", lambda p: (model, 1234, str(p)))
    spec = {"kind": "pytorch", "student": str(tmp_path), "threads": 1, "runs": 15, "warmup": 2, "batch": 3}
    r = host.run_spec(spec)
    assert (r["runtime"], r["format"], r["dtype"], r["model_bytes"]) == (
        "pytorch",
        "pytorch",
        "float32",
        1234,
    )
    assert r["latency_us"]["n"] == 15 and r["latency_us"]["p50"] > 0 and r["throughput_wps"] > 0
    assert r["extra"]["torch"] == torch.__version__


def test_missing_student_is_skipped_with_the_reason(tmp_path: Path) -> None:
    from mujo_edge.bench.host import _run_in_process

    reply = _run_in_process(
        {
            "kind": "pytorch",
            "student": str(tmp_path / "none"),
            "threads": 1,
            "runs": 1,
            "warmup": 0,
            "batch": 1,
        }
    )
    assert not reply["ok"]
    # with torch: the student loader says the folder is no student; without: which extra to install
    assert "has no manifest.json" in reply["error"] or "'training' extra" in reply["error"]
