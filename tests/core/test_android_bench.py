"""`mujo-edge bench android` against a stand-in `adb` that logs every call and answers with canned,
exact-format tool output: the push/shell/pull sequence is pinned, and the parsed numbers land in the
one benchmark schema."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mujo_edge.bench.schema import load_report, validate_report
from mujo_edge.cli import main
from mujo_edge.errors import DeviceError
from mujo_edge.phone.android import bench_android

FIX = Path(__file__).parent / "fixtures_bench"
D = "/data/local/tmp/mujo-edge"
TFLITE = b"TFL3 not a real model: the stand-in phone never reads it"
PTE = b"ET12 not a real program either"


def write_fake_bundle(path: Path) -> Path:
    """A bundle written by the real bundle writer (schema, head, open-set entry, content hash); only its
    model bytes are placeholders."""
    from mujo_edge.export.bundle_writer import ModelFile, write_bundle

    spec_in = {"name": "acc_g", "shape": [1, 100, 3], "dtype": "float32", "position": 0}
    spec_out = {"name": "logits", "shape": [1, 7], "dtype": "float32", "position": 0}
    models = [
        ModelFile("tflite", "student_litert_int8.tflite", TFLITE, "int8", "BWC", [spec_in], [spec_out]),
        ModelFile("executorch", "student_xnnpack_q8.pte", PTE, "int8", "BWC", [spec_in], [spec_out]),
    ]
    write_bundle(path, labels=["PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"], models=models)
    return path


@pytest.fixture()
def phone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A stand-in adb first on PATH, the two 'programs' and a bundle."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    adb = bin_dir / "adb"
    adb.write_text(
        f"#!{os.environ.get('PYTHON', __import__('sys').executable)}\n" + (FIX / "fake_adb.py").read_text()
    )
    adb.chmod(adb.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "adb_calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_ADB_LOG", str(log))
    monkeypatch.setenv("FAKE_ADB_FIXTURES", str(FIX))
    bm = tmp_path / "benchmark_model"
    er = tmp_path / "executor_runner"
    bm.write_bytes(b"\x7fELF benchmark_model")
    er.write_bytes(b"\x7fELF executor_runner")
    return {"log": log, "bm": bm, "er": er, "bundle": write_fake_bundle(tmp_path / "m.mujo"), "tmp": tmp_path}


def calls(log: Path) -> list[list[str]]:
    """Logged argv lists, with host temp paths of extracted models reduced to their file names."""
    out = []
    for line in log.read_text().splitlines():
        argv = json.loads(line)
        out.append([Path(a).name if a.startswith("/") and "mujo-bench-android-" in a else a for a in argv])
    return out


def test_exact_adb_sequence_and_parsed_report(phone: dict[str, Path]) -> None:
    raw = phone["tmp"] / "raw"
    report = bench_android(
        phone["bundle"], phone["bm"], phone["er"], serial="R5CT", warmup=2, runs=10, threads=2, raw_dir=raw
    )
    s = ["-s", "R5CT"]
    bm_cmd = (
        f"cd {D} && toybox time -v {D}/benchmark_model --graph={D}/student_litert_int8.tflite --num_threads=2 "
        f"--warmup_runs=2 --warmup_min_secs=0 --num_runs=10 --min_secs=0 --report_peak_memory_footprint=true "
        f"> {D}/benchmark_model_student_litert_int8.txt 2>&1"
    )
    er_cmd = (
        f"cd {D} && toybox time -v {D}/executor_runner --model_path={D}/student_xnnpack_q8.pte "
        f"--num_executions=12 --cpu_threads=2 --print_output=none > {D}/executor_runner_student_xnnpack_q8.txt 2>&1"
    )
    assert calls(phone["log"]) == [
        [*s, "get-state"],
        [*s, "shell", "getprop"],
        [*s, "shell", "nproc"],
        [*s, "shell", f"mkdir -p {D}"],
        [*s, "push", str(phone["bm"]), f"{D}/benchmark_model"],
        [*s, "push", str(phone["er"]), f"{D}/executor_runner"],
        [*s, "push", "student_litert_int8.tflite", f"{D}/student_litert_int8.tflite"],
        [*s, "push", "student_xnnpack_q8.pte", f"{D}/student_xnnpack_q8.pte"],
        [*s, "shell", f"chmod 755 {D}/benchmark_model {D}/executor_runner"],
        [*s, "shell", bm_cmd],
        [
            *s,
            "pull",
            f"{D}/benchmark_model_student_litert_int8.txt",
            str(raw / "benchmark_model_student_litert_int8.txt"),
        ],
        [*s, "shell", er_cmd],
        [
            *s,
            "pull",
            f"{D}/executor_runner_student_xnnpack_q8.txt",
            str(raw / "executor_runner_student_xnnpack_q8.txt"),
        ],
    ]
    validate_report(report)
    m = report["machine"]
    assert m["android"]["model"] == "Pixel 6" and m["cpu"] == "Google Tensor" and m["cores"] == 8
    assert m["arch"] == "arm64-v8a" and m["os"] == "Android 14 (SDK 34)"
    lit, et = report["results"]
    assert (lit["runtime"], lit["format"], lit["source"], lit["tool"]) == (
        "litert",
        "tflite",
        "android-adb",
        "benchmark_model",
    )
    assert lit["latency_us"] == {
        "p50": None,
        "p90": None,
        "p99": None,
        "mean": 46.3,
        "min": 37.0,
        "max": 904.0,
        "std": 12.0,
        "n": 500,
    }
    assert lit["load_ms"] == pytest.approx(2.841) and lit["peak_rss_mb"] == pytest.approx(
        6124 / 1024, abs=0.05
    )
    assert lit["model_bytes"] == len(TFLITE) and lit["throughput_wps"] == pytest.approx(1e6 / 46.3, rel=1e-3)
    # executor_runner: 12 iterations, the first 2 (210 us, 90 us) dropped as warm-up -> 30..39 us
    assert (et["runtime"], et["format"], et["tool"]) == ("executorch", "pte", "executor_runner")
    lat = et["latency_us"]
    assert (lat["n"], lat["min"], lat["max"], lat["p50"], lat["mean"]) == (10, 30.0, 39.0, 34.5, 34.5)
    assert lat["p90"] == pytest.approx(38.1) and lat["p99"] == pytest.approx(38.91)
    assert et["extra"]["first_iteration_us"] == 210.0 and et["load_ms"] == pytest.approx(1.291)
    assert et["peak_rss_mb"] == pytest.approx(3.6) and et["model_bytes"] == len(PTE)
    assert (raw / "benchmark_model_student_litert_int8.txt").is_file()


def test_android_pal_runner_falls_back_to_logcat(
    phone: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_ADB_ER_OUTPUT", "executor_runner_android_pal_stdout.txt")
    report = bench_android(phone["bundle"], None, phone["er"], warmup=1, runs=2)
    log = calls(phone["log"])
    assert log[-1] == ["logcat", "-d", "-v", "raw", "-s", "ExecuTorch"]
    assert not any("benchmark_model" in " ".join(c) for c in log)  # no --benchmark-model: nothing pushed/run
    (et,) = report["results"]
    assert et["latency_us"]["n"] == 2 and et["latency_us"]["p50"] == pytest.approx(45.0)
    assert et["peak_rss_mb"] == pytest.approx(2.9) and "logcat" in et["notes"]
    assert report["skipped"] == [{"name": "litert int8", "reason": "no --benchmark-model given"}]


def test_unauthorized_phone_is_a_clear_error(phone: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_ADB_STATE", "unauthorized")
    with pytest.raises(DeviceError, match="Allow USB debugging"):
        bench_android(phone["bundle"], phone["bm"], phone["er"])


def test_no_adb_on_path_says_what_to_install(phone: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(phone["tmp"] / "nowhere"))
    with pytest.raises(DeviceError, match="platform-tools"):
        bench_android(phone["bundle"], phone["bm"], phone["er"])


def test_cli_android_then_compare(phone: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = phone["tmp"] / "phone.json"
    args = ["bench", "android", "--bundle", str(phone["bundle"]), "--benchmark-model", str(phone["bm"])]
    assert (
        main(
            [
                *args,
                "--executor-runner",
                str(phone["er"]),
                "--warmup",
                "2",
                "--runs",
                "10",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    report = load_report(out)
    assert [r["runtime"] for r in report["results"]] == ["litert", "executorch"]
    assert (phone["tmp"] / "phone-raw" / "executor_runner_student_xnnpack_q8.txt").is_file()
    md = phone["tmp"] / "cmp.md"
    assert main(["bench", "compare", str(out), str(out), "--markdown", str(md)]) == 0
    text = md.read_text()
    assert "| litert | tflite | int8 | 1 | ~46.3 | 21,598 | 6.0 | ~46.3 | 21,598 | 6.0 |" in text
    assert "Pixel 6 (Google Tensor)" in text
