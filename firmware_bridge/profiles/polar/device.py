"""A Polar PMD watch's device model: what a virtual (or replayed) Verity Sense answers and sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mujo_edge.errors import DataError
from mujo_edge.firmware_bridge.profiles.base import config_number
from mujo_edge.firmware_bridge.profiles.device import STILL_G, CharSpec, ControlledDevice
from mujo_edge.firmware_bridge.profiles.polar import pmd

#: PMD time (ns since 2000-01-01) of a virtual Polar sensor's first sample: 2026-01-01T00:00:00Z.
POLAR_SENSOR_START_NS = (1_767_225_600 - pmd.PMD_EPOCH_UNIX_S) * 1_000_000_000


class PolarDevice(ControlledDevice):
    """A Polar Verity Sense-like PMD sensor: ACC only, delta-compressed frames in mG (or raw int16).

    Control point: read -> features; ``01 02`` -> the offered settings; ``02 02 <settings>`` -> start
    (response carries FACTOR); ``03 02`` -> stop. Frame timestamps: PMD ns of each frame's last sample on
    the sensor clock, starting at :data:`POLAR_SENSOR_START_NS`.
    """

    profile = "polar"
    service_uuid = pmd.PMD_SERVICE_UUID
    default_name = "Polar Sense"
    rate_range_hz = pmd.RATE_RANGE_HZ
    model: pmd.PmdDeviceModel

    def __init__(
        self,
        acc_g: np.ndarray,
        rate_hz: float,
        loop: bool = True,
        compressed: bool = True,
        factor: float = 1.0,
        model: pmd.PmdDeviceModel | None = None,
    ) -> None:
        """``model``: the control point's behaviour (default: offers ``rate_hz``, 16 bit, +-8 g, ``factor``)."""
        super().__init__(acc_g, rate_hz, loop)
        if abs(rate_hz - round(rate_hz)) > 1e-9:
            raise DataError(f"PMD sample rates are whole Hz (u16); got {rate_hz}. Resample the motion first.")
        self.compressed = compressed
        self.model = model or pmd.PmdDeviceModel(
            offered={
                pmd.SETTING_SAMPLE_RATE: [round(rate_hz)],
                pmd.SETTING_RESOLUTION: [16],
                pmd.SETTING_RANGE: [8],
            },
            factor=factor,
        )

    @classmethod
    def for_replay(cls, config: Mapping[str, Any], model: pmd.PmdDeviceModel | None = None) -> PolarDevice:
        """DataError (from ``config_number``) when the recorded rate or FACTOR cannot be one."""
        rate = config_number(config, "rate_hz", "polar", "a sample rate in Hz", *pmd.RATE_RANGE_HZ)
        factor = config_number(config, "factor", "polar", "a PMD FACTOR", *pmd.FACTOR_RANGE)
        return cls(
            STILL_G,
            round(rate if rate is not None else 52),
            factor=factor if factor is not None else 1.0,
            model=model,
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
        return [(pmd.PMD_CONTROL_UUID, r) for r in self.model.handle_command(bytes(data))]

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
