"""What on-device PIT calibration (``mujo-edge calibrate``) changes, per user, on real watch data.

    python experiments/calibrate_device.py --bundle B --data runs/seglearn --train-subjects 1,..,7 \
        --subjects 8,9,10 [--windows 180] [--write B2] [--out result.json]

1. Gives the bundle a ``calibration_target``: the per-channel quantiles of the model's training input (the
   training subjects' windows), and writes it with ``--write`` (what ``mujo-edge export`` now stores).
2. For every subject (8 is the validation subject, 9-10 the test subjects): fits the PIT table from that
   subject's first ``--windows`` windows in recording order (unlabelled: what the first minutes of a
   stream give) with mujo_edge.cli.teach.calibrated_bundle, and scores macro-F1 and accuracy of the int8
   model on ALL of that subject's windows, without and with the table; also with a table fitted on all of
   the subject's windows (the most a user-level table can do).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from mujo_edge.bundle import Bundle, calibration_target_entry
from mujo_edge.cli.teach import calibrated_bundle


def macro_f1(y: np.ndarray, p: np.ndarray, n: int) -> float:
    out = []
    for c in range(n):
        tp, fp, fn = np.sum((p == c) & (y == c)), np.sum((p == c) & (y != c)), np.sum((p != c) & (y == c))
        if tp + fp + fn:
            out.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", required=True, type=Path)
    ap.add_argument("--data", required=True)
    ap.add_argument("--train-subjects", required=True)
    ap.add_argument("--subjects", required=True)
    ap.add_argument("--windows", type=int, default=180, help="windows of the first minutes (1 per second)")
    ap.add_argument("--write", type=Path)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    from mujo_edge.training.data.format import Dataset

    ds = Dataset.open(a.data)
    subj, lab = np.asarray(ds.subject), np.asarray(ds.label)
    order = np.lexsort((np.asarray(ds.start), np.asarray(ds.recording)))
    tr = np.isin(subj, [int(s) for s in a.train_subjects.split(",")])
    base = Bundle.open(a.bundle)
    with tempfile.TemporaryDirectory() as tmp:
        target = base.derive(
            a.write or Path(tmp) / "t.mujo",
            extra={"calibration_target": calibration_target_entry(np.asarray(ds.acc[tr], np.float32))},
        )
        r = target.runner("tflite")
        n = len(target.labels)
        rows = []
        for s in (int(x) for x in a.subjects.split(",")):
            idx = order[subj[order] == s]
            x, y = np.asarray(ds.acc[idx], np.float32), lab[idx]
            res = {"subject": s, "windows": len(y)}
            for name, fit_on in (("none", None), ("first", x[: a.windows]), ("all", x)):
                if fit_on is None:
                    xin = x
                else:
                    cb = calibrated_bundle(target, fit_on, Path(tmp) / f"c{s}{name}.mujo", {"subject": s})
                    xin = cb.calibration.apply(x)
                pred = r.logits(xin).argmax(1)
                res[name] = {"macro_f1": macro_f1(y, pred, n), "accuracy": float((pred == y).mean())}
            rows.append(res)
            print(
                f"subject {s:>3}: macro-F1 none {res['none']['macro_f1']:.3f}, first {a.windows} windows "
                f"{res['first']['macro_f1']:.3f}, all {res['all']['macro_f1']:.3f}"
            )
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(
            json.dumps({"bundle": str(a.bundle), "rows": rows, "windows": a.windows}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
