"""The benchmark (spec, same windows for every mode, report), the noise-control corpus, the one macro-F1, and
the foundation checkpoint (``--pretrained default``, float16 packaging)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.errors import ArtifactError, DataError, ShapeError
from mujo_edge.metrics import macro_f1

torch = pytest.importorskip("torch", reason="the benchmark needs torch (training extra)")

from mujo_edge.cli import main  # noqa: E402
from mujo_edge.training import assets  # noqa: E402
from mujo_edge.training.benchmark import (  # noqa: E402
    linear_probe,
    load_spec,
    noise_control_corpus,
    sample_shots,
    training_windows,
)
from mujo_edge.training.checkpoint import load_pretrained  # noqa: E402
from mujo_edge.training.data.format import Dataset  # noqa: E402
from mujo_edge.training.models import ModelConfig  # noqa: E402
from mujo_edge.training.pretrain import PretrainConfig, pretrain  # noqa: E402
from tests.training.tiny_data import make_tiny_dataset  # noqa: E402

pytestmark = pytest.mark.torch


def _tiny_pretrain(corpus: Path, run: Path, modalities: tuple[str, ...] = ("acc", "pose")) -> Path:
    cfg = PretrainConfig(
        model=ModelConfig(modalities=modalities, cnn="mmfit", joint_dim=32, proj_hidden=32, text_hidden=32),
        epochs=2,
        batch_size=32,
        lr=3e-3,
        val_subjects=(6,),
    )
    pretrain(corpus, run, cfg)
    return run


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny corpus, its noise control, a short pretraining on each, and a 'real' dataset of subjects 1..6."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("benchmark")
    make_tiny_dataset(root / "corpus", seed=0)
    noise_control_corpus(root / "corpus", root / "noise", seed=3)
    make_tiny_dataset(
        root / "real", seed=1, subjects=(1, 2, 3, 4, 5, 6), per_label_subject=3, with_pose=False
    )
    return {
        "root": root,
        "corpus": root / "corpus",
        "noise": root / "noise",
        "run": _tiny_pretrain(root / "corpus", root / "run"),
        "control": _tiny_pretrain(root / "noise", root / "control"),
        "real": root / "real",
    }


# --- the one macro-F1 ------------------------------------------------------------------------------
def test_macro_f1_is_sklearns_and_can_average_over_given_classes() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 7, 50)
        p = np.where(rng.random(50) < 0.6, y, rng.integers(0, 9, 50))
        assert macro_f1(y, p) == pytest.approx(f1_score(y, p, average="macro"), abs=1e-12)
        labels = np.unique(y)
        assert macro_f1(y, p, labels=labels) == pytest.approx(
            f1_score(y, p, labels=labels, average="macro", zero_division=0), abs=1e-12
        )
    # class 2 is only ever predicted: averaged by default (F1 0), left out when averaging over the true classes
    assert macro_f1(np.array([0, 1]), np.array([0, 2])) == pytest.approx(1 / 3)
    assert macro_f1(np.array([0, 1]), np.array([0, 2]), labels=[0, 1]) == pytest.approx(0.5)
    assert macro_f1(np.array([], int), np.array([], int)) == 0.0
    with pytest.raises(ShapeError, match="3 labels and 2 predictions"):
        macro_f1(np.array([0, 1, 2]), np.array([0, 1]))


# --- spec and windows ------------------------------------------------------------------------------
def _write_spec(path: Path, **extra: object) -> Path:
    spec = {
        "datasets": [
            {
                "name": "tiny",
                "data": "real",
                "split": {"test": [5, 6], "val": [4]},
                "labels": {"act0": ["lying still", "resting"], "act1": "walking"},
                "placement": "right wrist",
                "text_template": "{phrasing}, watch on the {placement}",
            }
        ],
        **extra,
    }
    path.write_text(json.dumps(spec))
    return path


def test_spec_paths_are_relative_to_the_spec_and_flags_override(tmp_path: Path) -> None:
    spec = load_spec(_write_spec(tmp_path / "spec.json", seeds=5, shots=[1, 3]), seeds=2)
    d = spec.datasets[0]
    assert Path(d.data) == tmp_path / "real"
    assert d.test_subjects == (5, 6) and d.val_subjects == (4,) and d.train_subjects is None
    assert d.labels == {"act0": ("lying still", "resting"), "act1": ("walking",)}
    assert spec.seeds == 2 and spec.shots == (1, 3) and spec.fractions_pct == (1, 2, 10, 100)
    assert spec.modes == ("scratch", "linear", "finetuned")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"datasets": []}, "non-empty"),
        ({"epochs": 3}, r"unknown keys \['epochs'\]"),
        ({"modes": ["frozen"]}, r"modes \['frozen'\] are unknown"),
        ({"fractions_pct": [0.5, 200]}, r"fractions in \(0, 100\]"),
        ({"datasets": [{"data": "real", "split": {"val": [4]}}]}, "must name the test subjects"),
        (
            {"datasets": [{"data": "real", "split": {"test": [5]}, "text_template": "{label}"}]},
            "must contain",
        ),
        ({"datasets": [{"data": "real", "split": {"test": ["a"]}}]}, "integer subject ids"),
        ({"datasets": [{"data": "real", "split": {"test": [5]}, "labels": {"act0": []}}]}, "non-empty list"),
        (
            {"datasets": [{"data": "real", "name": "a/b", "split": {"test": [5]}}]},
            r"name 'a/b': it names the plot",
        ),
    ],
)
def test_bad_specs_are_refused_with_what_to_fix(tmp_path: Path, change: dict, message: str) -> None:
    spec = json.loads(_write_spec(tmp_path / "spec.json").read_text())
    spec.update(change)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(DataError, match=message):
        load_spec(tmp_path / "spec.json")


def test_invalid_json_spec_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("{datasets: [")
    with pytest.raises(DataError, match=r"s\.json is not valid JSON"):
        load_spec(tmp_path / "s.json")


def test_yaml_spec_reads_like_json(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    (tmp_path / "s.yaml").write_text(
        "datasets:\n  - name: w\n    data: real\n    split: {test: [5], val: [4]}\n    labels: {act0: [sitting]}\n"
    )
    spec = load_spec(tmp_path / "s.yaml")
    assert spec.datasets[0].name == "w" and spec.datasets[0].labels == {"act0": ("sitting",)}


def test_shots_are_k_per_class_nested_and_seeded() -> None:
    y = np.repeat(np.arange(4), [10, 3, 7, 20])
    idx = np.arange(len(y))
    one, five = sample_shots(y, idx, 1, seed=0), sample_shots(y, idx, 5, seed=0)
    assert np.bincount(y[one]).tolist() == [1, 1, 1, 1]
    assert np.bincount(y[five]).tolist() == [5, 3, 5, 5]  # class 1 has only 3 windows
    assert set(one) <= set(five)
    assert not np.array_equal(sample_shots(y, idx, 5, seed=1), five)
    frac = training_windows(y, idx, "fraction", 50, seed=0)
    assert np.bincount(y[frac]).tolist() == [5, 2, 4, 10]  # round(0.5 * n) per class
    with pytest.raises(DataError, match="shots or fraction"):
        training_windows(y, idx, "epochs", 5, seed=0)


def test_linear_probe_chooses_c_on_validation_and_separates_separable_features() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 3
    y_tr, y_va = np.repeat(np.arange(3), 4), np.repeat(np.arange(3), 10)
    f_tr = centres[y_tr] + rng.normal(size=(12, 16))
    f_va = centres[y_va] + rng.normal(size=(30, 16))
    clf, c, val_f1 = linear_probe(f_tr, y_tr, f_va, y_va)
    assert c in (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
    assert val_f1 == pytest.approx(macro_f1(y_va, clf.predict(f_va))) and val_f1 > 0.9
    _, c0, none = linear_probe(f_tr, y_tr, f_va[:0], y_va[:0])
    assert c0 == 1.0 and none is None


# --- the noise control -----------------------------------------------------------------------------
def test_noise_control_matches_mean_and_std_and_copies_everything_else(setup: dict[str, Path]) -> None:
    src, ctl = Dataset.open(setup["corpus"]), Dataset.open(setup["noise"], verify=True)
    acc_s, acc_c = np.asarray(src.acc, np.float64), np.asarray(ctl.acc, np.float64)
    assert acc_c.shape == acc_s.shape
    np.testing.assert_allclose(acc_c.mean((0, 1)), acc_s.mean((0, 1)), atol=0.01)
    np.testing.assert_allclose(acc_c.std((0, 1)), acc_s.std((0, 1)), rtol=0.02)
    m = ctl.manifest["noise_control"]
    np.testing.assert_allclose(m["acc_mean_g"], acc_s.mean((0, 1)), atol=1e-6)
    # noise: no window structure left (a sinusoid per window in the corpus)
    lag1 = lambda a: np.mean((a[:, 1:] - a[:, 1:].mean()) * (a[:, :-1] - a[:, :-1].mean())) / a.var()  # noqa: E731
    assert abs(lag1(acc_c[..., 0])) < 0.05 < lag1(acc_s[..., 0])
    for name in ("pose", "text", "text_id", "label", "subject", "recording", "start"):
        assert (setup["noise"] / f"{name}.npy").read_bytes() == (setup["corpus"] / f"{name}.npy").read_bytes()
    assert ctl.manifest["labels"] == src.manifest["labels"]
    assert ctl.manifest["content_hash"] != src.manifest["content_hash"]
    assert m["source_content_hash"] == src.manifest["content_hash"]
    with pytest.raises(DataError, match="already holds a dataset"):
        noise_control_corpus(setup["corpus"], setup["noise"])


def test_noise_control_command(setup: dict[str, Path], tmp_path: Path) -> None:
    argv = ["data", "noise-control", str(setup["real"]), "--out", str(tmp_path / "ctl"), "--seed", "1"]
    assert main(argv) == 0
    assert Dataset.open(tmp_path / "ctl", verify=True).manifest["noise_control"]["seed"] == 1


# --- the benchmark end to end ----------------------------------------------------------------------
def test_benchmark_same_windows_for_every_mode_table_plot_and_resume(setup: dict[str, Path]) -> None:
    root = setup["root"]
    spec = _write_spec(root / "spec.json")
    out = root / "bench"
    argv = [
        "benchmark", "--spec", str(spec), "--pretrained", str(setup["run"]), "--control", str(setup["control"]),
        "--out", str(out), "--shots", "1,2", "--fractions", "50,100", "--seeds", "2", "--max-epochs", "2",
        "--patience", "1",
    ]  # fmt: skip
    assert main(argv) == 0
    rec = json.loads((out / "results.json").read_text())
    runs = rec["runs"]
    # 4 regimes x 2 seeds x (scratch + linear and finetuned on pretrained and control)
    assert len(runs) == 4 * 2 * 5 and len({r["key"] for r in runs}) == len(runs)
    samples: dict[tuple, set[str]] = {}
    for r in runs:
        samples.setdefault((r["regime"], r["amount"], r["seed"]), set()).add(r["train_windows_sha256"])
        assert 0.0 <= r["macro_f1"] <= 1.0 and r["n_test"] == 2 * 4 * 3
    assert all(len(v) == 1 for v in samples.values()), "modes or models of one seed trained on other windows"
    assert samples[("shots", 1.0, 0)] != samples[("shots", 1.0, 1)]  # seeds draw other windows
    n_train = {(r["regime"], r["amount"]): r["n_train"] for r in runs}
    # 4 classes; training subjects 1-3 with 3 windows per class each
    assert n_train == {
        ("shots", 1.0): 4,
        ("shots", 2.0): 8,
        ("fraction", 50.0): 4 * 4,
        ("fraction", 100.0): 36,
    }
    assert {r["C"] for r in runs if r["mode"] == "linear"} <= {1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0}
    assert all(1 <= r["epochs"] <= 2 for r in runs if r["mode"] != "linear")
    info = rec["datasets"]["tiny"]
    assert info["subjects"] == {"train": [1, 2, 3], "val": [4], "test": [5, 6]}
    assert info["phrasings_from"] == {"act0": "spec", "act1": "spec", "act2": "dataset", "act3": "dataset"}
    assert rec["zero_shot"] == {}  # acc + pose models: no text side to compare with
    cells = {(s["model"], s["mode"], s["regime"], s["amount"]): s for s in rec["summary"]}
    s = cells[("pretrained", "finetuned", "fraction", 100.0)]
    vals = [r["macro_f1"] for r in runs if r["key"].startswith("tiny/pretrained/finetuned/100%/")]
    assert s["n"] == 2 and s["mean"] == pytest.approx(np.mean(vals))
    table = (out / "table.md").read_text()
    assert "| mode | 1/class | 2/class | 50% | 100% |" in table
    for row in ("| scratch |", "| pretrained, linear probe |", "| control, finetuned |"):
        assert row in table
    assert (out / "plot_tiny.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(argv) == 0  # resumes: nothing left to run, nothing duplicated
    assert len(json.loads((out / "results.json").read_text())["runs"]) == len(runs)
    other = [*argv[:-2], "--patience", "3"]
    assert main(other) == 2  # other settings into the same report folder: refused


def test_benchmark_refuses_a_label_the_data_lacks(setup: dict[str, Path], tmp_path: Path) -> None:
    from mujo_edge.training.benchmark import benchmark

    spec = json.loads(_write_spec(tmp_path / "spec.json").read_text())
    spec["datasets"][0]["data"] = str(setup["real"])
    spec["datasets"][0]["labels"]["jogging"] = ["jogging"]
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(DataError, match=r"names \['jogging'\], which .* does not have"):
        benchmark(load_spec(tmp_path / "spec.json"), setup["run"], tmp_path / "out")
    assert not (tmp_path / "out" / "results.json").exists()


@pytest.mark.slow
def test_benchmark_zero_shot_with_phrasings_and_chance(setup: dict[str, Path], tmp_path: Path) -> None:
    run = _tiny_pretrain(setup["corpus"], tmp_path / "run_text", ("acc", "text"))
    spec = json.loads(_write_spec(tmp_path / "spec.json").read_text())
    spec["datasets"][0]["data"] = str(setup["real"])
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    argv = [
        "benchmark", "--spec", str(tmp_path / "spec.json"), "--pretrained", str(run), "--out", str(tmp_path / "b"),
        "--shots", "1", "--fractions", "100", "--seeds", "1", "--modes", "linear",
    ]  # fmt: skip
    assert main(argv) == 0
    zs = json.loads((tmp_path / "b" / "results.json").read_text())["zero_shot"]["tiny"]["pretrained"]
    for part, n in (("test", 24), ("val", 12)):
        z = zs[part]
        assert z["n_windows"] == n and 0.0 <= z["top1"] <= z["top3"] <= 1.0
        assert z["chance_top3"] > z["chance_top1"] > 0.1  # four labels: about 0.25 and 0.75
    assert "| pretrained | test |" in (tmp_path / "b" / "table.md").read_text()


# --- the foundation checkpoint ---------------------------------------------------------------------
def test_package_writes_fp16_that_loads_as_float32(setup: dict[str, Path], tmp_path: Path) -> None:
    from safetensors.torch import load_file

    out = tmp_path / "joint_space"
    assert main(["pretrain-package", str(setup["run"]), "--out", str(out), "--calibration-windows", "5"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == [
        "calibration_target.npz",
        "manifest.json",
        "model.safetensors",
    ]
    state = load_file(str(out / "model.safetensors"))
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}
    assert m["weights"]["dtype"] == "float16" and m["format"] == "mujo-edge-joint-model"
    src_manifest = json.loads((setup["run"] / "manifest.json").read_text())
    assert m["foundation"]["source_weights_sha256"] == src_manifest["weights"]["sha256"]
    assert m["foundation"]["calibration_windows_per_label"] == 5
    assert len(m["content_hash"]) == 64 and m["model"] == src_manifest["model"]
    cal = np.load(out / "calibration_target.npz")
    assert cal["acc"].dtype == np.float16 and np.bincount(cal["label"]).max() == 5
    src, pkg = load_pretrained(setup["run"]), load_pretrained(out)
    for (name, a), b in zip(src.state_dict().items(), pkg.state_dict().values(), strict=True):
        assert b.dtype == a.dtype, name
        if a.is_floating_point():
            assert torch.equal(b, a.half().float()), name
    x = torch.randn(8, 100, 3)
    with torch.no_grad():
        cos = torch.nn.functional.cosine_similarity(src.embed("acc", x), pkg.embed("acc", x))
    assert float(cos.min()) > 0.999
    assert m["foundation"]["fp16_min_cosine_to_source"] > 0.999
    assert sum(p.stat().st_size for p in out.iterdir()) < 10_000_000


def test_package_refuses_over_the_size_limit_and_writes_nothing(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(ArtifactError, match=r"over the limit of 1,000.*Nothing was written"):
        assets.package_pretrained(setup["run"], tmp_path / "js", max_bytes=1000)
    assert not (tmp_path / "js").exists() or not any((tmp_path / "js").iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".js-")]  # no temporary folder left
    with pytest.raises(ArtifactError, match=r"no manifest\.json"):
        assets.package_pretrained(tmp_path, tmp_path / "js")


def test_package_refuses_damaged_or_unfinished_runs(setup: dict[str, Path], tmp_path: Path) -> None:
    """Packaging re-hashes what it writes: damaged weights would become a self-consistent foundation."""
    import json
    import shutil

    from mujo_edge.errors import CalibrationError
    from mujo_edge.training.checkpoint import load_classifier
    from mujo_edge.training.finetune import load_calibration_target

    damaged = tmp_path / "damaged"
    shutil.copytree(setup["run"], damaged)
    weights = damaged / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + bytes(8))
    with pytest.raises(ArtifactError, match="sha256 does not match the manifest"):
        assets.package_pretrained(damaged, tmp_path / "js")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(setup["run"], unfinished)
    m = json.loads((unfinished / "manifest.json").read_text())
    (unfinished / "manifest.json").write_text(json.dumps({**m, "complete": False}))
    with pytest.raises(ArtifactError, match="unfinished pretraining run"):
        assets.package_pretrained(unfinished, tmp_path / "js")
    assert not (tmp_path / "js").exists()
    # a manifest edited by hand, a calibration sample that is not one: errors naming them, no traceback
    edited = tmp_path / "edited"
    shutil.copytree(setup["run"], edited)
    (edited / "manifest.json").write_text(json.dumps({k: v for k, v in m.items() if k != "text_dim"}))
    with pytest.raises(ArtifactError, match="lacks or mangles a field"):
        assets.package_pretrained(edited, tmp_path / "js")
    (unfinished / "manifest.json").write_text(json.dumps(m))
    (unfinished / "calibration_target.npz").write_bytes(b"junk")
    with pytest.raises(ArtifactError, match="is not the run's calibration sample"):
        assets.package_pretrained(unfinished, tmp_path / "js")
    with pytest.raises(CalibrationError, match="is not a calibration sample"):
        load_calibration_target(unfinished)
    with pytest.raises(ArtifactError):
        load_classifier(edited)  # (a pretraining run is no classifier: the format check says so)


def test_pretrained_default_resolves_to_the_shipped_checkpoint(
    setup: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(assets, "JOINT_SPACE_DIR", tmp_path / "missing")
    with pytest.raises(ArtifactError, match="shipped foundation checkpoint is not installed"):
        assets.resolve_pretrained("default")
    assert (
        main(["zeroshot", "--pretrained", "default", "--data", str(setup["real"])]) == 2
    )  # the error, no traceback
    assert assets.resolve_pretrained("runs/x") == Path("runs/x")
    shipped = tmp_path / "joint_space"
    assets.package_pretrained(setup["run"], shipped)
    monkeypatch.setattr(assets, "JOINT_SPACE_DIR", shipped)
    assert assets.resolve_pretrained("default") == shipped
    argv = [
        "finetune", "--pretrained", "default", "--data", str(setup["real"]), "--out", str(tmp_path / "teacher"),
        "--test-subjects", "5,6", "--val-subjects", "4", "--epochs", "1", "--calibration", "unsupervised",
    ]  # fmt: skip
    assert main(argv) == 0
    teacher = json.loads((tmp_path / "teacher" / "manifest.json").read_text())
    shipped_manifest = json.loads((shipped / "manifest.json").read_text())
    assert teacher["pretrained"]["path"] == "default"
    assert teacher["pretrained"]["weights_sha256"] == shipped_manifest["weights"]["sha256"]
    assert teacher["calibration"]["table"] is not None  # fitted on the float16 calibration windows
    # distill's --pretrained, and the teacher's recorded "default" when --pretrained is omitted
    from argparse import Namespace

    from mujo_edge.cli.export import _pretrained_path

    assert _pretrained_path(Namespace(pretrained="default"), {}) == shipped
    assert _pretrained_path(Namespace(pretrained=None), teacher) == shipped
    # a pretraining run whose joint space is not the teacher's: refused before distilling, not after
    foundation = Path(__file__).resolve().parents[2] / "training" / "assets" / "joint_space"
    argv = [
        "distill", "--teacher", str(tmp_path / "teacher"), "--data", str(setup["real"]),
        "--out", str(tmp_path / "student"), "--pretrained", str(foundation), "--epochs", "1",
    ]  # fmt: skip
    capsys.readouterr()
    assert main(argv) == 2
    said = " ".join(capsys.readouterr().out.split())
    assert "embeds text in a 1280-d joint space, but the teacher" in said and "embeds windows in a" in said
    assert not (tmp_path / "student").exists()


def test_training_commands_never_write_over_another_artifact(setup: dict[str, Path], capsys) -> None:
    """finetune, distill, pretrain and pretrain-package wrote over a dataset (or their own input) given as --out."""
    real, run = setup["real"], setup["run"]
    before = (real / "manifest.json").read_bytes()
    for argv, said in (
        (
            ["finetune", "--pretrained", str(run), "--data", str(real), "--out", str(real)],
            "is the --data itself",
        ),
        (
            ["finetune", "--pretrained", str(run), "--data", str(real), "--out", str(run)],
            "is the --pretrained",
        ),
        (["distill", "--teacher", str(run), "--data", str(real), "--out", str(real)], "is the --data itself"),
        (
            ["pretrain", "--data", str(real), "--out", str(setup["corpus"])],
            "already holds a mujo-edge-dataset",
        ),
        (["pretrain-package", str(run), "--out", str(real)], "already holds a mujo-edge-dataset"),
    ):
        capsys.readouterr()
        assert main(argv) == 2, argv
        assert said in " ".join(capsys.readouterr().out.split()), argv
    assert (real / "manifest.json").read_bytes() == before


def test_training_settings_that_mean_nothing_are_refused_before_any_work(tmp_path: Path, capsys) -> None:
    """They gave tracebacks (--modalities bogus, --batch-size 0, --width 0), NaN students (--temperature 0),
    'successful' empty runs (--epochs 0) or a failure after the first trainings (--modes bogus)."""
    from mujo_edge.cli import build_parser

    for argv in (
        ["pretrain", "--data", "d", "--out", "o", "--epochs", "0"],
        ["pretrain", "--data", "d", "--out", "o", "--temperature", "0"],
        ["pretrain", "--data", "d", "--out", "o", "--joint-dim", "0"],
        ["finetune", "--pretrained", "p", "--data", "d", "--out", "o", "--lr", "nan"],
        ["finetune", "--pretrained", "p", "--data", "d", "--out", "o", "--batch-size", "0"],
        ["distill", "--teacher", "t", "--data", "d", "--out", "o", "--width", "0"],
        ["distill", "--teacher", "t", "--data", "d", "--out", "o", "--alpha", "2"],
        ["evaluate", "--pretrained", "p", "--data", "d", "--out", "o", "--seeds", "0"],
    ):
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)
    for argv, said in (
        (
            ["pretrain", "--data", "d", "--out", str(tmp_path / "o"), "--modalities", "bogus,acc"],
            "['bogus'] not among",
        ),
        (
            ["pretrain", "--data", "d", "--out", str(tmp_path / "o"), "--modalities", "acc"],
            "pairs at least two",
        ),
        (
            [
                "evaluate",
                "--pretrained",
                "p",
                "--data",
                "d",
                "--out",
                str(tmp_path / "e"),
                "--modes",
                "frozen,x",
            ],
            "['x'] not",
        ),
    ):
        capsys.readouterr()
        assert main(argv) == 2
        assert said in " ".join(capsys.readouterr().out.split())
    assert not (tmp_path / "o").exists() and not (tmp_path / "e").exists()
