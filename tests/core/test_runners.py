"""Runners on the shipped default bundle: real LiteRT (and ExecuTorch) inference, input checks, fallback."""

from __future__ import annotations

import importlib.util
import logging
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.bundle import Bundle
from mujo_edge.constants import WINDOW
from mujo_edge.errors import ShapeError

DEFAULT = DEFAULT_BUNDLE

needs_litert = pytest.mark.skipif(
    importlib.util.find_spec("ai_edge_litert") is None,
    reason="ai-edge-litert not installed (mujo-edge[runtime])",
)
needs_default = pytest.mark.skipif(
    not DEFAULT.is_file(), reason=f"no shipped default bundle at {DEFAULT} yet"
)


def _windows(n: int, seed: int = 0) -> np.ndarray:
    """Plausible wrist windows: ~1 g gravity on z plus a 1 Hz swing of 0.5 g on x, per-window phase."""
    rng = np.random.default_rng(seed)
    t = np.arange(WINDOW) / 50.0
    w = rng.normal(0, 0.05, (n, WINDOW, 3)).astype(np.float32)
    w[:, :, 2] += 1.0
    w[:, :, 0] += 0.5 * np.sin(2 * np.pi * t[None] + rng.uniform(0, 6, (n, 1)))
    return w


@needs_litert
@needs_default
def test_default_bundle_predicts_probabilities_with_litert() -> None:
    b = Bundle.open(DEFAULT)
    r = b.runner("tflite")
    assert r.format == "tflite" and r.dtype == "int8" and r.name == "ai-edge-litert" and r.threads == 1
    assert r.model_bytes == b.manifest["files"][b.model("tflite").file]["bytes"]
    x = _windows(5)
    p = r.predict(x)
    assert p.shape == (5, len(b.labels)) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(r.predict(x), p)  # deterministic
    np.testing.assert_allclose(r.logits(x[0]), r.logits(x[:1]))  # a single (100, 3) window is a batch of one
    if r.has_embedding:
        assert r.embed(x).shape == (5, b.label_embeddings.shape[1] if b.label_embeddings is not None else -1)


@needs_litert
@needs_default
def test_runner_refuses_bad_windows_with_clear_errors() -> None:
    r = Bundle.open(DEFAULT).runner("tflite")
    with pytest.raises(ShapeError, match=r"must be windows of shape \(B, 100, 3\) in g.*got \(2, 3, 100\)"):
        r.predict(np.zeros((2, 3, WINDOW), np.float32))
    x = _windows(3)
    x[1, 10, 2] = np.nan
    with pytest.raises(ShapeError, match="window 1 of the batch holds NaN"):
        r.predict(x)


@needs_litert
@needs_default
def test_litert_falls_back_to_tflite_runtime(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ai_edge_litert.interpreter import Interpreter

    fake = types.ModuleType("tflite_runtime.interpreter")
    fake.Interpreter = Interpreter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "tflite_runtime", types.ModuleType("tflite_runtime"))
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", fake)
    with caplog.at_level(logging.INFO, logger="mujo_edge.runners"):
        r = Bundle.open(DEFAULT).runner("tflite")
    assert r.name == "tflite_runtime"
    assert "using the tflite_runtime interpreter" in caplog.text
    assert r.predict(_windows(2)).shape == (2, len(Bundle.open(DEFAULT).labels))


@pytest.mark.export
@needs_litert
@needs_default
@pytest.mark.skipif(
    importlib.util.find_spec("executorch") is None, reason="executorch not installed (mujo-edge[export])"
)
def test_default_bundle_runs_in_executorch_like_litert() -> None:
    b = Bundle.open(DEFAULT)
    x = _windows(32, seed=1)
    pt = b.runner("executorch").predict(x)
    tf = b.runner("tflite").predict(x)
    assert pt.shape == tf.shape
    # Both int8 models reproduce the same float student; on the same windows their top-1 mostly agrees.
    assert (pt.argmax(1) == tf.argmax(1)).mean() >= 0.9
    assert np.abs(pt - tf).max() < 0.25


def test_default_runner_choice_prefers_litert(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mujo_edge import runners
    from mujo_edge.export.bundle_writer import ModelFile, write_bundle

    out = [{"name": "logits", "shape": [1, 2], "dtype": "float32", "position": 0}]
    inp = [{"name": "acc", "shape": [1, 3, WINDOW], "dtype": "float32", "position": 0}]
    models = [
        ModelFile("executorch", "m.pte", b"x", "int8", "BCW", inp, out),
        ModelFile("tflite", "m.tflite", b"y", "int8", "BCW", inp, out),
    ]
    b = write_bundle(tmp_path / "b.mujo", labels=["a", "b"], models=models)
    chosen: list[str] = []
    monkeypatch.setattr(runners, "runtime_available", lambda fmt: True)
    monkeypatch.setattr(runners, "make_runner", lambda bundle, entry, threads: chosen.append(entry.format))
    b.runner()
    monkeypatch.setattr(runners, "runtime_available", lambda fmt: fmt == "executorch")
    b.runner()
    assert chosen == ["tflite", "executorch"]


@needs_default
@pytest.mark.skipif(
    importlib.util.find_spec("executorch") is None, reason="executorch not installed (mujo-edge[export])"
)
def test_executorch_results_survive_later_calls() -> None:
    """The ExecuTorch runner reads outputs without cloning them (they alias the method's output buffers):
    what one call returned must not change when the next call runs, in a batch or across calls."""
    b = Bundle.open(DEFAULT)
    r = b.runner("executorch")
    x = _windows(6, seed=2)
    singles = [r.run(x[i])[0].copy() for i in range(len(x))]
    logits, emb = r.run(x)
    first, first_emb = r.run(x[0])
    kept, kept_emb = first.copy(), first_emb.copy()  # type: ignore[union-attr]
    r.run(x[5])  # a different window through the same buffers
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(first_emb, kept_emb)
    np.testing.assert_array_equal(logits, np.concatenate(singles))
    assert len({row.tobytes() for row in logits}) > 1  # the batch rows are not one buffer repeated
    assert emb is not None and emb.shape == (6, r.embed(x[:1]).shape[1])


@needs_litert
@needs_default
def test_default_bundle_zero_shot_ranks_labels_by_joint_space_cosine() -> None:
    b = Bundle.open(DEFAULT)
    r = b.runner("tflite")
    x = _windows(12, seed=3)
    scores = b.zero_shot(x, runner=r)
    assert scores.shape == (12, len(b.labels)) and scores.dtype == np.float32
    # By hand: normalized embedding . stored label rows; |W^T t| <= 1, so every score is a cosine.
    e = r.embed(x)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    np.testing.assert_allclose(scores, e @ b.label_embeddings.T, rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(scores) <= 1.0 + 1e-5)


def test_zero_shot_errors_name_the_fix(tmp_path: Path) -> None:
    from mujo_edge.errors import BundleError
    from mujo_edge.export.bundle_writer import write_bundle

    from .test_bundle import LABELS, _model

    class FakeRunner:
        def __init__(self, dim: int) -> None:
            self.dim = dim

        def embed(self, windows_g: np.ndarray) -> np.ndarray:
            return np.ones((len(windows_g), self.dim), np.float32)

    with_emb = tmp_path / "with.mujo"
    write_bundle(with_emb, labels=LABELS, models=[_model()], label_embeddings=np.eye(3, 4, dtype=np.float32))
    b = Bundle.open(with_emb)
    scores = b.zero_shot(_windows(2), runner=FakeRunner(4))  # type: ignore[arg-type]
    np.testing.assert_allclose(scores, np.full((2, 3), 0.5, np.float32))
    with pytest.raises(BundleError, match="mixes two students"):
        b.zero_shot(_windows(2), runner=FakeRunner(8))  # type: ignore[arg-type]
    without = tmp_path / "without.mujo"
    write_bundle(without, labels=LABELS, models=[_model()])
    with pytest.raises(BundleError, match=r"no label embeddings.*--pretrained"):
        Bundle.open(without).zero_shot(_windows(2), runner=FakeRunner(4))  # type: ignore[arg-type]


def test_softmax_rows_single_and_batch() -> None:
    from mujo_edge.runners import softmax

    x = np.random.default_rng(4).normal(0, 20, (5, 7)).astype(np.float32)
    ref = np.exp(x.astype(np.float64) - x.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    for got, want in (
        (softmax(x), ref),
        (softmax(x[:1]), ref[:1]),
        (softmax(x[2:3].astype(np.float64)), ref[2:3]),
    ):
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(softmax(np.array([[1000.0, 0.0]])), [[1.0, 0.0]])  # no overflow
    assert not np.shares_memory(softmax(x[:1]), x)  # a new array: callers may keep the logits


@needs_litert
@needs_default
def test_litert_fast_path_is_exact_and_returns_the_callers_arrays() -> None:
    """The runner writes into the interpreter's input tensor and reads its outputs in place, dequantizing
    through a 256-entry table: its logits must be the interpreter's int8 outputs times scale, bit for bit
    (checked against a separate interpreter driven through set_tensor/invoke/get_tensor), its
    probabilities the softmax of those logits, and nothing it returns may change on the next call."""
    from ai_edge_litert.interpreter import Interpreter

    from mujo_edge.runners import softmax

    b = Bundle.open(DEFAULT)
    entry = b.model("tflite")
    r = b.runner("tflite")
    it = Interpreter(model_content=b.file_bytes(entry.file), num_threads=1)
    it.allocate_tensors()
    inp, outs = it.get_input_details()[0], it.get_output_details()
    x = _windows(8, seed=5)
    want = []
    for w in x:
        model_x = w.T if entry.input_layout == "BCW" else w
        it.set_tensor(inp["index"], np.ascontiguousarray(model_x[None], dtype=inp["dtype"]))
        it.invoke()
        d = outs[r._logits_spec.position]
        scale, zp = d["quantization"]
        q = it.get_tensor(d["index"]).astype(np.float32)
        want.append((q - zp) * np.float32(scale))
    singles = [r.logits(w[None]) for w in x]
    np.testing.assert_array_equal(np.concatenate(singles), np.concatenate(want))
    np.testing.assert_array_equal(r.logits(x), np.concatenate(want))  # the batch loop, same numbers
    first = r.predict(x[:1])
    kept = first.copy()
    r.predict(x[7:8])  # another window through the same tensors
    np.testing.assert_array_equal(first, kept)
    assert first.shape == (1, len(b.labels)) and first.dtype == np.float32
    np.testing.assert_allclose(first, softmax(want[0]), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(r.predict(x), softmax(np.concatenate(want)), rtol=1e-6, atol=1e-9)
    bad = x[:1].copy()
    bad[0, 50, 1] = np.inf  # the single-window path must still refuse it
    with pytest.raises(ShapeError, match="window 0 of the batch holds NaN or infinite"):
        r.predict(bad)


def test_softmax_row_matches_float64_softmax() -> None:
    from mujo_edge.runners import softmax_row

    z = np.random.default_rng(6).normal(0, 8, 7)
    want = np.exp(z - z.max())
    want /= want.sum()
    got = softmax_row(z.tolist())
    assert got.shape == (1, 7) and got.dtype == np.float32
    np.testing.assert_allclose(got[0], want, rtol=1e-6)
    np.testing.assert_allclose(softmax_row([800.0, 0.0, -800.0]), [[1.0, 0.0, 0.0]])  # no overflow
