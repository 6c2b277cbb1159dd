"""MujoStreamProfile: the open MuJo stream protocol (docs/protocol.md), sequence-checked and CRC-checked."""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from mujo_edge.errors import DeviceError, ProtocolError
from mujo_edge.firmware_bridge.profiles.base import DataCallback, DeviceProfile, subscribe_control_and_data
from mujo_edge.firmware_bridge.profiles.mujo import stream
from mujo_edge.firmware_bridge.transport import Transport
from mujo_edge.samples import SampleBatch

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT_S = 5.0
#: Preferred rates (centi-Hz), best first: the runtime's 50 Hz grid needs no resampling at 50 Hz.
PREFERRED_RATES_CENTIHZ = (5000, 5200, 10000, 10400)


class MujoStreamProfile(DeviceProfile):
    """Open MuJo stream protocol, version 1.

    Args:
        device: Stream name.
        rate_hz: Requested rate (DeviceError if the watch does not list it); default: the first of 50, 52,
            100, 104 Hz the watch lists, else its highest.
        range_g: Requested full scale in g (2, 4, 8, 16; default 8 when offered, else the highest).

    Decoding: CRC and length are checked (ProtocolError otherwise). Sequence numbers (u16, wrapping)
    reveal dropped frames: the next batch gets ``gap_before=True`` and the missing samples are counted in
    ``dropped_samples`` (from the sensor time jump). A frame whose seq is not ahead of the last one
    (duplicate or out of order) raises ProtocolError, so no sample is ever yielded twice or out of order.
    ``t_sensor_s`` = unwrapped ``t0_us`` x 1e-6 + k / rate (sensor clock, seconds since its zero).
    """

    name = "mujo"
    service_uuid = stream.MUJO_SERVICE_UUID
    host_stamped = False

    def __init__(self, device: str = "", rate_hz: float | None = None, range_g: float | None = None) -> None:
        super().__init__(device=device, rate_hz=rate_hz or 50.0)
        self.requested_rate_hz = rate_hz
        self.requested_range_g = range_g
        self.info: stream.MujoInfo | None = None
        self._responses: asyncio.Queue[tuple[int, int]] | None = None
        self.reset()

    @property
    def data_uuids(self) -> tuple[str, ...]:
        return (stream.MUJO_DATA_UUID,)

    def reset(self) -> None:
        super().reset()
        self._last_seq: int | None = None
        self._last_t0_us: int | None = None  # unwrapped
        self._last_end_us: float | None = None
        self._wraps = 0

    # -------------------------------------------------------------------------------- start / stop
    def choose(self, info: stream.MujoInfo) -> tuple[int, int]:
        """(rate_centihz, range_code) to request from what the watch lists."""
        if not info.rates_centihz or not info.range_codes:
            raise DeviceError(f"MuJo watch lists no rates or ranges ({info}); its firmware is misconfigured")
        if self.requested_rate_hz:
            rate = round(self.requested_rate_hz * 100)
            if rate not in info.rates_centihz:
                raise DeviceError(
                    f"MuJo watch does not offer {self.requested_rate_hz} Hz; it offers "
                    f"{[r / 100 for r in info.rates_centihz]} Hz. Pick one of those."
                )
        else:
            rate = next(
                (r for r in PREFERRED_RATES_CENTIHZ if r in info.rates_centihz), max(info.rates_centihz)
            )
        codes = [stream.range_code_for_g(self.requested_range_g)] if self.requested_range_g else []
        code = next((c for c in [*codes, 2] if c in info.range_codes), max(info.range_codes))
        return rate, code

    async def _command(self, transport: Transport, command: bytes) -> int:
        assert self._responses is not None
        while not self._responses.empty():
            self._responses.get_nowait()
        await transport.write(stream.MUJO_CONTROL_UUID, command, response=True)
        try:
            op, status = await asyncio.wait_for(self._responses.get(), RESPONSE_TIMEOUT_S)
        except asyncio.TimeoutError as err:
            raise DeviceError(
                f"MuJo watch did not answer command {command.hex()} within {RESPONSE_TIMEOUT_S:g} s on the "
                "control characteristic; is its firmware running the MuJo stream protocol v1?"
            ) from err
        if op != command[0]:
            raise DeviceError(
                f"MuJo watch answered op {op:#04x} to command {command.hex()}; expected {command[0]:#04x}"
            )
        return status

    async def start(self, transport: Transport, on_data: DataCallback) -> None:
        """Subscribe control + data, read info, send START with the chosen rate and range."""
        self._responses = await subscribe_control_and_data(
            transport,
            on_data,
            stream.MUJO_CONTROL_UUID,
            stream.MUJO_DATA_UUID,
            stream.decode_response,
            "MuJo watch",
        )
        try:
            self.info = stream.decode_info(await transport.read(stream.MUJO_INFO_UUID))
        except ProtocolError as err:
            raise DeviceError(f"MuJo watch: the info characteristic does not decode: {err}") from err
        rate, code = self.choose(self.info)
        if transport.max_payload_bytes < stream.OVERHEAD_BYTES + stream.SAMPLE_BYTES:
            raise DeviceError(
                f"link MTU {transport.mtu} leaves {transport.max_payload_bytes} bytes per notification; a MuJo "
                f"frame needs >= {stream.OVERHEAD_BYTES + stream.SAMPLE_BYTES}. Request a larger MTU."
            )
        status = await self._command(transport, stream.encode_start(rate, code))
        if status != stream.STATUS_OK:
            raise DeviceError(
                f"MuJo watch refused START at {rate / 100} Hz, range code {code}: {stream.status_name(status)}; "
                f"it offers {[r / 100 for r in self.info.rates_centihz]} Hz and range codes {self.info.range_codes}"
            )
        self.rate_hz = rate / 100.0
        log.info("MuJo: streaming at %.2f Hz, +-%d g", self.rate_hz, 2 ** (code + 1))

    async def stop(self, transport: Transport) -> None:
        await transport.write(stream.MUJO_CONTROL_UUID, stream.encode_stop(), response=True)

    # -------------------------------------------------------------------------------- decoding
    def decode(self, char_uuid: str, t_recv_s: float, payload: bytes) -> list[SampleBatch]:
        uuid = char_uuid.lower()
        if uuid == stream.MUJO_CONTROL_UUID:
            stream.decode_response(payload)
            return []
        if uuid != stream.MUJO_DATA_UUID:
            return []
        frame = stream.decode_frame(payload)
        gap = False
        if frame.restart or self._last_seq is None:
            self._wraps = 0
            t0_us = frame.t0_us
        else:
            step = (frame.seq - self._last_seq) % stream.SEQ_MODULO
            if step == 0 or step >= stream.SEQ_MODULO // 2:
                raise ProtocolError(
                    f"MuJo stream frame seq {frame.seq} after {self._last_seq}: duplicate or out of order; skipped"
                )
            assert self._last_t0_us is not None
            t0_us = frame.t0_us + (self._wraps << 32)
            if t0_us < self._last_t0_us - (1 << 31):  # the u32 microsecond clock wrapped
                self._wraps += 1
                t0_us += 1 << 32
            if step > 1:
                gap = True
                self.gaps += 1
                expected_end = self._last_end_us if self._last_end_us is not None else t0_us
                missing = round((t0_us - expected_end) * frame.rate_centihz / 1e8)
                self.dropped_samples += max(int(missing), step - 1)
        n = len(frame.counts)
        if frame.rate_hz != self.rate_hz:
            self.rate_hz = frame.rate_hz
        period_us = 1e8 / frame.rate_centihz
        t_sensor_s = (t0_us + period_us * np.arange(n, dtype=np.float64)) * 1e-6
        self._last_seq = frame.seq
        self._last_t0_us = t0_us
        self._last_end_us = t0_us + period_us * n
        return [
            SampleBatch(
                device=self.device,
                acc_g=frame.acc_g,
                t_recv_s=t_recv_s,
                rate_hz=frame.rate_hz,
                t_sensor_s=t_sensor_s,
                seq=frame.seq,
                gap_before=gap,
            )
        ]
