"""The synthetic shoulder exercises against the real seglearn watch recordings (gravity direction, rhythm)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mujo_edge.training.synth.realism import (
    SHOULDER,
    dominant_frequency,
    exercise_stats,
    real_recordings,
    synthetic_recordings,
)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("seglearn") is None,
    reason="needs seglearn (training extra) for the real watch recordings",
)


def test_dominant_frequency_of_a_sinusoid() -> None:
    t = np.arange(1500) / 50.0
    acc = np.stack([np.sin(2 * np.pi * 0.6 * t), 0.2 * np.sin(2 * np.pi * 2.0 * t), np.ones_like(t)], 1)
    assert dominant_frequency(acc) == pytest.approx(0.6, abs=0.06)


def test_synthetic_shoulder_exercises_look_like_the_real_ones() -> None:
    real = exercise_stats(real_recordings())
    synth = exercise_stats(synthetic_recordings(n_subjects=5, seconds=20.0, seed=0))
    assert set(real) == set(synth) == set(SHOULDER)
    for ex in SHOULDER:
        r, s = real[ex], synth[ex]
        # where gravity points in the watch frame during the exercise (g)
        np.testing.assert_allclose(s.mean, r.mean, atol=0.25, err_msg=ex)
        # how much the watch moves, per axis (g)
        np.testing.assert_allclose(s.std, r.std, atol=0.25, err_msg=ex)
        # the rep rhythm: 0.5 Hz raises, 0.8 Hz pendulum, 1.3 Hz trapezius pulls
        assert abs(s.freq_hz - r.freq_hz) < 0.25, (ex, s.freq_hz, r.freq_hz)
