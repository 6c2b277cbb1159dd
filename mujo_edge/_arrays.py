"""Checks of the runtime's public arguments: one number, an array of numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

from mujo_edge.errors import MujoError, ShapeError


def is_number(v: object) -> bool:
    """Whether ``v`` is one real number (a Python or numpy int or float; not a bool, a string or an array)."""
    return type(v) is float or (isinstance(v, int | np.integer | np.floating) and not isinstance(v, bool))


def real_array(
    x: Any, dtype: np.dtype[Any], what: str, keep_float: bool = False, error: type[MujoError] = ShapeError
) -> np.ndarray:
    """``x`` (an array or a nested list of numbers) as an array of ``dtype``; ``error`` (ShapeError), saying
    what to pass, for anything else (strings, objects, complex or bool values, ragged lists). An array that
    already has ``dtype`` (any float dtype with ``keep_float``) is returned as it is. The one check of
    array arguments for every public function of the runtime."""
    a: np.ndarray = x
    if type(a) is not np.ndarray:
        try:
            a = np.asarray(x)
        except (TypeError, ValueError) as e:  # ragged nested lists
            raise error(
                f"{what} must be an array of numbers, got a {type(x).__name__} that numpy cannot make one of "
                f"({e}): pass a numeric numpy array (or equal-length rows of numbers)"
            ) from None
    if a.dtype != dtype and not (keep_float and a.dtype.kind == "f"):
        if a.dtype.kind not in "fiu":
            got = f"dtype {a.dtype}" if a.ndim else f"a {type(x).__name__}"
            raise error(
                f"{what} must hold real numbers (float or int), got {got}: pass a numeric numpy array"
            )
        a = a.astype(dtype)
    return a
