"""The device side of a profile, without radio: what a watch of that model is and does.

Each profile folder holds its watch model in ``device.py``, a :class:`WatchDevice`: its GATT layout, its
control protocol, how it packs samples into frames and stamps them by its own sensor clock. The byte formats
are NOT re-implemented there: frames, control responses and feature reads come from the encoders beside
each decoder, so a simulated watch speaks exactly what the decoders read. The virtual watches (bumble), the
BlueZ mock and the replay transport all run these models.

A device turns its motion array into a *stream*: stream index ``i`` is one sample on the device's sensor
clock (for InfiniTime: one ~10 Hz poll of the sensor). :meth:`WatchDevice.frame` packs the samples from
index ``i`` into one notification that fits ``max_payload`` bytes (ATT MTU - 3), as a real watch does.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from mujo_edge._checks import is_number, real_array
from mujo_edge.errors import DataError, ShapeError

#: The motion of a replayed watch: it never sends it (the replay sends the recorded frames).
STILL_G = np.array([[0.0, 0.0, 1.0]], dtype=np.float32)


@dataclass(frozen=True)
class CharSpec:
    """One GATT characteristic of a virtual watch (lower-case 128-bit UUID and its properties)."""

    uuid: str
    read: bool = False
    write: bool = False
    notify: bool = False
    indicate: bool = False


class WatchDevice(abc.ABC):
    """Device-side behaviour of one watch model.

    Args:
        acc_g: (n, 3) float32 motion the watch wears, g, sampled at ``rate_hz``.
        rate_hz: Rate of ``acc_g``; the device's sensor runs at this rate on its own clock.
        loop: Repeat the motion forever (else the stream ends after the last sample).
    """

    profile: str = ""
    service_uuid: str = ""
    #: The name a virtual watch of this model advertises unless given another.
    default_name: str = ""
    #: Whether the watch streams now (set by its control protocol or a subscription).
    streaming: bool = False

    #: Sample rates, Hz, a watch of this model can stream (what its frames' rate fields carry).
    rate_range_hz: tuple[float, float] = (0.01, 10_000.0)

    def __init__(self, acc_g: np.ndarray, rate_hz: float, loop: bool = True) -> None:
        acc = real_array(acc_g, np.dtype(np.float32), "a virtual watch's acc_g")
        if acc.ndim != 2 or acc.shape[1] != 3 or len(acc) == 0:
            raise ShapeError(
                f"a virtual watch needs acc_g of shape (n, 3) with n >= 1, in g; got {acc.shape}"
            )
        if not np.isfinite(acc).all():
            raise DataError("a virtual watch's acc_g contains NaN or inf; clean the motion first")
        lo, hi = self.rate_range_hz
        rate = float(rate_hz) if is_number(rate_hz) else math.nan
        if not lo <= rate <= hi:
            raise DataError(
                f"a virtual watch needs rate_hz, the rate of acc_g, as a number from {lo:g} to {hi:g} Hz for "
                f"{self.profile or type(self).__name__}; got {type(rate_hz).__name__} {rate_hz!r}"
            )
        self.acc_g = acc
        self.rate_hz = float(rate_hz)
        self.loop = loop

    # ---------------------------------------------------------------------------------------- stream
    @property
    def stream_rate_hz(self) -> float:
        """Stream indices per sensor second (samples, or polls for InfiniTime)."""
        return self.rate_hz

    def motion_index(self, i: int) -> int:
        """Row of ``acc_g`` that stream index ``i`` carries (before looping)."""
        return i

    @property
    def stream_length(self) -> int | None:
        """Stream indices available (``None`` when looping forever)."""
        if self.loop:
            return None
        last = len(self.acc_g)
        # Largest i whose motion row exists, + 1.
        i = math.ceil(last * self.stream_rate_hz / self.rate_hz)
        while i > 0 and self.motion_index(i - 1) >= last:
            i -= 1
        return i

    def motion(self, i: int, n: int) -> np.ndarray:
        """(n, 3) float32 g carried by stream indices ``i .. i + n - 1``."""
        rows = np.array([self.motion_index(j) for j in range(i, i + n)], dtype=np.int64)
        return self.acc_g[rows % len(self.acc_g)]

    @abc.abstractmethod
    def frame(self, i: int, max_payload: int, limit: int | None) -> tuple[int, bytes | None]:
        """Pack stream indices from ``i`` into one notification of at most ``max_payload`` bytes.

        ``limit`` caps how many indices may be used (end of motion, next fault disconnect).
        Returns (indices consumed, payload), payload ``None`` when nothing is sent for them (InfiniTime
        notifies only on change).
        """

    @abc.abstractmethod
    def sensor_time_s(self, i: int) -> float | None:
        """Sensor time of stream index ``i`` exactly as the profile's decoder reports ``t_sensor_s``."""

    @classmethod
    @abc.abstractmethod
    def for_replay(cls, config: Mapping[str, Any]) -> WatchDevice:
        """The watch as a recording's connection ``config`` (``DeviceProfile.config()``: rate, FACTOR...)
        describes it: it answers the profile's control protocol; the replay sends the recorded frames."""

    # ---------------------------------------------------------------------------------------- GATT
    @abc.abstractmethod
    def characteristics(self) -> list[CharSpec]:
        """The watch's GATT characteristics in its one service (``service_uuid``)."""

    @property
    @abc.abstractmethod
    def data_uuid(self) -> str:
        """The characteristic the samples are notified on."""

    def read(self, uuid: str) -> bytes:
        """Value of a read of ``uuid``."""
        return b""

    def write(self, uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """Handle a write; returns ``(char_uuid, payload)`` indications/notifications to send back."""
        return []

    def subscribed(self, uuid: str, enabled: bool) -> None:
        """The central (un)subscribed ``uuid`` (InfiniTime starts streaming on this; others ignore it)."""
        return None

    def connection_lost(self) -> None:
        """The link dropped: a real watch stops its measurement and forgets the client's settings."""
        self.streaming = False


class StreamControl(Protocol):
    """The part of a control-protocol model (Polar PMD, the MuJo stream) a device reads and writes."""

    streaming: bool


class ControlledDevice(WatchDevice):
    """A watch whose streaming state is its control-protocol model's (``self.model``): started and stopped by
    the commands the central writes, and cleared when the link drops, in one place."""

    model: StreamControl

    @property
    def streaming(self) -> bool:
        return self.model.streaming

    @streaming.setter
    def streaming(self, value: bool) -> None:
        self.model.streaming = value
