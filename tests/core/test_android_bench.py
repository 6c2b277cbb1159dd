"""`mujo-edge bench android` against a stand-in `adb` that logs every call and answers with canned,
exact-format tool output: the push/shell/pull sequence is pinned, and the parsed numbers land in the
one benchmark schema."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

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
        [*s, "shell", "date +%s"],  # the phone's clock before the run: logcat -T reads only from there
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
    assert log[-1] == ["logcat", "-d", "-v", "raw", "-s", "ExecuTorch", "-T", "1767225600.000"]
    assert log[-4] == ["shell", "date +%s"] and log[-3][1].endswith("2>&1")  # clock read just before the run
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


def _fixtures_with(tmp: Path, name: str, edit: Any) -> Path:
    """A copy of the fixtures with ``name`` rewritten by ``edit`` (str -> str)."""
    fix = tmp / "fx"
    shutil.copytree(FIX, fix)
    (fix / name).write_text(edit((fix / name).read_text()))
    return fix


def test_stale_logcat_run_is_never_reported_as_this_one(
    phone: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runner logged to logcat and THIS run failed; the buffer's last complete run is of old.pte (4
    threads, 2 iterations). That run must not become this bundle's result: the failure line is quoted."""
    monkeypatch.setenv("FAKE_ADB_ER_OUTPUT", "executor_runner_android_pal_stdout.txt")
    monkeypatch.setenv("FAKE_ADB_LOGCAT", "executor_runner_logcat_stale_then_failed.txt")
    out = phone["tmp"] / "phone.json"
    argv = ["bench", "android", "--bundle", str(phone["bundle"]), "--benchmark-model", str(phone["bm"])]
    argv += ["--executor-runner", str(phone["er"]), "--warmup", "0", "--runs", "12", "--json", str(out)]
    assert main(argv) == 2
    text = " ".join(capsys.readouterr().out.split())
    assert "error: 1 of 2 model(s) failed on the phone" in text
    assert (
        "Backend XnnpackBackend is not registered; Loading of method forward failed with status 0x14" in text
    )
    report = load_report(out)  # the model that did run is kept
    assert [r["runtime"] for r in report["results"]] == ["litert"]
    ((skip),) = report["skipped"]
    assert skip["name"] == "executorch int8" and "Loading of method forward failed" in skip["reason"]
    assert "logcat_student_xnnpack_q8.txt" in skip["reason"]
    # a buffer holding only a stale run of another model: no run of this file, refused
    monkeypatch.setenv("FAKE_ADB_LOGCAT", "executor_runner_logcat_raw.txt")
    fix = _fixtures_with(
        phone["tmp"],
        "executor_runner_logcat_raw.txt",
        lambda t: t.split("Resetting threadpool with num threads = 1")[0],
    )
    monkeypatch.setenv("FAKE_ADB_FIXTURES", str(fix))
    with pytest.raises(DeviceError, match=r"no run of .*student_xnnpack_q8.pte.*runs of .*old.pte only"):
        _only_executorch(bench_android(phone["bundle"], None, phone["er"], warmup=0, runs=2))
    # a run of this file, but with another iteration count: an older run, refused
    monkeypatch.setenv("FAKE_ADB_FIXTURES", str(FIX))
    with pytest.raises(DeviceError, match=r"executed 3 time.*not the 12 this benchmark asked for"):
        _only_executorch(bench_android(phone["bundle"], None, phone["er"], warmup=2, runs=10))


def _only_executorch(report: dict[str, Any]) -> dict[str, Any]:
    """The executorch result of a run without --benchmark-model; its failure re-raised as a DeviceError."""
    failed = [s for s in report["skipped"] if s["name"].startswith("executorch")]
    if failed:
        raise DeviceError(failed[0]["reason"])
    return report


def test_truncated_runner_output_is_an_error_not_a_logcat_run(
    phone: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_ADB_ER_OUTPUT", "executor_runner_truncated.txt")
    report = bench_android(phone["bundle"], None, phone["er"], warmup=0, runs=12)
    assert report["results"] == []
    (skip,) = [s for s in report["skipped"] if s["name"] == "executorch int8"]
    assert "executor_runner's output executor_runner_student_xnnpack_q8.txt" in skip["reason"]
    assert "stops after iteration 5 of 12" in skip["reason"]
    assert not any(c[0] == "logcat" for c in calls(phone["log"]))  # its log was in the file: no logcat


@pytest.mark.parametrize(
    ("fixture", "edit", "problem"),
    [
        ("benchmark_model_int8.txt", lambda t: t.replace("avg=46.3", "avg=nan"), "latency_us.mean is nan"),
        ("benchmark_model_int8.txt", lambda t: t.replace("count=500 ", "count=0 "), "latency_us.n is 0"),
        (
            "benchmark_model_int8.txt",
            lambda t: t.replace("avg=46.3 std=12", "avg=46.3 std=12 p5=30 median=inf p95=60"),
            "latency_us.p50 is inf",
        ),
        (
            "executor_runner_xnnpack.txt",
            lambda t: t.replace("Iteration 5 of 12: 0.032000 ms", "Iteration 5 of 12: -0.032000 ms"),
            "latency_us.min is -32.0",
        ),
    ],
)
def test_a_bad_number_skips_that_model_and_keeps_the_other(
    phone: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fixture: str,
    edit: Any,
    problem: str,
) -> None:
    monkeypatch.setenv("FAKE_ADB_FIXTURES", str(_fixtures_with(phone["tmp"], fixture, edit)))
    out = phone["tmp"] / "phone.json"
    argv = ["bench", "android", "--bundle", str(phone["bundle"]), "--benchmark-model", str(phone["bm"])]
    argv += ["--executor-runner", str(phone["er"]), "--warmup", "2", "--runs", "10", "--json", str(out)]
    assert main(argv) == 2
    text = " ".join(capsys.readouterr().out.split())
    bad, good = ("litert", "executorch") if fixture.startswith("benchmark") else ("executorch", "litert")
    tool = "benchmark_model" if bad == "litert" else "executor_runner"
    assert problem in text and f"{tool}'s output {tool}_student_" in text
    assert "v1 file" not in text and "re-create" not in text
    assert f"the other results are written to {out}" in text
    report = load_report(out)
    assert [r["runtime"] for r in report["results"]] == [good]
    (skip,) = report["skipped"]
    assert (
        skip["name"] == f"{bad} int8"
        and problem in skip["reason"]
        and str(out.parent / "phone-raw") in skip["reason"]
    )
