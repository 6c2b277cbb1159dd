"""The streaming runtime: sample batches of one or many devices -> activity events.

    SampleBatch / StreamStatus (firmware_bridge, or a replay)
      -> clock model (sensor -> host time, lower envelope)             mujo_edge.clock
      -> gap check (sensor-time jump > 1.5 periods, decoder's gap flag, reconnect)
      -> 50 Hz grid (anti-alias FIR + interpolation, per gap-free run) mujo_edge.grid
      -> windows (100 samples, hop 50; begun windows dropped at gaps)   mujo_edge.windows
      -> PIT calibration (the bundle's table)                           mujo_edge.calibration
      -> model (the bundle's LiteRT / ExecuTorch runner, one batch for every ready window of every device)
      -> head (the bundle's labels from the model's logits or embedding; open-set score)  mujo_edge.heads
      -> optional smoothing (mean probability and score over the last k windows of the run)
      -> open-set test: below the bundle's threshold the window is "unknown"
      -> ActivityEvent (JSON lines)                                     mujo_edge.events

:class:`Pipeline` keeps one state per device name, so a gateway feeds every watch through one object.
It is lazy: a batch is only appended to the device's pending samples (a few attribute reads and a
comparison) until the samples for the device's next window have arrived; then the pending samples go
through grid and windowing in one vectorized step. Events therefore come out as soon as possible, and the
per-batch cost stays small however small the notifications are.

A gateway's devices whose windows become due in the same :meth:`Pipeline.feed_many` call and that share a
rate and a sample count advance together, in lockstep, as (devices, samples, 3) arrays (clock refit, grid,
windows, host times); the rest (gaps, NaN, other rates, host-stamped devices, statuses) take the per-device
path. Both compute the same numbers: the events are identical (``tests/core/test_pipeline_lockstep.py``).
:meth:`Pipeline.feed_arrays` takes a gateway's tick (one notification from each of many devices of one rate)
as arrays, with the events of :meth:`Pipeline.feed_many` (``tests/core/test_pipeline_arrays.py``).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from mujo_edge import _checks
from mujo_edge._checks import is_number, is_whole, real_array
from mujo_edge.axes import LEFT_WRIST_ACC_SIGNS
from mujo_edge.calibration import PitCalibration
from mujo_edge.clock import (
    MAX_SKEW,
    SCALAR_POINTS,
    ClockModel,
    ClockRows,
    gap_threshold_s,
    host_stamp,
    refit_clocks,
)
from mujo_edge.constants import HOP, MAX_SOURCE_RATE_HZ, RATE_HZ, UNKNOWN_LABEL, WINDOW
from mujo_edge.errors import ConfigError, DataError, ShapeError
from mujo_edge.events import ActivityEvent, build_events, new_event
from mujo_edge.grid import BAND_ROWS, GridRows, StreamGrid, start_lockstep
from mujo_edge.heads import Head
from mujo_edge.samples import SampleBatch, StreamStatus
from mujo_edge.windows import StreamWindower, WindowRows

if TYPE_CHECKING:
    from mujo_edge.bundle import Bundle

log = logging.getLogger(__name__)

#: Decimals of a receive time the pipeline uses (1 us; recordings store the same).
RECV_DECIMALS: int = 6
#: A window's event starts at least this long (s) after the device's previous one: when the clock's
#: lower envelope drops (a backlog of notifications delivered at once, as when a watch or a loaded host
#: catches up), the mapping of later windows would fall before windows already reported.
EVENT_MIN_STEP_S: float = 1e-3
#: A step advances the due devices of one rate in lockstep when at least this many share a sample count.
LOCKSTEP_MIN_DEVICES: int = 4
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
#: A lockstep group keeps at most this many ticks waiting as blocks (feed_arrays): past it, the devices still
#: holding the oldest block (a watch that fell silent with samples waiting) get their samples moved to their
#: own pending lists, so one silent watch does not keep every later tick in memory.
MAX_WAITING_BLOCKS: int = 64
#: Reductions called as ufuncs (ndarray.sum / min / max add a Python-level call around these).
_sum, _min, _max = np.add.reduce, np.minimum.reduce, np.maximum.reduce
#: The wrists a watch can be worn on (``Pipeline(wrist=...)``).
WRISTS = ("left", "right")
#: Status kinds after which a device's run ends (the grid restarts with the next sample).
_RUN_ENDING = ("connected", "disconnected", "reconnected", "device_stopped", "stopped")


class Predictor(Protocol):
    """What the pipeline needs from a model runner (``mujo_edge.runners.Runner`` is one)."""

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        """(B, WINDOW, 3) float32 g -> (B, n_labels) float32 probabilities."""
        ...

    def run(self, windows_g: np.ndarray, embedding: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """(B, WINDOW, 3) float32 g -> logits (B, C) and embeddings (B, D) (read only with a ``head``)."""
        ...


class Calibrator(Protocol):
    """What the pipeline needs from a calibration (``mujo_edge.calibration.PitCalibration`` is one)."""

    def apply(self, x: np.ndarray) -> np.ndarray: ...


@dataclass
class StreamStats:
    """Health of one device's stream as the runtime saw it."""

    device: str
    nominal_rate_hz: float = 0.0
    host_stamped: bool = False
    upsampled: bool = False
    wrist: str = "right"  # left-wrist samples are mirrored into the right-wrist frame
    samples_in: int = 0  # samples received (after dropping non-finite ones)
    batches_in: int = 0
    bad_samples: int = 0  # NaN / inf samples dropped
    grid_samples: int = 0  # 50 Hz samples produced
    windows: int = 0  # windows classified
    windows_dropped_at_gaps: int = 0  # begun windows a gap or reconnect cut
    gaps: int = 0
    samples_lost: int = 0  # estimated from sensor-time jumps (0 for host-stamped devices: they cannot tell)
    reconnects: int = 0
    disconnects: int = 0
    decode_errors: int = 0  # passed in by the session (note_decode_errors)
    error: str = ""  # why the device's session ended, when it failed (note_failure)
    clock_skew_ppm: float | None = None
    last_label: str = ""
    last_confidence: float = 0.0
    label_counts: dict[str, int] = field(default_factory=dict)  # windows per recognized label (and unknown)
    unknown: int = 0  # windows the open-set test rejected (label "unknown")
    model_errors: int = 0  # windows the model gave NaN or infinity for (reported as unknown, confidence 0)
    latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    _rate_n: int = 0
    _rate_span_s: float = 0.0

    @property
    def rate_hz(self) -> float:
        """Measured sample rate over all gap-free runs so far, Hz (0 until known)."""
        return self._rate_n / self._rate_span_s if self._rate_span_s > 0 else 0.0

    def latency_quantile_ms(self, q: float) -> float | None:
        """Quantile ``q`` of recent window-end -> event latencies, ms (live runs only)."""
        if not (is_number(q) and 0.0 <= q <= 1.0):
            raise ConfigError(
                f"the latency quantile q must be a number in [0, 1] (0.5: the median), got {q!r}"
            )
        return float(np.quantile(np.asarray(self.latency_ms), q)) if self.latency_ms else None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "latency_ms"}
        out["rate_hz"] = round(self.rate_hz, 3)
        out["latency_ms_p50"] = self.latency_quantile_ms(0.5)
        out["latency_ms_p95"] = self.latency_quantile_ms(0.95)
        return out


def _tick_rows(
    t_sensor_s: np.ndarray, prev: np.ndarray, due_t: np.ndarray, gap_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A tick's rows (devices, samples) of sensor times against each device's last time and next window
    time (NaN: none): which rows end finite, each row's new last time, and which rows are due.

    ``_Device.add``'s decision, row-wise: a gap (or time going back) after the last sample, or a window
    due. One rate, sensor time: one ``gap_s`` for all rows."""
    first, last = t_sensor_s[:, 0], t_sensor_s[:, -1]
    finite_end = np.isfinite(last)
    step = first - prev
    new_last = np.where(finite_end, last, prev)
    due = (
        (~np.isnan(prev) & ~((step > 0.0) & (step <= gap_s)))
        | np.isnan(due_t)
        | np.isnan(new_last)
        | (new_last >= due_t)
    )
    return finite_end, new_last, due


def round_array(t_s: np.ndarray, decimals: int) -> np.ndarray:
    """:func:`round_times` as an array of ``t_s``'s shape."""
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        p = t_s * scale
        out: np.ndarray = np.rint(p) / scale
        risky = ~(np.abs(p) < 2.0**52) | (np.abs(p - np.floor(p) - 0.5) <= 4 * np.spacing(np.abs(p)))
    if risky.any():
        flat, src = out.reshape(-1), np.asarray(t_s).reshape(-1)  # (views: out is contiguous)
        for i in np.flatnonzero(risky).tolist():
            flat[i] = round(float(src[i]), decimals)
    return out


_RECV_SCALE: float = 10.0**RECV_DECIMALS


def round_recv(t_s: float) -> float:
    """``round(t_s, RECV_DECIMALS)``, the same float, with :func:`round_times`' arithmetic on one value
    (about a third faster than ``round``, which a clock point of every notification goes through)."""
    p = t_s * _RECV_SCALE
    if -4503599627370496.0 < p < 4503599627370496.0:  # |p| < 2**52 (False for NaN and inf)
        f = math.floor(p)
        d = p - f - 0.5
        u = 4.0 * math.ulp(p)
        if not -u <= d <= u:  # safely away from a half: the nearest integer is f or f + 1
            n = f + 1 if d > 0.0 else f
            if n:  # (a zero takes round, for the sign it gives: -0.0 below zero)
                return n / _RECV_SCALE
    return round(t_s, RECV_DECIMALS)


def round_times(t_s: np.ndarray, decimals: int) -> list[float]:
    """``[round(v, decimals) for v in t_s]``, the same floats, vectorized: the product with 10**decimals is
    rounded to the nearest integer and divided back (both exact to the last bit, as Python's correctly
    rounded ``round``), except where the product lies too close to a half for its rounding error to be
    ruled out (or is huge or not finite): those few go through ``round`` itself."""
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        p = t_s * scale
        out: list[float] = (np.rint(p) / scale).tolist()
        risky = ~(np.abs(p) < 2.0**52) | (np.abs(p - np.floor(p) - 0.5) <= 4 * np.spacing(np.abs(p)))
    for i in np.flatnonzero(risky).tolist():
        out[i] = round(float(t_s[i]), decimals)
    return out


def _no_answer(probs: np.ndarray, cols: int) -> list[int]:
    """Rows of the model's output whose first ``cols`` columns (the probabilities, and the open-set score
    when the head tests it) hold NaN or infinity: windows the model gave no answer for. One sum tells whether
    there are any."""
    answer = probs[:, :cols]
    if math.isfinite(float(answer.sum())):
        return []
    rows: list[int] = (~np.isfinite(answer)).any(axis=1).nonzero()[0].tolist()
    return rows


class _Smoother:
    """Mean probability over the last ``k`` windows of a run."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._hist: deque[np.ndarray] = deque(maxlen=k)

    def reset(self) -> None:
        self._hist.clear()

    def __call__(self, probs: np.ndarray, skip: Sequence[int] = ()) -> np.ndarray:
        """The smoothed rows of ``probs``; the rows ``skip`` (windows the model gave no answer for) come back as
        they are and stay out of the mean, so they do not void the windows after them."""
        if self.k <= 1:
            return probs
        out = np.empty_like(probs)
        for i, p in enumerate(probs):
            if i in skip:
                out[i] = p
                continue
            self._hist.append(p)
            out[i] = np.mean(self._hist, axis=0)
        return out


@dataclass
class _Ready:
    """Windows of one or more devices ready for the model, with their host times: ``counts[i]`` consecutive
    windows of ``devs[i]``; ``new_run[i]``: that device's smoother restarts before them."""

    devs: list[_Device]
    counts: list[int]
    x: np.ndarray  # (B, window, 3)
    t_start: np.ndarray  # (B,) host s
    t_end: np.ndarray  # (B,) host s
    new_run: list[bool]
    skew_ppm: list[float] | None = None  # each device's clock skew (a lockstep group's; None: read the clock)
    calibrated: bool = False  # x went through the pipeline's calibration already (a lockstep group's)


class _Device:
    """Per-device state: clock, grid, windower, smoother, pending samples, stats.

    A batch is only appended (:meth:`add`); :meth:`process` takes all pending samples at once: clock
    points, non-finite samples, gaps (vectorized over the whole pending block), grid, windows.
    """

    def __init__(self, name: str, rate_hz: float, host_stamped: bool, p: Pipeline) -> None:
        self.name = name
        self.rate_hz = rate_hz
        self.host_stamped = host_stamped
        self.mirror = p.wrist_of(name) == "left"
        self.clock = ClockModel()
        self.grid = StreamGrid(rate_hz, p.rate_hz)
        self.windower = StreamWindower(p.window, p.hop)
        self.smoother = _Smoother(p.smooth)
        self.gap_s = gap_threshold_s(rate_hz, host_stamped)
        self._grid_dt = 1.0 / p.rate_hz
        self._window_s = p.window / p.rate_hz
        self._delay_s = self.grid.group_delay_s  # (fixed by the grid's filter)
        self._t: list[np.ndarray] = []  # pending sample times
        self._x: list[np.ndarray] = []  # pending samples
        self._clock_t: list[float] = []  # pending clock points: last sample's sensor time...
        self._clock_r: list[float] = []  # ...and the receive time (rounded to RECV_DECIMALS when taken)
        self._flags: list[int] = []  # pending sample offsets where a decoder-flagged gap begins
        self._n = 0  # pending samples
        self.last_t: float | None = None  # last sample added (sensor clock, or host for host-stamped)
        self.run_last_t: float | None = None  # last sample the current run's grid has taken
        self._warned_steps = False  # (the warning of times that cannot form a run, once per device)
        self.due_t: float | None = None  # process once last_t reaches this
        self.last_event_start: float | None = None  # host start time of the last window (all runs)
        self.new_run = True
        self.group: _Group | None = None  # the lockstep group holding this device's state, if any
        self.row = 0  # the device's row in it
        self.stats = p.stats.setdefault(name, StreamStats(name))
        self.stats.nominal_rate_hz = rate_hz
        self.stats.host_stamped = host_stamped
        self.stats.upsampled = self.grid.upsampled
        self.stats.wrist = p.wrist_of(name)

    def add(self, b: SampleBatch) -> bool:
        """Append a batch; True when it is time to :meth:`process` (a window is due, or a gap)."""
        acc, t = b.acc_g, b.t_sensor_s
        n = acc.shape[0]
        t_recv = float(b.t_recv_s)  # (a clock point's is rounded to RECV_DECIMALS where it is taken)
        last = self.last_t
        if t is None:  # host-stamped (the device was set up so: a change of kind makes a new device)
            t = host_stamp(n, round_recv(t_recv), self.rate_hz, last)
            t_end = float(t[-1])
        else:
            t_end = float(t[-1])
            if math.isfinite(t_end) and math.isfinite(t_recv):  # a NaN/inf time is no clock point
                self._clock_t.append(t_end)
                self._clock_r.append(t_recv)
        gap = b.gap_before
        if gap:
            self._flags.append(self._n)
        self._t.append(t)
        self._x.append(acc * LEFT_WRIST_ACC_SIGNS if self.mirror else acc)
        self._n += n
        now = last
        if math.isfinite(t_end):  # samples with NaN/inf times are dropped in process()
            now = self.last_t = t_end
        if last is not None and not 0.0 < float(t[0]) - last <= self.gap_s:
            return True  # a gap (or time going back): close the run at once
        due = self.due_t
        return due is None or now is None or now >= due or gap

    def process(self, out: list[_Ready]) -> None:
        """Pending samples -> clock, gap split, grid, windows (appended to ``out``)."""
        if self.group is not None:
            self.group.release([self])
        prev = self.run_last_t
        if prev is not None and self._n and not self._flags:  # maybe the usual case: the run goes on
            t_parts, x_parts, n = self._t, self._x, self._n
            self._t, self._x, self._n = [], [], 0
            self._observe()
            got = self.grid.continue_run(t_parts, x_parts, prev, self.gap_s)
            if got is not None:  # finite, in order, no gap: process_samples' usual case
                self._count_run(n, prev, prev, got[2])
                self.run_last_t = got[2]
                self.windows(got[0], got[1], out)
                return
            t = t_parts[0] if len(t_parts) == 1 else np.concatenate(t_parts)
            x = x_parts[0] if len(x_parts) == 1 else np.concatenate(x_parts)
            self.process_samples(t, x, [], out)
            return
        taken = self.take(refit=True)
        if taken is not None:
            self.process_samples(*taken, out)

    def take(self, refit: bool) -> tuple[np.ndarray, np.ndarray, list[int]] | None:
        """Hand over the pending samples ``(t, x, flags)`` (None when there are none) after feeding their
        clock points to the clock model; ``refit=False`` leaves a due refit to the caller
        (:func:`mujo_edge.clock.refit_clocks`, all devices of a step together)."""
        if not self._n:
            return None
        t = self._t[0] if len(self._t) == 1 else np.concatenate(self._t)
        x = self._x[0] if len(self._x) == 1 else np.concatenate(self._x)
        flags = self._flags
        self._t, self._x, self._flags, self._n = [], [], [], 0
        self._observe(refit)
        return t, x, flags

    def fresh(self) -> bool:
        """A new device's first notification waits (one batch, its clock point, at least two samples; no run,
        a fresh clock and a grid with a filter): what :func:`_start_runs` takes."""
        c = self.clock
        return (
            self.run_last_t is None
            and len(self._t) == 1
            and len(self._clock_t) == 1
            and self._n >= 2
            and not self._flags
            and self.grid.taps is not None
            and not self.grid.started
            and c.fit is None
            and c._t_last is None
            and c._bucket_id is None
        )

    def _observe(self, refit: bool = True) -> None:
        """Feed the pending clock points to the clock model (``refit``: as :meth:`take`)."""
        ct = self._clock_t
        if ct:
            recv = [round_recv(r) for r in self._clock_r]
            clock = self.clock
            if len(ct) <= SCALAR_POINTS:  # (ClockModel.observe_many's own choice, without its calls)
                clock._observe_few(ct, recv)
                if refit and clock.stale:
                    refit_clocks([clock])
            else:
                clock.observe_many(ct, recv, refit=refit)
            self._clock_t, self._clock_r = [], []

    def process_samples(self, t: np.ndarray, x: np.ndarray, flags: list[int], out: list[_Ready]) -> None:
        """Samples taken by :meth:`take` -> gap split, grid, windows (appended to ``out``)."""
        if self.group is not None:
            self.group.release([self])
        st = self.stats
        prev = self.run_last_t
        if not flags:  # the usual case first: finite, increasing, no gap (finite times follow from the steps)
            first = float(t[0])
            if math.isfinite(first) if prev is None else 0.0 < first - prev <= self.gap_s:
                d = t[1:] - t[:-1]
                if (not d.size or (_min(d) > 0.0 and _max(d) <= self.gap_s)) and math.isfinite(
                    _sum(x, axis=None)
                ):
                    self._continue(t, x, prev, out)
                    return
        if not math.isfinite(_sum(x, axis=None) + _sum(t)):  # NaN/inf in a sample or in its time
            ok = np.isfinite(x).all(axis=1) & np.isfinite(t)
            st.bad_samples += int(ok.size - ok.sum())
            log.warning("%s: dropped %d NaN/inf samples (treated as lost)", self.name, ok.size - ok.sum())
            keep = np.flatnonzero(ok)
            flags = sorted({int(np.searchsorted(keep, f)) for f in flags})
            t, x = t[ok], x[ok]
            if not t.size:
                return
        if not flags and (prev is None or 0.0 < float(t[0]) - prev <= self.gap_s):
            d = t[1:] - t[:-1]
            if not d.size or (_min(d) > 0.0 and _max(d) <= self.gap_s):  # no gap at all
                self._continue(t, x, prev, out)
                return
        st.samples_in += t.size
        # Where does a new run begin? At a step beyond the gap threshold (or back in time), at a
        # decoder-flagged batch, and at the very start if it does not continue the current run.
        d = np.diff(t, prepend=t[0] if prev is None else prev)
        brk = (d > self.gap_s) | (d <= 0.0)
        if prev is None:
            brk[0] = False
        if not self._warned_steps and brk.size > 4 and 2 * int(brk.sum()) > brk.size:
            self._warned_steps = True
            log.warning(
                "%s: %d of %d sample times go back, stand still or jump more than %.3g s: no window can form "
                "from them. Sensor times must be increasing seconds (not ms, not one time per batch)",
                self.name,
                int(brk.sum()),
                brk.size,
                self.gap_s,
            )
        for f in flags:
            if f < brk.size and (f > 0 or prev is not None):
                brk[f] = True
        edges = sorted({0, *np.flatnonzero(brk).tolist(), t.size})
        for a, e in itertools.pairwise(edges):
            if brk[a]:
                st.gaps += 1
                gap = float(d[a])
                if not self.host_stamped and gap > 0:
                    st.samples_lost += max(0, round(gap * self.rate_hz) - 1)
                self.end_run(out, cut=True)
                st._rate_n += e - a - 1
            else:
                st._rate_n += e - a - (1 if self.run_last_t is None else 0)
            st._rate_span_s += float(t[e - 1]) - (float(t[a]) if self.run_last_t is None else self.run_last_t)
            self._push(t[a:e], x[a:e], out)

    def _continue(self, t: np.ndarray, x: np.ndarray, prev: float | None, out: list[_Ready]) -> None:
        """Finite samples that continue the run (``prev``: its last time, None: they start it) without a gap
        -> stats, grid, windows."""
        self._count_run(t.size, prev, float(t[0]), float(t[-1]))
        self._push(t, x, out)

    def _count_run(self, n: int, prev: float | None, first: float, last: float) -> None:
        """Stats of ``n`` samples from ``first`` to ``last`` (s) that continue the run whose last sample was at
        ``prev`` (None: they start it, and their first step is not a step of the run)."""
        st = self.stats
        st.samples_in += n
        if prev is None:  # the run's first samples (what the general split does for them)
            st._rate_n += n - 1
            st._rate_span_s += last - first
        else:
            st._rate_n += n
            st._rate_span_s += last - prev

    def _push(self, t: np.ndarray, x: np.ndarray, out: list[_Ready]) -> None:
        t_grid, x_grid = self.grid.push_finite(t, x)  # process_samples dropped the NaN/inf samples
        self.run_last_t = float(t[-1])
        self.windows(t_grid, x_grid, out)

    def windows(self, t_grid: np.ndarray, x_grid: np.ndarray, out: list[_Ready]) -> None:
        """New grid samples of the run -> windows (appended to ``out``) and the next window's due time."""
        self.stats.grid_samples += t_grid.size
        windower = self.windower
        one = windower.push_one(t_grid, x_grid)  # (the grid's new arrays: owned)
        if one is not None:  # the usual push: one window
            self._ready_one(one[0], one[1], out)
        else:  # (push_one declined: push's general cut, which owning the arrays does not change)
            wins = windower.push(t_grid, x_grid)
            count = len(wins)
            if count == 1:
                self._ready_one(wins.x, float(wins.t_first_s[0]), out)
            elif count:
                # Host times now, with the clock as it is when the window completes (not when the windows of
                # several devices are classified together), so events depend on this device's stream alone.
                t_start = self.to_host(wins.t_first_s)
                last = self.last_event_start
                if last is not None and t_start[0] < last + EVENT_MIN_STEP_S:
                    # event times never go back: hold them just after the last one until the mapping passes
                    t_start = np.maximum(
                        t_start, last + EVENT_MIN_STEP_S * np.arange(1, t_start.size + 1, dtype=np.float64)
                    )
                    t_start = np.maximum.accumulate(t_start)
                self.last_event_start = float(t_start[-1])
                fit = None if self.host_stamped else self.clock.fit
                span_s = self._window_s * (1.0 + (fit.skew if fit is not None else 0.0))  # grid is uniform
                out.append(_Ready([self], [count], wins.x, t_start, t_start + span_s, [self.new_run]))
                self.new_run = False
        # The next window's last grid sample is computable once the input reaches it + the filter delay.
        nxt = self.grid.next_time_s
        self.due_t = (
            None
            if nxt is None
            else nxt + (windower.samples_to_next_window - 1) * self._grid_dt + self._delay_s
        )

    def _ready_one(self, x: np.ndarray, t_first: float, out: list[_Ready]) -> None:
        """One completed window ``x`` (1, window, 3) whose first sample is at ``t_first`` (sensor s) ->
        ``out`` with its host times: :meth:`windows`' arithmetic on one float."""
        t = t_first
        fit = None if self.host_stamped else self.clock.fit
        if fit is not None:
            t = t + fit.offset_s + fit.skew * (t - fit.t_ref_s)  # ClockModel.to_host
        last = self.last_event_start
        if last is not None and t < last + EVENT_MIN_STEP_S:
            t = max(t, last + EVENT_MIN_STEP_S * 1.0)
        self.last_event_start = t
        span_s = self._window_s * (1.0 + (fit.skew if fit is not None else 0.0))
        out.append(_Ready([self], [1], x, np.array((t,)), np.array((t + span_s,)), [self.new_run]))
        self.new_run = False

    def to_host(self, t: np.ndarray) -> np.ndarray:
        return t if self.host_stamped else np.asarray(self.clock.to_host(t))

    def end_run(self, out: list[_Ready], cut: bool) -> None:
        """Restart grid and windower (the pending samples must have been processed); ``cut``: the run ends
        at a gap or link loss (count the begun windows as dropped), not at the end of the stream."""
        if self.group is not None:
            self.group.release([self])
        dropped = self.windower.restart()
        if cut:
            self.stats.windows_dropped_at_gaps += dropped
        self.grid.restart()
        self.run_last_t = None
        self.due_t = None
        self.new_run = True


def _start_runs(devs: list[_Device], ready: list[_Ready]) -> None:
    """:meth:`_Device.process` of many :meth:`_Device.fresh` devices of one rate and sample count (a gateway's
    first tick): the checks of a plain start and the grid's first push for all at once
    (:func:`mujo_edge.grid.start_lockstep`), the clock's first point, stats and windows per device, each device
    left as its own process would leave it. A device whose samples are not a plain start (a NaN, a gap,
    time going back, another dtype) takes process itself."""
    t = np.stack([dev._t[0] for dev in devs])
    x = np.stack([dev._x[0] for dev in devs])
    if t.dtype != np.float64 or x.dtype != np.float32:
        for dev in devs:
            dev.process(ready)
        return
    d = t[:, 1:] - t[:, :-1]
    # process_samples' usual case: finite, increasing, no gap; values under 1e30 (finite, and so is their sum)
    ok = (
        np.isfinite(t[:, 0])
        & (_min(d, axis=1) > 0.0)
        & (_max(d, axis=1) <= devs[0].gap_s)
        & (np.abs(x) < 1e30).all(axis=(1, 2))
    )
    if not ok.all():
        for i in np.flatnonzero(~ok).tolist():
            devs[i].process(ready)
        keep = np.flatnonzero(ok)
        devs = [devs[i] for i in keep.tolist()]
        if not devs:
            return
        t, x = t[keep], x[keep]
    for dev in devs:  # the clock's first point (ClockModel._observe, then refit_clocks' line of one point)
        c = dev.clock
        ts, tr = dev._clock_t[0], round_recv(dev._clock_r[0])
        lat = tr - ts
        c._t_last, c._bucket_id, c._t_min, c._lat_min = ts, math.floor(ts / c.bucket_s), ts, lat
        c._set_fit(lat, 0.0, ts, 1)
        dev._t, dev._x, dev._clock_t, dev._clock_r, dev._n = [], [], [], [], 0
    t_grid, x_grid, count = start_lockstep([dev.grid for dev in devs], t, x)
    n = t.shape[1]
    for dev, first, last, q, tg, xg in zip(
        devs, t[:, 0].tolist(), t[:, -1].tolist(), count.tolist(), t_grid, x_grid, strict=True
    ):
        dev._count_run(n, None, first, last)
        dev.run_last_t = last
        dev.windows(tg[:q], xg[:q], ready)


def _finite_map(cal: Calibrator) -> Callable[[np.ndarray], np.ndarray]:
    """How the pipeline maps its grid samples and windows, which are finite by construction: a PIT table's
    ``map_finite`` (``apply`` without its checks), a subclass's or any other calibration's own ``apply``."""
    return cal.map_finite if type(cal) is PitCalibration else cal.apply


def _sample_map(cal: Calibrator | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """What a lockstep group maps each grid sample with, once, as it arrives: a PIT table's map (elementwise,
    :func:`_finite_map`); None for any other calibration, which sees whole windows as on the per-device
    path."""
    return _finite_map(cal) if isinstance(cal, PitCalibration) else None


def _fit_skew_ppm(dev: _Device) -> float | None:
    """A device's clock skew for its stats when its windows bring none: its fit's, None for a host-stamped
    device or before the first fit."""
    fit = dev.clock.fit
    return None if dev.host_stamped or fit is None else fit.skew_ppm


#: A tick waiting in a lockstep group: (rows, position of each group row among them, t, x, last sample time,
#: receive time, clock point).
_Block = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class _Group:
    """The devices of one rate that advance in lockstep, their state kept as arrays, a row per device: grid
    (:class:`mujo_edge.grid.GridRows`), windows (:class:`mujo_edge.windows.WindowRows`), clock
    (:class:`mujo_edge.clock.ClockRows`), the host start of the last event and the new-run flag. A step
    (:meth:`step`) costs a fixed number of numpy calls for the whole group, plus a short loop over the
    devices for their stats and due times.

    While a device is in the group its own grid, windower and clock are stale: anything that takes it the
    per-device way (a gap, NaN, a clock jump, a status, another sample count, the end of the stream) first
    releases it (:meth:`release`), which writes its row back into them, so it goes on exactly where the
    group left it. A device joins (:meth:`join`) when it is due with the others and running.
    """

    def __init__(self, rate_hz: float, p: Pipeline) -> None:
        self.rate_hz = rate_hz
        self.devs: list[_Device] = []
        self.grid = GridRows(rate_hz, p.rate_hz)
        g = self.grid.template
        # the ring holds a window and the most grid samples one step can bring (BAND_ROWS inputs)
        # A PIT calibration maps each value on its own: the group maps every grid sample once, as it arrives,
        # and cuts calibrated windows (each sample lies in window / hop windows); other calibrations see the
        # windows, as on the per-device path.
        cal = p.calibration
        self.windows = WindowRows(
            p.window,
            p.hop,
            p.window + math.ceil(BAND_ROWS * g.rate_hz / rate_hz) + 4,
            _sample_map(cal),
        )
        self.clock = ClockRows()
        self.last_start = np.zeros(0)  # NaN: no event yet
        self.new_run = np.zeros(0, bool)
        self.window_s = p.window / p.rate_hz
        self.grid_dt = 1.0 / p.rate_hz
        self.version = 0  # changes at every join, release and flush
        self.dead = 0  # rows of devices that left (their state written back), until the next compaction
        # Ticks fed as arrays (Pipeline.feed_arrays) wait here, one block per tick, instead of in each
        # device's pending lists: (rows (B,), each group row's position among them (-1: not there; rows that
        # joined later are past the end), t (B, n), x (B, n, 3), last sample time (B,), receive time (B,),
        # clock point (B,)).
        self.blocks: list[_Block] = []
        self.base = 0  # number of blocks dropped before blocks[0]
        self.taken = np.zeros(0, np.int64)  # per row: number of the first block it may not have taken yet
        self.pending = np.zeros(0, np.int64)  # per row: samples waiting in blocks
        self.last_t = np.zeros(0)  # per row: _Device.last_t (NaN: None), kept while blocks wait
        self.due_t = np.zeros(0)  # per row: _Device.due_t (NaN: None)

    def join(self, devs: list[_Device]) -> list[_Device]:
        """Take in the running devices of ``devs`` whose clock has a line; returns the others."""
        ok = [d for d in devs if d.grid.running and d.run_last_t is not None and ClockRows.joinable(d.clock)]
        if ok:
            base = len(self.devs)
            self.grid.add([d.grid for d in ok])
            self.windows.add([d.windower for d in ok])
            self.clock.add([d.clock for d in ok])
            last = [math.nan if d.last_event_start is None else d.last_event_start for d in ok]
            self.last_start = np.concatenate([self.last_start, np.array(last, np.float64)])
            self.new_run = np.concatenate([self.new_run, np.array([d.new_run for d in ok], bool)])
            m = len(ok)
            times = np.array(
                [
                    (math.nan if d.last_t is None else d.last_t, math.nan if d.due_t is None else d.due_t)
                    for d in ok
                ],
                np.float64,
            ).reshape(m, 2)
            self.last_t = np.concatenate([self.last_t, times[:, 0]])
            self.due_t = np.concatenate([self.due_t, times[:, 1]])
            self.taken = np.concatenate([self.taken, np.full(m, self.base + len(self.blocks), np.int64)])
            self.pending = np.concatenate([self.pending, np.zeros(m, np.int64)])
            for i, d in enumerate(ok):
                d.group, d.row = self, base + i
            self.devs += ok
            self.version += 1
        return [d for d in devs if d.group is not self]

    # -- ticks waiting as blocks ---------------------------------------------------------------------
    def add_block(
        self,
        rows: np.ndarray,
        t: np.ndarray,
        x: np.ndarray,
        last: np.ndarray,
        recv: np.ndarray,
        point: np.ndarray,
    ) -> None:
        """A tick of the members ``rows`` (none with samples in its own pending lists) waits as one block."""
        pos = np.full(len(self.devs), -1, np.int64)
        pos[rows] = np.arange(rows.size)
        self.blocks.append((rows, pos, t, x, last, recv, point))
        self.pending[rows] += t.shape[1]
        if len(self.blocks) > MAX_WAITING_BLOCKS:  # the rows holding the oldest block wait in their lists
            old = self.blocks[0][0]
            held = old[(self.taken[old] <= self.base) & (self.pending[old] > 0)]
            self.flush([self.devs[r] for r in held.tolist()])

    def _waiting(self, r: int) -> list[tuple[int, _Block]]:
        """Row ``r``'s position in each block it has not taken yet, with the block."""
        out = []
        for blk in self.blocks[max(int(self.taken[r]) - self.base, 0) :]:  # (blocks before base: dropped)
            pos = blk[1]
            if r < pos.size and pos[r] >= 0:
                out.append((int(pos[r]), blk))
        return out

    def flush(self, devs: list[_Device] | None = None) -> None:
        """Move the waiting samples of ``devs`` (None: every member) from the blocks into the devices' own
        pending lists, where the per-device path finds them."""
        if not self.blocks:
            return
        self.version += 1  # (devices now wait in their own lists)
        end = self.base + len(self.blocks)
        rows = (
            np.flatnonzero(self.pending).tolist()
            if devs is None
            else [d.row for d in devs if d.group is self]
        )
        for r in rows:
            if not self.pending[r]:
                continue
            dev = self.devs[r]
            for p, (_, _, t, x, last, recv, point) in self._waiting(r):
                dev._t.append(t[p])
                dev._x.append(x[p])
                dev._n += t.shape[1]
                if point[p]:
                    dev._clock_t.append(float(last[p]))
                    dev._clock_r.append(float(recv[p]))
            lt = float(self.last_t[r])
            if not math.isnan(lt):
                dev.last_t = lt
            self.taken[r], self.pending[r] = end, 0
        if devs is None:
            self.blocks = []
            self.base = end
        else:
            self.trim()

    def trim(self) -> None:
        """Drop the blocks at the front that all their rows have taken."""
        while self.blocks and (self.taken[self.blocks[0][0]] > self.base).all():
            del self.blocks[0]
            self.base += 1

    def take_blocks(
        self, devs: list[_Device]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The waiting samples of ``devs`` (members that wait in the same blocks, every one with a clock
        point) laid out for :meth:`step`: ``(t, x, clock t, clock recv)``; None when they differ."""
        rows = np.array([d.row for d in devs], np.int64)
        first = np.maximum(self.taken[rows], self.base)  # (blocks before base were dropped)
        if (first != first[0]).any():
            return None
        blocks = self.blocks[int(first[0]) - self.base :]
        ps = []
        for blk in blocks:
            pos = blk[1]
            if pos.size <= rows.max():
                return None
            p = pos[rows]
            if (p < 0).any() or not blk[6][p].all():
                return None
            ps.append(p)
        if not ps:
            return None
        t = np.concatenate([b[2][p] for b, p in zip(blocks, ps, strict=True)], axis=1)
        x = np.concatenate([b[3][p] for b, p in zip(blocks, ps, strict=True)], axis=1)
        ct = np.stack([b[4][p] for b, p in zip(blocks, ps, strict=True)], axis=1)
        cr = np.stack([b[5][p] for b, p in zip(blocks, ps, strict=True)], axis=1)
        return t, x, ct, cr

    def release(self, devs: list[_Device]) -> None:
        """Write the rows of ``devs`` (members) back into their own grid, windower and clock (their samples
        waiting in blocks go to their own pending lists first) and leave the rows dead: the others' rows stay
        where they are, so their blocks and the tick plan keep; the arrays are compacted once half the rows
        are dead."""
        live = [d for d in devs if d.group is self]
        if not live:
            return
        self.flush(live)
        rate = self.grid.template.rate_hz
        for d in live:
            i = d.row
            self.grid.restore(i, d.grid)
            self.windows.restore(i, d.windower, int(self.grid.k[i]), float(self.grid.t0[i]), rate)
            self.clock.restore(i, d.clock)
            last = float(self.last_start[i])
            d.last_event_start = None if math.isnan(last) else last
            d.new_run = bool(self.new_run[i])
            d.group = None
        self.dead += len(live)
        self.version += 1
        if 2 * self.dead > len(self.devs):
            self._compact()

    def _compact(self) -> None:
        """Drop the dead rows (every waiting block goes to the devices' pending lists first: rows move)."""
        self.flush()
        keep = np.array([d.group is self and d.row == i for i, d in enumerate(self.devs)], bool)
        self.grid.keep(keep)
        self.windows.keep(keep)
        self.clock.keep(keep)
        self.last_start, self.new_run = self.last_start[keep], self.new_run[keep]
        self.last_t, self.due_t = self.last_t[keep], self.due_t[keep]
        self.taken, self.pending = self.taken[keep], self.pending[keep]
        self.devs = [d for d, k in zip(self.devs, keep.tolist(), strict=True) if k]
        for i, d in enumerate(self.devs):
            d.row = i
        self.dead = 0
        self.version += 1

    def members(self) -> list[_Device]:
        """The devices in the group (``devs`` also holds those of dead rows)."""
        return [d for i, d in enumerate(self.devs) if d.group is self and d.row == i]

    def step(
        self,
        devs: list[_Device],
        n: int,
        ready: list[_Ready],
        data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Advance ``devs`` (members, each with ``n`` pending samples) by their pending samples: the plain
        continuations (finite, increasing, no gap, clock points the rows take) as arrays, the others
        released and processed one by one. ``data``: the samples and clock points as :meth:`take_blocks`
        laid them out (None: from the devices' pending lists)."""
        d = len(devs)
        if data is None:
            k = len(devs[0]._clock_t)
            if any(len(dev._clock_t) != k for dev in devs):  # another number of clock points: on its own
                odd = [dev for dev in devs if len(dev._clock_t) != k]
                self._fall_back(odd, ready)
                devs = [dev for dev in devs if dev.group is self]
                d = len(devs)
                if not d:
                    return
            # every device has n pending samples and k clock points: one pass over the devices gathers them,
            # one concatenation each lays them out as (D, n), (D, n, 3) and (D, k)
            ts: list[np.ndarray] = []
            xs: list[np.ndarray] = []
            cts: list[float] = []
            crs: list[float] = []
            rows_l: list[int] = []
            prev_l: list[float | None] = []
            for dev in devs:
                ts += dev._t
                xs += dev._x
                cts += dev._clock_t
                crs += dev._clock_r
                rows_l.append(dev.row)
                prev_l.append(dev.run_last_t)
            t = np.concatenate(ts).reshape(d, n)
            x = np.concatenate(xs).reshape(d, n, 3)
            ct = np.array(cts, np.float64).reshape(d, k)
            cr = round_array(np.array(crs, np.float64), RECV_DECIMALS).reshape(d, k)
            rows = np.array(rows_l, np.int64)
            prev = np.array(prev_l, np.float64)
        else:
            t, x, ct, cr = data
            rows = np.array([dev.row for dev in devs], np.int64)
            prev = np.array([dev.run_last_t for dev in devs], np.float64)
        gap_s = devs[0].gap_s
        first = t[:, 0] - prev
        # The per-device path's test for "a plain continuation": finite, increasing, no step beyond a gap.
        ok = np.isfinite(x.sum(axis=(1, 2)) + t.sum(axis=1)) & (first > 0.0) & (first <= gap_s)
        if n > 1:
            dt = t[:, 1:] - t[:, :-1]
            ok &= (dt.min(axis=1) > 0.0) & (dt.max(axis=1) <= gap_s)
        ok &= self.clock.accepts(rows, ct, cr)
        if not ok.all():
            self._fall_back([devs[i] for i in np.flatnonzero(~ok).tolist()], ready)
            keep = np.flatnonzero(ok)
            if keep.size == 0:
                return
            devs = [devs[i] for i in keep.tolist()]
            t, x, prev, ct, cr = t[keep], x[keep], prev[keep], ct[keep], cr[keep]
            rows = np.array([dev.row for dev in devs], np.int64)  # (rows moved with the release)
        for dev in devs:
            dev._t, dev._x, dev._flags, dev._n = [], [], [], 0
            dev._clock_t, dev._clock_r = [], []
        if data is not None and self.blocks:  # taken from the blocks
            self.taken[rows] = self.base + len(self.blocks)
            self.pending[rows] = 0
            self.trim()
        refitted = self.clock.observe(rows, ct, cr)
        if refitted.size:
            skew = self.clock.skew[rows[refitted]]
            for i in np.flatnonzero(np.abs(skew) > MAX_SKEW).tolist():  # ClockModel._set_fit's warning
                r = int(rows[refitted[i]])
                c = self.clock
                devs[int(refitted[i])].clock._set_fit(
                    float(c.off[r]), float(c.skew[r]), float(c.ref[r]), int(c.npts[r])
                )
        k_old = self.grid.k[rows]
        _, grid_x, count = self.grid.push(rows, t, x)
        t0 = self.grid.t0[rows]
        grid = self.grid.template
        wins, t_first, ks = self.windows.push(rows, k_old, grid_x, count, t0, grid.rate_hz)
        self._emit(devs, rows, wins, t_first, ks, ready)
        # stats, and the next window's due time as _Device.emit computes it
        k_new = k_old + count
        due = (
            t0
            + k_new / grid.rate_hz
            + (self.windows.next[rows] + self.windows.window - k_new - 1) * self.grid_dt
            + grid.group_delay_s
        )
        last = t[:, -1]
        spans = (last - prev).tolist()
        self.last_t[rows], self.due_t[rows] = last, due
        for dev, c, last_t, span, due_t in zip(
            devs, count.tolist(), last.tolist(), spans, due.tolist(), strict=True
        ):
            st = dev.stats
            st.samples_in += n
            st._rate_n += n
            st._rate_span_s += span
            st.grid_samples += c
            dev.run_last_t = dev.last_t = last_t  # (every sample taken: the last one added is this one)
            dev.due_t = due_t

    def _fall_back(self, devs: list[_Device], ready: list[_Ready]) -> None:
        self.release(devs)
        for dev in devs:
            dev.process(ready)

    def _emit(
        self,
        devs: list[_Device],
        rows: np.ndarray,
        wins: np.ndarray,
        t: np.ndarray,
        ks: np.ndarray,
        ready: list[_Ready],
    ) -> None:
        """:meth:`_Device.emit` for the rows' windows ``wins`` (``ks[i]`` of row i, first sample at sensor
        time ``t``): host times in emit's arithmetic, held after the last event where the mapping would
        step back, and one :class:`_Ready` for all."""
        if not t.size:
            return
        c = self.clock
        off, skew, ref = (np.repeat(a[rows], ks) for a in (c.off, c.skew, c.ref))
        t_start = t + off + skew * (t - ref)  # ClockModel.to_host, per device
        ends = np.cumsum(ks)
        starts = ends - ks
        with_w = np.flatnonzero(ks)
        last = self.last_start[rows[with_w]]
        back = t_start[starts[with_w]] < last + EVENT_MIN_STEP_S  # (False where no event yet: NaN)
        for i in with_w[back].tolist():  # event times never go back (emit's rule, row by row)
            a, e = int(starts[i]), int(ends[i])
            ls = float(self.last_start[rows[i]])
            held = np.maximum(t_start[a:e], ls + EVENT_MIN_STEP_S * np.arange(1, e - a + 1, dtype=np.float64))
            t_start[a:e] = np.maximum.accumulate(held)
        t_end = t_start + self.window_s * (1.0 + skew)  # the grid is uniform
        r = rows[with_w]
        self.last_start[r] = t_start[ends[with_w] - 1]
        members = [devs[i] for i in with_w.tolist()]
        new_run = self.new_run[r].tolist()
        self.new_run[r] = False
        s = c.skew[r]
        ppm = (-s / (1.0 + s) * 1e6).tolist()  # ClockFit.skew_ppm
        calibrated = self.windows.transform is not None
        ready.append(_Ready(members, ks[with_w].tolist(), wins, t_start, t_end, new_run, ppm, calibrated))


def _whole(v: object, least: int) -> bool:
    """Whether ``v`` is an int (not a bool) of at least ``least``."""
    return is_whole(v) and bool(v >= least)  # type: ignore[operator]


def _check_settings(
    runner: object,
    labels: object,
    calibration: object,
    smooth: object,
    now: object,
    window: object,
    hop: object,
    rate_hz: object,
    wrist: object,
    head: object,
    lockstep: object,
) -> None:
    """:class:`Pipeline`'s arguments: ConfigError naming the one that cannot work (ShapeError for ``smooth``
    and ``wrist``), before any sample is taken."""
    if head is not None and not isinstance(head, Head):
        raise ConfigError(f"head must be a bundle's head (Bundle.head) or None, got {type(head).__name__}")
    need = "predict" if head is None else "run"
    if not callable(getattr(runner, need, None)):
        raise ConfigError(
            f"runner must be a model with a {need}(windows) method, got {type(runner).__name__}: pass "
            "Bundle.runner(), or build the pipeline with Pipeline.from_bundle"
        )
    if head is None and not _checks.names(
        labels, "labels", "one name per model output; a bundle's are Bundle.labels"
    ):
        raise ConfigError("labels is empty: give one name per model output; a bundle's are Bundle.labels")
    if calibration is not None and not callable(getattr(calibration, "apply", None)):
        raise ConfigError(
            f"calibration must be a PitCalibration (Bundle.calibration) or None, got {type(calibration).__name__}"
        )
    if not _whole(smooth, 1):
        raise ShapeError(f"smooth must be a whole number of windows >= 1 (1: no smoothing), got {smooth!r}")
    if now is not None and not callable(now):
        raise ConfigError(
            f"now must be a function returning the host time (e.g. time.monotonic) or None, got {now!r}"
        )
    if not (_whole(window, 1) and _whole(hop, 1) and hop <= window):  # type: ignore[operator]
        raise ConfigError(
            f"window and hop must be whole numbers of grid samples with 0 < hop <= window, got window={window!r}, "
            f"hop={hop!r}: a bundle's are Bundle.window and Bundle.hop"
        )
    if not (is_number(rate_hz) and 0 < rate_hz <= MAX_SOURCE_RATE_HZ):  # type: ignore[operator]
        raise ConfigError(
            f"rate_hz (the grid rate) must be a number > 0 and at most {MAX_SOURCE_RATE_HZ:g} Hz, got "
            f"{rate_hz!r}: a bundle's is Bundle.rate_hz"
        )
    if isinstance(wrist, str):
        wrists: Iterable[object] = [wrist]
    elif isinstance(wrist, Mapping) and all(isinstance(k, str) for k in wrist):
        wrists = wrist.values()
    else:
        raise ShapeError(
            f"wrist must be one of {WRISTS} or a mapping device name -> one of them, got {wrist!r}"
        )
    for w in wrists:
        if w not in WRISTS:
            raise ShapeError(f"wrist must be one of {WRISTS}, got {w!r}")
    _checks.flag(lockstep, "lockstep")


class Pipeline:
    """Streaming activity recognition for one or many devices.

    Args:
        runner: the model (``Bundle.runner(...)`` or anything with ``predict((B, 100, 3)) -> (B, C)``).
        labels: class names, in the model's output order.
        calibration: PIT table applied to every window before the model (``Bundle.calibration``), or None.
        smooth: average probabilities over the last ``smooth`` windows of a run (1 = off).
        now: host clock (same clock as ``SampleBatch.t_recv_s``) to measure window-end -> event latency in
            live runs; None (replays) measures nothing.
        window, hop, rate_hz: window geometry and grid rate (the bundle's; default the paper's).
        wrist: the wrist each watch is worn on, ``"left"`` or ``"right"``, one for all devices or a mapping
            device -> wrist. Models are trained in the right-wrist frame (``AXIS_CONVENTION``); a left-wrist
            watch's samples are mirrored into it (``mujo_edge.axes``) before anything else sees them.
        head: the bundle's head (``Bundle.head``): its labels replace ``labels``, it reads the model's
            logits and embedding (``runner.run``), and its open-set test turns windows below its threshold
            into ``"unknown"`` events. None: ``runner.predict`` over ``labels``, every window known.
        lockstep: advance the devices that share a rate together as arrays (:meth:`feed_many`); False
            takes every device through its own path (the same events, slower for many devices).
    """

    def __init__(
        self,
        runner: Predictor,
        labels: list[str],
        calibration: Calibrator | None = None,
        smooth: int = 1,
        now: Callable[[], float] | None = None,
        window: int = WINDOW,
        hop: int = HOP,
        rate_hz: float = RATE_HZ,
        wrist: str | Mapping[str, str] = "right",
        head: Head | None = None,
        lockstep: bool = True,
    ) -> None:
        _check_settings(runner, labels, calibration, smooth, now, window, hop, rate_hz, wrist, head, lockstep)
        self.runner = runner
        self.head = head
        self.labels = list(head.labels) if head is not None else list(labels)
        self.calibration = calibration
        self.smooth = int(smooth)
        self.now = now
        self.window, self.hop, self.rate_hz = int(window), int(hop), float(rate_hz)
        self.wrist = wrist if isinstance(wrist, str) else dict(wrist)
        self.lockstep = bool(lockstep)
        self.stats: dict[str, StreamStats] = {}
        self._devices: dict[str, _Device] = {}
        self._groups: dict[float, _Group] = {}  # the lockstep group of each rate
        # feed_arrays' last tick whose devices all waited in a group's blocks: (names, _gen, group, its
        # version, devices, rows); valid while _gen (samples fed another way) and the version stay.
        self._plan: tuple[list[str], int, _Group, int, list[_Device], np.ndarray] | None = None
        self._gen = 0
        #: feed_many hands a call that is one gateway tick to feed_arrays (the same events); tests turn it
        #: off to compare both.
        self._ticks_as_arrays = True
        # windows a call had completed when it failed on a bad item: classified first by the next call that
        # classifies (or close), so an error loses none
        self._held: list[_Ready] = []
        self._model_failure_said = False  # (the NaN-output error is logged once)

    def wrist_of(self, device: str) -> str:
        """The wrist ``device`` is worn on (a mapping without the device means right: no mirroring)."""
        return self.wrist if isinstance(self.wrist, str) else self.wrist.get(device, "right")

    @classmethod
    def from_bundle(
        cls,
        bundle: Bundle,
        fmt: str | None = None,
        threads: int = 1,
        smooth: int = 1,
        now: Callable[[], float] | None = None,
        calibrate: bool = True,
        wrist: str | Mapping[str, str] = "right",
        open_set_keep: float | None = None,
    ) -> Pipeline:
        """A pipeline running ``bundle`` (a :class:`mujo_edge.bundle.Bundle`) with its calibration, head and
        open-set test; ``open_set_keep``: the test's threshold moved to the one that keeps that fraction of
        the bundle's known validation windows known (:meth:`mujo_edge.heads.Head.at_keep`; None: the
        bundle's own)."""
        if not callable(getattr(bundle, "runner", None)):  # (a Bundle, or anything with its attributes)
            raise ConfigError(
                f"Pipeline.from_bundle takes an opened bundle, got {type(bundle).__name__} {bundle!r}: open it "
                "with Bundle.open(path) first"
            )
        _checks.flag(calibrate, "calibrate")
        head = getattr(bundle, "head", None)
        if open_set_keep is not None:
            if head is None:
                raise ConfigError("open_set_keep needs a bundle with an open-set test; this one has no head")
            head = head.at_keep(open_set_keep)
        return cls(
            bundle.runner(fmt, threads),
            bundle.labels,
            head=head,
            calibration=bundle.calibration if calibrate else None,
            smooth=smooth,
            now=now,
            window=bundle.window,
            hop=bundle.hop,
            rate_hz=bundle.rate_hz,
            wrist=wrist,
        )

    # -- feeding ------------------------------------------------------------------------------------
    def feed(self, item: SampleBatch | StreamStatus) -> list[ActivityEvent]:
        """Take one batch or status; return the events it completed (often none)."""
        if type(item) is SampleBatch:  # the common case, without feed_many's bookkeeping (same result)
            if self._groups:
                self._per_device()
            else:  # (_per_device with no group)
                self._gen += 1
            dev = self._devices.get(item.device)
            if (
                dev is not None
                and dev.rate_hz == item.rate_hz
                and dev.host_stamped is (item.t_sensor_s is None)
                and dev.group is None
            ):  # a known device on its own path: _batch without its checks for a new one
                dev.stats.batches_in += 1
                if not (item.acc_g.shape[0] and dev.add(item)):
                    return []
                ready: list[_Ready] = []
                dev.process(ready)
                return self._classify(ready) if ready else []
            ready = []
            self._batch(item, ready)
            return self._classify(ready) if ready else []
        return self.feed_many((item,))

    def feed_many(self, items: Iterable[SampleBatch | StreamStatus]) -> list[ActivityEvent]:
        """Take several items (any devices); every window they complete goes through ONE model call.

        Devices whose next window becomes due in these items are processed together at the end: those that
        share a rate and a sample count and whose samples simply continue their run (no gap, no NaN, sensor
        time) advance in lockstep as (devices, samples, 3) arrays through clock refit, grid and windows; the
        others take the per-device path. Both give the same events, bit for bit (``lockstep=False`` in the
        constructor turns the lockstep off).

        A call that is one gateway tick (a batch from each of several known devices of one rate, as many
        sensor-stamped samples each, no decoder gap) goes through :meth:`feed_arrays`, which gives every
        device the same events and stats without a per-batch append. Across devices, the events of a call
        come in the order the devices were processed.

        An item that is no SampleBatch or StreamStatus raises ShapeError; the items before it are taken, and
        the windows they completed come first in the events of the next call that returns any (or of
        :meth:`close`): feed the items after it again, not those before.
        """
        if self.lockstep and self._ticks_as_arrays and isinstance(items, list | tuple):
            tick = self._as_tick(items)
            if tick is not None:
                return self.feed_arrays(*tick)
        if not isinstance(items, Iterable) or isinstance(items, SampleBatch | StreamStatus | str):
            raise ShapeError(
                f"Pipeline.feed_many takes a list of SampleBatch or StreamStatus items, got {type(items).__name__}: "
                "pass one item to Pipeline.feed, or several in a list"
            )
        self._per_device()
        ready: list[_Ready] = []
        due: dict[str, _Device] = {}
        try:
            for item in items:
                if isinstance(item, SampleBatch):
                    if item.device in due:  # a second batch of a due device: its pending samples go first
                        due.pop(item.device).process(ready)
                    self._batch(item, ready, due)
                elif isinstance(item, StreamStatus):
                    if item.device in due:
                        due.pop(item.device).process(ready)
                    self._status(item, ready)
                else:
                    raise ShapeError(
                        f"Pipeline.feed takes SampleBatch or StreamStatus, got {type(item).__name__}: make one "
                        "SampleBatch per notification"
                    )
        except BaseException:
            # the items before the bad one are taken; the windows they completed wait for the next call
            # (the due devices' samples stay pending until their next batch)
            self._held += ready
            raise
        if due:
            self._advance(list(due.values()), ready)
        return self._classify(ready) if ready else []

    def _as_tick(
        self, items: Sequence[SampleBatch | StreamStatus]
    ) -> tuple[list[str], np.ndarray, list[float], float, np.ndarray] | None:
        """``items`` as :meth:`feed_arrays`' arguments when they are one tick it takes without falling back
        to :meth:`feed_many` (at least :data:`LOCKSTEP_MIN_DEVICES` batches of distinct known devices of
        one rate, each with the same number of float64 sensor-stamped samples and no decoder gap); None
        for anything else."""
        if len(items) < LOCKSTEP_MIN_DEVICES:
            return None
        first = items[0]
        if type(first) is not SampleBatch or first.t_sensor_s is None:
            return None
        rate, n = first.rate_hz, first.acc_g.shape[0]
        if not n:
            return None
        get = self._devices.get
        names: list[str] = []
        for b in items:
            if type(b) is not SampleBatch or b.rate_hz != rate or b.gap_before:
                return None
            ts = b.t_sensor_s
            if ts is None or ts.shape[0] != n or (ts.dtype is not _F64 and ts.dtype != _F64):
                return None  # (acc_g has ts's length: SampleBatch checks it)
            dev = get(b.device)
            if dev is None or dev.rate_hz != rate or dev.host_stamped:
                return None
            names.append(b.device)
        if len(set(names)) < len(names):
            return None
        batches: Sequence[SampleBatch] = items  # type: ignore[assignment]  # (each checked above)
        d = len(batches)
        # (one concatenation and a reshape: np.stack makes a view of each row first, 2.5x the time)
        acc = np.concatenate([b.acc_g for b in batches]).reshape(d, n, 3)
        t = np.concatenate([b.t_sensor_s for b in batches]).reshape(d, n)
        return names, acc, [b.t_recv_s for b in batches], float(rate), t

    def feed_arrays(
        self,
        devices: Sequence[str],
        acc_g: np.ndarray,
        t_recv_s: np.ndarray | Sequence[float],
        rate_hz: float,
        t_sensor_s: np.ndarray,
    ) -> list[ActivityEvent]:
        """One notification from each of D devices of one rate (a gateway's tick), as arrays.

        The same events and stats as ``feed_many([SampleBatch(devices[i], acc_g[i], t_recv_s[i], rate_hz,
        t_sensor_s[i]) for i in range(D)])``, without a :class:`SampleBatch` per notification: the devices'
        pending samples are appended and their due checks made for all rows at once.

        Args:
            devices: D distinct device names.
            acc_g: (D, n, 3) samples, g (float32 as the profiles decode them), in each device's axes.
            t_recv_s: (D,) host receive time of each device's notification, s.
            rate_hz: the nominal rate of every one of these devices, Hz.
            t_sensor_s: (D, n) float64 sensor time of each sample, s (host-stamped devices use
                :meth:`feed_many`).

        Raises ShapeError, before taking any row, for arrays of another shape or of values that are not real
        numbers, and for a rate that is not a number in (0, MAX_SOURCE_RATE_HZ].
        """
        if isinstance(devices, str) or not hasattr(devices, "__len__"):
            raise ShapeError(
                f"feed_arrays: devices must be a list of D device names, got {type(devices).__name__} {devices!r}"
            )
        if not is_number(rate_hz) or not 0 < rate_hz <= MAX_SOURCE_RATE_HZ:
            raise ShapeError(
                f"feed_arrays: rate_hz must be a number > 0 and at most {MAX_SOURCE_RATE_HZ:g} Hz, got {rate_hz!r}"
            )
        # as SampleBatch holds them: float32 samples, float times (ShapeError for non-numeric values)
        acc_g = real_array(acc_g, _F32, "feed_arrays: acc_g")
        t_sensor_s = real_array(t_sensor_s, _F64, "feed_arrays: t_sensor_s", keep_float=True)
        recv = real_array(t_recv_s, _F64, "feed_arrays: t_recv_s")
        d = len(devices)
        if acc_g.ndim != 3 or acc_g.shape[0] != d or acc_g.shape[2] != 3:
            raise ShapeError(f"feed_arrays: acc_g must be ({d}, n, 3) g for {d} devices, got {acc_g.shape}")
        n = acc_g.shape[1]
        if t_sensor_s.shape != (d, n) or recv.shape != (d,):
            raise ShapeError(
                f"feed_arrays: t_sensor_s must be ({d}, {n}) and t_recv_s ({d},) to match acc_g {acc_g.shape}, "
                f"got {t_sensor_s.shape} and {recv.shape}"
            )
        plan = self._plan
        group = self._groups.get(float(rate_hz)) if self.lockstep else None
        if (
            plan is not None
            and n
            and plan[1] == self._gen
            and plan[2] is group
            and group is not None
            and plan[3] == group.version
            and plan[0] == list(devices)
        ):  # the devices of the last tick, every one waiting in the group's blocks, nothing moved since
            known = plan[4]
            if self.wrist != "right" and any(dev.mirror for dev in known):
                mirror = np.array([dev.mirror for dev in known])[:, None, None]
                acc_g = np.where(mirror, acc_g * LEFT_WRIST_ACC_SIGNS, acc_g)
            ready: list[_Ready] = []
            self._feed_block(group, plan[5], known, acc_g, t_sensor_s, recv, ready)
            return self._classify(ready) if ready else []
        self._plan = None
        get = self._devices.get
        devs = [get(name) for name in devices]
        if (
            n == 0
            or len(set(devices)) < d
            or not all(dev is not None and dev.rate_hz == rate_hz and not dev.host_stamped for dev in devs)
        ):  # new devices, a new rate, repeated names: the general path
            return self.feed_many(
                SampleBatch(name, acc_g[i], float(recv[i]), float(rate_hz), t_sensor_s[i])
                for i, name in enumerate(devices)
            )
        known = [dev for dev in devs if dev is not None]  # every one (checked above)
        if self.wrist != "right" and any(dev.mirror for dev in known):  # left-wrist rows, mirrored
            mirror = np.array([dev.mirror for dev in known])[:, None, None]
            acc_g = np.where(mirror, acc_g * LEFT_WRIST_ACC_SIGNS, acc_g)
        ready = []
        if group is not None and group.devs:  # the group's members wait as a block, the rest as before
            rows = np.array([dev.row if dev.group is group and not dev._n else -1 for dev in known], np.int64)
            inside = rows >= 0
            if inside.all():
                # (the next tick of the same devices reuses this plan while nothing moves)
                self._plan = (list(devices), self._gen, group, group.version, known, rows)
                self._feed_block(group, rows, known, acc_g, t_sensor_s, recv, ready)
                known = []
            elif inside.any():
                # the block first: what follows may move rows
                i, out = np.flatnonzero(inside), np.flatnonzero(~inside)
                members = [known[j] for j in i.tolist()]
                self._feed_block(group, rows[i], members, acc_g[i], t_sensor_s[i], recv[i], ready)
                known = [known[j] for j in out.tolist()]
                acc_g, t_sensor_s, recv = acc_g[out], t_sensor_s[out], recv[out]
        if known:
            self._feed_lists(known, acc_g, t_sensor_s, recv, n, ready)
        return self._classify(ready) if ready else []

    def _feed_lists(
        self,
        known: list[_Device],
        acc_g: np.ndarray,
        t_sensor_s: np.ndarray,
        recv: np.ndarray,
        n: int,
        ready: list[_Ready],
    ) -> None:
        """feed_arrays' rows of devices that wait in their own pending lists (none in a block)."""
        self._gen += 1
        d = len(known)
        rounded = round_times(recv, RECV_DECIMALS)
        last = t_sensor_s[:, -1]
        ends = last.tolist()
        state = np.array(
            [
                (math.nan if dev.last_t is None else dev.last_t, math.nan if dev.due_t is None else dev.due_t)
                for dev in known
            ],
            np.float64,
        ).reshape(d, 2)
        finite_end, _, due = _tick_rows(t_sensor_s, state[:, 0], state[:, 1], known[0].gap_s)
        point = finite_end & np.isfinite(rounded)  # a NaN/inf time is no clock point
        if point.all():  # the usual tick: every row a clock point with a finite last time
            for dev, t, x, te, tr in zip(known, t_sensor_s, acc_g, ends, rounded, strict=True):
                dev.stats.batches_in += 1
                dev._clock_t.append(te)
                dev._clock_r.append(tr)
                dev._t.append(t)
                dev._x.append(x)
                dev._n += n
                dev.last_t = te
        else:
            for dev, t, x, te, tr, pt, fe in zip(
                known, t_sensor_s, acc_g, ends, rounded, point.tolist(), finite_end.tolist(), strict=True
            ):
                dev.stats.batches_in += 1
                if pt:
                    dev._clock_t.append(te)
                    dev._clock_r.append(tr)
                dev._t.append(t)
                dev._x.append(x)
                dev._n += n
                if fe:
                    dev.last_t = te
        later = [known[i] for i in np.flatnonzero(due).tolist()]
        if not self.lockstep:
            for dev in later:
                dev.process(ready)
            later = []
        if later:
            self._advance(later, ready)

    def _per_device(self) -> None:
        """Before feed or feed_many: every tick waiting as a block goes to its devices' pending lists, so that
        a device's samples stay in order."""
        self._gen += 1
        for group in self._groups.values():
            if group.blocks:
                group.flush()

    def _feed_block(
        self,
        group: _Group,
        rows: np.ndarray,
        devs: list[_Device],
        acc_g: np.ndarray,
        t_sensor_s: np.ndarray,
        recv: np.ndarray,
        ready: list[_Ready],
    ) -> None:
        """feed_arrays' tick as a block of ``group`` (rows ``rows``): the due decisions of _Device.add for all
        rows at once, then the due devices advance from the blocks (their windows appended to ``ready``)."""
        for dev in devs:
            dev.stats.batches_in += 1
        rounded = round_array(recv, RECV_DECIMALS)
        last = t_sensor_s[:, -1]
        finite_end, new_last, due = _tick_rows(
            t_sensor_s, group.last_t[rows], group.due_t[rows], devs[0].gap_s
        )
        point = finite_end & np.isfinite(rounded)  # a NaN/inf time is no clock point
        group.last_t[rows] = new_last
        group.add_block(rows, t_sensor_s, acc_g, last, rounded, point)
        if due.any():
            self._advance_blocks(group, [devs[i] for i in np.flatnonzero(due).tolist()], ready)

    def _advance_blocks(self, group: _Group, devs: list[_Device], ready: list[_Ready]) -> None:
        """_advance for due members of ``group`` whose samples wait in its blocks: those with one sample
        count and the same blocks step from the blocks; the others take the per-device path."""
        alone: list[_Device] = []
        buckets: dict[tuple[int, int], list[_Device]] = {}
        if len(devs) < LOCKSTEP_MIN_DEVICES:
            alone = devs
        else:
            pending, taken = group.pending.tolist(), group.taken.tolist()
            for dev in devs:
                n = pending[dev.row]
                if 0 < n <= BAND_ROWS:
                    buckets.setdefault((n, taken[dev.row]), []).append(dev)
                else:
                    alone.append(dev)
        for (n, _), members in buckets.items():
            # (a device an earlier step released has left its bucket; take_blocks reads rows afresh)
            data = group.take_blocks(members) if len(members) >= LOCKSTEP_MIN_DEVICES else None
            if data is None:
                alone += members
                continue
            group.step(members, n, ready, data)
        # the rest from their own pending lists (rows may have moved: flush finds them by device)
        group.flush(alone)
        self._advance(alone, ready)

    def close(self) -> list[ActivityEvent]:
        """End every device's run (the stream is over): classify what is complete."""
        ready: list[_Ready] = []
        for group in self._groups.values():
            group.release(group.members())
        for dev in self._devices.values():
            self._end(dev, ready, cut=False)
        return self._classify(ready) if ready or self._held else []

    def note_failure(self, device: str, reason: str) -> None:
        """Record that the device's session failed (shown by the live view and summary)."""
        if not isinstance(device, str) or not isinstance(reason, str):
            raise DataError(
                f"note_failure takes the device name and the reason as str, got {device!r} and {reason!r}"
            )
        self.stats.setdefault(device, StreamStats(device)).error = reason

    def note_decode_errors(self, device: str, total: int) -> None:
        """Record the session's count of packets that did not decode (for the stats and live view)."""
        if not isinstance(device, str) or not _whole(total, 0):
            raise DataError(
                f"note_decode_errors takes the device name (str) and the session's count of packets that did "
                f"not decode (an int >= 0), got {device!r} and {total!r}"
            )
        self.stats.setdefault(device, StreamStats(device)).decode_errors = int(total)

    # -- internals ----------------------------------------------------------------------------------
    def _batch(self, b: SampleBatch, ready: list[_Ready], due: dict[str, _Device] | None = None) -> None:
        host_stamped = b.t_sensor_s is None
        dev = self._devices.get(b.device)
        if dev is None or dev.rate_hz != b.rate_hz or dev.host_stamped != host_stamped:
            if dev is not None:
                log.info("%s: stream changed to %.1f Hz; starting a new grid", b.device, b.rate_hz)
                self._end(dev, ready, cut=True)
            dev = self._devices[b.device] = _Device(b.device, float(b.rate_hz), host_stamped, self)
        dev.stats.batches_in += 1
        if b.acc_g.shape[0] and dev.add(b):
            if due is not None and self.lockstep and not host_stamped:
                due[b.device] = dev
            else:
                dev.process(ready)

    def _advance(self, devs: list[_Device], ready: list[_Ready]) -> None:
        """Process the due devices ``devs``: lockstep groups (one rate, one sample count, a plain
        continuation of a running grid) as arrays, the rest one by one."""
        if len(devs) < LOCKSTEP_MIN_DEVICES:
            for dev in devs:
                dev.process(ready)
            return
        groups: dict[tuple[float, int], list[_Device]] = {}
        fresh: dict[tuple[float, int], list[_Device]] = {}
        for dev in devs:
            if dev._flags or not 0 < dev._n <= BAND_ROWS:
                dev.process(ready)
            elif dev.group is None and (dev.run_last_t is None or not dev.grid.running):
                if dev.fresh():
                    fresh.setdefault((dev.rate_hz, dev._n), []).append(dev)
                else:
                    dev.process(ready)
            else:
                groups.setdefault((dev.rate_hz, dev._n), []).append(dev)
        for members in fresh.values():
            if len(members) < LOCKSTEP_MIN_DEVICES:
                for dev in members:
                    dev.process(ready)
            else:
                _start_runs(members, ready)
        for (rate, n), members in groups.items():
            if len(members) < LOCKSTEP_MIN_DEVICES:
                for dev in members:
                    dev.process(ready)
                continue
            group = self._groups.get(rate)
            if group is None:
                group = self._groups[rate] = _Group(rate, self)
            joining = [dev for dev in members if dev.group is not group]
            if joining:
                for dev in group.join(joining):  # not joinable (no clock line yet): on its own
                    dev.process(ready)
                members = [dev for dev in members if dev.group is group]
            if members:
                group.step(members, n, ready)

    def _end(self, dev: _Device, ready: list[_Ready], cut: bool) -> None:
        dev.process(ready)
        dev.end_run(ready, cut)
        dev.last_t = None

    def _status(self, s: StreamStatus, ready: list[_Ready]) -> None:
        st = self.stats.setdefault(s.device, StreamStats(s.device))
        if s.kind == "reconnected":
            st.reconnects += 1
        elif s.kind in ("disconnected", "device_stopped"):
            st.disconnects += 1
        dev = self._devices.get(s.device)
        if dev is not None and s.kind in _RUN_ENDING:
            self._end(dev, ready, cut=s.kind != "stopped")

    def _classify(self, ready: list[_Ready]) -> list[ActivityEvent]:
        if self._held:  # windows a failed call had completed: theirs are the first events
            ready, self._held = [*self._held, *ready], []
        if len(ready) == 1 and len(ready[0].devs) == 1 and ready[0].x.shape[0] == 1:
            return self._classify_one(ready[0])
        return self._classify_many(ready)

    def _classify_many(self, ready: list[_Ready]) -> list[ActivityEvent]:
        """The windows of ``ready`` -> one model call -> their events, in order; the devices' stats."""
        cal = self.calibration
        if cal is None or not any(r.calibrated for r in ready):
            x = ready[0].x if len(ready) == 1 else np.concatenate([r.x for r in ready])
            if cal is not None:
                x = cal.apply(x)
        elif all(r.calibrated for r in ready):
            x = ready[0].x if len(ready) == 1 else np.concatenate([r.x for r in ready])
        else:  # the windows not calibrated yet in one call, then every window in order
            raw = [r.x for r in ready if not r.calibrated]
            done = iter(np.split(cal.apply(np.concatenate(raw)), np.cumsum([a.shape[0] for a in raw])[:-1]))
            x = np.concatenate([r.x if r.calibrated else next(done) for r in ready])
        n_labels = len(self.labels)
        probs = self._probabilities(x)
        now = self.now() if self.now is not None else None
        head = self.head
        scored = head is not None and head.threshold is not None
        failed = _no_answer(probs, n_labels + scored)
        if self.smooth > 1:
            parts, i = [], 0
            for r in ready:
                for dev, n, new_run in zip(r.devs, r.counts, r.new_run, strict=True):
                    if new_run:
                        dev.smoother.reset()
                    parts.append(dev.smoother(probs[i : i + n], [f - i for f in failed if i <= f < i + n]))
                    i += n
            probs = np.concatenate(parts)
        # Row-wise over every window at once (the same numbers as per device), then lists for the events.
        p = probs[:, :n_labels]
        best = p.argmax(axis=1).tolist()
        conf = _max(p, axis=1).tolist()
        rows = len(best)
        if head is not None and scored:
            score = probs[:, n_labels]
            known: list[bool] = head.known(score).tolist()
            score_l: list[float | None] = score.tolist()
        else:
            known = [True] * rows
            score_l = [None] * rows
        labels = self.labels
        names = [labels[k] for k in best]
        for f in failed:
            known[f], conf[f], score_l[f] = False, 0.0, None
        nearest: list[str | None]
        if all(known):
            out, nearest = names, [None] * rows
        else:
            out = [lab if k else UNKNOWN_LABEL for lab, k in zip(names, known, strict=True)]
            nearest = [None if k else lab for lab, k in zip(names, known, strict=True)]
            for f in failed:
                nearest[f] = None
        devices: list[str] = []
        upsampled: list[bool] = []
        t_start: list[float] = []
        t_end: list[float] = []
        i = 0
        for r in ready:
            t_start += r.t_start.tolist()
            t_end += r.t_end.tolist()
            lat = ((now - (r.t_end - r.devs[0]._grid_dt)) * 1e3).tolist() if now is not None else []
            a = i
            ppm = r.skew_ppm
            if len(r.devs) == r.x.shape[0]:  # one window per device (a lockstep step): no slices
                e = i + len(r.devs)
                for j, (dev, label, c, ok) in enumerate(
                    zip(r.devs, out[i:e], conf[i:e], known[i:e], strict=True)
                ):
                    st = dev.stats
                    st.windows += 1
                    if now is not None:
                        st.latency_ms.append(lat[j])
                    st.clock_skew_ppm = ppm[j] if ppm is not None else _fit_skew_ppm(dev)
                    counts = st.label_counts
                    counts[label] = counts.get(label, 0) + 1
                    if not ok:
                        st.unknown += 1
                    st.last_label, st.last_confidence = label, c
                devices += [dev.name for dev in r.devs]
                upsampled += [dev.grid.upsampled for dev in r.devs]
                i = e
                continue
            for j, (dev, n) in enumerate(zip(r.devs, r.counts, strict=True)):
                e = i + n
                st = dev.stats
                st.windows += n
                if now is not None:
                    st.latency_ms.extend(lat[i - a : e - a])
                st.clock_skew_ppm = ppm[j] if ppm is not None else _fit_skew_ppm(dev)
                counts = st.label_counts
                for label in out[i:e]:
                    counts[label] = counts.get(label, 0) + 1
                if out is not names:
                    st.unknown += n - sum(known[i:e])
                st.last_label, st.last_confidence = out[e - 1], conf[e - 1]
                devices += [dev.name] * n
                upsampled += [dev.grid.upsampled] * n
                i = e
        if failed:
            self._model_failed(ready, failed)
        return build_events(
            devices,
            t_start,
            t_end,
            out,
            conf,
            self.calibration is not None,
            upsampled,
            known,
            score_l,
            nearest,
        )

    def _model_failed(self, ready: list[_Ready], rows: list[int]) -> None:
        """Count the windows ``rows`` (indices into ``ready``'s windows, in order) the model gave NaN or
        infinity for in their devices' stats, and say once per pipeline what that means."""
        devs = [dev for r in ready for dev, n in zip(r.devs, r.counts, strict=True) for _ in range(n)]
        for f in rows:
            devs[f].stats.model_errors += 1
        if not self._model_failure_said:
            self._model_failure_said = True
            log.error(
                "the model returned NaN or infinity for %d window(s) (first: %s); they are reported as unknown "
                "with confidence 0. A model that does so for finite windows is damaged or not the bundle's: "
                "export it again (mujo-edge export) or reinstall the bundle",
                len(rows),
                devs[rows[0]].name,
            )

    def _probabilities(self, x: np.ndarray) -> np.ndarray:
        """The model's (B, labels) probabilities of the (calibrated) windows ``x``, with the head's open-set
        score as one more column when there is a head."""
        n_labels = len(self.labels)
        if self.head is not None:
            logits, emb = self.runner.run(x, embedding=self.head.needs_embedding)
            probs, scores = self.head.outputs(logits, emb, x)  # x: the windows, for a statistics head
            # score rides along as one more column, so the smoother averages it with the probabilities
            probs = np.column_stack([probs, scores]).astype(np.float32)
        else:
            probs = np.asarray(self.runner.predict(x), dtype=np.float32)
        if probs.shape[0] != x.shape[0] or probs.shape[1] != n_labels + (self.head is not None):
            raise ShapeError(
                f"the model returned {probs.shape[1] - (self.head is not None)} probabilities per window "
                f"({probs.shape} for {x.shape[0]} windows) for {n_labels} labels {self.labels}; give the "
                "labels of the model's outputs, in its order (a bundle's are Bundle.labels)"
            )
        return probs

    def _classify_one(self, r: _Ready) -> list[ActivityEvent]:
        """:meth:`_classify` of one window of one device (a device fed on its own): the same event and stats,
        with scalars where the general case builds lists."""
        cal = self.calibration
        x = r.x if cal is None or r.calibrated else _finite_map(cal)(r.x)
        probs = self._probabilities(x)
        now = self.now() if self.now is not None else None
        dev = r.devs[0]
        n_labels = len(self.labels)
        failed: list[int] = []
        if self.smooth > 1:  # (a window without answer stays out of the mean; unsmoothed, the scalars tell)
            failed = _no_answer(probs, n_labels + (self.head is not None and self.head.threshold is not None))
            if r.new_run[0]:
                dev.smoother.reset()
            probs = dev.smoother(probs, failed)
        p = probs[0, :n_labels]
        best = int(p.argmax())
        conf = float(p[best])  # (the row's maximum, as _classify's max; NaN where argmax finds one)
        score: float | None = None
        known = True
        if self.head is not None and self.head.threshold is not None:
            score_a = probs[:, n_labels]
            known = bool(self.head.known(score_a)[0])
            score = float(score_a[0])
        name = self.labels[best]
        if failed or not math.isfinite(conf) or (score is not None and not math.isfinite(score)):  # no answer
            known, conf, score = False, 0.0, None
            self._model_failed([r], [0])
        label = name if known else UNKNOWN_LABEL
        st = dev.stats
        st.windows += 1
        if now is not None:
            st.latency_ms.append(float((now - (r.t_end[0] - dev._grid_dt)) * 1e3))
        st.clock_skew_ppm = r.skew_ppm[0] if r.skew_ppm is not None else _fit_skew_ppm(dev)
        counts = st.label_counts
        counts[label] = counts.get(label, 0) + 1
        if not known:
            st.unknown += 1
        st.last_label, st.last_confidence = label, conf
        event = new_event(
            dev.name,
            float(r.t_start[0]),
            float(r.t_end[0]),
            label,
            conf,
            cal is not None,
            dev.grid.upsampled,
            known,
            score,
            None if known or score is None else name,
        )
        return [event]
