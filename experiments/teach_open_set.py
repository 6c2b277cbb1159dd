"""The open-set threshold of a taught head: the leave-one-out over its examples alone, or the looser of it
and the base bundle's (what `mujo-edge teach` keeps since the guided recordings), on held-out subjects.

    python experiments/teach_open_set.py --bundle mujo_edge/assets/default.mujo --unknown runs/general/unknown \
        --activities A1,A2,... [--teach 4] [--per-class 3] [--trials 20] [--seed 0] [--out runs/...json]

A trial draws one teaching subject and ``--teach`` of the listed activities it did, takes ``--per-class`` windows of each
drawn activity from that subject alone (a user's one session), fits the head and its open-set test as
`teach` does (``fit_head`` + ``taught_open_set``), and scores every other subject's windows: those of the
taught activities (known: kept, and labelled right among the kept) and those of the other activities of
the list (unknown: rejected). Both thresholds are applied to the same scores; AUROC does not depend on them.
Nothing is chosen here: the rule was fixed before this ran.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from open_set_scores import print_and_write

from mujo_edge.bundle import Bundle
from mujo_edge.heads import auroc, fit_head, taught_open_set


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--unknown", required=True, help="dataset of activities the bundle does not know")
    p.add_argument("--activities", required=True, help="comma-separated activities of it to draw from")
    p.add_argument("--teach", type=int, default=4, help="activities taught per trial")
    p.add_argument(
        "--per-class", type=int, default=3, help="examples per taught activity (>= 3: leave-one-out)"
    )
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--base-keeps",
        default="",
        help="also the looser of the leave-one-out and the base bundle's threshold at these keep fractions "
        "of its keep curve (comma-separated, e.g. 0.97,0.99,1.0)",
    )
    p.add_argument("--out", type=Path)
    a = p.parse_args()

    from mujo_edge.training.data.format import Dataset

    base = Bundle.open(a.bundle)
    if base.head.threshold is None:
        sys.exit(f"{a.bundle} has no open-set test to compare with")
    runner = base.runner("tflite")
    u = Dataset.open(a.unknown)
    names = np.asarray(u.labels)[np.asarray(u.label)]
    acts = [x for x in a.activities.split(",") if x]
    idx = np.flatnonzero(np.isin(names, acts))
    x = np.asarray(u.acc[idx], np.float32)
    if base.calibration is not None:
        x = base.calibration.apply(x)
    emb = np.concatenate([runner.run(x[i : i + 4096], embedding=True)[1] for i in range(0, len(x), 4096)])
    lab, subj = names[idx], np.asarray(u.subject)[idx]
    rng = np.random.default_rng(a.seed)
    rows = []
    for _ in range(a.trials):
        # a teaching subject (one session) and ``--teach`` of the listed activities it did, enough of each
        did = {
            int(s): [t for t in acts if ((subj == s) & (lab == t)).sum() >= a.per_class]
            for s in np.unique(subj)
        }
        ok = [s for s, ts in did.items() if len(ts) >= a.teach]
        if not ok:
            sys.exit(
                f"no subject of {a.unknown} did {a.teach} of the activities with {a.per_class} windows each"
            )
        s = int(rng.choice(ok))
        taught = sorted(rng.choice(did[s], a.teach, replace=False).tolist())
        pick = np.concatenate(
            [rng.choice(np.flatnonzero((subj == s) & (lab == t)), a.per_class, replace=False) for t in taught]
        )
        y = np.array([taught.index(v) for v in lab[pick]])
        head = taught_open_set(
            fit_head(emb[pick], y, taught, stats=base.head.stats, windows=x[pick]),
            emb[pick],
            y,
            base.head,
            windows=x[pick],
        )
        loo = head.threshold
        rules = {"loo": head, "looser": dataclasses.replace(head, threshold=min(loo, base.head.threshold))}
        for k in [float(v) for v in a.base_keeps.split(",") if v]:
            rules[f"looser@{k:g}"] = dataclasses.replace(
                head, threshold=min(loo, base.head.at_keep(k).threshold)
            )
        test = subj != s
        known = test & np.isin(lab, taught)
        other = test & ~np.isin(lab, taught)
        probs, scores = head(np.zeros((len(x), 1)), emb, x)  # (a linear head: the logits are not read)
        pred = np.asarray(taught)[probs.argmax(1)]
        row = {"taught": taught, "subject": s, "auroc": auroc(scores[known], scores[other])}
        for name, h in rules.items():
            kept = known & (scores >= h.threshold)
            row[name] = {
                "threshold": float(h.threshold),
                "known_kept": float(kept.sum() / known.sum()),
                "known_accuracy_kept": float((pred[kept] == lab[kept]).mean()) if kept.any() else None,
                "unknown_rejected": float((scores[other] < h.threshold).mean()),
            }
            row[name]["balanced"] = (row[name]["known_kept"] + row[name]["unknown_rejected"]) / 2
        rows.append(row)

    def med(path: tuple[str, str]) -> float:
        v = [r[path[0]][path[1]] for r in rows if r[path[0]][path[1]] is not None]
        return round(float(np.median(v)), 3)

    res = {
        "bundle": str(a.bundle),
        "trials": len(rows),
        "per_class": a.per_class,
        "teach": a.teach,
        "auroc_median": round(float(np.median([r["auroc"] for r in rows])), 3),
        "median": {
            k: {
                m: med((k, m))
                for m in ("threshold", "known_kept", "known_accuracy_kept", "unknown_rejected", "balanced")
            }
            for k in rows[0]
            if k.startswith("loo")
        },
        "trial_rows": rows,
    }
    print_and_write({k: v for k, v in res.items() if k != "trial_rows"}, None)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
