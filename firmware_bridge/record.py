"""Recording raw notifications, reading them back, replaying them (with fault injection).

File format ``mujo-edge-ble-recording`` version 1: JSON lines, UTF-8.

* line 1, the header: ``{"format": "mujo-edge-ble-recording", "version": 1, "device": ..., "profile": ...,
  "rate_hz": ..., "host_stamped": ..., "clock": "host monotonic seconds", "t0_unix_s": ..., "meta": {...},
  "provenance": {...}}``
* a notification: ``{"t": t_recv_s, "c": "<characteristic uuid>", "d": "<payload hex>"}``
* a connection event: ``{"t": t_recv_s, "s": "<kind>", "detail": "...", "config": {...}}`` (connected,
  disconnected, reconnected, device_stopped, stopped); ``config`` (on connected/reconnected only) is what the
  profile needs to decode that connection again (``DeviceProfile.config()``: rate, Polar FACTOR...)

The raw bytes are kept (not decoded samples), so a recording can be decoded again by a fixed decoder and
replayed through the :class:`~mujo_edge.firmware_bridge.transport.Transport` interface. The file is append-only
and every line is flushed as it is written: a crash loses at most the line being written, and
:func:`read_recording` skips such a truncated last line with a warning.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from mujo_edge import _checks
from mujo_edge._checks import is_number
from mujo_edge.errors import ConfigError, DataError, DeviceError, ProtocolError
from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.profiles.base import DeviceProfile
from mujo_edge.firmware_bridge.profiles.device import WatchDevice
from mujo_edge.firmware_bridge.transport import Connector, NotifyCallback, Transport, host_time_s
from mujo_edge.provenance import check_format, provenance
from mujo_edge.samples import STATUS_KINDS, SampleBatch, StatusKind, StreamStatus

log = logging.getLogger(__name__)

RECORDING_FORMAT = "mujo-edge-ble-recording"
RECORDING_VERSION = 1


@dataclass(frozen=True)
class RecordingHeader:
    """First line of a recording: which device and profile produced it.

    ``rate_hz`` is the rate known when recording began (the request or the profile's default); the rate the
    device actually started with is in the ``config`` of each connected/reconnected :class:`StatusRecord`.
    """

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
    kind: StatusKind
    detail: str = ""
    config: dict[str, Any] | None = None


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

        from mujo_edge.firmware_bridge.profiles import PROFILE_NAMES

        self.path = _checks.path(path, "Recorder: path")
        _checks.text(device, "Recorder: device", "name the stream (its address or a name of your choice)")
        if not isinstance(profile, DeviceProfile) and profile not in PROFILE_NAMES:
            raise ConfigError(
                f"Recorder: profile {profile!r} is neither a DeviceProfile nor a profile name; expected one of "
                f"{', '.join(PROFILE_NAMES)}, the profile that decodes the notifications"
            )
        if meta is not None:
            _checks.mapping(meta, "Recorder: meta", "keep free-form facts as {name: value}")
        if rate_hz is not None:
            _checks.number(
                rate_hz, "Recorder: rate_hz", fix="give the nominal sample rate in Hz or leave it out"
            )
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
        line = _json_line(header, "Recorder: meta")  # before the file exists: a refused header leaves none
        self._f: IO[str] | None = open(self.path, "x", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._f.write(line)
        self._f.flush()
        self.records = 0

    def _write(self, obj: dict[str, Any], what: str) -> None:
        if self._f is None:
            raise DataError(f"recording {self.path} is closed; cannot write to it any more")
        self._f.write(_json_line(obj, what))
        self._f.flush()

    def _time(self, t_recv_s: Any, what: str) -> float:
        if not (is_number(t_recv_s) and math.isfinite(t_recv_s)):
            raise DataError(
                f"{what}: t_recv_s must be a finite number, got {type(t_recv_s).__name__} {t_recv_s!r}: pass "
                "the host's monotonic receive time in seconds; nothing was written"
            )
        return round(float(t_recv_s), 6)

    def write_notification(self, t_recv_s: float, char_uuid: str, payload: bytes) -> None:
        """Append one raw notification (DataError, with nothing written, for arguments a replay cannot read)."""
        what = "Recorder.write_notification"
        t = self._time(t_recv_s, what)
        _checks.text(char_uuid, f"{what}: char_uuid", "pass the characteristic's UUID", DataError)
        data = payload if type(payload) is bytes else _checks.payload_bytes(payload, f"{what}: payload")
        self._write({"t": t, "c": char_uuid, "d": data.hex()}, what)
        self.records += 1

    def write_status(
        self, t_recv_s: float, kind: StatusKind, detail: str = "", config: dict[str, Any] | None = None
    ) -> None:
        """Append one connection event (with the profile's decoding ``config`` on connected/reconnected).

        DataError, with nothing written, for a kind, detail or config a replay could not read back."""
        what = "Recorder.write_status"
        t = self._time(t_recv_s, what)
        if kind not in STATUS_KINDS:
            raise DataError(
                f"{what}: kind {kind!r} is not a connection event; expected one of {', '.join(STATUS_KINDS)}"
            )
        _checks.text(detail, f"{what}: detail", "describe the event in words, or leave it out", DataError)
        obj: dict[str, Any] = {"t": t, "s": kind, "detail": detail}
        if config is not None:
            obj["config"] = _checks.mapping(
                config, f"{what}: config", "pass DeviceProfile.config()", DataError
            )
        self._write(obj, f"{what}: config")
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


def _json_line(obj: dict[str, Any], what: str) -> str:
    """One record as a JSON line; DataError naming ``what`` for a value JSON cannot hold (an object, NaN)."""
    try:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n"
    except (TypeError, ValueError) as err:
        raise DataError(
            f"{what} holds a value a recording cannot keep ({err}); use str, numbers (finite), bools, None, "
            "lists and dicts. Nothing was written"
        ) from None


def _parse_header(path: Path, line: str) -> RecordingHeader:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(
            f"{path}: line 1 is not a JSON header ({err}); expected a {RECORDING_FORMAT} file. "
            "Record with `mujo-edge stream --record` or firmware_bridge.record.Recorder."
        ) from err
    obj = check_format(
        obj,
        RECORDING_FORMAT,
        RECORDING_VERSION,
        DataError,
        str(path),
        "not a BLE recording: record with `mujo-edge stream --record`",
        version_key="version",
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
        config = obj.get("config")
        kind = str(obj["s"])
        if kind not in STATUS_KINDS:
            raise ValueError(f"unknown connection event {kind!r} (expected one of {', '.join(STATUS_KINDS)})")
        return StatusRecord(
            float(obj["t"]),
            kind,  # (checked against STATUS_KINDS just above)
            str(obj.get("detail", "")),
            dict(config) if config is not None else None,
        )
    return Notification(float(obj["t"]), str(obj["c"]), bytes.fromhex(obj["d"]))


def read_header(path: str | Path) -> RecordingHeader:
    """The header of a recording (raises DataError if the file is not a recording of a known version)."""
    path = _checks.path(path, "recording")
    if not path.is_file():
        raise DataError(f"recording {path} does not exist; expected a file written by the Recorder.")
    with open(path, "rb") as f:
        first = f.readline()
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path} is not a recording: its first line is not UTF-8 text ({err}); expected a file written by "
            "`mujo-edge stream --record`"
        ) from err
    return _parse_header(path, line)


def read_recording(path: str | Path) -> Iterator[Record]:
    """Yield the records after the header, in file order.

    A truncated LAST line (a crash mid-write) is skipped with a warning; a corrupt line anywhere else raises
    DataError naming the line, after every record before it has been yielded.
    """
    path = _checks.path(path, "recording")
    read_header(path)
    # (bytes: a line that is not UTF-8 is a corrupt line like any other, json.loads decodes the rest)
    with open(path, "rb") as f:
        f.readline()
        line_no = 1
        previous: tuple[int, bytes] | None = None
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


def _record_or_raise(path: Path, line_no: int, line: bytes) -> Record:
    try:
        return _parse_record(json.loads(line))
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(
            f"{path}: line {line_no} is not a valid record ({err}): {line[:80].decode('utf-8', 'replace')!r}. "
            "The file is corrupt beyond a "
            "truncated last line; cut it at that line to keep what comes before."
        ) from err


def replay_batches(
    path: str | Path,
    profile: DeviceProfile | None = None,
    device: str | None = None,
    decode_errors: dict[str, int] | None = None,
) -> Iterator[SampleBatch | StreamStatus]:
    """Decode a recording again: sample batches and connection events, in recorded order.

    Args:
        path: The recording.
        profile: Decoder to use; default: a new one of the header's profile name (``get_profile``).
        device: Stream name for the batches; default: the header's.
        decode_errors: When given, ``decode_errors[device]`` is kept at the number of packets skipped so far
            (what a live session counts in ``stats.decode_errors``).

    Packets that do not decode are skipped with a warning and counted, exactly as the live session does. The
    profile is reset at every ``connected`` / ``reconnected`` event and given the config recorded with it; a
    config the profile refuses raises DataError naming the line's time, after everything before it. A
    recording none of whose notifications decode (a header naming another profile) says so in a warning.
    """
    from mujo_edge.firmware_bridge.profiles import get_profile

    if profile is not None and not isinstance(profile, DeviceProfile):
        raise ConfigError(
            f"replay_batches: profile must be a DeviceProfile (get_profile(name)) or None for the header's, got "
            f"{type(profile).__name__} {profile!r}"
        )
    if device is not None:
        _checks.text(device, "replay_batches: device", "name the stream, or leave it out for the header's")
    if decode_errors is not None and not isinstance(decode_errors, dict):
        raise ConfigError(
            f"replay_batches: decode_errors must be a dict (it is kept at {{device: packets skipped}}), got "
            f"{type(decode_errors).__name__}"
        )
    header = read_header(path)
    if profile is None:
        try:
            profile = get_profile(header.profile, rate_hz=header.rate_hz or None)
            if header.rate_hz:
                profile.apply_config({"rate_hz": header.rate_hz})  # (the profile's own range check)
        except (ConfigError, DataError) as err:
            raise DataError(
                f"{path}: its header's rate_hz {header.rate_hz!r} is not a rate the {header.profile!r} profile "
                f'streams at ({err}); correct the header\'s "rate_hz"'
            ) from err
    name = device if device is not None else header.device
    profile.device = name
    profile.reset()
    bad = notifications = decoded = 0
    for record in read_recording(path):
        if isinstance(record, StatusRecord):
            if record.kind in ("connected", "reconnected"):
                profile.reset()
                if record.config:
                    try:
                        profile.apply_config(record.config)
                    except (ProtocolError, DataError) as err:
                        raise DataError(
                            f"{path}: the {record.kind!r} record at t={record.t_recv_s:.3f} s holds a config the "
                            f'{header.profile!r} decoder refuses ({err}); correct that line\'s "config" (or '
                            "cut the file there: everything before it replays)"
                        ) from err
            yield StreamStatus(name, record.t_recv_s, record.kind, record.detail)
            continue
        notifications += 1
        try:
            batches = profile.decode(record.char_uuid, record.t_recv_s, record.payload)
        except ProtocolError as err:
            batches = []
            bad += 1
            if decode_errors is not None:
                decode_errors[name] = bad
            log.warning(
                "%s: skipped a bad packet at t=%.3f s (%d so far): %s", path, record.t_recv_s, bad, err
            )
        decoded += len(batches)
        yield from batches
        profile.take_events()
    if notifications and not decoded:
        log.warning(
            "%s: none of its %d notifications holds samples for the %r profile its header names; was it "
            'recorded with another profile? Its header\'s "profile" decides how it is decoded',
            path,
            notifications,
            header.profile,
        )


# ============================================================================================ replay transport
class ReplayDevice:
    """Device-side GATT behaviour for replay: reads, control writes and when the stream runs.

    ``device`` is a profile's device model (:class:`~mujo_edge.firmware_bridge.profiles.device.WatchDevice`,
    from the profile's folder), the same one a virtual watch runs; the replay sends the recorded frames in
    place of its motion.
    """

    def __init__(self, device: WatchDevice) -> None:
        if not isinstance(device, WatchDevice):
            raise ConfigError(
                f"ReplayDevice needs a WatchDevice, got {type(device).__name__}: use "
                "ReplayDevice.for_profile(name, config)"
            )
        self.device = device
        self.profile_name = device.profile

    @classmethod
    def for_profile(cls, profile_name: str, config: dict[str, Any] | None = None) -> ReplayDevice:
        """A device that accepts what the profile will ask, at the recorded ``config`` (rate, factor)."""
        from mujo_edge.firmware_bridge.profiles import device_model

        model = device_model(profile_name)
        if config is not None:
            config = _checks.mapping(
                config, "ReplayDevice.for_profile: config", "pass a recorded DeviceProfile.config()"
            )
        return cls(model.for_replay(config or {}))

    @property
    def streaming(self) -> bool:
        return bool(self.device.streaming)

    def _char(self, char_uuid: str, what: str) -> None:
        chars = self.device.characteristics()
        if not any(c.uuid == char_uuid and getattr(c, what) for c in chars):
            able = [c.uuid for c in chars if getattr(c, what)]
            raise DeviceError(
                f"replay device ({self.profile_name}) cannot {what} characteristic {char_uuid}; it can {what} "
                f"{', '.join(able) or 'none'}"
            )

    def read(self, char_uuid: str) -> bytes:
        self._char(char_uuid, "read")
        return bytes(self.device.read(char_uuid))

    def write(self, char_uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """A control write -> the indications to send back."""
        self._char(char_uuid, "write")
        return self.device.write(char_uuid, bytes(data))

    def subscribed(self, char_uuid: str) -> None:
        self.device.subscribed(char_uuid, True)

    def disconnected(self) -> None:
        """The link dropped: a real device stops streaming and forgets subscriptions."""
        self.device.connection_lost()


class ReplayConnector(Connector):
    """Replays recorded data notifications through the Transport interface, with
    :class:`~mujo_edge.firmware_bridge.faults.Faults`.

    Fault indices count the recording's DATA notifications (0 = first); ``disconnect_at_s`` are seconds after
    the first notification, and so is ``down_s``, the time the device stays unreachable after a drop;
    ``clock_skew_ppm`` and ``clock_offset_s`` move the host receive times
    (``t0 + (t - t0) / (1 + ppm 1e-6) + offset``: a fast sensor clock makes the recorded stream arrive
    sooner). Raises ConfigError for a fault the replay cannot inject (``jitter_s``, latency).

    The device's timeline is shared by all transports it makes: after an injected disconnect the recording
    moves on by ``faults.down_s`` (those notifications are lost, as with a real watch), and the next
    transport resumes from there. ``speed=None`` replays as fast as the consumer takes it (tests);
    ``speed=1.0`` in real time, ``10.0`` ten times faster. ``finished`` is set when the recording ends.

    Args:
        notifications: Data notifications in time order.
        device: Device-side behaviour (see :meth:`ReplayDevice.for_profile`).
        data_uuids: Characteristics carrying the notifications.
        name, address, service_uuids: What ``find(target)`` matches.
        mtu: ATT MTU the transports report.
    """

    def __init__(
        self,
        notifications: Sequence[Notification],
        device: ReplayDevice,
        data_uuids: tuple[str, ...],
        faults: Faults | None = None,
        speed: float | None = None,
        name: str = "replay",
        address: str = "replay:00",
        service_uuids: tuple[str, ...] = (),
        mtu: int = 247,
    ) -> None:
        faults = faults if faults is not None else Faults()
        if not isinstance(faults, Faults):
            raise ConfigError(f"ReplayConnector: faults must be a Faults, got {type(faults).__name__}")
        faults.require_injectable("replay transport")
        if isinstance(notifications, str | bytes) or not isinstance(notifications, Sequence | Iterator):
            raise ConfigError(
                f"ReplayConnector: notifications must be a list of Notification, got {type(notifications).__name__}"
            )
        notifications = list(notifications)
        bad = next((n for n in notifications if not isinstance(n, Notification)), None)
        if bad is not None:
            raise ConfigError(
                f"ReplayConnector: notifications must be Notification records (read_recording gives them), got "
                f"{type(bad).__name__} {bad!r:.60}"
            )
        if not isinstance(device, ReplayDevice):
            raise ConfigError(
                f"ReplayConnector: device must be a ReplayDevice (ReplayDevice.for_profile(name)), got "
                f"{type(device).__name__}"
            )
        data_uuids = _uuids(data_uuids, "data_uuids")
        service_uuids = _uuids(service_uuids, "service_uuids")
        if speed is not None:
            _checks.number(
                speed, "ReplayConnector: speed", fix="1 is real time, 10 ten times faster; None: at once"
            )
        _checks.text(name, "ReplayConnector: name", "give the name the replayed watch advertises")
        _checks.text(address, "ReplayConnector: address", "give the address the replayed watch has")
        if _checks.count(mtu, "ReplayConnector: mtu", 23, "an ATT MTU is 23 to 517") > 517:
            raise ConfigError(f"ReplayConnector: mtu must be an ATT MTU between 23 and 517, got {mtu}")
        self.notifications = notifications
        self.device = device
        self.data_uuids = tuple(u.lower() for u in data_uuids)
        self.faults = faults
        self.speed = speed
        self.name = name
        self.address = address
        self.service_uuids = tuple(u.lower() for u in service_uuids)
        self.mtu = mtu
        self.cursor = 0
        self.transports: list[ReplayTransport] = []
        self.writes: list[tuple[str, bytes]] = []
        self.finds = 0
        self._pending_scan_failures = faults.first_scan_failures
        self._disconnects = sorted(faults.disconnect_at_s)
        self._t_first = self.notifications[0].t_recv_s if self.notifications else 0.0
        rng = np.random.default_rng(faults.seed)
        random_drops = np.flatnonzero(rng.random(len(self.notifications)) < faults.drop_prob)
        self._drops = set(faults.drop_indices) | {int(i) for i in random_drops}
        self.finished = asyncio.Event()
        #: the books: every notification the replay has passed is delivered or lost (``sent``)
        self.delivered = 0
        self.lost = 0

    @classmethod
    def from_recording(
        cls, path: str | Path, faults: Faults | None = None, speed: float | None = None, **kwargs: Any
    ) -> ReplayConnector:
        """A connector replaying a recording's data notifications, answering as the recorded device did."""
        from mujo_edge.firmware_bridge.profiles import get_profile

        header = read_header(path)
        profile = get_profile(header.profile)
        records = list(read_recording(path))
        config = next((r.config for r in records if isinstance(r, StatusRecord) and r.config), None)
        config = config or {"rate_hz": header.rate_hz}
        data = [
            r for r in records if isinstance(r, Notification) and r.char_uuid.lower() in profile.data_uuids
        ]
        kwargs.setdefault("name", header.device)
        kwargs.setdefault("service_uuids", (profile.service_uuid,))
        return cls(
            data,
            ReplayDevice.for_profile(header.profile, config),
            profile.data_uuids,
            faults,
            speed,
            **kwargs,
        )

    @property
    def sent(self) -> int:
        """Notifications the device has sent so far; always ``delivered + lost``."""
        return self.cursor

    def matches(self, target: str) -> bool:
        t = (
            _checks.text(target, "find: target", "give the advertised name, address or service UUID")
            .strip()
            .lower()
        )
        return t in (self.name.lower(), self.address.lower()) or t in self.service_uuids

    async def find(self, target: str, timeout_s: float) -> Transport:
        self.finds += 1
        if not self.matches(target):
            raise DeviceError(
                f"device '{target}' not found after {timeout_s:g} s: the replay offers '{self.name}' "
                f"({self.address}). Is it advertising and in range?"
            )
        if self._pending_scan_failures > 0:
            self._pending_scan_failures -= 1
            raise DeviceError(
                f"device '{target}' not found after {timeout_s:g} s: is it advertising and in range?"
            )
        transport = ReplayTransport(self)
        self.transports.append(transport)
        return transport

    def _host_time(self, t: float) -> float:
        f = self.faults
        return self._t_first + (t - self._t_first) / (1.0 + f.clock_skew_ppm * 1e-6) + f.clock_offset_s

    def _link_dropped(self, t_now: float) -> None:
        """Move the device timeline past the unreachable window and arm the scan failures."""
        resume_t = t_now + self.faults.down_s
        while self.cursor < len(self.notifications) and self.notifications[self.cursor].t_recv_s < resume_t:
            self.cursor += 1
            self.lost += 1
        self._pending_scan_failures = self.faults.scan_failures
        self.device.disconnected()


def _uuids(values: Any, what: str) -> tuple[str, ...]:
    """A tuple of characteristic / service UUIDs (str); ConfigError for one UUID given alone or a non-str."""
    return tuple(_checks.names(values, f"ReplayConnector: {what}", "wrap a single UUID in a tuple"))


class ReplayTransport(Transport):
    """One replayed connection (made by :class:`ReplayConnector`)."""

    def __init__(self, connector: ReplayConnector) -> None:
        self.connector = connector
        self.name = connector.name
        self.address = connector.address
        self.connected = False
        self._callbacks: dict[str, NotifyCallback] = {}
        self._on_disconnect: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.subscriptions: list[str] = []

    @property
    def mtu(self) -> int:
        return self.connector.mtu

    async def connect(self, timeout_s: float) -> None:
        self.connected = True

    async def disconnect(self) -> None:
        was = self.connected
        self.connected = False
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        if was:
            self.connector.device.disconnected()

    def _require(self) -> None:
        if not self.connected:
            raise DeviceError("replay transport is not connected; connect first (or the link dropped)")

    async def read(self, char_uuid: str) -> bytes:
        self._require()
        return self.connector.device.read(char_uuid.lower())

    async def write(self, char_uuid: str, data: bytes, response: bool = True) -> None:
        self._require()
        uuid = char_uuid.lower()
        self.connector.writes.append((uuid, bytes(data)))
        replies = self.connector.device.write(uuid, data)
        loop = asyncio.get_running_loop()
        for reply_uuid, payload in replies:
            cb = self._callbacks.get(reply_uuid)
            if cb is not None:
                loop.call_soon(cb, host_time_s(), payload)
        self._maybe_stream()

    async def subscribe(self, char_uuid: str, on_data: NotifyCallback) -> None:
        self._require()
        uuid = char_uuid.lower()
        self._callbacks[uuid] = on_data
        self.subscriptions.append(uuid)
        self.connector.device.subscribed(uuid)
        self._maybe_stream()

    def set_disconnected_callback(self, cb: Callable[[], None]) -> None:
        self._on_disconnect = cb

    def _maybe_stream(self) -> None:
        if self._task is None and self.connected and self.connector.device.streaming:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        c, f = self.connector, self.connector.faults
        held: list[tuple[str, bytes]] = []
        try:
            await self._stream(c, f, held)
        finally:
            c.lost += len(held)  # held in a burst when the link dropped or the stream stopped: never arrive

    async def _stream(self, c: ReplayConnector, f: Faults, held: list[tuple[str, bytes]]) -> None:
        previous_t: float | None = None
        while self.connected and c.cursor < len(c.notifications):
            if not c.device.streaming:
                self._task = None  # the device was told to stop; a later start command resumes
                return
            index = c.cursor
            note = c.notifications[index]
            if c.speed is not None and previous_t is not None:
                await asyncio.sleep(max(0.0, (note.t_recv_s - previous_t) / c.speed))
            else:
                await asyncio.sleep(0)
            if not self.connected:
                return
            previous_t = note.t_recv_s
            rel = note.t_recv_s - c._t_first
            if c._disconnects and rel >= c._disconnects[0]:
                c._disconnects.pop(0)
                self.connected = False
                c._link_dropped(note.t_recv_s)
                if self._on_disconnect is not None:
                    self._on_disconnect()
                return
            c.cursor += 1
            if index in c._drops:
                c.lost += 1
                continue
            payload = note.payload
            if index in f.corrupt_indices and payload:
                payload = (
                    bytes((payload[0] ^ 0xFF,)) + payload[1:]
                    if len(payload) == 1
                    else (payload[:-1] + bytes((payload[-1] ^ 0x5A,)))
                )
            held.append((note.char_uuid.lower(), payload))
            if (
                f.burst_every
                and f.burst_len
                and index % f.burst_every < f.burst_len - 1
                and c.cursor < len(c.notifications)
            ):
                continue  # hold back: this burst is delivered with its last notification's receive time
            t_host = c._host_time(note.t_recv_s)
            while held:
                uuid, data = held.pop(0)
                cb = self._callbacks.get(uuid)
                if cb is not None:
                    c.delivered += 1
                    cb(t_host, data)
                else:
                    c.lost += 1  # nobody subscribed to it
        if c.cursor >= len(c.notifications):
            c.finished.set()
