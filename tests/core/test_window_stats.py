"""Window statistics beside the embedding: their definition, the head vectors, the euclidean open-set test,
heads taught on them, and their place in a bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mujo_edge.assets import PHYSIO_BUNDLE
from mujo_edge.bundle import Bundle, write_bundle_zip
from mujo_edge.errors import BundleError, ConfigError, ShapeError
from mujo_edge.features import N_STATS, STAT_NAMES, STATS_VERSION, window_stats
from mujo_edge.heads import (
    Head,
    StatsSpace,
    auroc,
    euclidean_centres,
    euclidean_scores,
    fit_head,
    taught_open_set,
    with_open_set,
)

RATE = 50.0


def _windows(n: int, seed: int, tilt: float = 0.0, hz: float = 1.5, amp: float = 0.3) -> np.ndarray:
    """(n, 100, 3) windows: gravity tilted by ``tilt`` rad in the x-z plane, a ``hz`` swing on y."""
    rng = np.random.default_rng(seed)
    t = np.arange(100) / RATE
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = np.empty((n, 100, 3), np.float32)
    x[:, :, 0] = np.sin(tilt)
    x[:, :, 1] = amp * np.sin(2 * np.pi * hz * t + phase)
    x[:, :, 2] = np.cos(tilt)
    return x + rng.normal(0, 0.02, x.shape).astype(np.float32)


def test_window_stats_are_the_documented_numbers() -> None:
    still = np.zeros((2, 100, 3), np.float32)
    still[:, :, 2] = 1.0
    s = window_stats(still)
    assert s.shape == (2, N_STATS) == (2, len(STAT_NAMES)) and s.dtype == np.float32
    np.testing.assert_allclose(s[0, :3], [0, 0, 1], atol=1e-6)  # gravity: the wrist's orientation
    np.testing.assert_allclose(s[0, 3:7], np.log(1e-3), atol=1e-4)  # a still window stays finite
    assert s[0, 7] == pytest.approx(1.0)
    # the rhythm: a 2 Hz swing of the norm lands in the first band (0.5-2.5 Hz), a 9 Hz one in the fourth
    for hz, band in ((2.0, 0), (9.0, 3)):
        t = np.arange(100) / RATE
        w = still[:1].copy()
        w[0, :, 2] += 0.5 * np.sin(2 * np.pi * hz * t)
        bands = window_stats(w)[0, 11:16]
        assert int(np.argmax(bands)) == band, (hz, bands)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((2, 100)), "shape"),
        (np.zeros((2, 10, 3)), "at least 20 samples"),
        (np.full((1, 100, 3), np.nan), "NaN"),
    ],
)
def test_window_stats_refuse_what_the_runners_refuse(bad: np.ndarray, match: str) -> None:
    with pytest.raises(ShapeError, match=match):
        window_stats(bad)


def test_stats_space_vectors_and_manifest_round_trip() -> None:
    x = _windows(50, 0)
    space = StatsSpace.fit(x, 0.3)
    emb = np.random.default_rng(1).normal(size=(50, 8)).astype(np.float32)
    v = space.vectors(emb, x)
    assert v.shape == (50, 8 + N_STATS)
    np.testing.assert_allclose(np.linalg.norm(v[:, :8], axis=1), 1.0, rtol=1e-5)
    z = v[:, 8:] / 0.3  # standardized on the windows it was fitted on
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-4)
    back = StatsSpace.from_manifest(json.loads(json.dumps(space.to_manifest())))
    np.testing.assert_array_equal(back.vectors(emb, x), v)
    with pytest.raises(ConfigError, match="update mujo-edge"):
        StatsSpace(space.mean, space.std, 0.3, "window-stats-0")
    with pytest.raises(ConfigError, match="positive"):
        StatsSpace(space.mean, space.std, 0.0)
    with pytest.raises(ConfigError, match="std"):
        StatsSpace(space.mean, np.zeros(N_STATS), 0.3)
    with pytest.raises(ShapeError, match="windows"):
        space.vectors(emb, x[:10])


def test_euclidean_centres_find_each_class_mode() -> None:
    rng = np.random.default_rng(2)
    modes = np.array([[0, 0], [10, 0], [0, 10]], np.float64)
    x = np.concatenate([m + rng.normal(0, 0.1, (40, 2)) for m in modes])
    y = np.zeros(len(x), np.int64)  # one class seen in three ways
    c = euclidean_centres(x, y, 1, per_class=3, seed=0)
    assert c.shape == (3, 2)
    assert np.abs(np.sort(c, axis=0) - np.sort(modes, axis=0)).max() < 0.1
    np.testing.assert_array_equal(euclidean_centres(x[:2], y[:2], 1, per_class=3), x[:2].astype(np.float32))
    np.testing.assert_allclose(euclidean_centres(x, y, 1, per_class=1)[0], x.mean(0), rtol=1e-5)
    assert euclidean_scores(np.array([[10.0, 0.1]]), c)[0] == pytest.approx(-0.01, abs=0.05)
    with pytest.raises(ShapeError, match="class 1 has no example"):
        euclidean_centres(x, y, 2, per_class=2)


def test_statistics_reject_what_the_embedding_cannot_tell_apart() -> None:
    """Known and unknown windows with the SAME embedding, told apart only by the wrist's orientation: the
    cosine test cannot, the euclidean test over statistics can (threshold from known windows only)."""
    rng = np.random.default_rng(3)
    known_tr, known_va, known_te = (_windows(200, s) for s in (10, 11, 12))
    unknown = _windows(200, 13, tilt=1.2)  # the same swing, the watch turned on its side
    labels = np.zeros(200, np.int64)
    emb = {k: rng.normal([1.0, 0.0, 0.0], 0.05, (200, 3)).astype(np.float32) for k in ("tr", "va", "te", "u")}
    base = Head("logits", ["swing"])
    cos = with_open_set(base, emb["tr"], labels, emb["va"], kind="cosine")
    stats = StatsSpace.fit(known_tr, 0.3)
    euc = with_open_set(
        base,
        emb["tr"],
        labels,
        emb["va"],
        kind="euclidean",
        per_class=4,
        stats=stats,
        train_windows=known_tr,
        val_windows=known_va,
    )
    assert euc.score_kind == "euclidean" and euc.needs_windows and euc.embed_dim == 3
    assert euc.prototypes is not None and euc.prototypes.shape == (4, 3 + N_STATS)
    logits = np.zeros((200, 1), np.float32)
    s_cos = (cos(logits, emb["te"])[1], cos(logits, emb["u"])[1])
    s_euc = (euc(logits, emb["te"], known_te)[1], euc(logits, emb["u"], unknown)[1])
    assert auroc(*s_cos) < 0.7
    assert auroc(*s_euc) > 0.99
    assert euc.known(s_euc[0]).mean() > 0.85 and not euc.known(s_euc[1]).any()
    with pytest.raises(ShapeError, match="pass the \\(B, W, 3\\) windows"):
        euc(logits, emb["te"])


def test_teaching_on_statistics_separates_what_the_embedding_merges() -> None:
    """Two activities the embedding maps to the same point, one done with the wrist turned: ncm on the
    unit embedding guesses, ncm on the head vectors (embedding and statistics) gets them, with an
    open-set test in the base bundle's euclidean metric."""
    rng = np.random.default_rng(4)
    flat, turned = _windows(30, 20), _windows(30, 21, tilt=1.0)
    x = np.concatenate([flat[:5], turned[:5]])
    y = np.array([0] * 5 + [1] * 5)
    emb = rng.normal([0.0, 1.0], 0.05, (60, 2)).astype(np.float32)
    stats = StatsSpace.fit(np.concatenate([flat, turned]), 0.3)
    plain = fit_head(emb[:10], y, ["flat", "turned"])
    taught = fit_head(emb[:10], y, ["flat", "turned"], stats=stats, windows=x)
    assert taught.stats is stats and taught.weight is not None and taught.weight.shape == (2, 2 + N_STATS)
    test_x = np.concatenate([flat[5:], turned[5:]])
    test_y = np.array([0] * 25 + [1] * 25)
    test_e = np.concatenate([emb[10:35], emb[35:60]])
    acc_plain = (plain(test_e, test_e)[0].argmax(1) == test_y).mean()
    acc_taught = (taught(test_e, test_e, test_x)[0].argmax(1) == test_y).mean()
    assert acc_taught >= 0.9 and acc_plain <= 0.7, (acc_taught, acc_plain)
    # the same metric as a base bundle with a euclidean test over the same statistics
    base = with_open_set(
        Head("logits", ["a"]),
        emb[:30],
        np.zeros(30, np.int64),
        emb[30:],
        kind="euclidean",
        stats=stats,
        train_windows=flat,
        val_windows=turned,
    )
    head = taught_open_set(taught, emb[:10], y, base, windows=x)
    assert head.score_kind == "euclidean" and head.stats is stats and head.threshold is not None
    assert head.prototypes is not None and head.prototypes.shape == (2, 2 + N_STATS)
    assert head.known(head(test_e, test_e, test_x)[1]).mean() > 0.8


def test_bundle_keeps_the_statistics_and_refuses_damaged_ones(tmp_path) -> None:
    b = Bundle.open(PHYSIO_BUNDLE)
    runner = b.runner("tflite")
    x = _windows(40, 30)
    emb = runner.run(x, embedding=True)[1]
    y = np.arange(40) % len(b.labels)
    stats = StatsSpace.fit(x, 0.3)
    head = with_open_set(
        Head("logits", b.model_labels),
        emb,
        y,
        emb,
        kind="euclidean",
        per_class=2,
        stats=stats,
        train_windows=x,
        val_windows=x,
    )
    out = b.derive(tmp_path / "stats.mujo", head=head)
    again = Bundle.open(out.path)
    assert again.head.score_kind == "euclidean" and again.head.stats is not None
    assert again.manifest["head"]["stats"]["features"] == STATS_VERSION
    np.testing.assert_array_equal(again.head.stats.mean, stats.mean)
    labels, _, scores = again.classify(x, runner)
    np.testing.assert_allclose(scores, head(runner.run(x)[0], emb, x)[1], rtol=1e-6)
    assert len(labels) == 40
    # a damaged statistics entry fails Bundle.open with the regenerate advice
    m = json.loads(json.dumps(again.manifest))
    m["head"]["stats"]["std"] = "wide"
    files = {n: again.file_bytes(n) for n in m["files"]}
    with pytest.raises(BundleError, match="head stats") as e:
        write_bundle_zip(tmp_path / "bad.mujo", m, files)
    assert "nothing was written" in str(e.value) and not list(tmp_path.glob("bad.mujo*"))
    # ... and one written over a working bundle leaves that bundle as it was
    before = out.path.read_bytes()
    with pytest.raises(BundleError, match="the bundle already there is unchanged"):
        write_bundle_zip(out.path, m, files)
    assert out.path.read_bytes() == before and Bundle.open(out.path).head.stats is not None
    assert not list(tmp_path.glob("stats.mujo.tmp"))
