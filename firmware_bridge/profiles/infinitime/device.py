"""A PineTime on InfiniTime, the device model: what a virtual (or replayed) one answers and notifies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from mujo_edge.firmware_bridge.profiles.base import DeviceProfile, config_number
from mujo_edge.firmware_bridge.profiles.device import STILL_G, CharSpec, WatchDevice
from mujo_edge.firmware_bridge.profiles.infinitime import motion


class InfiniTimeDevice(WatchDevice):
    """A PineTime on InfiniTime: polls its accelerometer ~10 Hz, notifies raw motion only when it changed.

    No start command: streaming starts when the central subscribes to the motion characteristic. No
    timestamps (``sensor_time_s`` is ``None``). Stream index ``i`` is poll ``i``; it reads motion row
    ``floor(i * rate_hz / poll_hz)`` with ``poll_hz = min(rate_hz, 10 Hz)``.
    """

    profile = "infinitime"
    service_uuid = motion.MOTION_SERVICE_UUID
    default_name = "InfiniTime"

    def __init__(self, acc_g: np.ndarray, rate_hz: float, loop: bool = True) -> None:
        super().__init__(acc_g, rate_hz, loop)
        self.poll_hz = min(self.rate_hz, motion.NOMINAL_RATE_HZ)
        self.steps = 0
        self._last_value: bytes | None = None
        self._current = motion.encode_motion(self.acc_g[0])

    @classmethod
    def for_replay(cls, config: Mapping[str, Any]) -> InfiniTimeDevice:
        """DataError (from ``config_number``) when the recorded rate cannot be one."""
        lo, hi = DeviceProfile.config_rate_range_hz
        rate = config_number(config, "rate_hz", "infinitime", "a sample rate in Hz", lo, hi)
        return cls(STILL_G, rate if rate is not None else motion.NOMINAL_RATE_HZ)

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
