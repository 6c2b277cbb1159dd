"""PIT calibration: map real accelerometer values onto the distribution the model was trained on.

The probability integral transform (Conover & Iman's rank transform, as IMUTube and MuJo use it) sends a
value ``x`` of channel ``c`` through the source (real) empirical CDF and then through the target (virtual)
inverse CDF: ``y = F_target^-1(F_source(x))``. Both CDFs are stored as quantile tables at the same
probabilities ``p_k = k / (Q - 1)``, so the composition is one piecewise-linear map per channel from the
source quantiles to the target quantiles, applied with :func:`numpy.interp`.

Properties:

- compact: ``2 * Q`` float32 numbers per channel (``Q = PIT_QUANTILES = 256`` by default), JSON-serializable;
- monotone non-decreasing in ``x`` (ties in the source table are merged by averaging their target values,
  the mid-rank rule, so the map stays a function);
- identity when source and target are the same distribution;
- outside the fitted source range, ``out_of_range="clamp"`` (default) returns the target's end values, as
  scikit-learn's ``QuantileTransformer`` does; ``"linear"`` continues with the slope of the outer 5 % of
  the table instead (unbounded, useful when the device sees stronger motion than the calibration data).

:class:`PitCalibration` is unsupervised (one table per channel for all data). :class:`SupervisedPit` keeps one
table per class, as the paper evaluates it; it needs the labels of the data it calibrates, so on a device it
only applies with labels from a labelled calibration session. numpy only: the runtime core uses this.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np

from mujo_edge._checks import count, real_array
from mujo_edge._numpy_core import interp_real
from mujo_edge.constants import PIT_QUANTILES
from mujo_edge.errors import CalibrationError
from mujo_edge.provenance import check_format

#: The most quantiles per channel a table may have: 2 * 3 channels * 65,536 float32 numbers is about 5 MB
#: of JSON in a bundle, far beyond what a user's minutes of samples resolve.
MAX_PIT_QUANTILES = 65_536

PIT_FORMAT = "mujo-edge-pit"
SUPERVISED_PIT_FORMAT = "mujo-edge-supervised-pit"
PIT_SCHEMA_VERSION = 1

OutOfRange = Literal["clamp", "linear"]
_OUT_OF_RANGE: tuple[str, ...] = ("clamp", "linear")
#: Fraction of the probability range whose slope ``out_of_range="linear"`` continues beyond each end.
TAIL_FRACTION: float = 0.05


def _as_channels(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` as a (n, C) float64 array of finite values; raises :class:`CalibrationError` otherwise."""
    x = np.asarray(x)
    if x.ndim < 1 or x.dtype.kind not in "fiu":
        raise CalibrationError(
            f"{name} must be a numeric (..., C) array with channels last, got shape {x.shape} dtype {x.dtype}"
        )
    flat = x.reshape(-1, x.shape[-1]).astype(np.float64, copy=False)
    if flat.shape[0] < 2 or flat.shape[1] == 0:
        raise CalibrationError(
            f"{name} is empty or too small to fit a calibration (shape {x.shape}); "
            "fit with at least a few seconds of data per channel"
        )
    if not np.isfinite(flat).all():
        row = int(np.argwhere(~np.isfinite(flat))[0][0])
        raise CalibrationError(
            f"{name} has NaN or infinite values (first at flat sample {row}); clean or drop them before fitting"
        )
    return flat


def _compact(v: np.ndarray) -> list[float]:
    """float32 values as JSON floats with 9 significant digits (exact for float32)."""
    return [float(f"{x:.9g}") for x in np.asarray(v, dtype=np.float32)]


class PitCalibration:
    """Per-channel probability integral transform from a source (real) distribution onto a target (virtual).

    Attributes:
        source_q: (C, Q) float32 source quantiles at probabilities ``linspace(0, 1, Q)``, units of the data.
        target_q: (C, Q) float32 target quantiles at the same probabilities.
        out_of_range: ``"clamp"`` or ``"linear"`` (see the module docstring).
        n_source, n_target: samples per channel the tables were fitted on (0 if unknown).
    """

    def __init__(
        self,
        source_q: np.ndarray,
        target_q: np.ndarray,
        out_of_range: OutOfRange = "clamp",
        n_source: int = 0,
        n_target: int = 0,
    ) -> None:
        source_q, target_q = (
            real_array(q, np.dtype(np.float32), f"{name} (the (C, Q) quantile table)", error=CalibrationError)
            for name, q in (("source_q", source_q), ("target_q", target_q))
        )
        if (
            source_q.ndim != 2
            or source_q.shape != target_q.shape
            or source_q.shape[0] < 1
            or source_q.shape[1] < 2
        ):
            raise CalibrationError(
                "source and target quantile tables must both be (C, Q) with C >= 1 and Q >= 2, got "
                f"{source_q.shape} and {target_q.shape}"
            )
        if not (np.isfinite(source_q).all() and np.isfinite(target_q).all()):
            raise CalibrationError("quantile tables hold NaN or infinite values; re-fit the calibration")
        if (np.diff(source_q, axis=1) < 0).any() or (np.diff(target_q, axis=1) < 0).any():
            raise CalibrationError("quantile tables must be non-decreasing along Q; re-fit the calibration")
        if out_of_range not in _OUT_OF_RANGE:
            raise CalibrationError(f"out_of_range must be one of {_OUT_OF_RANGE}, got {out_of_range!r}")
        self.source_q = source_q
        self.target_q = target_q
        self.out_of_range: OutOfRange = out_of_range
        self.n_source = count(
            n_source, "n_source", 0, "the samples the table was fitted on", CalibrationError
        )
        self.n_target = count(
            n_target, "n_target", 0, "the samples the table was fitted on", CalibrationError
        )
        self._xp: list[np.ndarray] = []
        self._fp: list[np.ndarray] = []
        self._slopes: list[tuple[float, float]] = []
        q = source_q.shape[1]
        k = max(1, round(TAIL_FRACTION * (q - 1)))
        for c in range(source_q.shape[0]):
            # Merge ties in the source table (mid-rank rule): np.interp needs strictly increasing xp.
            xp, inv = np.unique(source_q[c].astype(np.float64), return_inverse=True)
            fp = np.bincount(inv, weights=target_q[c].astype(np.float64)) / np.bincount(inv)
            self._xp.append(xp)
            self._fp.append(fp)
            s = source_q[c].astype(np.float64)
            t = target_q[c].astype(np.float64)
            lo = (t[k] - t[0]) / (s[k] - s[0]) if s[k] > s[0] else 0.0
            hi = (t[-1] - t[-1 - k]) / (s[-1] - s[-1 - k]) if s[-1] > s[-1 - k] else 0.0
            self._slopes.append((lo, hi))

    @property
    def channels(self) -> int:
        return int(self.source_q.shape[0])

    @property
    def n_quantiles(self) -> int:
        return int(self.source_q.shape[1])

    @classmethod
    def fit(
        cls,
        source: np.ndarray,
        target: np.ndarray,
        n_quantiles: int = PIT_QUANTILES,
        out_of_range: OutOfRange = "clamp",
    ) -> PitCalibration:
        """Fit the tables.

        Args:
            source: (..., C) real data, channels last, e.g. (N, 100, 3) windows or (n, 3) samples in g.
            target: (..., C) virtual (training) data with the same C.
            n_quantiles: quantiles per channel, 2 to :data:`MAX_PIT_QUANTILES`.
            out_of_range: behaviour beyond the fitted source range, ``"clamp"`` or ``"linear"``.
        Raises:
            CalibrationError: empty input, NaN/inf, different channel counts, n_quantiles out of range.
        """
        fix = (
            f"the default {PIT_QUANTILES} suits minutes of samples (the tables travel in the bundle as JSON)"
        )
        n_quantiles = count(n_quantiles, "n_quantiles", 2, fix, CalibrationError, hi=MAX_PIT_QUANTILES)
        src = _as_channels(source, "source")
        tgt = _as_channels(target, "target")
        if src.shape[1] != tgt.shape[1]:
            raise CalibrationError(
                f"source has {src.shape[1]} channels but target has {tgt.shape[1]}; both must be "
                "(..., C) with the same C (e.g. accelerometer x, y, z)"
            )
        p = np.linspace(0.0, 1.0, n_quantiles)
        source_q = np.quantile(src, p, axis=0).T
        target_q = np.quantile(tgt, p, axis=0).T
        # Rounding to float32 can break monotonicity by one ulp; restore it.
        source_q = np.maximum.accumulate(source_q.astype(np.float32), axis=1)
        target_q = np.maximum.accumulate(target_q.astype(np.float32), axis=1)
        return cls(source_q, target_q, out_of_range, n_source=src.shape[0], n_target=tgt.shape[0])

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Map ``x`` onto the target distribution.

        Args:
            x: (..., C) values in the source's units, channels last.
        Returns:
            (..., C) float32, same shape.
        Raises:
            CalibrationError: wrong channel count or NaN/inf values.
        """
        x = np.asarray(x)
        channels = len(self._xp)  # (self.channels)
        if x.ndim < 1 or x.shape[-1] != channels:
            raise CalibrationError(
                f"expected (..., {self.channels}) values with channels last, got shape {x.shape}; "
                "pass the same channels the calibration was fitted on"
            )
        real = x.dtype.kind == "f"
        if not real and x.dtype.kind not in "iu":
            raise CalibrationError(
                f"input must hold real numbers (float or int), got dtype {x.dtype}; pass a numeric array"
            )
        # (a finite sum says every value is finite; a non-finite one may be an overflow: then each value)
        if not (real and math.isfinite(np.add.reduce(x, axis=None))) and not np.isfinite(x).all():
            raise CalibrationError(
                "input holds NaN or infinite values; drop or repair those samples before calibrating"
            )
        return self._map(x, interp_real if real else np.interp)

    def map_finite(self, x: np.ndarray) -> np.ndarray:
        """:meth:`apply` without its checks, for (..., C) float values with this table's channels that the
        caller knows are finite (the pipeline's grid samples and windows): the same float32 result."""
        return self._map(x, interp_real)

    def _map(
        self, x: np.ndarray, interp: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    ) -> np.ndarray:
        linear = self.out_of_range == "linear"
        out = np.empty(x.shape, dtype=np.float32)
        for c in range(len(self._xp)):
            xc = x[..., c]
            xp, fp = self._xp[c], self._fp[c]
            yc = interp(xc, xp, fp)
            if linear:
                lo, hi = self._slopes[c]
                yc = np.where(xc < xp[0], fp[0] + (xc - xp[0]) * lo, yc)
                yc = np.where(xc > xp[-1], fp[-1] + (xc - xp[-1]) * hi, yc)
            out[..., c] = yc
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable description (tables as float32-exact lists)."""
        return {
            "format": PIT_FORMAT,
            "schema_version": PIT_SCHEMA_VERSION,
            "method": "probability integral transform (Conover & Iman rank transform), per channel",
            "channels": self.channels,
            "n_quantiles": self.n_quantiles,
            "out_of_range": self.out_of_range,
            "n_source": self.n_source,
            "n_target": self.n_target,
            "source_q": [_compact(r) for r in self.source_q],
            "target_q": [_compact(r) for r in self.target_q],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PitCalibration:
        """Rebuild a table written by :meth:`to_dict`; refuses other formats and schema versions."""
        check_format(
            d,
            PIT_FORMAT,
            PIT_SCHEMA_VERSION,
            CalibrationError,
            "PIT calibration table",
            "re-fit it with PitCalibration.fit",
        )
        try:
            source_q = np.asarray(d["source_q"], dtype=np.float32)
            target_q = np.asarray(d["target_q"], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as e:
            raise CalibrationError(f"PIT table is missing or has malformed quantiles ({e}); re-fit it") from e
        return cls(
            source_q,
            target_q,
            out_of_range=d.get("out_of_range", "clamp"),
            n_source=d.get("n_source", 0),
            n_target=d.get("n_target", 0),
        )

    def __repr__(self) -> str:
        return (
            f"PitCalibration(channels={self.channels}, n_quantiles={self.n_quantiles}, "
            f"out_of_range={self.out_of_range!r})"
        )


def _as_labels(labels: np.ndarray, n: int, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,) or (labels.size and labels.dtype.kind not in "iu"):
        raise CalibrationError(
            f"{name} must be ({n},) integer class indices, one per row of the data, got shape "
            f"{labels.shape} dtype {labels.dtype}"
        )
    return labels.astype(np.int64, copy=False)


class SupervisedPit:
    """One :class:`PitCalibration` per class, fitted on the source and target windows of that class.

    This is the paper's supervised calibration. It needs the class of every window it maps, so it cannot
    calibrate unlabelled live data; use it for evaluation, or with tables fitted from a labelled session.

    Attributes:
        tables: class index -> table.
    """

    def __init__(self, tables: Mapping[int, PitCalibration]) -> None:
        if not isinstance(tables, Mapping):
            raise CalibrationError(
                f"a supervised PIT takes a mapping class index -> PitCalibration, got {type(tables).__name__}"
            )
        if not tables:
            raise CalibrationError("a supervised PIT needs at least one class table")
        for k, v in tables.items():
            if (
                not isinstance(k, int | np.integer)
                or isinstance(k, bool)
                or not isinstance(v, PitCalibration)
            ):
                raise CalibrationError(
                    f"a supervised PIT maps int class indices to PitCalibration tables, got {k!r} -> "
                    f"{type(v).__name__}; fit one with SupervisedPit.fit"
                )
        channels = {t.channels for t in tables.values()}
        if len(channels) != 1:
            raise CalibrationError(f"class tables disagree on the channel count: {sorted(channels)}")
        self.tables: dict[int, PitCalibration] = {int(k): v for k, v in sorted(tables.items())}

    @property
    def classes(self) -> list[int]:
        return list(self.tables)

    @classmethod
    def fit(
        cls,
        source: np.ndarray,
        source_labels: np.ndarray,
        target: np.ndarray,
        target_labels: np.ndarray,
        n_quantiles: int = PIT_QUANTILES,
        out_of_range: OutOfRange = "clamp",
    ) -> SupervisedPit:
        """Fit one table per class present in ``source_labels``.

        Args:
            source: (N, ..., C) real data; ``source_labels`` (N,) its class indices.
            target: (M, ..., C) virtual data; ``target_labels`` (M,) its class indices.
        Raises:
            CalibrationError: shapes or labels do not match, or a source class has no target data.
        """
        source = np.asarray(source)
        target = np.asarray(target)
        if source.ndim < 2 or target.ndim < 2:
            raise CalibrationError(
                f"supervised PIT needs (N, ..., C) data with one label per row, got {source.shape} and "
                f"{target.shape}"
            )
        s_lab = _as_labels(source_labels, source.shape[0], "source_labels")
        t_lab = _as_labels(target_labels, target.shape[0], "target_labels")
        missing = sorted(set(np.unique(s_lab).tolist()) - set(np.unique(t_lab).tolist()))
        if missing:
            raise CalibrationError(
                f"classes {missing} occur in the source but not in the target, so they have nothing to be "
                "mapped onto; add target (virtual) data for them or drop them from the source"
            )
        tables = {
            int(c): PitCalibration.fit(source[s_lab == c], target[t_lab == c], n_quantiles, out_of_range)
            for c in np.unique(s_lab)
        }
        return cls(tables)

    def apply(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Map every row of ``x`` (N, ..., C) with the table of its class ``labels`` (N,); float32, same shape."""
        x = np.asarray(x)
        if x.ndim < 2:
            raise CalibrationError(f"expected (N, ..., C) values with one label per row, got {x.shape}")
        lab = _as_labels(labels, x.shape[0], "labels")
        unknown = sorted(set(np.unique(lab).tolist()) - set(self.tables))
        if unknown:
            raise CalibrationError(
                f"no calibration table for classes {unknown} (tables exist for {self.classes}); "
                "fit with source data of those classes, or use the unsupervised PitCalibration"
            )
        out = np.empty(x.shape, dtype=np.float32)
        for c in np.unique(lab):
            rows = lab == c
            out[rows] = self.tables[int(c)].apply(x[rows])
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable description; class indices become string keys."""
        return {
            "format": SUPERVISED_PIT_FORMAT,
            "schema_version": PIT_SCHEMA_VERSION,
            "tables": {str(k): t.to_dict() for k, t in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SupervisedPit:
        """Rebuild from :meth:`to_dict`; refuses other formats and schema versions."""
        check_format(
            d,
            SUPERVISED_PIT_FORMAT,
            PIT_SCHEMA_VERSION,
            CalibrationError,
            "supervised PIT table",
            "re-fit it with SupervisedPit.fit",
        )
        tables = d.get("tables")
        if not isinstance(tables, Mapping):
            raise CalibrationError("supervised PIT has no 'tables' mapping; re-fit it")
        try:
            return cls({int(k): PitCalibration.from_dict(v) for k, v in tables.items()})
        except ValueError as e:
            raise CalibrationError(f"supervised PIT class keys must be integers ({e}); re-fit it") from e

    def __repr__(self) -> str:
        return f"SupervisedPit(classes={self.classes})"
