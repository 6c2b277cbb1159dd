"""Does the corpus itself allow AUROC 0.90 between the 20 labels and the other activities? Detectors trained
for exactly that task on the raw windows, told about the unknown activities, on validation data only.

    python experiments/open_set_ceiling.py --data KNOWN_DS --labels L1,L2,.. --unknown DS \
        --val-unknown A1,A2,.. [--max-unknown 8000] [--bundle B.mujo] [--foundation JOINT_DIR] [--unseen] \
        [--epochs 12] [--out runs/...json]

experiments/open_set_encoders.py found that no score over the student's, the teacher's or the frozen joint
space's embedding reaches 0.90 on the validation unknowns, not even its ceiling, which is told about the
unknown activities (0.750 / 0.811 / 0.820). This asks the same of the raw windows: if a detector trained for
the task on them, told about the same unknown activities, stays under 0.90, the corpus (activities that look
alike from the wrist) bounds the test, not only the encoders.

Split (the one of experiments/make_default_bundle.sh: subjects with windows of the labels, the last 10 %
test, the 10 % before them validation): the detectors are fitted on the training subjects' known windows and
on the validation unknowns (A) of the first half of the unknown corpus's subjects, and scored on the
validation subjects' known windows against the validation unknowns of the other half. No test subject and no
test unknown (B) is read.

Detectors:

* ``cnn``: a 1-D CNN on the raw (100, 3) windows (75,745 parameters, four times the shipped student),
  known vs unknown, binary cross-entropy with the two sides weighted equally, Adam;
* ``gbt``: gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier) on 51 hand-made features
  per window: the runtime's 16 window statistics (``mujo_edge.features``), and per axis and for the norm
  the 5th/25th/50th/75th/95th percentiles, the spectral centroid, the dominant frequency and the log power,
  and the axes' pairwise correlations;
* ``gbt`` on an encoder's unit embedding instead of the hand-made features (``--bundle``: the bundle's int8
  student as the runtime runs it, PIT included; ``--foundation``: the frozen pretrained joint space), the
  same detector told about the same unknowns: how much of what the raw windows carry each embedding keeps.

With ``--unseen`` the detectors are fitted on every second validation unknown and scored on the others:
a detector of "none of the labels" trained on many other activities (outlier exposure), tried on activities
it never saw, as the open-set test meets them.

All are also scored per unknown activity (AUROC of the validation known windows against that activity's
windows), which names the activities the wrist cannot tell from the known ones.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from open_set_scores import bundle_embedder, torch_embedder
from subject_split import split_subjects

from mujo_edge.features import window_stats
from mujo_edge.heads import auroc, unit_rows

RATE_HZ = 50.0


def hand_features(w: np.ndarray) -> np.ndarray:
    """(N, 51) features of (N, W, 3) windows (module docstring)."""
    x = np.concatenate([w, np.linalg.norm(w, axis=2, keepdims=True)], axis=2)  # (N, W, 4)
    pct = np.percentile(x, [5, 25, 50, 75, 95], axis=1).transpose(1, 0, 2).reshape(len(w), -1)  # (N, 20)
    spec = np.abs(np.fft.rfft(x - x.mean(axis=1, keepdims=True), axis=1)) ** 2  # (N, F, 4)
    f = np.fft.rfftfreq(w.shape[1], 1.0 / RATE_HZ)
    power = spec.sum(axis=1) + 1e-12
    centroid = (spec * f[None, :, None]).sum(axis=1) / power  # (N, 4)
    dominant = f[spec[:, 1:].argmax(axis=1) + 1]  # (N, 4)
    c = w - w.mean(axis=1, keepdims=True)
    sd = np.sqrt((c**2).mean(axis=1)) + 1e-9
    corr = np.stack(
        [(c[..., i] * c[..., j]).mean(axis=1) / (sd[:, i] * sd[:, j]) for i, j in ((0, 1), (0, 2), (1, 2))],
        axis=1,
    )
    return np.concatenate([window_stats(w), pct, centroid, dominant, np.log(power), corr], axis=1).astype(
        np.float32
    )


def fit_gbt(x: np.ndarray, y: np.ndarray, seed: int) -> object:
    from sklearn.ensemble import HistGradientBoostingClassifier

    weight = np.where(y == 1, 0.5 / max(1, (y == 1).sum()), 0.5 / max(1, (y == 0).sum())) * len(y)
    clf = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, random_state=seed)
    clf.fit(x, y, sample_weight=weight)
    return clf


def fit_cnn(x: np.ndarray, y: np.ndarray, epochs: int, seed: int, threads: int) -> object:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    net = nn.Sequential(
        nn.Conv1d(3, 48, 7, stride=2, padding=3),
        nn.BatchNorm1d(48),
        nn.ReLU(),
        nn.Conv1d(48, 64, 5, stride=2, padding=2),
        nn.BatchNorm1d(64),
        nn.ReLU(),
        nn.Conv1d(64, 96, 5, stride=2, padding=2),
        nn.BatchNorm1d(96),
        nn.ReLU(),
        nn.Conv1d(96, 96, 3, padding=1),
        nn.BatchNorm1d(96),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(96, 1),
    )
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1), dtype=np.float32))
    yt = torch.from_numpy(y.astype(np.float32))
    pos = float(yt.sum())
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(yt) - pos) / max(pos, 1.0)))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(len(xt), generator=gen).split(256):
            opt.zero_grad()
            loss_fn(net(xt[idx]).squeeze(1), yt[idx]).backward()
            opt.step()
        sched.step()
    net.eval()
    return net


def cnn_scores(net: object, x: np.ndarray) -> np.ndarray:
    import torch

    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1), dtype=np.float32))
    with torch.no_grad():
        return np.concatenate([net(b).squeeze(1).numpy() for b in xt.split(2048)])  # type: ignore[operator]


def encoders(bundle: Path | None, foundation: Path | None) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The embeddings the gbt also runs on: name -> (N, W, 3) windows -> (N, D) unit rows."""
    out: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    if bundle is not None:
        from mujo_edge.bundle import Bundle

        student = bundle_embedder(Bundle.open(bundle))
        out["gbt on the student embedding"] = lambda x: unit_rows(student(x))
    if foundation is not None:
        from mujo_edge.training.checkpoint import load_pretrained

        joint = load_pretrained(foundation)
        frozen = torch_embedder(lambda x: joint.embed("acc", x))
        out["gbt on the joint-space embedding"] = lambda x: unit_rows(frozen(x))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path, help="the known corpus (dataset folder)")
    p.add_argument("--labels", required=True, help="the bundle's labels, comma-separated")
    p.add_argument("--unknown", required=True, type=Path, help="the corpus of the other activities")
    p.add_argument("--val-unknown", required=True, help="the validation unknown activities (A)")
    p.add_argument("--train-windows", type=int, default=24000, help="known training windows sampled")
    p.add_argument("--max-unknown", type=int, default=8000, help="unknown windows per half")
    p.add_argument("--bundle", type=Path, help="also the gbt on this bundle's student embedding")
    p.add_argument("--foundation", type=Path, help="also the gbt on this pretrained joint space's embedding")
    p.add_argument(
        "--unseen", action="store_true", help="fit on every second validation unknown, score the others"
    )
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    a = p.parse_args()

    from mujo_edge.training.data.format import Dataset

    rng = np.random.default_rng(a.seed)
    labels = [s for s in a.labels.split(",") if s]
    ds = Dataset.open(a.data)
    if missing := sorted(set(labels) - set(ds.labels)):
        p.error(
            f"--labels names {', '.join(missing)}, which {a.data} does not hold (it has {', '.join(ds.labels)})"
        )
    lab = np.asarray(ds.label)
    named = np.isin(np.asarray(ds.labels)[lab], labels)
    subj = np.asarray(ds.subject)
    train_s, val_s, _ = split_subjects(subj[named])
    tr = np.flatnonzero(named & np.isin(subj, train_s))
    tr = np.sort(rng.choice(tr, min(a.train_windows, len(tr)), replace=False))
    va = np.flatnonzero(named & np.isin(subj, val_s))
    known_fit, known_score = np.asarray(ds.acc[tr], np.float32), np.asarray(ds.acc[va], np.float32)

    u = Dataset.open(a.unknown)
    ul, us = np.asarray(u.label), np.asarray(u.subject)
    names = [n for n in a.val_unknown.split(",") if n]
    if missing := sorted(set(names) - set(u.labels)):
        p.error(
            f"--val-unknown names {', '.join(missing)}, which {a.unknown} does not hold (it has {', '.join(u.labels)})"
        )
    codes = [u.labels.index(n) for n in names]
    half = np.sort(np.unique(us))[: len(np.unique(us)) // 2]
    # told about the unknowns: the same activities on both sides; --unseen: every second one fitted, the
    # others scored (outlier exposure: does a detector of "other" reach activities it never saw?)
    fit_codes, score_codes = (codes[0::2], codes[1::2]) if a.unseen else (codes, codes)
    parts = {}
    for part, sel in (
        ("fit", np.isin(ul, fit_codes) & np.isin(us, half)),
        ("score", np.isin(ul, score_codes) & ~np.isin(us, half)),
    ):
        i = np.flatnonzero(sel)
        parts[part] = np.sort(rng.choice(i, min(a.max_unknown, len(i)), replace=False))
    unk_fit = np.asarray(u.acc[parts["fit"]], np.float32)
    unk_score = np.asarray(u.acc[parts["score"]], np.float32)
    unk_score_label = ul[parts["score"]]
    print(
        f"known: {len(known_fit)} training windows ({len(train_s)} subjects), {len(known_score)} validation "
        f"windows ({len(val_s)} subjects); validation unknowns ({len(names)} activities): {len(unk_fit)} to fit, "
        f"{len(unk_score)} to score (other subjects)"
    )
    x_fit = np.concatenate([known_fit, unk_fit])
    y_fit = np.concatenate([np.zeros(len(known_fit), np.int64), np.ones(len(unk_fit), np.int64)])

    result: dict[str, object] = {
        "known_fit": len(known_fit),
        "known_score": len(known_score),
        "unknown_fit": len(unk_fit),
        "unknown_score": len(unk_score),
        "unseen": a.unseen,
        "train_subjects": len(train_s),
        "val_subjects": len(val_s),
    }
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    t0 = time.perf_counter()
    feats_fit = hand_features(x_fit)
    gbt = fit_gbt(feats_fit, y_fit, a.seed)
    s_known = -gbt.predict_proba(hand_features(known_score))[:, 1]  # type: ignore[attr-defined]
    s_unk = -gbt.predict_proba(hand_features(unk_score))[:, 1]  # type: ignore[attr-defined]
    scores["gbt"] = (s_known, s_unk)
    print(f"gbt: AUROC {auroc(s_known, s_unk):.3f} ({time.perf_counter() - t0:.0f} s)")
    for name, encode in encoders(a.bundle, a.foundation).items():
        t0 = time.perf_counter()
        clf = fit_gbt(encode(x_fit), y_fit, a.seed)
        k = -clf.predict_proba(encode(known_score))[:, 1]  # type: ignore[attr-defined]
        scores[name] = (k, -clf.predict_proba(encode(unk_score))[:, 1])  # type: ignore[attr-defined]
        print(f"{name}: AUROC {auroc(*scores[name]):.3f} ({time.perf_counter() - t0:.0f} s)")
    t0 = time.perf_counter()
    net = fit_cnn(x_fit, y_fit, a.epochs, a.seed, a.threads)
    scores["cnn"] = (-cnn_scores(net, known_score), -cnn_scores(net, unk_score))
    print(f"cnn: AUROC {auroc(*scores['cnn']):.3f} ({time.perf_counter() - t0:.0f} s)")
    for name, (k, un) in scores.items():
        per = {
            u.labels[c]: round(auroc(k, un[unk_score_label == c]), 4)
            for c in score_codes
            if (unk_score_label == c).any()
        }
        result[name] = {
            "auroc": round(auroc(k, un), 4),
            "per_activity": dict(sorted(per.items(), key=lambda kv: kv[1])),
        }
    for name in scores:
        per = result[name]["per_activity"]  # type: ignore[index]
        low = ", ".join(f"{n} {v:.2f}" for n, v in list(per.items())[:8])
        print(f"{name}: hardest validation unknowns: {low}")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
