"""The repository reads as product documentation: no words about how it was developed, no development paths.

Every tracked text file (code, docs, recorded results, fixtures) is searched for development-history words
(helper letters, session numbers, times of day, load averages, first-person change notes) and for absolute
paths of a development machine. Anything the commands print comes from these files, so it is covered too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: name -> pattern; each says what it catches. Case-insensitive unless the pattern says otherwise.
FORBIDDEN: dict[str, re.Pattern[str]] = {
    "a helper's letter or number": re.compile(r"\b(?i:helper)s? [A-Z0-9]\b"),
    "a development session": re.compile(r"\bsessions?[ -]\d", re.IGNORECASE),
    "a time of day": re.compile(r"\b\d{1,2}:\d\d(?:-\d{1,2}:\d\d)? ?UTC\b", re.IGNORECASE),
    "a machine's load average": re.compile(r"\bload averages?\b", re.IGNORECASE),
    "a first-person change note": re.compile(r"\bwhat I (?:changed|own|did)\b", re.IGNORECASE),
    # Android's /data/local/tmp is a device path the phone tools use, not a development folder.
    "a development machine's path": re.compile(r"(?<!/local)/tmp/|/work/|/home/[a-z_]\w*/|/Users/\w+/"),
}

#: This file spells the patterns out.
EXEMPT = {"tests/test_repo_hygiene.py"}


def _git_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (or git missing): the tracked files are unknown")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [ROOT / name for name in filter(None, out.split("\0")) if (ROOT / name).is_file()]


def _tracked_text_files() -> list[Path]:
    files = []
    for path in _git_files():
        if str(path.relative_to(ROOT)) in EXEMPT:
            continue
        with path.open("rb") as f:
            if b"\0" in f.read(8192):  # binary: bundles, weights, arrays
                continue
        files.append(path)
    return files


def find_history_words(paths: list[Path], root: Path = ROOT) -> list[str]:
    """``file:line: what (the matching text)`` for every forbidden pattern in ``paths`` (under ``root``)."""
    hits = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for what, pattern in FORBIDDEN.items():
                m = pattern.search(line)
                if m:
                    rel = path.relative_to(root)
                    hits.append(f"{rel}:{number}: {what} ({m.group(0)!r})")
    return hits


def test_no_development_history_in_tracked_files() -> None:
    hits = find_history_words(_tracked_text_files())
    assert not hits, (
        "development-history words or development paths in the repository; rewrite these as product "
        "documentation (keep the facts, drop who/when/which machine), or use relative paths:\n"
        + "\n".join(hits)
    )


#: An absolute development path as a manifest value starts it (a relative one, ``runs/x/work/y``, may hold
#: the same folder names).
ABSOLUTE_PATH = re.compile(r"(?<![\w.-])(?:/tmp/|/work/|/home/[a-z_]\w*/|/Users/\w+/)")


def test_no_development_path_in_shipped_bundle_manifests() -> None:
    """A bundle is a zip (binary, so the scan above skips it); its manifest records the data, teacher and
    commands that made it, and those must name paths as a user of the repository has them."""
    import zipfile

    bundles = [p for p in _git_files() if p.suffix == ".mujo"]
    assert bundles, "no tracked bundle found"
    hits = []
    for path in bundles:
        with zipfile.ZipFile(path) as zf:
            text = zf.read("manifest.json").decode()
        hits += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in ABSOLUTE_PATH.finditer(text)]
    assert not hits, "absolute development paths in bundle manifests (record them relative):\n" + "\n".join(
        hits
    )


@pytest.mark.parametrize(
    "line",
    [
        "as helper B measured",
        "Session 2 (03:40-05:00 UTC)",
        "at 06:34 UTC",
        "load average 5-6",
        "## What I changed in what I own",
        "see /work/notes/teacher.txt",
        "--out /tmp/h-demo3",
    ],
)
def test_patterns_catch_history_words(tmp_path: Path, line: str) -> None:
    f = tmp_path / "doc.md"
    f.write_text(f"fine\n{line}\n")
    hits = find_history_words([f], root=tmp_path)
    assert hits and hits[0].startswith("doc.md:2:"), hits


@pytest.mark.parametrize(
    "line",
    [
        "adb shell mkdir -p /data/local/tmp/mujo-edge",
        "a session-scoped pytest fixture",
        "the session skips and counts it",
        "the batch helper's windows",
        '"created_utc": "2026-11-22T06:34:54Z"',
        "load ms",
    ],
)
def test_patterns_leave_product_words_alone(line: str) -> None:
    hits = [h for h in (pattern.search(line) for pattern in FORBIDDEN.values()) if h]
    assert not hits, hits
