"""A bundle on real recordings it was never built or tuned on: per-class label shares and unknown rates.

    python experiments/real_check.py BUNDLE DATASET [--map real=bundle,...] [--out result.json]

Every window of DATASET (a `mujo-edge data import` folder) goes through the bundle as the runtime runs it
(its calibration, int8 LiteRT model, head and open-set test). For each real class: how many windows come out
as the mapped bundle label (``--map``, e.g. ``standing=standing``), how many as ``unknown``, and the most
frequent label. Real classes without a mapping are activities the bundle does not know: ``unknown`` is the
right answer for them. Nothing here feeds back into the bundle.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from mujo_edge.bundle import Bundle
from mujo_edge.constants import UNKNOWN_LABEL
from mujo_edge.heads import auroc
from mujo_edge.training.data.format import Dataset


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", type=Path)
    p.add_argument("data")
    p.add_argument("--map", default="", help="real=bundle label pairs, comma-separated")
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    b = Bundle.open(a.bundle)
    ds = Dataset.open(a.data)
    pairs = [x.split("=", 1) for x in a.map.split(",") if x]
    if any(len(x) != 2 for x in pairs):
        p.error(f"--map takes real=bundle pairs separated by commas, e.g. walking=walking; got {a.map!r}")
    mapping = dict(pairs)
    unknown = sorted(set(mapping.values()) - set(b.labels))
    if unknown:
        p.error(f"--map names labels the bundle does not have: {unknown}; it has {b.labels}")
    x = np.asarray(ds.acc, np.float32)
    if b.calibration is not None:
        x = b.calibration.apply(x)
    pred, _, score = b.classify(x)
    names = np.asarray(ds.labels)[np.asarray(ds.label)]
    res: dict = {"bundle": str(a.bundle), "data": a.data, "map": mapping, "classes": {}}
    for c in ds.labels:
        idx = np.flatnonzero(names == c)
        got = Counter(pred[i] for i in idx)
        want = mapping.get(c, UNKNOWN_LABEL)
        res["classes"][c] = {
            "windows": int(idx.size),
            "expected": want,
            "correct": round(got.get(want, 0) / idx.size, 3),
            "unknown": round(got.get(UNKNOWN_LABEL, 0) / idx.size, 3),
            "top": got.most_common(3),
        }
    known = np.isin(names, list(mapping))
    if known.any() and (~known).any():
        res["auroc_known_vs_unmapped"] = auroc(np.asarray(score)[known], np.asarray(score)[~known])
    print(json.dumps(res, indent=1))
    if a.out:
        a.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
