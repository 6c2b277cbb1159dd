"""Open-set ("unknown") measurement: AUROC of known vs unknown windows, and a scripted virtual workout.

    python experiments/open_set.py --bundle B --data KNOWN_DS --train-subjects .. --val-subjects .. \
        --test-subjects .. --unknown DS[:SUBJECTS] [--unknown DS2] [--workout] [--out runs/...json]

1. Fits the bundle's open-set test on its own data only: prototypes = unit class means of the int8 model's
   embeddings of the TRAINING subjects' windows, threshold = the score keeping 95 % of the VALIDATION
   subjects' windows known (mujo_edge.heads.with_open_set). Nothing of the unknown activities is used.
2. Scores the TEST subjects' windows (known) against windows of activities the bundle does not know (each
   --unknown dataset: every window whose label is not one of the bundle's), and prints AUROC, the share of
   unknown windows rejected and known windows kept at the threshold, and the known windows' accuracy; the
   max-softmax-probability score is shown beside it for comparison (not used by the runtime).
3. ``--workout``: a scripted virtual workout (training/synth/workout.py simulate_workout, a right-wrist
   watch) of known and unknown activities, done by ``--workout-subjects`` synthetic subjects, streamed
   through Pipeline.from_bundle: how many windows of the unknown activities come out "unknown", and the
   accuracy of the known ones with and without the test.
4. ``--report-keeps 0.9,0.85,0.8``: the same figures at the thresholds the bundle's keep curve gives for
   those fractions (``mujo-edge stream --open-set-keep F``; each chosen on the validation subjects like the
   default), reported beside the bundle's own, never used to choose it. The workout's windows are re-read
   at each threshold from their events' open-set scores (rounded to 1e-4, as events carry them).
Writes the open-set bundle with ``--write B2`` (Bundle.derive).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from open_set_scores import print_and_write

from mujo_edge.bundle import Bundle
from mujo_edge.constants import UNKNOWN_LABEL
from mujo_edge.heads import StatsSpace, auroc, with_open_set


def ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x.strip()]


def embed(bundle: Bundle, r, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits, embeddings and the windows as the model got them (after the bundle's calibration)."""
    x = np.asarray(acc, np.float32)
    if bundle.calibration is not None:
        x = bundle.calibration.apply(x)
    logits, emb = r.run(x, embedding=True)
    return logits, emb, x


def msp(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z)
    return (p / p.sum(1, keepdims=True)).max(1)


def workout(
    bundle: Bundle, known: list[str], unknown: list[str], seeds: list[int], keeps: list[float]
) -> dict:
    """The scripted workout done by one synthetic subject per seed (subjects differ in style and tempo;
    one subject alone can sit far from the corpus in one activity), windows pooled over the subjects;
    ``keeps``: the same figures at the thresholds the bundle's keep curve gives for those fractions."""
    rows: list[tuple[str, str, str, float | None]] = []
    script: list[dict] = []
    events = 0
    for seed in seeds:
        script, n_events, r = _workout_rows(bundle, known, unknown, seed)
        rows += r
        events += n_events
    kn = [r for r in rows if r[0] in known]
    un = [r for r in rows if r[0] in unknown]
    at_keep = {}
    for k in keeps:
        thr = bundle.head.at_keep(k).threshold
        assert thr is not None
        label = {id(r): (r[2] if r[3] is not None and r[3] >= thr else UNKNOWN_LABEL) for r in rows}
        at_keep[str(k)] = {
            "threshold": thr,
            "known_accuracy_with_test": float(np.mean([label[id(r)] == r[0] for r in kn])) if kn else None,
            "known_kept": float(np.mean([label[id(r)] != UNKNOWN_LABEL for r in kn])) if kn else None,
            "unknown_rejected": float(np.mean([label[id(r)] == UNKNOWN_LABEL for r in un])) if un else None,
        }
    return {
        "at_keep": at_keep,
        "script": script,
        "seeds": seeds,
        "events": events,
        "known_windows": len(kn),
        "known_accuracy_with_test": float(np.mean([r[1] == r[0] for r in kn])) if kn else None,
        "known_accuracy_without_test": float(np.mean([r[2] == r[0] for r in kn])) if kn else None,
        "known_kept": float(np.mean([r[1] != UNKNOWN_LABEL for r in kn])) if kn else None,
        "unknown_windows": len(un),
        "unknown_rejected": float(np.mean([r[1] == UNKNOWN_LABEL for r in un])) if un else None,
        "per_activity_unknown_share": {
            a: float(np.mean([r[1] == UNKNOWN_LABEL for r in rows if r[0] == a]))
            for a in [*known, *unknown]
            if any(r[0] == a for r in rows)
        },
    }


def _workout_rows(
    bundle: Bundle, known: list[str], unknown: list[str], seed: int
) -> tuple[list[dict], int, list[tuple[str, str, str, float | None]]]:
    from mujo_edge.pipeline import Pipeline
    from mujo_edge.samples import SampleBatch
    from mujo_edge.training.synth.motion import EXERCISES, NON_ACTIVITY
    from mujo_edge.training.synth.workout import simulate_workout

    script = []
    for a in [*known, *unknown]:
        script += [{"activity": a, "seconds": 30}, {"rest": 6}]
    rec = simulate_workout(
        script, seed=seed, wrist="right", labels=[*EXERCISES, NON_ACTIVITY], frame="convention"
    )
    names = [rec.labels[i] for i in rec.label]
    p = Pipeline.from_bundle(bundle)
    events = []
    n = 25  # samples per notification
    for i in range(0, len(rec.t_s), n):
        t = rec.t_s[i : i + n]
        events += p.feed(SampleBatch("w", rec.acc_g[i : i + n], float(t[-1]) + 0.02, rec.rate_hz, t))
    events += p.close()
    rows = []
    for e in events:
        idx = np.flatnonzero((rec.t_s >= e.t_start - 0.05) & (rec.t_s < e.t_end - 0.05))
        if not idx.size:
            continue
        vals, counts = np.unique([names[j] for j in idx], return_counts=True)
        truth = vals[counts.argmax()]
        if counts.max() < 0.8 * idx.size or truth == NON_ACTIVITY:
            continue  # windows over a transition or a rest: no single truth
        rows.append((truth, e.label, e.nearest or e.label, e.score))
    return script, len(events), rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--data", required=True, help="dataset of the bundle's labels")
    p.add_argument("--train-subjects", type=ints, required=True)
    p.add_argument("--val-subjects", type=ints, required=True)
    p.add_argument("--test-subjects", type=ints, required=True)
    p.add_argument("--unknown", action="append", default=[], help="DATASET[:SUBJECTS] of other activities")
    p.add_argument("--max-unknown", type=int, default=3000, help="unknown windows per dataset (random)")
    p.add_argument(
        "--exclude",
        default="non_activity",
        help="labels of the unknown datasets that are not unknown activities (default non_activity: the "
        "corpus's rests are standing and walking between sets, which a bundle with those labels knows)",
    )
    p.add_argument("--workout", action="store_true")
    p.add_argument("--workout-known", default="")
    p.add_argument("--workout-unknown", default="")
    p.add_argument("--workout-subjects", type=int, default=5, help="synthetic subjects doing the workout")
    p.add_argument(
        "--report-keeps",
        type=lambda v: [float(x) for x in v.split(",") if x.strip()],
        default=[],
        help="also report the figures at these keep fractions of the bundle's keep curve",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kind", default="mahalanobis", choices=("mahalanobis", "cosine", "euclidean"))
    p.add_argument("--per-class", type=int, default=1, help="prototypes per class (k-means centres)")
    p.add_argument(
        "--stats-weight", type=float, default=0.0, help="euclidean: weight of the window statistics (0: none)"
    )
    p.add_argument("--reject", default="", help="labels of the bundle that mean 'none of these' (other)")
    p.add_argument("--write", type=Path, help="write the bundle with its open-set test here")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    a = p.parse_args()

    from mujo_edge.training.data.format import Dataset

    b = Bundle.open(a.bundle)
    r = b.runner("tflite")
    ds = Dataset.open(a.data)
    if ds.labels != b.model_labels:
        sys.exit(f"{a.data} has labels {ds.labels}, the bundle {b.model_labels}")
    subj, lab = np.asarray(ds.subject), np.asarray(ds.label)
    reject = [x for x in a.reject.split(",") if x]
    real = ~np.isin(lab, [b.model_labels.index(x) for x in reject])
    part = {
        k: np.flatnonzero(np.isin(subj, v) & (real | (k == "train")))
        for k, v in (("train", a.train_subjects), ("val", a.val_subjects), ("test", a.test_subjects))
    }
    _, e_tr, x_tr = embed(b, r, ds.acc[part["train"]])
    _, e_va, x_va = embed(b, r, ds.acc[part["val"]])
    lg_te, e_te, x_te = embed(b, r, ds.acc[part["test"]])
    fit = {"val_y": lab[part["val"]], "reject": reject}
    stats = StatsSpace.fit(x_tr, a.stats_weight) if a.stats_weight > 0 else None
    head = with_open_set(
        b.head,
        e_tr,
        lab[part["train"]],
        e_va,
        kind=a.kind,
        per_class=a.per_class,
        seed=a.seed,
        stats=stats,
        train_windows=x_tr,
        val_windows=x_va,
        **fit,
    )
    alt = with_open_set(
        b.head, e_tr, lab[part["train"]], e_va, kind="cosine" if a.kind != "cosine" else "mahalanobis", **fit
    )
    # scores as the runtime computes them (a window a reject label wins scores below the threshold)
    probs_te, s_known = head(lg_te, e_te, x_te)
    y_te = lab[part["test"]]
    pred = probs_te.argmax(1)
    kept = s_known >= head.threshold
    res: dict = {
        "bundle": str(a.bundle),
        "labels": b.model_labels,
        "open_set_kind": a.kind,
        "prototypes_per_class": a.per_class,
        "window_stats_weight": a.stats_weight,
        "reject_labels": reject,
        "threshold": head.threshold,
        "known_test_windows": len(y_te),
        "known_kept": float(kept.mean()),
        "known_accuracy_all": float((pred == y_te).mean()),
        "known_accuracy_kept": float((pred[kept] == y_te[kept]).mean()),
        "unknown": {},
        "at_keep": {},
    }
    for k in a.report_keeps:
        thr = head.at_keep(k).threshold
        kk = s_known >= thr
        res["at_keep"][str(k)] = {
            "threshold": thr,
            "known_kept": float(kk.mean()),
            "known_accuracy_kept": float((pred[kk] == y_te[kk]).mean()),
        }
    rng = np.random.default_rng(a.seed)
    for spec in a.unknown:
        path, _, subjects = spec.partition(":")
        u = Dataset.open(path)
        skip = {*b.model_labels, *(x for x in a.exclude.split(",") if x)}
        keep_lab = [i for i, n in enumerate(u.labels) if n not in skip]
        mask = np.isin(np.asarray(u.label), keep_lab)
        if subjects:
            mask &= np.isin(np.asarray(u.subject), ints(subjects))
        idx = np.flatnonzero(mask)
        if len(idx) > a.max_unknown:
            idx = np.sort(rng.choice(idx, a.max_unknown, replace=False))
        lg_u, e_u, x_u = embed(b, r, u.acc[idx])
        s_u = head(lg_u, e_u, x_u)[1]
        ul = np.asarray(u.label)[idx]
        res["unknown"][spec] = {
            "activities": [u.labels[i] for i in keep_lab],
            "windows": len(idx),
            f"auroc_{a.kind}": auroc(s_known, s_u),
            f"auroc_{alt.score_kind}": auroc(alt(lg_te, e_te)[1], alt(lg_u, e_u)[1]),
            "auroc_per_activity": {
                u.labels[c]: round(auroc(s_known, s_u[ul == c]), 3) for c in np.unique(ul).tolist()
            },
            "auroc_max_softmax": auroc(msp(lg_te), msp(lg_u)),
            "rejected_at_threshold": float((s_u < head.threshold).mean()),
            "rejected_at_keep": {
                str(k): float((s_u < head.at_keep(k).threshold).mean()) for k in a.report_keeps
            },
        }
    info = {
        "chosen_on": {
            "data": a.data,
            "means_and_precision_subjects": a.train_subjects,
            "threshold_subjects": a.val_subjects,
            "keep_known": 0.95,
            "prototypes_per_class": a.per_class,
            "window_stats_weight": a.stats_weight,
            "reject_labels": reject,
            "command": "python experiments/open_set.py " + " ".join(sys.argv[1:]),
        }
    }
    if a.workout:
        res["workout"] = workout(
            b.derive(
                a.write or Path("runs/open_set_tmp.mujo"),
                head=head,
                open_set_info=info,
            ),
            [x for x in a.workout_known.split(",") if x],
            [x for x in a.workout_unknown.split(",") if x],
            [a.seed + 1000 + i for i in range(a.workout_subjects)],
            a.report_keeps,
        )
    elif a.write:
        b.derive(a.write, head=head, open_set_info=info)
    print_and_write(res, a.out)


if __name__ == "__main__":
    main()
