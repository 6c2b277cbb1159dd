"""The corpus at every placement: per-window placement / variant / rate arrays, texts, balance, determinism, CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.errors import DataError
from mujo_edge.training.data import Dataset
from mujo_edge.training.synth.corpus import generate_corpus, plan_corpus
from mujo_edge.training.synth.motion import EXERCISES
from mujo_edge.training.synth.placement import (
    DEFAULT_SOURCE_RATES_HZ,
    ORIENTATIONS,
    PLACEMENT_NAMES,
    VARIANTS,
)


def _fake_encode(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for the sentence encoder (the real one is tested in test_text.py)."""
    out = np.stack(
        [np.frombuffer(hashlib.sha256(t.encode()).digest() * 12, dtype=np.uint8)[:384] for t in texts]
    )
    out = out.astype(np.float32) - 127.5
    return out / np.linalg.norm(out, axis=1, keepdims=True)


KW = {"hours": 0.12, "subjects": 4, "activities": ["squats", "IR", "jumping_jacks"], "encode": _fake_encode}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return generate_corpus(tmp_path_factory.mktemp("c") / "corpus", seed=5, **KW)


def test_placement_ids_round_trip_through_the_dataset(corpus: Dataset) -> None:
    ds = Dataset.open(corpus.root, verify=True)
    assert ds.manifest["placements"] == list(PLACEMENT_NAMES)
    assert ds.manifest["variants"] == list(VARIANTS) and ds.manifest["orientations"] == list(ORIENTATIONS)
    place, variant = ds.extra["placement"], ds.extra["variant"]
    rate, orient = ds.extra["source_rate_hz"], ds.extra["orientation"]
    assert place.shape == variant.shape == rate.shape == orient.shape == (len(ds),)
    # the arrays are what the plan dealt to each session (one device, worn one way, per session)
    plans = plan_corpus(
        KW["hours"], 5, 4, None, [e for e in EXERCISES if e in KW["activities"]]
    )  # catalogue order
    for p in plans:
        m = ds.recording == p.index
        if not m.any():
            continue
        assert set(place[m].tolist()) == {PLACEMENT_NAMES.index(p.placement)}
        assert set(variant[m].tolist()) == {VARIANTS.index(p.variant)}
        assert set(orient[m].tolist()) == {ORIENTATIONS.index(p.orientation)}
        assert set(rate[m].tolist()) == {p.source_rate_hz}
    # placements are dealt in rounds: the first sessions all wear different ones; rates from the default spread
    assert len(plans) >= 5 and len(np.unique(place)) == min(len(plans), len(PLACEMENT_NAMES))
    assert set(np.unique(variant)) == {0, 1} and set(np.unique(orient)) == {0, 1}
    assert set(np.unique(rate).tolist()) <= set(DEFAULT_SOURCE_RATES_HZ)
    assert len(np.unique(rate)) == min(len(plans), len(DEFAULT_SOURCE_RATES_HZ))


def test_paired_texts_name_the_windows_placement_and_variant(corpus: Dataset) -> None:
    texts = corpus.manifest["texts"]
    assert corpus.text is not None and corpus.text.shape[0] == len(texts)
    paired = [texts[i] for i in corpus.text_id]
    named = np.array([t["placement"] is not None for t in paired])
    assert 0.4 < named.mean() < 0.6  # about half the windows get a placement text
    place, variant = corpus.extra["placement"], corpus.extra["variant"]
    for w in np.flatnonzero(named):
        t = paired[w]
        assert t["placement"] == PLACEMENT_NAMES[place[w]] and t["variant"] == VARIANTS[variant[w]]
        assert corpus.labels.index(t["label"]) == corpus.label[w]
    pocket = [t["text"] for t in texts if t["placement"] == "right_pocket"]
    assert pocket and all("right" in t and "pocket" in t for t in pocket)
    linear = [t["text"] for t in texts if t["variant"] == "linear"]
    assert linear and all(("linear" in t or "gravity" in t) for t in linear)
    # the plain label texts stay the label_text of the manifest
    assert corpus.manifest["label_text"]["squats"][0] == "squats"


def test_placements_and_activities_are_close_to_balanced() -> None:
    plans = plan_corpus(
        20.0, 0, 40, None, list(EXERCISES)
    )  # about 15 deals of each of the library's activities
    seconds = dict.fromkeys(PLACEMENT_NAMES, 0.0)
    per_act: dict[str, float] = dict.fromkeys(EXERCISES, 0.0)
    for p in plans:
        for s in p.steps:
            seconds[p.placement] += s.seconds
            if s.activity != "rest":
                per_act[s.activity] += s.seconds
    share = np.array(list(seconds.values())) / sum(seconds.values())
    assert share.min() > 0.7 / len(share) and share.max() < 1.3 / len(share)
    act = np.array(list(per_act.values()))
    assert act.min() > 0.5 * act.mean() and act.max() < 1.6 * act.mean()
    counts = {v: sum(p.variant == v for p in plans) for v in VARIANTS}
    assert abs(counts["gravity"] - counts["linear"]) <= 1


def test_same_seed_same_hash_whatever_the_worker_count(tmp_path: Path) -> None:
    kw = {**KW, "hours": 0.04, "seed": 3}
    one = generate_corpus(tmp_path / "one", workers=1, **kw)
    two = generate_corpus(tmp_path / "two", workers=2, **kw)
    other = generate_corpus(tmp_path / "other", workers=1, **{**kw, "seed": 4})
    assert one.manifest["content_hash"] == two.manifest["content_hash"] != other.manifest["content_hash"]


def test_restricting_placements_variants_rates_and_orientation(tmp_path: Path) -> None:
    ds = generate_corpus(
        tmp_path / "r",
        seed=1,
        placements="right_pocket,waist",
        variants=["linear"],
        source_rates_hz=[10.0],
        orientation="worn",
        **{**KW, "hours": 0.06},
    )
    assert set(np.unique(ds.extra["placement"])) == {
        PLACEMENT_NAMES.index(p) for p in ("right_pocket", "waist")
    }
    assert set(np.unique(ds.extra["variant"])) == {VARIANTS.index("linear")}
    assert set(np.unique(ds.extra["source_rate_hz"])) == {10.0}
    assert set(np.unique(ds.extra["orientation"])) == {ORIENTATIONS.index("worn")}
    # linear acceleration: no gravity left (mean magnitude of the window means far below 1 g)
    assert np.linalg.norm(ds.acc[:].mean(axis=1), axis=1).mean() < 0.15
    with pytest.raises(DataError, match="unknown placement"):
        generate_corpus(tmp_path / "x", placements="pocket", **KW)
    with pytest.raises(DataError, match="variants"):
        generate_corpus(tmp_path / "x", variants=["raw"], **KW)
    with pytest.raises(DataError, match="source rates"):
        generate_corpus(tmp_path / "x", source_rates_hz=[1000.0], **KW)


def test_cli_placement_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mujo_edge.training.text as text_mod
    from mujo_edge.cli import main
    from mujo_edge.cli.data_synth import DEFAULT_SOURCE_RATES_HZ as CLI_RATES

    assert CLI_RATES == DEFAULT_SOURCE_RATES_HZ
    monkeypatch.setattr(text_mod, "encode_texts", _fake_encode)
    base = ["data", "synth", "--hours", "0.02", "--seed", "2", "--activities", "squats"]
    out = tmp_path / "p"
    argv = [*base, "--out", str(out), "--placements", "chest,left_ankle", "--variants", "gravity"]
    assert main([*argv, "--source-rates", "25,100", "--orientation", "random"]) == 0
    ds = Dataset.open(out)
    assert ds.manifest["generator"]["placements"] == ["chest", "left_ankle"]
    assert set(np.unique(ds.extra["source_rate_hz"]).tolist()) <= {25.0, 100.0}
    assert main([*base, "--out", str(tmp_path / "w"), "--wrist", "left"]) == 0
    assert Dataset.open(tmp_path / "w").manifest["generator"]["placements"] == ["left_wrist"]
    assert main([*base, "--out", str(tmp_path / "bad"), "--source-rates", "fast"]) == 2
    assert main([*base, "--out", str(tmp_path / "bad"), "--placements", "nose"]) == 2
