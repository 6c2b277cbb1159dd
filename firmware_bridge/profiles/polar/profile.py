"""PolarPmdProfile: accelerometer streaming from Polar Verity Sense, H10, OH1 over PMD."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from mujo_edge import _checks
from mujo_edge.errors import DeviceError, ProtocolError
from mujo_edge.firmware_bridge.profiles.base import (
    JUMP_CONFIRM_FRAMES,
    MAX_FRAME_STEP_S,
    DataCallback,
    DeviceProfile,
    JumpConfirmation,
    bad_config,
    config_number,
    subscribe_control_and_data,
)
from mujo_edge.firmware_bridge.profiles.polar import pmd
from mujo_edge.firmware_bridge.transport import Transport
from mujo_edge.samples import SampleBatch

log = logging.getLogger(__name__)

#: Seconds to wait for a control-point response.
RESPONSE_TIMEOUT_S = 5.0
#: A frame interval longer than this many nominal intervals per sample means frames went missing.
GAP_FACTOR = 1.5
#: Preferred ACC rates, best first: Verity Sense streams 52 Hz without SDK mode; H10 offers 200 Hz.
PREFERRED_RATES_HZ = (52, 200)
#: A frame's time step longer than MAX_FRAME_STEP_S (a flipped timestamp bit, a clock reset) is not believed:
#: the frame is timed at the nominal rate and no samples are counted lost, unless JUMP_CONFIRM_FRAMES frames in
#: a row agree on the new time (a real clock change). Both are shared with the other decoders (profiles.base).
#: A sample may lie this many times beyond the sensor's declared range (its RANGE setting, +-g) before the
#: frame is refused: room for a saturated axis after the sensor's own offset and gain correction; a value
#: further out is no reading (a corrupt delta block decodes to thousands of g).
RANGE_TOLERANCE = 1.25


def _parse_control_response(payload: bytes) -> pmd.PmdResponse | None:
    """A control-point indication as a command response; None for other indications (unsolicited stops)."""
    return pmd.parse_response(payload) if payload[:1] == bytes((pmd.RESPONSE_CODE,)) else None


#: Values a recorded PMD setting may hold, by setting id (others: any finite number >= 0).
_SETTING_LIMITS = {pmd.SETTING_SAMPLE_RATE: pmd.RATE_RANGE_HZ, pmd.SETTING_RANGE: (1.0, 1000.0)}


def _config_settings(value: Any) -> dict[int, float]:
    """A recorded ``settings`` object ``{"<setting id>": value}`` as ``{id: value}``; DataError if malformed."""
    if not isinstance(value, Mapping):
        raise bad_config("polar", "settings", value, 'an object {"<setting id>": <value>} as config() writes')
    out: dict[int, float] = {}
    for key, v in value.items():
        sid = int(key) if isinstance(key, str) and key.isascii() and key.isdigit() else None
        if sid is None or sid not in pmd.SETTING_NAMES:
            raise bad_config(
                "polar",
                "settings",
                value,
                f"keyed by PMD setting ids {sorted(pmd.SETTING_NAMES)} (found {key!r})",
            )
        lo, hi = _SETTING_LIMITS.get(sid, (0.0, math.inf))
        name = f"settings.{key}"
        checked = config_number({name: v}, name, "polar", f"a PMD {pmd.SETTING_NAMES[sid]}", lo, hi)
        assert checked is not None
        out[sid] = int(checked) if checked.is_integer() else checked
    return out


class PolarPmdProfile(DeviceProfile):
    """Polar PMD accelerometer stream.

    Args:
        device: Stream name for the batches.
        rate_hz: Requested ACC rate; used when the device offers it, else the first of 52, 200 Hz offered,
            else the highest offered. Updated to the rate actually started.
        range_g: Requested range in g (when offered; else the highest offered).

    Sample times: each frame carries the sensor time of its last sample; the others are spread evenly
    back to the previous frame's timestamp (first frame after (re)connect: at the nominal rate). A frame
    interval longer than 1.5 nominal sample intervals per sample is a gap: ``gap_before=True``, the missing
    samples are counted in ``dropped_samples`` and the frame is timed at the nominal rate instead.
    ``t_sensor_s`` is Unix seconds (PMD time + 946684800 s) of the device's clock.

    Frames that cannot be readings are refused (ProtocolError: the session counts and skips them, the samples
    before are kept): more samples than MAX_FRAME_STEP_S of the nominal rate, more than GAP_FACTOR x the
    samples the time since the previous frame holds at the nominal rate (samples closer than 1/1.5 of the
    nominal interval, the mirror of the gap rule), or a value beyond RANGE_TOLERANCE x the declared range
    (the RANGE setting, when known). A compressed frame's size bounds nothing: a width-0 delta block claims
    255 samples in 2 bytes.
    """

    name = "polar"
    service_uuid = pmd.PMD_SERVICE_UUID
    host_stamped = False

    def __init__(self, device: str = "", rate_hz: float | None = None, range_g: int | None = None) -> None:
        super().__init__(device=device, rate_hz=PREFERRED_RATES_HZ[0] if rate_hz is None else rate_hz)
        if range_g is not None:
            _checks.number(
                range_g, "PolarPmdProfile: range_g", fix="give the range in g (2, 4, 8, 16) or leave it out"
            )
        self.requested_rate_hz = rate_hz
        self.requested_range_g = range_g
        self.factor = 1.0
        self.settings: dict[int, float] = {}
        self._previous_ns: int | None = None
        #: timestamps of the frames since an unbelieved clock jump
        self._jumps: JumpConfirmation[int] = JumpConfirmation(JUMP_CONFIRM_FRAMES)
        #: frames whose timestamp was not believed (too far from the previous frame's), since construction
        self.time_jumps = 0
        self._responses: asyncio.Queue[pmd.PmdResponse] | None = None

    @property
    def data_uuids(self) -> tuple[str, ...]:
        return (pmd.PMD_DATA_UUID,)

    def reset(self) -> None:
        super().reset()
        self._previous_ns = None
        self._jumps.clear()

    def config(self) -> dict[str, Any]:
        return {
            "rate_hz": self.rate_hz,
            "factor": self.factor,
            "settings": {str(k): v for k, v in self.settings.items()},
        }

    config_rate_range_hz = pmd.RATE_RANGE_HZ

    def apply_config(self, config: dict[str, Any]) -> None:
        """Restore rate, FACTOR and settings; DataError (nothing changed) when one cannot be what config() wrote."""
        rate = self._config_rate(config)
        lo, hi = pmd.FACTOR_RANGE
        factor = config_number(config, "factor", self.name, "a PMD FACTOR", lo, hi)
        settings = _config_settings(config["settings"]) if "settings" in config else None
        if rate is not None:
            self.rate_hz = rate
        if factor is not None:
            self.factor = factor
        self.settings = settings or self.settings

    # -------------------------------------------------------------------------------- choosing settings
    def choose_settings(self, offered: dict[int, list[float]]) -> dict[int, float]:
        """One value per offered setting id (FACTOR excluded): the requested one when offered, else a default."""
        chosen: dict[int, float] = {}
        lo, hi = pmd.RATE_RANGE_HZ
        for sid, values in offered.items():
            if sid == pmd.SETTING_SAMPLE_RATE:
                bad = [v for v in values if not lo <= v <= hi]
                if bad:
                    log.warning("Polar: ignoring offered ACC rates %s outside [%g, %g] Hz", bad, lo, hi)
                values = [v for v in values if lo <= v <= hi]
            if sid == pmd.SETTING_FACTOR or not values:
                continue
            if sid == pmd.SETTING_SAMPLE_RATE:
                wanted = [self.requested_rate_hz, *PREFERRED_RATES_HZ]
            elif sid == pmd.SETTING_RANGE:
                wanted = [self.requested_range_g, 8]
            elif sid == pmd.SETTING_CHANNELS:
                wanted = [3]
            else:
                wanted = []
            chosen[sid] = next((w for w in wanted if w is not None and w in values), max(values))
        if pmd.SETTING_SAMPLE_RATE not in chosen:
            raise DeviceError(
                f"Polar device offered no usable ACC sample rate in its settings ({offered}); expected at "
                f"least one in [{lo:g}, {hi:g}] Hz. "
                "Update the watch firmware or report the device model."
            )
        return chosen

    # -------------------------------------------------------------------------------- start / stop
    async def _command(self, transport: Transport, command: bytes) -> pmd.PmdResponse:
        assert self._responses is not None
        while not self._responses.empty():  # a stale response from an earlier command
            self._responses.get_nowait()
        await transport.write(pmd.PMD_CONTROL_UUID, command, response=True)
        params = b""
        while True:
            try:
                response = await asyncio.wait_for(self._responses.get(), RESPONSE_TIMEOUT_S)
            except asyncio.TimeoutError as err:
                raise DeviceError(
                    f"Polar device did not answer command {command.hex()} within {RESPONSE_TIMEOUT_S:g} s; "
                    "expected an indication on the PMD control point. Reconnect, or restart the sensor."
                ) from err
            params += response.parameters
            if not response.more:
                break
        return pmd.PmdResponse(response.op, response.measurement_type, response.status, False, params)

    async def start(self, transport: Transport, on_data: DataCallback) -> None:
        """Subscribe to control point and data, read features, GET settings, START with the chosen settings."""
        self._responses = await subscribe_control_and_data(
            transport,
            on_data,
            pmd.PMD_CONTROL_UUID,
            pmd.PMD_DATA_UUID,
            _parse_control_response,
            "Polar device",
        )
        try:
            features = pmd.parse_features(await transport.read(pmd.PMD_CONTROL_UUID))
        except ProtocolError as err:
            raise DeviceError(
                f"Polar device: the PMD feature read did not decode ({err}); is this a Polar sensor?"
            ) from err
        if pmd.MEAS_ACC not in features:
            raise DeviceError(
                f"Polar device offers PMD measurement types {sorted(features)} but not ACC ({pmd.MEAS_ACC}); "
                "this model cannot stream its accelerometer."
            )
        got = await self._command(transport, bytes((pmd.OP_GET_SETTINGS, pmd.MEAS_ACC)))
        self._check(got, "get ACC settings")
        try:
            offered = pmd.parse_settings(got.parameters)
        except ProtocolError as err:
            raise DeviceError(f"Polar device sent ACC settings that do not decode: {err}") from err
        self.settings = self.choose_settings(offered)
        start = bytes((pmd.OP_START, pmd.MEAS_ACC)) + pmd.encode_settings(self.settings)
        started = await self._command(transport, start)
        if started.status == pmd.STATUS_ALREADY_IN_STATE:
            log.info("Polar: ACC was already streaming (an earlier session); stopping and starting it again")
            await self._command(transport, bytes((pmd.OP_STOP, pmd.MEAS_ACC)))
            started = await self._command(transport, start)
        self._check(started, f"start ACC with {self.settings}")
        factor = (
            pmd.parse_settings(started.parameters).get(pmd.SETTING_FACTOR) if started.parameters else None
        )
        try:
            self.factor = pmd.check_factor(factor[0], "start response") if factor else 1.0
        except ProtocolError as err:
            raise DeviceError(
                f"Polar device: {err}; without a usable FACTOR its samples cannot be scaled, so the stream is "
                "not used. Power-cycle the sensor and connect again."
            ) from err
        self.rate_hz = float(self.settings[pmd.SETTING_SAMPLE_RATE])
        log.info(
            "Polar: ACC started at %.0f Hz, settings %s, factor %g", self.rate_hz, self.settings, self.factor
        )

    @staticmethod
    def _check(response: pmd.PmdResponse, what: str) -> None:
        if not response.ok:
            raise DeviceError(
                f"Polar device refused to {what}: {response.status_name} (status {response.status}). "
                + (
                    "Take the sensor off its charger."
                    if response.status == 13
                    else "Check the requested rate/range against `mujo-edge` docs/devices.md, or power-cycle the sensor."
                )
            )

    async def stop(self, transport: Transport) -> None:
        """Send ``03 02`` (stop ACC); best effort, the link may be gone."""
        await transport.write(pmd.PMD_CONTROL_UUID, bytes((pmd.OP_STOP, pmd.MEAS_ACC)), response=True)

    # -------------------------------------------------------------------------------- decoding
    def decode(self, char_uuid: str, t_recv_s: float, payload: bytes) -> list[SampleBatch]:
        payload = self._arguments(char_uuid, t_recv_s, payload)
        uuid = char_uuid.lower()
        if uuid == pmd.PMD_CONTROL_UUID:
            return self._decode_control(payload)
        if uuid != pmd.PMD_DATA_UUID:
            return []
        frame = pmd.decode_acc_frame(payload)
        n = len(frame.raw)
        interval_ns = 1e9 / self.rate_hz
        if n > MAX_FRAME_STEP_S * self.rate_hz:
            raise ProtocolError(
                f"Polar ACC frame of {n} samples, more than {MAX_FRAME_STEP_S:g} s at {self.rate_hz:g} Hz (the "
                "most one frame may claim); a corrupt frame (compressed blocks that claim samples), skipped"
            )
        acc_g = frame.to_g(self.factor)
        self._check_range(acc_g)
        gap = False
        previous = self._previous_ns
        stamp = frame.timestamp_ns
        if previous is not None and 0 < stamp - previous <= MAX_FRAME_STEP_S * 1e9:
            if n > GAP_FACTOR * (stamp - previous) / interval_ns:
                raise ProtocolError(
                    f"Polar ACC frame of {n} samples {(stamp - previous) * 1e-6:.4g} ms after the previous one: at "
                    f"{self.rate_hz:g} Hz that time holds {(stamp - previous) / interval_ns:.1f}, and more than "
                    f"{GAP_FACTOR:g}x that is no sensor's output; a corrupt frame, skipped"
                )
            self._jumps.clear()
        elif previous is not None:
            # Not believed: time the frame on from the previous one, claim nothing lost; a clock that really
            # jumped is accepted once JUMP_CONFIRM_FRAMES frames agree with each other on it.
            last = self._jumps.last
            agree = last is None or 0 < stamp - last <= MAX_FRAME_STEP_S * 1e9
            if not self._jumps.offer(stamp, agree):
                self.time_jumps += 1
                log.warning(
                    "Polar: frame time stepped %.3g s from the previous frame; timing it at the nominal rate",
                    (stamp - previous) * 1e-9,
                )
                stamp = previous + round(n * interval_ns)
                previous = None
            else:  # the device's clock did change: a new timeline, flagged as a gap with no loss claimed
                previous, gap = None, True
                self.gaps += 1
        else:
            self._jumps.clear()
        if previous is not None:
            per_sample = (stamp - previous) / n
            if per_sample > GAP_FACTOR * interval_ns:
                gap = True
                missing = round((stamp - previous) / interval_ns) - n
                self.dropped_samples += max(missing, 0)
                self.gaps += 1
                previous = None
        times_ns = pmd.sample_times_ns(stamp, n, self.rate_hz, previous)
        self._previous_ns = stamp
        return [
            SampleBatch(
                device=self.device,
                acc_g=acc_g,
                t_recv_s=t_recv_s,
                rate_hz=self.rate_hz,
                t_sensor_s=times_ns * 1e-9 + pmd.PMD_EPOCH_UNIX_S,
                gap_before=gap,
            )
        ]

    def _check_range(self, acc_g: np.ndarray) -> None:
        """ProtocolError when a sample lies beyond RANGE_TOLERANCE x the declared range (RANGE setting, g)."""
        range_g = self.settings.get(pmd.SETTING_RANGE)
        if not range_g or range_g <= 0 or not acc_g.size:
            return  # no range declared (a bare decoder, an old recording): the frame format bounds the values
        peak = float(np.abs(acc_g).max())
        if peak > RANGE_TOLERANCE * range_g:
            raise ProtocolError(
                f"Polar ACC frame with a sample of {peak:.4g} g, beyond the sensor's declared range of "
                f"+-{range_g:g} g ({RANGE_TOLERANCE:g}x allowed); a corrupt frame, skipped"
            )

    def _decode_control(self, payload: bytes) -> list[SampleBatch]:
        if not payload:
            raise ProtocolError("Polar control point: empty indication; expected a response or a stop notice")
        if payload[0] == pmd.RESPONSE_CODE:
            response = pmd.parse_response(payload)  # start() consumes responses; here only the FACTOR matters
            if response.ok and response.op == pmd.OP_START and response.parameters:
                factor = pmd.parse_settings(response.parameters).get(pmd.SETTING_FACTOR)
                if factor:
                    try:
                        self.factor = pmd.check_factor(factor[0], "F0 02 indication")
                    except ProtocolError as err:  # counted and skipped by the session
                        raise ProtocolError(
                            f"{err}; the indication is skipped and FACTOR stays {self.factor:g}. "
                            "Power-cycle the sensor if this repeats."
                        ) from err
            return []
        if payload[0] == pmd.OP_GET_SETTINGS:
            # Unsolicited: the device stopped the listed measurement types on its own.
            stopped = sorted(set(payload[1:]))
            if pmd.MEAS_ACC in stopped or not stopped:
                self._event("device_stopped", f"the Polar device stopped measurement types {stopped}")
            return []
        raise ProtocolError(f"Polar control point: unknown indication {payload[:16].hex()}")
