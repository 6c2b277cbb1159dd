"""The single-window fast paths of both runners give the softmax of the model's own logits, and keep it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.bundle import Bundle, TensorSpec, write_bundle_zip
from mujo_edge.constants import PROBABILITIES, PROBABILITIES_RTOL, WINDOW
from mujo_edge.errors import BundleError, ShapeError
from mujo_edge.runners import Runner


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
        # the float64 softmax rounded to float32 (ExecuTorch), or the runtime's float32 softmax (LiteRT)
        np.testing.assert_allclose(p, want, rtol=_rtol(r), atol=1e-12)
        r.predict(x[(i + 1) % len(x)][None])  # the next call must not change what this one returned
        np.testing.assert_array_equal(p, kept)
    np.testing.assert_allclose(r.predict(x), _softmax64(r.logits(x)), rtol=_rtol(r), atol=1e-9)


def _rtol(r: Runner) -> float:
    """How close a runner's probabilities are to the float64 softmax of its logits: the model's own
    ``probabilities`` output within what export allows, a softmax in Python within a float32 ulp or so."""
    return PROBABILITIES_RTOL if r.entry.output(PROBABILITIES) is not None else 1e-6


@pytest.mark.skipif(importlib.util.find_spec("ai_edge_litert") is None, reason="ai_edge_litert not installed")
def test_litert_probabilities_come_from_the_model_one_window_or_a_batch_alike(tmp_path: Path) -> None:
    """The shipped .tflite carries the runtime's softmax: predict returns it, the same bits whether a window
    goes alone, in a batch through the batch-64 model, or window by window; a bundle whose manifest does not
    name the output gets the exact softmax of the logits in Python."""
    bundle = Bundle.open(DEFAULT_BUNDLE)
    r = bundle.runner("tflite")
    assert r.entry.output(PROBABILITIES) == TensorSpec(PROBABILITIES, (1, len(r.labels)), "float32", 2)
    assert r.batch == 64
    x = _windows(70)  # one batch-64 call, then 6 single calls
    together = r.predict(x)
    alone = np.concatenate([r.predict(x[i : i + 1]) for i in range(len(x))])
    np.testing.assert_array_equal(together, alone)
    logits = r.logits(x)
    np.testing.assert_allclose(together, _softmax64(logits), rtol=PROBABILITIES_RTOL, atol=1e-12)
    assert not np.array_equal(together, _softmax64(logits).astype(np.float32))  # the runtime's, not ours
    # the same model files, the output not named in the manifest: the softmax in Python, within an ulp
    m = json.loads(json.dumps(bundle.manifest))
    for e in m["models"]:
        for spec in (e, e.get("batch") or {}):
            spec["outputs"] = [o for o in spec.get("outputs", []) if o["name"] != PROBABILITIES]
    older = write_bundle_zip(tmp_path / "older.mujo", m, {f: bundle.file_bytes(f) for f in m["files"]})
    r_old = older.runner("tflite")
    assert r_old.entry.output(PROBABILITIES) is None
    np.testing.assert_array_equal(r_old.logits(x), logits)
    np.testing.assert_allclose(r_old.predict(x), _softmax64(logits), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(r_old.predict(x[:1]), _softmax64(logits[:1]), rtol=1e-6, atol=1e-12)
    # a manifest naming an output the model does not have at that place is refused when the runner loads
    e = next(e for e in m["models"] if e["format"] == "tflite")
    for rows, spec in ((1, e), (64, e["batch"])):
        spec["outputs"].append(
            {"name": PROBABILITIES, "shape": [rows, len(r.labels)], "dtype": "float32", "position": 5}
        )
    wrong = write_bundle_zip(tmp_path / "wrong.mujo", m, {f: bundle.file_bytes(f) for f in m["files"]})
    with pytest.raises(BundleError, match=r"has 3 outputs .* names output 'probabilities' .* at position 5"):
        wrong.runner("tflite")


@pytest.mark.parametrize(
    "fmt, module",
    [("tflite", "ai_edge_litert"), pytest.param("executorch", "executorch", marks=pytest.mark.export)],
)
def test_live_path_refuses_and_redirects_what_it_does_not_take(fmt: str, module: str) -> None:
    """The single-window path takes one finite float32 (1, WINDOW, 3) window; anything else goes the general
    way with the same answer (or its error), and a refused window leaves nothing behind for the next one."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} not installed")
    r = Bundle.open(DEFAULT_BUNDLE).runner(fmt)
    x = _windows(2)
    want = r.predict(x[:1])
    np.testing.assert_allclose(want, _softmax64(r.logits(x[:1])), rtol=1e-6, atol=1e-12)
    for same in (x[0], x[:1].astype(np.float64), np.asfortranarray(x[:1]), x[:1].tolist()):
        np.testing.assert_array_equal(r.predict(same), want)  # (WINDOW, 3), float64, strided, a list
    for bad_value in (np.nan, np.inf, -np.inf):
        bad = x[:1].copy()
        bad[0, 37, 2] = bad_value
        with pytest.raises(ShapeError, match="NaN or infinite"):
            r.predict(bad)
        np.testing.assert_array_equal(r.predict(x[:1]), want)  # the refused window left no trace
    huge = x[1:2].copy()
    huge[0, :, 0] = 3e38  # finite, but the float32 sum overflows: the general path decides, and takes it
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(r.predict(huge), _softmax64(r.logits(huge)), rtol=1e-6, atol=1e-12)
