"""Bad input to the public API: a clear MuJo error that says what to pass, never a numpy or Python error from
deep inside, and nothing taken before it is lost (a pipeline's later events are those of a run without it)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mujo_edge.bundle import Bundle
from mujo_edge.calibration import PitCalibration, SupervisedPit
from mujo_edge.errors import BundleError, CalibrationError, ConfigError, DataError, MujoError, ShapeError
from mujo_edge.events import ActivityEvent, EventWriter, read_events
from mujo_edge.features import N_STATS, window_stats
from mujo_edge.heads import Head
from mujo_edge.pipeline import Pipeline
from mujo_edge.samples import SampleBatch, StreamStatus

RATE = 50.0
N = 10  # samples per batch
LABELS = ["down", "up"]
DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "mujo_edge" / "assets" / "default.mujo"


class MeanX:
    """'up' when a window's mean x is above 0 g, else 'down'."""

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-20.0 * windows_g[:, :, 0].mean(axis=1)))
        return np.stack([1 - p, p], axis=1).astype(np.float32)


def _batches(device: str = "w", k: int = 40, host: bool = False, t0: float = 100.0) -> list[SampleBatch]:
    """``k`` batches of ``N`` samples at ``RATE`` (sensor-stamped unless ``host``), x a slow sine."""
    out = []
    for i in range(k):
        t = t0 + (np.arange(N) + i * N) / RATE
        acc = np.zeros((N, 3), np.float32)
        acc[:, 0], acc[:, 2] = np.sin(t), 1.0
        out.append(SampleBatch(device, acc, float(t[-1]) + 0.01, RATE, None if host else t))
    return out


def _events(items: list[SampleBatch], **kw: Any) -> list[ActivityEvent]:
    p = Pipeline(MeanX(), LABELS, **kw)
    got = []
    for b in items:
        got += p.feed(b)
    return got + p.close()


# --- SampleBatch and StreamStatus ---------------------------------------------------------------------
def test_sample_batch_takes_lists_as_arrays() -> None:
    b = SampleBatch(device="w", acc_g=[[0, 0, 1]] * 100, t_recv_s=0.0, rate_hz=50.0)  # type: ignore[arg-type]
    assert isinstance(b.acc_g, np.ndarray) and b.acc_g.dtype == np.float32 and b.acc_g.shape == (100, 3)
    t = SampleBatch("w", np.zeros((3, 3)), 0.0, 50.0, [0.0, 0.02, 0.04]).t_sensor_s  # type: ignore[arg-type]
    assert isinstance(t, np.ndarray) and t.dtype == np.float64
    # a float dtype of the times stays as given (the pipeline treats float32 times on their own path)
    assert (
        SampleBatch("w", np.zeros((2, 3)), 0.0, 50.0, np.zeros(2, np.float32)).t_sensor_s.dtype == np.float32
    )  # type: ignore[union-attr]
    with pytest.raises(ShapeError, match=r"acc_g must be \(n, 3\) in g, got shape \(2, 2\)"):
        SampleBatch("w", [[0, 1], [1, 0]], 0.0, 50.0)  # type: ignore[arg-type]


OK_BATCH: dict[str, Any] = {
    "device": "w",
    "acc_g": np.zeros((2, 3), np.float32),
    "t_recv_s": 1.0,
    "rate_hz": 50.0,
    "t_sensor_s": np.array([0.0, 0.02]),
}


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("acc_g", np.array([["a", "b", "c"]]), ShapeError, r"acc_g must hold real numbers .*got dtype <U1"),
        ("acc_g", np.ones((2, 3), complex), ShapeError, "acc_g must hold real numbers .*complex128"),
        ("acc_g", np.ones((2, 3), object), ShapeError, "acc_g must hold real numbers .*object"),
        ("acc_g", np.ones((2, 3), bool), ShapeError, "acc_g must hold real numbers .*bool"),
        ("acc_g", None, ShapeError, "acc_g must hold real numbers .*NoneType"),
        ("acc_g", [[0, 0, 1], [0, 1]], ShapeError, "acc_g must be an array of numbers"),
        ("t_sensor_s", np.array(["0", "1"]), ShapeError, "t_sensor_s must hold real numbers"),
        ("t_sensor_s", np.zeros(2, complex), ShapeError, "t_sensor_s must hold real numbers"),
        ("rate_hz", "50", ShapeError, "rate_hz must be a number of Hz, got str '50'"),
        ("rate_hz", None, ShapeError, "rate_hz must be a number"),
        ("rate_hz", True, ShapeError, "rate_hz must be a number"),
        ("rate_hz", np.array([50.0]), ShapeError, "rate_hz must be a number"),
        ("rate_hz", -50.0, ShapeError, "rate_hz must be > 0"),
        ("device", 3, DataError, "device must be the stream's name as a str, got int 3"),
        ("device", None, DataError, "device must be the stream's name as a str"),
        ("t_recv_s", "1.0", DataError, "t_recv_s must be a number, got str '1.0'"),
        ("t_recv_s", None, DataError, "t_recv_s must be a number"),
        ("t_recv_s", True, DataError, "t_recv_s must be a number"),
        ("t_recv_s", np.array([1.0, 2.0]), DataError, "t_recv_s must be a number"),
        ("seq", "1", DataError, "seq must be an int or None"),
        ("seq", 1.5, DataError, "seq must be an int or None"),
        ("gap_before", "no", DataError, "gap_before must be True or False"),
    ],
)
def test_sample_batch_refuses_a_field_of_the_wrong_kind(
    field: str, value: object, error: type[MujoError], message: str
) -> None:
    with pytest.raises(error, match=message):
        SampleBatch(**{**OK_BATCH, field: value})


def test_sample_batch_keeps_what_the_pipeline_drops_and_counts() -> None:
    """NaN samples and times, NaN receive times, empty batches and numpy scalars are valid input: the pipeline
    drops (and counts) what it cannot use, so refusing them would lose the rest of the batch."""
    SampleBatch(
        "w", np.full((2, 3), np.nan), float("nan"), np.float64(50.0), np.array([np.nan, 1.0]), seq=np.int64(3)
    )
    SampleBatch("w", np.zeros((0, 3)), 0.0, 50, np.zeros(0), gap_before=np.bool_(True))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"device": 1}, "device must be the stream's name as a str"),
        ({"t_recv_s": "x"}, "t_recv_s must be a number"),
        ({"detail": 3}, "detail must be a str"),
        ({"kind": ["connected"]}, "kind must be one of"),
    ],
)
def test_stream_status_refuses_a_field_of_the_wrong_kind(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        StreamStatus(**{"device": "w", "t_recv_s": 1.0, "kind": "connected", **kw})


# --- Pipeline -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        (
            {"runner": None},
            ConfigError,
            r"runner must be a model with a predict\(windows\) method, got NoneType",
        ),
        ({"labels": "up"}, ConfigError, "labels must be a list of str, got str"),
        ({"labels": None}, ConfigError, "labels must be a list of str, got NoneType"),
        ({"labels": []}, ConfigError, "labels is empty: give one name per model output"),
        ({"labels": [0, 1]}, ConfigError, "labels must be a list of str, got list"),
        ({"smooth": "2"}, ShapeError, "smooth must be a whole number of windows >= 1"),
        ({"smooth": 2.5}, ShapeError, "smooth must be a whole number"),
        ({"smooth": None}, ShapeError, "smooth must be a whole number"),
        ({"window": 0}, ConfigError, "window and hop must be whole numbers"),
        ({"hop": 0}, ConfigError, "window and hop must be whole numbers"),
        ({"hop": 200}, ConfigError, "0 < hop <= window"),
        ({"window": "100"}, ConfigError, "window and hop must be whole numbers"),
        ({"rate_hz": 0}, ConfigError, r"rate_hz \(the grid rate\) must be a number > 0"),
        ({"rate_hz": float("nan")}, ConfigError, "rate_hz"),
        ({"rate_hz": "50"}, ConfigError, "rate_hz"),
        ({"wrist": None}, ShapeError, "wrist must be one of .* or a mapping"),
        ({"wrist": ["left"]}, ShapeError, "wrist must be one of"),
        ({"wrist": {1: "left"}}, ShapeError, "wrist must be one of"),
        ({"now": 1.0}, ConfigError, "now must be a function returning the host time"),
        ({"calibration": "table"}, ConfigError, "calibration must be a PitCalibration"),
        ({"head": "head"}, ConfigError, "head must be a bundle's head"),
        ({"lockstep": "no"}, ConfigError, "lockstep must be True or False"),
    ],
)
def test_pipeline_refuses_settings_that_cannot_work(
    kw: dict[str, Any], error: type[MujoError], message: str
) -> None:
    args: dict[str, Any] = {"runner": MeanX(), "labels": LABELS, **kw}
    with pytest.raises(error, match=message):
        Pipeline(**args)


def test_from_bundle_refuses_what_is_not_an_opened_bundle_or_a_setting_of_one() -> None:
    with pytest.raises(ConfigError, match=r"takes an opened bundle, got str .*Bundle\.open\(path\)"):
        Pipeline.from_bundle(str(DEFAULT_BUNDLE))  # type: ignore[arg-type]
    b = Bundle.open(DEFAULT_BUNDLE)
    with pytest.raises(ConfigError, match="calibrate must be True or False"):
        Pipeline.from_bundle(b, calibrate="no")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="threads must be a whole number >= 1"):
        Pipeline.from_bundle(b, threads=0)
    with pytest.raises(ConfigError, match="open-set keep must be a number in"):
        Pipeline.from_bundle(b, open_set_keep="0.9")  # type: ignore[arg-type]


def test_feed_many_refuses_what_is_not_a_list_of_items() -> None:
    p = Pipeline(MeanX(), LABELS)
    b = _batches(k=1)[0]
    for bad in (None, b, "ab", 3):
        with pytest.raises(ShapeError, match="feed_many takes a list of SampleBatch or StreamStatus items"):
            p.feed_many(bad)  # type: ignore[arg-type]
    assert p.feed_many([b]) == []


@pytest.mark.parametrize("host", [False, True])
@pytest.mark.parametrize("lockstep", [True, False])
def test_a_bad_item_mid_call_loses_no_window_the_items_before_it_completed(
    host: bool, lockstep: bool
) -> None:
    """The items before a bad one are taken; the windows they completed come out with the next call's
    events (here: close), none lost."""
    items = _batches(k=40, host=host)
    want = _events(items, lockstep=lockstep)
    p = Pipeline(MeanX(), LABELS, lockstep=lockstep)
    got: list[ActivityEvent] = []
    for i in range(0, 40, 8):
        chunk = items[i : i + 8]
        if i == 16:  # a window completes in this chunk
            with pytest.raises(
                ShapeError, match=r"Pipeline\.feed takes SampleBatch or StreamStatus, got str"
            ):
                p.feed_many([*chunk, "not a batch"])  # type: ignore[list-item]
        else:
            got += p.feed_many(chunk)
    got += p.close()
    assert got == want and len(want) > 4


def test_refused_input_leaves_every_device_as_if_it_had_never_been_fed() -> None:
    """Bad batches, statuses and items tried between two devices' good batches: each is refused and the
    devices' events are those of the good batches alone."""
    a, b = _batches("a", 40), _batches("b", 40, host=True, t0=300.0)
    want = _events([x for pair in zip(a, b, strict=True) for x in pair])
    p = Pipeline(MeanX(), LABELS)
    got: list[ActivityEvent] = []
    t = 100.0 + np.arange(N) / RATE
    acc = np.zeros((N, 3), np.float32)
    bad_batches: list[dict[str, Any]] = [
        {"acc_g": acc.astype(complex)},
        {"acc_g": acc.astype(str)},
        {"t_sensor_s": t.astype(complex)},  # (taken before: it reset device a's clock and run)
        {"t_sensor_s": t.astype(str)},
        {"t_recv_s": "101"},
        {"t_recv_s": None},
        {"rate_hz": True},
        {"gap_before": "no"},
        {"device": 3},
    ]
    for k, (x, y) in enumerate(zip(a, b, strict=True)):
        got += p.feed(x)
        if k in (5, 12, 25):
            for kw in bad_batches:
                with pytest.raises(MujoError):
                    fields: dict[str, Any] = {
                        "device": "a",
                        "acc_g": acc,
                        "t_recv_s": 101.0,
                        "rate_hz": RATE,
                        "t_sensor_s": t,
                    }
                    p.feed(SampleBatch(**{**fields, **kw}))
            with pytest.raises(ShapeError):
                p.feed(None)  # type: ignore[arg-type]
            with pytest.raises(ShapeError):
                p.feed_many([y, None])  # type: ignore[list-item]
            continue  # (y went in before the bad item: not again)
        got += p.feed(y)
    got += p.close()
    for device in ("a", "b"):
        events = [e for e in want if e.device == device]
        assert [e for e in got if e.device == device] == events and len(events) > 4, device


def _tick(k: int, devices: int = 4) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    t = 100.0 + (np.arange(N)[None, :] + k * N) / RATE + np.arange(devices)[:, None] * 0.003
    acc = np.zeros((devices, N, 3), np.float32)
    acc[:, :, 0], acc[:, :, 2] = np.sin(t + np.arange(devices)[:, None]), 1.0
    return [f"d{i}" for i in range(devices)], acc, t[:, -1] + 0.01, t


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"acc_g": "str"}, "acc_g must hold real numbers"),
        ({"acc_g": "object"}, "acc_g must hold real numbers"),
        ({"acc_g": "complex"}, "acc_g must hold real numbers"),
        ({"t_sensor_s": "str"}, "t_sensor_s must hold real numbers"),
        ({"t_sensor_s": "complex"}, "t_sensor_s must hold real numbers"),
        ({"t_recv_s": "str"}, "t_recv_s must hold real numbers"),
        ({"rate_hz": "50"}, "rate_hz must be a number > 0"),
        ({"rate_hz": True}, "rate_hz must be a number > 0"),
        ({"devices": "abcd"}, "devices must be a list of D device names"),
        ({"devices": None}, "devices must be a list of D device names"),
    ],
)
def test_feed_arrays_refuses_values_of_the_wrong_kind_before_taking_any(
    change: dict[str, Any], message: str
) -> None:
    ticks = [_tick(k) for k in range(40)]
    ref = Pipeline(MeanX(), LABELS)
    want: list[ActivityEvent] = []
    for names, acc, recv, t in ticks:
        want += ref.feed_arrays(names, acc, recv, RATE, t)
    want += ref.close()
    p = Pipeline(MeanX(), LABELS)
    got: list[ActivityEvent] = []
    for k, (names, acc, recv, t) in enumerate(ticks):
        if k in (3, 20):  # known devices: the array path takes rows without a SampleBatch
            args: dict[str, Any] = {
                "devices": names,
                "acc_g": acc,
                "t_recv_s": recv,
                "rate_hz": RATE,
                "t_sensor_s": t,
            }
            for key, value in change.items():
                args[key] = args[key].astype(value) if value in ("str", "object", "complex") else value
            with pytest.raises(ShapeError, match=message):
                p.feed_arrays(**args)
        got += p.feed_arrays(names, acc, recv, RATE, t)
    got += p.close()
    assert got == want and len(want) > 4


def test_note_calls_and_stats_refuse_values_of_the_wrong_kind() -> None:
    p = Pipeline(MeanX(), LABELS)
    with pytest.raises(DataError, match="note_decode_errors takes the device name"):
        p.note_decode_errors("w", "x")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="an int >= 0"):
        p.note_decode_errors("w", -1)
    with pytest.raises(DataError, match="note_failure takes the device name and the reason as str"):
        p.note_failure(3, "lost")  # type: ignore[arg-type]
    p.note_decode_errors("w", 2)
    assert p.stats["w"].decode_errors == 2
    for q in ("a", 2.0, float("nan")):
        with pytest.raises(ConfigError, match=r"latency quantile q must be a number in \[0, 1\]"):
            p.stats["w"].latency_quantile_ms(q)  # type: ignore[arg-type]
    assert p.stats["w"].latency_quantile_ms(0.5) is None  # (no latencies: a replay)


# --- calibration --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pit() -> PitCalibration:
    rng = np.random.default_rng(0)
    return PitCalibration.fit(rng.normal(size=(200, 3)), 2 * rng.normal(size=(200, 3)), n_quantiles=16)


@pytest.mark.parametrize(
    "x",
    [
        np.array([["a", "b", "c"]]),
        np.array([[None, 1, 2]], object),
        np.ones((2, 3), complex),
        np.ones((2, 3), bool),
    ],
)
def test_pit_apply_refuses_values_that_are_not_real_numbers(pit: PitCalibration, x: np.ndarray) -> None:
    with pytest.raises(CalibrationError, match=r"input must hold real numbers .*pass a numeric array"):
        pit.apply(x)
    with pytest.raises(CalibrationError, match="input must hold real numbers"):
        SupervisedPit({0: pit}).apply(x, np.zeros(len(x), np.int64))


def test_pit_tables_refuse_arguments_of_the_wrong_kind(pit: PitCalibration) -> None:
    src = np.random.default_rng(1).normal(size=(50, 3))
    for n in ("16", 16.5, None, True):
        with pytest.raises(CalibrationError, match="n_quantiles must be a whole number from 2 to 65536"):
            PitCalibration.fit(src, src, n_quantiles=n)  # type: ignore[arg-type]
    with pytest.raises(
        CalibrationError, match="from 2 to 65536, got 1000000000000"
    ):  # (was numpy's MemoryError)
        PitCalibration.fit(src, src, n_quantiles=10**12)
    with pytest.raises(CalibrationError, match="n_source must be a whole number >= 0"):
        PitCalibration(pit.source_q, pit.target_q, n_source="x")  # type: ignore[arg-type]
    with pytest.raises(CalibrationError, match="n_source must be a whole number >= 0"):
        PitCalibration(pit.source_q, pit.target_q, n_source=-1)
    with pytest.raises(
        CalibrationError,
        match=r"source_q \(the \(C, Q\) quantile table\) must hold real numbers .*got dtype <U",
    ):
        PitCalibration(pit.source_q.astype(str), pit.target_q)
    with pytest.raises(CalibrationError, match="C >= 1"):
        PitCalibration(np.zeros((0, 4)), np.zeros((0, 4)))
    for n_source in ("x", None):
        with pytest.raises(CalibrationError, match="n_source must be a whole number >= 0"):
            PitCalibration.from_dict({**pit.to_dict(), "n_source": n_source})
    for tables, message in (
        ([pit], "takes a mapping class index -> PitCalibration, got list"),
        ({0: "table"}, "maps int class indices to PitCalibration tables, got 0 -> str"),
        ({"a": pit}, "maps int class indices"),
    ):
        with pytest.raises(CalibrationError, match=message):
            SupervisedPit(tables)  # type: ignore[arg-type]


# --- window statistics and heads ----------------------------------------------------------------------
def test_window_stats_refuses_what_is_not_numbers_and_takes_no_windows() -> None:
    for x in (np.full((1, 20, 3), "a"), np.zeros((1, 20, 3)).astype(str), np.ones((1, 20, 3), complex)):
        with pytest.raises(ShapeError, match=r"the windows of window statistics .* must hold real numbers"):
            window_stats(x)
    with pytest.raises(ShapeError, match=r"the windows of window statistics .* must be an array of numbers"):
        window_stats([[[0, 0, 1]] * 20, [[0, 0, 1]] * 19])  # type: ignore[arg-type]
    assert window_stats(np.zeros((0, 20, 3))).shape == (0, N_STATS)


def _head() -> Head:
    return Head(
        "logits",
        ["a", "b"],
        prototypes=np.eye(2, 4, dtype=np.float32),
        threshold=0.5,
        keep_curve=np.array([[0.5, 0.9], [1.0, 0.1]]),
    )


def test_head_refuses_arguments_of_the_wrong_kind() -> None:
    h = _head()
    for keep in ("0.9", True, None):
        with pytest.raises(ConfigError, match=r"open-set keep must be a number in \[0.5, 1\]"):
            h.at_keep(keep)  # type: ignore[arg-type]
    assert h.at_keep(0.75).threshold == pytest.approx(0.5)
    with pytest.raises(ShapeError, match="open-set scores must be numbers"):
        h.known(np.array(["a"]))
    with pytest.raises(
        ShapeError, match=r"this head reads \(B, 4\) embeddings of numbers, got float64 \(2, 7\)"
    ):
        h.scores(np.zeros((2, 7)))
    with pytest.raises(ShapeError, match=r"reads \(B, 4\) embeddings"):
        h(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=r"reads \(B, C\) logits of numbers"):
        h(np.zeros(2), np.zeros((2, 4)))
    with pytest.raises(ShapeError, match="2 rows of logits but 3 embeddings"):
        h(np.zeros((2, 2)), np.zeros((3, 4)))
    probs, scores = h(np.zeros((2, 2)), np.ones((2, 4)))
    assert probs.shape == (2, 2) and scores.shape == (2,)


# --- events -------------------------------------------------------------------------------------------
EVENT: dict[str, Any] = {"t_start": 1.0, "t_end": 3.0, "label": "up", "confidence": 0.9, "device": "w"}


def test_activity_event_refuses_fields_of_the_wrong_kind() -> None:
    for kw, message in (
        ({"device": 3}, "device must be a str"),
        ({"t_start": "1"}, "t_start must be a number"),
        ({"confidence": None}, "confidence must be a number"),
        ({"score": "high"}, "score must be a number"),
        ({"nearest": 1}, "nearest must be a label name or None"),
    ):
        with pytest.raises(DataError, match=message):
            ActivityEvent(**{**EVENT, **kw})
    assert ActivityEvent(**EVENT, score=np.float32(0.5)).to_dict()["score"] == 0.5


def test_event_lines_refuse_values_no_writer_writes() -> None:
    for kw, message in (
        ({"t_end": float("inf")}, "'t_end' must be a finite number"),
        ({"t_start": float("nan")}, "'t_start' must be a finite number"),
        ({"calibrated": "no"}, "'calibrated' must be true or false"),
        ({"upsampled": 1}, "'upsampled' must be true or false"),
    ):
        with pytest.raises(DataError, match=message):
            ActivityEvent.from_dict({**EVENT, **kw})


def test_event_writer_refuses_bad_arguments_and_writes_nothing_of_a_bad_call(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="exactly one of path"):
        EventWriter()
    with pytest.raises(DataError, match="path must be a file name"):
        EventWriter(3)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"stream must be an open text stream.*text mode"):
        EventWriter(stream=io.BytesIO())  # type: ignore[arg-type]
    e = ActivityEvent(**EVENT)
    out = io.StringIO()
    w = EventWriter(stream=out)
    for bad, message in (
        (None, "takes a list of ActivityEvent, got NoneType"),
        (e, "takes a list of ActivityEvent, got ActivityEvent"),
        ([e, {"label": "up"}], "takes ActivityEvent items, got dict"),
        ([e, None], "takes ActivityEvent items, got NoneType"),
    ):
        with pytest.raises(DataError, match=message):
            w.write(bad)  # type: ignore[arg-type]
    assert out.getvalue() == "" and w.count == 0
    w.write([e])
    assert w.count == 1 and out.getvalue() == e.to_json() + "\n"
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as fw:
        fw.write([e])
    with pytest.raises(DataError, match="is closed; open a new one"):
        fw.write([e])
    assert read_events(path) == [e]
    with pytest.raises(
        DataError, match=r"cannot write events to .*File exists.*give a file name in a folder"
    ):
        EventWriter(path / "more.jsonl")  # (under a file)


def test_events_files_that_are_not_text_or_nest_deeply_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="read_events takes the path of an events file"):
        read_events(None)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="is a folder; give the events file"):
        read_events(tmp_path)
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00bad\n")
    with pytest.raises(DataError, match="is not a text file"):
        read_events(binary)
    with pytest.raises(DataError, match="is not an events file"):
        EventWriter(binary)
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "\n" + "{}\n")
    with pytest.raises(DataError, match="line 1: not JSON"):
        read_events(deep)
    with pytest.raises(DataError, match="is not an events file"):
        EventWriter(deep)


# --- bundles ------------------------------------------------------------------------------------------
def test_bundle_calls_refuse_arguments_of_the_wrong_kind(tmp_path: Path) -> None:
    for path in (None, 3, b"model.mujo", ""):
        with pytest.raises(BundleError, match=r"Bundle.open takes the path of a .mujo file"):
            Bundle.open(path)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="allow_unhashed must be True or False"):
        Bundle.open(DEFAULT_BUNDLE, allow_unhashed="no")  # type: ignore[arg-type]
    b = Bundle.open(DEFAULT_BUNDLE)
    with pytest.raises(BundleError, match=r"has no file \[\]; it holds"):
        b.file_bytes([])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="fmt must be a str or None, got int 3"):
        b.model(3)  # type: ignore[arg-type]
    for threads in (0, "2", True, 1.5):
        with pytest.raises(ConfigError, match="threads must be a whole number >= 1"):
            b.runner(threads=threads)  # type: ignore[arg-type]
    with pytest.raises(
        ShapeError, match=r"windows \(\(B, WINDOW, 3\) in g\) must hold real numbers .*got dtype <U1"
    ):
        b.classify(np.full((1, b.window, 3), "a"))
    with pytest.raises(ConfigError, match="runner must be one of this bundle's runners"):
        b.classify(np.zeros((1, b.window, 3), np.float32), runner="tflite")  # type: ignore[arg-type]
    runner = b.runner("tflite")  # (its own predict / run: numpy's error for strings before)
    for bad in (
        np.full((1, b.window, 3), "a"),
        np.zeros((2, b.window, 3), complex),
        [[["x", 0, 1]] * b.window],
    ):
        for call in (runner.predict, runner.run):
            with pytest.raises(ShapeError, match="model input must hold real numbers"):
                call(bad)
    assert runner.predict([[[0.0, 0.0, 1.0]] * b.window]).shape == (1, len(b.labels))  # (a list is an array)
    with pytest.raises(BundleError, match=r"derive: out must be the path of the new \.mujo file"):
        b.derive(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="derive: head must be a Head"):
        b.derive(tmp_path / "x.mujo", head="head")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"derive: calibration must be a PitCalibration\.to_dict"):
        b.derive(tmp_path / "x.mujo", calibration=[1, 2])
    assert not (tmp_path / "x.mujo").exists()
