"""MujoStreamProfile: the open MuJo stream protocol (docs/protocol.md), sequence-checked and CRC-checked."""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from mujo_edge.errors import ConfigError, DeviceError, ProtocolError
from mujo_edge.firmware_bridge.profiles.base import (
    JUMP_CONFIRM_FRAMES,
    MAX_FRAME_STEP_S,
    DataCallback,
    DeviceProfile,
    JumpConfirmation,
    subscribe_control_and_data,
)
from mujo_edge.firmware_bridge.profiles.mujo import stream
from mujo_edge.firmware_bridge.transport import Transport
from mujo_edge.samples import SampleBatch

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT_S = 5.0
#: Preferred rates (centi-Hz), best first: the runtime's 50 Hz grid needs no resampling at 50 Hz.
PREFERRED_RATES_CENTIHZ = (5000, 5200, 10000, 10400)
#: Most a frame's rate field may differ from the stream's rate, as a fraction of it. The stream's rate is the
#: one START negotiated, else the configured one (``rate_hz=``, a recording's config), else the first frame's
#: of the connection (or of a RESTART). The reference encoders repeat the START rate in every frame; the margin
#: leaves room for firmware that reports its accelerometer's measured output data rate, which an internal
#: oscillator may put a few per cent off nominal. A frame further off would time its samples wrongly (a rate
#: of 0.01 Hz spreads 5 samples over 400 s) and is refused.
RATE_TOLERANCE = 0.1


@dataclass(frozen=True)
class _Position:
    """Where an accepted (or held) frame leaves the stream: seq, unwrapped t0, clock wraps, samples, rate."""

    seq: int
    t0_us: int  # unwrapped: wraps x 2^32 added
    wraps: int
    n: int
    rate_centihz: int

    @classmethod
    def first(cls, frame: stream.MujoFrame) -> _Position:
        """The first frame of a timeline (after reset, a RESTART or a resync): t0 as sent, no wraps."""
        return cls(frame.seq, frame.t0_us, 0, len(frame.counts), frame.rate_centihz)

    def next(self, frame: stream.MujoFrame) -> _Position:
        """``frame`` after this one: its t0 unwrapped (+2^32 when it falls more than 2^31 us below ours)."""
        wraps = self.wraps
        t0_us = frame.t0_us + (wraps << 32)
        if t0_us < self.t0_us - (1 << 31):  # the u32 microsecond clock wrapped
            wraps += 1
            t0_us += 1 << 32
        return _Position(frame.seq, t0_us, wraps, len(frame.counts), frame.rate_centihz)

    @property
    def period_us(self) -> float:
        return 1e8 / self.rate_centihz

    @property
    def last_us(self) -> float:
        """Sensor time of the frame's last sample."""
        return self.t0_us + self.period_us * (self.n - 1)

    @property
    def end_us(self) -> float:
        """Where the next frame's first sample is due."""
        return self.t0_us + self.period_us * self.n

    def times_s(self) -> np.ndarray:
        return (self.t0_us + self.period_us * np.arange(self.n, dtype=np.float64)) * 1e-6


def _follows(prev: _Position, pos: _Position) -> tuple[str | None, int]:
    """(why ``pos`` cannot be the frame after ``prev``, or None; the samples lost between them).

    It can when its seq is 1..32767 ahead, its first sample comes after ``prev``'s last one (so no sample
    repeats or goes back in time), the time between them is at most MAX_FRAME_STEP_S, and the frames its seq
    says were lost could hold the samples its time says were lost (1 to 255 each, give or take
    RATE_TOLERANCE): a far-ahead seq with no time lost, or a time jump of hours with one frame lost, is not a
    loss but a corrupt or restarted stream. Lost samples: the time jump in samples, at least one a lost frame.
    """
    step = (pos.seq - prev.seq) % stream.SEQ_MODULO
    if pos.t0_us <= prev.last_us:
        return (
            f"its first sample (t0 {pos.t0_us % stream.T0_MODULO} us) is not after the last one of seq "
            f"{prev.seq} (duplicate or out of order)",
            0,
        )
    if step == 0 or step >= stream.SEQ_MODULO // 2:
        return f"seq {pos.seq} after {prev.seq} is not ahead of it (duplicate or out of order)", 0
    jump_us = pos.t0_us - prev.end_us
    if jump_us > MAX_FRAME_STEP_S * 1e6:
        return (
            f"its t0 is {jump_us * 1e-6:.4g} s after the end of seq {prev.seq}, more than the "
            f"{MAX_FRAME_STEP_S:g} s one frame may claim",
            0,
        )
    lost_frames = step - 1
    missing = max(round(jump_us / pos.period_us), 0)
    if lost_frames and not (
        lost_frames <= missing * (1 + RATE_TOLERANCE) + 1
        and missing <= lost_frames * stream.MAX_SAMPLES_PER_FRAME * (1 + RATE_TOLERANCE) + 1
    ):
        return (
            f"its seq says {lost_frames} frames were lost after seq {prev.seq} but its t0 says {missing} "
            "samples were (each lost frame holds 1 to 255)",
            0,
        )
    return None, max(missing, lost_frames) if lost_frames else 0


@dataclass(frozen=True)
class _Held:
    """A frame that does not continue the stream, held until it is confirmed or dropped."""

    position: _Position
    frame: stream.MujoFrame
    t_recv_s: float


class MujoStreamProfile(DeviceProfile):
    """Open MuJo stream protocol, version 1.

    Args:
        device: Stream name.
        rate_hz: Requested rate (DeviceError if the watch does not list it); default: the first of 50, 52,
            100, 104 Hz the watch lists, else its highest.
        range_g: Requested full scale in g (2, 4, 8, 16; default 8 when offered, else the highest).

    Decoding: CRC and length are checked (ProtocolError otherwise), and the frame's rate must be within
    RATE_TOLERANCE (10 %) of the stream's (negotiated, configured, else the connection's first frame's).
    Sequence numbers (u16, wrapping) reveal dropped frames: the next batch gets ``gap_before=True`` and the
    missing samples are counted in ``dropped_samples`` (from the sensor time jump, at least one per lost frame).
    ``t_sensor_s`` = unwrapped ``t0_us`` x 1e-6 + k / rate (sensor clock, seconds since its zero).

    A frame that does not continue the stream (see ``_follows``: its seq not ahead, its first sample not after
    the last one yielded, a time jump over MAX_FRAME_STEP_S, or a seq jump its time contradicts) raises
    ProtocolError, so within a timeline no sample is yielded twice or out of order. It is held, though: when
    JUMP_CONFIRM_FRAMES such frames in a row continue each other (the watch restarted its stream and the
    RESTART frame was lost, or its clock was reset), the decoder resynchronises on them as on a RESTART: they
    are returned together with the one that confirmed them, the first flagged ``gap_before=True``, and no
    samples are counted lost (``resyncs`` counts these). A frame that continues the old stream drops the held
    ones (they were corrupt: a far-ahead seq, a replayed frame). A new timeline (RESTART, resync, reconnect)
    starts over its own clock, which may be behind the previous one.
    """

    name = "mujo"
    service_uuid = stream.MUJO_SERVICE_UUID
    host_stamped = False

    def __init__(self, device: str = "", rate_hz: float | None = None, range_g: float | None = None) -> None:
        super().__init__(device=device, rate_hz=50.0 if rate_hz is None else rate_hz)
        lo, hi = stream.RATE_RANGE_HZ
        if rate_hz is not None and not lo <= self.rate_hz <= hi:
            raise ConfigError(
                f"MujoStreamProfile: rate_hz={rate_hz!r} is beyond what a MuJo frame carries ({lo:g} to {hi:g} "
                "Hz, in 0.01 Hz); request a rate the watch lists, or leave it out for its default"
            )
        if range_g is not None:
            try:
                stream.range_code_for_g(range_g)
            except ValueError as err:
                raise ConfigError(f"MujoStreamProfile: range_g={range_g!r}: {err}; or leave it out") from None
        self.requested_rate_hz = rate_hz
        self.requested_range_g = range_g
        self.info: stream.MujoInfo | None = None
        self._responses: asyncio.Queue[tuple[int, int]] | None = None
        #: the rate START negotiated or the caller configured, centi-Hz (None: take the first frame's)
        self._started_centihz: int | None = None if rate_hz is None else round(self.rate_hz * 100)
        #: new timelines accepted without a RESTART flag (see the class docstring), since construction
        self.resyncs = 0
        self._held: JumpConfirmation[_Held] = JumpConfirmation(JUMP_CONFIRM_FRAMES)
        self.reset()

    @property
    def data_uuids(self) -> tuple[str, ...]:
        return (stream.MUJO_DATA_UUID,)

    config_rate_range_hz = stream.RATE_RANGE_HZ

    def reset(self) -> None:
        super().reset()
        self._last: _Position | None = None
        self._stream_centihz: int | None = None  # the first frame's rate, when none was started or configured
        self._held.clear()

    @property
    def _last_seq(self) -> int | None:
        """Sequence number of the last frame yielded (None before the first of a connection)."""
        return None if self._last is None else self._last.seq

    def apply_config(self, config: dict[str, Any]) -> None:
        """The recorded rate is the stream's rate, the one every frame is checked against."""
        super().apply_config(config)
        if "rate_hz" in config:
            self._started_centihz = round(self.rate_hz * 100)

    # -------------------------------------------------------------------------------- start / stop
    def choose(self, info: stream.MujoInfo) -> tuple[int, int]:
        """(rate_centihz, range_code) to request from what the watch lists (a rate of 0 or a range code
        beyond 7, which no START can carry, is ignored)."""
        rates = [r for r in info.rates_centihz if r > 0]
        ranges = [c for c in info.range_codes if c <= stream.MAX_RANGE_CODE]
        if not rates or not ranges:
            raise DeviceError(
                f"MuJo watch lists no usable rates or ranges ({info}: rates must be > 0, range codes 0..7); "
                "its firmware is misconfigured"
            )
        if self.requested_rate_hz:
            rate = round(self.requested_rate_hz * 100)
            if rate not in rates:
                raise DeviceError(
                    f"MuJo watch does not offer {self.requested_rate_hz} Hz; it offers "
                    f"{[r / 100 for r in rates]} Hz. Pick one of those."
                )
        else:
            rate = next((r for r in PREFERRED_RATES_CENTIHZ if r in rates), max(rates))
        codes = [stream.range_code_for_g(self.requested_range_g)] if self.requested_range_g else []
        code = next((c for c in [*codes, 2] if c in ranges), max(ranges))
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
        self._started_centihz = rate
        log.info("MuJo: streaming at %.2f Hz, +-%d g", self.rate_hz, 2 ** (code + 1))

    async def stop(self, transport: Transport) -> None:
        await transport.write(stream.MUJO_CONTROL_UUID, stream.encode_stop(), response=True)

    # -------------------------------------------------------------------------------- decoding
    def decode(self, char_uuid: str, t_recv_s: float, payload: bytes) -> list[SampleBatch]:
        payload = self._arguments(char_uuid, t_recv_s, payload)
        uuid = char_uuid.lower()
        if uuid == stream.MUJO_CONTROL_UUID:
            stream.decode_response(payload)
            return []
        if uuid != stream.MUJO_DATA_UUID:
            return []
        frame = stream.decode_frame(payload)
        self._check_rate(frame)
        if frame.restart or self._last is None:
            dropped = self._held.clear()
            if dropped:
                log.warning("MuJo: dropped %d held frames at a new stream (seq %d)", len(dropped), frame.seq)
            return [self._accept(_Position.first(frame), frame, t_recv_s, 0)]
        position = self._last.next(frame)
        why, missing = _follows(self._last, position)
        if why is None:
            dropped = self._held.clear()
            if dropped:
                log.warning(
                    "MuJo: seq %d continues the stream; dropped %d held frames that did not (seq %s)",
                    frame.seq,
                    len(dropped),
                    [h.frame.seq for h in dropped],
                )
            return [self._accept(position, frame, t_recv_s, missing)]
        last = self._held.last
        follows_held = False
        if last is not None:
            after_held = last.position.next(frame)
            follows_held = _follows(last.position, after_held)[0] is None
            position = after_held if follows_held else _Position.first(frame)
        else:
            position = _Position.first(frame)
        run = self._held.offer(_Held(position, frame, t_recv_s), follows_held)
        if not run:
            raise ProtocolError(
                f"MuJo stream frame seq {frame.seq}: {why}; skipped for now: if the next "
                f"{JUMP_CONFIRM_FRAMES - len(self._held)} frames continue it (a restarted stream whose RESTART "
                "frame was lost), the decoder resynchronises on them and its samples come with theirs, flagged "
                "as a gap"
            )
        self.resyncs += 1
        log.warning(
            "MuJo: %d frames from seq %d on continue each other but not the stream (%s); resynchronised on them",
            len(run),
            run[0].frame.seq,
            why,
        )
        batches = [self._accept(run[0].position, run[0].frame, run[0].t_recv_s, 0, new_timeline=True)]
        for prev, held in itertools.pairwise(run):
            missing = _follows(prev.position, held.position)[1]
            batches.append(self._accept(held.position, held.frame, held.t_recv_s, missing))
        return batches

    def _check_rate(self, frame: stream.MujoFrame) -> None:
        """ProtocolError when the frame's rate is more than RATE_TOLERANCE off the stream's rate."""
        # without a started rate, a RESTART (or the connection's first frame) sets the stream's rate
        reference = self._started_centihz or (None if frame.restart else self._stream_centihz)
        if reference is None or abs(frame.rate_centihz - reference) <= RATE_TOLERANCE * reference:
            return
        source = "was started at" if self._started_centihz else "began at"
        raise ProtocolError(
            f"MuJo stream frame seq {frame.seq}: rate {frame.rate_hz:g} Hz, but the stream {source} "
            f"{reference / 100:g} Hz (a frame may differ by {RATE_TOLERANCE:.0%}); its samples cannot be timed, "
            "skipped. If the watch changes its rate, it must send START's rate (docs/protocol.md) or be restarted"
        )

    def _accept(
        self,
        position: _Position,
        frame: stream.MujoFrame,
        t_recv_s: float,
        missing: int,
        new_timeline: bool = False,
    ) -> SampleBatch:
        """Make ``frame`` (at ``position``) the stream's last frame and its batch. A gap before it: ``missing``
        samples lost (counted), or a resync's ``new_timeline`` (nothing counted lost)."""
        gap = missing > 0 or new_timeline
        if gap:
            self.gaps += 1
            self.dropped_samples += missing
        if self._started_centihz is None and (frame.restart or self._last is None):
            self._stream_centihz = frame.rate_centihz
        if frame.rate_hz != self.rate_hz:
            self.rate_hz = frame.rate_hz
        self._last = position
        return SampleBatch(
            device=self.device,
            acc_g=frame.acc_g,
            t_recv_s=t_recv_s,
            rate_hz=frame.rate_hz,
            t_sensor_s=position.times_s(),
            seq=frame.seq,
            gap_before=gap,
        )
