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
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mujo_edge import _checks
from mujo_edge.errors import ProtocolError

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


def encode_frame(
    seq: int, t0_us: int, counts: np.ndarray, rate_centihz: int, range_code: int, restart: bool = False
) -> bytes:
    """One data frame from (n, 3) int16 counts (1 <= n <= 255)."""
    c = np.asarray(counts)
    if c.ndim != 2 or c.shape[1] != 3 or not 1 <= len(c) <= MAX_SAMPLES_PER_FRAME:
        raise ValueError(f"a frame carries (n, 3) samples with 1 <= n <= 255, got shape {c.shape}")
    if c.min() < -32768 or c.max() > 32767:
        raise ValueError("samples must be int16 counts")
    header = _HEADER.pack(
        PROTOCOL_VERSION << 4 | (FLAG_RESTART if restart else 0),
        len(c),
        seq % SEQ_MODULO,
        t0_us % T0_MODULO,
        rate_centihz,
        range_code,
    )
    body = header + c.astype("<i2").tobytes()
    return body + struct.pack("<H", crc16_ccitt_false(body))


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
        rate_centihz: Sample rate in 0.01 Hz.
        range_code: Full-scale code (counts per g = 16384 >> code).
        max_payload_bytes: ATT MTU - 3.
    """

    rate_centihz: int
    range_code: int
    max_payload_bytes: int
    seq: int = 0
    restart: bool = True

    def __post_init__(self) -> None:
        if max_samples_per_frame(self.max_payload_bytes) < 1:
            raise ValueError(
                f"a notification of {self.max_payload_bytes} bytes cannot hold one sample; need >= "
                f"{OVERHEAD_BYTES + SAMPLE_BYTES} (ATT MTU >= {OVERHEAD_BYTES + SAMPLE_BYTES + 3})"
            )

    def encode(self, t0_us: int, counts: np.ndarray) -> list[bytes]:
        """Frames for consecutive samples starting at sensor time ``t0_us``; advances ``seq``."""
        c = np.asarray(counts).reshape(-1, 3)
        per = max_samples_per_frame(self.max_payload_bytes)
        frames = []
        for start in range(0, len(c), per):
            t_us = t0_us + (start * 1_000_000 * 100) // self.rate_centihz
            frames.append(
                encode_frame(
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
    """``version u8, channels u8, R u8, R x rate u16, K u8, K x range code u8``."""
    out = bytearray((PROTOCOL_VERSION, channels, len(rates_centihz)))
    for r in rates_centihz:
        out += struct.pack("<H", r)
    out += bytes((len(range_codes), *range_codes))
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
    return struct.pack("<BHB", OP_START, rate_centihz, range_code)


def encode_stop() -> bytes:
    return bytes((OP_STOP,))


def encode_response(op: int, status: int = STATUS_OK) -> bytes:
    return bytes((RESPONSE_CODE, op, status))


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
