"""The pretraining trainer: it learns, checkpoints describe themselves, resume is bit-identical, search records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="pretraining needs torch (training extra)")

from mujo_edge.errors import ArtifactError, ConfigError, DataError  # noqa: E402
from mujo_edge.training.checkpoint import RESUME_FILE, load_pretrained, load_train_state  # noqa: E402
from mujo_edge.training.models import JointModel, ModelConfig  # noqa: E402
from mujo_edge.training.pretrain import (  # noqa: E402
    PretrainConfig,
    pretrain,
    random_rotations,
    random_search,
    selection_score,
)
from tests.training.tiny_data import make_tiny_dataset  # noqa: E402

pytestmark = pytest.mark.torch

SMALL = ModelConfig(cnn="mmfit", joint_dim=32, proj_hidden=32, text_hidden=32, dropout=0.1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("pretrain")
    make_tiny_dataset(root / "data")
    return root / "data"


def _loaded(run: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    loaded = load_train_state(run)
    assert loaded is not None, f"{run} has no {RESUME_FILE}"
    assert loaded[2] is None  # an exact resume
    return loaded[0], loaded[1]


def _last_weights(run: Path) -> dict[str, Any]:
    """The latest weights of a run (the model part of its resume checkpoint)."""
    return _loaded(run)[0]


def _state(run: Path) -> dict[str, Any]:
    return _loaded(run)[1]


def _cfg(**kw: object) -> PretrainConfig:
    base = {"model": SMALL, "epochs": 2, "batch_size": 32, "lr": 3e-3, "val_subjects": (6,), "seed": 3}
    base.update(kw)
    return PretrainConfig(**base)  # type: ignore[arg-type]


def test_pretrain_learns_and_writes_a_self_describing_run(tiny: Path, tmp_path: Path) -> None:
    res = pretrain(tiny, tmp_path / "run", _cfg(epochs=6, augment_rotation_deg=10, augment_scale=0.1))
    hist = res["history"]
    assert len(hist) == 6 and res["complete"] is True
    assert hist[-1]["train_loss"] < hist[0]["train_loss"] - 0.05
    assert hist[-1]["val_loss"] < hist[0]["val_loss"]
    assert 0.0 <= hist[-1]["val_top1"] <= hist[-1]["val_top5"] <= 1.0
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man["format"] == "mujo-edge-joint-model"
    assert man["data"]["content_hash"] == json.loads((tiny / "manifest.json").read_text())["content_hash"]
    assert man["data"]["val_subjects"] == [6]
    assert man["model"]["joint_dim"] == 32
    model = load_pretrained(tmp_path / "run")
    z = model.embed("acc", torch.zeros(5, 100, 3))
    assert z.shape == (5, 32)
    cal = np.load(tmp_path / "run" / "calibration_target.npz")
    assert cal["acc"].shape[1:] == (100, 3) and set(cal["label"].tolist()) == {0, 1, 2, 3}


def test_resume_after_interruption_gives_identical_weights(tiny: Path, tmp_path: Path) -> None:
    cfg = _cfg(epochs=2, checkpoint_every=2)
    pretrain(tiny, tmp_path / "straight", cfg)
    # stop mid-epoch 0 (8 steps per epoch here), then resume to the end
    part = pretrain(tiny, tmp_path / "resumed", cfg, stop_after_steps=3)
    assert part["interrupted"] is True and part["complete"] is False
    state = _state(tmp_path / "resumed")
    assert (state["epoch"], state["step_in_epoch"], state["global_step"]) == (0, 3, 3)
    pretrain(tiny, tmp_path / "resumed", cfg, resume=True)
    a = _last_weights(tmp_path / "straight")
    b = _last_weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ha = json.loads((tmp_path / "straight" / "manifest.json").read_text())["history"]
    hb = json.loads((tmp_path / "resumed" / "manifest.json").read_text())["history"]
    assert [h["val_loss"] for h in ha] == [h["val_loss"] for h in hb]


def test_same_seed_same_weights_and_different_seed_differs(tiny: Path, tmp_path: Path) -> None:
    pretrain(tiny, tmp_path / "a", _cfg(epochs=1))
    pretrain(tiny, tmp_path / "b", _cfg(epochs=1))
    pretrain(tiny, tmp_path / "c", _cfg(epochs=1, seed=4))
    a, b, c = (_last_weights(tmp_path / n) for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_existing_run_is_refused_without_resume_and_resume_checks_config(tiny: Path, tmp_path: Path) -> None:
    pretrain(tiny, tmp_path / "run", _cfg(epochs=1))
    with pytest.raises(ArtifactError, match="--resume"):
        pretrain(tiny, tmp_path / "run", _cfg(epochs=1))
    with pytest.raises(
        ArtifactError, match=r"different configuration than the run was started with \(lr differ\)"
    ):
        pretrain(tiny, tmp_path / "run", _cfg(epochs=1, lr=1e-2), resume=True)
    with pytest.raises(ArtifactError, match=r"--resume: there is no .* to continue; check the path"):
        pretrain(tiny, tmp_path / "typo", _cfg(epochs=1), resume=True)
    assert not (tmp_path / "typo").exists()


def test_missing_modality_is_a_clear_data_error(tmp_path: Path) -> None:
    make_tiny_dataset(tmp_path / "nopose", with_pose=False, per_label_subject=2)
    with pytest.raises(DataError, match=r"no pose\.npy"):
        pretrain(tmp_path / "nopose", tmp_path / "run", _cfg())


def test_random_rotations_are_rotations_within_the_angle(tmp_path: Path) -> None:
    r = random_rotations(64, 30.0, torch.Generator().manual_seed(0))
    eye = torch.eye(3).expand(64, 3, 3)
    assert torch.allclose(r @ r.transpose(1, 2), eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(64), atol=1e-5)
    angle = torch.rad2deg(torch.arccos(((r.diagonal(dim1=1, dim2=2).sum(1) - 1) / 2).clamp(-1, 1)))
    assert float(angle.max()) <= 30.0 + 1e-3 and float(angle.max()) > 15.0


def test_random_search_records_every_trial_and_keeps_the_best(tiny: Path, tmp_path: Path) -> None:
    rec = random_search(tiny, tmp_path / "search", _cfg(epochs=1), n_trials=2)
    assert [t["trial"] for t in rec["trials"]] == [0, 1]
    losses = [t["best"]["val_loss"] for t in rec["trials"]]
    assert rec["best_trial"] == int(np.argmin(losses))
    saved = json.loads((tmp_path / "search" / "search.json").read_text())
    assert saved["trials"][0]["lr"] != saved["trials"][1]["lr"]
    man = json.loads((tmp_path / "search" / "manifest.json").read_text())
    assert man["search"]["best_trial"] == rec["best_trial"]
    assert isinstance(load_pretrained(tmp_path / "search"), JointModel)
    # resumable: running again trains nothing new
    again = random_search(tiny, tmp_path / "search", _cfg(epochs=1), n_trials=2)
    assert len(again["trials"]) == 2


def test_pretrain_command_demo_preset_and_resume(tiny: Path, tmp_path: Path) -> None:
    from mujo_edge.cli import main

    argv = [
        "pretrain",
        "--data",
        str(tiny),
        "--out",
        str(tmp_path / "run"),
        "--preset",
        "demo",
        "--epochs",
        "1",
    ]
    assert main(argv) == 0
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man["model"]["cnn"] == "mmfit" and man["model"]["joint_dim"] == 256 and man["epochs_done"] == 1
    assert main(argv) == 2  # exists: refused with a message, not overwritten
    assert main([*argv[:-1], "2", "--resume"]) == 2  # a different --epochs is a different configuration
    assert main([*argv, "--resume"]) == 0  # the same flags: resumes a finished run, nothing to do


def _add_mask(data: Path, name: str, mask: np.ndarray) -> None:
    """Add a ``<name>.npy`` presence mask to a dataset folder's manifest (as a corpus with gaps would)."""
    from mujo_edge.provenance import content_hash

    np.save(data / f"{name}.npy", mask)
    man = json.loads((data / "manifest.json").read_text())
    man["arrays"][name] = {"shape": list(mask.shape), "dtype": "bool", "units": "present"}
    man["content_hash"] = content_hash([data / f"{n}.npy" for n in man["arrays"]], data)
    (data / "manifest.json").write_text(json.dumps(man))


def test_windows_without_a_modality_still_train_and_a_missing_one_gets_no_gradient(tmp_path: Path) -> None:
    from mujo_edge.training.data.format import Dataset

    ds = make_tiny_dataset(tmp_path / "data", per_label_subject=4)
    _add_mask(tmp_path / "data", "pose_mask", np.zeros(len(ds), dtype=bool))
    cfg = _cfg(epochs=1)
    pretrain(tmp_path / "data", tmp_path / "none", cfg)
    torch.manual_seed(cfg.seed)
    init = JointModel(cfg.model, text_dim=int(Dataset.open(tmp_path / "data").text.shape[1])).state_dict()
    trained = _last_weights(tmp_path / "none")
    pose_keys = [k for k in trained if k.startswith(("encoders.pose", "projections.pose"))]
    acc_keys = [k for k in trained if k.startswith("encoders.acc") and k.endswith("weight")]
    assert pose_keys and all(torch.equal(trained[k], init[k]) for k in pose_keys)
    assert not all(torch.equal(trained[k], init[k]) for k in acc_keys)
    _add_mask(tmp_path / "data", "pose_mask", np.arange(len(ds)) % 2 == 0)  # half the windows have pose
    res = pretrain(tmp_path / "data", tmp_path / "half", cfg)
    trained = _last_weights(tmp_path / "half")
    assert not all(torch.equal(trained[k], init[k]) for k in pose_keys)
    assert np.isfinite(res["history"][0]["train_loss"])


@pytest.mark.slow
def test_sigterm_saves_resume_state_and_resume_finishes(tiny: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    argv = [
        sys.executable, "-m", "mujo_edge.cli", "pretrain", "--data", str(tiny), "--out", str(out), "--epochs", "30",
        "--batch-size", "32", "--joint-dim", "32", "--cnn", "mmfit", "--proj-hidden", "32", "--val-subjects", "6",
        "--checkpoint-every", "0",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while not (out / RESUME_FILE).exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert (out / RESUME_FILE).exists(), "the first epoch never finished"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130  # the trainer saved its state and the CLI reported the interruption
    state = _state(out)
    assert 0 < state["global_step"] < 30 * 5 and state["complete"] is False
    done = subprocess.run([*argv, "--resume"], capture_output=True, env=env, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    man = json.loads((out / "manifest.json").read_text())
    assert man["complete"] is True and man["epochs_done"] == 30


def test_time_warp_slows_a_sine_to_the_expected_frequency() -> None:
    from mujo_edge.training.pretrain import augment, time_warp

    t = torch.arange(100, dtype=torch.float64)
    x = torch.sin(2 * np.pi * 1.0 * t / 50)[None, :, None].repeat(2, 1, 3)  # 1 Hz at 50 Hz
    y = time_warp(
        x, torch.tensor([1.0, 0.5], dtype=torch.float64), torch.tensor([0.0, 10.0], dtype=torch.float64)
    )
    assert torch.equal(y[0], x[0])
    expected = torch.sin(2 * np.pi * 1.0 * (10 + 0.5 * t) / 50)  # 0.5 Hz, starting 10 samples in
    assert float((y[1, :, 0] - expected).abs().max()) < 3e-3
    batch = {"acc": torch.randn(8, 100, 3), "pose": torch.randn(8, 100, 17, 3), "text": torch.randn(8, 384)}
    out = augment(batch, _cfg(augment_tempo=0.5), torch.Generator().manual_seed(0))
    assert out["acc"].shape == (8, 100, 3) and out["pose"].shape == (8, 100, 17, 3)
    assert torch.equal(out["text"], batch["text"])
    assert not torch.equal(out["acc"], batch["acc"])


# --- hardening: nothing unpickled, one commit point per checkpoint, no NaN weights ----------------------------


class _Evil:
    """Unpickling this creates a file: the proof that a loader ran code from a run folder."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (Path(self.marker),))


# (the crafted file is a protocol-4 pickle on purpose; torch's loader warns about the protocol before refusing it)
@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_a_malicious_state_pt_runs_nothing_with_or_without_resume(tiny: Path, tmp_path: Path) -> None:
    import pickle

    run, marker = tmp_path / "downloaded_run", tmp_path / "pwned"
    run.mkdir()
    (run / "state.pt").write_bytes(pickle.dumps({"config": _Evil(str(marker))}))
    pickle.loads((run / "state.pt").read_bytes())  # the payload works when unpickled ...
    assert marker.exists()
    marker.unlink()
    with pytest.raises(ArtifactError, match="--resume"):  # ... refused before anything is read
        pretrain(tiny, run, _cfg(epochs=1))
    assert not marker.exists()
    (run / "last.safetensors").write_bytes(b"")
    with pytest.raises(
        ArtifactError, match="cannot be read safely"
    ):  # torch's restricted unpickler refuses it
        pretrain(tiny, run, _cfg(epochs=1), resume=True)
    assert not marker.exists()


def test_a_legacy_state_pair_resumes_but_is_recorded_as_not_exact(tiny: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    cfg = _cfg(epochs=1)
    pretrain(tiny, tmp_path / "run", cfg, stop_after_steps=2)
    weights, state = _loaded(tmp_path / "run")
    torch.save(state, tmp_path / "run" / "state.pt")  # what an older mujo-edge wrote
    save_file(weights, str(tmp_path / "run" / "last.safetensors"))
    (tmp_path / "run" / RESUME_FILE).unlink()
    res = pretrain(tiny, tmp_path / "run", cfg, resume=True)
    assert res["complete"] is True
    assert res["resume_not_exact"][0]["global_step"] == 2 and "torn" in res["resume_not_exact"][0]["why"]
    assert not (tmp_path / "run" / "state.pt").exists()  # superseded by the single-file checkpoint


class _Killed(BaseException):
    """A simulated SIGKILL: not an Exception, not a KeyboardInterrupt, so no handler writes anything."""


def _run_fingerprint(run: Path) -> dict[str, Any]:
    """Everything a finished run leaves that must not depend on having been killed and resumed."""
    from mujo_edge.provenance import sha256_file

    weights, state = _loaded(run)
    opt = state["optimizer"]["state"]
    man = json.loads((run / "manifest.json").read_text())
    return {
        "weights": {k: v.numpy().tobytes() for k, v in weights.items()},
        "optimizer": {(p, k): v.numpy().tobytes() for p, d in opt.items() for k, v in d.items()},
        "rng": state["rng"].numpy().tobytes(),
        "best_model": sha256_file(run / "model.safetensors"),
        "history": [{k: v for k, v in h.items() if k != "windows_per_s"} for h in man["history"]],
        "calibration": sha256_file(run / "calibration_target.npz"),
    }


def test_a_kill_at_every_write_step_resumes_to_the_bit_identical_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file the trainer writes is committed by one rename (os.replace). Kill the run just before and just
    after each rename in turn, resume, and compare everything with an uninterrupted run, bit for bit."""
    import os

    data = tmp_path / "data"
    make_tiny_dataset(data, per_label_subject=2)
    cfg = _cfg(epochs=2, batch_size=8, checkpoint_every=3)
    real_replace = os.replace
    calls: list[str] = []

    def counting(src: Any, dst: Any) -> None:
        calls.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", counting)
    pretrain(data, tmp_path / "straight", cfg)
    expected = _run_fingerprint(tmp_path / "straight")
    n_writes = len(calls)
    assert n_writes >= 8 and RESUME_FILE in calls and "model.safetensors" in calls
    for k in range(n_writes):
        for after in (False, True):
            run = tmp_path / f"kill_{k}_{int(after)}"
            seen = 0

            def killing(src: Any, dst: Any, k: int = k, after: bool = after) -> None:
                nonlocal seen
                seen += 1
                if seen - 1 == k and not after:
                    raise _Killed
                real_replace(src, dst)
                if seen - 1 == k and after:
                    raise _Killed

            monkeypatch.setattr(os, "replace", killing)
            with pytest.raises(_Killed):
                pretrain(data, run, cfg)
            monkeypatch.setattr(os, "replace", real_replace)
            pretrain(data, run, cfg, resume=True)
            got = _run_fingerprint(run)
            assert got == expected, f"kill {'after' if after else 'before'} write {k} ({calls[k]})"


def test_nan_in_a_dataset_is_refused_with_the_file_and_window(tmp_path: Path) -> None:
    from mujo_edge.training.data.format import Dataset

    make_tiny_dataset(tmp_path / "data", per_label_subject=2)
    acc = np.load(tmp_path / "data" / "acc.npy")
    acc[17, 40, 1] = np.nan
    np.save(tmp_path / "data" / "acc.npy", acc)
    # verified (the default), the dataset is refused when opened, naming the window
    with pytest.raises(DataError, match=r"acc\.npy window 17 holds NaN or infinite values"):
        pretrain(tmp_path / "data", tmp_path / "run", _cfg(epochs=1))
    # even unverified, no NaN reaches the weights: the batch holding window 17 names it
    with pytest.raises(DataError, match=r"acc\.npy \(window 17\) holds NaN"):
        pretrain(tmp_path / "data", tmp_path / "run", _cfg(epochs=1, batch_size=8), verify_data=False)
    assert not (tmp_path / "run" / "model.safetensors").exists()
    assert len(Dataset.open(tmp_path / "data", verify=False)) == 48


def test_a_diverging_loss_stops_training_and_writes_no_nan_weights(tmp_path: Path) -> None:
    from mujo_edge.errors import TrainingError

    make_tiny_dataset(tmp_path / "data", per_label_subject=2)
    cfg = _cfg(epochs=3, batch_size=8, checkpoint_every=2, lr=1e20, warmup_frac=0.0)
    with pytest.raises(TrainingError, match=r"not finite|the loss became"):
        pretrain(tmp_path / "data", tmp_path / "run", cfg)
    for f in [tmp_path / "run" / "model.safetensors"]:
        if f.exists():
            from safetensors.torch import load_file

            assert all(bool(torch.isfinite(v).all()) for v in load_file(str(f)).values())
    if (tmp_path / "run" / RESUME_FILE).exists():
        assert all(bool(torch.isfinite(v).all()) for v in _last_weights(tmp_path / "run").values())


def test_select_keeps_the_epoch_with_the_best_retrieval(tiny: Path, tmp_path: Path) -> None:
    res = pretrain(tiny, tmp_path / "run", _cfg(epochs=4, select="val_top5"))
    hist = res["history"]
    best = max(range(len(hist)), key=lambda i: (hist[i]["val_top5"], -i))  # the first of ties
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man["best"]["epoch"] == hist[best]["epoch"]
    assert man["best"]["score"] == pytest.approx(-hist[best]["val_top5"])
    assert selection_score("val_loss", {"val_loss": 2.0}, 3.0) == 2.0
    assert selection_score("val_top1", {}, 3.0) == 3.0  # no validation subjects: the training loss
    with pytest.raises(ConfigError, match="select 'accuracy' unknown"):
        selection_score("accuracy", {}, 1.0)


def test_an_unknown_select_is_refused_before_training() -> None:
    with pytest.raises(ConfigError, match="select 'accuracy' unknown"):
        _cfg(select="accuracy")


def test_a_batch_of_one_is_refused_before_training() -> None:
    """With one window a batch has no negatives: the run 'trained' to a loss near 0 and learned nothing."""
    with pytest.raises(ConfigError, match=r"batch size 1: contrastive pretraining .* at least 2"):
        _cfg(batch_size=1)
