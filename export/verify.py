"""Verification: run exported models in their REAL runtimes and compare them with the float student.

Both runtimes are driven through :mod:`mujo_edge.runners`, the same code the device pipeline uses, so what
is verified here is exactly what ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mujo_edge import _checks
from mujo_edge.bundle import TensorSpec
from mujo_edge.errors import ExportError, ShapeError
from mujo_edge.metrics import macro_f1
from mujo_edge.runners import Runner


@dataclass
class Verification:
    """How an exported model compares with the float student on held-out windows."""

    windows: int
    agreement: float  # top-1 agreement with the float student
    macro_f1: float  # of the exported model, against the true labels
    float_macro_f1: float
    max_abs_logit_error: float
    embedding_cosine: float | None  # mean cosine between exported and float embeddings

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verify(
    runner: Runner,
    windows_g: np.ndarray,
    labels_true: np.ndarray,
    float_logits: np.ndarray,
    float_embedding: np.ndarray | None,
) -> Verification:
    """Compare ``runner`` on (N, WINDOW, 3) windows with the float student's outputs on the same windows."""
    if not isinstance(runner, Runner):
        raise ExportError(
            f"verify needs a runner, got {type(runner).__name__} {runner!r:.60}: pass runner_for(entry, "
            "model_bytes, labels, window) or Bundle.runner()"
        )
    windows_g = _checks.real_array(windows_g, np.dtype(np.float32), "windows_g", keep_float=True)
    if windows_g.ndim != 3 or windows_g.shape[2] != 3 or len(windows_g) == 0:
        raise ShapeError(
            f"windows_g must be (N >= 1, WINDOW, 3) windows in g, got shape {windows_g.shape}: pass the "
            "held-out windows (ExportData.test_g)"
        )
    n = len(windows_g)
    labels_true = _checks.real_array(labels_true, np.dtype(np.int64), "labels_true")
    float_logits = _checks.real_array(float_logits, np.dtype(np.float32), "float_logits", keep_float=True)
    if labels_true.shape != (n,) or float_logits.ndim != 2 or len(float_logits) != n:
        raise ShapeError(
            f"labels_true must be ({n},) and float_logits ({n}, classes), one row per window, got "
            f"{labels_true.shape} and {float_logits.shape}: pass the float student's outputs on windows_g"
        )
    if float_embedding is not None:
        float_embedding = _checks.real_array(
            float_embedding, np.dtype(np.float32), "float_embedding", keep_float=True
        )
        if float_embedding.ndim != 2 or len(float_embedding) != n:
            raise ShapeError(
                f"float_embedding must be ({n}, D), one row per window, got {float_embedding.shape}: pass the "
                "float student's embeddings of windows_g, or None"
            )
    logits, emb = runner.run(windows_g, embedding=float_embedding is not None)
    if logits.shape != float_logits.shape or (
        emb is not None and float_embedding is not None and emb.shape != float_embedding.shape
    ):
        raise ShapeError(
            f"the model gives logits {logits.shape} and embeddings {None if emb is None else emb.shape}, the "
            f"float student {float_logits.shape} and "
            f"{None if float_embedding is None else float_embedding.shape}: compare a model with its own student"
        )
    pred, fpred = logits.argmax(1), float_logits.argmax(1)
    cos = None
    if emb is not None and float_embedding is not None:
        num = (emb * float_embedding).sum(1)
        den = np.linalg.norm(emb, axis=1) * np.linalg.norm(float_embedding, axis=1) + 1e-12
        cos = float((num / den).mean())
    return Verification(
        windows=len(windows_g),
        agreement=float((pred == fpred).mean()),
        macro_f1=macro_f1(labels_true, pred),
        float_macro_f1=macro_f1(labels_true, fpred),
        max_abs_logit_error=float(np.abs(logits - float_logits).max()),
        embedding_cosine=cos,
    )


def tensor_dict(spec: TensorSpec) -> dict[str, Any]:
    if not isinstance(spec, TensorSpec):
        raise ExportError(f"tensor_dict needs a TensorSpec, got {type(spec).__name__} {spec!r:.60}")
    return {k: v for k, v in spec.__dict__.items() if v is not None} | {"shape": list(spec.shape)}
