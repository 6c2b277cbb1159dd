"""Silence third-party start-up noise so users see their own output.

torchao logs failures to load CUDA kernels on CPU machines, torch.export and litert-torch emit many
FutureWarnings, and absl/TF print C++ log lines. None of it is actionable for a MuJo Edge user.
Call :func:`quiet_third_party` before importing torch, torchao, executorch or litert_torch.
"""

from __future__ import annotations

import logging
import os
import warnings

_DONE = False

_NOISY_LOGGERS = ("torchao", "torch._dynamo", "torch.utils._pytree", "absl", "litert_torch", "executorch")


def quiet_third_party() -> None:
    """Filter known noise from torch / torchao / executorch / litert-torch / absl. Idempotent."""
    global _DONE
    if _DONE:
        return
    _DONE = True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GLOG_minloglevel", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TORCH_LOGS", "-all")
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings(
            "ignore", category=category, module=r"(torch|torchao|executorch|litert_torch|transformers)"
        )
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
