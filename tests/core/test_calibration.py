"""PIT calibration: distribution matching, monotonicity, identity, round trips, errors, sklearn reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from mujo_edge.calibration import PitCalibration, SupervisedPit
from mujo_edge.errors import CalibrationError

N = 20_000


def _gamma_normal(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Source: skewed gamma channels (real-like); target: normal channels (virtual-like), (N, 3) each."""
    rng = np.random.default_rng(seed)
    source = np.column_stack([rng.gamma(2.0, 0.3, N), rng.gamma(5.0, 0.1, N) - 1.0, rng.exponential(0.5, N)])
    target = np.column_stack([rng.normal(0.0, 1.0, N), rng.normal(-1.0, 0.2, N), rng.normal(0.3, 0.05, N)])
    return source, target


def test_pit_maps_gamma_onto_normal_ks_small() -> None:
    source, target = _gamma_normal(0)
    pit = PitCalibration.fit(source, target)
    mapped = pit.apply(source)
    assert mapped.dtype == np.float32 and mapped.shape == source.shape
    fresh_source, fresh_target = _gamma_normal(1)
    fresh = pit.apply(fresh_source)
    for c in range(3):
        before = stats.ks_2samp(source[:, c], target[:, c]).statistic
        after = stats.ks_2samp(mapped[:, c], target[:, c]).statistic
        assert before > 0.3, f"channel {c}: the test pair should start far apart, KS {before:.3f}"
        # The map itself: the fitted real data lands on the fitted virtual distribution.
        assert after < 0.005, f"channel {c}: KS after PIT {after:.4f}"
        # New data from the same source: limited by sampling noise of four 20k samples (two independent
        # 20k samples of one distribution alone differ by KS ~0.01).
        assert stats.ks_2samp(fresh[:, c], fresh_target[:, c]).statistic < 0.03


def test_pit_works_on_window_shaped_arrays() -> None:
    rng = np.random.default_rng(2)
    source = rng.gamma(2.0, 0.3, (200, 100, 3)).astype(np.float32)
    target = rng.normal(0.0, 1.0, (150, 100, 3)).astype(np.float32)
    pit = PitCalibration.fit(source, target)
    assert pit.source_q.shape == (3, 256) and pit.source_q.dtype == np.float32
    out = pit.apply(source[:7])
    assert out.shape == (7, 100, 3)
    # Same answer as applying sample by sample: windows are just (..., C).
    np.testing.assert_array_equal(out.reshape(-1, 3), pit.apply(source[:7].reshape(-1, 3)))
    assert abs(float(pit.apply(source)[..., 0].std()) - 1.0) < 0.02


def test_map_finite_is_apply_without_its_checks() -> None:
    # What the pipeline calls on its finite grid samples and windows: the same float32 bits as apply, in both
    # out-of-range modes, for float32 windows and float64 samples, values beyond the table included.
    source, target = _gamma_normal(8)
    rng = np.random.default_rng(8)
    for mode in ("clamp", "linear"):
        pit = PitCalibration.fit(source, target, n_quantiles=64, out_of_range=mode)  # type: ignore[arg-type]
        windows = (rng.normal(0.6, 1.5, (4, 100, 3))).astype(np.float32)
        samples = rng.normal(0.6, 3.0, (50, 3))
        for x in (windows, samples, windows[0, ::2]):
            got = pit.map_finite(x)
            assert got.dtype == np.float32 and got.shape == x.shape
            np.testing.assert_array_equal(got, pit.apply(x))


def test_pit_is_monotone_non_decreasing() -> None:
    source, target = _gamma_normal(3)
    pit = PitCalibration.fit(source, target, n_quantiles=64)
    for mode in ("clamp", "linear"):
        pit.out_of_range = mode  # type: ignore[assignment]
        x = np.linspace(-5, 10, 20_001)
        y = pit.apply(np.repeat(x[:, None], 3, axis=1))
        assert (np.diff(y, axis=0) >= 0).all(), mode


def test_pit_identity_when_source_equals_target() -> None:
    rng = np.random.default_rng(4)
    data = rng.normal(0.0, 1.0, (5_000, 3))
    pit = PitCalibration.fit(data, data)
    x = rng.uniform(data.min(axis=0), data.max(axis=0), (1_000, 3))
    np.testing.assert_allclose(pit.apply(x), x, atol=1e-6)


def test_pit_outside_range_clamps_or_extrapolates() -> None:
    rng = np.random.default_rng(5)
    source = rng.uniform(0.0, 1.0, (10_000, 1))
    target = rng.uniform(10.0, 12.0, (10_000, 1))  # the map is ~ y = 10 + 2 x
    pit = PitCalibration.fit(source, target)
    lo, hi = pit.target_q[0, 0], pit.target_q[0, -1]
    far = np.array([[-1.0], [0.5], [2.0]])
    clamped = pit.apply(far)[:, 0]
    assert clamped[0] == pytest.approx(lo) and clamped[2] == pytest.approx(hi)
    assert clamped[1] == pytest.approx(11.0, abs=0.05)
    linear = PitCalibration.fit(source, target, out_of_range="linear").apply(far)[:, 0]
    # One source range beyond each end, the continued slope stays within 10 % of the true 2.
    assert linear[0] == pytest.approx(10.0 + 2.0 * -1.0, abs=0.2)
    assert linear[2] == pytest.approx(10.0 + 2.0 * 2.0, abs=0.2)
    assert linear[1] == pytest.approx(clamped[1])


def test_pit_ties_in_source_stay_a_function() -> None:
    # A quantized sensor: only a few distinct values; the map must still be monotone and finite.
    rng = np.random.default_rng(6)
    source = np.round(rng.normal(0.0, 1.0, (5_000, 1)) * 2) / 2
    target = rng.normal(5.0, 1.0, (5_000, 1))
    pit = PitCalibration.fit(source, target)
    y = pit.apply(np.sort(source, axis=0))
    assert np.isfinite(y).all() and (np.diff(y[:, 0]) >= 0).all()
    assert len(np.unique(y)) == len(np.unique(source))


def test_pit_round_trip_through_json() -> None:
    source, target = _gamma_normal(7)
    pit = PitCalibration.fit(source, target, out_of_range="linear")
    text = json.dumps(pit.to_dict())
    back = PitCalibration.from_dict(json.loads(text))
    assert back.out_of_range == "linear" and back.n_source == N
    x = np.concatenate([source[:500], [[-9.0, -9.0, -9.0], [9.0, 9.0, 9.0]]])
    np.testing.assert_array_equal(back.apply(x), pit.apply(x))
    np.testing.assert_array_equal(back.source_q, pit.source_q)
    assert len(text) < 30_000, "a 3-channel table should stay a few tens of kB"


def test_pit_matches_sklearn_quantile_transformer_reference() -> None:
    from sklearn.preprocessing import QuantileTransformer

    source, target = _gamma_normal(8)
    q = 256
    real = QuantileTransformer(n_quantiles=q, subsample=N + 1).fit(source)
    virtual = QuantileTransformer(n_quantiles=q, subsample=N + 1).fit(target)
    x = np.concatenate([_gamma_normal(9)[0][:2_000], [[-5.0, -5.0, -5.0], [50.0, 50.0, 50.0]]])
    reference = virtual.inverse_transform(real.transform(x))
    ours = PitCalibration.fit(source, target, n_quantiles=q).apply(x)
    np.testing.assert_allclose(ours, reference, atol=2e-5)


@pytest.mark.parametrize(
    ("source", "target", "match"),
    [
        (np.zeros((0, 3)), np.ones((10, 3)), "empty"),
        (np.array([[np.nan, 0, 0], [1, 1, 1]]), np.ones((10, 3)), "NaN"),
        (np.ones((10, 3)), np.full((10, 3), np.inf), "NaN or infinite"),
        (np.ones((10, 3)), np.ones((10, 2)), "channels"),
        (np.array(["a", "b"]), np.ones((10, 3)), "numeric"),
    ],
)
def test_pit_fit_rejects_bad_input(source: np.ndarray, target: np.ndarray, match: str) -> None:
    with pytest.raises(CalibrationError, match=match):
        PitCalibration.fit(source, target)


def test_pit_apply_and_from_dict_reject_bad_input() -> None:
    pit = PitCalibration.fit(np.random.default_rng(0).normal(size=(100, 3)), np.ones((100, 3)))
    with pytest.raises(CalibrationError, match="channels last"):
        pit.apply(np.zeros((10, 2)))
    with pytest.raises(CalibrationError, match="NaN"):
        pit.apply(np.array([[0.0, np.nan, 0.0]]))
    with pytest.raises(CalibrationError, match="n_quantiles"):
        PitCalibration.fit(np.ones((10, 3)), np.ones((10, 3)), n_quantiles=1)
    d = pit.to_dict()
    with pytest.raises(CalibrationError, match="schema_version"):
        PitCalibration.from_dict({**d, "schema_version": 99})
    with pytest.raises(CalibrationError, match="format"):
        PitCalibration.from_dict({"format": "something-else"})
    with pytest.raises(CalibrationError, match="non-decreasing"):
        PitCalibration.from_dict({**d, "source_q": [r[::-1] for r in d["source_q"]]})


def test_supervised_pit_uses_each_class_table() -> None:
    rng = np.random.default_rng(10)
    # Class 0: real ~ N(0, 1) -> virtual ~ N(5, 1); class 1: real ~ N(0, 1) -> virtual ~ N(-5, 0.5).
    source = rng.normal(0.0, 1.0, (400, 100, 3))
    s_lab = np.repeat([0, 1], 200)
    target = np.concatenate([rng.normal(5.0, 1.0, (150, 100, 3)), rng.normal(-5.0, 0.5, (150, 100, 3))])
    t_lab = np.repeat([0, 1], 150)
    sup = SupervisedPit.fit(source, s_lab, target, t_lab)
    assert sup.classes == [0, 1]
    out = sup.apply(source, s_lab)
    assert out.shape == source.shape and out.dtype == np.float32
    assert float(out[s_lab == 0].mean()) == pytest.approx(5.0, abs=0.05)
    assert float(out[s_lab == 1].mean()) == pytest.approx(-5.0, abs=0.05)
    assert float(out[s_lab == 1].std()) == pytest.approx(0.5, abs=0.02)
    # The unsupervised table mixes the classes: it cannot reproduce both means.
    mixed = PitCalibration.fit(source, target).apply(source)
    assert abs(float(mixed[s_lab == 0].mean()) - 5.0) > 2.0
    back = SupervisedPit.from_dict(json.loads(json.dumps(sup.to_dict())))
    np.testing.assert_array_equal(back.apply(source[:5], s_lab[:5]), out[:5])


def test_supervised_pit_errors() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(20, 10, 3))
    with pytest.raises(CalibrationError, match=r"classes \[2\]"):
        SupervisedPit.fit(x, np.repeat([0, 2], 10), x, np.zeros(20, dtype=int))
    with pytest.raises(CalibrationError, match=r"source_labels must be \(20,\)"):
        SupervisedPit.fit(x, np.zeros(19, dtype=int), x, np.zeros(20, dtype=int))
    sup = SupervisedPit.fit(x, np.zeros(20, dtype=int), x, np.zeros(20, dtype=int))
    with pytest.raises(CalibrationError, match=r"no calibration table for classes \[1\]"):
        sup.apply(x, np.ones(20, dtype=int))
    with pytest.raises(CalibrationError, match="format"):
        SupervisedPit.from_dict(PitCalibration.fit(x, x).to_dict())
