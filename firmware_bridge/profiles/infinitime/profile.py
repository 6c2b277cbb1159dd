"""InfiniTimeProfile: PineTime raw motion values, ~10 Hz, host-stamped."""

from __future__ import annotations

import logging

from mujo_edge.firmware_bridge.profiles.base import DataCallback, DeviceProfile
from mujo_edge.firmware_bridge.profiles.infinitime import motion
from mujo_edge.firmware_bridge.transport import Transport
from mujo_edge.samples import SampleBatch

log = logging.getLogger(__name__)


class InfiniTimeProfile(DeviceProfile):
    """InfiniTime Motion Service: one (x, y, z) sample per notification, no timestamp.

    Honest limits: the watch polls its accelerometer ~10 Hz and notifies only when the value changes, so
    the stream is low-rate, irregular and host-stamped (``t_sensor_s=None``); drops are invisible. The
    runtime resamples it onto the 50 Hz grid and marks the result as upsampled from a host-stamped
    ~10 Hz source: accuracy is lower than with a sensor-stamped 50 Hz stream.
    """

    name = "infinitime"
    service_uuid = motion.MOTION_SERVICE_UUID
    host_stamped = True

    def __init__(self, device: str = "", rate_hz: float = motion.NOMINAL_RATE_HZ) -> None:
        super().__init__(device=device, rate_hz=rate_hz)

    @property
    def data_uuids(self) -> tuple[str, ...]:
        return (motion.MOTION_VALUES_UUID,)

    async def start(self, transport: Transport, on_data: DataCallback) -> None:
        """Subscribe to raw motion values (InfiniTime has no start command: subscribing starts it)."""
        log.warning(
            "%s: InfiniTime streams ~%.0f Hz, only on change, without sensor timestamps; samples are stamped "
            "with host arrival time and the runtime resamples them to 50 Hz (expect lower accuracy)",
            self.device or "InfiniTime",
            self.rate_hz,
        )

        def on_motion(t_recv_s: float, payload: bytes) -> None:
            on_data(motion.MOTION_VALUES_UUID, t_recv_s, payload)

        await transport.subscribe(motion.MOTION_VALUES_UUID, on_motion)

    async def stop(self, transport: Transport) -> None:
        """Nothing to send: the watch stops notifying when the link closes."""

    def decode(self, char_uuid: str, t_recv_s: float, payload: bytes) -> list[SampleBatch]:
        payload = self._arguments(char_uuid, t_recv_s, payload)
        if char_uuid.lower() != motion.MOTION_VALUES_UUID:
            return []
        return [
            SampleBatch(
                device=self.device,
                acc_g=motion.decode_motion(payload),
                t_recv_s=t_recv_s,
                rate_hz=self.rate_hz,
                t_sensor_s=None,
            )
        ]
