"""YouTube-style chapter files: ``0:00 Warm-up`` per line -> labelled time spans, titles normalized as the paper does.

Format (one chapter per line, as in a YouTube description)::

    0:00 Warm-up
    1:35 Squats with dumbbells
    4:10 - 3x12 Lunges (L/R)
    1:02:03 Cool down

A line is a time (``M:SS``, ``MM:SS`` or ``H:MM:SS``, optionally in brackets) followed by the title; a ``-``,
``|`` or ``:`` between them is dropped. Empty lines and lines starting with ``#`` are skipped. Times must
increase. A chapter lasts until the next one starts; the last one until the video ends.

Titles are normalized as the MuJo paper describes for its chapter labels: abbreviations expanded (``l`` ->
``left``, ``db`` -> ``dumbbell``, ``reps`` -> ``repetitions``, :data:`mujo_edge.training.text.ABBREVIATIONS`),
symbols removed (:func:`mujo_edge.training.text.normalize_text`), then stop words (:data:`STOP_WORDS`) and
numbers removed: ``"4:10 - 3x12 Lunges (L/R)"`` -> ``"lunges left right"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mujo_edge.errors import DataError
from mujo_edge.training.text import normalize_text

#: Words dropped from chapter titles (English function words; direction words such as up, down, left, right,
#: over and under stay: they tell exercises apart).
STOP_WORDS: frozenset[str] = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "without",
        "into",
        "onto",
        "as",
        "is",
        "are",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "your",
        "you",
        "my",
        "our",
        "their",
        "his",
        "her",
        "we",
        "i",
        "me",
        "us",
        "them",
        "they",
        "so",
        "then",
        "than",
        "too",
        "very",
        "just",
        "now",
        "here",
        "there",
        "times",
    ]
)

_LINE = re.compile(
    r"^\s*[\(\[]?(?P<time>(?:\d{1,2}:)?\d{1,2}:\d{2})[\)\]]?\s*(?:[-\u2013\u2014|:]\s*)?(?P<title>.*?)\s*$"
)


@dataclass(frozen=True)
class Chapter:
    """One chapter.

    Attributes:
        start_s: start time, seconds from the video's start.
        title: the title as written.
        label: the normalized title (the label name and the text that is embedded).
        line: line number in the chapter file (1-based).
    """

    start_s: float
    title: str
    label: str
    line: int


def normalize_title(title: str) -> str:
    """A chapter title normalized for labels and embedding: abbreviations expanded, symbols, stop words and
    numbers removed. ``"Round 2: DB Curls x 12 reps!"`` -> ``"round dumbbell curls repetitions"``."""
    words = normalize_text(title).split()
    return " ".join(w for w in words if w not in STOP_WORDS and not w.isdigit())


def _seconds(text: str) -> float:
    parts = [int(p) for p in text.split(":")]
    h, m, s = ([0] * (3 - len(parts)) + parts)[-3:]
    return float(h * 3600 + m * 60 + s)


def parse_chapters(text: str, source: str = "chapters") -> list[Chapter]:
    """Parse a chapter file's text.

    Raises:
        DataError: a line is not ``TIME TITLE``, seconds or minutes are 60 or more, a title is empty (also after
            normalization), times do not increase, or there are no chapters. The message names the line.
    """
    chapters: list[Chapter] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            raise DataError(
                f"{source}, line {no}: {line!r} is not a chapter line. Write one chapter per line as TIME TITLE, "
                "for example '0:00 Warm-up' or '1:02:03 Squats with dumbbells'"
            )
        fields = [int(p) for p in m["time"].split(":")]
        if any(f >= 60 for f in fields[1:]) or (len(fields) == 3 and fields[0] > 99):
            raise DataError(
                f"{source}, line {no}: {m['time']!r} is not a time (minutes and seconds go up to 59). "
                "Write M:SS, MM:SS or H:MM:SS"
            )
        title = m["title"]
        if not title:
            raise DataError(
                f"{source}, line {no}: the chapter at {m['time']} has no title. Add one after the time"
            )
        label = normalize_title(title) or normalize_text(title)
        if not label:
            raise DataError(
                f"{source}, line {no}: the title {title!r} has no letters or digits left after normalization. "
                "Name the chapter with words"
            )
        start = _seconds(m["time"])
        if chapters and start <= chapters[-1].start_s:
            raise DataError(
                f"{source}, line {no}: {m['time']} does not come after the previous chapter "
                f"(line {chapters[-1].line}, {chapters[-1].start_s:g} s). List chapters in time order"
            )
        chapters.append(Chapter(start, title, label, no))
    if not chapters:
        raise DataError(
            f"{source}: no chapters found. Write one chapter per line as TIME TITLE, e.g. '0:00 Warm-up'"
        )
    return chapters


def read_chapters(path: str | Path) -> list[Chapter]:
    """Parse a chapter file (UTF-8). Raises DataError for a missing, unreadable or malformed file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise DataError(
            f"{path}: no such chapter file. Give a text file with one 'TIME TITLE' per line"
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read the chapter file ({e}). Save it as UTF-8 text") from e
    return parse_chapters(text, str(path))
