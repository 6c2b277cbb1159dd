"""Bad arguments to the export pipeline's Python functions (student_dataset, export_data, export_models,
open_set_windows, add_open_set, words_bundle, write_export_bundle), the converters (quantize, rounding,
to_tflite, to_pte), verify and write_bundle: the project's error saying what to pass, raised before any
work or file, never a raw TypeError / KeyError / AttributeError from numpy, torch or a dict lookup."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="export needs torch")
if importlib.util.find_spec("ai_edge_litert") is None:
    pytest.skip("ai_edge_litert is not installed (pip install 'mujo-edge[export]')", allow_module_level=True)

from mujo_edge.assets import PHYSIO_BUNDLE  # noqa: E402
from mujo_edge.bundle import Bundle  # noqa: E402
from mujo_edge.errors import ArtifactError, ConfigError, ExportError, MujoError, ShapeError  # noqa: E402
from mujo_edge.export import executorch as et  # noqa: E402
from mujo_edge.export import pipeline as pl  # noqa: E402
from mujo_edge.export import quantize as q  # noqa: E402
from mujo_edge.export import rounding as rd  # noqa: E402
from mujo_edge.export import tflite as tf  # noqa: E402
from mujo_edge.export.bundle_writer import ModelFile, write_bundle  # noqa: E402
from mujo_edge.export.verify import tensor_dict, verify  # noqa: E402
from mujo_edge.training.distill import Student, StudentConfig  # noqa: E402
from tests.export.fakes import LABELS, tiny_windows, write_tiny_dataset  # noqa: E402

MANIFEST = {"window": 100, "labels": LABELS, "splits": {"train": [1, 2], "val": [3], "test": [4]}}
RNG = np.random.default_rng(0)
CALIB = RNG.normal(0, 1, (4, 3, 100)).astype(np.float32)
TEST_G = RNG.normal(0, 1, (6, 100, 3)).astype(np.float32)
DATA = pl.ExportData(CALIB, TEST_G, np.arange(6) % 3)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data") / "ds"
    write_tiny_dataset(root, tiny_windows(2))
    return root


@pytest.fixture(scope="module")
def student() -> Any:
    torch.manual_seed(0)
    return Student(StudentConfig(n_classes=3, width=8, embed_dim=4)).eval()


@pytest.mark.parametrize("manifest,error,match", [
    (None, ConfigError, "load_student"),
    ("student", ConfigError, "load_student"),
    ({}, ArtifactError, "has no"),
    ({**MANIFEST, "splits": "train"}, ArtifactError, "splits"),
    ({**MANIFEST, "window": "100"}, ArtifactError, "window"),
])  # fmt: skip
def test_the_student_manifest_is_checked(dataset: Path, manifest: Any, error: type, match: str) -> None:
    for call in (
        lambda: pl.student_dataset(manifest, dataset),
        lambda: pl.export_data(manifest, dataset),
        lambda: pl.open_set_windows(manifest, dataset),
    ):
        with pytest.raises(error, match=match):
            call()


@pytest.mark.parametrize("kw,match", [
    ({"calib_windows": -1}, "calib_windows"),
    ({"calib_windows": "4"}, "calib_windows"),
    ({"seed": "x"}, "seed"),
    ({"seed": -1}, "seed"),
    ({"rounding_windows": 1.5}, "rounding_windows"),
])  # fmt: skip
def test_export_data_counts(dataset: Path, kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        pl.export_data(MANIFEST, dataset, **kw)


def test_open_set_windows_counts(dataset: Path) -> None:
    with pytest.raises(ConfigError, match="max_train"):
        pl.open_set_windows(MANIFEST, dataset, max_train="x")  # type: ignore[arg-type]


@pytest.mark.parametrize("kw,error,match", [
    ({"student": "student"}, ExportError, "torch module"),
    ({"student": None}, ExportError, "torch module"),
    ({"labels": "abc"}, ExportError, "list of str"),
    ({"labels": ["a", "b"]}, ExportError, "2 classes"),
    ({"window": "100"}, ExportError, "window"),
    ({"data": None}, ExportError, "export_data"),
    ({"formats": "tflite"}, ExportError, "list of str"),
    ({"formats": None}, ExportError, "list of str"),
    ({"int8": "yes"}, ExportError, "True or False"),
    ({"min_agreement": math.nan}, ExportError, "min_agreement"),
    ({"name": "a/b"}, ExportError, "names the model files"),
    ({"on_step": "print"}, ExportError, "on_step"),
    ({"equalize": "x"}, ExportError, r"\[0, 1\]"),
    ({"rounding_iterations": 0}, ExportError, "rounding_iterations"),
    ({"batch": "64"}, ExportError, "at least 2 windows"),
    ({"data": pl.ExportData(CALIB.astype(str), TEST_G, DATA.test_label)}, ShapeError, "real numbers"),
    ({"data": pl.ExportData(CALIB, TEST_G[..., :2], DATA.test_label)}, ShapeError, "held-out"),
    ({"data": pl.ExportData(CALIB, TEST_G, DATA.test_label[:2])}, ShapeError, "held-out"),
    ({"data": pl.ExportData(CALIB * np.nan, TEST_G, DATA.test_label)}, ShapeError, "NaN"),
    ({"window": 50}, ShapeError, "held-out"),
])  # fmt: skip
def test_export_models_refuses_bad_arguments(
    student: Any, kw: dict[str, Any], error: type, match: str
) -> None:
    args: dict[str, Any] = {"student": student, "labels": LABELS, "window": 100, "data": DATA, "formats": ()}
    with pytest.raises(error, match=match):
        pl.export_models(**(args | kw))


def test_write_export_bundle_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    report = pl.ExportReport([], 0.99, True)
    for args, match in (
        ((tmp_path / "b.mujo", "report", MANIFEST, DATA, None), "report"),
        ((tmp_path / "b.mujo", report, "manifest", DATA, None), "load_student"),
        ((tmp_path / "b.mujo", report, MANIFEST, DATA, None), "rate_hz"),
        ((None, report, MANIFEST, DATA, None), "file path"),
    ):
        with pytest.raises(MujoError, match=match):
            pl.write_export_bundle(*args)
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return Bundle.open(PHYSIO_BUNDLE)


def _windows(bundle: Bundle, **change: Any) -> pl.LabelledWindows:
    n = len(bundle.model_labels)
    rng = np.random.default_rng(1)
    parts: dict[str, Any] = {
        "train_g": rng.normal(0, 0.3, (4 * n, bundle.window, 3)).astype(np.float32),
        "train_label": np.repeat(np.arange(n), 4),
        "val_g": rng.normal(0, 0.3, (2 * n, bundle.window, 3)).astype(np.float32),
        "val_label": np.repeat(np.arange(n), 2),
        "info": {},
    }
    return pl.LabelledWindows(**(parts | change))


@pytest.mark.parametrize("kw,error,match", [
    ({"bundle": str(PHYSIO_BUNDLE)}, ConfigError, r"Bundle\.open"),
    ({"bundle": None}, ConfigError, r"Bundle\.open"),
    ({"windows": "windows"}, ConfigError, "open_set_windows"),
    ({"windows": None}, ConfigError, "open_set_windows"),
    ({"keep": "0.9"}, ConfigError, "keep"),
    ({"per_class": 0}, ConfigError, "per_class"),
    ({"seed": "x"}, ConfigError, "seed"),
    ({"reject": "PEN"}, ConfigError, "list of str"),
    ({"reject": ["nope"]}, ConfigError, "not the bundle's labels"),
    ({"stats_weight": "x"}, ConfigError, "stats_weight"),
    ({"kind": None}, ConfigError, "kind"),
    ({"windows": "short labels"}, ShapeError, "label indices"),
    ({"windows": "string windows"}, ShapeError, "real numbers"),
    ({"windows": "labels out of range"}, ShapeError, "label indices"),
    ({"windows": "two axes"}, ShapeError, "100, 3"),
    ({"windows": "nan"}, ShapeError, "NaN"),
])  # fmt: skip
def test_add_open_set_refuses_bad_arguments_and_writes_nothing(
    tmp_path: Path, bundle: Bundle, kw: dict[str, Any], error: type, match: str
) -> None:
    w = _windows(bundle)
    bad = {
        "short labels": _windows(bundle, train_label=w.train_label[:-1]),
        "string windows": _windows(bundle, train_g=w.train_g.astype(str)),
        "labels out of range": _windows(bundle, train_label=w.train_label + 100),
        "two axes": _windows(bundle, val_g=w.val_g[..., :2]),
        "nan": _windows(bundle, train_g=w.train_g * np.nan),
    }
    if isinstance(kw.get("windows"), str) and kw["windows"] in bad:
        kw = {"windows": bad[kw["windows"]]}
    out = tmp_path / "o.mujo"
    out.write_bytes(b"kept")
    args: dict[str, Any] = {"bundle": bundle, "out": out, "windows": w, "keep": 0.9}
    with pytest.raises(error, match=match):
        pl.add_open_set(**(args | kw))
    assert out.read_bytes() == b"kept"


@pytest.mark.parametrize("kw,error,match", [
    ({"bundle": "bundle.mujo"}, ConfigError, r"Bundle\.open"),
    ({"out": None}, MujoError, "file path"),
    ({"label_texts": ["a", "b"]}, ConfigError, "dict"),
    ({"label_texts": {"a": "walking", "b": "rowing"}}, ConfigError, "list of str"),
    ({"label_texts": {}}, ConfigError, "no labels"),
    ({"vectors": "v"}, ShapeError, "real numbers"),
    ({"vectors": np.full((2, 8), np.nan, np.float32)}, ShapeError, "finite"),
    ({"own_vectors": np.zeros((1, 8), np.float32)}, ShapeError, "own_vectors"),
    ({"vectors": np.zeros((2, 3), np.float32), "own_vectors": np.zeros((7, 3), np.float32)}, ShapeError, "embeds in"),
    ({"windows": None}, ConfigError, "open_set_windows"),
    ({"keep": 2}, ConfigError, "keep"),
])  # fmt: skip
def test_words_bundle_refuses_bad_arguments_and_writes_nothing(
    tmp_path: Path, bundle: Bundle, kw: dict[str, Any], error: type, match: str
) -> None:
    out = tmp_path / "w.mujo"
    args: dict[str, Any] = {
        "bundle": bundle,
        "out": out,
        "label_texts": {"a": ["x"], "b": ["y"]},
        "vectors": np.ones((2, 8), np.float32),
        "own_vectors": np.ones((len(bundle.model_labels), 8), np.float32),
        "windows": _windows(bundle),
        "keep": 0.9,
    }
    with pytest.raises(error, match=match):
        pl.words_bundle(**(args | kw))
    assert not out.exists()


EXAMPLE = torch.from_numpy(CALIB[:1])


@pytest.mark.parametrize("call,error,match", [
    (lambda m: q.make_quantizer("executorch", "features.0"), ExportError, "list of str"),
    (lambda m: q.per_tensor_modules("model", "all"), ExportError, "torch module"),
    (lambda m: q.stem_modules("model"), ExportError, "torch module"),
    (lambda m: q.batch_example(EXAMPLE, "2"), ExportError, "batch"),
    (lambda m: q.batch_example(CALIB, 2), ExportError, "torch tensor"),
    (lambda m: q.quantize(m, EXAMPLE, "calib", "executorch"), ShapeError, "real numbers"),
    (lambda m: q.quantize(m, EXAMPLE, CALIB[:, :2], "executorch"), ShapeError, "3, WINDOW"),
    (lambda m: q.quantize(m, EXAMPLE, CALIB * np.nan, "executorch"), ShapeError, "NaN"),
    (lambda m: q.quantize("model", EXAMPLE, CALIB, "executorch"), ExportError, "torch module"),
    (lambda m: q.quantize(m, CALIB[:1], CALIB, "executorch"), ExportError, "torch tensor"),
    (lambda m: q.equalize_activations(m, CALIB, "0.5"), ExportError, r"\[0, 1\]"),
    (lambda m: q.equalize_activations(m, CALIB[:, :2], 0.5), ShapeError, "3, WINDOW"),
    (lambda m: rd.round_weights(m, "calib", "executorch", iterations=1), ShapeError, "real numbers"),
    (lambda m: rd.round_weights(m, CALIB, "executorch", iterations="1"), ExportError, "iteration"),
    (lambda m: rd.round_weights(m, CALIB, "executorch", iterations=1, seed="x"), ExportError, "seed"),
    (lambda m: rd.round_weights(m, CALIB, "executorch", ranges_bcw="r", iterations=1), ShapeError, "ranges_bcw"),
    (lambda m: rd.activation_qparams(m, "calib", "executorch"), ShapeError, "real numbers"),
    (lambda m: tf.to_tflite("model", EXAMPLE), ExportError, "torch module"),
    (lambda m: tf.to_tflite(m, EXAMPLE, batches=2), ExportError, "batches"),
    (lambda m: tf.to_tflite(m, EXAMPLE, batches=[0]), ExportError, "batches"),
    (lambda m: tf.to_tflite(m, EXAMPLE, "calib"), ShapeError, "real numbers"),
    (lambda m: tf.op_summary("model.tflite"), ExportError, "bytes"),
    (lambda m: tf.op_summary(b"junk"), ExportError, "not a .tflite"),
    (lambda m: et.to_pte("model", EXAMPLE), ExportError, "torch module"),
    (lambda m: et.to_pte(m, EXAMPLE, batches=2), ExportError, "batches"),
    (lambda m: et.partition_info("graph"), ExportError, "graph module"),
    (lambda m: et.short_constant_names("16").__enter__(), ExportError, "digits"),
    (lambda m: et.float_convs_as_2d("model", ["features.0"]), ExportError, "torch module"),
    (lambda m: et.float_convs_as_2d(m, "features.0"), ExportError, "list of str"),
])  # fmt: skip
def test_converters_refuse_bad_arguments(student: Any, call: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call(student.fused())


def test_verify_refuses_bad_arguments(bundle: Bundle) -> None:
    runner = bundle.runner()
    w = TEST_G[:4]
    logits, emb = runner.run(w, embedding=True)
    y = np.zeros(4, np.int64)
    for args, error, match in (
        (("runner", w, y, logits, emb), ExportError, "runner"),
        ((runner, w, y, "logits", emb), ShapeError, "real numbers"),
        ((runner, w, y, logits[:2], emb), ShapeError, "one row per window"),
        ((runner, w, y, logits, emb[:, :2]), ShapeError, "its own student"),
        ((runner, w[:0], y[:0], logits[:0], emb[:0]), ShapeError, "N >= 1"),
        ((runner, w, np.array(list("abcd")), logits, emb), ShapeError, "real numbers"),
    ):
        with pytest.raises(error, match=match):
            verify(*args)
    with pytest.raises(ExportError, match="TensorSpec"):
        tensor_dict("spec")  # type: ignore[arg-type]


MODEL = ModelFile("tflite", "m.tflite", b"x", "int8", "BWC", [{"name": "acc"}], [{"name": "logits"}])


@pytest.mark.parametrize("kw,error,match", [
    ({"out": None}, MujoError, "file path"),
    ({"labels": None}, ExportError, "list of str"),
    ({"models": MODEL}, ExportError, "list of ModelFile"),
    ({"models": ["m.tflite"]}, ExportError, "list of ModelFile"),
    ({"rate_hz": "50"}, ExportError, "rate_hz"),
    ({"hop": "x"}, ExportError, "hop"),
    ({"seed": "x"}, ExportError, "seed"),
    ({"calibration": "table"}, ExportError, "calibration must be a dict"),
    ({"student": "s"}, ExportError, "student must be a dict"),
    ({"teacher": [1]}, ExportError, "teacher must be a dict"),
    ({"extra": "e"}, ExportError, "extra must be a dict"),
    ({"head": "logits"}, ExportError, "Head"),
    ({"label_embeddings": "e"}, ShapeError, "real numbers"),
    ({"models": [ModelFile("tflite", "m.tflite", "x", "int8", "BWC", [], [{"name": "logits"}])]}, ExportError, "bytes"),
    ({"models": [ModelFile("tflite", "../m.tflite", b"x", "int8", "BWC", [], [{"name": "logits"}])]}, ExportError, "plain file name"),
    ({"models": [ModelFile("tflite", "m.tflite", b"x", "int8", "BWC", [], "logits")]}, ExportError, "tensor dicts"),  # type: ignore[arg-type]
])  # fmt: skip
def test_write_bundle_refuses_bad_arguments_and_keeps_the_old_file(
    tmp_path: Path, kw: dict[str, Any], error: type, match: str
) -> None:
    out = tmp_path / "b.mujo"
    out.write_bytes(b"kept")
    args: dict[str, Any] = {"out": out, "labels": ["a", "b", "c"], "models": [MODEL]}
    with pytest.raises(error, match=match):
        write_bundle(**(args | kw))
    assert out.read_bytes() == b"kept"
