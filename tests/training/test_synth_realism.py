"""The synthetic shoulder exercises against the real seglearn watch recordings (gravity direction, rhythm)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mujo_edge.training.synth.realism import (
    SHOULDER,
    dominant_frequency,
    exercise_stats,
    gyro_std,
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


def test_synthetic_gyroscope_turns_about_the_real_axes() -> None:
    real = real_recordings()
    synth = synthetic_recordings(n_subjects=2, seconds=20.0, seed=1)
    g_real, g_synth = gyro_std(real), gyro_std(synth)
    # the pendulum is a cone: both turn about y and z alike, and twist about the forearm the same way round
    np.testing.assert_allclose(g_synth["PEN"], g_real["PEN"], rtol=0.3)
    assert real.gyr is not None and synth.gyr is not None
    twist_real = np.concatenate(real.gyr["PEN"])[:, 0].mean()
    twist_synth = np.concatenate(synth.gyr["PEN"])[:, 0].mean()
    assert twist_real > 0.2 and twist_synth > 0.2
    # internal / external rotation turn the thumb-up forearm about the vertical: the watch's y axis
    for ex in ("IR", "ER"):
        assert int(np.argmax(g_real[ex])) == int(np.argmax(g_synth[ex])) == 1, ex
