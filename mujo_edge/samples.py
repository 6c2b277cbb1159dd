"""Timestamped accelerometer samples: what a device profile hands to the runtime.

``firmware_bridge`` decodes notification bytes into :class:`SampleBatch` objects; the runtime core (clock
model, 50 Hz grid, windows) consumes them. Neither side knows about the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from mujo_edge._checks import is_number, is_whole, real_array
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


_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


@dataclass(frozen=True)
class SampleBatch:
    """Accelerometer samples decoded from one notification (or one replayed record).

    Attributes:
        device: Name of the stream this batch belongs to (a device address or a user-chosen name).
        acc_g: (n, 3) float32, specific force in g, in the device's axes (other real dtypes and nested lists
            of numbers are converted; strings, objects, complex or bool values raise ShapeError).
        t_recv_s: Host receive time of the notification, seconds on the host's monotonic clock.
        rate_hz: Nominal sample rate the device was configured for, Hz.
        t_sensor_s: (n,) float64 sensor-clock time of each sample in seconds, or ``None`` when the device
            sends no timestamps (InfiniTime): the runtime then stamps samples with host time. A list or an
            int array becomes float64; another float dtype is kept.
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
        if type(acc) is not np.ndarray or (acc.dtype is not _F32 and acc.dtype != _F32):
            # float32 everywhere after: each path of the pipeline gives the same bits
            acc = real_array(acc, _F32, "SampleBatch.acc_g")
            object.__setattr__(self, "acc_g", acc)
        if acc.ndim != 2 or acc.shape[1] != 3:
            raise ShapeError(f"SampleBatch.acc_g must be (n, 3) in g, got shape {acc.shape}")
        t = self.t_sensor_s
        if t is not None:
            if type(t) is not np.ndarray or (t.dtype is not _F64 and t.dtype.kind != "f"):
                t = real_array(t, _F64, "SampleBatch.t_sensor_s", keep_float=True)  # (a float dtype stays)
                object.__setattr__(self, "t_sensor_s", t)
            if t.shape != (acc.shape[0],):
                raise ShapeError(
                    f"SampleBatch.t_sensor_s must be ({acc.shape[0]},) to match acc_g, got {t.shape}"
                )
        if not (
            type(self.rate_hz) is float
            and type(self.t_recv_s) is float
            and type(self.device) is str
            and (self.seq is None or type(self.seq) is int)
            and type(self.gap_before) is bool
        ):  # (the usual batch passes these few identity tests; anything else is looked at closely)
            self._check_fields()
        if not 0 < self.rate_hz <= MAX_SOURCE_RATE_HZ:
            raise ShapeError(
                f"SampleBatch.rate_hz must be > 0 and at most {MAX_SOURCE_RATE_HZ:g} Hz, got {self.rate_hz}"
            )

    def _check_fields(self) -> None:
        """DataError / ShapeError for a field that is not of its type (the arrays are checked already)."""
        if not is_number(self.rate_hz):
            raise ShapeError(
                f"SampleBatch.rate_hz must be a number of Hz, got {type(self.rate_hz).__name__} {self.rate_hz!r}: "
                "pass the rate the device was configured for as a float"
            )
        if not isinstance(self.device, str):
            raise DataError(
                f"SampleBatch.device must be the stream's name as a str, got {type(self.device).__name__} "
                f"{self.device!r}: name each device (its address or a name of your choice)"
            )
        if not is_number(self.t_recv_s):
            raise DataError(
                f"SampleBatch.t_recv_s must be a number, got {type(self.t_recv_s).__name__} {self.t_recv_s!r}: "
                "pass the host's monotonic time of the notification in seconds as a float"
            )
        if self.seq is not None and not is_whole(self.seq):
            raise DataError(
                f"SampleBatch.seq must be an int or None, got {type(self.seq).__name__} {self.seq!r}: pass the "
                "device's sequence number, or None when its protocol has none"
            )
        if not isinstance(self.gap_before, bool | np.bool_):
            raise DataError(
                f"SampleBatch.gap_before must be True or False, got {type(self.gap_before).__name__} "
                f"{self.gap_before!r}"
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
        if not isinstance(self.device, str):
            raise DataError(
                f"StreamStatus.device must be the stream's name as a str, got {type(self.device).__name__} "
                f"{self.device!r}"
            )
        if not is_number(self.t_recv_s):
            raise DataError(
                f"StreamStatus.t_recv_s must be a number (host receive time, s), got "
                f"{type(self.t_recv_s).__name__} {self.t_recv_s!r}"
            )
        if not isinstance(self.detail, str):
            raise DataError(f"StreamStatus.detail must be a str, got {type(self.detail).__name__}")
        if not isinstance(self.kind, str) or self.kind not in STATUS_KINDS:
            raise DataError(
                f"StreamStatus.kind must be one of {', '.join(STATUS_KINDS)}, got {self.kind!r}: a stream "
                "reports only these connection events"
            )
