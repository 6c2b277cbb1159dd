"""Event lines: schema, rounding, writer flushing, reader validation and crash tolerance."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mujo_edge.errors import DataError
from mujo_edge.events import EVENT_FIELDS, ActivityEvent, EventWriter, build_events, read_events

E = ActivityEvent("watch-1", 1234.56789, 1236.56789, "ABD", 0.912345678, calibrated=True)


def test_event_json_schema_and_rounding() -> None:
    d = json.loads(E.to_json())
    assert d == {
        "t_start": 1234.568,
        "t_end": 1236.568,
        "label": "ABD",
        "confidence": 0.9123,
        "device": "watch-1",
        "calibrated": True,
        "upsampled": False,
        "known": True,
    }
    assert set(EVENT_FIELDS) <= set(d)
    assert ActivityEvent.from_dict(d) == ActivityEvent(
        "watch-1", 1234.568, 1236.568, "ABD", 0.9123, True, False
    )


def test_unknown_event_round_trip_and_old_lines() -> None:
    u = ActivityEvent("w", 10.0, 12.0, "unknown", 0.61274, known=False, score=0.401234, nearest="ABD")
    d = json.loads(u.to_json())
    assert (d["label"], d["known"], d["score"], d["nearest"], d["confidence"]) == (
        "unknown",
        False,
        0.4012,
        "ABD",
        0.6127,
    )
    assert ActivityEvent.from_dict(d) == ActivityEvent(
        "w", 10.0, 12.0, "unknown", 0.6127, known=False, score=0.4012, nearest="ABD"
    )
    old = {k: v for k, v in json.loads(E.to_json()).items() if k != "known"}  # a line from before
    assert ActivityEvent.from_dict(old).known is True
    with pytest.raises(DataError, match="'known' must be true or false"):
        ActivityEvent.from_dict({**d, "known": "no"})


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"label": None}, "field 'label'"),
        ({"confidence": 1.5}, r"confidence must be in \[0, 1\]"),
        ({"t_end": 1000.0}, "ends before it starts"),
        ({"t_start": True}, "field 't_start'"),
    ],
)
def test_bad_events_are_refused_with_the_reason(patch: dict, message: str) -> None:
    d = {**E.to_dict(), **patch}
    with pytest.raises(DataError, match=message):
        ActivityEvent.from_dict(d)
    d = E.to_dict()
    del d["device"]
    with pytest.raises(DataError, match="lacks the field 'device'"):
        ActivityEvent.from_dict(d)


def test_writer_flushes_each_write_and_reader_skips_a_cut_last_line(tmp_path: Path) -> None:
    p = tmp_path / "ev" / "events.jsonl"
    w = EventWriter(p)
    w.write([E, E])
    assert len(p.read_text().splitlines()) == 2  # on disk before close
    w.write([])
    w.close()
    with p.open("a") as f:
        f.write('{"t_start": 1, "t_e')  # a crash mid-line
    assert read_events(p) == [ActivityEvent.from_dict(E.to_dict())] * 2
    p.write_text(E.to_json() + "\nnot json\n" + E.to_json() + "\n")
    with pytest.raises(DataError, match="line 2: not JSON"):
        read_events(p)
    with pytest.raises(DataError, match="not found"):
        read_events(tmp_path / "missing.jsonl")


def test_writer_appends_only_to_an_events_file_and_after_a_cut_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # a crash cut the last event: appending starts on a fresh line, so the whole file reads again
    p = tmp_path / "events.jsonl"
    p.write_text(E.to_json() + "\n" + E.to_json()[:20])
    with EventWriter(p) as w:
        w.write([E])
    assert read_events(p) == [ActivityEvent.from_dict(E.to_dict())] * 2
    assert "last line was cut" in caplog.text
    # ... also when the cut line was the only one
    p.write_text(E.to_json()[:20])
    with EventWriter(p) as w:
        w.write([E])
    assert read_events(p) == [ActivityEvent.from_dict(E.to_dict())]
    # a recording (or anything not events) given as the events file is refused and left as it was
    rec = tmp_path / "rec.jsonl"
    header = '{"format": "mujo-edge-ble-recording", "version": 1, "device": "w", "profile": "polar"}\n'
    rec.write_text(header + '{"t": 0.0, "c": "x", "d": "00"}\n')
    with pytest.raises(DataError, match=r"is not an events file .*a mujo-edge-ble-recording file"):
        EventWriter(rec)
    assert rec.read_text() == header + '{"t": 0.0, "c": "x", "d": "00"}\n'
    with pytest.raises(DataError, match="is a folder"):
        EventWriter(tmp_path)


def test_one_list_of_no_activity_names() -> None:
    from mujo_edge.events import is_no_activity

    for name in ("non_activity", "No activity", "rest", "NULL", "idle", "other", "non-activity"):
        assert is_no_activity(name), name
    for name in ("ABD", "walking", "rest_pause_squat"):
        assert not is_no_activity(name), name


def test_artifact_format_check_says_what_and_where() -> None:
    import pytest

    from mujo_edge.errors import DataError
    from mujo_edge.provenance import check_format

    ok = {"format": "x-thing", "schema_version": 2}
    assert check_format(ok, "x-thing", (1, 2), DataError, "f.json", "re-create it") == ok
    with pytest.raises(DataError, match=r"f\.json: expected format 'x-thing', found 'y'; re-create it"):
        check_format({"format": "y"}, "x-thing", 1, DataError, "f.json", "re-create it")
    with pytest.raises(
        DataError, match=r"schema_version 3 is not supported .* \(it reads 1, 2\); it was written by a newer"
    ):
        check_format({"format": "x-thing", "schema_version": 3}, "x-thing", (1, 2), DataError, "f", "fix")
    with pytest.raises(DataError, match=r"schema_version 0 is not supported .* \(it reads 1, 2\); fix\.$"):
        check_format({"format": "x-thing", "schema_version": 0}, "x-thing", (1, 2), DataError, "f", "fix")
    with pytest.raises(DataError, match=r"f: expected schema 'x-thing', found None; fix\."):
        check_format(
            {"format": "x-thing", "version": 1}, "x-thing", 1, DataError, "f", "fix", "version", "schema"
        )
    with pytest.raises(DataError, match="schema_version True"):
        check_format({"format": "x-thing", "schema_version": True}, "x-thing", 1, DataError, "f", "fix")


def test_build_events_makes_the_same_frozen_events() -> None:
    built = build_events(
        ["w1", "w2"],
        [1.0, 2.0],
        [3.0, 4.0],
        ["ABD", "unknown"],
        [0.9, 0.4],
        True,
        [False, True],
        [True, False],
        [0.95, 0.2],
        [None, "ABD"],
    )
    made = [
        ActivityEvent("w1", 1.0, 3.0, "ABD", 0.9, True, False, known=True, score=0.95),
        ActivityEvent("w2", 2.0, 4.0, "unknown", 0.4, True, True, known=False, score=0.2, nearest="ABD"),
    ]
    assert built == made and [hash(e) for e in built] == [hash(e) for e in made]
    assert [e.to_json() for e in built] == [e.to_json() for e in made]
    assert vars(built[1]).keys() == {f.name for f in dataclasses.fields(ActivityEvent)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].label = "x"  # type: ignore[misc]
