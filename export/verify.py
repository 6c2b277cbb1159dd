"""Verification: run exported models in their REAL runtimes and compare them with the float student.

Both runtimes are driven through :mod:`mujo_edge.runners`, the same code the device pipeline uses, so what
is verified here is exactly what ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mujo_edge.bundle import TensorSpec
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
    logits, emb = runner.run(windows_g, embedding=float_embedding is not None)
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
    return {k: v for k, v in spec.__dict__.items() if v is not None} | {"shape": list(spec.shape)}
