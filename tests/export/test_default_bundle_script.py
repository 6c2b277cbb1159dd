"""experiments/make_default_bundle.sh at tiny scale: a pretraining run and a corpus in, a bundle with 15
labels + `unknown` out (threshold chosen on the validation subject), then a words bundle from its student.

About 90 s on 2 busy cores (a tiny pretraining, finetune, distill and one int8 LiteRT conversion): marked
slow; `pytest -m "not slow"` leaves it out."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.torch, pytest.mark.export]

for _mod, _extra in (("torch", "training"), ("litert_torch", "export"), ("ai_edge_litert", "runtime")):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(f"{_mod} is not installed (pip install 'mujo-edge[{_extra}]')", allow_module_level=True)

from mujo_edge.bundle import Bundle  # noqa: E402
from mujo_edge.cli import main  # noqa: E402

from ..training.tiny_data import make_tiny_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KNOWN = [
    "walking", "running", "stairs_up", "stairs_down", "sitting", "standing", "lying_back", "cycling",
    "squats", "pushups", "jumping_jacks", "bicep_curls", "situps", "lunges", "rowing_machine",
]  # fmt: skip
HELD_OUT = ["boxing", "typing"]


def test_script_builds_a_general_bundle_with_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, run = tmp_path / "corpus", tmp_path / "pretrain"
    make_tiny_dataset(
        corpus,
        n_labels=17,
        per_label_subject=4,
        subjects=(1, 2, 3, 4, 5),
        labels=KNOWN + HELD_OUT,
        with_pose=False,
    )
    argv = [
        "pretrain", "--data", str(corpus), "--out", str(run), "--modalities", "acc,text", "--epochs", "1",
        "--batch-size", "32", "--joint-dim", "32", "--cnn", "mmfit", "--proj-hidden", "32", "--threads", "1",
        "--checkpoint-every", "0",
    ]  # fmt: skip
    assert main(argv) == 0
    out, work = tmp_path / "default.mujo", tmp_path / "work"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "LABELS": ",".join(KNOWN),
        "WORK": str(work),
        "FINETUNE_EPOCHS": "1",
        "DISTILL_EPOCHS": "2",
        "FORMATS": "tflite",
        "MIN_AGREEMENT": "0",
        "THREADS": "1",
    }
    script = ROOT / "experiments" / "make_default_bundle.sh"
    res = subprocess.run(
        ["bash", str(script), str(run), str(corpus), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    b = Bundle.open(out)
    assert b.labels == KNOWN and b.open_set_threshold is not None and b.head.score_kind == "mahalanobis"
    chosen = b.manifest["open_set"]["chosen_on"]
    assert chosen["threshold_subjects"] == [4] and 5 not in chosen["means_and_covariance_subjects"]
    assert b.label_embeddings is not None and "calibration_target" in b.manifest
    report = json.loads((work / "default_bundle_report.json").read_text())
    assert report["unknown_windows"] > 0 and 0.0 <= report["auroc_known_vs_heldout"] <= 1.0

    # too few labels, a missing corpus: refused before any training
    bad = subprocess.run(
        ["bash", str(script), str(run), str(corpus), str(tmp_path / "x.mujo")],
        cwd=ROOT, env={**env, "LABELS": "walking,running"}, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "at least 15" in bad.stderr
    bad = subprocess.run(
        ["bash", str(script), str(run), str(tmp_path / "none"), str(tmp_path / "x.mujo")],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "not a dataset folder" in bad.stderr

    # a bundle from words, reusing the verified model (seconds)
    words = tmp_path / "words.mujo"
    argv = [
        "export", str(work / "student"), "--from-bundle", str(out), "--out", str(words),
        "--labels", "walking, cycling, push-ups, brushing teeth", "--pretrained", str(run),
        "--data", str(work / "known"),
    ]  # fmt: skip
    assert main(argv) == 0
    w = Bundle.open(words)
    assert w.labels == ["walking", "cycling", "push-ups", "brushing teeth"]
    assert w.head.kind == "linear" and w.head.score_kind == "cosine" and w.open_set_threshold is not None
    # every exported test records its keep curve: the device can move the threshold along it
    for bundle in (b, w):
        assert bundle.head.at_keep(0.95).threshold == bundle.open_set_threshold
        assert (bundle.head.at_keep(0.8).threshold or 0.0) >= (bundle.open_set_threshold or 0.0)
    assert w.file_bytes(w.model().file) == b.file_bytes(b.model().file)
    # the shipped foundation (`--pretrained default`, resolved) is not this student's joint space: refused
    # with what to give instead, and the words bundle already written stays as it was
    before = words.read_bytes()
    argv[argv.index("--pretrained") + 1] = "default"
    capsys.readouterr()
    assert main(argv) == 2
    said = capsys.readouterr()
    assert "was distilled from a" in said.out + said.err and "joint space" in said.out + said.err
    assert words.read_bytes() == before

    # the open-set test with several cosine prototypes per label (same verified model)
    multi = tmp_path / "multi.mujo"
    argv = [
        "export", str(work / "student"), "--from-bundle", str(out), "--out", str(multi),
        "--data", str(work / "known"), "--open-set-kind", "cosine", "--open-set-prototypes", "3",
    ]  # fmt: skip
    assert main(argv) == 0
    m = Bundle.open(multi)
    assert m.head.score_kind == "cosine" and m.head.prototypes is not None
    assert m.head.prototypes.shape[0] == 3 * len(KNOWN) and -1.0 <= (m.open_set_threshold or 0.0) <= 1.0
    assert m.manifest["open_set"]["prototypes_per_class"] == 3
    assert m.file_bytes(m.model().file) == b.file_bytes(b.model().file)
    # more prototypes than any label has windows: every window is one, and the manifest says how many
    capsys.readouterr()
    assert main([*argv[:5], str(tmp_path / "all.mujo"), *argv[6:-1], "100000"]) == 0
    assert "no label has that many training windows" in " ".join(capsys.readouterr().out.split())
    every = Bundle.open(tmp_path / "all.mujo")
    held = every.manifest["open_set"]["prototypes_per_class"]
    assert every.head.prototypes is not None and 3 < held < 100000
    assert len(every.head.prototypes) <= held * len(KNOWN)
    argv[-3:] = ["mahalanobis", "--open-set-prototypes", "3"]
    assert main([*argv[:5], str(tmp_path / "bad.mujo"), *argv[6:]]) != 0
    assert not (tmp_path / "bad.mujo").exists()

    # the euclidean test over the head vectors with window statistics (same verified model)
    stats = tmp_path / "stats.mujo"
    argv = [
        "export", str(work / "student"), "--from-bundle", str(out), "--out", str(stats),
        "--data", str(work / "known"), "--open-set-kind", "euclidean", "--open-set-prototypes", "2",
        "--window-stats", "0.3",
    ]  # fmt: skip
    assert main(argv) == 0
    st = Bundle.open(stats)
    assert st.head.score_kind == "euclidean" and st.head.stats is not None and st.head.stats.weight == 0.3
    assert st.head.needs_windows and st.head.prototypes is not None
    assert st.head.prototypes.shape == (2 * len(KNOWN), st.head.embed_dim + st.head.stats.dim)
    assert st.manifest["head"]["stats"]["features"] == "window-stats-1"
    assert st.file_bytes(st.model().file) == b.file_bytes(b.model().file)
    assert main([*argv[:5], str(tmp_path / "bad.mujo"), *argv[6:-1], "-1"]) != 0
    assert main([*argv[:5], str(tmp_path / "bad.mujo"), *argv[6:], "--no-open-set"]) != 0
    assert not (tmp_path / "bad.mujo").exists()

    # a label that means "none of these" (here squats stands in for a class trained on other activities)
    rej = tmp_path / "reject.mujo"
    argv = [
        "export", str(work / "student"), "--from-bundle", str(out), "--out", str(rej),
        "--data", str(work / "known"), "--reject-labels", "squats",
    ]  # fmt: skip
    assert main(argv) == 0
    r = Bundle.open(rej)
    assert r.head.reject == ("squats",) and r.manifest["open_set"]["reject_labels"] == ["squats"]
    assert r.head.prototypes is not None and r.head.prototypes.shape[0] == len(KNOWN) - 1
    assert main([*argv[:5], str(tmp_path / "bad.mujo"), *argv[6:-1], "jump"]) != 0
    assert not (tmp_path / "bad.mujo").exists()
