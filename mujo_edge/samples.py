"""Timestamped accelerometer samples: what a device profile hands to the runtime.

``firmware_bridge`` decodes notification bytes into :class:`SampleBatch` objects; the runtime core (clock
model, 50 Hz grid, windows) consumes them. Neither side knows about the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from mujo_edge.constants import MAX_SOURCE_RATE_HZ
from mujo_edge.errors import DataError, ShapeError

#: What can happen to a stream's connection, as :class:`StreamStatus` reports it:
#:
#: * ``connected``: the first connection (or a new one after ``disconnected``) is up and streaming;
#: * ``disconnected``: the link dropped; the session is reconnecting;
#: * ``reconnected``: streaming again after a drop (samples in between are lost: the grid restarts);
#: * ``device_stopped``: the device ended its measurement on its own (the link may still be up);
#: * ``stopped``: the session ended (asked to, or it gave up); nothing follows.
StatusKind = Literal["connected", "disconnected", "reconnected", "device_stopped", "stopped"]
#: Every :data:`StatusKind`, in the order above.
STATUS_KINDS: tuple[StatusKind, ...] = get_args(StatusKind)


@dataclass(frozen=True)
class SampleBatch:
    """Accelerometer samples decoded from one notification (or one replayed record).

    Attributes:
        device: Name of the stream this batch belongs to (a device address or a user-chosen name).
        acc_g: (n, 3) float32, specific force in g, in the device's axes (other dtypes are converted).
        t_recv_s: Host receive time of the notification, seconds on the host's monotonic clock.
        rate_hz: Nominal sample rate the device was configured for, Hz.
        t_sensor_s: (n,) float64 sensor-clock time of each sample in seconds, or ``None`` when the device
            sends no timestamps (InfiniTime): the runtime then stamps samples with host time.
        seq: Device sequence number of this batch, or ``None`` when the protocol has none.
        gap_before: The decoder saw samples go missing right before this batch (sequence jump).
    """

    device: str
    acc_g: np.ndarray
    t_recv_s: float
    rate_hz: float
    t_sensor_s: np.ndarray | None = None
    seq: int | None = None
    gap_before: bool = False

    def __post_init__(self) -> None:
        acc = self.acc_g
        if acc.ndim != 2 or acc.shape[1] != 3:
            raise ShapeError(f"SampleBatch.acc_g must be (n, 3) in g, got shape {acc.shape}")
        if acc.dtype != np.float32:  # float32 everywhere after: each path of the pipeline gives the same bits
            object.__setattr__(self, "acc_g", acc.astype(np.float32))
        if self.t_sensor_s is not None and self.t_sensor_s.shape != (acc.shape[0],):
            raise ShapeError(
                f"SampleBatch.t_sensor_s must be ({acc.shape[0]},) to match acc_g, got {self.t_sensor_s.shape}"
            )
        if not 0 < self.rate_hz <= MAX_SOURCE_RATE_HZ:
            raise ShapeError(
                f"SampleBatch.rate_hz must be > 0 and at most {MAX_SOURCE_RATE_HZ:g} Hz, got {self.rate_hz}"
            )

    def __len__(self) -> int:
        return int(self.acc_g.shape[0])


@dataclass(frozen=True)
class StreamStatus:
    """A connection-level event in a stream (``kind``: one of :data:`STATUS_KINDS`); the runtime ends a
    device's run of samples at each, and restarts its grid after ``reconnected``."""

    device: str
    t_recv_s: float
    kind: StatusKind
    detail: str = field(default="")

    def __post_init__(self) -> None:
        if self.kind not in STATUS_KINDS:
            raise DataError(
                f"StreamStatus.kind must be one of {', '.join(STATUS_KINDS)}, got {self.kind!r}: a stream "
                "reports only these connection events"
            )
