"""The examples run as they are: each is executed in a fresh process, as a user would run it."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *map(str, argv)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{argv[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done


def test_stream_recording_prints_one_event_per_window(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert", reason="the example runs the bundle's .tflite (extra `runtime`)")
    # A 20-s recording of a synthetic 50 Hz watch speaking the open stream protocol, no Bluetooth needed.
    _run(EXAMPLES / "replay_with_faults.py", "--out", tmp_path)
    recording = tmp_path / "left.jsonl"
    out = _run(EXAMPLES / "stream_recording.py", recording).stdout.splitlines()
    # 1,000 samples at 50 Hz: 2-s windows every second, the first ending at 2 s -> 19 windows.
    assert len(out) == 19, out
    line = re.compile(r"^left +\d+\.\d\d- +\d+\.\d\d s  \S+ +[01]\.\d\d$")
    assert all(line.match(x) for x in out), out
    starts = [float(x.split()[1].split("-")[0]) for x in out]
    assert [round(b - a, 2) for a, b in itertools.pairwise(starts)] == [1.0] * 18  # hop 50 at 50 Hz


def test_stream_recording_reads_the_wrist_from_the_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A left watch's windows read unmirrored look unlike every activity: the example, like `replay`, takes
    the wrist the recording's header names."""
    pytest.importorskip("ai_edge_litert", reason="the example runs the bundle's .tflite (extra `runtime`)")
    import runpy

    from mujo_edge.pipeline import Pipeline

    _run(EXAMPLES / "replay_with_faults.py", "--out", tmp_path)
    lines = (tmp_path / "left.jsonl").read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["meta"]["mujo_edge_stream"] = {"wrist": "left"}  # (what `mujo-edge stream --record` writes)
    recording = tmp_path / "left_wrist.jsonl"
    recording.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    wrists = []
    from_bundle = Pipeline.from_bundle

    def spy(bundle: object, **kw: object) -> Pipeline:
        wrists.append(kw.get("wrist", "right"))
        return from_bundle(bundle, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Pipeline, "from_bundle", spy)
    example = runpy.run_path(str(EXAMPLES / "stream_recording.py"))
    example["stream_recording"](str(recording))
    assert wrists == [{"left": "left"}] and capsys.readouterr().out.count("\n") == 19


def test_readme_shows_the_stream_recording_example() -> None:
    code = (EXAMPLES / "stream_recording.py").read_text()
    body = code[code.index("def stream_recording") : code.index('if __name__ == "__main__"')].strip()
    readme = (ROOT / "README.md").read_text()
    assert body.splitlines()[0] in readme and "pipeline.feed(item)" in readme, (
        "README.md should show examples/stream_recording.py's loop"
    )
