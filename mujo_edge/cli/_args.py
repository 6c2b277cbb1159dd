"""argparse value types shared by the subcommands."""

from __future__ import annotations

import argparse
import math


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
