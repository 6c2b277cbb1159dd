"""What ``--smooth K`` does to the open-set test: AUROC of a bundle's own score averaged over the last K
windows of a run, as the pipeline's smoother averages it (K chosen on VALIDATION unknowns only).

    python experiments/open_set_smoothing.py --bundle B --data KNOWN_DS --val-subjects .. --test-subjects .. \
        --unknown DS --val-unknown A1,A2,.. --test-unknown B1,B2,.. [--real DS] [--smooth 1,2,3,5,8] \
        [--out runs/...json]

Every window of a recording is scored with the bundle's int8 model (LiteRT) and head, exactly as the
runtime scores it; a window's smoothed score is the mean of its own and the previous K - 1 windows' scores
of the same run (a recording's windows in order, a run restarting wherever the next window does not start
one hop later), the smoother's rule. For each K: AUROC of the validation subjects' known windows against
the validation unknowns (A: chooses K), of the test subjects' against the test unknowns (B) and against the
real datasets (every window of a label the bundle lacks: reported, never used to choose), and the share of
unknown windows rejected at the threshold that keeps 95 % of the validation known windows at that K.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from open_set_scores import split_arguments

from mujo_edge.bundle import Bundle
from mujo_edge.constants import HOP
from mujo_edge.heads import auroc

#: Share of the validation subjects' known windows each threshold keeps (the bundle's own rule).
KEEP = 0.95


def smoothed(scores: np.ndarray, recording: np.ndarray, start: np.ndarray, k: int) -> np.ndarray:
    """Each window's score averaged with the previous ``k - 1`` of its run (fewer at a run's start)."""
    order = np.lexsort((start, recording))
    s, rec, st = scores[order], recording[order], start[order]
    new_run = np.ones(len(s), bool)
    new_run[1:] = (rec[1:] != rec[:-1]) | (st[1:] - st[:-1] != HOP)
    run_id = np.cumsum(new_run) - 1
    pos = np.arange(len(s)) - np.flatnonzero(new_run)[run_id]  # index within its run
    c = np.concatenate([[0.0], np.cumsum(s, dtype=np.float64)])
    i = np.arange(len(s))
    lo = i - np.minimum(pos, k - 1)
    out = np.empty(len(s), np.float64)
    out[order] = (c[i + 1] - c[lo]) / (i + 1 - lo)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    split_arguments(p, train=False)
    p.add_argument("--smooth", default="1,2,3,5,8")
    p.add_argument("--out", type=Path)
    a = p.parse_args()

    from mujo_edge.training.data.format import Dataset

    b = Bundle.open(a.bundle)
    r, head = b.runner("tflite"), b.head

    def scored(ds: Dataset, idx: np.ndarray) -> dict[str, np.ndarray]:
        x = np.asarray(ds.acc[idx], np.float32)
        if b.calibration is not None:
            x = b.calibration.apply(x)
        logits, emb = r.run(x, embedding=True)
        return {
            "score": head(logits, emb, x)[1].astype(np.float64),
            "recording": np.asarray(ds.recording)[idx],
            "start": np.asarray(ds.start)[idx],
        }

    parts: dict[str, dict[str, np.ndarray]] = {}
    known = Dataset.open(a.data)
    for k, subjects in (("val", a.val_subjects), ("test", a.test_subjects)):
        parts[k] = scored(known, np.flatnonzero(np.isin(np.asarray(known.subject), subjects)))
    u = Dataset.open(a.unknown)
    for k, names in (("val_unknown", a.val_unknown), ("test_unknown", a.test_unknown)):
        ids = [u.labels.index(n) for n in names.split(",") if n]
        parts[k] = scored(u, np.flatnonzero(np.isin(np.asarray(u.label), ids)))
    for path in a.real:
        d = Dataset.open(path)
        lacking = [i for i, n in enumerate(d.labels) if n not in b.labels]
        parts["real:" + path] = scored(d, np.flatnonzero(np.isin(np.asarray(d.label), lacking)))

    res: dict = {
        "bundle": str(a.bundle),
        "command": "python experiments/open_set_smoothing.py " + " ".join(sys.argv[1:]),
    }
    rows = {}
    for k in [int(v) for v in a.smooth.split(",")]:
        s = {name: smoothed(v["score"], v["recording"], v["start"], k) for name, v in parts.items()}
        threshold = float(np.quantile(s["val"], 1 - KEEP))
        row = {"validation": auroc(s["val"], s["val_unknown"]), "test": auroc(s["test"], s["test_unknown"])}
        row |= {name: auroc(s["test"], v) for name, v in s.items() if name.startswith("real:")}
        row["test_known_kept"] = float((s["test"] >= threshold).mean())
        row |= {
            f"{name}_rejected": float((v < threshold).mean())
            for name, v in s.items()
            if name == "test_unknown" or name.startswith("real:")
        }
        rows[k] = row
        print(f"K={k}", " ".join(f"{n}={v:.3f}" for n, v in row.items()), flush=True)
    best = max(rows, key=lambda k: rows[k]["validation"])
    res |= {
        "windows": {n: len(v["score"]) for n, v in parts.items()},
        "by_smooth": rows,
        "chosen_on_validation": best,
    }
    print("chosen on validation: K =", best)
    if a.out:
        a.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
