"""``mujo-edge teach`` and ``mujo-edge calibrate`` on the shipped bundle, with no torch imported."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.bundle import Bundle
from mujo_edge.cli import main
from mujo_edge.cli.teach import calibrated_bundle, teach_bundle
from mujo_edge.errors import DataError
from mujo_edge.heads import REJECT_MARGIN

PHYSIO = Path(__file__).resolve().parents[2] / "mujo_edge" / "assets" / "shoulder_physio.mujo"


def _windows(kind: str, n: int, seed: int) -> np.ndarray:
    """(n, 100, 3) g: 'swing' = 1 Hz swing along x, 'shake' = 4 Hz shake along y, gravity on z."""
    rng = np.random.default_rng(seed)
    t = np.arange(100) / 50.0
    out = np.zeros((n, 100, 3), np.float32)
    for i in range(n):
        ph = rng.uniform(0, 2 * np.pi)
        if kind == "swing":
            out[i, :, 0] = 0.8 * np.sin(2 * np.pi * 1.0 * t + ph)
        else:
            out[i, :, 1] = 0.6 * np.sin(2 * np.pi * 4.0 * t + ph)
        out[i, :, 2] = 1.0
        out[i] += 0.02 * rng.standard_normal((100, 3))
    return out


def test_teach_two_new_activities_from_five_examples(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    base = Bundle.open(PHYSIO)
    x = np.concatenate([_windows("swing", 5, 0), _windows("shake", 5, 1)])
    names = ["swing"] * 5 + ["shake"] * 5
    b, rep = teach_bundle(base, tmp_path / "t.mujo", x, names, ["swing", "shake"], method="ncm")
    assert b.labels == ["swing", "shake"] and b.model_labels == base.model_labels
    assert b.head.kind == "linear" and b.manifest["head"]["examples_per_label"] == {"swing": 5, "shake": 5}
    assert b.head.score_kind == "mahalanobis" and b.open_set_threshold is not None
    assert rep["fit_s"] < 1.0
    test = np.concatenate([_windows("swing", 20, 5), _windows("shake", 20, 6)])
    labels, probs, scores = b.classify(test)
    assert scores.shape == (40,)
    truth = ["swing"] * 20 + ["shake"] * 20
    assert np.mean([p == t for p, t in zip(labels, truth, strict=True)]) >= 0.9
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    lying = np.zeros((10, 100, 3), np.float32)
    lying[:, :, 0] = 1.0  # still, gravity along the forearm: like neither taught activity
    assert b.classify(lying)[0] == ["unknown"] * 10
    # the looser of the leave-one-out and the base's loosest validated threshold (its curve at keep 1.0)
    loo, base_thr = b.manifest["open_set"]["leave_one_out_threshold"], base.head.at_keep(1.0).threshold
    assert base_thr is not None and base_thr < (base.open_set_threshold or 0.0)
    assert b.open_set_threshold == pytest.approx(min(loo, base_thr))
    assert b.manifest["open_set"]["base_threshold"] == pytest.approx(base_thr)
    assert b.manifest["open_set"]["base_keep"] == 1.0
    # a base whose keep curve ends before 1.0 (or has none): its loosest recorded point (or its threshold)
    short = base.derive(
        tmp_path / "short.mujo", head=dataclasses.replace(base.head, keep_curve=base.head.keep_curve[:-3])
    )
    bs, _ = teach_bundle(short, tmp_path / "ts.mujo", x, names, ["swing", "shake"], method="ncm")
    top = float(short.head.keep_curve[-1, 0])
    assert top < 1.0 and bs.manifest["open_set"]["base_keep"] == top
    assert bs.manifest["open_set"]["base_threshold"] == pytest.approx(short.head.at_keep(top).threshold)
    none = base.derive(tmp_path / "none.mujo", head=dataclasses.replace(base.head, keep_curve=None))
    bn, _ = teach_bundle(none, tmp_path / "tn.mujo", x, names, ["swing", "shake"], method="ncm")
    assert bn.manifest["open_set"]["base_keep"] is None
    assert bn.manifest["open_set"]["base_threshold"] == pytest.approx(base.open_set_threshold)
    assert b.file_bytes(b.model().file) == base.file_bytes(base.model().file)  # same student


def test_teach_on_the_default_reads_window_statistics_in_bundle_and_pipeline(tmp_path: Path) -> None:
    """The shipped default carries its training windows' statistics: a head taught on it reads them beside
    the embedding, the bundle keeps them, and the pipeline gives the taught labels while streaming."""
    pytest.importorskip("ai_edge_litert")
    from mujo_edge.assets import DEFAULT_BUNDLE
    from mujo_edge.features import N_STATS
    from mujo_edge.firmware_bridge.simulated_session import simulate_stream
    from mujo_edge.pipeline import Pipeline

    base = Bundle.open(DEFAULT_BUNDLE)
    assert base.head.stats is not None and base.head.kind == "logits" and not base.head.needs_windows
    x = np.concatenate([_windows("swing", 5, 0), _windows("shake", 5, 1)])
    b, _ = teach_bundle(base, tmp_path / "t.mujo", x, ["swing"] * 5 + ["shake"] * 5, ["swing", "shake"])
    assert b.head.needs_windows and b.head.stats is not None
    assert b.head.weight is not None and b.head.weight.shape == (2, 32 + N_STATS)
    assert b.manifest["head"]["stats"] == base.manifest["head"]["stats"]
    # its cosine test to prototypes of windows: the looser of the leave-one-out and the base's threshold
    # (five examples of one session know less of another session's spread than the base's validation did)
    info = b.manifest["open_set"]
    assert b.head.score_kind == "cosine" and info["chosen_on"].startswith("the looser of leave-one-out")
    assert b.open_set_threshold == pytest.approx(
        min(info["leave_one_out_threshold"], base.head.at_keep(1.0).threshold)
    )
    # ... but not a words bundle's test, whose cosines are to label texts, not distances to windows
    words = base.derive(tmp_path / "w.mujo", head=base.head, head_info={"source": "label texts"})
    w, _ = teach_bundle(words, tmp_path / "tw.mujo", x, ["swing"] * 5 + ["shake"] * 5, ["swing", "shake"])
    assert w.manifest["open_set"]["chosen_on"] == "leave-one-out over the taught examples"
    assert w.open_set_threshold == pytest.approx(w.manifest["open_set"]["leave_one_out_threshold"])
    labels = b.classify(np.concatenate([_windows("swing", 10, 5), _windows("shake", 10, 6)]))[0]
    assert labels[:10].count("swing") >= 9 and labels[10:].count("shake") >= 9
    # streamed: 20 s of swing then 20 s of shake, through the pipeline's own windows
    t = np.arange(2000) / 50.0
    acc = np.zeros((2000, 3), np.float32)
    acc[:1000, 0] = 0.8 * np.sin(2 * np.pi * 1.0 * t[:1000])
    acc[1000:, 1] = 0.6 * np.sin(2 * np.pi * 4.0 * t[1000:])
    acc[:, 2] = 1.0
    p = Pipeline.from_bundle(b)
    sim = simulate_stream(acc, 50.0, batch=10)
    ev = [e for it in sim.items for e in p.feed(it)] + p.close()
    first = [e.label for e in ev if e.t_end - 1000.0 < 19.0]  # host clock starts at 1000 s
    last = [e.label for e in ev if e.t_start - 1000.0 > 21.0]
    assert first and first.count("swing") >= len(first) - 1
    assert last and last.count("shake") >= len(last) - 1


def test_teach_a_label_that_means_none_of_these(tmp_path: Path) -> None:
    # the user also records what they do besides their two activities (here: holding still, arm flat)
    # as "other"; windows like those come out unknown, and "other" is never a window's label
    pytest.importorskip("ai_edge_litert")
    base = Bundle.open(PHYSIO)
    still = np.zeros((5, 100, 3), np.float32)
    still[:, :, 0] = 1.0
    still += 0.02 * np.random.default_rng(7).standard_normal(still.shape).astype(np.float32)
    x = np.concatenate([_windows("swing", 5, 0), _windows("shake", 5, 1), still])
    names = ["swing"] * 5 + ["shake"] * 5 + ["other"] * 5
    labels = ["swing", "shake", "other"]
    b, _ = teach_bundle(base, tmp_path / "t.mujo", x, names, labels, reject=["other"])
    assert b.labels == labels and b.head.reject == ("other",)
    assert b.manifest["open_set"]["reject_labels"] == ["other"]
    assert b.head.prototypes is not None and b.head.prototypes.shape[0] == 2  # swing and shake only
    test = np.concatenate([_windows("swing", 20, 5), _windows("shake", 20, 6), still])
    got, probs, scores = b.classify(test)
    assert np.mean([g == t for g, t in zip(got[:40], ["swing"] * 20 + ["shake"] * 20, strict=True)]) >= 0.9
    assert got[40:] == ["unknown"] * 5 and (probs[:, 2] == 0.0).all()
    # unknown because "other" won them (their score is set below the threshold), not by distance alone
    assert b.open_set_threshold is not None
    np.testing.assert_allclose(scores[40:], b.open_set_threshold - REJECT_MARGIN, rtol=1e-6)
    with pytest.raises(DataError, match="not among the taught labels"):
        teach_bundle(base, tmp_path / "u.mujo", x, names, labels, reject=["jump"])
    with pytest.raises(DataError, match="besides the reject labels"):
        teach_bundle(base, tmp_path / "u.mujo", x, names, labels, reject=["other", "shake"])


def test_calibrate_writes_a_table_that_maps_onto_the_target(tmp_path: Path) -> None:
    base = Bundle.open(PHYSIO)
    user = _windows("swing", 30, 2) * 1.3 + np.float32(0.1)  # a watch that reads 30 % high, 0.1 g offset
    b = calibrated_bundle(base, user, tmp_path / "c.mujo", {"test": True})
    assert b.calibration is not None and b.manifest["derived_from"]["calibrated_on"] == {"test": True}
    target = np.asarray(base.manifest["calibration_target"]["target_q"])
    mapped = b.calibration.apply(user.reshape(-1, 3))
    np.testing.assert_allclose(np.median(mapped, 0), target[:, target.shape[1] // 2], atol=0.02)


def test_teach_cli_refuses_clearly(tmp_path: Path, capsys) -> None:
    code = main(["teach", "--bundle", str(PHYSIO), "--recording", str(tmp_path / "r.jsonl"), "--out", "x"])
    assert code == 2 and "--recording needs --segments" in capsys.readouterr().out


def test_teach_runs_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import mujo_edge.cli.teach, mujo_edge.cli.teach_live, mujo_edge.heads, mujo_edge.bundle\n"
        "print('ok')"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
