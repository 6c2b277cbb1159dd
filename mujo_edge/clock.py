"""Clock model: a device's sensor clock -> the host's monotonic clock, and gap detection.

A watch stamps samples with its own clock; the host only knows when a notification arrived. The arrival
time is the sensor time plus an offset, plus a slowly growing drift (crystals differ by up to a few hundred
ppm), plus a transmission latency that is never negative but jitters and comes in bursts (the radio or the OS
holds notifications and delivers them together). So the points ``latency(t) = t_recv - t_sensor`` lie ON or
ABOVE a straight line ``offset + skew * t``: the line is their **lower envelope** (minimum latency).

:class:`ClockModel` fits that line over a sliding window: per-bucket minima of the latency (one point per
``bucket_s`` of sensor time), then least squares, then twice more on the points at or below the median
residual, which pulls the line onto the envelope. Bursts and jitter only ever raise points, so they leave
the fit alone. ``to_host`` maps sensor time to the **earliest possible host receive time**: the fixed
part of the radio latency cannot be told apart from the clock offset, and is included in it.

Host-stamped devices (InfiniTime: ``t_sensor_s is None``) have no sensor clock. :func:`host_stamp` gives
their samples host times (the last sample of a notification at its arrival, earlier ones back at the
nominal rate, never overlapping the previous notification). This is a documented lower-quality mode:
transmission jitter becomes timing jitter and the host cannot see lost samples except as long silences.
"""

from __future__ import annotations

import itertools
import logging
import math
import operator
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mujo_edge.grid import GAP_FACTOR

log = logging.getLogger(__name__)
_T_MIN, _LAT_MIN = operator.itemgetter(1), operator.itemgetter(2)  # fields of a closed bucket

#: Sliding window of the clock fit, seconds of sensor time.
CLOCK_WINDOW_S: float = 120.0
#: One lower-envelope point (the minimum latency) per bucket of this many seconds of sensor time.
CLOCK_BUCKET_S: float = 2.0
#: Fit the skew only once the buckets span at least this long; before that, skew 0 and offset = min latency.
CLOCK_MIN_SPAN_S: float = 10.0
#: A point this far BELOW the fitted envelope means the sensor clock jumped forward: the fit restarts.
CLOCK_JUMP_BELOW_S: float = 0.25
#: This many consecutive points more than ``CLOCK_JUMP_ABOVE_S`` above the envelope: the clock jumped back.
CLOCK_JUMP_ABOVE_S: float = 2.0
CLOCK_JUMP_ABOVE_COUNT: int = 5
#: Refit at most this often (s of sensor time) once the skew is known: the fit extrapolates with its
#: skew, and a skew error of 10 ppm moves the mapping only 0.3 ms in 30 s.
CLOCK_REFIT_S: float = 30.0
#: Until the fit spans this long (s), refit often: an early skew from few points is rough.
CLOCK_SETTLED_S: float = 60.0
#: ...at most this often (s of sensor time since the fit's last point: every third 2-s bucket). A skew error
#: of 100 ppm, rough for a young fit, moves the mapping 0.6 ms in 6 s; each refit of a lone clock costs about
#: 50-70 us, so refitting at every bucket made a device's first minute 20 % dearer than the rest.
CLOCK_YOUNG_REFIT_S: float = 5.0
#: ...unless a bucket minimum falls this far under the line (a better envelope point): refit at once.
CLOCK_REFIT_BELOW_S: float = 0.001
#: observe_many takes up to this many points one by one (numpy's per-call cost dominates below it).
SCALAR_POINTS: int = 12
#: Skews beyond this (1000 ppm) are not crystals: a fit that says so is used, with a warning.
MAX_SKEW: float = 1e-3
#: Silence that ends a run for a host-stamped device (InfiniTime sends only when the value changes and is
#: polled at ~10 Hz, so silences shorter than this are ordinary), seconds.
HOST_STAMPED_GAP_S: float = 1.0


@dataclass(frozen=True)
class ClockFit:
    """``host = sensor + offset_s + skew * (sensor - t_ref_s)``; ``n_points`` lower-envelope points used."""

    offset_s: float
    skew: float
    t_ref_s: float
    n_points: int

    @property
    def skew_ppm(self) -> float:
        """How fast the sensor clock runs against the host clock, ppm (positive: fast)."""
        return -self.skew / (1.0 + self.skew) * 1e6


class ClockModel:
    """Maps one device's sensor time (seconds) to host monotonic time (seconds).

    Feed it one point per notification with :meth:`observe` (the sensor time of the batch's LAST sample and
    the notification's host receive time); read times back with :meth:`to_host`. Cost: O(1) per observation
    and one small least-squares fit per closed bucket.

    Args:
        window_s: sliding window of the fit, seconds of sensor time.
        bucket_s: one minimum-latency point per bucket of this many seconds.
    """

    def __init__(self, window_s: float = CLOCK_WINDOW_S, bucket_s: float = CLOCK_BUCKET_S) -> None:
        self.window_s = window_s
        self.bucket_s = bucket_s
        self.resets = 0
        #: observations ignored because a time was NaN or infinite
        self.bad_points = 0
        self._warned = False
        self.reset()

    def reset(self) -> None:
        """Forget everything (the next observation starts a new fit)."""
        self._buckets: deque[tuple[int, float, float]] = deque()  # (bucket id, t_sensor at min, min latency)
        self._bucket_id: int | None = None
        self._t_min = 0.0
        self._lat_min = 0.0
        self._t_last: float | None = None
        self._above = 0
        self.fit: ClockFit | None = None
        #: a bucket closed since the last fit: :func:`refit_clocks` is due
        self.stale = False

    # -- fitting ------------------------------------------------------------------------------------
    def observe(self, t_sensor_s: float, t_recv_s: float) -> None:
        """Add one (sensor time of the last sample, host receive time) point; a NaN/inf one is counted in
        :attr:`bad_points` and ignored."""
        self._observe(t_sensor_s, t_recv_s)
        if self.stale:
            refit_clocks([self])

    def _observe(self, t_sensor_s: float, t_recv_s: float) -> None:
        """:meth:`observe` without the refit: a closed bucket only marks the fit :attr:`stale`."""
        if not (math.isfinite(t_sensor_s) and math.isfinite(t_recv_s)):
            self.bad_points += 1
            return
        if self._t_last is not None and t_sensor_s < self._t_last - 1e-6:
            log.info("sensor clock went back by %.3f s: restarting the clock fit", self._t_last - t_sensor_s)
            self.resets += 1
            self.reset()
        lat = t_recv_s - t_sensor_s
        fit = self.fit
        if fit is not None and fit.n_points > 1:
            resid = lat - (fit.offset_s + fit.skew * (t_sensor_s - fit.t_ref_s))
            if resid < -CLOCK_JUMP_BELOW_S:
                log.info("sensor clock jumped forward by %.3f s: restarting the clock fit", -resid)
                self.resets += 1
                self.reset()
            elif resid > CLOCK_JUMP_ABOVE_S:
                self._above += 1
                if self._above >= CLOCK_JUMP_ABOVE_COUNT:
                    log.info("sensor clock jumped back by %.3f s: restarting the clock fit", resid)
                    self.resets += 1
                    self.reset()
            else:
                self._above = 0
        self._t_last = t_sensor_s
        self._add(math.floor(t_sensor_s / self.bucket_s), t_sensor_s, lat)

    def observe_many(
        self,
        t_sensor_s: Sequence[float] | np.ndarray,
        t_recv_s: Sequence[float] | np.ndarray,
        refit: bool = True,
    ) -> None:
        """:meth:`observe` for many points at once (k,), vectorized (one bucket update per bucket; the fit
        agrees with point-by-point observation to well under a millisecond). The fit is refitted at most
        once, after the last point; ``refit=False`` leaves that to the caller (:func:`refit_clocks` refits
        the clocks of many devices in one vectorized step), with :attr:`stale` saying whether it is due."""
        self._observe_many(t_sensor_s, t_recv_s)
        if refit and self.stale:
            refit_clocks([self])

    def _observe_many(
        self, t_sensor_s: Sequence[float] | np.ndarray, t_recv_s: Sequence[float] | np.ndarray
    ) -> None:
        if len(t_sensor_s) <= SCALAR_POINTS:  # a few points: scalar Python is cheaper than numpy calls
            self._observe_few([float(v) for v in t_sensor_s], [float(v) for v in t_recv_s])
            return
        t = np.asarray(t_sensor_s, dtype=np.float64)
        lat = np.asarray(t_recv_s, dtype=np.float64) - t
        if not np.isfinite(lat).all():  # NaN/inf times: counted and left out
            ok = np.isfinite(lat)
            self.bad_points += int(ok.size - ok.sum())
            t, lat = t[ok], lat[ok]
            if not t.size:
                return
        fit = self.fit
        odd = (self._t_last is not None and t[0] < self._t_last - 1e-6) or (
            t.size > 1 and bool((np.diff(t) < -1e-6).any())
        )
        if not odd and fit is not None and fit.n_points > 1:
            resid = lat - (fit.offset_s + fit.skew * (t - fit.t_ref_s))
            odd = resid.min() < -CLOCK_JUMP_BELOW_S or resid.max() > CLOCK_JUMP_ABOVE_S
        if odd:  # a clock jump somewhere: take the points one by one
            for ts, tr in zip(t.tolist(), (lat + t).tolist(), strict=True):
                self._observe(ts, tr)
            return
        self._above = 0
        self._t_last = float(t[-1])
        bid = np.floor(t / self.bucket_s).astype(np.int64)
        edges = [0, *(np.flatnonzero(np.diff(bid)) + 1).tolist(), t.size]
        for a, e in itertools.pairwise(edges):
            j = a + int(np.argmin(lat[a:e]))
            self._add(int(bid[a]), float(t[j]), float(lat[j]))

    def _observe_few(self, t_sensor_s: list[float], t_recv_s: list[float]) -> None:
        """:meth:`_observe` of each point in turn (Python floats: the pipeline's own lists, or
        :meth:`_observe_many`'s conversion); while a fitted line exists, the points that are its plain
        continuation (in order, within the jump limits, in the open bucket: every NaN/inf point fails these)
        only move the open bucket's minimum, kept in locals; any other point (a new bucket, a jump) takes
        :meth:`_observe` itself, and the points after it go on the same way from the state it leaves."""
        pairs = zip(t_sensor_s, t_recv_s, strict=True)
        while True:
            fit, bid, last = self.fit, self._bucket_id, self._t_last
            if fit is None or fit.n_points <= 1 or bid is None or last is None:
                break  # (no line: none appears before the refit after the last point)
            off, skew, ref, size = fit.offset_s, fit.skew, fit.t_ref_s, self.bucket_s
            t_min, lat_min = self._t_min, self._lat_min
            moved = False
            for ts, tr in pairs:
                lat = tr - ts
                resid = lat - (off + skew * (ts - ref))  # (_observe's arithmetic)
                if not (
                    ts >= last - 1e-6
                    and -CLOCK_JUMP_BELOW_S <= resid <= CLOCK_JUMP_ABOVE_S
                    and math.floor(ts / size) == bid
                ):
                    self._t_min, self._lat_min = t_min, lat_min
                    if moved:
                        self._t_last, self._above = last, 0
                    self._observe(ts, tr)
                    break
                moved, last = True, ts
                if lat < lat_min:
                    t_min, lat_min = ts, lat
            else:
                self._t_min, self._lat_min = t_min, lat_min
                if moved:
                    self._t_last, self._above = last, 0
                return
        for ts, tr in pairs:  # (what is left, one by one)
            self._observe(ts, tr)

    def _add(self, bid: int, t_sensor_s: float, lat: float) -> None:
        """Merge one point into the bucket minima; mark the fit :attr:`stale` when a bucket closes (at most
        every ``CLOCK_YOUNG_REFIT_S`` until the fit spans ``CLOCK_SETTLED_S``, every ``CLOCK_REFIT_S``
        after, and at once for a minimum well under the line)."""
        if bid == self._bucket_id:
            if lat < self._lat_min:
                self._t_min, self._lat_min = t_sensor_s, lat
            if self.fit is not None and self.fit.n_points <= 1 and lat < self.fit.offset_s:
                self.fit = ClockFit(lat, 0.0, t_sensor_s, 1)
            return
        if self._bucket_id is not None:
            self._buckets.append((self._bucket_id, self._t_min, self._lat_min))
            while self._buckets and self._buckets[0][0] * self.bucket_s < t_sensor_s - self.window_s:
                self._buckets.popleft()
        self._bucket_id, self._t_min, self._lat_min = bid, t_sensor_s, lat
        fit = self.fit
        young = len(self._buckets) * self.bucket_s < CLOCK_SETTLED_S  # skew still uncertain: refit often
        every = CLOCK_YOUNG_REFIT_S if young else CLOCK_REFIT_S
        if fit is None or fit.n_points <= 1 or t_sensor_s - fit.t_ref_s >= every:
            self.stale = True
        elif lat < fit.offset_s + fit.skew * (t_sensor_s - fit.t_ref_s) - CLOCK_REFIT_BELOW_S:
            self.stale = True  # a new minimum well under the line: take it now

    def _points(self) -> tuple[list[float], list[float]]:
        """Sensor times and minimum latencies of the closed buckets and the open one, oldest first."""
        ts = list(map(_T_MIN, self._buckets))
        lat = list(map(_LAT_MIN, self._buckets))
        ts.append(self._t_min)
        lat.append(self._lat_min)
        return ts, lat

    def _set_fit(self, offset: float, skew: float, t_ref: float, n_points: int) -> None:
        self.stale = False
        if abs(skew) > MAX_SKEW and not self._warned:
            self._warned = True
            log.warning(
                "the sensor clock runs %.0f ppm off the host clock: no crystal drifts that much. An accelerated "
                "replay or virtual watch (--speed)? Event times follow the fitted line anyway.",
                -skew * 1e6,
            )
        self.fit = ClockFit(offset, skew, t_ref, n_points)

    # -- mapping ------------------------------------------------------------------------------------
    def to_host(self, t_sensor_s: np.ndarray | float) -> np.ndarray | float:
        """Host monotonic time (s) of sensor time(s) ``t_sensor_s``; identity before the first observation."""
        fit = self.fit
        if fit is None:
            return t_sensor_s
        return t_sensor_s + fit.offset_s + fit.skew * (t_sensor_s - fit.t_ref_s)


def refit_clocks(clocks: Sequence[ClockModel]) -> None:
    """Refit the lower envelope of every clock in ``clocks`` (those marked :attr:`ClockModel.stale`; the others
    are left alone) in one vectorized step.

    Each clock's bucket minima are laid into a row of a fixed width (the most buckets a clock can hold), so
    a clock's fit is computed with exactly the same arithmetic whether it is refitted alone or with a
    thousand others: a gateway refits all its devices together and gets the events of separate runs.
    """
    rows: dict[int, list[tuple[ClockModel, list[float], list[float]]]] = {}
    for c in clocks:
        if not c.stale or c._bucket_id is None:
            continue
        ts, lat = c._points()
        if len(ts) < 3 or ts[-1] - ts[0] < CLOCK_MIN_SPAN_S:
            c._set_fit(min(lat), 0.0, ts[-1], 1)
            continue
        width = int(c.window_s / c.bucket_s) + 3
        rows.setdefault(width, []).append((c, ts, lat))
    for width, group in rows.items():
        if len(group) == 1:  # one clock: its row alone, at the width fit_rows gives it
            c, ts, lat = group[0]
            n = len(ts)
            w = _fit_width(n, width)
            x1, lat1 = np.zeros(w), np.zeros(w)
            x1[:n] = np.array(ts) - ts[-1]  # sensor time from the last point
            lat1[:n] = lat
            c._set_fit(*_envelope_fit_one(x1, lat1, n), ts[-1], n)
            continue
        # every clock's points in one flat list, laid into its row (then padding) by one scatter
        flat_t: list[float] = []
        flat_lat: list[float] = []
        counts: list[int] = []
        refs: list[float] = []
        for _, ts, lat in group:
            flat_t += ts
            flat_lat += lat
            counts.append(len(ts))
            refs.append(ts[-1])
        count = np.array(counts, np.int64)
        d = len(group)
        at = (
            np.arange(len(flat_t))
            - np.repeat(np.cumsum(count) - count, count)
            + np.repeat(np.arange(d) * width, count)
        )
        t = np.zeros((d, width))
        lat_a = np.zeros((d, width))
        t.ravel()[at] = np.array(flat_t) - np.repeat(np.array(refs), count)  # sensor time from the last point
        lat_a.ravel()[at] = flat_lat
        offset, skew = fit_rows(t, lat_a, count)
        for (c, ts, _), off, sk in zip(group, offset.tolist(), skew.tolist(), strict=True):
            c._set_fit(off, sk, ts[-1], len(ts))


def observe_clocks(clocks: Sequence[ClockModel], t_sensor_s: np.ndarray, t_recv_s: np.ndarray) -> None:
    """:meth:`ClockModel.observe_many` of ``k <= SCALAR_POINTS`` points for many clocks at once, without the
    refit (each clock's :attr:`~ClockModel.stale` says whether :func:`refit_clocks` is due).

    Row i of ``t_sensor_s`` and ``t_recv_s`` (D, k) float64 s holds clock i's points. Every clock ends in
    the state its own point-by-point :meth:`ClockModel.observe` would leave: the checks (finite, increasing,
    within the jump limits of a fitted line) run for all rows at once with the scalar path's arithmetic; a
    row whose points all fall in its open bucket only updates that bucket's minimum, and any other row
    takes its points one by one.
    """
    d, k = t_sensor_s.shape
    if k > SCALAR_POINTS or k == 0 or d == 0:
        for i, c in enumerate(clocks):
            c._observe_many(t_sensor_s[i], t_recv_s[i])
        return
    nan = math.nan
    # Per clock: its line, last point, open bucket and bucket length; NaN where there is no fitted line
    # (a NaN fails every comparison below, so such a row takes the scalar path).
    state = np.array(
        [
            (f.offset_s, f.skew, f.t_ref_s, c._t_last, c._bucket_id, c.bucket_s)
            if (f := c.fit) is not None
            and f.n_points > 1
            and c._t_last is not None
            and c._bucket_id is not None
            else (nan, nan, nan, nan, nan, c.bucket_s)
            for c in clocks
        ],
        np.float64,
    )
    off, skew, ref, last, bucket, size = (state[:, i : i + 1] for i in range(6))
    lat = t_recv_s - t_sensor_s
    resid = lat - (off + skew * (t_sensor_s - ref))
    prev = np.concatenate([last, t_sensor_s[:, :-1]], axis=1)
    bid = np.floor(t_sensor_s / size)
    checked = (
        (t_sensor_s >= prev - 1e-6)
        & (resid >= -CLOCK_JUMP_BELOW_S)
        & (resid <= CLOCK_JUMP_ABOVE_S)
        & np.isfinite(lat)
    ).all(axis=1)
    same = (bid == bucket).all(axis=1)
    j = lat.argmin(axis=1)
    rows = np.arange(d)
    low_t, low_lat = t_sensor_s[rows, j].tolist(), lat[rows, j].tolist()
    ends = t_sensor_s[:, -1].tolist()
    for i, (c, ok, within) in enumerate(zip(clocks, checked.tolist(), same.tolist(), strict=True)):
        if not ok:  # a NaN time, a clock jump or no line yet: the scalar path decides
            for ts, tr in zip(t_sensor_s[i].tolist(), t_recv_s[i].tolist(), strict=True):
                c._observe(ts, tr)
            continue
        c._above = 0
        c._t_last = ends[i]
        if within:  # every point in the open bucket: only its minimum moves (to the first point reaching it)
            if low_lat[i] < c._lat_min:
                c._t_min, c._lat_min = low_t[i], low_lat[i]
        else:
            for b, ts, la in zip(bid[i].tolist(), t_sensor_s[i].tolist(), lat[i].tolist(), strict=True):
                c._add(int(b), ts, la)


#: Rows of at most 8 * m points are fitted at a width of 8 * m columns (m = 1..7), longer ones at full width:
#: a row's arithmetic depends on its own points and count only, and the early rows of a clock (a point every
#: 2 s, refitted at each) cost a fraction of the full width.
FIT_WIDTH_STEP: int = 8


def _fit_width(count: int, p: int) -> int:
    """The width (of ``p`` columns) a row of ``count`` points is fitted at (:func:`fit_rows`)."""
    step = FIT_WIDTH_STEP
    w = min(-(-count // step) * step, p)
    return p if w > p - p % step else w


def fit_rows(x: np.ndarray, lat: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`envelope_fit` of rows laid out at full width (D, P), each fitted at the width its count
    gives (:data:`FIT_WIDTH_STEP`): whichever rows are fitted together, a row's line is the same."""
    d, p = x.shape
    step = FIT_WIDTH_STEP
    if d == 1:  # (one clock: no grouping)
        w = _fit_width(int(count[0]), p)
        off, sk = _envelope_fit_one(x[0, :w], lat[0, :w], int(count[0]))
        return np.array((off,)), np.array((sk,))
    width = np.minimum(-(-count // step) * step, p)
    width[width > p - p % step] = p  # (a last, partial step: the full width)
    lo, hi = int(width.min()), int(width.max())
    if lo == hi:  # one width for all (the columns past it are padding)
        return envelope_fit(x[:, :lo], lat[:, :lo], count)
    offset, skew = np.zeros(d), np.zeros(d)
    for w in np.unique(width).tolist():
        rows = np.flatnonzero(width == w)
        offset[rows], skew[rows] = envelope_fit(x[rows, :w], lat[rows, :w], count[rows])
    return offset, skew


def envelope_fit(x: np.ndarray, lat: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower-envelope lines ``lat = offset + skew * x`` of many point sets at once.

    Args:
        x: (D, P) float64 sensor times relative to each set's reference, seconds; row i holds ``count[i]``
            points, then padding.
        lat: (D, P) float64 minimum latencies, seconds, laid out as ``x``.
        count: (D,) points per row (>= 2).
    Returns:
        ``(offset, skew)``: (D,) float64 each. Least squares, then twice more on the points at or under the
        median residual (a row stops early when fewer than 2 points would remain, or at a fixed point: when
        its points do not change, another pass would give the same line; the last pass only fits).
    """
    d = x.shape[0]
    offset, skew = np.zeros(d), np.zeros(d)
    if not d:
        return offset, skew
    valid = np.arange(x.shape[1])[None, :] < count[:, None]
    keep = valid.astype(np.float64)
    active = np.ones(d, bool)
    lo, hi = (count - 1) // 2, count // 2
    # the rows still fitted (each row's arithmetic is its own: dropping rows changes none)
    live = np.arange(d)
    for it in range(3):
        n = keep.sum(axis=1)
        xs, ys = x * keep, lat * keep
        sx, sy = xs.sum(axis=1), ys.sum(axis=1)
        den = n * (xs * xs).sum(axis=1) - sx * sx
        pos = den > 0
        sk = np.where(pos, (n * (xs * ys).sum(axis=1) - sx * sy) / np.where(pos, den, 1.0), 0.0)
        off = (sy - sk * sx) / n
        sk, off = np.where(active, sk, skew[live]), np.where(active, off, offset[live])
        skew[live], offset[live] = sk, off
        if it == 2:
            break  # (the points the last line leaves below its median fit no other line)
        resid = lat - (off[:, None] + sk[:, None] * x)
        s = np.sort(np.where(valid, resid, np.inf), axis=1)
        i = np.arange(live.size)
        med = (s[i, lo] + s[i, hi]) / 2
        below = valid & (resid <= med[:, None])
        still = active & (below.sum(axis=1) >= 2)
        new_keep = np.where(still[:, None], below, keep)
        # a row goes on while it is active and its points change (a row that stopped keeps its line)
        go = still & (new_keep != keep).any(axis=1)
        if not go.any():
            break
        if not go.all():
            live, x, lat, valid, new_keep, still = (
                live[go],
                x[go],
                lat[go],
                valid[go],
                new_keep[go],
                still[go],
            )
            lo, hi = lo[go], hi[go]
        active, keep = still, new_keep
    return offset, skew


def _envelope_fit_one(x: np.ndarray, lat: np.ndarray, count: int) -> tuple[float, float]:
    """:func:`envelope_fit` of one row ``x``, ``lat`` (P,) of ``count`` finite points, in the same arithmetic: the
    sums are the same reductions over the row, the rest is the same float arithmetic on scalars instead of
    (1,) arrays (one clock refitted alone, as a device on its own path does at every bucket of its first
    minute). The points kept are counted as they are chosen, the median is read from the sorted points alone
    (the padding sorts after them), and the kept points are compared only when their counts agree."""
    p = x.size
    valid = np.arange(p) < count
    # (then the points kept, as bools: the same products and sums)
    keep: np.ndarray = valid.astype(np.float64)
    kept = count
    active = True
    offset = skew = 0.0
    lo, hi = (count - 1) // 2, count // 2
    # Rows x * keep, lat * keep, their product with x * keep, summed in one reduction along each row (each
    # row's sum is the same pairwise sum as envelope_fit's over a row of its (D, P) arrays).
    x_lat = np.array((x, lat))
    rows = np.empty((4, p))
    mul, add = np.multiply, np.add.reduce
    for it in range(3):
        n = float(kept)  # (keep's sum)
        mul(x_lat, keep, out=rows[:2])
        mul(rows[0], rows[:2], out=rows[2:])
        sx, sy, sxx, sxy = add(rows, axis=1).tolist()
        den = n * sxx - sx * sx
        sk = (n * sxy - sx * sy) / den if den > 0 else 0.0
        off = (sy - sk * sx) / n
        if active:
            skew, offset = sk, off
        if it == 2:
            break  # (the last pass only fits, as envelope_fit's)
        resid = lat - (offset + skew * x)
        s = resid[:count].copy()
        s.sort()  # (np.sort's values; the method skips the function's dispatch, a third of its time here)
        med = (float(s[lo]) + float(s[hi])) / 2
        below = valid & (resid <= med)
        n_below = int(np.count_nonzero(below))
        still = active and n_below >= 2
        if still == active and (not still or (n_below == kept and bool((below == keep).all()))):
            break  # a fixed point: the next pass would compute the same line from the same points
        if still:
            keep, kept = below, n_below
        active = still
    return offset, skew


def host_stamp(n: int, t_recv_s: float, rate_hz: float, t_prev_s: float | None) -> np.ndarray:
    """Host times (n,) float64 for ``n`` samples of a host-stamped notification received at ``t_recv_s``.

    The last sample gets the receive time, earlier ones step back at the nominal ``rate_hz``; if that would
    reach back to the previous notification's last sample ``t_prev_s``, the samples are spread evenly
    between the two instead (a burst), so times stay strictly increasing. A NaN/inf ``t_recv_s`` gives NaN.
    """
    if not math.isfinite(t_recv_s):  # no time at all: NaN times, which the pipeline drops and counts
        return np.full(n, np.nan)
    period = 1.0 / rate_hz
    t = t_recv_s - period * np.arange(n - 1, -1, -1, dtype=np.float64)
    if t_prev_s is not None and t[0] <= t_prev_s:
        end = max(t_recv_s, t_prev_s + period * n * 1e-3)
        t = t_prev_s + (end - t_prev_s) * np.arange(1, n + 1, dtype=np.float64) / n
    return t


def gap_threshold_s(rate_hz: float, host_stamped: bool) -> float:
    """Largest step between consecutive sample times (s) that is not a gap: 1.5 nominal periods
    (sensor time), or :data:`HOST_STAMPED_GAP_S` for host-stamped devices."""
    if host_stamped:
        return max(HOST_STAMPED_GAP_S, GAP_FACTOR / rate_hz)
    return GAP_FACTOR / rate_hz


class ClockRows:
    """The state of many :class:`ClockModel` (one window and bucket length) as arrays, a row per clock: what a
    gateway keeps for the devices it advances in lockstep, so that observing their points and refitting
    their lines reads and writes no per-clock object.

    :meth:`accepts` tells which rows :meth:`observe` can take exactly as :meth:`ClockModel.observe` would,
    point by point (finite, in order, within the jump limits of a fitted line, at most ``SCALAR_POINTS``
    points and one bucket closed); :meth:`observe` then moves those rows and refits the stale ones with
    :func:`refit_clocks`' arithmetic, so every row holds the line its own clock would. :meth:`restore` writes
    a row back into a clock that then goes on by itself.
    """

    def __init__(self, window_s: float = CLOCK_WINDOW_S, bucket_s: float = CLOCK_BUCKET_S) -> None:
        self.window_s, self.bucket_s = window_s, bucket_s
        self.width = int(window_s / bucket_s) + 3  # refit_clocks' row width
        w = self.width
        # the line (offset, skew, reference, points) of each row
        self.off, self.skew, self.ref = np.zeros(0), np.zeros(0), np.zeros(0)
        self.npts = np.zeros(0, np.int64)
        self.t_last, self.above = np.zeros(0), np.zeros(0, np.int64)
        # the open bucket: id, sensor time of its minimum, its minimum latency
        self.bid, self.t_min, self.lat_min = np.zeros(0), np.zeros(0), np.zeros(0)
        # the closed buckets, oldest first, ``closed[i]`` of them per row
        self.b_id, self.b_t, self.b_lat = np.zeros((0, w)), np.zeros((0, w)), np.zeros((0, w))
        self.closed = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return int(self.off.size)

    @staticmethod
    def joinable(c: ClockModel) -> bool:
        """Whether a clock's state fits a row: a line (of any number of points), a bucket open, nothing due."""
        return c.fit is not None and c._bucket_id is not None and c._t_last is not None and not c.stale

    def add(self, clocks: Sequence[ClockModel]) -> None:
        """Append a row per clock (each :meth:`joinable`; its state copied)."""
        d, w = len(clocks), self.width
        fits = [c.fit for c in clocks]
        assert all(f is not None for f in fits) and all(self.joinable(c) for c in clocks)
        line = np.array(
            [(f.offset_s, f.skew, f.t_ref_s, f.n_points) for f in fits if f is not None], np.float64
        ).reshape(d, 4)
        state = np.array(
            [(c._t_last, c._above, c._bucket_id, c._t_min, c._lat_min, len(c._buckets)) for c in clocks],
            np.float64,
        ).reshape(d, 6)
        b = np.zeros((3, d, w))
        for i, c in enumerate(clocks):
            if c._buckets:
                b[:, i, : len(c._buckets)] = np.array(c._buckets, np.float64).T
        cat = np.concatenate
        self.off, self.skew, self.ref = (
            cat([self.off, line[:, 0]]),
            cat([self.skew, line[:, 1]]),
            cat([self.ref, line[:, 2]]),
        )
        self.npts = cat([self.npts, line[:, 3].astype(np.int64)])
        self.t_last, self.above = (
            cat([self.t_last, state[:, 0]]),
            cat([self.above, state[:, 1].astype(np.int64)]),
        )
        self.bid, self.t_min, self.lat_min = (
            cat([self.bid, state[:, 2]]),
            cat([self.t_min, state[:, 3]]),
            cat([self.lat_min, state[:, 4]]),
        )
        self.closed = cat([self.closed, state[:, 5].astype(np.int64)])
        self.b_id, self.b_t, self.b_lat = (
            cat([self.b_id, b[0]]),
            cat([self.b_t, b[1]]),
            cat([self.b_lat, b[2]]),
        )

    _FIELDS = (
        "off",
        "skew",
        "ref",
        "npts",
        "t_last",
        "above",
        "bid",
        "t_min",
        "lat_min",
        "b_id",
        "b_t",
        "b_lat",
        "closed",
    )

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` (bool) is True."""
        for name in self._FIELDS:
            setattr(self, name, getattr(self, name)[mask])

    def restore(self, i: int, c: ClockModel) -> None:
        """Write row ``i`` back into clock ``c``."""
        c.fit = ClockFit(float(self.off[i]), float(self.skew[i]), float(self.ref[i]), int(self.npts[i]))
        c._t_last, c._above = float(self.t_last[i]), int(self.above[i])
        c._bucket_id, c._t_min, c._lat_min = int(self.bid[i]), float(self.t_min[i]), float(self.lat_min[i])
        n = int(self.closed[i])
        c._buckets = deque(
            zip(
                [int(b) for b in self.b_id[i, :n].tolist()],
                self.b_t[i, :n].tolist(),
                self.b_lat[i, :n].tolist(),
                strict=True,
            )
        )
        c.stale = False

    def accepts(self, rows: np.ndarray, t_sensor_s: np.ndarray, t_recv_s: np.ndarray) -> np.ndarray:
        """(D,) bool: which of ``rows`` :meth:`observe` can take the points ``t_sensor_s`` / ``t_recv_s`` (D, k)
        of (the others need their clock's own :meth:`ClockModel.observe_many`)."""
        d, k = t_sensor_s.shape
        if k > SCALAR_POINTS:
            return np.zeros(d, bool)
        if k == 0:
            return np.ones(d, bool)
        off, skew, ref = self.off[rows, None], self.skew[rows, None], self.ref[rows, None]
        lat = t_recv_s - t_sensor_s
        resid = lat - (off + skew * (t_sensor_s - ref))
        lined = (self.npts[rows] > 1)[:, None]  # the jump limits apply to a fitted line only
        prev = np.concatenate([self.t_last[rows, None], t_sensor_s[:, :-1]], axis=1)
        bid = np.floor(t_sensor_s / self.bucket_s)
        ok: np.ndarray = (
            (t_sensor_s >= prev - 1e-6)
            & (~lined | ((resid >= -CLOCK_JUMP_BELOW_S) & (resid <= CLOCK_JUMP_ABOVE_S)))
            & np.isfinite(lat)
        ).all(axis=1)
        # at most one bucket closes: the points' buckets are the open one, then at most one other
        new = bid != self.bid[rows, None]
        ok &= (bid == np.where(new, bid[:, -1:], self.bid[rows, None])).all(axis=1)
        ok &= (new[:, 1:] >= new[:, :-1]).all(axis=1)  # and no point back in the bucket that closed
        ok &= self.closed[rows] < self.width - 1
        return ok

    def observe(self, rows: np.ndarray, t_sensor_s: np.ndarray, t_recv_s: np.ndarray) -> np.ndarray:
        """Observe the points (D, k) of ``rows`` (all :meth:`accepts`ed), as :meth:`ClockModel.observe` one by
        one would, then refit the rows a closed bucket made stale; returns the refitted rows' positions in
        ``rows`` (an index array)."""
        d, k = t_sensor_s.shape
        if k == 0 or d == 0:
            return np.zeros(0, np.int64)
        inf = np.inf
        lat = t_recv_s - t_sensor_s
        bid = np.floor(t_sensor_s / self.bucket_s)
        cols = np.arange(k)[None, :]
        new = bid != self.bid[rows, None]  # a point in a new bucket (from the first such point on)
        first_new = np.where(new.any(axis=1), new.argmax(axis=1), k)  # k: none
        lined = self.npts[rows] > 1
        self.above[rows] = np.where(lined, 0, self.above[rows])
        self.t_last[rows] = t_sensor_s[:, -1]
        # 1. the points of the open bucket: its minimum (and a one-point line's offset) moves to the first
        # point reaching a new low
        before = np.where(cols < first_new[:, None], lat, inf)
        self._lower(rows, before, t_sensor_s, lined)
        closing = first_new < k
        if not closing.any():
            return np.zeros(0, np.int64)
        # 2. a bucket closes at the first point of the next: it joins the closed ones, old ones leave
        c = np.flatnonzero(closing)
        r = rows[c]
        p = first_new[c]
        t_p, lat_p, bid_p = t_sensor_s[c, p], lat[c, p], bid[c, p]
        n = self.closed[r]
        self.b_id[r, n], self.b_t[r, n], self.b_lat[r, n] = self.bid[r], self.t_min[r], self.lat_min[r]
        n = n + 1
        # ClockModel._add pops from the front while the oldest bucket is out of the window
        old = self.b_id[r, 0] * self.bucket_s < t_p - self.window_s  # (the oldest is out: any are)
        gone = np.zeros(r.size, np.int64)
        if old.any():
            valid = np.arange(self.width)[None, :] < n[:, None]
            out = valid & (self.b_id[r] * self.bucket_s < (t_p - self.window_s)[:, None])
            gone = np.cumprod(out, axis=1).sum(axis=1)
        if gone.any():
            s = np.flatnonzero(gone)
            rs = r[s]
            at = np.minimum(np.arange(self.width)[None, :] + gone[s][:, None], self.width - 1)
            for name in ("b_id", "b_t", "b_lat"):
                a = getattr(self, name)
                a[rs] = np.take_along_axis(a[rs], at, axis=1)
            n = n - gone
        self.closed[r] = n
        self.bid[r], self.t_min[r], self.lat_min[r] = bid_p, t_p, lat_p
        # ClockModel._add's rule for a refit
        off, skew, ref = self.off[r], self.skew[r], self.ref[r]
        young = n * self.bucket_s < CLOCK_SETTLED_S
        stale = (
            ~lined[c]
            | (t_p - ref >= np.where(young, CLOCK_YOUNG_REFIT_S, CLOCK_REFIT_S))
            | (lat_p < off + skew * (t_p - ref) - CLOCK_REFIT_BELOW_S)
        )
        # 3. the points after it, in the new open bucket
        after = np.where(cols[:, :k] > p[:, None], lat[c], inf)
        self._lower(r, after, t_sensor_s[c], lined[c])
        due: np.ndarray = c[stale]
        if due.size:
            self._refit(rows[due])
        return due

    def _lower(self, rows: np.ndarray, lat: np.ndarray, t: np.ndarray, lined: np.ndarray) -> None:
        """Points ``lat`` (D, k; inf: not a point of the open bucket) at times ``t`` into the open buckets
        of ``rows``: ClockModel._add's same-bucket branch, point after point."""
        j = lat.argmin(axis=1)  # the first of the lowest points
        i = np.arange(lat.shape[0])
        low, t_low = lat[i, j], t[i, j]
        lower = low < self.lat_min[rows]
        if lower.any():
            self.t_min[rows[lower]], self.lat_min[rows[lower]] = t_low[lower], low[lower]
        # a one-point line follows the lowest latency seen (ClockFit(lat, 0.0, t, 1))
        one = ~lined & (low < self.off[rows])
        if one.any():
            s = rows[one]
            self.off[s], self.skew[s], self.ref[s], self.npts[s] = low[one], 0.0, t_low[one], 1

    def _refit(self, rows: np.ndarray) -> None:
        """refit_clocks for ``rows``: the closed buckets and the open one, as each clock's _points gives."""
        n = self.closed[rows] + 1
        # only the columns the longest row's width class needs (fit_rows gives each row the same class)
        full, step = self.width, FIT_WIDTH_STEP
        w = -(-int(n.max()) // step) * step
        w = full if w > full - full % step else w
        pts_t = self.b_t[rows, :w]
        pts_lat = self.b_lat[rows, :w]
        i = np.arange(rows.size)
        pts_t[i, n - 1], pts_lat[i, n - 1] = self.t_min[rows], self.lat_min[rows]
        valid = np.arange(w)[None, :] < n[:, None]
        ref = self.t_min[rows]
        span = ref - pts_t[:, 0]
        short = (n < 3) | (span < CLOCK_MIN_SPAN_S)
        if short.any():
            s = rows[short]
            self.off[s] = np.where(valid[short], pts_lat[short], np.inf).min(axis=1)
            self.skew[s], self.ref[s], self.npts[s] = 0.0, ref[short], 1
        fit = ~short
        if fit.any():
            f = rows[fit]
            x = np.where(valid[fit], pts_t[fit] - ref[fit][:, None], 0.0)
            lat = np.where(valid[fit], pts_lat[fit], 0.0)
            offset, skew = fit_rows(x, lat, n[fit])
            self.off[f], self.skew[f], self.ref[f], self.npts[f] = offset, skew, ref[fit], n[fit]
