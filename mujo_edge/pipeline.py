"""The streaming runtime: sample batches of one or many devices -> activity events.

    SampleBatch / StreamStatus (firmware_bridge, or a replay)
      -> clock model (sensor -> host time, lower envelope)             mujo_edge.clock
      -> gap check (sensor-time jump > 1.5 periods, decoder's gap flag, reconnect)
      -> 50 Hz grid (anti-alias FIR + interpolation, per gap-free run) mujo_edge.stream_grid
      -> windows (100 samples, hop 50; begun windows dropped at gaps)   mujo_edge.windowing
      -> PIT calibration (the bundle's table)                           mujo_edge.calibration
      -> model (the bundle's LiteRT / ExecuTorch runner, one batch for every ready window of every device)
      -> optional smoothing (mean probability over the last k windows of the run)
      -> ActivityEvent (JSON lines)                                     mujo_edge.events

:class:`Pipeline` keeps one state per device name, so a gateway feeds every watch through one object.
It is lazy: a batch is only appended to the device's pending samples (a few attribute reads and a
comparison) until the samples for the device's next window have arrived; then the pending samples go
through grid and windowing in one vectorized step. Events therefore come out as soon as possible, and the
per-batch cost stays small however small the notifications are.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from mujo_edge.clock import ClockModel, gap_threshold_s, host_stamp
from mujo_edge.constants import HOP, RATE_HZ, WINDOW
from mujo_edge.errors import ShapeError
from mujo_edge.events import ActivityEvent
from mujo_edge.samples import SampleBatch, StreamStatus
from mujo_edge.stream_grid import StreamGrid
from mujo_edge.windowing import StreamWindower, WindowBatch

log = logging.getLogger(__name__)

#: Decimals of a receive time the pipeline uses (1 us; recordings store the same).
RECV_DECIMALS: int = 6
#: Status kinds after which a device's run ends (the grid restarts with the next sample).
_RUN_ENDING = ("connected", "disconnected", "reconnected", "device_stopped", "stopped")


class Predictor(Protocol):
    """What the pipeline needs from a model runner (``mujo_edge.runners.Runner`` is one)."""

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        """(B, WINDOW, 3) float32 g -> (B, n_labels) float32 probabilities."""
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
    clock_skew_ppm: float | None = None
    last_label: str = ""
    last_confidence: float = 0.0
    latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    _rate_n: int = 0
    _rate_span_s: float = 0.0

    @property
    def rate_hz(self) -> float:
        """Measured sample rate over all gap-free runs so far, Hz (0 until known)."""
        return self._rate_n / self._rate_span_s if self._rate_span_s > 0 else 0.0

    def latency_quantile_ms(self, q: float) -> float | None:
        """Quantile ``q`` of recent window-end -> event latencies, ms (live runs only)."""
        return float(np.quantile(np.asarray(self.latency_ms), q)) if self.latency_ms else None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "latency_ms"}
        out["rate_hz"] = round(self.rate_hz, 3)
        out["latency_ms_p50"] = self.latency_quantile_ms(0.5)
        out["latency_ms_p95"] = self.latency_quantile_ms(0.95)
        return out


class _Smoother:
    """Mean probability over the last ``k`` windows of a run."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._hist: deque[np.ndarray] = deque(maxlen=k)

    def reset(self) -> None:
        self._hist.clear()

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        if self.k <= 1:
            return probs
        out = np.empty_like(probs)
        for i, p in enumerate(probs):
            self._hist.append(p)
            out[i] = np.mean(self._hist, axis=0)
        return out


class _Device:
    """Per-device state: clock, grid, windower, smoother, pending samples, stats."""

    def __init__(self, name: str, rate_hz: float, host_stamped: bool, p: Pipeline) -> None:
        self.name = name
        self.rate_hz = rate_hz
        self.host_stamped = host_stamped
        self.clock = ClockModel()
        self.grid = StreamGrid(rate_hz, p.rate_hz)
        self.windower = StreamWindower(p.window, p.hop)
        self.smoother = _Smoother(p.smooth)
        self.gap_s = gap_threshold_s(rate_hz, host_stamped)
        self.pending_t: list[np.ndarray] = []
        self.pending_x: list[np.ndarray] = []
        self.last_t: float | None = None  # last accepted sample time (sensor clock, or host for host-stamped)
        self.due_t: float | None = None  # process once last_t reaches this
        self.stats = p.stats.setdefault(name, StreamStats(name))
        self.stats.nominal_rate_hz = rate_hz
        self.stats.host_stamped = host_stamped
        self.stats.upsampled = self.grid.upsampled
        self._grid_dt = 1.0 / p.rate_hz

    def to_host(self, t: np.ndarray) -> np.ndarray:
        return t if self.host_stamped else np.asarray(self.clock.to_host(t))

    def take_pending(self) -> tuple[np.ndarray, np.ndarray] | None:
        if not self.pending_t:
            return None
        if len(self.pending_t) == 1:
            t, x = self.pending_t[0], self.pending_x[0]
        else:
            t, x = np.concatenate(self.pending_t), np.concatenate(self.pending_x)
        self.pending_t, self.pending_x = [], []
        return t, x

    def process(self) -> WindowBatch | None:
        """Pending samples -> grid -> windows; sets when to process next."""
        got = self.take_pending()
        if got is None:
            return None
        chunk = self.grid.push(*got)
        self.stats.grid_samples += chunk.t_s.size
        wins = self.windower.push(chunk.t_s, chunk.x)
        if len(wins):
            # Host times now, with the clock as it is when the window completes (not when the batch of
            # several devices' windows is classified), so events depend on this device's stream alone.
            wins = WindowBatch(
                wins.x, self.to_host(wins.t_first_s), self.to_host(wins.t_last_s + self._grid_dt)
            )
        # The next window's last grid sample is computable once the input reaches its time + filter delay.
        nxt = self.grid.next_time_s
        self.due_t = (
            None
            if nxt is None
            else nxt + (self.windower.samples_to_next_window - 1) * self._grid_dt + self.grid.group_delay_s
        )
        return wins if len(wins) else None

    def end_run(self, cut: bool = True) -> WindowBatch | None:
        """Flush what can still be windowed, then restart grid and windower; ``cut``: the run ends at a gap
        or link loss (count the begun windows as dropped), not at the end of the stream."""
        wins = self.process()
        dropped = self.windower.restart()
        if cut:
            self.stats.windows_dropped_at_gaps += dropped
        self.grid.restart()
        self.smoother.reset()
        self.last_t = None
        self.due_t = None
        return wins


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
    ) -> None:
        if smooth < 1:
            raise ShapeError(f"smooth must be >= 1 windows, got {smooth}")
        self.runner = runner
        self.labels = list(labels)
        self.calibration = calibration
        self.smooth = int(smooth)
        self.now = now
        self.window, self.hop, self.rate_hz = int(window), int(hop), float(rate_hz)
        self.stats: dict[str, StreamStats] = {}
        self._devices: dict[str, _Device] = {}

    @classmethod
    def from_bundle(
        cls,
        bundle: Any,
        fmt: str | None = None,
        threads: int = 1,
        smooth: int = 1,
        now: Callable[[], float] | None = None,
        calibrate: bool = True,
    ) -> Pipeline:
        """A pipeline running ``bundle`` (a :class:`mujo_edge.bundle.Bundle`) with its calibration."""
        return cls(
            bundle.runner(fmt, threads),
            bundle.labels,
            calibration=bundle.calibration if calibrate else None,
            smooth=smooth,
            now=now,
            window=bundle.window,
            hop=bundle.hop,
            rate_hz=bundle.rate_hz,
        )

    # -- feeding ------------------------------------------------------------------------------------
    def feed(self, item: SampleBatch | StreamStatus) -> list[ActivityEvent]:
        """Take one batch or status; return the events it completed (often none)."""
        return self.feed_many((item,))

    def feed_many(self, items: Iterable[SampleBatch | StreamStatus]) -> list[ActivityEvent]:
        """Take several items (any devices); every window they complete goes through ONE model call."""
        ready: list[tuple[_Device, WindowBatch]] = []
        for item in items:
            if isinstance(item, SampleBatch):
                self._batch(item, ready)
            elif isinstance(item, StreamStatus):
                self._status(item, ready)
            else:
                raise ShapeError(
                    f"Pipeline.feed takes SampleBatch or StreamStatus, got {type(item).__name__}"
                )
        return self._classify(ready) if ready else []

    def close(self) -> list[ActivityEvent]:
        """End every device's run (the stream is over): classify what is complete, count what is cut."""
        ready: list[tuple[_Device, WindowBatch]] = []
        for dev in self._devices.values():
            wins = dev.end_run(cut=False)
            if wins is not None:
                ready.append((dev, wins))
        return self._classify(ready) if ready else []

    def note_decode_errors(self, device: str, total: int) -> None:
        """Record the session's count of packets that did not decode (for the stats and live view)."""
        self.stats.setdefault(device, StreamStats(device)).decode_errors = int(total)

    # -- internals ----------------------------------------------------------------------------------
    def _batch(self, b: SampleBatch, ready: list[tuple[_Device, WindowBatch]]) -> None:
        host_stamped = b.t_sensor_s is None
        dev = self._devices.get(b.device)
        if dev is None or dev.rate_hz != b.rate_hz or dev.host_stamped != host_stamped:
            if dev is not None:
                log.info("%s: stream changed to %.1f Hz; starting a new grid", b.device, b.rate_hz)
                self._end(dev, ready)
            dev = self._devices[b.device] = _Device(b.device, float(b.rate_hz), host_stamped, self)
        n = b.acc_g.shape[0]
        st = dev.stats
        st.batches_in += 1
        if n == 0:
            return
        x = b.acc_g
        # Receive times count to the microsecond, as recordings keep them: a replay is then bit-identical.
        t_recv = round(b.t_recv_s, RECV_DECIMALS)
        if dev.host_stamped:
            t = host_stamp(n, t_recv, dev.rate_hz, dev.last_t)
        else:
            t = b.t_sensor_s
            assert t is not None
            dev.clock.observe(float(t[-1]), t_recv)
        if not np.isfinite(x).all():
            ok = np.isfinite(x).all(axis=1)
            st.bad_samples += int(n - ok.sum())
            log.warning("%s: dropped %d NaN/inf samples (treated as lost)", dev.name, n - ok.sum())
            t, x = t[ok], x[ok]
            n = t.size
            if n == 0:
                return
        st.samples_in += n
        if n > 1:
            d = np.diff(t)
            if d.max() > dev.gap_s or d.min() <= 0:
                # A gap inside one notification: split there and take the pieces in order.
                cut = np.flatnonzero((d > dev.gap_s) | (d <= 0)) + 1
                edges = [0, *cut.tolist(), n]
                for k in range(len(edges) - 1):
                    a, e = edges[k], edges[k + 1]
                    self._segment(dev, t[a:e], x[a:e], b.gap_before if k == 0 else True, ready)
                return
        self._segment(dev, t, x, b.gap_before, ready)

    def _segment(
        self,
        dev: _Device,
        t: np.ndarray,
        x: np.ndarray,
        gap_flag: bool,
        ready: list[tuple[_Device, WindowBatch]],
    ) -> None:
        st = dev.stats
        last = dev.last_t
        if last is not None:
            dt = float(t[0]) - last
            if gap_flag or dt > dev.gap_s or dt <= 0:
                st.gaps += 1
                if not dev.host_stamped and dt > 0:
                    st.samples_lost += max(0, round(dt * dev.rate_hz) - 1)
                self._end(dev, ready)
                st._rate_n += t.size - 1
                st._rate_span_s += float(t[-1] - t[0])
            else:
                st._rate_n += t.size
                st._rate_span_s += float(t[-1]) - last
        else:
            st._rate_n += t.size - 1
            st._rate_span_s += float(t[-1] - t[0])
        dev.pending_t.append(t)
        dev.pending_x.append(x)
        dev.last_t = float(t[-1])
        if dev.due_t is None or dev.last_t >= dev.due_t:
            wins = dev.process()
            if wins is not None:
                ready.append((dev, wins))

    def _end(self, dev: _Device, ready: list[tuple[_Device, WindowBatch]], cut: bool = True) -> None:
        wins = dev.end_run(cut)
        if wins is not None:
            ready.append((dev, wins))

    def _status(self, s: StreamStatus, ready: list[tuple[_Device, WindowBatch]]) -> None:
        st = self.stats.setdefault(s.device, StreamStats(s.device))
        if s.kind == "reconnected":
            st.reconnects += 1
        elif s.kind in ("disconnected", "device_stopped"):
            st.disconnects += 1
        dev = self._devices.get(s.device)
        if dev is not None and s.kind in _RUN_ENDING:
            self._end(dev, ready, cut=s.kind != "stopped")

    def _classify(self, ready: list[tuple[_Device, WindowBatch]]) -> list[ActivityEvent]:
        x = ready[0][1].x if len(ready) == 1 else np.concatenate([w.x for _, w in ready])
        if self.calibration is not None:
            x = self.calibration.apply(x)
        probs = np.asarray(self.runner.predict(x), dtype=np.float32)
        if probs.shape != (x.shape[0], len(self.labels)):
            raise ShapeError(
                f"the model returned {probs.shape} for {x.shape[0]} windows; expected "
                f"({x.shape[0]}, {len(self.labels)}) probabilities for labels {self.labels}"
            )
        now = self.now() if self.now is not None else None
        events: list[ActivityEvent] = []
        i = 0
        calibrated = self.calibration is not None
        for dev, w in ready:
            p = dev.smoother(probs[i : i + len(w)])
            i += len(w)
            best = p.argmax(axis=1)
            conf = p[np.arange(len(w)), best]
            t0, t1 = w.t_first_s, w.t_last_s  # host times of the window's start and end (see process)
            st = dev.stats
            st.windows += len(w)
            if now is not None:
                st.latency_ms.extend(((now - (t1 - dev._grid_dt)) * 1e3).tolist())
            fit = dev.clock.fit
            st.clock_skew_ppm = None if dev.host_stamped or fit is None else fit.skew_ppm
            for k in range(len(w)):
                events.append(
                    ActivityEvent(
                        device=dev.name,
                        t_start=float(t0[k]),
                        t_end=float(t1[k]),
                        label=self.labels[int(best[k])],
                        confidence=float(min(1.0, max(0.0, conf[k]))),
                        calibrated=calibrated,
                        upsampled=dev.grid.upsampled,
                    )
                )
            st.last_label, st.last_confidence = events[-1].label, events[-1].confidence
        return events


def summarize(stats: dict[str, StreamStats]) -> dict[str, Any]:
    """Totals over devices (for the closing summary)."""
    tot: dict[str, Any] = {"devices": len(stats)}
    for key in ("samples_in", "windows", "windows_dropped_at_gaps", "gaps", "samples_lost", "reconnects"):
        tot[key] = sum(getattr(s, key) for s in stats.values())
    lat = [v for s in stats.values() for v in s.latency_ms]
    tot["latency_ms_p50"] = float(np.median(lat)) if lat else math.nan
    return tot
