"""Checks of public arguments, for the runtime and the BLE bridge: numbers, counts, names, arrays, bytes, paths.

Each returns the value as the code after it uses it, or raises the project's error saying what was passed and
what to pass instead. The byte check has a fast path (``type(data) is bytes``), so a decoder pays one type
comparison per notification and never a pass over the payload.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.errors import ConfigError, DataError, MujoError, ShapeError


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


def int_rows(
    values: Any,
    what: str,
    bits: int,
    dtype: np.dtype[Any],
    fix: str,
    error: type[MujoError],
    max_n: int | None = None,
) -> np.ndarray:
    """``values`` as an (n, 3) array of ``dtype`` (wide enough for ``bits``) holding whole numbers that fit a
    ``bits``-bit signed field, n <= ``max_n`` when given: the x, y, z samples an encoder packs. ``error``,
    naming the first bad value, for another shape, strings, bools, NaN, fractions or values beyond the field
    (a plain cast would wrap or truncate them into other samples). An integer array whose every value fits
    costs no check."""
    a: np.ndarray = values
    if type(a) is not np.ndarray or a.dtype.kind not in "iuf":
        a = real_array(values, np.dtype(np.float64), what, keep_float=True, error=error)
    if a.ndim == 1 and not a.size:  # ([] : no samples)
        a = a.reshape(0, 3)
    if a.ndim != 2 or a.shape[1] != 3 or (max_n is not None and len(a) > max_n):
        most = "" if max_n is None else f" with n <= {max_n}"
        raise error(f"{what} must be an (n, 3) array of x, y, z samples{most}, got shape {a.shape}")
    if a.dtype.kind == "i" and a.dtype.itemsize * 8 <= bits:
        return a.astype(dtype, copy=False)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    # integers whose dtype holds them exactly: their range is their min and max (two reductions)
    exact = a.dtype.kind == "i" or (a.dtype.kind == "u" and a.dtype.itemsize < 8)
    if exact and (not a.size or (int(a.min()) >= lo and int(a.max()) <= hi)):
        return a.astype(dtype, copy=False)
    with np.errstate(invalid="ignore"):  # NaN and values beyond the dtype: found by the comparison below
        s = a.astype(dtype)
    ok = (s == a) & (a >= lo) & (a <= hi)
    if ok.all():
        return s
    row, col = np.argwhere(~ok)[0]
    raise error(
        f"{what} must hold whole numbers from {lo} to {hi} (int{bits}), got {a[row, col].item()!r} at sample "
        f"{row}, axis {'xyz'[col]}: {fix}"
    )


def payload_bytes(data: Any, what: str) -> bytes:
    """``data`` as bytes: bytes as they are, any other bytes-like object (bytearray, memoryview) copied;
    DataError for anything else (a hex string, a list of ints, None)."""
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise DataError(
            f"{what} must be bytes, got a str {data[:32]!r}: pass the notification's raw bytes "
            "(bytes.fromhex(text) if you hold it as hex)"
        )
    try:
        view = memoryview(data)
    except TypeError:
        raise DataError(
            f"{what} must be bytes (or a bytearray / memoryview), got {type(data).__name__}: pass the "
            "notification's raw bytes"
        ) from None
    return view.tobytes()


def text(value: Any, what: str, fix: str, error: type[MujoError] = ConfigError) -> str:
    """``value`` if it is a str; ``error`` naming ``what`` and the ``fix`` otherwise."""
    if not isinstance(value, str):
        raise error(f"{what} must be a str, got {type(value).__name__} {value!r}: {fix}")
    return value


def number(
    value: Any,
    what: str,
    lo: float = 0.0,
    hi: float = math.inf,
    *,
    above_lo: bool = True,
    fix: str = "",
    error: type[MujoError] = ConfigError,
) -> float:
    """``value`` as a float when it is a real number (not a bool or a str) in (``lo``, ``hi``] (``[lo, hi]``
    when not ``above_lo``), finite unless ``hi`` is infinite and so is the value; ``error`` otherwise."""
    v = float(value) if is_number(value) else math.nan
    ok = (lo < v if above_lo else lo <= v) and v <= hi and not math.isnan(v)
    if not ok:
        bound = f"> {lo:g}" if above_lo else f">= {lo:g}"
        limit = f" and <= {hi:g}" if hi < math.inf else ""
        shown = f"{type(value).__name__} {value!r}" if not is_number(value) else repr(value)
        raise error(f"{what} must be a number {bound}{limit}, got {shown}" + (f": {fix}" if fix else ""))
    return v


def finite(value: Any, what: str, fix: str = "", error: type[MujoError] = ConfigError) -> float:
    """``value`` as a float when it is a finite real number (any sign); ``error`` otherwise."""
    if not (is_number(value) and math.isfinite(value)):
        raise error(
            f"{what} must be a finite number, got {type(value).__name__} {value!r}"
            + (f": {fix}" if fix else "")
        )
    return float(value)


def flag(value: Any, what: str, error: type[MujoError] = ConfigError) -> bool:
    """``value`` as a bool when it is True or False (numpy's too); ``error`` otherwise (a str or a number would
    set it silently)."""
    if not isinstance(value, bool | np.bool_):
        raise error(f"{what} must be True or False, got {type(value).__name__} {value!r:.40}")
    return bool(value)


def is_whole(v: object) -> bool:
    """Whether ``v`` is one whole number (a Python or numpy int; not a bool, a float or a str)."""
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def count(
    value: Any,
    what: str,
    lo: int = 0,
    fix: str = "",
    error: type[MujoError] = ConfigError,
    hi: int | None = None,
) -> int:
    """``value`` as an int when it is an integer (not a bool or a float) >= ``lo`` (and <= ``hi`` when given:
    the values a binary field carries); ``error`` otherwise."""
    if is_whole(value) and value >= lo and (hi is None or value <= hi):
        return int(value)
    if hi is None:
        wanted, shown = f">= {lo}", f"{type(value).__name__} {value!r}"
    else:
        wanted = f"from {lo} to {hi}"
        shown = str(int(value)) if is_whole(value) else f"{type(value).__name__} {value!r:.40}"
    raise error(f"{what} must be a whole number {wanted}, got {shown}" + (f": {fix}" if fix else ""))


def path(value: Any, what: str) -> Path:
    """``value`` as a Path when it is a str or an os.PathLike; DataError otherwise."""
    if isinstance(value, Path):
        return value
    if isinstance(value, str):
        return Path(value)
    try:
        return Path(value)
    except TypeError:
        raise DataError(
            f"{what} must be a file path (a str or pathlib.Path), got {type(value).__name__} {value!r}"
        ) from None


def paths(values: Any, what: str) -> list[Path]:
    """A list or tuple of file paths; DataError for one path given alone (a str is not a list of paths)."""
    if isinstance(values, str | Path) or not isinstance(values, list | tuple):
        raise DataError(
            f"{what} must be a list of file paths, got {type(values).__name__} {values!r}: "
            "wrap a single path in a list"
        )
    return [path(v, what) for v in values]


def mapping(value: Any, what: str, fix: str, error: type[MujoError] = ConfigError) -> dict[str, Any]:
    """``value`` as a dict when it is a mapping; ``error`` otherwise."""
    if not isinstance(value, Mapping):
        raise error(f"{what} must be a dict, got {type(value).__name__} {value!r}: {fix}")
    return dict(value)


def names(
    values: Any, what: str, fix: str, error: type[MujoError] = ConfigError, kind: type = str
) -> list[Any]:
    """``values`` as a list when it is a list or tuple of ``kind`` (str: names); ``error`` otherwise (a single
    str is not a list of names, whatever it would split into)."""
    if (
        isinstance(values, str)
        or not isinstance(values, Sequence)
        or not all(isinstance(v, kind) for v in values)
    ):
        raise error(
            f"{what} must be a list of {kind.__name__}, got {type(values).__name__} {values!r:.80}: {fix}"
        )
    return list(values)


def ids(values: Any, what: str, fix: str, error: type[MujoError] = ConfigError) -> tuple[int, ...]:
    """``values`` (a list, tuple or other iterable of whole numbers, e.g. subject ids) as a tuple of ints;
    ``error`` for a single str (not a list of ids, whatever it would split into), floats or bools."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise error(
            f"{what} must be a list of whole numbers, got {type(values).__name__} {values!r:.60}: {fix}"
        )
    out = list(values)
    bad = [v for v in out if not is_whole(v)]
    if bad:
        raise error(f"{what} must hold whole numbers, got {type(bad[0]).__name__} {bad[0]!r}: {fix}")
    return tuple(int(v) for v in out)
