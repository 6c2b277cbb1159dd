"""The subject split of the default bundle's experiments: among the subjects with windows of the given labels,
the last 10 % are test, the 10 % before them validation (at least one each), the rest training.

    python experiments/subject_split.py CORPUS LABELS      # prints "TEST VALIDATION" (comma-separated ids)

experiments/make_default_bundle.sh takes its default split from it; experiments/open_set_ceiling.py
imports :func:`split_subjects`.
"""

from __future__ import annotations

import sys

import numpy as np


def split_subjects(subjects: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """(training, validation, test) subject ids of ``subjects`` (any order, repeats allowed)."""
    s = np.unique(subjects).tolist()
    if len(s) < 3:
        raise ValueError(f"{len(s)} subjects; training, validation and test need at least 3")
    k = max(1, len(s) // 10)
    return s[: -2 * k], s[-2 * k : -k], s[-k:]


def main(argv: list[str]) -> int:
    from mujo_edge.training.data.format import Dataset

    if len(argv) != 2:
        print("usage: python experiments/subject_split.py CORPUS LABELS", file=sys.stderr)
        return 2
    ds = Dataset.open(argv[0])
    named = np.isin(np.asarray(ds.labels)[np.asarray(ds.label)], argv[1].split(","))
    try:
        _, val, test = split_subjects(np.asarray(ds.subject)[named])
    except ValueError as e:
        print(f"{argv[0]} with those labels: {e}", file=sys.stderr)
        return 1
    print(",".join(map(str, test)), ",".join(map(str, val)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
