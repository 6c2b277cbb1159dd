"""What each virtual watch model is, without radio: GATT layout, control protocol, frames, sensor clock.

One class per profile. The byte formats are NOT re-implemented here: frames, control responses and feature
reads come from the encoders beside each decoder (``profiles.polar.pmd``, ``profiles.infinitime.motion``,
``profiles.mujo.stream``), so the virtual watches speak exactly what the decoders read.

A device turns its motion array into a *stream*: stream index ``i`` is one sample on the device's sensor
clock (for InfiniTime: one ~10 Hz poll of the sensor). :meth:`WatchDevice.frame` packs the samples from
index ``i`` into one notification that fits ``max_payload`` bytes (ATT MTU - 3), as a real watch does.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass

import numpy as np

from mujo_edge.errors import DataError, ShapeError
from mujo_edge.firmware_bridge.profiles.infinitime import motion
from mujo_edge.firmware_bridge.profiles.mujo import stream
from mujo_edge.firmware_bridge.profiles.polar import pmd

#: PMD time (ns since 2000-01-01) of a virtual Polar sensor's first sample: 2026-01-01T00:00:00Z.
POLAR_SENSOR_START_NS = (1_767_225_600 - pmd.PMD_EPOCH_UNIX_S) * 1_000_000_000
#: MuJo watches stamp microseconds since boot; a virtual one booted an hour before it streams.
MUJO_SENSOR_START_US = 3_600_000_000


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

    def __init__(self, acc_g: np.ndarray, rate_hz: float, loop: bool = True) -> None:
        acc = np.asarray(acc_g, dtype=np.float32)
        if acc.ndim != 2 or acc.shape[1] != 3 or len(acc) == 0:
            raise ShapeError(
                f"a virtual watch needs acc_g of shape (n, 3) with n >= 1, in g; got {acc.shape}"
            )
        if not np.isfinite(acc).all():
            raise DataError("a virtual watch's acc_g contains NaN or inf; clean the motion first")
        if not rate_hz > 0:
            raise DataError(f"a virtual watch needs rate_hz > 0, got {rate_hz}")
        self.acc_g = acc
        self.rate_hz = float(rate_hz)
        self.loop = loop
        self.streaming = False

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


# -------------------------------------------------------------------------------------------- Polar
class PolarDevice(WatchDevice):
    """A Polar Verity Sense-like PMD sensor: ACC only, delta-compressed frames in mG (or raw int16).

    Control point: read -> features; ``01 02`` -> the offered settings; ``02 02 <settings>`` -> start
    (response carries FACTOR); ``03 02`` -> stop. Frame timestamps: PMD ns of each frame's last sample on
    the sensor clock, starting at :data:`POLAR_SENSOR_START_NS`.
    """

    profile = "polar"
    service_uuid = pmd.PMD_SERVICE_UUID

    def __init__(
        self,
        acc_g: np.ndarray,
        rate_hz: float,
        loop: bool = True,
        compressed: bool = True,
        factor: float = 1.0,
    ) -> None:
        super().__init__(acc_g, rate_hz, loop)
        if abs(rate_hz - round(rate_hz)) > 1e-9:
            raise DataError(f"PMD sample rates are whole Hz (u16); got {rate_hz}. Resample the motion first.")
        self.compressed = compressed
        self.model = pmd.PmdDeviceModel(
            offered={
                pmd.SETTING_SAMPLE_RATE: [round(rate_hz)],
                pmd.SETTING_RESOLUTION: [16],
                pmd.SETTING_RANGE: [8],
            },
            factor=factor,
        )

    @property
    def data_uuid(self) -> str:
        return pmd.PMD_DATA_UUID

    def characteristics(self) -> list[CharSpec]:
        return [
            CharSpec(pmd.PMD_CONTROL_UUID, read=True, write=True, indicate=True),
            CharSpec(pmd.PMD_DATA_UUID, notify=True),
        ]

    def read(self, uuid: str) -> bytes:
        return self.model.read_features() if uuid == pmd.PMD_CONTROL_UUID else b""

    def write(self, uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        if uuid != pmd.PMD_CONTROL_UUID:
            return []
        responses = self.model.handle_command(bytes(data))
        self.streaming = self.model.streaming
        return [(pmd.PMD_CONTROL_UUID, r) for r in responses]

    def connection_lost(self) -> None:
        super().connection_lost()
        self.model.streaming = False

    def _timestamp_ns(self, i: int) -> int:
        return POLAR_SENSOR_START_NS + round(i * 1e9 / self.rate_hz)

    def sensor_time_s(self, i: int) -> float:
        return self._timestamp_ns(i) * 1e-9 + pmd.PMD_EPOCH_UNIX_S

    def _mg(self, i: int, n: int) -> np.ndarray:
        scale = 1000.0 / self.model.factor
        return np.clip(np.rint(self.motion(i, n).astype(np.float64) * scale), -32768, 32767).astype(np.int64)

    def frame(self, i: int, max_payload: int, limit: int | None) -> tuple[int, bytes | None]:
        cap = 255 * 4 if limit is None else max(1, limit)
        if not self.compressed:
            n = max(1, min(cap, (max_payload - pmd.HEADER_BYTES) // 6))
            return n, pmd.encode_acc_frame_raw(self._mg(i, n), self._timestamp_ns(i + n - 1), frame_type=1)
        # Compressed: as many samples as fit (delta widths depend on the motion), found by bisection.
        mg = self._mg(i, min(cap, max_payload * 8 // 3 + 1))

        def encoded(n: int) -> bytes:
            return pmd.encode_acc_frame_delta(mg[:n], self._timestamp_ns(i + n - 1), frame_type=1)

        lo, hi = 1, len(mg)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if len(encoded(mid)) <= max_payload:
                lo = mid
            else:
                hi = mid - 1
        return lo, encoded(lo)


# -------------------------------------------------------------------------------------------- InfiniTime
class InfiniTimeDevice(WatchDevice):
    """A PineTime on InfiniTime: polls its accelerometer ~10 Hz, notifies raw motion only when it changed.

    No start command: streaming starts when the central subscribes to the motion characteristic. No
    timestamps (``sensor_time_s`` is ``None``). Stream index ``i`` is poll ``i``; it reads motion row
    ``floor(i * rate_hz / poll_hz)`` with ``poll_hz = min(rate_hz, 10 Hz)``.
    """

    profile = "infinitime"
    service_uuid = motion.MOTION_SERVICE_UUID

    def __init__(self, acc_g: np.ndarray, rate_hz: float, loop: bool = True) -> None:
        super().__init__(acc_g, rate_hz, loop)
        self.poll_hz = min(self.rate_hz, motion.NOMINAL_RATE_HZ)
        self.steps = 0
        self._last_value: bytes | None = None
        self._current = motion.encode_motion(self.acc_g[0])

    @property
    def stream_rate_hz(self) -> float:
        return self.poll_hz

    def motion_index(self, i: int) -> int:
        return math.floor(i * self.rate_hz / self.poll_hz + 1e-9)

    @property
    def data_uuid(self) -> str:
        return motion.MOTION_VALUES_UUID

    def characteristics(self) -> list[CharSpec]:
        return [
            CharSpec(motion.STEP_COUNT_UUID, read=True, notify=True),
            CharSpec(motion.MOTION_VALUES_UUID, read=True, notify=True),
        ]

    def read(self, uuid: str) -> bytes:
        if uuid == motion.STEP_COUNT_UUID:
            return motion.encode_step_count(self.steps)
        return self._current if uuid == motion.MOTION_VALUES_UUID else b""

    def subscribed(self, uuid: str, enabled: bool) -> None:
        if uuid == motion.MOTION_VALUES_UUID:
            self.streaming = enabled
            self._last_value = None

    def sensor_time_s(self, i: int) -> None:
        return None

    def frame(self, i: int, max_payload: int, limit: int | None) -> tuple[int, bytes | None]:
        value = motion.encode_motion(self.motion(i, 1)[0])
        self._current = value
        if value == self._last_value:
            return 1, None
        self._last_value = value
        return 1, value


# -------------------------------------------------------------------------------------------- MuJo
class MujoDevice(WatchDevice):
    """A watch running the open MuJo stream protocol v1 (docs/protocol.md).

    The info read lists the one rate the motion has (``rate_hz``) and range codes 1-3 (+-4, 8, 16 g). START
    selects rate and range; frames carry ``seq`` from 0 with RESTART on the first, ``t0_us`` on a
    microsecond clock since boot (:data:`MUJO_SENSOR_START_US` at the first sample).
    """

    profile = "mujo"
    service_uuid = stream.MUJO_SERVICE_UUID

    def __init__(self, acc_g: np.ndarray, rate_hz: float, loop: bool = True) -> None:
        super().__init__(acc_g, rate_hz, loop)
        self.rate_centihz = round(self.rate_hz * 100)
        if abs(self.rate_centihz - self.rate_hz * 100) > 1e-6:
            raise DataError(f"MuJo stream rates are in 0.01 Hz; got {rate_hz}. Resample the motion first.")
        self.model = stream.MujoDeviceModel(
            rates_centihz=(self.rate_centihz,), rate_centihz=self.rate_centihz
        )
        self.encoder: stream.MujoStreamEncoder | None = None

    @property
    def data_uuid(self) -> str:
        return stream.MUJO_DATA_UUID

    def characteristics(self) -> list[CharSpec]:
        return [
            CharSpec(stream.MUJO_INFO_UUID, read=True),
            CharSpec(stream.MUJO_CONTROL_UUID, write=True, indicate=True),
            CharSpec(stream.MUJO_DATA_UUID, notify=True),
        ]

    def read(self, uuid: str) -> bytes:
        return self.model.read_info() if uuid == stream.MUJO_INFO_UUID else b""

    def write(self, uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        if uuid != stream.MUJO_CONTROL_UUID:
            return []
        was = self.model.streaming
        responses = self.model.handle_command(bytes(data))
        self.streaming = self.model.streaming
        if self.streaming and not was:
            self.encoder = None  # a new stream: seq from 0, RESTART flag on its first frame
        return [(stream.MUJO_CONTROL_UUID, r) for r in responses]

    def connection_lost(self) -> None:
        super().connection_lost()
        self.model.streaming = False

    def _t_us(self, i: int) -> int:
        return MUJO_SENSOR_START_US + round(i * 1e8 / self.rate_centihz)

    def sensor_time_s(self, i: int) -> float:
        return self._t_us(i) * 1e-6

    def frame(self, i: int, max_payload: int, limit: int | None) -> tuple[int, bytes | None]:
        if self.encoder is None or self.encoder.max_payload_bytes != max_payload:
            seq, restart = (0, True) if self.encoder is None else (self.encoder.seq, self.encoder.restart)
            self.encoder = stream.MujoStreamEncoder(
                self.rate_centihz, self.model.range_code, max_payload, seq=seq, restart=restart
            )
        n = stream.max_samples_per_frame(max_payload)
        if limit is not None:
            n = max(1, min(n, limit))
        scale = stream.counts_per_g(self.model.range_code)
        counts = np.clip(np.rint(self.motion(i, n).astype(np.float64) * scale), -32768, 32767).astype(
            np.int16
        )
        (payload,) = self.encoder.encode(self._t_us(i), counts)
        return n, payload


DEVICES: dict[str, type[WatchDevice]] = {
    "polar": PolarDevice,
    "infinitime": InfiniTimeDevice,
    "mujo": MujoDevice,
}


def make_device(
    profile: str, acc_g: np.ndarray, rate_hz: float, loop: bool = True, **options: object
) -> WatchDevice:
    """The device model for a profile name (``"polar"``, ``"infinitime"``, ``"mujo"``)."""
    cls = DEVICES.get(profile.strip().lower())
    if cls is None:
        raise DataError(f"no virtual watch for profile {profile!r}; expected one of {', '.join(DEVICES)}")
    return cls(acc_g, rate_hz, loop, **options)  # type: ignore[arg-type]
