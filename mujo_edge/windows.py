"""Windows: fixed-length, overlapping slices of a 50 Hz stream (100 samples, hop 50 by default)."""

from __future__ import annotations

import numpy as np

from mujo_edge.constants import HOP, WINDOW
from mujo_edge.errors import ShapeError


def window_starts(n_samples: int, window: int = WINDOW, hop: int = HOP) -> np.ndarray:
    """First-sample indices of every full window in a recording of ``n_samples`` samples."""
    if window <= 0 or hop <= 0:
        raise ShapeError(f"window and hop must be positive, got window={window}, hop={hop}")
    if n_samples < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - window + 1, hop, dtype=np.int64)


def sliding_windows(x: np.ndarray, window: int = WINDOW, hop: int = HOP) -> np.ndarray:
    """Every full window of ``x`` along axis 0.

    Args:
        x: (n, ...) samples on a uniform grid.
    Returns:
        (n_windows, window, ...) array, a copy (not a view), same dtype as ``x``.
    """
    starts = window_starts(x.shape[0], window, hop)
    if starts.size == 0:
        return np.zeros((0, window, *x.shape[1:]), dtype=x.dtype)
    idx = starts[:, None] + np.arange(window)[None, :]
    return np.ascontiguousarray(x[idx])
