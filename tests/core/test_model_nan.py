"""A model that returns NaN for some windows (a damaged model): those windows come out ``unknown`` with
confidence 0, counted in the stats and logged once, and the events stay writable and readable."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mujo_edge.events import EventWriter, read_events
from mujo_edge.heads import Head
from mujo_edge.pipeline import Pipeline
from mujo_edge.samples import SampleBatch

LABELS = ["still", "moving"]


class Damaged:
    """Probabilities from the window's spread, NaN for every window whose mean x is above 0."""

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        s = windows_g.std(axis=(1, 2))
        p = np.stack([1.0 / (1.0 + s), s / (1.0 + s)], axis=1).astype(np.float32)
        p[windows_g[:, :, 0].mean(axis=1) > 0] = np.nan
        return p


class NanEmbedding:
    """Finite logits, and an embedding that is NaN where the window's mean x is above 0 (the open-set
    score then is NaN)."""

    def run(self, windows_g: np.ndarray, embedding: bool = True):
        m = windows_g[:, :, 0].mean(axis=1)
        logits = np.stack([-m, m], axis=1).astype(np.float32)
        emb = np.stack([np.ones_like(m), np.where(m > 0, np.nan, m)], axis=1).astype(np.float32)
        return logits, (emb if embedding else None)


def _motion(seconds: float, lifted: tuple[float, float] | None = None) -> np.ndarray:
    """50 Hz samples whose x is +0.5 g in the ``lifted`` span of seconds (default: the second half), else
    -0.5 g."""
    t = np.arange(int(50 * seconds)) / 50.0
    a, b = lifted if lifted is not None else (seconds / 2, seconds)
    x = np.where((t >= a) & (t < b), 0.5, -0.5)
    return np.stack([x, 0.2 * np.sin(2 * np.pi * t), np.ones_like(t)], 1).astype(np.float32)


def _run(
    model: object, batch: int, head: Head | None = None, smooth: int = 1, acc: np.ndarray | None = None
) -> tuple[Pipeline, list]:
    """``acc`` (default: 40 s of :func:`_motion`) fed ``batch`` samples at a time; (pipeline, events)."""
    acc = _motion(40.0) if acc is None else acc
    t = np.arange(len(acc)) / 50.0
    p = Pipeline(model, LABELS, head=head, smooth=smooth)
    events = []
    for a in range(0, len(acc), batch):
        b = min(len(acc), a + batch)
        events += p.feed(SampleBatch("w", acc[a:b], 100.0 + t[b - 1], 50.0, 1e4 + t[a:b]))
    return p, events + p.close()


@pytest.mark.parametrize("batch", [25, 500])  # (one window per call, and many: both classify paths)
def test_windows_the_model_gives_nan_for_come_out_unknown_and_are_counted(batch, tmp_path, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="mujo_edge.pipeline"):
        p, events = _run(Damaged(), batch)
    failed = [e for e in events if e.t_end - 100.0 > 21.0]  # every window with samples of the second half
    fine = [e for e in events if e.t_end - 100.0 <= 20.0]
    assert failed and fine
    assert all(e.label == "unknown" and not e.known and e.confidence == 0.0 for e in failed)
    assert all(e.score is None and e.nearest is None for e in failed)
    assert all(e.known and e.label in LABELS and 0.5 <= e.confidence <= 1.0 for e in fine)
    st = p.stats["w"]
    assert st.model_errors == st.unknown == st.label_counts["unknown"] == sum(not e.known for e in events)
    assert st.last_confidence == 0.0 and st.last_label == "unknown"
    said = [r for r in caplog.records if "returned NaN" in r.getMessage()]
    assert len(said) == 1 and "mujo-edge export" in said[0].getMessage()
    w = EventWriter(tmp_path / "events.jsonl")
    w.write(events)
    w.close()
    back = read_events(tmp_path / "events.jsonl")  # (the file rounds the confidence to 4 decimals)
    assert [(e.label, e.known, e.score, e.nearest) for e in back] == [
        (e.label, e.known, e.score, e.nearest) for e in events
    ]
    assert [e.confidence for e in back] == pytest.approx([e.confidence for e in events], abs=1e-4)


def test_both_classify_paths_give_the_same_events_for_a_damaged_model() -> None:
    one, a = _run(Damaged(), 25)
    many, b = _run(Damaged(), 500)
    assert [(e.t_start, e.label, e.confidence, e.known, e.score) for e in a] == [
        (e.t_start, e.label, e.confidence, e.known, e.score) for e in b
    ]
    a_st, b_st = one.stats["w"].to_dict(), many.stats["w"].to_dict()
    assert a_st.pop("batches_in") == 80 and b_st.pop("batches_in") == 4
    assert a_st == b_st


@pytest.mark.parametrize("batch", [25, 500])
def test_a_nan_open_set_score_is_no_answer_either(batch) -> None:
    head = Head(
        "logits",
        LABELS,
        prototypes=np.array([[1.0, -0.5], [1.0, 0.5]], np.float32),
        threshold=0.5,
        open_kind="cosine",
    )
    p, events = _run(NanEmbedding(), batch, head=head)
    failed = [e for e in events if e.t_end - 100.0 > 21.0]
    assert failed and all(not e.known and e.score is None and e.confidence == 0.0 for e in failed)
    assert all(e.known and e.score is not None and e.score == e.score for e in events if e not in failed)
    assert p.stats["w"].model_errors == len(failed)


def test_in_a_lockstep_tick_only_the_windows_given_nan_are_unknown() -> None:
    t = np.arange(50 * 30) / 50.0
    still = np.stack([-0.5 + 0 * t, 0.2 * np.sin(2 * np.pi * t), np.ones_like(t)], 1).astype(np.float32)
    moved = still.copy()
    moved[:, 0] = 0.5  # the Damaged model gives NaN for every window of this device
    acc = {f"w{d}": (moved if d == 2 else still) for d in range(6)}
    p = Pipeline(Damaged(), LABELS)
    events = []
    for a in range(0, len(t), 25):  # one notification per device per tick, as a gateway gets them
        b = a + 25
        tick = [SampleBatch(name, x[a:b], 100.0 + t[b - 1], 50.0, 1e4 + t[a:b]) for name, x in acc.items()]
        events += p.feed_many(tick)
    events += p.close()
    for name in acc:
        mine = [e for e in events if e.device == name]
        assert mine
        if name == "w2":
            assert all(e.label == "unknown" and e.confidence == 0.0 for e in mine)
            assert p.stats[name].model_errors == len(mine)
        else:
            assert all(e.known and e.label in LABELS for e in mine) and p.stats[name].model_errors == 0


class Burst:
    """The Damaged model's probabilities, NaN only for windows that reach into seconds 10-12 (mean x lifted
    there), infinity instead of NaN with ``inf``."""

    def __init__(self, inf: bool = False) -> None:
        self.inf = inf

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        s = windows_g.std(axis=(1, 2))
        p = np.stack([1.0 / (1.0 + s), s / (1.0 + s)], axis=1).astype(np.float32)
        p[windows_g[:, :, 0].max(axis=1) > 0] = np.inf if self.inf else np.nan
        return p


def _burst_run(model: object, batch: int, smooth: int) -> tuple[Pipeline, list]:
    """30 s whose seconds 10-12 the Burst model fails on."""
    return _run(model, batch, smooth=smooth, acc=_motion(30.0, lifted=(10.0, 12.0)))


@pytest.mark.parametrize("inf", [False, True])
@pytest.mark.parametrize("batch", [25, 1500])
def test_with_smoothing_only_the_windows_the_model_failed_on_are_unknown(batch, inf) -> None:
    raw, plain = _burst_run(Burst(inf), batch, smooth=1)
    smoothed, events = _burst_run(Burst(inf), batch, smooth=5)
    failed = raw.stats["w"].model_errors
    assert failed == sum(not e.known for e in plain) > 0
    # a failed window is left out of the mean: it does not void the next four windows
    assert smoothed.stats["w"].model_errors == failed == sum(not e.known for e in events)
    assert [e.known for e in events] == [e.known for e in plain]


@pytest.mark.parametrize("batch", [25, 1500])
def test_infinite_probabilities_are_no_answer_either(batch, tmp_path) -> None:
    p, events = _burst_run(Burst(inf=True), batch, smooth=1)
    failed = [e for e in events if not e.known]
    assert failed and all(e.label == "unknown" and e.confidence == 0.0 for e in failed)
    assert p.stats["w"].model_errors == len(failed)
    w = EventWriter(tmp_path / "events.jsonl")
    w.write(events)
    w.close()
    assert len(read_events(tmp_path / "events.jsonl")) == len(events)


def test_the_stream_output_shows_no_nearest_label_for_a_window_without_answer() -> None:
    import io

    from rich.console import Console

    from mujo_edge.cli.live_view import LiveView, print_event

    p, events = _burst_run(Burst(), 1500, smooth=1)
    failed = [e for e in events if not e.known]
    buf = io.StringIO()
    con = Console(file=buf, width=160)
    for e in failed:
        print_event(con, e)
    view = LiveView(con, p, ["w"], enabled=False)
    view.add_events(failed)
    shown = buf.getvalue() + str(view.render().renderables[1])
    assert "unknown" in shown and "None" not in shown
