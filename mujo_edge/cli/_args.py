"""argparse value types, and the check of an output path, shared by the subcommands."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from mujo_edge.errors import ConfigError


def shows_help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """The command of a group called without a subcommand (``mujo-edge data``): print its help, exit 2."""

    def show(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


def positive_int(s: str) -> int:
    """A count of at least 1 (argparse reports a non-number itself, naming the option)."""
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def non_negative_int(s: str) -> int:
    """A count of at least 0."""
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def positive_float(s: str) -> float:
    """A finite number above 0 (seconds, minutes)."""
    v = float(s)
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {s}")
    return v


def fraction(s: str) -> float:
    """A number in [0, 1] (a weight between two terms, a share)."""
    v = float(s)
    if not 0.0 <= v <= 1.0:  # (NaN too)
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {s}")
    return v


def comma_names(s: str) -> list[str]:
    """Comma-separated names, blanks around them and empty entries dropped: ``"a, b,"`` -> ``["a", "b"]``."""
    return [n.strip() for n in s.split(",") if n.strip()]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_output(
    path: str | Path,
    flag: str,
    inputs: Sequence[str | Path] = (),
    folder: bool = False,
    example: str = "bench.json",
) -> None:
    """Refuse an output path that cannot be written, BEFORE anything is measured, read or computed (ConfigError).

    A benchmark or an export takes minutes; finding out afterwards that ``--json`` names a folder, or sits under
    a file, would lose every number. And writing over one of the inputs would destroy it. ``folder``: the path
    is a directory to create (``--raw-dir``, ``--c-array``) rather than a file; ``example``: a file name the
    message suggests inside a folder given for a file.
    """
    p = Path(path)
    if folder:
        if p.exists() and not p.is_dir():
            raise ConfigError(f"{flag} {p} is a file, not a folder: give a folder path (it is created)")
    elif p.is_dir():
        raise ConfigError(f"{flag} {p} is a folder: give a file path inside it, e.g. {p / example}")
    for parent in p.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    f"{flag} {p}: {parent} is a file, not a folder, so nothing can be written under it; "
                    "choose another path"
                )
            break
    for inp in inputs:
        if _same_file(p, Path(inp)) or p.absolute() == Path(inp).absolute():
            raise ConfigError(
                f"{flag} {p} is one of the input files: writing there would replace it with Markdown. "
                "Choose another output file"
            )
