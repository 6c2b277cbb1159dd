"""Tiny synthetic datasets for the pretraining / evaluation tests (seconds to train, real structure).

Each label is a sinusoid of its own frequency and axis in acc (g, with gravity on z), a matching joint
oscillation in pose, and two captions whose "sentence embeddings" are random unit vectors near a per-label
centre, so a joint space can actually be learned from them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mujo_edge.constants import N_JOINTS, RATE_HZ, WINDOW
from mujo_edge.training.data.format import Dataset, write_dataset

TEXT_DIM = 384


def make_tiny_dataset(
    out: Path,
    n_labels: int = 4,
    per_label_subject: int = 8,
    subjects: tuple[int, ...] = (1, 2, 3, 4, 5, 6),
    seed: int = 0,
    with_pose: bool = True,
    with_text: bool = True,
    labels: list[str] | None = None,
) -> Dataset:
    rng = np.random.default_rng(seed)
    t = np.arange(WINDOW) / RATE_HZ
    acc, pose, lab, subj, rec, start, tid = [], [], [], [], [], [], []
    centres = rng.normal(size=(n_labels, TEXT_DIM))
    texts = []
    for c in range(n_labels):
        for _k in range(2):
            v = centres[c] + 0.3 * rng.normal(size=TEXT_DIM)
            texts.append(v / np.linalg.norm(v))
    for s in subjects:
        for c in range(n_labels):
            for i in range(per_label_subject):
                f = 0.5 + 0.6 * c
                phase = rng.uniform(0, 2 * np.pi)
                a = np.zeros((WINDOW, 3))
                a[:, 2] = 1.0
                a[:, c % 3] += 0.5 * np.sin(2 * np.pi * f * t + phase)
                acc.append(a + 0.05 * rng.normal(size=a.shape))
                p = 0.02 * rng.normal(size=(WINDOW, N_JOINTS, 3))
                p[:, 16, c % 3] += 0.3 * np.sin(2 * np.pi * f * t + phase)
                pose.append(p)
                lab.append(c)
                subj.append(s)
                rec.append(s * 100 + c)
                start.append(i * 50)
                tid.append(2 * c + int(rng.integers(2)))
    names = labels or [f"act{c}" for c in range(n_labels)]
    return write_dataset(
        out,
        acc=np.asarray(acc, np.float32),
        label=np.asarray(lab),
        subject=np.asarray(subj),
        recording=np.asarray(rec),
        start=np.asarray(start),
        labels=names,
        label_text={n: [f"{n} exercise", f"doing {n}"] for n in names},
        pose=np.asarray(pose, np.float32) if with_pose else None,
        text=np.asarray(texts, np.float32) if with_text else None,
        text_id=np.asarray(tid) if with_text else None,
        name="tiny",
        seed=seed,
    )
