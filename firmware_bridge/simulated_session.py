"""A deterministic simulated watch stream: what a :class:`~mujo_edge.firmware_bridge.session.DeviceSession`
would yield, with the radio's faults, and no transport at all.

Used by the runtime's tests and benchmark (never on a device). It turns an accelerometer array at the
device's rate into the :class:`~mujo_edge.samples.SampleBatch` / :class:`~mujo_edge.samples.StreamStatus`
sequence a session yields: notifications of ``batch`` samples stamped with a sensor clock that runs
``clock_skew_ppm`` fast or slow, received after the link's latency (``link_latency_s`` + Exp(mean
``latency_mean_s``), at most ``latency_max_s``), with bursts, dropped notifications and disconnects, all
from one :class:`~mujo_edge.firmware_bridge.faults.Faults`. The ground truth comes back with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mujo_edge import _checks
from mujo_edge._checks import real_array
from mujo_edge.errors import ConfigError, ShapeError
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.samples import SampleBatch, StreamStatus

#: The link's own latency of a notification, host seconds (a BLE connection event is 7.5-50 ms apart).
LINK_LATENCY_S = 0.005


@dataclass
class SimStream:
    """Items in receive order, and the truth: ``t_host_true_s`` (n,) when each sample was taken (host
    clock), ``delivered`` (n,) bool, the sensor time of every sample and the link's latency."""

    items: list[SampleBatch | StreamStatus]
    t_host_true_s: np.ndarray
    t_sensor_s: np.ndarray
    delivered: np.ndarray
    link_latency_s: float
    dropped_batches: int = 0
    notes: dict[str, float] = field(default_factory=dict)


def simulate_stream(
    acc_g: np.ndarray,
    rate_hz: float,
    device: str = "sim",
    batch: int = 8,
    faults: Faults | None = None,
    host_stamped: bool = False,
    t0_host_s: float = 1000.0,
    t0_sensor_s: float = 7.5e8,
    link_latency_s: float = LINK_LATENCY_S,
) -> SimStream:
    """Simulate the notifications a watch sampling ``acc_g`` (n, 3) g at ``rate_hz`` would deliver.

    Args:
        batch: samples per notification.
        faults: what goes wrong; ``disconnect_at_s`` are seconds after the first sample, ``burst_every`` /
            ``burst_len`` count notifications. Raises ConfigError for a fault this simulator cannot inject.
        host_stamped: emit batches without sensor times (InfiniTime-like).
        t0_host_s / t0_sensor_s: host and sensor clock readings at the first sample.
        link_latency_s: the link's own latency of every notification, host seconds.
    """
    f = faults if faults is not None else Faults()
    if not isinstance(f, Faults):
        raise ConfigError(f"simulate_stream: faults must be a Faults, got {type(f).__name__}")
    f.require_injectable("simulated session stream")
    acc_g = real_array(acc_g, np.dtype(np.float32), "simulate_stream: acc_g", keep_float=True)
    if acc_g.ndim != 2 or acc_g.shape[1] != 3:
        raise ShapeError(f"simulate_stream: acc_g must be (n, 3) in g, got shape {acc_g.shape}")
    rate_hz = _checks.number(rate_hz, "simulate_stream: rate_hz", fix="give the device's sample rate in Hz")
    if not math.isfinite(rate_hz):
        raise ConfigError(f"simulate_stream: rate_hz must be finite, got {rate_hz}")
    _checks.text(device, "simulate_stream: device", "name the stream")
    batch = _checks.count(batch, "simulate_stream: batch", 1, "samples per notification")
    for name, value in (("t0_host_s", t0_host_s), ("t0_sensor_s", t0_sensor_s)):
        _checks.finite(value, f"simulate_stream: {name}", "a clock reading in seconds")
    _checks.number(link_latency_s, "simulate_stream: link_latency_s", hi=60.0, above_lo=False, fix="seconds")
    rng = np.random.default_rng(f.seed)
    n = acc_g.shape[0]
    t_host = t0_host_s + np.arange(n) / rate_hz
    # The sensor clock counts (1 + skew) seconds per host second; the device THINKS it samples at rate_hz.
    t_sensor = t0_sensor_s + (t_host - t0_host_s) * (1.0 + f.clock_skew_ppm * 1e-6)
    n_b = -(-n // batch)
    send = t_host[np.minimum(np.arange(n_b) * batch + batch - 1, n - 1)]
    lat = link_latency_s + (rng.exponential(f.latency_mean_s, n_b) if f.latency_mean_s > 0 else 0.0)
    recv = send + np.minimum(lat, max(f.latency_max_s, link_latency_s))
    if f.burst_every > 0 and f.burst_len > 1:
        # the first burst_len - 1 of every burst_every notifications wait for the last of their burst
        index = np.arange(n_b)
        last = np.minimum(index - index % f.burst_every + f.burst_len - 1, n_b - 1)
        held = index % f.burst_every < f.burst_len - 1
        recv = np.where(held, recv[last], recv)
    recv = np.maximum.accumulate(recv)  # one link: notifications arrive in order
    keep = rng.random(n_b) >= f.drop_prob
    down = np.zeros(n_b, dtype=bool)
    for t_d in f.disconnect_at_s:
        down |= (send >= t0_host_s + t_d) & (send < t0_host_s + t_d + f.down_s)
    items: list[SampleBatch | StreamStatus] = []
    delivered = np.zeros(n, dtype=bool)
    was_down = False
    lost_before = False
    seq = 0
    for b in range(n_b):
        sl = slice(b * batch, min(n, b * batch + batch))
        if down[b]:
            if not was_down:
                items.append(StreamStatus(device, float(send[b]), "disconnected", "simulated link loss"))
            was_down = True
            continue
        if was_down:
            items.append(StreamStatus(device, float(recv[b]) - 1e-3, "reconnected", "simulated"))
            was_down = False
            lost_before = False
        seq += 1
        if not keep[b]:
            lost_before = True
            continue
        delivered[sl] = True
        items.append(
            SampleBatch(
                device=device,
                acc_g=np.ascontiguousarray(acc_g[sl], dtype=np.float32),
                t_recv_s=float(recv[b]),
                rate_hz=rate_hz,
                t_sensor_s=None if host_stamped else t_sensor[sl].copy(),
                seq=seq,
                gap_before=lost_before and not host_stamped,
            )
        )
        lost_before = False
    return SimStream(
        items=items,
        t_host_true_s=t_host,
        t_sensor_s=t_sensor,
        delivered=delivered,
        link_latency_s=link_latency_s,
        dropped_batches=int((~keep & ~down).sum()),
    )
