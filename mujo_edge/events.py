"""Activity events: what the runtime says about each window, as JSON lines.

One event per window (every hop, 1 s at 50 Hz; each covers 2 s)::

    {"t_start": 1234.56, "t_end": 1236.56, "label": "ABD", "confidence": 0.9132, "device": "watch-1",
     "calibrated": true, "upsampled": false, "known": true, "score": 0.9421}
    {"t_start": 1235.56, "t_end": 1237.56, "label": "unknown", "confidence": 0.6127, "device": "watch-1",
     "calibrated": true, "upsampled": false, "known": false, "score": 0.4012, "nearest": "ABD"}

* ``t_start`` / ``t_end``: the window's span in HOST monotonic seconds (the clock the BLE layer stamps
  notifications with, ``firmware_bridge.transport.host_time_s``), mapped from the sensor clock by the
  lower-envelope clock model; ``t_end`` is the end of the last sample's period. Rounded to 1 ms.
* ``label``: the most probable class of the bundle (after optional smoothing); ``confidence`` its
  probability in [0, 1], rounded to 1e-4.
* ``known``: whether the window passed the bundle's open-set test (true when the bundle has none). When
  it did not, ``label`` is ``"unknown"`` (:data:`~mujo_edge.constants.UNKNOWN_LABEL`): the window is unlike
  every activity the bundle knows; ``nearest`` names the label it would otherwise have had and
  ``confidence`` is that label's probability.
* ``score``: the open-set score (largest cosine to the bundle's prototypes, rounded to 1e-4), present when
  the bundle has an open-set test; ``known`` is ``score >= threshold``.
* ``calibrated``: PIT calibration from the bundle was applied to the window before the model.
* ``upsampled``: the device is slower than 50 Hz (InfiniTime) and its samples were interpolated up: the
  window holds less information than its 100 samples suggest.

Events hold nothing that depends on when or how fast they were computed, so replaying a recording gives
the same lines as the live run; processing latency goes to the pipeline's stats instead.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import IO, Any

from mujo_edge.constants import UNKNOWN_LABEL
from mujo_edge.errors import DataError

log = logging.getLogger(__name__)

#: Required fields of an event line and their JSON types.
EVENT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "t_start": (int, float),
    "t_end": (int, float),
    "label": str,
    "confidence": (int, float),
    "device": str,
}
#: Optional fields (absent = false).
EVENT_FLAGS: tuple[str, ...] = ("calibrated", "upsampled")
#: Optional open-set fields: ``known`` (absent = true: events of a bundle without an open-set test), ``score``
#: and ``nearest`` (absent = none).


@dataclass(frozen=True)
class ActivityEvent:
    """The recognized activity of one window of one device."""

    device: str
    t_start: float
    t_end: float
    label: str
    confidence: float
    calibrated: bool = False
    upsampled: bool = False
    known: bool = True
    score: float | None = None  # open-set score, None without an open-set test
    nearest: str | None = None  # the label an unknown window would otherwise have had

    def __post_init__(self) -> None:
        # (the pipeline builds its events with new_event, without this check: its fields are right by making)
        for name in ("device", "label"):
            if not isinstance(getattr(self, name), str):
                raise DataError(f"ActivityEvent.{name} must be a str, got {getattr(self, name)!r}")
        for name in ("t_start", "t_end", "confidence", "score"):
            v = getattr(self, name)
            if (v is not None or name != "score") and (not isinstance(v, Real) or isinstance(v, bool)):
                raise DataError(f"ActivityEvent.{name} must be a number, got {type(v).__name__} {v!r}")
        if self.nearest is not None and not isinstance(self.nearest, str):
            raise DataError(f"ActivityEvent.nearest must be a label name or None, got {self.nearest!r}")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "t_start": round(float(self.t_start), 3),
            "t_end": round(float(self.t_end), 3),
            "label": self.label,
            "confidence": round(float(self.confidence), 4),
            "device": self.device,
            "calibrated": bool(self.calibrated),
            "upsampled": bool(self.upsampled),
            "known": bool(self.known),
        }
        if self.score is not None:
            d["score"] = round(float(self.score), 4)
        if self.nearest is not None:
            d["nearest"] = self.nearest
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(", ", ": "))

    @classmethod
    def from_dict(cls, d: Any) -> ActivityEvent:
        """Parse and validate one event object; DataError names the missing or mistyped field."""
        if not isinstance(d, dict):
            raise DataError(f"an event must be a JSON object, got {type(d).__name__}")
        for name, typ in EVENT_FIELDS.items():
            if name not in d:
                raise DataError(f"event {d} lacks the field '{name}'; fields are {list(EVENT_FIELDS)}")
            if not isinstance(d[name], typ) or isinstance(d[name], bool):
                raise DataError(f"event field '{name}' must be {typ}, got {d[name]!r}")
            if typ is not str and not math.isfinite(d[name]):  # (JSON readers take NaN and Infinity)
                raise DataError(f"event field '{name}' must be a finite number, got {d[name]!r}")
        if not d["t_end"] >= d["t_start"]:
            raise DataError(f"event ends before it starts: t_start={d['t_start']}, t_end={d['t_end']}")
        if not 0.0 <= d["confidence"] <= 1.0:
            raise DataError(f"event confidence must be in [0, 1], got {d['confidence']}")
        known = d.get("known", True)
        score = d.get("score")
        nearest = d.get("nearest")
        if not isinstance(known, bool):
            raise DataError(f"event field 'known' must be true or false, got {known!r}")
        if score is not None and (not isinstance(score, (int, float)) or isinstance(score, bool)):
            raise DataError(f"event field 'score' must be a number, got {score!r}")
        for flag in EVENT_FLAGS:
            if not isinstance(d.get(flag, False), bool):
                raise DataError(f"event field '{flag}' must be true or false, got {d[flag]!r}")
        if nearest is not None and not isinstance(nearest, str):
            raise DataError(f"event field 'nearest' must be a label name, got {nearest!r}")
        return cls(
            device=d["device"],
            t_start=float(d["t_start"]),
            t_end=float(d["t_end"]),
            label=d["label"],
            confidence=float(d["confidence"]),
            calibrated=d.get("calibrated", False),
            upsampled=d.get("upsampled", False),
            known=known,
            score=None if score is None else float(score),
            nearest=nearest,
        )


_new = object.__new__


def build_events(
    devices: list[str],
    t_start: list[float],
    t_end: list[float],
    labels: list[str],
    confidence: list[float],
    calibrated: bool,
    upsampled: list[bool],
    known: list[bool],
    score: list[float | None],
    nearest: list[str | None],
) -> list[ActivityEvent]:
    """Many events at once, one per row of the equal-length lists: the same objects as
    ``ActivityEvent(devices[i], t_start[i], ...)``, built without the frozen dataclass's per-field
    ``__setattr__`` (a gateway makes thousands a second)."""
    return [
        new_event(dev, t0, t1, lab, conf, calibrated, up, ok, sc, near)
        for dev, t0, t1, lab, conf, up, ok, sc, near in zip(
            devices, t_start, t_end, labels, confidence, upsampled, known, score, nearest, strict=True
        )
    ]


def new_event(
    device: str,
    t_start: float,
    t_end: float,
    label: str,
    confidence: float,
    calibrated: bool,
    upsampled: bool,
    known: bool,
    score: float | None,
    nearest: str | None,
) -> ActivityEvent:
    """One event, the same object as ``ActivityEvent(device, ...)``, built without the frozen dataclass's
    per-field ``__setattr__``."""
    e = _new(ActivityEvent)
    e.__dict__.update(
        device=device,
        t_start=t_start,
        t_end=t_end,
        label=label,
        confidence=confidence,
        calibrated=calibrated,
        upsampled=upsampled,
        known=known,
        score=score,
        nearest=nearest,
    )
    return e


class EventWriter:
    """Appends events to a JSON-lines file (or an open text ``stream``), flushing after every write so a
    crash loses none.

    A file that already holds something must be an events file (its first line an event): anything else, a
    recording given as ``--events`` by mistake above all, raises DataError untouched. A last line cut by a
    crash is dropped (with a warning) before the first new event, so the file stays readable.
    """

    def __init__(self, path: str | Path | None = None, stream: IO[str] | None = None) -> None:
        if (path is None) == (stream is None):
            raise DataError(
                "EventWriter takes exactly one of path (a file name) or stream (an open text stream)"
            )
        if path is not None and (not isinstance(path, str | os.PathLike) or not str(path)):
            raise DataError(f"EventWriter's path must be a file name (a str or Path), got {path!r}")
        if stream is not None and (
            not callable(getattr(stream, "write", None))
            or isinstance(stream, io.RawIOBase | io.BufferedIOBase)
        ):
            raise DataError(
                f"EventWriter's stream must be an open text stream (events are text lines), got "
                f"{type(stream).__name__}: open the file in text mode ('a' or 'w', not 'ab')"
            )
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            if self.path.is_dir():
                raise DataError(f"--events {self.path} is a folder; give a file name for the events")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _check_appendable(self.path)
                self._f: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            except OSError as e:  # a folder that cannot be made (a file on the way, no permission)
                raise DataError(
                    f"cannot write events to {self.path} ({e}); give a file name in a folder you can write to"
                ) from e
            self._own = True
        else:
            assert stream is not None
            self._f, self._own = stream, False
        self.count = 0

    def write(self, events: Iterable[ActivityEvent]) -> None:
        """Append ``events`` (a list, as the pipeline returns them), one line each. Every item is checked
        before the first is written: a bad one raises DataError and none of the call's events is written."""
        if isinstance(events, ActivityEvent) or not isinstance(events, Iterable):
            raise DataError(
                f"EventWriter.write takes a list of ActivityEvent, got {type(events).__name__}: pass the list "
                "Pipeline.feed returned (wrap one event in a list)"
            )
        lines = []
        for e in events:
            if not isinstance(e, ActivityEvent):
                raise DataError(
                    f"EventWriter.write takes ActivityEvent items, got {type(e).__name__} {e!r}: write the "
                    "events a pipeline returned (ActivityEvent.from_dict reads a dict)"
                )
            lines.append(e.to_json() + "\n")
        if not lines:
            return
        if getattr(self._f, "closed", False):
            raise DataError(
                f"this EventWriter ({self.path or 'its stream'}) is closed; open a new one to append events"
            )
        self._f.write("".join(lines))
        self.count += len(lines)
        self._f.flush()

    def close(self) -> None:
        if self._own and not self._f.closed:
            self._f.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_appendable(path: Path) -> None:
    """EventWriter's check of an existing file (see its doc); cuts a crash-cut last line."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        first = f.readline()
        if not first.endswith(b"\n"):  # one line, cut: the crash came during the first event
            log.warning("%s: its only line was cut (a crash mid-write); dropped before appending", path)
            f.truncate(0)
            return
        obj: Any = None
        try:
            obj = json.loads(first)
            ActivityEvent.from_dict(obj)
        except (ValueError, RecursionError, DataError) as e:  # (UnicodeDecodeError is a ValueError)
            what = f"a {obj['format']} file" if isinstance(obj, dict) and "format" in obj else "no event"
            raise DataError(
                f"{path} is not an events file (its first line is {what}: {e}); events are appended to a file "
                "that holds events or to a new one: give another path"
            ) from e
        f.seek(0, 2)
        end = f.tell()
        f.seek(max(0, end - 65536))
        tail = f.read()
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        keep = end - len(tail) + cut + 1 if cut >= 0 else 0
        log.warning(
            "%s: its last line was cut (%d bytes, a crash mid-write); dropped before appending new events",
            path,
            end - keep,
        )
        f.truncate(keep)


def read_events(path: str | Path) -> list[ActivityEvent]:
    """Read an events file; a truncated last line (a crash mid-write) is skipped, any other bad line raises
    DataError naming the line."""
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise DataError(f"read_events takes the path of an events file (a str or Path), got {path!r}")
    p = Path(path)
    if p.is_dir():
        raise DataError(f"{p} is a folder; give the events file (JSON lines written by `mujo-edge stream`)")
    if not p.is_file():
        raise DataError(
            f"events file {p} not found; expected a JSON-lines file written by `mujo-edge stream`"
        )
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise DataError(
            f"{p} is not a text file ({e}); expected a JSON-lines file written by `mujo-edge stream`"
        ) from e
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as e:
            if i == len(lines) and isinstance(e, json.JSONDecodeError):
                break  # a line cut by a crash
            raise DataError(f"{p}, line {i}: not JSON ({e}); each line must be one event object") from e
        try:
            out.append(ActivityEvent.from_dict(obj))
        except DataError as e:
            raise DataError(f"{p}, line {i}: {e}") from e
    return out


# ------------------------------------------------------------------------------------------ label meaning
#: Label names that mean "no activity", normalized (lower case; spaces, underscores and hyphens removed):
#: MM-Fit's ``non_activity``, "no activity", rests, null classes. One list for every stage that asks.
NO_ACTIVITY_NAMES = frozenset({"nonactivity", "noactivity", "rest", "none", "null", "idle", "other"})


def label_key(label: str) -> str:
    """A label name as names are compared for sameness: case and spacing ignored (``"Walk "`` is ``"walk"``)."""
    return " ".join(label.split()).casefold()


def is_unknown_label(label: str) -> bool:
    """Whether ``label`` is named like the open-set answer (``unknown`` in any case), which no activity may be:
    every bundle says it for windows unlike its labels."""
    return label_key(label) == UNKNOWN_LABEL


def is_no_activity(label: str) -> bool:
    """Whether ``label`` names the absence of an activity (``"non_activity"``, ``"No activity"``, ``"rest"``, ...)."""
    return label.lower().replace("_", "").replace(" ", "").replace("-", "") in NO_ACTIVITY_NAMES


# ------------------------------------------------------------------------------------------ scoring
#: A window counts for accuracy when at least this fraction of its samples is one labelled activity.
CLEAN_WINDOW_FRACTION = 0.75


def score_events(
    events: Sequence[ActivityEvent],
    truth_idx: Any,
    names: Sequence[str],
    rate_hz: float,
    labels: Sequence[str],
) -> dict[str, Any]:
    """Accuracy of ``events`` (``t_start``, ``t_end``, ``label``) against per-sample truth.

    ``truth_idx`` (n,) int indexes ``names`` per sample taken at ``t0 + i / rate_hz``, ``t0`` = the first
    event's ``t_start``. A window is scored when >= :data:`CLEAN_WINDOW_FRACTION` of its samples carry one
    label of ``labels`` (the model's classes); others (rests, transitions, boundaries) are only counted.
    Returns ``accuracy`` (None when nothing was scored), ``scored_windows``, ``correct_windows``,
    ``rest_or_transition_windows`` and ``confusion`` (truth -> predicted label -> windows).
    """
    import numpy as np

    truth_idx = np.asarray(truth_idx)
    t0 = min(e.t_start for e in events)
    scored = correct = other = 0
    confusion: dict[str, dict[str, int]] = {}
    for e in events:
        i0 = max(0, round((e.t_start - t0) * rate_hz))
        i1 = min(len(truth_idx), round((e.t_end - t0) * rate_hz))
        if i1 <= i0:
            other += 1
            continue
        counts = np.bincount(truth_idx[i0:i1], minlength=len(names))
        top = int(counts.argmax())
        truth = names[top]
        if truth not in labels or counts[top] < CLEAN_WINDOW_FRACTION * (i1 - i0):
            other += 1
            continue
        scored += 1
        correct += int(e.label == truth)
        row = confusion.setdefault(truth, {})
        row[e.label] = row.get(e.label, 0) + 1
    return {
        "accuracy": round(correct / scored, 4) if scored else None,
        "scored_windows": scored,
        "correct_windows": correct,
        "rest_or_transition_windows": other,
        "confusion": confusion,
    }
