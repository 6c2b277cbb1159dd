"""How much of the open-set miss is the test counting variants of known activities as unknown?

    python experiments/open_set_variants.py --bundle B --data KNOWN_DS --val-subjects .. --test-subjects .. \
        --unknown DS --val-unknown A1,A2,.. --test-unknown B1,B2,.. [--out runs/...json]

The open-set test of experiments/general_bundle.sh scores every activity of the corpus outside the bundle's
labels as unknown, "walking slowly" and "walking carrying a bag" included, though a bundle that knows
"walking" is right to call them walking. This script takes the bundle as shipped (its head, prototypes and
threshold untouched: nothing is fitted or chosen here) and splits the unknown activities by one rule fixed
before any score is read: an activity is a *variant* of a known label when that label's long name (the
motion library's, e.g. "walking") occurs as whole words in the activity's long name ("walking slowly").

Printed for the validation subjects against the validation unknowns (A) and for the test subjects against
the test unknowns (B): AUROC of known windows against all unknowns and against the non-variants, and for
each variant the share of its windows called `unknown`, called its parent label, and called another label.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from open_set_scores import print_and_write, split_arguments

from mujo_edge.bundle import Bundle
from mujo_edge.heads import auroc


def variants_of(known: list[str], unknown: list[str]) -> dict[str, str]:
    """{unknown activity: the known label it is a variant of}, by the long-name rule of the module doc."""
    from mujo_edge.training.synth.motion import ACTIVITIES

    out = {}
    for u in unknown:
        text = ACTIVITIES[u].long_name.lower()
        hits = [k for k in known if re.search(rf"\b{re.escape(ACTIVITIES[k].long_name.lower())}\b", text)]
        if hits:
            out[u] = max(hits, key=lambda k: len(ACTIVITIES[k].long_name))  # (the most specific)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    split_arguments(p, train=False)  # (--real is not read: its activities have no variants here)
    p.add_argument("--out", type=Path)
    a = p.parse_args()

    from mujo_edge.training.data.format import Dataset

    b = Bundle.open(a.bundle)
    head = b.head
    if head is None or head.threshold is None:
        sys.exit(f"{a.bundle} has no open-set test; write one with experiments/open_set.py --write")
    runner = b.runner("tflite")
    labels = list(b.model_labels)

    def score(acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(label index, open-set score) of each window, as the runtime computes them."""
        x = np.asarray(acc, np.float32)
        if b.calibration is not None:
            x = b.calibration.apply(x)
        pred, scores = [], []
        for i in range(0, len(x), 4096):
            logits, emb = runner.run(x[i : i + 4096], embedding=head.needs_embedding)
            probs, s = head(logits, emb, x[i : i + 4096])
            pred.append(probs[:, : len(labels)].argmax(1))
            scores.append(s)
        return np.concatenate(pred), np.concatenate(scores)

    ds = Dataset.open(a.data)
    ds_names = np.asarray(ds.labels)[np.asarray(ds.label)]
    u = Dataset.open(a.unknown)
    u_names = np.asarray(u.labels)[np.asarray(u.label)]
    res: dict = {
        "bundle": str(a.bundle),
        "threshold": head.threshold,
        "rule": "long name contains a known long name",
    }
    for part, subjects, unknown in (
        ("validation", a.val_subjects, a.val_unknown.split(",")),
        ("test", a.test_subjects, a.test_unknown.split(",")),
    ):
        var = variants_of(labels, unknown)
        k_idx = np.flatnonzero(np.isin(ds.subject, subjects) & np.isin(ds_names, labels))
        _, s_known = score(ds.acc[k_idx])
        u_idx = np.flatnonzero(np.isin(u_names, unknown))
        u_pred, s_u = score(u.acc[u_idx])
        un = u_names[u_idx]
        is_var = np.isin(un, list(var))
        rows = {}
        for v, parent in sorted(var.items()):
            m = un == v
            unk = s_u[m] < head.threshold
            as_parent = ~unk & (u_pred[m] == labels.index(parent))
            rows[v] = {
                "parent": parent,
                "windows": int(m.sum()),
                "unknown": round(float(unk.mean()), 3),
                "called_parent": round(float(as_parent.mean()), 3),
                "called_other": round(float((~unk & ~as_parent).mean()), 3),
            }
        res[part] = {
            "known_windows": len(k_idx),
            "unknown_activities": len(unknown),
            "variants": rows,
            "auroc_all": round(auroc(s_known, s_u), 4),
            "auroc_without_variants": round(auroc(s_known, s_u[~is_var]), 4),
            "unknown_windows": len(u_idx),
            "variant_windows": int(is_var.sum()),
            "rejected_all": round(float((s_u < head.threshold).mean()), 3),
            "rejected_without_variants": round(float((s_u[~is_var] < head.threshold).mean()), 3),
        }
    print_and_write(res, a.out)


if __name__ == "__main__":
    main()
