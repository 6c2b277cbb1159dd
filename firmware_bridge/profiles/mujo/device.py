"""A watch on the open MuJo stream protocol, the device model: what a virtual (or replayed) one answers
and sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mujo_edge.errors import DataError
from mujo_edge.firmware_bridge.profiles.base import config_number
from mujo_edge.firmware_bridge.profiles.device import STILL_G, CharSpec, ControlledDevice
from mujo_edge.firmware_bridge.profiles.mujo import stream

#: MuJo watches stamp microseconds since boot; a virtual one booted an hour before it streams.
MUJO_SENSOR_START_US = 3_600_000_000


class MujoDevice(ControlledDevice):
    """A watch running the open MuJo stream protocol v1 (docs/protocol.md).

    The info read lists the one rate the motion has (``rate_hz``) and range codes 1-3 (+-4, 8, 16 g). START
    selects rate and range; frames carry ``seq`` from 0 with RESTART on the first, ``t0_us`` on a
    microsecond clock since boot (:data:`MUJO_SENSOR_START_US` at the first sample).
    """

    profile = "mujo"
    service_uuid = stream.MUJO_SERVICE_UUID
    default_name = "MuJo Watch"
    rate_range_hz = stream.RATE_RANGE_HZ
    model: stream.MujoDeviceModel

    def __init__(
        self,
        acc_g: np.ndarray,
        rate_hz: float,
        loop: bool = True,
        range_codes: tuple[int, ...] = (1, 2, 3),
    ) -> None:
        super().__init__(acc_g, rate_hz, loop)
        if (
            isinstance(range_codes, str)
            or not isinstance(range_codes, tuple | list)
            or not range_codes
            or not all(isinstance(c, int) and 0 <= c <= stream.MAX_RANGE_CODE for c in range_codes)
        ):
            raise DataError(
                f"a MuJo watch's range_codes must be a tuple of range codes 0..{stream.MAX_RANGE_CODE} "
                f"(+-2^(code+1) g), got {range_codes!r}"
            )
        range_codes = tuple(range_codes)
        self.rate_centihz = round(self.rate_hz * 100)
        if abs(self.rate_centihz - self.rate_hz * 100) > 1e-6:
            raise DataError(f"MuJo stream rates are in 0.01 Hz; got {rate_hz}. Resample the motion first.")
        self.model = stream.MujoDeviceModel(
            rates_centihz=(self.rate_centihz,), range_codes=range_codes, rate_centihz=self.rate_centihz
        )
        self.encoder: stream.MujoStreamEncoder | None = None

    @classmethod
    def for_replay(cls, config: Mapping[str, Any]) -> MujoDevice:
        """Accepts the recorded rate at any range (+-2 .. 16 g): a replay sends what was recorded.

        DataError (from ``config_number``) when the recorded rate is no u16 centi-Hz rate.
        """
        rate = config_number(config, "rate_hz", "mujo", "a sample rate in Hz", *stream.RATE_RANGE_HZ)
        return cls(STILL_G, round((rate if rate is not None else 50) * 100) / 100, range_codes=(0, 1, 2, 3))

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
        if self.streaming and not was:
            self.encoder = None  # a new stream: seq from 0, RESTART flag on its first frame
        return [(stream.MUJO_CONTROL_UUID, r) for r in responses]

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
