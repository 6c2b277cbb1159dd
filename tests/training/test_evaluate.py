"""The evaluation protocol end to end, the classifier training loop, and the fine-tuned teacher artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="evaluation needs torch (training extra)")

from mujo_edge.cli import main  # noqa: E402
from mujo_edge.errors import ArtifactError, CalibrationError, ConfigError  # noqa: E402
from mujo_edge.metrics import macro_f1  # noqa: E402
from mujo_edge.training.checkpoint import load_classifier, load_pretrained  # noqa: E402
from mujo_edge.training.evaluate import format_cell, markdown_table  # noqa: E402
from mujo_edge.training.finetune import (  # noqa: E402
    build_classifier,
    class_weights,
    finetune,
    predict_logits,
    train_classifier,
)
from mujo_edge.training.models import ModelConfig  # noqa: E402
from mujo_edge.training.pretrain import PretrainConfig, pretrain  # noqa: E402
from tests.training.tiny_data import make_tiny_dataset  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny corpus, a short pretraining run on it, and a 'real' labelled dataset with subjects 1..10."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("evaluate")
    make_tiny_dataset(root / "corpus", seed=0)
    cfg = PretrainConfig(
        model=ModelConfig(cnn="mmfit", joint_dim=32, proj_hidden=32, text_hidden=32),
        epochs=3,
        batch_size=32,
        lr=3e-3,
        val_subjects=(6,),
    )
    pretrain(root / "corpus", root / "run", cfg)
    make_tiny_dataset(
        root / "real", seed=1, subjects=tuple(range(1, 11)), per_label_subject=4, with_pose=False
    )
    return root / "run", root / "real"


def test_class_weights_are_max_count_over_count() -> None:
    w = class_weights(np.array([0, 0, 0, 0, 1, 1, 2]), 4)
    assert w.tolist() == pytest.approx([1.0, 2.0, 4.0, 0.0])


def test_classifier_learns_the_tiny_task_and_frozen_keeps_the_backbone(setup: tuple[Path, Path]) -> None:
    run, real = setup
    from mujo_edge.training.data.format import Dataset

    ds = Dataset.open(real)
    y = np.asarray(ds.label)
    subj = np.asarray(ds.subject)
    tr, va, te = np.flatnonzero(subj <= 7), np.flatnonzero(subj == 8), np.flatnonzero(subj >= 9)
    acc = np.asarray(ds.acc)
    joint = load_pretrained(run)
    model = build_classifier(joint, "baseline", ("acc",), ds.labels, seed=0)
    res = train_classifier(
        model,
        "baseline",
        {"acc": acc[tr]},
        y[tr],
        {"acc": acc[va]},
        y[va],
        lr=3e-3,
        max_epochs=30,
        patience=10,
    )
    f1 = macro_f1(y[te], predict_logits(model, {"acc": acc[te]}).argmax(1))
    assert f1 > 0.9, f"baseline on a separable 4-class task reached only {f1:.3f}"
    assert 1 <= res.epochs <= 30 and res.best_epoch < res.epochs
    frozen = build_classifier(joint, "frozen", ("acc",), ds.labels, seed=0)
    before = {k: v.clone() for k, v in frozen.encoders.state_dict().items()}
    train_classifier(
        frozen, "frozen", {"acc": acc[tr]}, y[tr], {"acc": acc[va]}, y[va], lr=3e-3, max_epochs=3
    )
    assert all(torch.equal(before[k], v) for k, v in frozen.encoders.state_dict().items())
    assert all(
        torch.equal(a, b)
        for a, b in zip(joint.encoders["acc"].parameters(), frozen.encoders["acc"].parameters(), strict=True)
    )


def test_evaluate_command_end_to_end_and_resumes(setup: tuple[Path, Path], tmp_path: Path) -> None:
    run, real = setup
    argv = [
        "evaluate", "--pretrained", str(run), "--data", str(real), "--out", str(tmp_path / "report"),
        "--fractions", "10,100", "--seeds", "1", "--max-epochs", "3", "--patience", "2",
        "--calibration", "none,unsupervised", "--lr", "1e-3",
    ]  # fmt: skip
    assert main(argv) == 0
    res = json.loads((tmp_path / "report" / "results.json").read_text())
    assert len(res["runs"]) == 2 * 2 * 3  # fractions x calibrations x modes
    for r in res["runs"]:
        assert 0.0 <= r["macro_f1"] <= 1.0 and 1 <= r["epochs"] <= 3
    n10 = {r["n_train"] for r in res["runs"] if r["fraction_pct"] == 10}
    n100 = {r["n_train"] for r in res["runs"] if r["fraction_pct"] == 100}
    assert n10 == {12} and n100 == {112}  # 10 % of 28 windows per class -> 3 per class, 4 classes
    table = (tmp_path / "report" / "table.md").read_text()
    assert "| acc | none |" in table and "| acc | unsupervised |" in table and "100% finetuned" in table
    for cal in ("none", "unsupervised"):
        png = tmp_path / "report" / f"boxplot_acc_{cal}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(argv) == 0  # resumes: nothing left to run, nothing duplicated
    assert len(json.loads((tmp_path / "report" / "results.json").read_text())["runs"]) == 12


def test_markdown_table_mean_and_std() -> None:
    runs = [
        {"input": "acc", "calibration": "none", "mode": m, "fraction_pct": 2.0, "macro_f1": f}
        for m, f in (("baseline", 0.5), ("baseline", 0.7), ("finetuned", 0.8), ("finetuned", 0.8))
    ]
    t = markdown_table(runs)
    assert ".600 ± .100 (2)" in t and "**.800 ± .000 (2)**" in t


def test_finetune_writes_a_teacher_that_loads(setup: tuple[Path, Path], tmp_path: Path) -> None:
    run, real = setup
    man = finetune(run, real, tmp_path / "teacher", calibration="unsupervised", max_epochs=4, lr=3e-3)
    assert man["format"] == "mujo-edge-classifier"
    assert man["labels"] == ["act0", "act1", "act2", "act3"]
    assert man["splits"]["test_subjects"] == [9, 10] and man["splits"]["n_test"] == 32
    assert man["calibration"]["kind"] == "unsupervised" and man["calibration"]["table"] is not None
    assert 0.0 <= man["metrics"]["test_macro_f1"] <= 1.0
    teacher = load_classifier(tmp_path / "teacher")
    x = torch.randn(5, 100, 3)
    assert teacher(x).shape == (5, 4)
    assert teacher.embed(x).shape == (5, 32)
    assert teacher.labels == man["labels"]
    # the stored test F1 is what the loaded teacher scores on the (calibrated) test windows
    from mujo_edge.calibration import PitCalibration
    from mujo_edge.training.data.format import Dataset

    ds = Dataset.open(real)
    te = np.flatnonzero(np.asarray(ds.subject) >= 9)
    cal = PitCalibration.from_dict(man["calibration"]["table"])
    pred = predict_logits(teacher, {"acc": cal.apply(np.asarray(ds.acc)[te])}).argmax(1)
    assert macro_f1(np.asarray(ds.label)[te], pred) == pytest.approx(man["metrics"]["test_macro_f1"])
    with pytest.raises(CalibrationError, match="supervised"):
        finetune(run, real, tmp_path / "t2", calibration="supervised")


def test_tampered_teacher_is_refused(setup: tuple[Path, Path], tmp_path: Path) -> None:
    run, real = setup
    finetune(run, real, tmp_path / "teacher", max_epochs=1)
    w = tmp_path / "teacher" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        load_classifier(tmp_path / "teacher")
    with pytest.raises(ArtifactError, match=r"no manifest\.json"):
        load_classifier(tmp_path)


def test_format_cell_rounds_to_three_decimals_without_the_leading_zero() -> None:
    assert format_cell((0.7346, 0.0081, 5)) == ".735 ± .008 (5)"
    assert format_cell((0.9996, 0.0004, 3), bold=True) == "**1.000 ± .000 (3)**"
    assert format_cell(None) == "—"


def test_finetune_without_validation_subjects_keeps_the_last_epoch_and_reports_no_score(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --val-subjects "" the epoch number used to be recorded as the validation macro-F1 (3.0)."""
    run, real = setup
    argv = ["finetune", "--pretrained", str(run), "--data", str(real), "--out", str(tmp_path / "t")]
    assert main([*argv, "--val-subjects", "", "--epochs", "3", "--lr", "3e-3"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "no validation subjects (--val-subjects is empty)" in out and "last of 3 epochs" in out
    metrics = json.loads((tmp_path / "t" / "manifest.json").read_text())["metrics"]
    assert metrics["val_macro_f1"] is None and metrics["best_epoch"] == 2 and metrics["epochs"] == 3


@pytest.mark.parametrize("device", ["bogus", "cuda"])
def test_training_commands_refuse_a_device_this_host_lacks_before_any_run(
    setup: tuple[Path, Path], tmp_path: Path, device: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """torch's own RuntimeError / AssertionError tracebacks came at the first run, after the data loaded."""
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this host has a CUDA GPU")
    run, real = setup
    for cmd in (["finetune", "--out", str(tmp_path / "t")], ["evaluate", "--out", str(tmp_path / "r")]):
        argv = [cmd[0], "--pretrained", str(run), "--data", str(real), *cmd[1:], "--device", device]
        assert main(argv) != 0
        said = " ".join(capsys.readouterr().out.split())
        assert ("torch sees no CUDA GPU" if device == "cuda" else "use cpu or cuda") in said
    assert not (tmp_path / "t").exists() and not (tmp_path / "r").exists()
    from mujo_edge.training.distributed import check_workers

    with pytest.raises(ConfigError, match="--jobs must be a whole number >= 1"):
        check_workers("cpu", 0)


def test_evaluate_refuses_overlapping_subjects_before_making_its_folder(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, real = setup
    out = tmp_path / "report"
    base = [
        "evaluate",
        "--pretrained",
        str(run),
        "--data",
        str(real),
        "--out",
        str(out),
        "--fractions",
        "100",
    ]
    base += ["--seeds", "1", "--max-epochs", "1", "--modes", "baseline"]
    assert main([*base, "--test-subjects", "9,10", "--val-subjects", "10"]) == 2
    said = " ".join(capsys.readouterr().out.split())
    assert "subjects [10] are in both val [10] and test [9, 10]" in said and not out.exists()
