"""The MuJo open stream protocol, version 1: encoder and decoder (no I/O). Specification: docs/protocol.md.

A watch that runs any firmware can stream to MuJo Edge by implementing this small protocol; the
header-only C encoder ``c/mujo_stream.h`` produces byte-identical frames (tested).

Data frame (data characteristic, notify), all little-endian::

    off  size  field
    0    1     version << 4 | flags          version 1; flag bit 0 = RESTART (first frame after START)
    1    1     n                              samples in this frame (>= 1)
    2    2     seq                            frame sequence number, +1 per frame, wraps 65535 -> 0
    4    4     t0_us                          sensor time of the first sample, microseconds, wraps at 2^32
    8    2     rate_centihz                   sample rate in 0.01 Hz (5000 = 50 Hz)
    10   1     range_code                     full scale +-2^(code+1) g; counts per g = 16384 >> code
    11   6n    samples                        n x (int16 x, int16 y, int16 z)
    11+6n 2    crc                            CRC-16/CCITT-FALSE over bytes 0 .. 10+6n

A frame is sized to the link: n = floor((mtu - 3 - 13) / 6), at most 255.

The encoders refuse what their bytes cannot carry (a seq beyond u16, a rate of 0, a range code above 7,
samples that are not whole int16 counts, a str or a bool where a number belongs) with ProtocolError, the
error the decoder raises for the same fields; :class:`MujoStreamEncoder` refuses bad settings with
ConfigError. Either comes before anything is packed, so a refused call leaves an encoder's ``seq`` as it was.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mujo_edge import _checks
from mujo_edge.errors import ConfigError, MujoError, ProtocolError

MUJO_SERVICE_UUID = "c842ee00-5d13-4718-ac9c-b14bd3cd8bfc"
MUJO_INFO_UUID = "c842ee01-5d13-4718-ac9c-b14bd3cd8bfc"
MUJO_CONTROL_UUID = "c842ee02-5d13-4718-ac9c-b14bd3cd8bfc"
MUJO_DATA_UUID = "c842ee03-5d13-4718-ac9c-b14bd3cd8bfc"

PROTOCOL_VERSION = 1
FLAG_RESTART = 0x01
HEADER_BYTES = 11
CRC_BYTES = 2
OVERHEAD_BYTES = HEADER_BYTES + CRC_BYTES
SAMPLE_BYTES = 6
MAX_SAMPLES_PER_FRAME = 255
MAX_RANGE_CODE = 7
SEQ_MODULO = 1 << 16
T0_MODULO = 1 << 32
#: Sample rates a frame's u16 centi-Hz field can carry, Hz.
RATE_RANGE_HZ: tuple[float, float] = (0.01, 655.35)

OP_START = 0x01
OP_STOP = 0x02
RESPONSE_CODE = 0xF0
STATUS_NAMES = (
    "OK",
    "UNKNOWN_OP",
    "INVALID_LENGTH",
    "UNSUPPORTED_RATE",
    "UNSUPPORTED_RANGE",
    "INVALID_STATE",
)
STATUS_OK = 0
STATUS_INVALID_STATE = 5

_HEADER = struct.Struct("<BBHIHB")
_U16 = struct.Struct("<H")
_U16_MAX = 0xFFFF
_START = struct.Struct("<BHB")
_INT16 = np.dtype(np.int16)
_RATE_FIX = "give the sample rate in 0.01 Hz (5000 = 50 Hz)"
_RANGE_FIX = "give the full-scale code, +-2^(code+1) g (range_code_for_g(8) = 2)"


def _counts(counts: Any, what: str, max_n: int | None = None) -> np.ndarray:
    """``counts`` as an (n, 3) int16 array (n <= ``max_n`` when given); ProtocolError for anything else. An
    int16 array is taken as it is."""
    fix = "scale g by counts_per_g(range_code), round (np.rint) and clip to int16 first"
    return _checks.int_rows(counts, what, 16, _INT16, fix, ProtocolError, max_n)


def _rate(value: Any, what: str, error: type[MujoError] = ProtocolError) -> int:
    """A rate field: a whole number of 0.01 Hz, 1..65535."""
    return _checks.count(value, what, 1, _RATE_FIX, error, hi=_U16_MAX)


def _range_code(value: Any, what: str, error: type[MujoError] = ProtocolError) -> int:
    """A range code field, 0..MAX_RANGE_CODE."""
    return _checks.count(value, what, 0, _RANGE_FIX, error, hi=MAX_RANGE_CODE)


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0 (check("123456789") = 0x29B1).

    ``binascii.crc_hqx`` is exactly this CRC (CCITT, MSB-first) when started at 0xFFFF; it runs in C.
    """
    return binascii.crc_hqx(data, 0xFFFF)


def counts_per_g(range_code: int) -> int:
    """Counts per g of a range code: 16384 (+-2 g), 8192 (+-4 g), 4096 (+-8 g), 2048 (+-16 g), ..."""
    if not 0 <= range_code <= MAX_RANGE_CODE:
        raise ProtocolError(
            f"MuJo stream: range code {range_code}; expected 0..{MAX_RANGE_CODE} (+-2^(code+1) g)"
        )
    return 16384 >> range_code


def range_code_for_g(range_g: float) -> int:
    """The range code whose full scale is ``range_g`` (2, 4, 8, 16 ... g)."""
    if isinstance(range_g, bool) or not isinstance(range_g, int | float):
        raise ValueError(f"range {range_g!r} is not a number of g; give 2, 4, 8 or 16")
    for code in range(MAX_RANGE_CODE + 1):
        if 2 ** (code + 1) == range_g:
            return code
    raise ValueError(f"range {range_g} g is not a power of two between 2 and {2 ** (MAX_RANGE_CODE + 1)} g")


def max_samples_per_frame(max_payload_bytes: int) -> int:
    """Samples that fit one notification of ``max_payload_bytes`` (= ATT MTU - 3), at most 255."""
    return max(0, min(MAX_SAMPLES_PER_FRAME, (max_payload_bytes - OVERHEAD_BYTES) // SAMPLE_BYTES))


# ------------------------------------------------------------------------------------------ frames
@dataclass(frozen=True)
class MujoFrame:
    """A decoded data frame. ``counts`` is (n, 3) int16 as sent; ``acc_g`` scales it to g."""

    version: int
    flags: int
    seq: int
    t0_us: int
    rate_centihz: int
    range_code: int
    counts: np.ndarray

    @property
    def restart(self) -> bool:
        return bool(self.flags & FLAG_RESTART)

    @property
    def rate_hz(self) -> float:
        return self.rate_centihz / 100.0

    @property
    def acc_g(self) -> np.ndarray:
        """(n, 3) float32, g."""
        return (self.counts.astype(np.float32) / np.float32(counts_per_g(self.range_code))).astype(np.float32)


def _t0(t0_us: Any, what: str) -> int:
    """``t0_us`` (a whole number >= 0) wrapped to the u32 field, as the watch's microsecond clock wraps."""
    fix = "the sensor time of the first sample in microseconds (it wraps at 2^32)"
    return _checks.count(t0_us, what, 0, fix, ProtocolError) % T0_MODULO


def _pack(seq: int, t0_us: int, c: np.ndarray, rate_centihz: int, range_code: int, restart: bool) -> bytes:
    """The frame's bytes from checked fields and (n, 3) int16 counts."""
    header = _HEADER.pack(
        PROTOCOL_VERSION << 4 | (FLAG_RESTART if restart else 0), len(c), seq, t0_us, rate_centihz, range_code
    )
    body = header + c.astype("<i2").tobytes()
    return body + _U16.pack(crc16_ccitt_false(body))


def encode_frame(
    seq: int, t0_us: int, counts: np.ndarray, rate_centihz: int, range_code: int, restart: bool = False
) -> bytes:
    """One data frame from (n, 3) int16 counts (1 <= n <= 255); any array of whole numbers in int16 will do.

    ``seq`` is 0..65535 (keep it modulo 65536), ``t0_us`` any whole number >= 0 (it wraps at 2^32 like the
    sensor clock), ``rate_centihz`` 1..65535, ``range_code`` 0..7. ProtocolError for anything else.
    """
    what = "MuJo stream frame"
    seq = _checks.count(
        seq,
        f"{what}: seq",
        0,
        "the frame counter wraps 65535 -> 0 (seq % 65536)",
        ProtocolError,
        hi=SEQ_MODULO - 1,
    )
    t0 = _t0(t0_us, f"{what}: t0_us")
    rate = _rate(rate_centihz, f"{what}: rate_centihz")
    code = _range_code(range_code, f"{what}: range_code")
    flag = _checks.flag(restart, f"{what}: restart", ProtocolError)
    c = _counts(counts, f"{what}: counts", MAX_SAMPLES_PER_FRAME)
    if not len(c):
        raise ProtocolError(f"{what}: counts must hold at least one sample, got shape {c.shape}")
    return _pack(seq, t0, c, rate, code, flag)


def decode_frame(payload: bytes) -> MujoFrame:
    """Parse and verify one data frame. ProtocolError names what is wrong (length, version, CRC, fields)."""
    if type(payload) is not bytes:
        payload = _checks.payload_bytes(payload, "MuJo stream frame")
    if len(payload) < OVERHEAD_BYTES + SAMPLE_BYTES:
        raise ProtocolError(
            f"MuJo stream frame: expected at least {OVERHEAD_BYTES + SAMPLE_BYTES} bytes (header, 1 sample, CRC), "
            f"got {len(payload)} ({payload[:16].hex()})"
        )
    ver_flags, n, seq, t0_us, rate_centihz, range_code = _HEADER.unpack_from(payload)
    version = ver_flags >> 4
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"MuJo stream frame: protocol version {version}, this decoder reads version {PROTOCOL_VERSION}; "
            "update mujo-edge (newer watch firmware) or the watch (older firmware)"
        )
    expected = OVERHEAD_BYTES + SAMPLE_BYTES * n
    if n == 0 or len(payload) != expected:
        raise ProtocolError(
            f"MuJo stream frame: header says {n} samples, i.e. {expected} bytes, got {len(payload)}; "
            "truncated (frame larger than MTU - 3?) or corrupt"
        )
    crc_sent = struct.unpack_from("<H", payload, expected - CRC_BYTES)[0]
    crc = crc16_ccitt_false(payload[: expected - CRC_BYTES])
    if crc != crc_sent:
        raise ProtocolError(
            f"MuJo stream frame seq {seq}: CRC {crc_sent:04x} does not match {crc:04x}; corrupt"
        )
    if rate_centihz == 0:
        raise ProtocolError(f"MuJo stream frame seq {seq}: sample rate 0; expected > 0 centi-Hz")
    counts_per_g(range_code)  # validates
    counts = (
        np.frombuffer(payload, dtype="<i2", count=3 * n, offset=HEADER_BYTES).reshape(n, 3).astype(np.int16)
    )
    return MujoFrame(version, ver_flags & 0x0F, seq, t0_us, rate_centihz, range_code, counts)


@dataclass
class MujoStreamEncoder:
    """Device-side packer: accumulates samples and emits frames sized to the link (as the C encoder does).

    Args:
        rate_centihz: Sample rate in 0.01 Hz, 1..65535.
        range_code: Full-scale code 0..7 (counts per g = 16384 >> code).
        max_payload_bytes: ATT MTU - 3; at least 19 (one sample).
        seq: Sequence number of the next frame, 0..65535.
        restart: Flag the next frame RESTART.

    ConfigError for a setting the frames cannot carry, at construction and (should one be changed since) at
    every :meth:`encode`.
    """

    rate_centihz: int
    range_code: int
    max_payload_bytes: int
    seq: int = 0
    restart: bool = True

    def __post_init__(self) -> None:
        self._check_settings()

    def _check_settings(self) -> None:
        what = "MujoStreamEncoder"
        _rate(self.rate_centihz, f"{what}: rate_centihz", ConfigError)
        _range_code(self.range_code, f"{what}: range_code", ConfigError)
        _checks.count(
            self.seq, f"{what}: seq", 0, "the next frame's sequence number", ConfigError, hi=SEQ_MODULO - 1
        )
        _checks.flag(self.restart, f"{what}: restart", ConfigError)
        fit = OVERHEAD_BYTES + SAMPLE_BYTES
        fix = f"a notification smaller than {fit} bytes cannot hold one sample (ATT MTU >= {fit + 3}); pass ATT MTU - 3"
        _checks.count(self.max_payload_bytes, f"{what}: max_payload_bytes", fit, fix, ConfigError)

    def encode(self, t0_us: int, counts: np.ndarray) -> list[bytes]:
        """Frames for consecutive samples starting at sensor time ``t0_us``; advances ``seq``.

        ``counts`` is (n, 3) whole numbers in int16 (n = 0 gives no frame); ``t0_us`` a whole number >= 0,
        kept modulo 2^32 as the watch's clock wraps. ProtocolError for anything else, before ``seq`` moves.
        """
        self._check_settings()
        t0 = _t0(t0_us, "MujoStreamEncoder.encode: t0_us")
        c = _counts(counts, "MujoStreamEncoder.encode: counts")
        per = max_samples_per_frame(self.max_payload_bytes)
        frames = []
        for start in range(0, len(c), per):
            t_us = (t0 + (start * 1_000_000 * 100) // self.rate_centihz) % T0_MODULO
            frames.append(
                _pack(
                    self.seq, t_us, c[start : start + per], self.rate_centihz, self.range_code, self.restart
                )
            )
            self.restart = False
            self.seq = (self.seq + 1) % SEQ_MODULO
        return frames


# ------------------------------------------------------------------------------------------ info & control
@dataclass(frozen=True)
class MujoInfo:
    """The info characteristic: protocol version, channels, supported rates (centi-Hz) and range codes."""

    version: int
    channels: int
    rates_centihz: tuple[int, ...]
    range_codes: tuple[int, ...]


def encode_info(rates_centihz: Sequence[int], range_codes: Sequence[int], channels: int = 3) -> bytes:
    """``version u8, channels u8, R u8, R x rate u16, K u8, K x range code u8``.

    ProtocolError unless ``rates_centihz`` lists at most 255 rates of 1..65535, ``range_codes`` at most 255
    codes of 0..7 and ``channels`` is 1..255.
    """
    what = "MuJo info"
    rates = _checks.ids(rates_centihz, f"{what}: rates_centihz", "list rates in 0.01 Hz", ProtocolError)
    codes = _checks.ids(range_codes, f"{what}: range_codes", "list codes 0..7", ProtocolError)
    for i, r in enumerate(rates):
        _rate(r, f"{what}: rates_centihz[{i}]")
    for i, c in enumerate(codes):
        _range_code(c, f"{what}: range_codes[{i}]")
    if len(rates) > 255 or len(codes) > 255:
        raise ProtocolError(
            f"{what}: lists {len(rates)} rates and {len(codes)} range codes; its one-byte counts hold at "
            "most 255 each"
        )
    n_channels = _checks.count(
        channels, f"{what}: channels", 1, "3 (x, y, z) in protocol version 1", ProtocolError, hi=255
    )
    out = bytearray((PROTOCOL_VERSION, n_channels, len(rates)))
    for r in rates:
        out += _U16.pack(r)
    out += bytes((len(codes), *codes))
    return bytes(out)


def decode_info(data: bytes) -> MujoInfo:
    if type(data) is not bytes:
        data = _checks.payload_bytes(data, "MuJo info")
    if len(data) < 4:
        raise ProtocolError(f"MuJo info: expected at least 4 bytes, got {len(data)} ({data.hex()})")
    version, channels, r = data[0], data[1], data[2]
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"MuJo info: protocol version {version}; this toolkit speaks {PROTOCOL_VERSION}")
    end = 3 + 2 * r
    if len(data) < end + 1:
        raise ProtocolError(f"MuJo info: {r} rates need {end + 1} bytes, got {len(data)}")
    rates = struct.unpack_from(f"<{r}H", data, 3)
    k = data[end]
    if len(data) != end + 1 + k:
        raise ProtocolError(f"MuJo info: {k} range codes need {end + 1 + k} bytes, got {len(data)}")
    return MujoInfo(version, channels, tuple(rates), tuple(data[end + 1 : end + 1 + k]))


def encode_start(rate_centihz: int, range_code: int) -> bytes:
    """START, ``01 <rate u16> <range code u8>``; ProtocolError unless rate is 1..65535 and code 0..7."""
    rate = _rate(rate_centihz, "MuJo START: rate_centihz")
    code = _range_code(range_code, "MuJo START: range_code")
    return _START.pack(OP_START, rate, code)


def encode_stop() -> bytes:
    return bytes((OP_STOP,))


def encode_response(op: int, status: int = STATUS_OK) -> bytes:
    """``F0 <op> <status>``, the answer to a control write; ProtocolError unless both are 0..255."""
    return bytes(
        (
            RESPONSE_CODE,
            _checks.count(
                op,
                "MuJo control response: op",
                0,
                "the opcode of the command answered",
                ProtocolError,
                hi=255,
            ),
            _checks.count(
                status, "MuJo control response: status", 0, "STATUS_NAMES lists 0..5", ProtocolError, hi=255
            ),
        )
    )


def decode_response(data: bytes) -> tuple[int, int]:
    """``F0 <op> <status>`` -> (op, status)."""
    if type(data) is not bytes:
        data = _checks.payload_bytes(data, "MuJo control response")
    if len(data) != 3 or data[0] != RESPONSE_CODE:
        raise ProtocolError(
            f"MuJo control: expected a response 'F0 <op> <status>', got {data.hex() or 'nothing'}"
        )
    return data[1], data[2]


def status_name(status: int) -> str:
    return STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else f"UNKNOWN_STATUS_{status}"


@dataclass
class MujoDeviceModel:
    """Device side of the control protocol, without radio: what a virtual MuJo watch answers."""

    rates_centihz: tuple[int, ...] = (5000, 10000)
    range_codes: tuple[int, ...] = (1, 2, 3)
    streaming: bool = False
    rate_centihz: int = 5000
    range_code: int = 2
    history: list[bytes] = field(default_factory=list)

    def read_info(self) -> bytes:
        return encode_info(self.rates_centihz, self.range_codes)

    def handle_command(self, data: bytes) -> list[bytes]:
        """One control write -> the indication(s) to send back."""
        self.history.append(bytes(data))
        if not data:
            return [encode_response(0, 2)]
        op = data[0]
        if op == OP_START:
            if len(data) != 4:
                return [encode_response(op, 2)]
            _, rate, code = struct.unpack("<BHB", data)
            if rate not in self.rates_centihz:
                return [encode_response(op, 3)]
            if code not in self.range_codes:
                return [encode_response(op, 4)]
            self.rate_centihz, self.range_code, self.streaming = rate, code, True
            return [encode_response(op)]
        if op == OP_STOP:
            if len(data) != 1:
                return [encode_response(op, 2)]
            was, self.streaming = self.streaming, False
            return [encode_response(op, STATUS_OK if was else STATUS_INVALID_STATE)]
        return [encode_response(op, 1)]
