"""Distillation and int8 export end to end on a tiny model: both runtimes for real, agreement asserted.

One module-scoped fixture distills a tiny student and exports it once through the CLI (~30 s: the
imports of torchao/executorch/litert-torch and two conversions); the tests share it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.torch, pytest.mark.export]

for _mod, _extra in (("torch", "training"), ("executorch", "export"), ("litert_torch", "export")):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(f"{_mod} is not installed (pip install 'mujo-edge[{_extra}]')", allow_module_level=True)

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from mujo_edge.bundle import Bundle, TensorSpec  # noqa: E402
from mujo_edge.cli import main  # noqa: E402
from mujo_edge.constants import PROBABILITIES_RTOL  # noqa: E402
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
    report = export_models(student, LABELS, 100, ed, rounding_iterations=200)  # AdaRound, short schedule
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
    # The stem stays float32 by default (--stem float): the model takes the float window, outputs are int8.
    assert tfl.inputs[0].dtype == "float32" and tfl.inputs[0].scale is None
    assert tfl.outputs[0].dtype == "int8" and tfl.outputs[0].scale > 0
    # ... and the runtime's softmax of the logits comes last, inside the one XNNPACK partition
    assert tfl.output("probabilities") == TensorSpec("probabilities", (1, 3), "float32", 2)
    assert tfl.info["partitions"]["ops"][-2:] == ["DEQUANTIZE", "SOFTMAX"]
    proof = tfl.info["probabilities"]  # proven on the held-out windows, recorded
    assert proof["other_outputs_identical"] and proof["windows"] == int(te.sum())
    assert 0 < max(proof["max_relative_difference_to_float64_softmax"].values()) < PROBABILITIES_RTOL
    assert b.model("executorch").output("probabilities") is None  # its runner's softmax is in Python
    for fmt in ("tflite", "executorch"):
        assert b.model(fmt).info["float_modules"] == ["features.0", "features.1"]
        assert "float32: features.0, features.1" in b.model(fmt).info["quantization"]
    assert (preds["tflite"] == preds["executorch"]).mean() >= 0.99
    assert b.label_embeddings.shape == (3, 32)


def test_export_refuses_to_bundle_when_agreement_too_low(exported: dict, tmp_path: Path) -> None:
    strict = dataclasses.replace(exported["report"], min_agreement=1.01)  # agreement can be 1.0 at most
    assert exported["report"].passed and not strict.passed
    with pytest.raises(ExportError, match=r"verification failed, no bundle written: student_litert_int8"):
        write_export_bundle(tmp_path / "x.mujo", strict, {"labels": LABELS}, None, None)  # type: ignore[arg-type]
    assert not (tmp_path / "x.mujo").exists()


def test_cli_export_fails_without_writing(
    exported: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "strict.mujo"
    student = exported["root"] / "student"
    base = ["export", str(student), "--out", str(out), "--formats", "tflite", "--no-batch"]
    # settings that cannot work are refused before any work
    for flags, said in (
        (["--min-agreement", "1.01"], "--min-agreement must be a fraction in [0, 1]"),
        (["--name", "../evil"], "--name '../evil': use letters, digits"),
        (["--formats", ","], "--formats names no format"),
        (["--formats", "tflite,onnx"], "--formats names onnx, which is not a format"),
        (["--c-array", str(tmp_path / "c")], "--c-array writes the int8 .tflite"),
    ):
        assert main([*base, *flags]) == 2
        assert said in " ".join(capsys.readouterr().out.split())
    assert not out.exists() and not (tmp_path / "c").exists()
    # a step after the models fails (no validation subjects for the open-set threshold): --out is left as
    # it was, a bundle that was there included, and nothing is left where there was none
    noval = tmp_path / "noval"
    shutil.copytree(student, noval)
    m = json.loads((noval / "manifest.json").read_text())
    m["splits"]["val"] = []
    (noval / "manifest.json").write_text(json.dumps(m))
    argv = ["export", str(noval), "--out", str(out), "--formats", "tflite", "--no-batch"]
    assert main(argv) == 2
    assert "no validation subjects" in " ".join(capsys.readouterr().out.split())
    assert not out.exists()
    out.write_bytes(b"the bundle that was here")
    assert main(argv) == 2
    assert out.read_bytes() == b"the bundle that was here"
    # the student's label embeddings are checked against their sha256 before any work
    (noval / "label_embeddings.npy").write_bytes(
        (noval / "label_embeddings.npy").read_bytes()[:-4] + b"\0\0\0\0"
    )
    assert main([*argv, "--no-open-set"]) == 2
    assert "label_embeddings.npy is missing or does not match its sha256" in capsys.readouterr().out.replace(
        "\n", ""
    )
    assert out.read_bytes() == b"the bundle that was here"


def test_export_data_must_be_the_dataset_the_student_was_distilled_on(exported: dict) -> None:
    from mujo_edge.errors import DataError
    from mujo_edge.export.pipeline import student_dataset

    m = json.loads((exported["root"] / "student" / "manifest.json").read_text())
    path = m["data"]["path"]
    assert list(student_dataset(m, path).labels) == m["labels"]
    for labels in (m["labels"][::-1], m["labels"][:-1], [*m["labels"], "extra"]):
        with pytest.raises(DataError, match=r"but the student predicts .* pass --data with the dataset"):
            student_dataset({**m, "labels": labels}, path)
    with pytest.raises(DataError, match="windows have 100 samples, the student takes 50"):
        student_dataset({**m, "window": 50}, path)


def test_an_edited_student_manifest_is_refused_before_any_work(exported: dict, tmp_path: Path) -> None:
    from mujo_edge.errors import ArtifactError
    from mujo_edge.training.distill import load_student

    src = exported["root"] / "student"
    m = json.loads((src / "manifest.json").read_text())
    for name, edit in (
        ("no weights", lambda d: d.pop("weights")),
        ("no splits", lambda d: d.pop("splits")),
        ("labels null", lambda d: d.update(labels=None)),
        ("one label too many", lambda d: d.update(labels=[*d["labels"], "extra"])),
        ("rate text", lambda d: d.update(rate_hz="fast")),
    ):
        folder = tmp_path / name.replace(" ", "_")
        shutil.copytree(src, folder)
        d = json.loads(json.dumps(m))
        edit(d)
        (folder / "manifest.json").write_text(json.dumps(d))
        with pytest.raises(ArtifactError, match="is not a student manifest this mujo-edge reads"):
            load_student(folder)


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


def _small_export_data(exported: dict, calib_windows: int) -> ExportData:
    """The fixture's test-subject windows for verification and its first training windows for calibration."""
    data, splits = exported["data"], exported["splits"]
    te = np.isin(data["subject"], splits.test)
    tr = np.isin(data["subject"], splits.train)
    return ExportData(
        calib_bcw=data["acc"][tr][:calib_windows].transpose(0, 2, 1).copy(),
        test_g=data["acc"][te],
        test_label=data["label"][te],
    )


def test_float32_export_matches_the_float_student_exactly(exported: dict) -> None:
    ed = _small_export_data(exported, 4)
    report = export_models(exported["result"].student, LABELS, 100, ed, formats=["tflite"], int8=False)
    m = report.models[0]
    assert m.file.filename == "student_litert_fp32.tflite" and m.file.dtype == "float32"
    assert m.file.inputs[0]["dtype"] == "float32" and "scale" not in m.file.inputs[0]
    assert m.verification.agreement == 1.0
    assert m.verification.max_abs_logit_error < 1e-3
    assert [o["name"] for o in m.file.outputs] == ["logits", "embedding", "probabilities"]  # SOFTMAX alone
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


def test_rounding_windows_argument_refuses_non_positive_counts(tmp_path: Path) -> None:
    out = tmp_path / "x.mujo"
    with pytest.raises(SystemExit):
        main(["export", "--int8", str(tmp_path), "--out", str(out), "--rounding-windows", "0"])
    assert not out.exists()


def test_equalize_argument_parsing() -> None:
    from mujo_edge.cli.export import _equalize_arg

    assert _equalize_arg("off") is None and _equalize_arg("0.25") == 0.25 and _equalize_arg("1") == 1.0
    for bad in ("2", "-0.1", "auto"):
        with pytest.raises(Exception, match=r"off or a number|in \[0, 1\]"):
            _equalize_arg(bad)


def test_export_records_the_weight_rounding(exported: dict) -> None:
    for m in exported["report"].models:
        wr = m.file.info["weight_rounding"]
        assert wr["method"] == "adaround" and wr["iterations"] == 200
        assert [layer["layer"] for layer in wr["layers"]] == [
            f"features.{i}" for i in range(2, 18, 2)
        ] + [  # the float stem is not rounded
            "head",
            "embedding",
        ]
        assert all(layer["mse_adaround"] <= layer["mse_nearest"] for layer in wr["layers"])


def _weight_dequants(q: torch.fx.GraphModule) -> dict[str, list[torch.Tensor]]:
    """The dequantized weights of a converted module, by quantization granularity."""
    consts = dict(q.named_buffers()) | dict(q.named_parameters())
    out: dict[str, list[torch.Tensor]] = {"per_channel": [], "per_tensor": []}
    for node in q.graph.nodes:
        if node.op != "call_function" or "dequantize_per" not in str(node.target):
            continue
        if getattr(node.args[0], "op", None) != "get_attr":
            continue  # an activation
        qw, scale, zp = (
            consts[a.target] if getattr(a, "op", None) == "get_attr" else a for a in node.args[:3]
        )
        if "per_channel" in str(node.target):
            shape = (-1, *[1] * (qw.dim() - 1))
            out["per_channel"].append((qw.float() - zp.view(shape)) * scale.view(shape))
        else:
            out["per_tensor"].append((qw.float() - float(zp)) * float(scale))
    return out


def test_adaround_lands_on_pt2e_int8_grid_and_lowers_layer_error() -> None:
    from mujo_edge.export.quantize import quantize
    from mujo_edge.export.rounding import round_weights

    m = _skewed_student()
    calib = np.random.default_rng(0).normal(0, 1, (64, 3, 100)).astype(np.float32)
    rounded, info = round_weights(m, calib, "executorch", iterations=300)
    layers = [layer for layer in m.features if isinstance(layer, torch.nn.Conv1d)] + [m.head, m.embedding]
    new = [layer for layer in rounded.features if isinstance(layer, torch.nn.Conv1d)]
    new += [rounded.head, rounded.embedding]
    flips = 0
    for before, after in zip(layers, new, strict=True):
        w0, w1 = before.weight.detach(), after.weight.detach()
        # PT2E's symmetric per-channel observer: step max|w| / 127, at least 2**-12 (tiny channels here).
        s0 = (w0.abs().flatten(1).amax(1) / 127).clamp_min(2.0**-12)
        s1 = (w1.abs().flatten(1).amax(1) / 127).clamp_min(2.0**-12)
        torch.testing.assert_close(s1, s0, rtol=1e-6, atol=0)  # same per-channel grid
        steps = w1 / s0.view(-1, *[1] * (w0.dim() - 1))
        torch.testing.assert_close(steps, steps.round(), rtol=0, atol=1e-4)  # on it
        assert ((steps.round() - w0 / s0.view(-1, *[1] * (w0.dim() - 1))).abs() < 1).all()  # floor or ceil
        # Each channel's peak keeps its nearest step, so PT2E's observer finds the same grid.
        nearest = torch.round(w0 / s0.view(-1, *[1] * (w0.dim() - 1)))
        torch.testing.assert_close(steps.round().abs().flatten(1).amax(1), nearest.abs().flatten(1).amax(1))
        flips += int((steps.round() != torch.round(w0 / s0.view(-1, *[1] * (w0.dim() - 1)))).sum())
    assert flips > 0  # some weights were rounded away from nearest
    assert all(layer["mse_adaround"] <= layer["mse_nearest"] for layer in info["layers"])
    # Here the activations' own int8 noise dominates each layer's error; the weights' share still shrinks.
    assert sum(layer["mse_adaround"] for layer in info["layers"]) < sum(
        layer["mse_nearest"] for layer in info["layers"]
    )
    # PT2E's own per-channel quantization reproduces the chosen integers exactly.
    q, _ = quantize(rounded, torch.from_numpy(calib[:1]), calib, "executorch")
    deq = _weight_dequants(q)["per_channel"]
    assert len(deq) == len(new)
    for w_pt2e in deq:
        match = [layer for layer in new if layer.weight.shape == w_pt2e.shape]
        assert any(torch.allclose(w_pt2e, layer.weight.detach(), rtol=0, atol=1e-6) for layer in match)


def test_adaround_beats_round_to_nearest_where_weights_are_the_only_error() -> None:
    from mujo_edge.export.rounding import _round_layer

    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 8)
    x = torch.randn(512, 64) @ (torch.randn(64, 64) / 8) + 0.5  # correlated inputs, as activations are
    with torch.no_grad():
        target = lin(x)
    w, e_nearest, e_ada = _round_layer(lin, x, target, False, 1000, 128, torch.Generator().manual_seed(0))
    assert e_ada < 0.75 * e_nearest, (e_nearest, e_ada)
    with torch.no_grad():
        assert float(((torch.nn.functional.linear(x, w, lin.bias) - target) ** 2).mean()) == pytest.approx(
            e_ada
        )


def test_adaround_refuses_what_it_cannot_round() -> None:
    from mujo_edge.export.rounding import round_weights

    calib = np.zeros((4, 3, 100), np.float32)
    relu6 = Student(StudentConfig(n_classes=3, width=8, embed_dim=4, activation="relu6")).fused()
    with pytest.raises(ExportError, match="--rounding nearest"):
        round_weights(relu6, calib, "executorch")
    with pytest.raises(ExportError, match="calibration windows"):
        round_weights(_skewed_student(), calib[:0], "executorch")
    with pytest.raises(ExportError, match="at least one iteration"):
        round_weights(_skewed_student(), calib, "executorch", iterations=0)
    with pytest.raises(ExportError, match="unknown weight rounding"):
        export_models(
            _skewed_student(),
            LABELS,
            100,
            ExportData(calib, calib.transpose(0, 2, 1), np.zeros(4)),
            rounding="up",
        )


def test_int8_stem_export_is_int8_end_to_end_in_both_runtimes(exported: dict) -> None:
    ed = _small_export_data(exported, 32)
    report = export_models(
        exported["result"].student, LABELS, 100, ed, rounding="nearest", float_stem=False, equalize=None
    )
    for m in report.models:
        assert m.file.info["float_modules"] == [] and m.file.info["weight_rounding"] == "nearest"
        assert m.file.info["partitions"]["whole_model_in_one_partition"] is True
        assert m.verification.agreement >= 0.95
    tfl = report.models[0].file
    assert tfl.inputs[0]["dtype"] == "int8" and tfl.inputs[0]["scale"] > 0  # int8 end to end


def test_float_stem_helpers_keep_the_function() -> None:
    from mujo_edge.export.executorch import Conv1dAs2d, float_convs_as_2d
    from mujo_edge.export.quantize import stem_modules

    m = _skewed_student()
    assert stem_modules(m) == ("features.0", "features.1")
    two_d = float_convs_as_2d(m, stem_modules(m))
    assert isinstance(two_d.features[0], Conv1dAs2d) and isinstance(m.features[0], torch.nn.Conv1d)
    assert float_convs_as_2d(m, ()) is m
    x = torch.from_numpy(np.random.default_rng(2).normal(0, 1, (4, 3, 100)).astype(np.float32))
    with torch.no_grad():
        for a, b in zip(m(x), two_d(x), strict=True):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    with pytest.raises(ExportError, match="--stem int8"):
        stem_modules(torch.nn.Linear(3, 3))


def test_adaround_leaves_a_float_stem_alone() -> None:
    from mujo_edge.export.quantize import stem_modules
    from mujo_edge.export.rounding import round_weights

    m = _skewed_student()
    calib = np.random.default_rng(0).normal(0, 1, (32, 3, 100)).astype(np.float32)
    rounded, info = round_weights(m, calib, "tflite", iterations=20, float_modules=stem_modules(m))
    assert torch.equal(rounded.features[0].weight, m.features[0].weight)  # float32 stays as trained
    assert [layer["layer"] for layer in info["layers"]][:2] == ["features.2", "features.4"]


def test_short_constant_names_shorten_and_never_collide() -> None:
    import hashlib

    from executorch.backends.xnnpack.operators import node_visitor

    from mujo_edge.export.executorch import short_constant_names

    real = node_visitor.hashlib
    with short_constant_names():
        assert node_visitor.hashlib.sha256(b"w").hexdigest() == hashlib.sha256(b"w").hexdigest()[:16]
    assert node_visitor.hashlib is real  # restored
    with short_constant_names(digits=0):  # every prefix collides: the second tensor keeps its full name
        first = node_visitor.hashlib.sha256(b"a").hexdigest()
        second = node_visitor.hashlib.sha256(b"b").hexdigest()
        again = node_visitor.hashlib.sha256(b"a").hexdigest()
    assert (first, second, again) == ("", hashlib.sha256(b"b").hexdigest(), "")


def test_pte_carries_no_full_sha256_names(exported: dict) -> None:
    import re

    pte = next(m.file.data for m in exported["report"].models if m.file.format == "executorch")
    assert re.search(rb"[0-9a-f]{64}", pte) is None
    assert re.search(rb"scale_[0-9a-f]{16}", pte) is not None


def test_per_tensor_modules_name_the_dense_layers_or_all_of_them() -> None:
    from mujo_edge.export.quantize import per_tensor_modules, stem_modules

    m = _skewed_student()  # stem features.0, then (depthwise, pointwise) pairs: features.2/4, ... 14/16
    pointwise = ("features.4", "features.8", "features.12", "features.16", "head", "embedding")
    assert per_tensor_modules(m, "none") == ()
    assert per_tensor_modules(m, "pointwise") == pointwise
    every = per_tensor_modules(m, "all", stem_modules(m))  # a float32 stem is never listed
    assert every == ("features.2", *pointwise[:1], "features.6", pointwise[1], "features.10", pointwise[2],
                     "features.14", pointwise[3], "head", "embedding")  # fmt: skip
    assert per_tensor_modules(m, "all")[0] == "features.0"
    with pytest.raises(ExportError, match="pointwise"):
        per_tensor_modules(m, "depthwise")
    # a layer the quantizer gives no int8 weight cannot be made per-tensor: refused, not ignored
    from mujo_edge.export.quantize import quantize

    calib = np.random.default_rng(0).normal(0, 1, (4, 3, 100)).astype(np.float32)
    for wrong in (("features.1",), ("features.99",)):  # a ReLU; no such layer
        with pytest.raises(ExportError, match="per-tensor weights asked for"):
            quantize(m, torch.from_numpy(calib[:1]), calib, "executorch", per_tensor=wrong)
    with pytest.raises(ExportError, match="per-tensor weights asked for"):  # float32 and per-tensor at once
        quantize(m, torch.from_numpy(calib[:1]), calib, "tflite", stem_modules(m), per_tensor=("features.0",))


def test_per_tensor_weights_are_rounded_and_quantized_on_one_grid_per_tensor() -> None:
    from mujo_edge.export.quantize import per_tensor_modules, quantize
    from mujo_edge.export.rounding import round_weights

    m = _skewed_student()
    flat = per_tensor_modules(m, "pointwise")
    calib = np.random.default_rng(0).normal(0, 1, (64, 3, 100)).astype(np.float32)
    rounded, info = round_weights(m, calib, "executorch", iterations=100, per_tensor=flat)
    assert all(layer["mse_adaround"] <= layer["mse_nearest"] for layer in info["layers"])
    for name, before in m.named_modules():
        if not isinstance(before, torch.nn.Conv1d | torch.nn.Linear):
            continue
        w0, w1 = before.weight.detach(), rounded.get_submodule(name).weight.detach()
        if name in flat:  # one step for the tensor, max|w| / 127, and the peak on its nearest point
            s = max(float(w0.abs().max()) / 127, 2.0**-12)
            steps = w1 / s
            torch.testing.assert_close(steps, steps.round(), rtol=0, atol=1e-4)
            assert ((steps.round() - w0 / s).abs() < 1).all()
            assert float(steps.round().abs().max()) == 127.0
        else:  # per channel: the skewed channels would not sit on one tensor grid
            s_c = (w1.abs().flatten(1).amax(1) / 127).clamp_min(2.0**-12)
            steps = w1 / s_c.view(-1, *[1] * (w1.dim() - 1))
            torch.testing.assert_close(steps, steps.round(), rtol=0, atol=1e-4)
    # PT2E quantizes exactly the listed layers per tensor and reproduces the chosen integers.
    for backend in ("executorch", "tflite"):
        q, _ = quantize(rounded, torch.from_numpy(calib[:1]), calib, backend, per_tensor=flat)
        if backend == "tflite":  # (litert-torch's module keeps the quantize ops unfolded)
            continue
        deq = _weight_dequants(q)
        assert len(deq["per_tensor"]) == len(flat) and len(deq["per_channel"]) == 11 - len(
            flat
        )  # (stem, 4 depthwise)
        for name in flat:
            w = rounded.get_submodule(name).weight.detach()
            assert any(
                d.shape == w.shape and torch.allclose(d, w, rtol=0, atol=1e-6) for d in deq["per_tensor"]
            )


def test_per_tensor_weights_export_drops_the_per_channel_tables(exported: dict) -> None:
    from ai_edge_litert.interpreter import Interpreter

    ed = _small_export_data(exported, 32)
    student = exported["result"].student
    files = {}
    for which in ("none", "all"):
        report = export_models(
            student,
            LABELS,
            100,
            ed,
            formats=["tflite"],
            rounding="nearest",
            batch=0,
            per_tensor_weights=which,
        )
        m = report.models[0]
        assert m.verification.agreement >= 0.9, which
        assert m.file.info["partitions"]["whole_model_in_one_partition"] is True
        files[which] = m.file
    assert files["none"].info["per_tensor_weights"] == []
    flat = files["all"].info["per_tensor_weights"]
    assert "features.2" in flat and "head" in flat and "features.0" not in flat  # the float stem stays
    assert "one per tensor: features.2" in files["all"].info["quantization"]
    assert len(files["all"].data) < len(files["none"].data) - 500
    it = Interpreter(model_content=files["all"].data)
    scales = [
        len(t["quantization_parameters"]["scales"])
        for t in it.get_tensor_details()
        if t["dtype"] in (np.int8, np.int32) and len(t["shape"]) >= 1
    ]
    assert scales and max(scales) == 1  # no per-channel vector left in the int8 part
