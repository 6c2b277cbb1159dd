"""Distillation and int8 export end to end on a tiny model: both runtimes for real, agreement asserted.

One module-scoped fixture distills a tiny student and exports it once through the CLI (~30 s: the
imports of torchao/executorch/litert-torch and two conversions); the tests share it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.torch, pytest.mark.export]

for _mod, _extra in (("torch", "training"), ("executorch", "export"), ("litert_torch", "export")):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(f"{_mod} is not installed (pip install 'mujo-edge[{_extra}]')", allow_module_level=True)

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from mujo_edge.bundle import Bundle  # noqa: E402
from mujo_edge.cli import main  # noqa: E402
from mujo_edge.errors import ExportError  # noqa: E402
from mujo_edge.export.pipeline import ExportData, export_data, export_models, write_export_bundle  # noqa: E402
from mujo_edge.training.distill import (  # noqa: E402
    MAX_STUDENT_PARAMS,
    DistillConfig,
    JointMap,
    Student,
    StudentConfig,
    count_params,
    distill,
    kl_to_teacher,
    load_student,
    save_student,
    student_label_embeddings,
    teacher_outputs,
    teacher_splits,
)

from .fakes import LABELS, tiny_windows, trained_teacher, write_tiny_dataset  # noqa: E402

EPOCHS = 15


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("export")
    data = tiny_windows(per_class_subject=24)
    ds = write_tiny_dataset(root / "data", data)
    teacher = trained_teacher(data)
    splits = teacher_splits(teacher.manifest, data["subject"])
    cfg = DistillConfig(epochs=EPOCHS, seed=0)
    result = distill(teacher, data["acc"], data["label"], data["subject"], LABELS, splits, cfg)
    label_emb = student_label_embeddings(np.eye(3, 64, dtype=np.float32), result.joint_map)
    save_student(
        root / "student",
        result,
        cfg,
        splits=splits,
        calibration=None,
        teacher_info={"path": "tiny"},
        data_info={"path": str(ds.root)},
        label_embeddings=label_emb,
    )
    student, manifest = load_student(root / "student")
    ed = export_data(manifest, None, calib_windows=64)
    report = export_models(student, LABELS, 100, ed)
    write_export_bundle(root / "m.mujo", report, manifest, ed, label_emb)
    return {
        "root": root,
        "data": data,
        "teacher": teacher,
        "splits": splits,
        "result": result,
        "report": report,
    }


def test_distill_reduces_kl_to_teacher_and_student_is_small(exported: dict) -> None:
    data, splits, teacher = exported["data"], exported["splits"], exported["teacher"]
    tr = np.isin(data["subject"], splits.train)
    t_logits, _ = teacher_outputs(teacher, data["acc"][tr])
    torch.manual_seed(0)
    untrained = Student(StudentConfig(n_classes=3))
    before = kl_to_teacher(untrained, data["acc"][tr], t_logits, 4.0)["kl_to_teacher"]
    after = exported["result"].metrics["train_kl_to_teacher"]
    assert after < 0.5 * before, (before, after)
    assert exported["result"].metrics["student_test_macro_f1"] >= 0.95
    assert count_params(exported["result"].student) <= MAX_STUDENT_PARAMS
    assert count_params(Student(StudentConfig(n_classes=7))) <= MAX_STUDENT_PARAMS  # the default, 7 classes


def test_student_folder_round_trip(exported: dict) -> None:
    student, manifest = load_student(exported["root"] / "student")
    x = torch.from_numpy(exported["data"]["acc"][:8])
    torch.testing.assert_close(student.classify(x), exported["result"].student.classify(x))
    assert manifest["labels"] == LABELS and manifest["splits"]["test"] == [4]


def test_export_writes_verified_bundle_in_both_runtimes(exported: dict) -> None:
    b = Bundle.open(exported["root"] / "m.mujo")
    assert b.labels == LABELS and b.formats == ["tflite", "executorch"]
    names = sorted(m.file for m in b.models)
    assert names == ["models/student_litert_int8.tflite", "models/student_xnnpack_q8.pte"]
    data, splits = exported["data"], exported["splits"]
    te = np.isin(data["subject"], splits.test)
    float_pred = exported["result"].student.classify(torch.from_numpy(data["acc"][te])).argmax(1).numpy()
    preds = {}
    for fmt in ("tflite", "executorch"):
        entry = b.model(fmt)
        assert entry.dtype == "int8"
        assert entry.info["partitions"]["whole_model_in_one_partition"] is True
        assert entry.info["partitions"]["xnnpack_partitions"] == 1
        assert entry.info["verification"]["agreement"] >= 0.99
        r = b.runner(fmt)
        probs = r.predict(data["acc"][te])
        assert probs.shape == (te.sum(), 3) and probs.dtype == np.float32
        np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
        preds[fmt] = probs.argmax(1)
        assert (preds[fmt] == float_pred).mean() >= 0.99
        assert r.embed(data["acc"][te][:2]).shape == (2, 32)
    tfl = b.model("tflite")
    assert tfl.inputs[0].dtype == "int8" and tfl.inputs[0].scale > 0  # int8 end to end
    assert (preds["tflite"] == preds["executorch"]).mean() >= 0.99
    assert b.label_embeddings.shape == (3, 32)


def test_export_refuses_to_bundle_when_agreement_too_low(exported: dict, tmp_path: Path) -> None:
    strict = dataclasses.replace(exported["report"], min_agreement=1.01)  # agreement can be 1.0 at most
    assert exported["report"].passed and not strict.passed
    with pytest.raises(ExportError, match=r"verification failed, no bundle written: student_litert_int8"):
        write_export_bundle(tmp_path / "x.mujo", strict, {"labels": LABELS}, None, None)  # type: ignore[arg-type]
    assert not (tmp_path / "x.mujo").exists()


def test_cli_export_fails_without_writing(exported: dict, tmp_path: Path) -> None:
    out = tmp_path / "strict.mujo"
    argv = [
        "export",
        "--int8",
        str(exported["root"] / "student"),
        "--out",
        str(out),
        "--formats",
        "tflite",
        "--calib-windows",
        "16",
        "--min-agreement",
        "1.01",
        "--equalize",
        "off",
    ]
    assert main(argv) == 2
    assert not out.exists()


def test_label_embeddings_give_exact_joint_space_zero_shot_ranking() -> None:
    torch.manual_seed(0)
    jm = JointMap(8, 64)
    t = F.normalize(torch.randn(5, 64), dim=1).numpy()  # 5 label texts in the teacher's joint space
    e = student_label_embeddings(t, jm)  # (5, 8)
    s = torch.randn(20, 8)  # student embeddings of 20 windows
    with torch.no_grad():
        joint = F.cosine_similarity(jm(s)[:, None, :], torch.from_numpy(t)[None], dim=2).numpy()
    device = F.normalize(s, dim=1).numpy() @ e.T
    np.testing.assert_allclose(device, joint, atol=1e-5)


def test_float32_export_matches_the_float_student_exactly(exported: dict) -> None:
    data, splits = exported["data"], exported["splits"]
    te = np.isin(data["subject"], splits.test)
    tr = np.isin(data["subject"], splits.train)
    ed = ExportData(
        calib_bcw=data["acc"][tr][:4].transpose(0, 2, 1).copy(),
        test_g=data["acc"][te],
        test_label=data["label"][te],
    )
    report = export_models(exported["result"].student, LABELS, 100, ed, formats=["tflite"], int8=False)
    m = report.models[0]
    assert m.file.filename == "student_litert_fp32.tflite" and m.file.dtype == "float32"
    assert m.file.inputs[0]["dtype"] == "float32" and "scale" not in m.file.inputs[0]
    assert m.verification.agreement == 1.0
    assert m.verification.max_abs_logit_error < 1e-3
    assert m.file.info["equalization"] is None  # float32 is the student as it is


def _skewed_student(seed: int = 0) -> torch.nn.Module:
    """A fused random student whose channels have very different output ranges (as trained ones do)."""
    torch.manual_seed(seed)
    m = Student(StudentConfig(n_classes=3, width=8, embed_dim=4)).fused()
    with torch.no_grad():
        for layer in m.features:
            if isinstance(layer, torch.nn.Conv1d):
                gain = torch.logspace(-1.5, 0.5, layer.out_channels)[torch.randperm(layer.out_channels)]
                layer.weight.mul_(gain.view(-1, 1, 1))
                layer.bias.uniform_(-0.05, 0.2).mul_(gain)
    return m


def _channel_peaks(m: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    peaks, h = [], x
    for layer in m.features:
        h = layer(h)
        if isinstance(layer, torch.nn.ReLU):
            peaks.append(h.amax(dim=(0, 2)))
    return peaks


def test_activation_equalization_keeps_the_float_function_and_evens_ranges() -> None:
    from mujo_edge.export.quantize import equalize_activations

    m = _skewed_student()
    calib = np.random.default_rng(0).normal(0, 1, (64, 3, 100)).astype(np.float32)
    x = torch.from_numpy(np.random.default_rng(1).normal(0, 1, (16, 3, 100)).astype(np.float32))
    full, info = equalize_activations(m, calib, strength=1.0)
    with torch.no_grad():
        for a, b in zip(m(x), full(x), strict=True):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
        # Every live channel now reaches its tensor's maximum on the calibration windows.
        for before, after in zip(
            _channel_peaks(m, torch.from_numpy(calib)),
            _channel_peaks(full, torch.from_numpy(calib)),
            strict=True,
        ):
            live = before >= 1e-3 * before.max()
            torch.testing.assert_close(after[live], after.max().expand(int(live.sum())), rtol=1e-4, atol=0)
    assert [layer["alpha"] for layer in info["layers"]] == [1.0] * len(info["layers"])
    assert all(
        layer["mean_range_fraction_after"] > layer["mean_range_fraction_before"] for layer in info["layers"]
    )
    assert m is not full and not torch.equal(m.features[0].weight, full.features[0].weight)  # a copy

    half, info = equalize_activations(m, calib, strength=0.5)
    # Depthwise consumers absorb the scale for free (alpha 1); pointwise convs and the heads get strength.
    assert [layer["alpha"] for layer in info["layers"]] == [1.0, 0.5] * 4 + [0.5]
    with torch.no_grad():
        torch.testing.assert_close(half(x)[0], m(x)[0], rtol=1e-4, atol=1e-4)


def test_activation_equalization_refuses_what_it_cannot_rescale() -> None:
    from mujo_edge.export.quantize import equalize_activations

    calib = np.zeros((4, 3, 100), np.float32)
    with pytest.raises(ExportError, match=r"\[0, 1\]"):
        equalize_activations(_skewed_student(), calib, strength=1.5)
    relu6 = Student(StudentConfig(n_classes=3, width=8, embed_dim=4, activation="relu6")).fused()
    with pytest.raises(ExportError, match="--equalize off"):
        equalize_activations(relu6, calib)
    with pytest.raises(ExportError, match="calibration windows"):
        equalize_activations(_skewed_student(), calib[:0])


def test_export_records_the_equalization(exported: dict) -> None:
    from mujo_edge.export.quantize import EQUALIZE_STRENGTH

    for m in exported["report"].models:
        eq = m.file.info["equalization"]
        assert eq["strength"] == EQUALIZE_STRENGTH and len(eq["layers"]) == 9


def test_equalize_argument_parsing() -> None:
    from mujo_edge.cli.export import _equalize_arg

    assert _equalize_arg("off") is None and _equalize_arg("0.25") == 0.25 and _equalize_arg("1") == 1.0
    for bad in ("2", "-0.1", "auto"):
        with pytest.raises(Exception, match=r"off or a number|in \[0, 1\]"):
            _equalize_arg(bad)
