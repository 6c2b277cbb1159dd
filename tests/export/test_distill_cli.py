"""`mujo-edge distill` end to end on a tiny teacher saved in the fine-tuned classifier's format, with a PIT table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch

if importlib.util.find_spec("torch") is None:
    pytest.skip("torch is not installed (pip install 'mujo-edge[training]')", allow_module_level=True)

import torch  # noqa: E402

from mujo_edge.calibration import PitCalibration  # noqa: E402
from mujo_edge.cli import main  # noqa: E402
from mujo_edge.training.checkpoint import save_classifier  # noqa: E402
from mujo_edge.training.distill import load_student  # noqa: E402
from mujo_edge.training.models import Classifier, HeadConfig, JointModel, ModelConfig  # noqa: E402

from .fakes import LABELS, tiny_windows, write_tiny_dataset  # noqa: E402


def test_distill_cli_uses_teacher_splits_and_pit(tmp_path: Path) -> None:
    torch.manual_seed(0)
    data = tiny_windows(per_class_subject=8)
    write_tiny_dataset(tmp_path / "data", data)
    joint = JointModel(ModelConfig(modalities=("acc", "text"), joint_dim=16, cnn="mmfit", proj_hidden=16))
    teacher = Classifier(joint, HeadConfig(inputs=("acc",), n_classes=3, hidden=8, labels=LABELS))
    # A PIT table that maps the real windows onto a distribution 1.5x wider: the student must see it applied.
    pit = PitCalibration.fit(data["acc"], 1.5 * data["acc"])
    save_classifier(
        tmp_path / "teacher",
        teacher,
        calibration={"kind": "unsupervised", "mode": "unsupervised", "table": pit.to_dict()},
        splits={"test_subjects": [4], "val_subjects": [3]},
    )
    out = tmp_path / "student"
    argv = [
        "distill",
        "--teacher",
        str(tmp_path / "teacher"),
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--width",
        "8",
        "--embed-dim",
        "4",
    ]
    assert main(argv) == 0
    student, manifest = load_student(out)
    assert manifest["splits"] == {"train": [1, 2], "val": [3], "test": [4]}
    assert PitCalibration.from_dict(manifest["calibration"]).to_dict() == pit.to_dict()
    assert manifest["label_embeddings"] is None  # no pretraining run known: said on the console, not hidden
    assert len(manifest["history"]) == 2 and manifest["metrics"]["test_windows"] == 24
    assert manifest["model"]["width"] == 8 and student.embedding.out_features == 4
    assert json.loads((out / "manifest.json").read_text())["teacher"]["path"] == str(
        (tmp_path / "teacher").resolve()
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (["--test-subjects", "99"], "subjects [99] are not in the data"),
        (["--val-subjects", "98"], "subjects [98] are not in the data"),
        (["--test-subjects", "3", "--val-subjects", "3"], "are in both val"),
        (["--test-subjects", "1,2", "--val-subjects", "3,4"], "leaves nobody to train on"),
    ],
)
def test_distill_refuses_subjects_the_data_does_not_split_into(
    tmp_path: Path, override: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A subject the data lacks used to be accepted: the student then tested on no windows at all."""
    torch.manual_seed(0)
    write_tiny_dataset(tmp_path / "data", tiny_windows(per_class_subject=2))
    joint = JointModel(ModelConfig(modalities=("acc", "text"), joint_dim=16, cnn="mmfit", proj_hidden=16))
    teacher = Classifier(joint, HeadConfig(inputs=("acc",), n_classes=3, hidden=8, labels=LABELS))
    save_classifier(tmp_path / "teacher", teacher, splits={"test_subjects": [4], "val_subjects": [3]})
    argv = ["distill", "--teacher", str(tmp_path / "teacher"), "--data", str(tmp_path / "data")]
    assert main([*argv, "--out", str(tmp_path / "student"), "--epochs", "1", *override]) != 0
    assert expected in " ".join(capsys.readouterr().out.split())
    assert not (tmp_path / "student").exists()
