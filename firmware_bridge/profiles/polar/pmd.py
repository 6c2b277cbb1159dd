"""Polar Measurement Data (PMD) byte formats: decoding AND encoding, no I/O.

Layouts follow polar-ble-sdk (Android ``.../gatt/client/pmd/``: ``PmdDataFrame.kt``, ``PmdSetting.kt``,
``PmdControlPointResponse.kt``, ``model/AccData.kt``, ``model/PmdTimeStampUtils.kt``); see docs/devices.md.

Data frame (data characteristic ``FB005C82``, notify)::

    byte 0      measurement type (& 0x3F; ACC = 2)
    bytes 1-8   u64 LE timestamp of the LAST sample, ns since 2000-01-01T00:00:00 (add 946684800 s for Unix)
    byte 9      frame type: bit 7 = delta-compressed, bits 0-6 = type
    bytes 10-   raw: x,y,z little-endian signed ints (type 0/1/2 = 8/16/24 bit), mG
                compressed: reference sample (3 x int16 LE) then blocks
                [delta_bits u8][count u8][ceil(delta_bits*count*3/8) bytes], bits LSB-first,
                each delta sign-extended and accumulated per channel.
                Compressed type 0 is in g x FACTOR; compressed type 1 in mG x FACTOR.

Control point (``FB005C81``, read/write/indicate): read -> ``0F <feature bitmask>``; commands
``01 <type>`` get settings, ``02 <type> <settings>`` start, ``03 <type>`` stop; responses
``F0 <op> <type> <status> <more> [parameters]``; settings ``<id> <count> <value LE>...``.

The encoders (:func:`encode_acc_frame_raw`, :func:`encode_acc_frame_delta`, :func:`encode_response`,
:class:`PmdDeviceModel`) exist for virtual watches and round-trip tests. They refuse what their bytes cannot
carry (a byte beyond 0..255, a negative timestamp or one beyond u64, an unknown setting id or frame type,
samples that are not whole numbers of the frame's width, a str or a bool where a number belongs) with
ProtocolError, as the decoders do for the same fields, instead of truncating or wrapping it into other bytes.
A FACTOR may be any float32, NaN included, so that a virtual watch can send a broken one.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mujo_edge import _checks
from mujo_edge.errors import ProtocolError

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Seconds from the Unix epoch to PMD's epoch 2000-01-01T00:00:00Z.
PMD_EPOCH_UNIX_S = 946_684_800

MEAS_ACC = 2
MEAS_SDK_MODE = 9
FEATURE_READ_RESPONSE = 0x0F
#: Bit of feature byte 1 (the first bitmask byte) that says ACC streaming is available.
FEATURE_ACC_BIT = 2

OP_GET_SETTINGS = 0x01
OP_START = 0x02
OP_STOP = 0x03
RESPONSE_CODE = 0xF0

SETTING_SAMPLE_RATE = 0
SETTING_RESOLUTION = 1
SETTING_RANGE = 2
SETTING_RANGE_MILLIUNIT = 3
SETTING_CHANNELS = 4
SETTING_FACTOR = 5
SETTING_NAMES = {
    0: "sample rate",
    1: "resolution",
    2: "range",
    3: "range (milli-unit)",
    4: "channels",
    5: "factor",
}
_SETTING_SIZE = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}

#: PmdControlPointResponse.PmdControlPointResponseCode, by status byte.
STATUS_NAMES = (
    "SUCCESS",
    "ERROR_INVALID_OP_CODE",
    "ERROR_INVALID_MEASUREMENT_TYPE",
    "ERROR_NOT_SUPPORTED",
    "ERROR_INVALID_LENGTH",
    "ERROR_INVALID_PARAMETER",
    "ERROR_ALREADY_IN_STATE",
    "ERROR_INVALID_RESOLUTION",
    "ERROR_INVALID_SAMPLE_RATE",
    "ERROR_INVALID_RANGE",
    "ERROR_INVALID_MTU",
    "ERROR_INVALID_NUMBER_OF_CHANNELS",
    "ERROR_INVALID_STATE",
    "ERROR_DEVICE_IN_CHARGER",
    "ERROR_DISK_FULL",
)
STATUS_SUCCESS = 0
STATUS_ALREADY_IN_STATE = 6

HEADER_BYTES = 10
_REF_BYTES = 6  # compressed reference sample: 3 x int16
#: Range of a compressed frame's samples: the 16-bit resolution of its reference sample (deltas accumulate
#: to samples of the same sensor, so they stay in it).
_INT16_MIN, _INT16_MAX = -(1 << 15), (1 << 15) - 1


def status_name(status: int) -> str:
    """Name of a control-point status byte (``"UNKNOWN_STATUS_<n>"`` beyond the SDK's table)."""
    return STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else f"UNKNOWN_STATUS_{status}"


# ------------------------------------------------------------------------------------------ settings
#: The FACTOR a device may send: finite and in this range (Polar sensors send 1.0 or 1/4096-like steps).
FACTOR_RANGE: tuple[float, float] = (1e-7, 1e3)
#: ACC sample rates a device may offer, Hz (Polar sensors offer 25..416 Hz).
RATE_RANGE_HZ: tuple[float, float] = (1.0, 10_000.0)


def check_factor(value: float, where: str) -> float:
    """``value`` as a FACTOR, or ProtocolError if it is NaN, infinite, 0, negative or out of FACTOR_RANGE.

    The message says what is wrong only; the caller adds what happens next (skipped, start refused...).
    """
    lo, hi = FACTOR_RANGE
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ProtocolError(
            f"PMD {where}: FACTOR {value!r} is not a scale a sensor can mean (expected a finite number in "
            f"[{lo:g}, {hi:g}])"
        )
    return float(value)


def parse_settings(data: bytes) -> dict[int, list[float]]:
    """``<id> <count> <value>...`` -> {id: [values]}; FACTOR (id 5) as float32, others as unsigned ints."""
    if type(data) is not bytes:
        data = _checks.payload_bytes(data, "PMD settings")
    out: dict[int, list[float]] = {}
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise ProtocolError(
                f"PMD settings: setting header cut at byte {offset} of {len(data)} ({data.hex()})"
            )
        sid, count = data[offset], data[offset + 1]
        offset += 2
        size = _SETTING_SIZE.get(sid)
        if size is None:
            raise ProtocolError(f"PMD settings: unknown setting id {sid} at byte {offset - 2} ({data.hex()})")
        if offset + size * count > len(data):
            raise ProtocolError(
                f"PMD settings: {SETTING_NAMES[sid]} needs {size * count} bytes, {len(data) - offset} left"
            )
        values: list[float] = []
        for _ in range(count):
            raw = data[offset : offset + size]
            offset += size
            if sid == SETTING_FACTOR:
                values.append(float(struct.unpack("<f", raw)[0]))
            else:
                values.append(int.from_bytes(raw, "little"))
        out.setdefault(sid, []).extend(values)
    return out


_U64_MAX = (1 << 64) - 1
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SETTING_IDS = ", ".join(f"{k} ({v})" for k, v in SETTING_NAMES.items())


def encode_settings(settings: Mapping[int, float | Sequence[float]]) -> bytes:
    """{id: value or [values]} -> settings bytes (one ``<id> <count>`` group per id, ids in order).

    Ids are those of SETTING_NAMES; a value is a whole number that fits its setting's unsigned field, or for
    FACTOR (id 5) any number a float32 holds; at most 255 values per id. ProtocolError for anything else.
    """
    given: dict[Any, Any] = _checks.mapping(
        settings, "PMD settings", "pass {id: value or [values]}", ProtocolError
    )
    groups: dict[int, list[Any]] = {}
    for sid, values in given.items():
        if not (_checks.is_whole(sid) and sid in _SETTING_SIZE):
            raise ProtocolError(
                f"PMD settings: setting id {type(sid).__name__} {sid!r:.40} is not one of {_SETTING_IDS}"
            )
        listed = list(values) if isinstance(values, list | tuple) else [values]
        name = f"PMD settings: {SETTING_NAMES[sid]} (id {sid})"
        if len(listed) > 255:
            raise ProtocolError(f"{name}: {len(listed)} values; its one-byte count holds at most 255")
        top = (1 << 8 * _SETTING_SIZE[sid]) - 1
        for v in listed:
            if not _checks.is_number(v):
                raise ProtocolError(f"{name} must be a number, got {type(v).__name__} {v!r:.40}")
            if sid == SETTING_FACTOR:
                if abs(v) > _FLOAT32_MAX and abs(v) != math.inf:  # (a float32 holds NaN and infinities)
                    raise ProtocolError(f"{name} {v!r} is beyond a float32 (+-{_FLOAT32_MAX:.4g}), its field")
            elif not (0 <= v <= top and (_checks.is_whole(v) or float(v).is_integer())):  # (NaN fails)
                raise ProtocolError(
                    f"{name} must be a whole number from 0 to {top} (its unsigned field), got {v!r}"
                )
        groups[int(sid)] = listed
    out = bytearray()
    for sid in sorted(groups):
        out += bytes((sid, len(groups[sid])))
        for v in groups[sid]:
            if sid == SETTING_FACTOR:
                out += struct.pack("<f", float(v))
            else:
                out += int(v).to_bytes(_SETTING_SIZE[sid], "little")
    return bytes(out)


# ------------------------------------------------------------------------------------------ control point
@dataclass(frozen=True)
class PmdResponse:
    """A control-point response ``F0 <op> <type> <status> <more> [parameters]``."""

    op: int
    measurement_type: int
    status: int
    more: bool
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.status == STATUS_SUCCESS

    @property
    def status_name(self) -> str:
        return status_name(self.status)


def parse_response(data: bytes) -> PmdResponse:
    """Parse a control-point response; ProtocolError unless it starts with ``F0`` and has 4+ bytes."""
    if type(data) is not bytes:
        data = _checks.payload_bytes(data, "PMD control-point response")
    if len(data) < 4 or data[0] != RESPONSE_CODE:
        raise ProtocolError(
            f"PMD control point: expected a response 'F0 <op> <type> <status> ...', got {data[:16].hex() or 'nothing'}"
        )
    status = data[3]
    more = status == STATUS_SUCCESS and len(data) > 4 and data[4] != 0
    params = data[5:] if status == STATUS_SUCCESS and len(data) > 5 else b""
    return PmdResponse(
        op=data[1], measurement_type=data[2], status=status, more=more, parameters=bytes(params)
    )


def encode_response(
    op: int, measurement_type: int, status: int = STATUS_SUCCESS, parameters: bytes = b""
) -> bytes:
    """A control-point response as a device sends it (``more`` = 0).

    ``op``, ``measurement_type`` and ``status`` are bytes (0..255), ``parameters`` bytes sent with SUCCESS
    only (a response with an error status ends at the status byte). ProtocolError, or DataError for
    ``parameters`` that are not bytes, otherwise.
    """
    what = "PMD control-point response"
    head = (
        RESPONSE_CODE,
        _checks.count(op, f"{what}: op", 0, "the opcode of the command answered", ProtocolError, hi=255),
        _checks.count(
            measurement_type, f"{what}: measurement_type", 0, f"ACC is {MEAS_ACC}", ProtocolError, hi=255
        ),
        _checks.count(status, f"{what}: status", 0, "STATUS_NAMES lists 0..14", ProtocolError, hi=255),
    )
    params = _checks.payload_bytes(parameters, f"{what}: parameters")
    if status != STATUS_SUCCESS:
        if params:
            raise ProtocolError(
                f"{what}: status {status} ({status_name(status)}) carries no parameters, got "
                f"{len(params)} bytes ({params[:16].hex()}): send them with status 0 (SUCCESS) only"
            )
        return bytes(head)
    return bytes((*head, 0)) + params


def parse_features(data: bytes) -> set[int]:
    """``0F <bitmask...>`` -> set of measurement types the device can stream."""
    if type(data) is not bytes:
        data = _checks.payload_bytes(data, "PMD features")
    if len(data) < 2 or data[0] != FEATURE_READ_RESPONSE:
        raise ProtocolError(f"PMD features: expected '0F <bitmask>', got {data[:16].hex() or 'nothing'}")
    return {8 * i + bit for i, byte in enumerate(data[1:]) for bit in range(8) if byte >> bit & 1}


def encode_features(measurement_types: Sequence[int]) -> bytes:
    """The control point's read value for a device offering ``measurement_types`` (each 0..15: the two bytes
    of its bitmask); ProtocolError for anything else."""
    types = _checks.ids(
        measurement_types,
        "PMD features: measurement_types",
        f"list types such as {MEAS_ACC} (ACC)",
        ProtocolError,
    )
    mask = bytearray(2)
    for i, mt in enumerate(types):
        _checks.count(
            mt,
            f"PMD features: measurement_types[{i}]",
            0,
            "the feature bitmask has two bytes",
            ProtocolError,
            hi=15,
        )
        mask[mt // 8] |= 1 << (mt % 8)
    return bytes((FEATURE_READ_RESPONSE, *mask))


# ------------------------------------------------------------------------------------------ data frames
@dataclass(frozen=True)
class PmdAccFrame:
    """One decoded ACC data frame before scaling and timing.

    Attributes:
        raw: (n, 3) int64 samples as sent (mG for raw/compressed type 1, g/FACTOR units for compressed type 0).
        timestamp_ns: u64 time of the last sample, ns since 2000-01-01.
        frame_type: low 7 bits of byte 9.
        compressed: bit 7 of byte 9.
    """

    raw: np.ndarray
    timestamp_ns: int
    frame_type: int
    compressed: bool

    def to_g(self, factor: float = 1.0) -> np.ndarray:
        """(n, 3) float32 in g: compressed type 0 is g x FACTOR, compressed type 1 mG x FACTOR, raw types
        0/1/2 mG as they are. FACTOR applies to compressed frames only, as in polar-ble-sdk's ``AccData.kt``
        (``dataFromRawType0/1/2`` use the integers as sent; ``dataFromCompressedType0/1`` multiply)."""
        if not self.compressed:
            return (self.raw / 1000.0).astype(np.float32)  # (int64 -> float64 is exact for these values)
        scale = factor if self.frame_type == 0 else factor / 1000.0
        return (self.raw * scale).astype(np.float32)


def _sign_extend(values: np.ndarray, bits: int) -> np.ndarray:
    sign = np.int64(1) << np.int64(bits - 1)
    return (values ^ sign) - sign


#: 2**i for i < bits, by delta width (0-32 bits): the weights that turn a delta's bits (LSB first) into its value
_BIT_WEIGHTS = [np.left_shift(np.int64(1), np.arange(b, dtype=np.int64)) for b in range(33)]


def _decode_deltas(payload: bytes, offset: int) -> np.ndarray:
    """Reference sample + delta blocks starting at ``offset`` -> (n, 3) int64."""
    if len(payload) - offset < _REF_BYTES:
        raise ProtocolError(
            f"PMD compressed frame: expected a {_REF_BYTES}-byte reference sample, {len(payload) - offset} bytes left"
        )
    ref = np.frombuffer(payload, dtype="<i2", count=3, offset=offset).astype(np.int64)
    offset += _REF_BYTES
    rows = [ref[None, :]]
    current = ref
    while offset < len(payload):
        if offset + 2 > len(payload):
            raise ProtocolError(
                f"PMD compressed frame: delta block header cut at byte {offset} of {len(payload)}"
            )
        bits, count = payload[offset], payload[offset + 1]
        offset += 2
        if bits > 32:
            raise ProtocolError(
                f"PMD compressed frame: delta width {bits} bits at byte {offset - 2}; expected <= 32"
            )
        nbytes = math.ceil(bits * count * 3 / 8)
        if offset + nbytes > len(payload):
            raise ProtocolError(
                f"PMD compressed frame: block of {count} deltas x {bits} bits needs {nbytes} bytes, "
                f"{len(payload) - offset} left"
            )
        if count == 0:
            offset += nbytes
            continue
        if bits == 0:
            deltas = np.zeros((count, 3), dtype=np.int64)
        else:
            block = np.frombuffer(payload, dtype=np.uint8, count=nbytes, offset=offset)
            stream = np.unpackbits(block, bitorder="little")[: bits * count * 3].reshape(count * 3, bits)
            deltas = _sign_extend(stream.astype(np.int64) @ _BIT_WEIGHTS[bits], bits).reshape(count, 3)
        offset += nbytes
        block_values = current + np.add.accumulate(deltas, axis=0)  # (np.cumsum without its wrapper)
        if block_values.min() < _INT16_MIN or block_values.max() > _INT16_MAX:
            raise ProtocolError(
                f"PMD compressed frame: a block of {count} deltas x {bits} bits ending at byte {offset} takes the "
                f"samples to {int(np.abs(block_values).max())}, beyond the 16 bits of the reference sample; "
                "a sensor's samples keep its resolution, so the frame is corrupt"
            )
        rows.append(block_values)
        current = block_values[-1]
    return np.concatenate(rows, axis=0)


#: numpy dtypes of raw frame types 0 and 1 (int8, int16 little-endian), by byte width
_RAW_DTYPES: dict[int, np.dtype[Any]] = {1: np.dtype("i1"), 2: np.dtype("<i2")}


def decode_acc_frame(payload: bytes) -> PmdAccFrame:
    """Decode an ACC data frame's bytes (no scaling, no timing). ProtocolError on anything malformed."""
    if type(payload) is not bytes:
        payload = _checks.payload_bytes(payload, "PMD data frame")
    if len(payload) < HEADER_BYTES:
        raise ProtocolError(
            f"PMD data frame: expected at least {HEADER_BYTES} header bytes, got {len(payload)} ({payload.hex()})"
        )
    meas = payload[0] & 0x3F
    if meas != MEAS_ACC:
        raise ProtocolError(
            f"PMD data frame: measurement type {meas}, this decoder handles ACC ({MEAS_ACC}) only"
        )
    timestamp_ns = int.from_bytes(payload[1:9], "little")
    ftype_byte = payload[9]
    compressed = bool(ftype_byte & 0x80)
    ftype = ftype_byte & 0x7F
    body = payload[HEADER_BYTES:]
    if compressed:
        if ftype not in (0, 1):
            raise ProtocolError(f"PMD data frame: compressed ACC frame type {ftype}; known: 0, 1")
        raw = _decode_deltas(payload, HEADER_BYTES)
    else:
        if ftype not in (0, 1, 2):
            raise ProtocolError(
                f"PMD data frame: raw ACC frame type {ftype}; known: 0 (int8), 1 (int16), 2 (int24)"
            )
        width = ftype + 1
        stride = 3 * width
        if len(body) == 0 or len(body) % stride:
            raise ProtocolError(
                f"PMD data frame: raw type {ftype} body of {len(body)} bytes; expected a non-zero multiple of {stride}"
            )
        if width < 3:  # little-endian int8 / int16: numpy reads the values as they are
            raw = np.frombuffer(body, dtype=_RAW_DTYPES[width]).astype(np.int64).reshape(-1, 3)
        else:  # int24: three bytes per value, assembled and sign-extended
            b = np.frombuffer(body, dtype=np.uint8).reshape(-1, width).astype(np.int64)
            values = (b << (8 * np.arange(width, dtype=np.int64))).sum(axis=1)
            raw = _sign_extend(values, 8 * width).reshape(-1, 3)
    return PmdAccFrame(raw=raw, timestamp_ns=timestamp_ns, frame_type=ftype, compressed=compressed)


def sample_times_ns(timestamp_ns: int, n: int, rate_hz: float, previous_ns: int | None) -> np.ndarray:
    """Per-sample times (ns since 2000) the way PmdTimeStampUtils computes them.

    With a previous frame: evenly spread over (previous_ns, timestamp_ns], the last one exactly
    ``timestamp_ns``. Without one (first frame after (re)connecting): spaced at the nominal rate, ending
    at ``timestamp_ns``.
    """
    if previous_ns is None or timestamp_ns <= previous_ns:
        delta = 1e9 / rate_hz
        times = float(timestamp_ns) - delta * np.arange(n - 1, -1, -1, dtype=np.float64)
    else:
        delta = (timestamp_ns - previous_ns) / n
        times = float(previous_ns) + delta * np.arange(1, n + 1, dtype=np.float64)
    times[-1] = timestamp_ns
    return times


# ------------------------------------------------------------------------------------------ encoders
_INT64 = np.dtype(np.int64)


def _header(timestamp_ns: int, frame_type_byte: int) -> bytes:
    return bytes((MEAS_ACC,)) + int(timestamp_ns).to_bytes(8, "little") + bytes((frame_type_byte,))


def _samples(samples: Any, what: str, bits: int) -> np.ndarray:
    """``samples`` as an (n, 3) int64 array, n >= 1, of whole numbers that fit ``bits``-bit signed fields;
    ProtocolError for anything else."""
    s = _checks.int_rows(samples, what, bits, _INT64, "round (np.rint) and clip them first", ProtocolError)
    if not len(s):
        raise ProtocolError(f"{what} must be an (n, 3) array of x, y, z samples, n >= 1, got shape {s.shape}")
    return s


def _timestamp(timestamp_ns: Any, what: str) -> int:
    return _checks.count(
        timestamp_ns, f"{what}: timestamp_ns", 0, "ns since 2000-01-01, a u64", ProtocolError, hi=_U64_MAX
    )


def encode_acc_frame_raw(samples_mg: np.ndarray, timestamp_ns: int, frame_type: int = 1) -> bytes:
    """A raw ACC frame: (n, 3) ints in mG as int8/int16/int24 (frame type 0/1/2), n >= 1.

    ProtocolError for samples that are not whole numbers of that width, a ``timestamp_ns`` beyond u64 or
    another frame type.
    """
    what = "PMD raw ACC frame"
    ftype = _checks.count(
        frame_type, f"{what}: frame_type", 0, "0 (int8), 1 (int16) or 2 (int24)", ProtocolError, hi=2
    )
    stamp = _timestamp(timestamp_ns, what)
    width = ftype + 1
    s = _samples(samples_mg, f"{what}: samples_mg", 8 * width)
    body = b"".join(int(v).to_bytes(width, "little", signed=True) for v in s.ravel())
    return _header(stamp, ftype) + body


def encode_acc_frame_delta(
    samples: np.ndarray,
    timestamp_ns: int,
    frame_type: int = 1,
    block: int = 255,
    delta_bits: int | None = None,
) -> bytes:
    """A delta-compressed ACC frame (type 0: g/FACTOR units, type 1: mG): reference + blocks of ``block``.

    Each block uses the fewest bits that hold its deltas (two's complement), or ``delta_bits`` when given
    (a device may use a wider, fixed width, up to 32). ProtocolError for samples that are not (n, 3) whole
    int16 numbers (n >= 1: the first is the reference), a ``timestamp_ns`` beyond u64, another frame type, a
    ``block`` beyond 1..255 (its count is one byte) or a ``delta_bits`` too narrow for the deltas.
    """
    what = "PMD compressed ACC frame"
    ftype = _checks.count(
        frame_type, f"{what}: frame_type", 0, "0 (g / FACTOR units) or 1 (mG)", ProtocolError, hi=1
    )
    stamp = _timestamp(timestamp_ns, what)
    block = _checks.count(
        block, f"{what}: block", 1, "deltas per block; its count is one byte", ProtocolError, hi=255
    )
    if delta_bits is not None:
        delta_bits = _checks.count(
            delta_bits,
            f"{what}: delta_bits",
            1,
            "or None for the fewest bits a block needs",
            ProtocolError,
            hi=32,
        )
    s = _samples(samples, f"{what}: samples", 16)
    out = bytearray(_header(stamp, 0x80 | ftype))
    out += s[0].astype("<i2").tobytes()
    deltas = np.diff(s, axis=0)
    for start in range(0, len(deltas), block):
        chunk = deltas[start : start + block]
        peak = int(max(chunk.max(), -chunk.min() - 1, 0))
        bits = peak.bit_length() + 1
        if delta_bits is not None:
            if delta_bits < bits:
                raise ProtocolError(
                    f"{what}: the deltas of block {start // block} need {bits} bits, delta_bits={delta_bits} "
                    "is too narrow: raise it or pass None"
                )
            bits = delta_bits
        unsigned = (chunk.ravel() & ((1 << bits) - 1)).astype(np.int64)
        bit_rows = ((unsigned[:, None] >> np.arange(bits)) & 1).astype(np.uint8).ravel()
        out += bytes((bits, len(chunk)))
        out += np.packbits(bit_rows, bitorder="little").tobytes()
    return bytes(out)


@dataclass
class PmdDeviceModel:
    """The device side of PMD ACC streaming, without radio: what a virtual Polar watch answers.

    ``offered`` are the ACC settings the device lists in its GET response; ``factor`` is sent in the start
    response. :meth:`handle_command` takes a control-point write and returns the indication(s) to send back.
    """

    offered: dict[int, list[float]] = field(
        default_factory=lambda: {SETTING_SAMPLE_RATE: [52], SETTING_RESOLUTION: [16], SETTING_RANGE: [8]}
    )
    factor: float = 1.0
    features: tuple[int, ...] = (MEAS_ACC,)
    streaming: bool = False
    selected: dict[int, float] = field(default_factory=dict)

    def read_features(self) -> bytes:
        return encode_features(self.features)

    def handle_command(self, data: bytes) -> list[bytes]:
        """One control-point write -> the indication(s) the device sends back."""
        if not data:
            return [encode_response(0, 0, 4)]
        op = data[0]
        mt = data[1] if len(data) > 1 else 0
        if op not in (OP_GET_SETTINGS, OP_START, OP_STOP):
            return [encode_response(op, mt, 1)]
        if len(data) < 2:
            return [encode_response(op, mt, 4)]
        if mt not in self.features:
            return [encode_response(op, mt, 3)]
        if op == OP_GET_SETTINGS:
            return [encode_response(op, mt, parameters=encode_settings(self.offered))]
        if op == OP_STOP:
            if not self.streaming:
                return [encode_response(op, mt, STATUS_ALREADY_IN_STATE)]
            self.streaming = False
            return [encode_response(op, mt)]
        if self.streaming:
            return [encode_response(op, mt, STATUS_ALREADY_IN_STATE)]
        try:
            chosen = parse_settings(data[2:])
        except ProtocolError:
            return [encode_response(op, mt, 5)]
        codes = {SETTING_SAMPLE_RATE: 8, SETTING_RESOLUTION: 7, SETTING_RANGE: 9, SETTING_CHANNELS: 11}
        for sid, values in chosen.items():
            if len(values) != 1 or values[0] not in self.offered.get(sid, []):
                return [encode_response(op, mt, codes.get(sid, 5))]
        response = encode_response(op, mt, parameters=encode_settings({SETTING_FACTOR: self.factor}))
        self.selected = {sid: v[0] for sid, v in chosen.items()}  # (after the response could be made)
        self.streaming = True
        return [response]
