"""Heads and open-set scoring: numbers a reader can check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mujo_edge.errors import ConfigError, ShapeError
from mujo_edge.heads import (
    Head,
    auroc,
    choose_threshold,
    class_centres,
    class_gaussians,
    class_prototypes,
    fit_head,
    keep_curve,
    looser_curve,
    mahalanobis_scores,
    taught_open_set,
    text_head,
    with_open_set,
)


def test_auroc_matches_pair_counting() -> None:
    k = np.array([0.9, 0.8, 0.3])
    u = np.array([0.5, 0.3, 0.1])
    # pairs known > unknown: 0.9 beats 3, 0.8 beats 3, 0.3 beats 0.1 and ties 0.3 (half): 7.5 / 9
    assert auroc(k, u) == pytest.approx(7.5 / 9)
    assert auroc(u, k) == pytest.approx(1.5 / 9)


def test_threshold_keeps_the_asked_share_of_known_windows() -> None:
    s = np.arange(100, dtype=np.float64)
    t = choose_threshold(s, keep=0.95)
    assert t == pytest.approx(4.95)
    assert (s >= t).mean() == pytest.approx(0.95)


def test_mahalanobis_of_a_unit_gaussian_is_the_squared_distance() -> None:
    rng = np.random.default_rng(0)
    e = rng.standard_normal((20000, 2)) + np.array([[3.0, 0.0]])
    means, prec = class_gaussians(e, np.zeros(20000, np.int64), 1)
    np.testing.assert_allclose(means[0], [3.0, 0.0], atol=0.03)
    np.testing.assert_allclose(prec, np.eye(2), atol=0.05)
    s = mahalanobis_scores(np.array([[3.0, 2.0], [5.0, 0.0]]), means, prec)
    np.testing.assert_allclose(s, [-4.0, -4.0], rtol=0.06)


def _two_clusters(seed: int, n_val: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray]:
    """(rng, 400 training embeddings, their labels, ``n_val`` validation embeddings) of two unit Gaussians
    5 apart in 4-d."""
    rng = np.random.default_rng(seed)
    centers = np.array([[5.0, 0, 0, 0], [0, 5.0, 0, 0]])
    y = rng.integers(0, 2, 400)
    train = centers[y] + rng.standard_normal((400, 4))
    val = centers[rng.integers(0, 2, n_val)] + rng.standard_normal((n_val, 4))
    return rng, train, y, val


def test_open_set_rejects_a_far_cluster() -> None:
    rng, train, y, val = _two_clusters(1, 200)
    far = np.array([0, 0, 6.0, 0]) + rng.standard_normal((200, 4))
    h = with_open_set(Head("logits", ["a", "b"]), train, y, val)
    assert h.score_kind == "mahalanobis"
    assert h.known(h.scores(val)).mean() == pytest.approx(0.95, abs=0.01)
    assert h.known(h.scores(far)).mean() == 0.0
    assert auroc(h.scores(val), h.scores(far)) == 1.0


def test_class_centres_cover_a_class_seen_in_two_ways() -> None:
    # class 0 is two tight directions (a watch on either wrist), class 1 one; the single unit mean of class 0
    # lies between its two modes, where no window of it is, and scores a window of that mode at cos 45 deg
    rng = np.random.default_rng(3)
    modes = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1.0]])
    y_mode = rng.integers(0, 3, 600)
    e = modes[y_mode] + 0.02 * rng.standard_normal((600, 4))
    y = (y_mode == 2).astype(np.int64)
    one = class_centres(e, y, 2, per_class=1)
    np.testing.assert_array_equal(one, class_prototypes(e, y, 2))
    two = class_centres(e, y, 2, per_class=2, seed=5)
    assert two.shape == (4, 4) and two.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(two, axis=1), 1.0, rtol=1e-6)
    # each mode of class 0 gets its own centre; class 1's two centres both sit on its one mode
    assert sorted(np.abs(two[:2]).argmax(1).tolist()) == [0, 1]
    assert (np.abs(two[2:]).argmax(1) == 3).all()
    h1 = with_open_set(Head("logits", ["a", "b"]), e, y, e, kind="cosine")
    h2 = with_open_set(Head("logits", ["a", "b"]), e, y, e, kind="cosine", per_class=2)
    assert h2.prototypes is not None and h2.prototypes.shape == (4, 4) and h2.score_kind == "cosine"
    # a window between the modes of class 0 (no such window exists in training) now scores low
    between = np.array([[1.0, 1.0, 0.0, 0.0]])
    assert h1.known(h1.scores(between))[0] and not h2.known(h2.scores(between))[0]
    with pytest.raises(ConfigError, match="per_class"):
        class_centres(e, y, 2, per_class=0)
    with pytest.raises(ConfigError, match="cosine"):
        with_open_set(Head("logits", ["a", "b"]), e, y, e, per_class=2)
    with pytest.raises(ShapeError, match="no example"):
        class_centres(e, y, 3, per_class=2)


def test_a_reject_label_means_none_of_these() -> None:
    # three classes, "other" trained on the rest of human motion: a window whose most probable class is
    # "other" is unknown whatever its prototype score, and "other" never appears as a window's label
    rng = np.random.default_rng(4)
    dirs = np.eye(3, 4)
    y = rng.integers(0, 3, 300)
    e = dirs[y] + 0.05 * rng.standard_normal((300, 4))
    base = Head("logits", ["walk", "run", "other"])
    with pytest.raises(ConfigError, match="open-set test"):
        Head("logits", ["walk", "other"], reject=("other",))  # no test to report it through
    with pytest.raises(ConfigError, match="not labels"):
        with_open_set(base, e, y, e, reject=["jump"])
    h = with_open_set(base, e, y, e, kind="cosine", val_y=y, reject=["other"])
    # prototypes of the two real labels only; threshold from their validation windows alone
    assert h.reject == ("other",) and h.prototypes is not None and h.prototypes.shape == (2, 4)
    assert h.threshold is not None and h.threshold > 0.9
    logits = np.array([[5.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, 1.0, 4.0]])
    emb = np.array([dirs[0], dirs[0], dirs[1]])  # the second and third embed like known windows
    probs, scores = h(logits, emb)
    assert probs[:, 2].tolist() == [0.0, 0.0, 0.0]
    assert probs.argmax(1).tolist() == [0, 0, 1]  # nearest real label
    assert h.known(scores).tolist() == [True, False, False]
    assert scores[1] == pytest.approx(h.threshold - 1.0)
    for bad in (("jump",), ("walk", "run", "other")):
        with pytest.raises(ConfigError, match="some, not all"):
            Head("logits", ["walk", "run", "other"], prototypes=dirs[:2], threshold=0.5, reject=bad)


def test_fit_head_ncm_and_logreg_classify_separable_clusters() -> None:
    rng = np.random.default_rng(2)
    dirs = np.eye(3, 8) * 4
    y = np.repeat(np.arange(3), 5)
    e = dirs[y] + 0.5 * rng.standard_normal((15, 8))
    test_y = np.repeat(np.arange(3), 50)
    test = dirs[test_y] + 0.5 * rng.standard_normal((150, 8))
    for method in ("ncm", "logreg"):
        h = fit_head(e, y, ["a", "b", "c"], method=method)
        probs, _ = h(np.zeros((150, 3)), test)
        assert (probs.argmax(1) == test_y).mean() == 1.0
        np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    base = with_open_set(Head("logits", ["a", "b", "c"]), test, test_y, test)
    taught = taught_open_set(h, e, y, base)
    assert taught.score_kind == "mahalanobis" and taught.threshold != base.threshold  # leave-one-out
    assert taught.known(taught.scores(test)).mean() > 0.8
    few = taught_open_set(fit_head(e[::5], y[::5], ["a", "b", "c"]), e[::5], y[::5], base)
    assert few.threshold == base.threshold  # one example per class: the base bundle's threshold


def test_text_head_scores_are_scaled_cosines() -> None:
    v = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    h = text_head(v, ["x", "y"], scale=10.0)
    probs, _ = h(np.zeros((1, 5)), np.array([[3.0, 0.0]]))
    assert probs[0, 0] == pytest.approx(1 / (1 + np.exp(-10.0)), rel=1e-5)


def test_bad_heads_are_refused() -> None:
    with pytest.raises(ConfigError, match="kind"):
        Head("softmax", ["a"])
    with pytest.raises(ShapeError, match=r"\(2, D\) weight"):
        Head("linear", ["a", "b"], weight=np.zeros((3, 4)))
    with pytest.raises(ConfigError, match="both prototypes and a threshold"):
        Head("logits", ["a"], prototypes=np.zeros((1, 4)))


def test_the_keep_curve_moves_the_threshold_as_the_validation_windows_say() -> None:
    _, train, y, val = _two_clusters(2, 300)
    h = with_open_set(Head("logits", ["a", "b"]), train, y, val, kind="cosine", keep=0.93)
    curve = h.keep_curve
    assert curve is not None and curve[0, 0] == 0.5 and curve[-1, 0] == 1.0
    assert 0.93 in curve[:, 0] and (np.diff(curve[:, 1]) <= 0).all()
    # the bundle's own keep gives its own threshold back exactly; every other keeps what it says
    assert h.at_keep(0.93).threshold == h.threshold
    s = h.scores(val)
    for keep in (0.5, 0.8, 0.9, 0.99):
        thr = h.at_keep(keep).threshold
        assert thr == choose_threshold(s, keep)
        assert (s >= thr).mean() == pytest.approx(keep, abs=1 / 300)
    # between two recorded fractions: linear between their thresholds
    mid = h.at_keep(0.805).threshold
    assert mid == pytest.approx((h.at_keep(0.8).threshold + h.at_keep(0.81).threshold) / 2)
    assert h.at_keep(0.8).keep_curve is curve  # the curve stays: the keep can move again


def test_a_keep_the_head_cannot_give_is_refused_with_what_to_do() -> None:
    rng = np.random.default_rng(3)
    e = rng.standard_normal((60, 4))
    y = np.arange(60) % 2
    h = with_open_set(Head("logits", ["a", "b"]), e, y, e, kind="cosine")
    for keep in (0.3, 1.2, float("nan")):
        with pytest.raises(ConfigError, match=r"keep must be in \[0.5, 1\]"):
            h.at_keep(keep)
    with pytest.raises(ConfigError, match="no open-set test"):
        Head("logits", ["a", "b"]).at_keep(0.9)
    old = Head("logits", ["a", "b"], prototypes=h.prototypes, threshold=h.threshold)
    with pytest.raises(ConfigError, match="export it again"):
        old.at_keep(0.9)
    for bad, message in (
        (np.array([[0.9, 0.1], [0.8, 0.2]]), "strictly increasing"),
        (np.array([[0.8, 0.1], [0.9, 0.2]]), "cannot rise"),
        (np.array([0.8, 0.1]), r"\(K, 2\)"),
    ):
        with pytest.raises((ConfigError, ShapeError), match=message):
            Head("logits", ["a", "b"], prototypes=h.prototypes, threshold=h.threshold, keep_curve=bad)
    with pytest.raises(ConfigError, match="belongs to an open-set test"):
        Head("logits", ["a", "b"], keep_curve=h.keep_curve)


def test_a_taught_threshold_keeps_a_curve_of_its_own_or_the_base_one() -> None:
    _, e, y, _ = _two_clusters(4, 1)
    base = with_open_set(Head("logits", ["a", "b"]), e, y, e, kind="cosine")
    taught = fit_head(e[:20], y[:20], ["a", "b"])
    own = taught_open_set(taught, e[:20], y[:20], base)
    assert own.keep_curve is not None and own.at_keep(0.95).threshold == own.threshold
    few = taught_open_set(taught, e[:3], np.array([0, 1, 0]), base)  # too few for the leave-one-out
    assert few.threshold == base.threshold and few.keep_curve is base.keep_curve
    loose = looser_curve(own.keep_curve, base.keep_curve)
    assert loose is not None
    np.testing.assert_array_equal(loose[:, 1], np.minimum(own.keep_curve[:, 1], base.keep_curve[:, 1]))
    assert looser_curve(own.keep_curve, None) is None
    assert looser_curve(own.keep_curve, own.keep_curve[:-1]) is None
    assert keep_curve(np.arange(10.0), 0.95)[:, 0].tolist().count(0.95) == 1
