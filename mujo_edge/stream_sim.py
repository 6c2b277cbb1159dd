"""A deterministic simulated watch stream: what a BLE session would yield, with the radio's faults.

Used by the runtime's tests and benchmark (and by nothing on a device). It turns an accelerometer array at
the device's rate into the :class:`~mujo_edge.samples.SampleBatch` / :class:`~mujo_edge.samples.StreamStatus`
sequence a :class:`DeviceSession` yields: notifications of ``batch`` samples stamped with a sensor clock that
runs ``skew_ppm`` fast or slow, received after an exponential latency (``latency_min_s`` + Exp(mean
``latency_mean_s``)), with bursts (the link holds notifications for ``burst_hold_s`` every ``burst_every_s``
and delivers them together), dropped notifications, and disconnects. The ground truth comes back with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mujo_edge.samples import SampleBatch, StreamStatus


@dataclass(frozen=True)
class SimFaults:
    """Radio faults of a simulated stream (all off by default)."""

    skew_ppm: float = 0.0
    latency_min_s: float = 0.005
    latency_mean_s: float = 0.0
    latency_max_s: float = 0.05
    burst_every_s: float = 0.0
    burst_hold_s: float = 0.0
    drop_prob: float = 0.0
    #: Host times (s) at which the link drops for ``reconnect_s`` seconds: everything sent meanwhile is lost.
    disconnect_at_s: tuple[float, ...] = ()
    reconnect_s: float = 2.0
    seed: int = 0


@dataclass
class SimStream:
    """Items in receive order, and the truth: ``t_host_true_s`` (n,) when each sample was taken (host
    clock), ``delivered`` (n,) bool, and the sensor time of every sample."""

    items: list[SampleBatch | StreamStatus]
    t_host_true_s: np.ndarray
    t_sensor_s: np.ndarray
    delivered: np.ndarray
    latency_min_s: float
    dropped_batches: int = 0
    notes: dict[str, float] = field(default_factory=dict)


def simulate_stream(
    acc_g: np.ndarray,
    rate_hz: float,
    device: str = "sim",
    batch: int = 8,
    faults: SimFaults | None = None,
    host_stamped: bool = False,
    t0_host_s: float = 1000.0,
    t0_sensor_s: float = 7.5e8,
) -> SimStream:
    """Simulate the notifications a watch sampling ``acc_g`` (n, 3) g at ``rate_hz`` would deliver.

    Args:
        batch: samples per notification.
        host_stamped: emit batches without sensor times (InfiniTime-like).
        t0_host_s / t0_sensor_s: host and sensor clock readings at the first sample.
    """
    f = faults or SimFaults()
    rng = np.random.default_rng(f.seed)
    n = acc_g.shape[0]
    t_host = t0_host_s + np.arange(n) / rate_hz
    # The sensor clock counts (1 + skew) seconds per host second; the device THINKS it samples at rate_hz.
    t_sensor = t0_sensor_s + (t_host - t0_host_s) * (1.0 + f.skew_ppm * 1e-6)
    n_b = -(-n // batch)
    send = t_host[np.minimum(np.arange(n_b) * batch + batch - 1, n - 1)]
    lat = f.latency_min_s + (rng.exponential(f.latency_mean_s, n_b) if f.latency_mean_s > 0 else 0.0)
    recv = send + np.minimum(lat, max(f.latency_max_s, f.latency_min_s))
    if f.burst_every_s > 0 and f.burst_hold_s > 0:
        phase = (send - t0_host_s) % f.burst_every_s
        held = phase < f.burst_hold_s
        release = send - phase + f.burst_hold_s + f.latency_min_s
        recv = np.where(held, np.maximum(recv, release), recv)
    recv = np.maximum.accumulate(recv)  # one link: notifications arrive in order
    keep = rng.random(n_b) >= f.drop_prob
    down = np.zeros(n_b, dtype=bool)
    for t_d in f.disconnect_at_s:
        down |= (send >= t_d) & (send < t_d + f.reconnect_s)
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
        latency_min_s=f.latency_min_s,
        dropped_batches=int((~keep & ~down).sum()),
    )
