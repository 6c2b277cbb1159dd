"""The 50 Hz grid: irregular or other-rate samples -> samples at ``t0 + k / rate_hz``, whole recordings or
streaming.

Two resamplers of the same stage live here:

* **Offline** (:func:`resample_recording`, :func:`resample_segment`): a whole recording, as the importers
  see it. Faster sources are low-pass filtered before decimation (zero-phase Butterworth, anti-aliasing);
  slower sources are linearly interpolated (and a caller should say so to the user: interpolation invents
  no information). Nothing is ever interpolated across a gap: :func:`split_at_gaps` cuts a recording into
  gap-free segments first.
* **Streaming** (:class:`StreamGrid`): one device's notifications, batch by batch, as the runtime sees them.
  It keeps just enough state to give the same kind of answer without waiting:

  - **Anti-aliasing** for devices faster than the grid (52, 104, 200 Hz): a causal, linear-phase FIR
    low-pass (Kaiser window, -6 dB at ``ANTI_ALIAS_FRACTION`` x 50 Hz = 20 Hz, >= 40 dB down from 25 Hz,
    the grid's Nyquist), whose last ``taps - 1`` inputs are the only state. Linear phase means a CONSTANT
    group delay of ``(taps - 1) / 2`` input samples (about 0.11 s at any input rate); each filtered value
    is stamped with the time of its centre input sample, so the grid is not shifted in time, it is only
    ``group_delay_s`` late. (A FIR, not ``sosfilt``: the filter is evaluated as one vectorized product per
    batch, where ``sosfilt`` costs ~30 us of call overhead per batch; and its delay is the same at every
    frequency.)
  - **Interpolation** (linear) of the filtered values onto ``t0 + k / 50`` s. Slower devices (InfiniTime,
    ~10 Hz, host-stamped) are upsampled the same way without the filter: :attr:`StreamGrid.upsampled` says
    so, and events carry it.
  - **Never across a gap.** :meth:`StreamGrid.push` is only ever given a gap-free continuation; a gap or a
    reconnect calls :meth:`StreamGrid.restart`, and the next sample starts a fresh grid (new ``t0``; the
    filter state is the first sample repeated, i.e. a constant past, so nothing before the gap leaks in).

  Times are whatever clock the caller uses consistently: sensor time for timestamped devices (regular,
  immune to radio jitter), host time for host-stamped ones.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from mujo_edge._numpy_core import interp_real
from mujo_edge.constants import RATE_HZ
from mujo_edge.errors import ShapeError

_sum, _min, _max = np.add.reduce, np.minimum.reduce, np.maximum.reduce


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


# --- streaming ---------------------------------------------------------------------------------
#: Stop-band attenuation of the anti-alias FIR, dB.
ANTI_ALIAS_ATTENUATION_DB: float = 40.0
#: Inputs within this fraction of the grid rate are only interpolated (no filter, no upsampling flag).
RATE_TOLERANCE: float = 0.01


def anti_alias_fir(source_rate_hz: float, rate_hz: float = RATE_HZ) -> np.ndarray:
    """Taps (odd count, float64) of the causal anti-alias low-pass for a ``source_rate_hz`` input."""
    cutoff_hz = ANTI_ALIAS_FRACTION * rate_hz
    width_hz = 2.0 * (0.5 * rate_hz - cutoff_hz)  # pass edge 15 Hz, stop edge 25 Hz for a 50 Hz grid
    numtaps, beta = signal.kaiserord(ANTI_ALIAS_ATTENUATION_DB, width_hz / (0.5 * source_rate_hz))
    numtaps |= 1
    taps: np.ndarray = signal.firwin(numtaps, cutoff_hz, window=("kaiser", beta), fs=source_rate_hz)
    return taps


_TAPS: dict[tuple[float, float], np.ndarray] = {}


def _taps(source_rate_hz: float, rate_hz: float) -> np.ndarray:
    """:func:`anti_alias_fir`, designed once per pair of rates and shared (read-only) by every grid: a
    gateway starts a grid per watch, and the design costs ~0.1 ms."""
    taps = _TAPS.get((source_rate_hz, rate_hz))
    if taps is None:
        taps = _TAPS[(source_rate_hz, rate_hz)] = anti_alias_fir(source_rate_hz, rate_hz)
        taps.flags.writeable = False
    return taps


#: Batches up to this many samples are filtered by one product with a banded (Toeplitz) matrix of the
#: taps, cheaper than three np.convolve calls below ~250 samples; longer ones use np.convolve.
BAND_ROWS: int = 256
#: grid offsets ``k / rate`` a grid keeps computed ahead (2 KB; a push reads its samples' times from them)
GRID_STEPS: int = 256
_BANDS: dict[bytes, np.ndarray] = {}


def _banded(taps: np.ndarray) -> np.ndarray:
    """(BAND_ROWS, BAND_ROWS + taps - 1) matrix whose row i holds the reversed taps at columns i..i+taps-1,
    shared by every grid with the same taps."""
    key = taps.tobytes()
    band = _BANDS.get(key)
    if band is None:
        k = taps.size
        band = np.zeros((BAND_ROWS, BAND_ROWS + k - 1))
        rows = np.arange(BAND_ROWS)[:, None]
        band[rows, rows + np.arange(k)[None, :]] = taps[::-1]
        _BANDS[key] = band
    return band


@dataclass(frozen=True)
class GridChunk:
    """Grid samples produced by one push: ``t_s`` (m,) float64, ``x`` (m, 3) float32, g."""

    t_s: np.ndarray
    x: np.ndarray


class StreamGrid:
    """Streaming resampler of one device's gap-free runs onto the grid.

    Args:
        source_rate_hz: the device's nominal rate, Hz.
        rate_hz: the grid rate (50 Hz).
    """

    def __init__(self, source_rate_hz: float, rate_hz: float = RATE_HZ) -> None:
        self.source_rate_hz = float(source_rate_hz)
        self.rate_hz = float(rate_hz)
        self.upsampled = source_rate_hz < rate_hz * (1.0 - RATE_TOLERANCE)
        if source_rate_hz > rate_hz * (1.0 + RATE_TOLERANCE):
            self.taps: np.ndarray | None = _taps(self.source_rate_hz, self.rate_hz)
            self._half = (self.taps.size - 1) // 2
            self._band: np.ndarray | None = _banded(self.taps)
        else:
            self.taps, self._band, self._half = None, None, 0
        self._memory = 2 * self._half  # inputs the filter keeps (taps - 1)
        # k / rate_hz for k in [_steps_k0, _steps_k0 + _steps.size): the grid's offsets from t0, computed
        # once per GRID_STEPS samples instead of by every push (the same division, so the same floats)
        self._steps: np.ndarray = np.zeros(0)
        self._steps_k0 = 0
        self.restart()

    @property
    def group_delay_s(self) -> float:
        """How long after a sample arrives its grid value can be computed, seconds (0 without filter)."""
        return self._half / self.source_rate_hz

    #: samples dropped by :meth:`push` because their time or value was NaN or infinite (over all runs)
    bad_samples: int = 0

    def restart(self) -> None:
        """Forget the run: the next push starts a fresh grid at its first sample."""
        self._t0: float | None = None
        self._k = 0  # index of the next grid sample to emit
        self._hist_t = np.zeros(0)
        self._hist_x: np.ndarray = np.zeros((0, 3), np.float32)  # (float64 after continue_run)
        self._prev_t: float | None = None  # last filtered value (kept to interpolate across batches)
        self._prev_x = np.zeros(3, np.float32)

    @property
    def started(self) -> bool:
        return self._t0 is not None

    @property
    def running(self) -> bool:
        """Started, with a filtered value kept from the last push (what :func:`push_lockstep` continues)."""
        return self._prev_t is not None

    @property
    def next_time_s(self) -> float | None:
        """Time of the next grid sample to be emitted, or None before the run starts."""
        return None if self._t0 is None else self._t0 + self._k / self.rate_hz

    def push(self, t_s: np.ndarray, x: np.ndarray, finite: bool = False) -> GridChunk:
        """Continue the run with samples ``t_s`` (n,) strictly increasing, ``x`` (n, 3) g; returns the grid
        samples that became computable (possibly none). Samples with a NaN/inf time or value are dropped and
        counted in :attr:`bad_samples` (the pipeline drops them before and says so with ``finite=True``;
        this keeps the grid safe alone)."""
        if not finite and not np.isfinite(t_s.sum() + x.sum()):
            ok = np.isfinite(t_s) & np.isfinite(x).all(axis=1)
            self.bad_samples += int(ok.size - ok.sum())
            t_s, x = t_s[ok], x[ok]
        return GridChunk(*self.push_finite(t_s, x))

    def push_finite(self, t_s: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`push` of finite samples (the caller dropped the others), as ``(t_s, x)`` arrays."""
        n = t_s.size
        if n == 0:
            return np.zeros(0), np.zeros((0, 3), np.float32)
        t0 = self._t0
        if t0 is None:
            t0 = self._t0 = float(t_s[0])
            if self.taps is not None:
                # A constant past: the first sample repeated, at the nominal rate before it.
                k = self.taps.size - 1
                self._hist_t = t_s[0] - np.arange(k, 0, -1) / self.source_rate_hz
                self._hist_x = np.repeat(x[:1].astype(np.float32), k, axis=0)
        band = self._band
        if band is not None:
            xs = np.concatenate((self._hist_x, x))
            ts = np.concatenate((self._hist_t, t_s))
            k = self._memory
            # Causal FIR outputs, one per new input, each stamped at its centre input's time.
            if n <= band.shape[0]:
                y = band[:n, : n + k] @ xs  # one BLAS call for all three channels
            else:
                assert self.taps is not None
                y = np.stack([np.convolve(xs[:, c], self.taps, "valid") for c in range(3)], axis=1)
            half = self._half
            ty = ts[half : half + n]
            self._hist_t, self._hist_x = ts[-k:], xs[-k:]
        else:
            y, ty = x, t_s
        prev_t = self._prev_t
        if prev_t is not None:
            ty = np.concatenate(((prev_t,), ty))
            y = np.concatenate((self._prev_x[None, :], y))
        return self._sample(t0, ty, y)

    def _sample(self, t0: float, ty: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The grid samples up to the last filtered value (``ty``, ``y``: the filtered values since the last
        grid sample, with the previous push's last one first, when there is one)."""
        last = self._prev_t = float(ty[-1])
        self._prev_x = y[-1]
        # Grid samples t0 + k / rate up to the last computable time.
        k_end = math.floor((last - t0) * self.rate_hz + 1e-9)
        k0 = self._k
        if k_end < k0:
            return np.zeros(0), np.zeros((0, 3), np.float32)
        k_hi = k_end + 1
        steps, s0 = self._steps, self._steps_k0
        if not s0 <= k0 or k_hi > s0 + steps.size:
            s0 = self._steps_k0 = k0
            steps = self._steps = np.arange(k0, k0 + max(GRID_STEPS, k_hi - k0)) / self.rate_hz
        g = t0 + steps[k0 - s0 : k_hi - s0]  # t0 + np.arange(k0, k_hi) / rate_hz
        self._k = k_hi
        out = np.empty((g.size, 3), np.float32)
        for c in range(3):  # g >= ty[0] always: the run's grid starts at a centre time
            out[:, c] = interp_real(g, ty, y[:, c])
        return g, out

    def continue_run(
        self, t_parts: list[np.ndarray], x_parts: list[np.ndarray], last_t: float, gap_s: float
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """:meth:`push_finite` of the samples ``t_parts`` / ``x_parts`` (consecutive pieces, each non-empty)
        when they plainly continue a running filtered run whose last sample was at ``last_t``: every value and
        time finite, every step in (0, ``gap_s``], at most ``BAND_ROWS`` samples. Returns ``(t_grid, x_grid,
        time of the last sample)``, or None, having changed nothing, for anything else (the caller's general
        path decides). The same numbers as :meth:`push_finite`, with the pieces laid after the filter's
        history in one concatenation each (and the checks made on them), the previous filtered value's time
        read from the history (where push leaves it) and its value written ahead of the product's rows,
        instead of both being concatenated."""
        band, prev_t = self._band, self._prev_t
        if band is None or prev_t is None or self._t0 is None:
            return None
        k, half = self._memory, self._half
        ts = np.concatenate((self._hist_t, *t_parts))
        n = ts.size - k
        if (
            not 0 < n <= band.shape[0]
            or not 0.0 < float(ts[k]) - last_t <= gap_s
            or float(ts[half - 1]) != prev_t
        ):
            return None  # (the last: the previous centre time is the history's, as push leaves it)
        if n > 1:
            d = ts[k + 1 :] - ts[k:-1]
            if not (_min(d) > 0.0 and _max(d) <= gap_s):  # (a NaN step fails both: NaN times too)
                return None
        xs = np.concatenate((self._hist_x, *x_parts), dtype=np.float64)  # (the product's own cast)
        if not math.isfinite(_sum(xs, axis=None)):  # (the history is finite: the new samples are not)
            return None
        y = np.empty((n + 1, 3))
        y[0] = self._prev_x
        np.matmul(band[:n, : n + k], xs, out=y[1:])  # push's product, bit for bit
        self._hist_t, self._hist_x = ts[-k:], xs[-k:]
        g, out = self._sample(self._t0, ts[half - 1 : half + n], y)
        return g, out, float(ts[-1])


def push_lockstep(
    grids: list[StreamGrid], t_s: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`StreamGrid.push` for many devices of one rate at once, as (devices, samples, 3) arrays.

    Every grid must be running (started, one batch pushed since), have the same source and grid rates, and
    get ``n <= BAND_ROWS`` finite samples that continue its run. Each device's grid samples are the ones its
    own :meth:`StreamGrid.push` would return, bit for bit: the filter is the same banded product per device,
    and the interpolation repeats :func:`numpy.interp`'s arithmetic.

    Args:
        grids: D running grids of the same rates.
        t_s: (D, n) float64 sample times, seconds, strictly increasing per row.
        x: (D, n, 3) float32 samples, g.
    Returns:
        ``(t_grid, x_grid, count)``: (D, Q) float64 grid times and (D, Q, 3) float32 grid samples, of which
        row i holds ``count[i]`` (D,) valid ones (the rest is padding).
    """
    rows = GridRows(grids[0].source_rate_hz, grids[0].rate_hz)
    rows.add(grids)
    grid_t, grid_x, count = rows.push(None, t_s, x)
    for i, g in enumerate(grids):
        rows.restore(i, g)
    return grid_t, grid_x, count


def start_lockstep(
    grids: list[StreamGrid], t_s: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first :meth:`StreamGrid.push_finite` of many fresh grids (none started) of one rate with a filter, as
    (devices, samples, 3) arrays: each grid is left as its own push would leave it and each row's grid
    samples are the ones that push returns, bit for bit (the same banded product per device, the constant
    past of the first sample, :func:`numpy.interp`'s arithmetic as :class:`GridRows` repeats it).

    Args:
        grids: D fresh grids of the same rates, with a filter.
        t_s: (D, n) float64 finite sample times, s, strictly increasing per row, ``2 <= n <= BAND_ROWS``.
        x: (D, n, 3) float32 finite samples, g.
    Returns:
        ``(t_grid, x_grid, count)`` as :func:`push_lockstep` returns them.
    """
    g0 = grids[0]
    taps, band = g0.taps, g0._band
    assert taps is not None and band is not None and x.dtype == np.float32 and t_s.dtype == np.float64
    d, n = t_s.shape
    k, half = g0._memory, g0._half
    # push_finite's constant past: the first sample repeated, at the nominal rate before it
    hist_t = t_s[:, :1] - np.arange(k, 0, -1) / g0.source_rate_hz
    xs = np.concatenate([np.repeat(x[:, :1], k, axis=1), x], axis=1)
    ts = np.concatenate([hist_t, t_s], axis=1)
    y = np.matmul(band[:n, : n + k], xs)  # one product per device, as StreamGrid.push makes it
    ty = ts[:, half : half + n]
    t0 = t_s[:, 0]
    grid_t, val, count, k_next = _sample_rows(g0, t0, np.zeros(d, np.int64), ty, y)
    for g, start, kn, h_t, h_x, p_t, p_x in zip(
        grids, t0.tolist(), k_next.tolist(), ts[:, -k:], xs[:, -k:], ty[:, -1].tolist(), y[:, -1], strict=True
    ):
        g._t0, g._k, g._hist_t, g._hist_x, g._prev_t, g._prev_x = start, kn, h_t, h_x, p_t, p_x
    return grid_t, val, count


class GridRows:
    """The state of many running :class:`StreamGrid` of one rate as arrays, a row per grid: what a gateway
    keeps for the devices it advances in lockstep, so that a step reads and writes no per-device object.

    A row continues its grid exactly: :meth:`push` gives the grid samples :meth:`StreamGrid.push` would, bit
    for bit, and :meth:`restore` writes a row back into a grid that then goes on by itself.
    """

    def __init__(self, source_rate_hz: float, rate_hz: float = RATE_HZ) -> None:
        self.template = StreamGrid(source_rate_hz, rate_hz)
        g = self.template
        k = 0 if g.taps is None else g.taps.size - 1
        self.t0 = np.zeros(0)
        self.k = np.zeros(0, np.int64)  # index of each row's next grid sample
        self.hist_t = np.zeros((0, k))
        self.hist_x = np.zeros((0, k, 3), np.float32)
        self.prev_t = np.zeros(0)
        self.prev_x = np.zeros((0, 3))

    def __len__(self) -> int:
        return int(self.t0.size)

    def add(self, grids: list[StreamGrid]) -> None:
        """Append a row per running grid (its state copied; the grid itself is left as it was)."""
        d = len(grids)
        if not d:
            return
        g0 = self.template
        k = self.hist_t.shape[1]
        assert all(g._t0 is not None and g._prev_t is not None for g in grids)
        self.t0 = np.concatenate([self.t0, np.array([g._t0 for g in grids], np.float64)])
        self.k = np.concatenate([self.k, np.array([g._k for g in grids], np.int64)])
        if g0.taps is not None:
            self.hist_t = np.concatenate(
                [self.hist_t, np.concatenate([g._hist_t for g in grids]).reshape(d, k)]
            )
            self.hist_x = np.concatenate(
                [self.hist_x, np.concatenate([g._hist_x for g in grids]).reshape(d, k, 3).astype(np.float32)]
            )
        else:  # no filter: no history, but a row all the same
            self.hist_t = np.zeros((len(self.t0), 0))
            self.hist_x = np.zeros((len(self.t0), 0, 3), np.float32)
        self.prev_t = np.concatenate([self.prev_t, np.array([g._prev_t for g in grids], np.float64)])
        prev_x = np.concatenate([np.asarray(g._prev_x, np.float64) for g in grids]).reshape(d, 3)
        self.prev_x = np.concatenate([self.prev_x, prev_x])

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` (bool) is True."""
        self.t0, self.k, self.prev_t, self.prev_x = (
            self.t0[mask],
            self.k[mask],
            self.prev_t[mask],
            self.prev_x[mask],
        )
        self.hist_t, self.hist_x = self.hist_t[mask], self.hist_x[mask]

    def restore(self, i: int, grid: StreamGrid) -> None:
        """Write row ``i`` back into ``grid`` (which then continues the run by itself)."""
        grid._t0 = float(self.t0[i])
        grid._k = int(self.k[i])
        if self.template.taps is not None:
            grid._hist_t = self.hist_t[i].copy()
            grid._hist_x = self.hist_x[i].copy()
        grid._prev_t = float(self.prev_t[i])
        grid._prev_x = self.prev_x[i].copy()

    def push(
        self, rows: np.ndarray | None, t_s: np.ndarray, x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`push_lockstep` for the grids of ``rows`` (an index array; None: every row, in order),
        whose state the rows hold: ``t_s`` (D, n) and ``x`` (D, n, 3) continue them."""
        g0 = self.template
        n = t_s.shape[1]
        taps, band = g0.taps, g0._band

        def sel(a: np.ndarray) -> np.ndarray:
            return a if rows is None else a[rows]

        t0, k0, prev_t, prev_x = sel(self.t0), sel(self.k), sel(self.prev_t), sel(self.prev_x)
        if taps is not None and band is not None:
            k = taps.size - 1
            xs = np.concatenate([sel(self.hist_x), x], axis=1)
            ts = np.concatenate([sel(self.hist_t), t_s], axis=1)
            y = np.matmul(band[:n, : n + k], xs)  # one product per device, as StreamGrid.push makes it
            ty = ts[:, g0._half : g0._half + n]
            hist_t, hist_x = ts[:, -k:], xs[:, -k:]
            if rows is None:
                self.hist_t, self.hist_x = hist_t, hist_x
            else:
                self.hist_t[rows], self.hist_x[rows] = hist_t, hist_x
        else:
            y, ty = x, t_s
        ty = np.concatenate([prev_t[:, None], ty], axis=1)  # (D, n + 1)
        y = np.concatenate([prev_x[:, None, :], y], axis=1, dtype=np.float64)
        last_t, last_x = ty[:, -1], y[:, -1]
        grid_t, val, count, k_next = _sample_rows(g0, t0, k0, ty, y)
        if rows is None:
            self.prev_t, self.prev_x, self.k = last_t.copy(), last_x.copy(), k_next
        else:
            self.prev_t[rows], self.prev_x[rows], self.k[rows] = last_t, last_x, k_next
        return grid_t, val, count


def _sample_rows(
    g0: StreamGrid, t0: np.ndarray, k0: np.ndarray, ty: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`StreamGrid._sample` of many rows: the grid samples from ``k0`` (D,) on (grids starting at ``t0``
    (D,)) up to each row's last filtered value, ``ty`` (D, m) increasing times and ``y`` (D, m, 3) float64
    values. Returns ``(t_grid, x_grid, count, k_next)``: (D, Q) times, (D, Q, 3) float32 samples (row i holds
    ``count[i]``, the rest is padding) and each row's next grid index."""
    d, m = ty.shape
    k_end = np.floor((ty[:, -1] - t0) * g0.rate_hz + 1e-9).astype(np.int64)
    count = np.maximum(k_end - k0 + 1, 0)
    q = int(count.max()) if d else 0
    grid_t = t0[:, None] + (k0[:, None] + np.arange(q)[None, :]) / g0.rate_hz
    k_next = np.maximum(k0, k_end + 1)
    # np.interp's arithmetic: j = the last knot at or before the query (the rows are increasing); the knot's
    # value where the query hits it or lies past the last knot (or before the first); else
    # slope * (x - xp[j]) + fp[j] with slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]).
    j = _last_at_or_before(ty, grid_t, g0.source_rate_hz)
    flat = np.clip(j, 0, m - 2) + (np.arange(d) * m)[:, None]
    tyf, yf = ty.ravel(), y.reshape(-1, 3)
    tj, tj1 = tyf.take(flat), tyf.take(flat + 1)
    yj, yj1 = yf.take(flat, axis=0), yf.take(flat + 1, axis=0)
    val = (yj1 - yj) / (tj1 - tj)[:, :, None] * (grid_t - tj)[:, :, None] + yj
    knot = (j < 0) | (tj == grid_t)  # (rare: the first grid sample of a run, an exact hit)
    if knot.any():
        val[knot] = yj[knot]
    past = j >= m - 1  # (the padding past a row's count)
    if past.any():
        val[past] = yj1[past]
    return grid_t, val.astype(np.float32), count, k_next


def _last_at_or_before(knots: np.ndarray, query: np.ndarray, rate_hz: float) -> np.ndarray:
    """(D, Q) index of the last of each row's increasing ``knots`` (D, m) at or before each ``query`` (D, Q);
    -1 before the first. The knots are samples at about ``rate_hz``: the index is guessed from the rate and
    corrected by a step each way, and checked (rows the guess misses are counted exactly)."""
    d, m = knots.shape
    base = (np.arange(d) * m)[:, None]
    flat = knots.ravel()
    j: np.ndarray = np.clip(np.floor((query - knots[:, :1]) * rate_hz).astype(np.int64), 0, m - 1)
    j += (j < m - 1) & (flat.take(np.minimum(j + 1, m - 1) + base) <= query)
    j -= flat.take(j + base) > query
    after = flat.take(np.minimum(j + 1, m - 1) + base)
    at = flat.take(np.maximum(j, 0) + base)
    ok = ((j < 0) | (at <= query)) & ((j == m - 1) | (after > query))
    if not ok.all():
        counted: np.ndarray = (knots[:, None, :] <= query[:, :, None]).sum(axis=2) - 1
        return counted
    return j
