"""Is the student or the joint space what limits the open-set test? The same prototype scores over three
encoders of the same windows, and a supervised ceiling on validation data.

    python experiments/open_set_encoders.py --bundle B --teacher TEACHER_DIR --foundation JOINT_DIR \
        --data KNOWN_DS --train-subjects .. --val-subjects .. --test-subjects .. --unknown DS \
        --val-unknown A1,A2,.. --test-unknown B1,B2,.. [--real DS] [--out runs/...json]

Encoders: the bundle's int8 student (LiteRT, its 32-d embedding, as the runtime scores it), the fine-tuned
teacher it was distilled from (``Classifier.embed``: the joint-space projection the student's embedding is
trained towards) and the frozen pretrained joint space (``JointModel.embed("acc", ..)``). For each: the
largest cosine to M spherical k-means centres per label of the training subjects' windows (the shipped kind,
M = 1, 4, 16, 32) and to every one of ``--train-windows`` training windows (``nn``: the limit of the
prototypes). AUROC of the validation subjects' known windows against the validation unknowns (A), of the
test subjects' against the test unknowns (B) and against the real datasets.

The ceiling asks how far the embedding separates those activities at all when it is told about them: a
window's score is its largest cosine to the training subjects' known windows minus its largest cosine to the
validation unknowns of the first half of the unknown corpus's subjects (nearest neighbours of both sides),
scored on the validation subjects' known windows against the validation unknowns of the other half.
Validation data only: no test unknown is used by it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from open_set_scores import bundle_embedder, split_arguments, torch_embedder

from mujo_edge.bundle import Bundle
from mujo_edge.heads import auroc, class_centres, open_set_scores, unit_rows

PER_CLASS = (1, 4, 16, 32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    split_arguments(p)
    p.add_argument("--teacher", required=True, type=Path, help="the fine-tuned classifier folder")
    p.add_argument("--foundation", required=True, type=Path, help="the pretrained joint-space folder")
    p.add_argument("--train-windows", type=int, default=12000, help="training windows sampled")
    p.add_argument("--max-unknown", type=int, default=4000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    a = p.parse_args()

    import torch

    from mujo_edge.training.checkpoint import load_classifier, load_pretrained
    from mujo_edge.training.data.format import Dataset

    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)
    b = Bundle.open(a.bundle)
    n_classes = len(b.model_labels)
    ds = Dataset.open(a.data)
    subj, lab = np.asarray(ds.subject), np.asarray(ds.label)
    windows: dict[str, np.ndarray] = {}
    y: dict[str, np.ndarray] = {}
    idx = np.flatnonzero(np.isin(subj, a.train_subjects))
    idx = np.sort(rng.choice(idx, min(a.train_windows, len(idx)), replace=False))
    windows["train"], y["train"] = ds.acc[idx], lab[idx]
    for k, v in (("val", a.val_subjects), ("test", a.test_subjects)):
        idx = np.flatnonzero(np.isin(subj, v))
        windows[k], y[k] = ds.acc[idx], lab[idx]
    u = Dataset.open(a.unknown)
    ul, us = np.asarray(u.label), np.asarray(u.subject)
    half = np.sort(np.unique(us))[: len(np.unique(us)) // 2]
    for k, names in (("val_unknown", a.val_unknown), ("test_unknown", a.test_unknown)):
        idx = np.flatnonzero(np.isin(ul, [u.labels.index(n) for n in names.split(",") if n]))
        if k == "val_unknown":  # the ceiling's two halves, each capped alone
            for part, sel in (("fit", np.isin(us[idx], half)), ("score", ~np.isin(us[idx], half))):
                i = idx[sel]
                i = np.sort(rng.choice(i, min(a.max_unknown, len(i)), replace=False))
                windows[f"val_unknown_{part}"] = u.acc[i]
        idx = np.sort(rng.choice(idx, min(a.max_unknown, len(idx)), replace=False))
        windows[k] = u.acc[idx]
    for path in a.real:
        d = Dataset.open(path)
        keep = ~np.isin(np.asarray(d.label), [i for i, n in enumerate(d.labels) if n in b.labels])
        windows["real:" + path] = d.acc[np.flatnonzero(keep)]

    teacher = load_classifier(a.teacher)
    joint = load_pretrained(a.foundation)
    encoders = {
        "student (int8, bundle)": bundle_embedder(b),
        "teacher (fine-tuned joint space)": torch_embedder(teacher.embed),
        "foundation (frozen joint space)": torch_embedder(lambda x: joint.embed("acc", x)),
    }
    res: dict = {
        "command": "python experiments/open_set_encoders.py " + " ".join(sys.argv[1:]),
        "encoders": {},
    }
    for name, enc in encoders.items():
        e = {k: unit_rows(enc(v)) for k, v in windows.items()}
        rows = {}
        refs = {
            f"cosine-{m}": class_centres(e["train"], y["train"], n_classes, m, seed=a.seed) for m in PER_CLASS
        }
        refs[f"nn-{len(e['train'])}"] = e["train"]
        for score, protos in refs.items():
            s = {k: open_set_scores(v, protos) for k, v in e.items() if k != "train"}
            row = {
                "validation": auroc(s["val"], s["val_unknown"]),
                "test": auroc(s["test"], s["test_unknown"]),
            }
            row.update({k: auroc(s["test"], v) for k, v in s.items() if k.startswith("real:")})
            rows[score] = row
            print(name, score, " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
        told = {  # nearest known training window minus nearest validation unknown of the first half
            k: open_set_scores(e[k], e["train"]) - open_set_scores(e[k], e["val_unknown_fit"])
            for k in ("val", "val_unknown_score")
        }
        rows["supervised ceiling (validation)"] = {
            "validation": auroc(told["val"], told["val_unknown_score"])
        }
        print(
            name,
            "supervised ceiling (validation)",
            f"{rows['supervised ceiling (validation)']['validation']:.3f}",
        )
        res["encoders"][name] = rows
    if a.out:
        a.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
