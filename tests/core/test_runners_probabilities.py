"""The single-window fast paths of both runners give the softmax of the model's own logits, and keep it."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.bundle import Bundle
from mujo_edge.constants import WINDOW


def _windows(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.3, (n, WINDOW, 3)).astype(np.float32)
    w[:, :, 2] += 1.0
    return w


def _softmax64(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    "fmt, module",
    [("tflite", "ai_edge_litert"), pytest.param("executorch", "executorch", marks=pytest.mark.export)],
)
def test_batch_one_probabilities_are_the_softmax_of_the_logits(fmt: str, module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} not installed")
    r = Bundle.open(DEFAULT_BUNDLE).runner(fmt)
    x = _windows(5)
    for i in range(len(x)):
        p = r.predict(x[i : i + 1])
        assert p.dtype == np.float32 and p.shape == (1, len(r.labels))
        kept = p.copy()
        want = _softmax64(r.logits(x[i : i + 1])).astype(np.float32)
        # the float64 softmax rounded to float32 (LiteRT's int8 path reads exp from a table: within an ulp)
        np.testing.assert_allclose(p, want, rtol=1e-6, atol=1e-12)
        r.predict(x[(i + 1) % len(x)][None])  # the next call must not change what this one returned
        np.testing.assert_array_equal(p, kept)
    np.testing.assert_allclose(r.predict(x), _softmax64(r.logits(x)), rtol=1e-6, atol=1e-9)
