"""``mujo-edge export --labels / --labels-file``: what the label texts parse into, and clear refusals."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mujo_edge.cli.export import _label_texts
from mujo_edge.errors import ConfigError, DataError


def _args(**kw) -> argparse.Namespace:
    base = {"labels": None, "labels_file": None, "pretrained": Path("run")}
    return argparse.Namespace(**{**base, **kw})


def test_labels_and_labels_file_merge_phrasings(tmp_path: Path) -> None:
    f = tmp_path / "labels.txt"
    f.write_text(
        "# my activities\nwalking: walking outside; a brisk walk\nbrushing teeth\n", encoding="utf-8"
    )
    out = _label_texts(_args(labels="cycling, walking", labels_file=f))
    assert out == {
        "cycling": ["cycling"],
        "walking": ["walking", "walking outside", "a brisk walk"],
        "brushing teeth": ["brushing teeth"],
    }
    j = tmp_path / "labels.json"
    j.write_text('{"rowing": ["rowing machine", "indoor rowing"], "yoga": ["yoga"]}', encoding="utf-8")
    assert _label_texts(_args(labels_file=j)) == {
        "rowing": ["rowing machine", "indoor rowing"],
        "yoga": ["yoga"],
    }
    assert _label_texts(_args()) is None


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        ({"labels": "walking"}, ConfigError, "at least two labels"),
        ({"labels": " , "}, ConfigError, "named no label"),
        ({"labels": "walking, unknown"}, ConfigError, "'unknown' is the open-set answer"),
        ({"labels": "walking, Unknown"}, ConfigError, "'Unknown': 'unknown' is the open-set answer"),
        ({"labels": "walking, Walking, cycling"}, ConfigError, "'walking' and 'Walking' differ only in case"),
        ({"labels": "walking, cycling", "pretrained": None}, ConfigError, "needs --pretrained"),
        ({"labels_file": Path("no/such/file.txt")}, DataError, "cannot read --labels-file"),
    ],
)
def test_bad_labels_are_refused(kw, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        _label_texts(_args(**kw))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"": ["x"], "cycling": ["bike"]}', "a label with no name"),
        (b'{"  ": ["x"], "cycling": ["bike"]}', "a label with no name"),
        (b'["walking", "cycling"]', "expected a JSON object label -> \\[phrases\\].*got a JSON list"),
        (b"\xff\xfewalking\n", "is not UTF-8 text"),
    ],
)
def test_bad_labels_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "labels.txt"
    f.write_bytes(content)
    with pytest.raises(DataError, match=message):
        _label_texts(_args(labels_file=f))
