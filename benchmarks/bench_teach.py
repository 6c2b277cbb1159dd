"""Few-shot teaching: macro-F1 vs examples per class, taught head on frozen embeddings vs a from-scratch
numpy classifier on the same examples; and the time ``teach`` takes to fit.

    python benchmarks/bench_teach.py --bundle B --data DS --subjects S1,S2 [--labels a,b,..] \
        [--shots 1,2,5,10] [--seeds 5] [--out result.json]

Protocol: the "user" is one held-out subject: k windows per class are drawn (seeded) from subject S1 and
the result is scored on every window of subject S2, then the roles swap; mean and sd over seeds and both
directions. No window of S2 is ever seen. The taught head is :func:`mujo_edge.heads.fit_head` (``ncm``:
nearest class mean of the bundle model's unit embeddings; ``logreg``: logistic regression on them); when
the bundle's head reads window statistics (``--window-stats`` at export), also ``ncm+stats`` and
``logreg+stats``: the same on the head vectors (unit embedding and statistics), which ``mujo-edge teach``
then fits.
The scratch baseline is a class-weighted logistic regression (the same numpy/scipy fitter) on 24
standardized raw features of the window: per axis mean, sd, min, max, 10/50/90 % quantiles and mean
absolute first difference. ``fit_ms`` is the head fit of ``mujo-edge teach`` for 10 examples per class
(embedding the windows with the int8 model is timed apart).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from mujo_edge.bundle import Bundle
from mujo_edge.heads import _logreg, fit_head


def raw_features(x: np.ndarray) -> np.ndarray:
    """(N, 24) per-axis statistics of (N, WINDOW, 3) windows in g."""
    q = np.quantile(x, [0.1, 0.5, 0.9], axis=1)  # (3, N, 3)
    f = [x.mean(1), x.std(1), x.min(1), x.max(1), q[0], q[1], q[2], np.abs(np.diff(x, axis=1)).mean(1)]
    return np.concatenate(f, axis=1)


def macro_f1(y: np.ndarray, pred: np.ndarray, n: int) -> float:
    f1 = []
    for c in range(n):
        tp = np.sum((pred == c) & (y == c))
        fp = np.sum((pred == c) & (y != c))
        fn = np.sum((pred != c) & (y == c))
        if tp + fp + fn:
            f1.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1))


def scratch(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, n: int) -> np.ndarray:
    ftr, fte = raw_features(xtr), raw_features(xte)
    mu, sd = ftr.mean(0), ftr.std(0) + 1e-6
    ftr, fte = (ftr - mu) / sd, (fte - mu) / sd
    w, b = _logreg(ftr, ytr, n, np.zeros((n, ftr.shape[1]), np.float32), np.zeros(n, np.float32), 1e-2, 300)
    return (fte @ w.T + b).argmax(1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--data", required=True)
    p.add_argument(
        "--subjects",
        required=True,
        help="two held-out subjects 'S1,S2' (both directions), or two groups 'A,B:C,D' (teach on the first "
        "group, score on the second), or 'pool:A,B,C' (one pool of held-out subjects: the examples are drawn "
        "from it and every other window of it is scored, except windows of the same recording that overlap "
        "an example: for corpora whose subjects each do only some activities)",
    )
    p.add_argument("--labels", help="only these labels (default all with windows in both subjects)")
    p.add_argument("--shots", default="1,2,5,10")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--out", type=Path)
    a = p.parse_args()

    from mujo_edge.training.data.format import Dataset

    b = Bundle.open(a.bundle)
    r = b.runner("tflite")
    ds = Dataset.open(a.data)
    pool = a.subjects.startswith("pool:")
    if pool:
        g1 = g2 = tuple(int(x) for x in a.subjects[5:].split(","))
        directions = [(g1, g2)]
    elif ":" in a.subjects:
        g1, g2 = (tuple(int(x) for x in g.split(",")) for g in a.subjects.split(":"))
        directions = [(g1, g2)]
    else:
        g1, g2 = ((int(x),) for x in a.subjects.split(","))
        directions = [(g1, g2), (g2, g1)]
    s1, s2 = g1, g2
    subj = np.asarray(ds.subject)
    lab = np.asarray(ds.label)
    names = a.labels.split(",") if a.labels else ds.labels
    shots = [int(k) for k in a.shots.split(",")]
    keep = [
        ds.labels.index(n)
        for n in names
        if all((np.isin(subj, s) & (lab == ds.labels.index(n))).sum() >= max(shots) for s in (s1, s2))
    ]
    keep = sorted(keep)
    x_raw = {s: np.asarray(ds.acc[np.isin(subj, s) & np.isin(lab, keep)], np.float32) for s in (s1, s2)}
    y = {s: np.searchsorted(keep, lab[np.isin(subj, s) & np.isin(lab, keep)]) for s in (s1, s2)}
    sel = np.isin(subj, s1) & np.isin(lab, keep)
    rec_start = np.stack([np.asarray(ds.recording)[sel], np.asarray(ds.start)[sel]], 1)
    x_cal = {s: b.calibration.apply(v) if b.calibration is not None else v for s, v in x_raw.items()}
    emb = {s: r.run(x_cal[s], embedding=True)[1] for s in (s1, s2)}
    n = len(keep)
    stats = b.head.stats
    methods = ["ncm", "logreg", *(["ncm+stats", "logreg+stats"] if stats is not None else [])]
    res: dict = {"bundle": str(a.bundle), "data": a.data, "labels": [ds.labels[i] for i in keep], "rows": []}
    print(f"{n} labels; windows: subject {s1} {len(y[s1])}, subject {s2} {len(y[s2])}")
    print(f"{'k':>3} " + " ".join(f"{'taught ' + m:>16}" for m in methods) + f" {'scratch raw':>16}")
    for k in shots:
        scores: dict[str, list[float]] = {m: [] for m in [*methods, "scratch"]}
        for seed in range(a.seeds):
            for tr, te in directions:
                rng = np.random.default_rng(seed)
                pick = np.concatenate([rng.permutation(np.flatnonzero(y[tr] == c))[:k] for c in range(n)])
                test = np.ones(len(y[te]), bool)
                if pool:  # drop the examples and every window overlapping one (same recording, < 1 window)
                    for rec, st in rec_start[pick]:
                        test &= ~((rec_start[:, 0] == rec) & (np.abs(rec_start[:, 1] - st) < b.window))
                for m in methods:
                    method, _, with_stats = m.partition("+")
                    h = fit_head(
                        emb[tr][pick],
                        y[tr][pick],
                        [str(c) for c in range(n)],
                        method=method,
                        stats=stats if with_stats else None,
                        windows=x_cal[tr][pick],
                    )
                    pred = (h.vectors(emb[te][test], x_cal[te][test]) @ h.weight.T + h.bias).argmax(1)
                    scores[m].append(macro_f1(y[te][test], pred, n))
                pred = scratch(x_raw[tr][pick], y[tr][pick], x_raw[te][test], n)
                scores["scratch"].append(macro_f1(y[te][test], pred, n))
        row = {"k": k, **{m: [float(np.mean(v)), float(np.std(v, ddof=1))] for m, v in scores.items()}}
        res["rows"].append(row)
        print(f"{k:>3} " + " ".join(f"{row[m][0]:>9.3f} +-{row[m][1]:.3f}" for m in [*methods, "scratch"]))
    # timing: the head fit for 10 examples per class, as teach does it
    rng = np.random.default_rng(0)
    pick = np.concatenate([rng.permutation(np.flatnonzero(y[s1] == c))[:10] for c in range(n)])
    t = []
    for _ in range(5):
        t0 = time.perf_counter()
        fit_head(
            emb[s1][pick],
            y[s1][pick],
            [str(c) for c in range(n)],
            method="logreg",
            stats=stats,
            windows=x_cal[s1][pick],
        )
        t.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    r.run(x_cal[s1][pick], embedding=True)
    res["fit_ms_logreg_10_per_class"] = 1e3 * float(np.median(t))
    res["embed_ms_10_per_class"] = 1e3 * (time.perf_counter() - t0)
    print(
        f"fit (logreg, 10 per class, {n} classes): {res['fit_ms_logreg_10_per_class']:.1f} ms; embedding "
        f"{len(pick)} windows with the int8 model: {res['embed_ms_10_per_class']:.1f} ms"
    )
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
