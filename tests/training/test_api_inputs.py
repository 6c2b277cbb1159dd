"""Bad arguments to the training side's Python API: each gives the project's error saying what to pass, before
any file is written, never a raw TypeError / ValueError / AttributeError from numpy or torch."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mujo_edge.errors import ArtifactError, ConfigError, DataError, MujoError
from mujo_edge.training.checkpoint import load_classifier, load_pretrained
from mujo_edge.training.data.format import Dataset, write_dataset
from mujo_edge.training.data.splits import (
    leave_subjects_out,
    predefined_split,
    sample_fraction,
    subject_split,
)
from mujo_edge.training.distill import DistillConfig, load_student
from mujo_edge.training.evaluate import evaluate
from mujo_edge.training.finetune import build_classifier, finetune
from mujo_edge.training.models import JointModel, ModelConfig
from mujo_edge.training.pretrain import PretrainConfig
from mujo_edge.training.synth.corpus import generate_corpus
from mujo_edge.training.synth.workout import simulate_workout
from mujo_edge.training.text import encode_texts, normalize_text

N = 4


def _arrays(**kw: Any) -> dict[str, Any]:
    zeros = np.zeros(N, np.int64)
    args: dict[str, Any] = dict(
        acc=np.zeros((N, 100, 3), np.float32),
        label=zeros,
        subject=zeros,
        recording=zeros,
        start=zeros,
        labels=["a"],
    )
    args.update(kw)
    return args


BAD_WRITES = {
    "acc of strings": dict(acc="abc"),
    "complex acc": dict(acc=np.zeros((N, 100, 3), complex)),
    "fractional labels": dict(label=np.array([0.5, 0, 0, 0])),
    "labels of strings": dict(label=np.array(["a"] * N)),
    "label names as one str": dict(labels="a"),
    "no label names": dict(labels=None),
    "label names twice": dict(labels=["a", "a"]),
    "label names not str": dict(labels=[1]),
    "pose a str": dict(pose="x"),
    "text_id a list without a 2-D text": dict(text=np.zeros(3), text_id=[0] * N),
    "text without text_id": dict(text=np.zeros((2, 3))),
    "rate NaN": dict(rate_hz=math.nan),
    "rate a str": dict(rate_hz="50"),
    "hop negative": dict(hop=-1),
    "label_text a list": dict(label_text=["x"]),
    "label_text value a str": dict(label_text={"a": "abc"}),
    "extra_arrays a list": dict(extra_arrays=[1]),
    "extra array name a path": dict(extra_arrays={"a/b": np.zeros(N)}),
    "extra array of objects": dict(extra_arrays={"q": np.array([None] * N)}),
    "extra_manifest a list": dict(extra_manifest=[1]),
    "extra_manifest replaces labels": dict(extra_manifest={"labels": 5}),
    "name not a str": dict(name=5),
    "overwrite not a bool": dict(overwrite="yes"),
    "acc missing": dict(acc=None),
}


@pytest.mark.parametrize("bad", list(BAD_WRITES), ids=list(BAD_WRITES))
def test_write_dataset_refuses_bad_arguments_before_writing(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "ds"
    with pytest.raises(DataError, match="required" if bad == "acc missing" else None):  # ShapeError is one
        write_dataset(out, **_arrays(**BAD_WRITES[bad]))
    assert not out.exists()


def test_failed_overwrite_leaves_the_existing_dataset_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    write_dataset(out, **_arrays())
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(DataError, match="more than once"):
        write_dataset(out, **_arrays(labels=["a", "a"], overwrite=True))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("path", [None, 5])
def test_dataset_open_names_a_path_that_is_not_one(path: Any) -> None:
    with pytest.raises(DataError, match="file path"):
        Dataset.open(path)


def test_dataset_open_refuses_a_verify_that_is_not_a_bool(tmp_path: Path) -> None:
    write_dataset(tmp_path / "ds", **_arrays())
    with pytest.raises(DataError, match="verify"):
        Dataset.open(tmp_path / "ds", verify="no")  # type: ignore[arg-type]


SUBJECTS = np.array([1, 1, 2, 2, 3, 3, 4, 4])


@pytest.mark.parametrize("call", [
    lambda: subject_split(SUBJECTS, 1.5),
    lambda: subject_split(SUBJECTS, "1"),
    lambda: subject_split(SUBJECTS, None),
    lambda: subject_split(np.array([1.5, 2.0, 3.0]), 2),
    lambda: list(leave_subjects_out(SUBJECTS, 1.5)),
    lambda: list(leave_subjects_out(SUBJECTS, "1")),
    lambda: list(leave_subjects_out(SUBJECTS, 1, seed="a")),
    lambda: list(leave_subjects_out(SUBJECTS, 1, seed=-1)),
    lambda: list(leave_subjects_out(SUBJECTS, 1, n_val=None)),
    lambda: sample_fraction(SUBJECTS, [0, 1], "0.5", 0),
    lambda: sample_fraction(SUBJECTS, [0, 1], None, 0),
    lambda: sample_fraction(SUBJECTS, [0, 1], 0.5, -1),
    lambda: sample_fraction(SUBJECTS, [0.5, 1], 0.5, 0),
    lambda: sample_fraction(SUBJECTS, "ab", 0.5, 0),
    lambda: sample_fraction(np.zeros((3, 3)), [0, 1], 0.5, 0),
    lambda: sample_fraction(None, [0, 1], 0.5, 0),
    lambda: predefined_split("folder"),
])  # fmt: skip
def test_splits_refuse_bad_arguments(call: Any) -> None:
    with pytest.raises(DataError):
        call()


BAD_CONFIGS = [
    (ModelConfig, dict(cnn="x")),
    (ModelConfig, dict(joint_dim=0)),
    (ModelConfig, dict(joint_dim=1.5)),
    (ModelConfig, dict(modalities="acc")),
    (ModelConfig, dict(modalities=())),
    (ModelConfig, dict(dropout=math.nan)),
    (ModelConfig, dict(temperature="0.1")),
    (ModelConfig, dict(proj_hidden=0)),
    (ModelConfig, dict(activation=None)),
    (PretrainConfig, dict(epochs=-1)),
    (PretrainConfig, dict(lr=math.nan)),
    (PretrainConfig, dict(batch_size="8")),
    (PretrainConfig, dict(warmup_frac=2)),
    (PretrainConfig, dict(augment_scale=math.inf)),
    (PretrainConfig, dict(val_subjects="12")),
    (PretrainConfig, dict(seed=1.5)),
    (PretrainConfig, dict(max_windows=-5)),
    (PretrainConfig, dict(device=5)),
    (PretrainConfig, dict(model="wide")),
    (DistillConfig, dict(width=0)),
    (DistillConfig, dict(temperature=0)),
    (DistillConfig, dict(alpha=1.5)),
    (DistillConfig, dict(alpha=math.nan)),
    (DistillConfig, dict(epochs=0)),
    (DistillConfig, dict(batch_size=1)),
    (DistillConfig, dict(activation="x")),
    (DistillConfig, dict(input_noise_g=-1)),
]


@pytest.mark.parametrize("cls,kw", BAD_CONFIGS, ids=[f"{c.__name__}-{next(iter(k))}" for c, k in BAD_CONFIGS])
def test_configs_refuse_bad_values_with_a_config_error(cls: Any, kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=next(iter(kw))):
        cls(**kw)


def test_a_bad_model_config_in_a_manifest_is_an_artifact_error(tmp_path: Path) -> None:
    import json

    from mujo_edge.training.checkpoint import save_weights, write_joint_manifest

    model = JointModel(
        ModelConfig(modalities=("acc", "text"), cnn="mmfit", joint_dim=8, proj_hidden=8, text_hidden=8)
    )
    tmp_path.mkdir(exist_ok=True)
    sha = save_weights(model, tmp_path / "model.safetensors")
    write_joint_manifest(tmp_path, model, sha)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["model"]["cnn"] = "huge"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="cnn"):
        load_pretrained(tmp_path)


@pytest.mark.parametrize("load", [load_pretrained, load_classifier, load_student])
def test_loaders_name_a_path_that_is_not_one(load: Any, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file path"):
        load(None)
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ArtifactError, match="no manifest"):
        load(tmp_path / "f.txt")


SCRIPT = [{"activity": "squats", "reps": 2}]


@pytest.mark.parametrize("kw", [
    dict(rate_hz=math.nan),
    dict(rate_hz="50"),
    dict(seed="a"),
    dict(seed=-1),
    dict(frame="x"),
    dict(mounting=np.eye(2)),
    dict(mounting="x"),
    dict(sensor="x"),
    dict(style="x"),
])  # fmt: skip
def test_simulate_workout_refuses_bad_arguments(kw: dict[str, Any]) -> None:
    with pytest.raises(DataError, match=next(iter(kw))):
        simulate_workout(SCRIPT, **kw)


@pytest.mark.parametrize("script", [5, None])
def test_simulate_workout_names_a_script_of_the_wrong_type(script: Any) -> None:
    with pytest.raises(DataError, match="workout script"):
        simulate_workout(script)


@pytest.mark.parametrize("kw", [
    dict(hours="1"),
    dict(hours=math.inf),
    dict(hours=0.001, seed="a"),
    dict(hours=0.001, seed=-1),
    dict(hours=0.001, subjects=1.5),
    dict(hours=0.001, workers=0),
    dict(hours=0.001, rate_hz=math.nan),
])  # fmt: skip
def test_generate_corpus_refuses_bad_arguments_before_writing(tmp_path: Path, kw: dict[str, Any]) -> None:
    with pytest.raises(DataError):
        generate_corpus(tmp_path / "c", encode=lambda t: np.zeros((len(t), 8), np.float32), **kw)
    assert not (tmp_path / "c").exists()


def test_generate_corpus_reads_one_str_of_variants_as_a_comma_list(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"got gravity, x$"):
        generate_corpus(tmp_path / "c", 0.001, variants="gravity,x")


@pytest.mark.parametrize("texts", ["abc", None, 5])
def test_encode_texts_wants_a_list_of_strings(texts: Any) -> None:
    with pytest.raises(DataError, match="list of strings"):
        encode_texts(texts)


@pytest.mark.parametrize("s", [None, 5])
def test_normalize_text_wants_a_str(s: Any) -> None:
    with pytest.raises(DataError, match="expects a str"):
        normalize_text(s)


@pytest.mark.parametrize("kw", [
    dict(modes="frozen"),
    dict(modes=["frozn"]),
    dict(inputs=["gyro"]),
    dict(calibrations=["pit"]),
    dict(fractions_pct=[0]),
    dict(fractions_pct="10"),
    dict(seeds=0),
    dict(lr=math.nan),
    dict(max_epochs=0),
    dict(test_subjects="9"),
])  # fmt: skip
def test_evaluate_refuses_a_bad_grid_before_making_its_folder(tmp_path: Path, kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        evaluate(tmp_path / "run", tmp_path / "data", tmp_path / "out", **kw)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kw", [dict(fraction="1"), dict(lr=-1), dict(seed=1.5), dict(test_subjects=9)])
def test_finetune_refuses_bad_settings_before_reading_anything(tmp_path: Path, kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        finetune(tmp_path / "run", tmp_path / "data", tmp_path / "out", **kw)
    assert not (tmp_path / "out").exists()


def test_build_classifier_names_an_unknown_mode() -> None:
    joint = JointModel(
        ModelConfig(modalities=("acc", "text"), cnn="mmfit", joint_dim=8, proj_hidden=8, text_hidden=8)
    )
    with pytest.raises(ConfigError, match="mode"):
        build_classifier(joint, "frozn", ("acc",), ["a", "b"], 0)
    with pytest.raises(MujoError, match="seed"):
        build_classifier(joint, "frozen", ("acc",), ["a", "b"], -1)
