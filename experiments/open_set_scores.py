"""Which open-set score separates known from unseen activities best, chosen on VALIDATION unknowns only.

    python experiments/open_set_scores.py --bundle B --data KNOWN_DS --train-subjects FILE_OR_LIST \
        --val-subjects .. --test-subjects .. --unknown DS --val-unknown A1,A2,.. --test-unknown B1,B2,.. \
        [--real DS] [--out runs/...json]

Every score is computed from the bundle's int8 model (LiteRT) on the same windows. The candidates, all of
which a bundle stores (Head prototypes, precision) and `mujo-edge export --open-set-kind K
--open-set-prototypes M` writes:

- ``cosine``: largest cosine to the unit class means;
- ``cosine-M``: largest cosine to M unit centres per class (mujo_edge.heads.class_centres, spherical k-means
  of the training subjects' unit embeddings; M = 2 ... 32): a class a wrist sees in several ways (either
  wrist, several tempos) gets a prototype for each instead of one mean between them;
- ``mahalanobis``: nearest class mean under the shared within-class precision;
- ``euclidean-M``: nearest of M k-means centres per class of the unit embedding (mujo_edge.heads.
  euclidean_centres), and ``statsW-M``: the same over the head vectors with the window statistics
  (mujo_edge.features) weighted W (`--open-set-kind euclidean --window-stats W`).

Printed for reference, never chosen: ``nn-4000`` (largest cosine to 4,000 training windows: the limit of
``cosine-M``, too large to ship), ``max-softmax`` and ``energy`` (log-sum-exp of the logits).

The choice is made by AUROC of the VALIDATION subjects' known windows against the validation unknowns (A),
among the candidates of the kinds ``--ship-kinds`` names (default: all);
the test subjects' known windows against the test unknowns (B) and the real datasets are printed beside it
and must not be used to choose. Every threshold keeps 95 % of the validation subjects' known windows.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.bundle import Bundle
from mujo_edge.heads import Head, StatsSpace, auroc, open_set_scores, unit_rows, with_open_set

#: Candidate weights of the window statistics and prototypes per label of the euclidean test.
STATS_WEIGHTS = (0.2, 0.3, 0.5)
PER_CLASS = (1, 2, 4, 8, 16, 32)


def bundle_embedder(bundle: Bundle, batch: int = 4096) -> Callable[[np.ndarray], np.ndarray]:
    """(N, W, 3) windows -> (N, D) embeddings of the bundle's int8 model (LiteRT), after the bundle's PIT
    calibration, as the runtime computes them; ``batch`` windows per call."""
    runner = bundle.runner("tflite")
    cal = bundle.calibration

    def run(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        x = cal.apply(x) if cal is not None else x
        if not len(x):
            raise ValueError("no windows to embed")
        return np.concatenate(
            [runner.run(x[i : i + batch], embedding=True)[1] for i in range(0, len(x), batch)]
        )

    return run


def torch_embedder(f: Callable[[Any], Any], batch: int = 512) -> Callable[[np.ndarray], np.ndarray]:
    """(N, W, 3) windows -> (N, D) float embeddings of a torch encoder ``f`` (e.g. ``JointModel.embed``),
    without gradients, ``batch`` windows per call."""
    import torch

    @torch.no_grad()
    def run(x: np.ndarray) -> np.ndarray:
        parts = [f(torch.tensor(np.asarray(x[i : i + batch], np.float32))) for i in range(0, len(x), batch)]
        return torch.cat(parts).numpy()

    return run


def ints(s: str) -> list[int]:
    """Comma-separated subject ids, or a file of them (a path: not only digits and commas)."""
    if s.strip() and not set(s.strip()) <= set("0123456789, "):
        s = Path(s).read_text()
    return [int(x) for x in s.replace("\n", ",").split(",") if x.strip()]


def print_and_write(res: dict[str, Any], out: Path | None) -> None:
    """Print an experiment's results as JSON and write them to ``out`` (its folder made) when given."""
    text = json.dumps(res, indent=1)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


def split_arguments(p: argparse.ArgumentParser, train: bool = True) -> None:
    """The arguments every open-set experiment takes: the bundle, the known dataset and its subject splits
    (``train``: with training subjects), the unknown dataset's validation and test activities, real
    datasets."""
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--data", required=True)
    for part in ("train", "val", "test") if train else ("val", "test"):
        p.add_argument(f"--{part}-subjects", type=ints, required=True)
    p.add_argument("--unknown", required=True, help="dataset of other activities")
    p.add_argument("--val-unknown", required=True, help="its activities used to choose")
    p.add_argument("--test-unknown", required=True, help="its activities reported once")
    p.add_argument("--real", action="append", default=[], help="a real dataset, every window unknown")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    split_arguments(p)
    p.add_argument("--reject", default="", help="labels of the bundle that mean 'none of these'")
    p.add_argument("--max-unknown", type=int, default=4000)
    p.add_argument(
        "--ship-kinds",
        default="mahalanobis,cosine,euclidean",
        help="open-set kinds the choice may take (all are measured and printed)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    a = p.parse_args()

    from mujo_edge.training.data.format import Dataset

    rng = np.random.default_rng(a.seed)
    b = Bundle.open(a.bundle)
    r = b.runner("tflite")

    def run(acc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = np.asarray(acc, np.float32)
        if b.calibration is not None:
            x = b.calibration.apply(x)
        return (*r.run(x, embedding=True), x)

    ds = Dataset.open(a.data)
    reject = [x for x in a.reject.split(",") if x]
    reject_idx = [b.model_labels.index(x) for x in reject]
    subj, lab = np.asarray(ds.subject), np.asarray(ds.label)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    y: dict[str, np.ndarray] = {}
    for k, v in (("train", a.train_subjects), ("val", a.val_subjects), ("test", a.test_subjects)):
        idx = np.flatnonzero(np.isin(subj, v))
        if k != "train":  # known windows to score: the real labels only
            idx = idx[~np.isin(lab[idx], reject_idx)]
        out[k], y[k] = run(ds.acc[idx]), lab[idx]
    u = Dataset.open(a.unknown)
    ul = np.asarray(u.label)
    for k, names in (("val_unknown", a.val_unknown), ("test_unknown", a.test_unknown)):
        ids = [u.labels.index(n) for n in names.split(",") if n]
        idx = np.flatnonzero(np.isin(ul, ids))
        if len(idx) > a.max_unknown:
            idx = np.sort(rng.choice(idx, a.max_unknown, replace=False))
        out[k] = run(u.acc[idx])
    for path in a.real:
        d = Dataset.open(path)
        idx = np.flatnonzero(
            ~np.isin(np.asarray(d.label), [i for i, n in enumerate(d.labels) if n in b.labels])
        )
        out["real:" + path] = run(d.acc[idx])

    e_tr, x_tr = out["train"][1], out["train"][2]
    base = Head("logits", b.model_labels)
    e_va, x_va = out["val"][1], out["val"][2]
    # the candidates a bundle can ship (Head prototypes / precision), named as --kind / --per-class give them
    fit = {"val_y": y["val"], "reject": reject}
    heads = {"mahalanobis": with_open_set(base, e_tr, y["train"], e_va, kind="mahalanobis", **fit)}
    for m in PER_CLASS:
        heads["cosine" if m == 1 else f"cosine-{m}"] = with_open_set(
            base, e_tr, y["train"], e_va, kind="cosine", per_class=m, seed=a.seed, **fit
        )
    weights = {0.0: None, **{w: StatsSpace.fit(x_tr, w) for w in STATS_WEIGHTS}}
    for w, stats in weights.items():
        for m in PER_CLASS:
            heads[f"euclidean-{m}" if stats is None else f"stats{w:g}-{m}"] = with_open_set(
                base,
                e_tr,
                y["train"],
                e_va,
                kind="euclidean",
                per_class=m,
                seed=a.seed,
                stats=stats,
                train_windows=x_tr,
                val_windows=x_va,
                **fit,
            )
    # the score as the runtime computes it (with reject labels: a window they win scores below the threshold)
    scorers = {k: (lambda lg, e, x, h=h: h(lg, e, x)[1]) for k, h in heads.items()}
    # references that need no prototypes, or too many to ship (every training window): printed, not chosen
    u_tr = unit_rows(e_tr)
    sub = u_tr[np.sort(rng.choice(len(u_tr), min(4000, len(u_tr)), replace=False))]
    references = {"nn-4000": lambda lg, e, x: open_set_scores(e, sub)}

    def msp(lg: np.ndarray, e: np.ndarray, x: np.ndarray) -> np.ndarray:
        z = lg - lg.max(1, keepdims=True)
        return 1.0 / np.exp(z).sum(1)

    references["max-softmax"] = msp
    references["energy"] = lambda lg, e, x: np.log(np.exp(lg - lg.max(1, keepdims=True)).sum(1)) + lg.max(1)

    res: dict = {
        "bundle": str(a.bundle),
        "command": "python experiments/open_set_scores.py " + " ".join(sys.argv[1:]),
    }
    table = {}
    for name, f in {**scorers, **references}.items():
        s = {k: f(*v) for k, v in out.items() if k != "train"}
        row = {"validation": auroc(s["val"], s["val_unknown"]), "test": auroc(s["test"], s["test_unknown"])}
        for k in s:
            if k.startswith("real:"):
                row[k] = auroc(s["test"], s[k])
        table[name] = row
        print(name, " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
    ship = set(a.ship_kinds.split(","))

    def kind_of(name: str) -> str:
        k = name.partition("-")[0]
        return "euclidean" if k.startswith("stats") else k

    best = max((k for k in scorers if kind_of(k) in ship), key=lambda k: table[k]["validation"])
    res["scores"] = table
    # the known windows' accuracy (most probable real label), validation subjects: the price of a reject label
    probs_va = heads["cosine"](*out["val"])[0]
    res["validation_accuracy"] = float((probs_va.argmax(1) == y["val"]).mean())
    print(f"validation accuracy (known windows): {res['validation_accuracy']:.3f}")
    res["chosen_on_validation"] = best
    kind, _, per = best.partition("-")
    res["per_class"] = int(per or 1)
    res["kind"] = kind_of(best)
    res["ship_kinds"] = sorted(ship)
    res["stats_weight"] = float(kind[len("stats") :]) if kind.startswith("stats") else 0.0
    print("chosen on validation:", best)
    if a.out:
        a.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
