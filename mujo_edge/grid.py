"""The 50 Hz grid: irregular or other-rate samples -> samples at t0 + k / rate_hz.

This module holds the offline (whole-recording) resampler used by the importers. Faster sources are low-pass
filtered before decimation (anti-aliasing); slower sources are linearly interpolated (and a caller should
say so to the user: interpolation invents no information). Nothing is ever interpolated across a gap:
:func:`split_at_gaps` cuts a recording into gap-free segments first.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import signal

from mujo_edge.constants import RATE_HZ
from mujo_edge.errors import ShapeError

#: A jump between consecutive timestamps larger than this many nominal sample periods is a gap.
GAP_FACTOR: float = 1.5
#: Anti-alias cut-off as a fraction of the target rate (0.4 x 50 Hz = 20 Hz, below Nyquist 25 Hz).
ANTI_ALIAS_FRACTION: float = 0.4


@dataclass(frozen=True)
class Segment:
    """A gap-free run of a recording resampled to the grid.

    Attributes:
        t_s: (m,) float64 grid times, seconds, t_s[k] = t_s[0] + k / rate_hz.
        x: (m, c) float32 resampled values.
        source_index: index of the first source sample of this segment.
    """

    t_s: np.ndarray
    x: np.ndarray
    source_index: int


def estimate_rate_hz(t_s: np.ndarray) -> float:
    """Median sample rate of timestamps ``t_s`` (seconds), robust to a few gaps."""
    if t_s.size < 2:
        raise ShapeError(f"need at least 2 timestamps to estimate a rate, got {t_s.size}")
    dt = np.diff(t_s)
    med = float(np.median(dt))
    if not med > 0:
        raise ShapeError("timestamps do not increase: cannot estimate a sample rate")
    return 1.0 / med


def split_at_gaps(
    t_s: np.ndarray, rate_hz: float | None = None, gap_factor: float = GAP_FACTOR
) -> list[slice]:
    """Slices of ``t_s`` between gaps (a step larger than ``gap_factor`` nominal periods)."""
    if t_s.size == 0:
        return []
    rate = estimate_rate_hz(t_s) if rate_hz is None and t_s.size > 1 else (rate_hz or 1.0)
    breaks = np.flatnonzero(np.diff(t_s) > gap_factor / rate) + 1
    edges = [0, *breaks.tolist(), int(t_s.size)]
    return [slice(a, b) for a, b in itertools.pairwise(edges) if b > a]


def resample_segment(
    t_s: np.ndarray, x: np.ndarray, rate_hz: float = RATE_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """Resample one gap-free run onto ``t_s[0] + k / rate_hz``.

    Args:
        t_s: (n,) strictly increasing sample times, seconds.
        x: (n, c) values.
        rate_hz: target grid rate.
    Returns:
        ``(t_grid, x_grid)``: (m,) float64 and (m, c) float32 with m = floor((t_s[-1] - t_s[0]) * rate_hz) + 1.
    """
    if x.ndim != 2 or x.shape[0] != t_s.shape[0]:
        raise ShapeError(f"x must be (n, c) with n = len(t_s) = {t_s.shape[0]}, got {x.shape}")
    if t_s.size < 2:
        return t_s.astype(np.float64), x.astype(np.float32)
    src_rate = estimate_rate_hz(t_s)
    xs = x.astype(np.float64)
    if src_rate > rate_hz * 1.05:
        # Put the source on its own uniform grid, low-pass below the target Nyquist, then sample the grid.
        n_u = int(np.floor((t_s[-1] - t_s[0]) * src_rate)) + 1
        t_u = t_s[0] + np.arange(n_u) / src_rate
        xu = np.column_stack([np.interp(t_u, t_s, xs[:, c]) for c in range(xs.shape[1])])
        sos = signal.butter(6, ANTI_ALIAS_FRACTION * rate_hz, btype="low", fs=src_rate, output="sos")
        padlen = min(3 * (2 * len(sos) + 1), n_u - 1)
        if padlen > 0:
            xu = signal.sosfiltfilt(sos, xu, axis=0, padlen=padlen)
        t_s, xs = t_u, xu
    m = int(np.floor((t_s[-1] - t_s[0]) * rate_hz + 1e-9)) + 1
    t_grid = t_s[0] + np.arange(m) / rate_hz
    out = np.column_stack([np.interp(t_grid, t_s, xs[:, c]) for c in range(xs.shape[1])])
    return t_grid, out.astype(np.float32)


def resample_recording(
    t_s: np.ndarray, x: np.ndarray, rate_hz: float = RATE_HZ, source_rate_hz: float | None = None
) -> list[Segment]:
    """Split a recording at its gaps and resample every segment to the grid."""
    segments = []
    for sl in split_at_gaps(t_s, source_rate_hz):
        t_grid, xg = resample_segment(t_s[sl], x[sl], rate_hz)
        segments.append(Segment(t_s=t_grid, x=xg, source_index=int(sl.start)))
    return segments
