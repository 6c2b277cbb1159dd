"""Recording raw notifications, reading them back, replaying them (with fault injection).

File format ``mujo-edge-ble-recording`` version 1: JSON lines, UTF-8.

* line 1, the header: ``{"format": "mujo-edge-ble-recording", "version": 1, "device": ..., "profile": ...,
  "rate_hz": ..., "host_stamped": ..., "clock": "host monotonic seconds", "t0_unix_s": ..., "meta": {...},
  "provenance": {...}}``
* a notification: ``{"t": t_recv_s, "c": "<characteristic uuid>", "d": "<payload hex>"}``
* a connection event: ``{"t": t_recv_s, "s": "<kind>", "detail": "..."}`` (connected, disconnected,
  reconnected, device_stopped, stopped)

The raw bytes are kept (not decoded samples), so a recording can be decoded again by a fixed decoder and
replayed through the :class:`~mujo_edge.firmware_bridge.transport.Transport` interface. The file is append-only
and every line is flushed as it is written: a crash loses at most the line being written, and
:func:`read_recording` skips such a truncated last line with a warning.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mujo_edge.errors import DataError, ProtocolError
from mujo_edge.firmware_bridge.profiles.base import DeviceProfile
from mujo_edge.provenance import provenance
from mujo_edge.samples import SampleBatch, StreamStatus

log = logging.getLogger(__name__)

RECORDING_FORMAT = "mujo-edge-ble-recording"
RECORDING_VERSION = 1


@dataclass(frozen=True)
class RecordingHeader:
    """First line of a recording: which device and profile produced it, at what nominal rate."""

    device: str
    profile: str
    rate_hz: float
    host_stamped: bool = False
    t0_unix_s: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    version: int = RECORDING_VERSION


@dataclass(frozen=True)
class Notification:
    """One recorded notification: host receive time (s, monotonic), characteristic, raw payload."""

    t_recv_s: float
    char_uuid: str
    payload: bytes


@dataclass(frozen=True)
class StatusRecord:
    """One recorded connection event (``kind`` as in :class:`~mujo_edge.samples.StreamStatus`)."""

    t_recv_s: float
    kind: str
    detail: str = ""


Record = Notification | StatusRecord


class Recorder:
    """Writes a recording: append-only JSON lines, each flushed as written.

    Args:
        path: File to create (parent folders are made). An existing file is refused, never overwritten.
        device: Stream name.
        profile: The profile (or its registry name) that decodes the notifications.
        meta: Free-form facts to keep (watch model, wrist, firmware, subject id...).
        rate_hz: Nominal rate; defaults to the profile's.
    """

    def __init__(
        self,
        path: str | Path,
        device: str,
        profile: DeviceProfile | str,
        meta: dict[str, Any] | None = None,
        rate_hz: float | None = None,
    ) -> None:
        import time

        self.path = Path(path)
        if self.path.exists():
            raise DataError(
                f"recording {self.path} already exists; expected a new file. "
                "Choose another name or delete the old recording first."
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(profile, DeviceProfile):
            profile_name, host_stamped = profile.name, profile.host_stamped
            rate = profile.rate_hz if rate_hz is None else rate_hz
        else:
            profile_name, host_stamped = profile, False
            rate = rate_hz if rate_hz is not None else 0.0
        header = {
            "format": RECORDING_FORMAT,
            "version": RECORDING_VERSION,
            "device": device,
            "profile": profile_name,
            "rate_hz": float(rate),
            "host_stamped": bool(host_stamped),
            "clock": "host monotonic seconds",
            "t0_unix_s": time.time(),
            "meta": dict(meta or {}),
            "provenance": provenance(),
        }
        self._f: IO[str] | None = open(self.path, "x", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._write(header)
        self.records = 0

    def _write(self, obj: dict[str, Any]) -> None:
        if self._f is None:
            raise DataError(f"recording {self.path} is closed; cannot write to it any more")
        self._f.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._f.flush()

    def write_notification(self, t_recv_s: float, char_uuid: str, payload: bytes) -> None:
        """Append one raw notification."""
        self._write({"t": round(float(t_recv_s), 6), "c": char_uuid, "d": bytes(payload).hex()})
        self.records += 1

    def write_status(self, t_recv_s: float, kind: str, detail: str = "") -> None:
        """Append one connection event."""
        self._write({"t": round(float(t_recv_s), 6), "s": kind, "detail": detail})
        self.records += 1

    def flush(self) -> None:
        """Flush to the OS (every write already does; kept for callers that batch)."""
        if self._f is not None:
            self._f.flush()

    def close(self) -> None:
        """Close the file; further writes raise DataError."""
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse_header(path: Path, line: str) -> RecordingHeader:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(
            f"{path}: line 1 is not a JSON header ({err}); expected a {RECORDING_FORMAT} file. "
            "Record with `mujo-edge stream --record` or firmware_bridge.record.Recorder."
        ) from err
    if not isinstance(obj, dict) or obj.get("format") != RECORDING_FORMAT:
        found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise DataError(
            f"{path}: expected format '{RECORDING_FORMAT}', found {found!r}; not a BLE recording."
        )
    if obj.get("version") != RECORDING_VERSION:
        raise DataError(
            f"{path}: recording version {obj.get('version')!r}, this toolkit reads version {RECORDING_VERSION}. "
            "Upgrade mujo-edge to read newer recordings."
        )
    try:
        return RecordingHeader(
            device=str(obj["device"]),
            profile=str(obj["profile"]),
            rate_hz=float(obj["rate_hz"]),
            host_stamped=bool(obj.get("host_stamped", False)),
            t0_unix_s=obj.get("t0_unix_s"),
            meta=dict(obj.get("meta") or {}),
            provenance=dict(obj.get("provenance") or {}),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(
            f"{path}: header lacks or mangles field {err}; expected device, profile, rate_hz."
        ) from err


def _parse_record(obj: Any) -> Record:
    if not isinstance(obj, dict) or "t" not in obj:
        raise ValueError("expected an object with a time 't'")
    if "s" in obj:
        return StatusRecord(float(obj["t"]), str(obj["s"]), str(obj.get("detail", "")))
    return Notification(float(obj["t"]), str(obj["c"]), bytes.fromhex(obj["d"]))


def read_header(path: str | Path) -> RecordingHeader:
    """The header of a recording (raises DataError if the file is not a recording of a known version)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"recording {path} does not exist; expected a file written by the Recorder.")
    with open(path, encoding="utf-8") as f:
        return _parse_header(path, f.readline())


def read_recording(path: str | Path) -> Iterator[Record]:
    """Yield the records after the header, in file order.

    A truncated LAST line (a crash mid-write) is skipped with a warning; a corrupt line anywhere else raises
    DataError naming the line, after every record before it has been yielded.
    """
    path = Path(path)
    read_header(path)
    with open(path, encoding="utf-8") as f:
        f.readline()
        line_no = 1
        previous: tuple[int, str] | None = None
        for line in f:
            line_no += 1
            if previous is not None:
                yield _record_or_raise(path, *previous)
            previous = (line_no, line)
        if previous is not None:
            no, line = previous
            try:
                yield _parse_record(json.loads(line))
            except (ValueError, KeyError, TypeError):
                log.warning(
                    "%s: skipped a truncated last line %d (%d characters): the recorder was probably "
                    "interrupted mid-write; everything before it is intact",
                    path,
                    no,
                    len(line),
                )


def _record_or_raise(path: Path, line_no: int, line: str) -> Record:
    try:
        return _parse_record(json.loads(line))
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(
            f"{path}: line {line_no} is not a valid record ({err}): {line[:80]!r}. The file is corrupt beyond a "
            "truncated last line; cut it at that line to keep what comes before."
        ) from err


def replay_batches(
    path: str | Path, profile: DeviceProfile | None = None, device: str | None = None
) -> Iterator[SampleBatch | StreamStatus]:
    """Decode a recording again: sample batches and connection events, in recorded order.

    Args:
        path: The recording.
        profile: Decoder to use; default: a new one of the header's profile name (``get_profile``).
        device: Stream name for the batches; default: the header's.

    Packets that do not decode are skipped with a warning (counted in ``profile``-independent logs), exactly
    as the live session does. The profile is reset at every ``connected`` / ``reconnected`` event.
    """
    from mujo_edge.firmware_bridge.profiles import get_profile

    header = read_header(path)
    if profile is None:
        profile = get_profile(header.profile, rate_hz=header.rate_hz or None)
    name = device if device is not None else header.device
    profile.device = name
    profile.reset()
    bad = 0
    for record in read_recording(path):
        if isinstance(record, StatusRecord):
            if record.kind in ("connected", "reconnected"):
                profile.reset()
            yield StreamStatus(name, record.t_recv_s, record.kind, record.detail)
            continue
        try:
            yield from profile.decode(record.char_uuid, record.t_recv_s, record.payload)
        except ProtocolError as err:
            bad += 1
            log.warning(
                "%s: skipped a bad packet at t=%.3f s (%d so far): %s", path, record.t_recv_s, bad, err
            )
        profile.take_events()
