"""Window statistics: a few numbers per window that a small student's embedding does not keep.

A student distilled to tell its labels apart keeps what separates them and little else: where the wrist
points (the direction of gravity in the window), how hard and how fast it moves. Those are what tells an
activity the model never saw from the known one it resembles (lying on the side from lying on the back,
typing from brushing teeth), and what a few examples of a new activity differ in. A head may therefore
read these statistics beside the embedding (:class:`mujo_edge.heads.StatsSpace`): the open-set test and the
heads ``mujo-edge teach`` fits then work on ``[unit embedding, weight * standardized statistics]``.

:func:`window_stats` is the one definition, :data:`STATS_VERSION` names it in a bundle; per (W, 3) window
of specific force in g (after the bundle's PIT calibration when it has one), 16 numbers:

* the mean of each axis (3): the direction and size of gravity in the window, i.e. the wrist's orientation;
* the log standard deviation of each axis (3) and of the norm (1), and the mean of the norm (1);
* the log mean absolute first difference of each axis (3): how jerky the motion is;
* the log mean spectral magnitude of the norm (mean removed) in 5 equal bands from the first non-zero
  frequency bin to a quarter of the sampling rate (for 100 samples at 50 Hz: 0.5-2.5, 3-5, 5.5-7.5,
  8-10 and 10.5-12.5 Hz): the rhythm.

numpy only: part of the runtime core.
"""

from __future__ import annotations

import numpy as np

from mujo_edge._checks import real_array
from mujo_edge.errors import ShapeError

#: Names the definition of :func:`window_stats` in a bundle's manifest; a new definition gets a new name.
STATS_VERSION = "window-stats-1"
#: The statistics, in column order.
STAT_NAMES: tuple[str, ...] = (
    "mean_x",
    "mean_y",
    "mean_z",
    "log_sd_x",
    "log_sd_y",
    "log_sd_z",
    "log_sd_norm",
    "mean_norm",
    "log_diff_x",
    "log_diff_y",
    "log_diff_z",
    *(f"log_band_{k}" for k in range(1, 6)),
)
N_STATS = len(STAT_NAMES)
#: Spectral bands of the norm.
N_BANDS = 5
#: Added before every log, in g: a still window gives finite statistics.
LOG_FLOOR = 1e-3
#: The shortest window the spectral bands are defined for (one bin per band below a quarter of the rate).
MIN_WINDOW = 4 * N_BANDS


def window_stats(windows: np.ndarray) -> np.ndarray:
    """(N, :data:`N_STATS`) float32 statistics of (N, W, 3) windows in g (module docstring).

    Raises ShapeError for another shape, values that are not real numbers, a window shorter than
    :data:`MIN_WINDOW` samples, or a value that is not finite (what the runners refuse too)."""
    x = real_array(windows, np.dtype(np.float32), "the windows of window statistics ((N, W, 3) in g)")
    if x.ndim != 3 or x.shape[2] != 3:
        raise ShapeError(f"window statistics need (N, W, 3) windows, got shape {x.shape}")
    if x.shape[1] < MIN_WINDOW:
        raise ShapeError(f"window statistics need windows of at least {MIN_WINDOW} samples, got {x.shape[1]}")
    if not np.isfinite(x).all():
        raise ShapeError("a window holds NaN or infinite values; drop or repair it before classifying")
    n, w = x.shape[0], x.shape[1]
    if not n:  # no windows: no statistics (the spectrum's reshape needs a row)
        return np.empty((0, N_STATS), np.float32)
    norm = np.sqrt((x * x).sum(axis=2))
    bins = (w // 4) // N_BANDS * N_BANDS
    spectrum = np.abs(np.fft.rfft(norm - norm.mean(axis=1, keepdims=True), axis=1))[:, 1 : 1 + bins]
    out = np.empty((n, N_STATS), np.float32)
    out[:, 0:3] = x.mean(axis=1)
    out[:, 3:6] = np.log(x.std(axis=1) + LOG_FLOOR)
    out[:, 6] = np.log(norm.std(axis=1) + LOG_FLOOR)
    out[:, 7] = norm.mean(axis=1)
    out[:, 8:11] = np.log(np.abs(np.diff(x, axis=1)).mean(axis=1) + LOG_FLOOR)
    out[:, 11:16] = np.log(spectrum.reshape(n, N_BANDS, -1).mean(axis=2) + LOG_FLOOR)
    return out
