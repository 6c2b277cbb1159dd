"""InfiniTime (PineTime) Motion Service byte format: decoding AND encoding, no I/O.

Source: InfiniTimeOrg/InfiniTime ``src/components/ble/MotionService.cpp``, ``doc/MotionService.md``,
``src/drivers/Bma421.cpp``.

* Service ``00030000-78fc-48fe-8e23-433b3a1942d0``; step count ``00030001-...`` (u32 LE, read/notify);
  raw motion ``00030002-...`` (read/notify): ``int16 LE x, y, z`` -- 6 bytes, no timestamp, no sequence.
* Units: the BMA421/BMA425 runs at +-2 g with 12-bit output, i.e. 1024 counts per g; since InfiniTime PR #1950
  the driver scales explicitly to "binary milli-g" (1 g = 1024). Either way: ``g = raw / 1024``.
* The firmware polls the sensor ~10 Hz (its main loop; newer versions average the 200 Hz FIFO over each
  poll) and notifies only when the value CHANGED: the host cannot see drops and must stamp arrival time.

The encoders refuse what their bytes cannot carry (NaN, a wrong number of axes, a step count beyond u32, a
str or a bool where a number belongs) with ProtocolError, as the decoders do for the same fields.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from mujo_edge import _checks
from mujo_edge.errors import ProtocolError

MOTION_SERVICE_UUID = "00030000-78fc-48fe-8e23-433b3a1942d0"
STEP_COUNT_UUID = "00030001-78fc-48fe-8e23-433b3a1942d0"
MOTION_VALUES_UUID = "00030002-78fc-48fe-8e23-433b3a1942d0"

#: Counts per g of the motion values (BMA421 at +-2 g, 12 bit; "binary milli-g" since InfiniTime PR #1950).
COUNTS_PER_G = 1024.0
#: Nominal notification rate: the firmware's motion polling loop, Hz (notified only on change).
NOMINAL_RATE_HZ = 10.0
MOTION_BYTES = 6

_U32 = struct.Struct("<I")
_U32_MAX = (1 << 32) - 1


def decode_motion(payload: bytes) -> np.ndarray:
    """6 bytes ``int16 LE x, y, z`` -> (1, 3) float32 in g. ProtocolError for any other length."""
    if type(payload) is not bytes:
        payload = _checks.payload_bytes(payload, "InfiniTime motion value")
    if len(payload) != MOTION_BYTES:
        raise ProtocolError(
            f"InfiniTime motion value: expected {MOTION_BYTES} bytes (3 x int16 LE), got {len(payload)} "
            f"({payload[:16].hex()}); is this the raw motion characteristic 00030002?"
        )
    raw = np.frombuffer(payload, dtype="<i2").astype(np.float32)
    return (raw / np.float32(COUNTS_PER_G)).reshape(1, 3)


def encode_motion(acc_g: np.ndarray) -> bytes:
    """(3,) g -> the 6 bytes InfiniTime notifies (rounded to counts, clipped to int16: the sensor saturates).

    ProtocolError unless ``acc_g`` is three finite numbers (x, y, z).
    """
    a = _checks.real_array(
        acc_g, np.dtype(np.float64), "InfiniTime motion value: acc_g", keep_float=True, error=ProtocolError
    )
    if a.size != 3:
        raise ProtocolError(
            f"InfiniTime motion value: acc_g must be three numbers (x, y, z in g), got shape {a.shape}: "
            "pass one sample, e.g. acc_g[i]"
        )
    xyz = a.ravel().tolist()  # (three numbers: checked in Python, cheaper than a numpy pass over them)
    if not all(map(math.isfinite, xyz)):
        raise ProtocolError(
            f"InfiniTime motion value: acc_g must be finite, got {xyz}: a sensor reads no NaN or "
            "infinity; fill or drop such samples first"
        )
    counts = np.clip(np.rint(a.reshape(3) * COUNTS_PER_G), -32768, 32767)
    return counts.astype("<i2").tobytes()


def decode_step_count(payload: bytes) -> int:
    """4 bytes u32 LE -> steps."""
    if type(payload) is not bytes:
        payload = _checks.payload_bytes(payload, "InfiniTime step count")
    if len(payload) != 4:
        raise ProtocolError(f"InfiniTime step count: expected 4 bytes (u32 LE), got {len(payload)}")
    return int(struct.unpack("<I", payload)[0])


def encode_step_count(steps: int) -> bytes:
    """Steps -> 4 bytes u32 LE; ProtocolError unless ``steps`` is a whole number from 0 to 2^32 - 1."""
    n = _checks.count(steps, "InfiniTime step count: steps", 0, "the steps taken today", ProtocolError)
    if n > _U32_MAX:
        raise ProtocolError(f"InfiniTime step count: steps must be at most {_U32_MAX} (u32), got {n}")
    return _U32.pack(n)
