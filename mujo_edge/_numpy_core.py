"""numpy's compiled routines the runtime's hot paths call without their Python wrappers' per-call checks."""

from __future__ import annotations

import numpy as np

try:  # np.interp's compiled core: the same numbers without the wrapper's checks (real values only)
    from numpy._core.multiarray import interp as interp_real
except ImportError:  # pragma: no cover - numpy < 2
    interp_real = np.interp

__all__ = ["interp_real"]
