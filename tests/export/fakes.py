"""Tiny, real stand-ins for the export tests: separable synthetic windows and a briefly trained teacher.

The teacher has the interface of the classifier `mujo-edge finetune` writes
(``forward(acc_g (B, 100, 3)) -> logits``, ``embed(acc_g) -> (B, joint_dim)``, ``labels``, ``manifest``) but is
small enough to train in a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mujo_edge.constants import RATE_HZ, WINDOW
from mujo_edge.training.data.format import Dataset, write_dataset

LABELS = ["circle", "shake", "lift"]
SUBJECTS = (1, 2, 3, 4)


def tiny_windows(per_class_subject: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    """Windows (N, WINDOW, 3) g: class c oscillates at its own frequency on axis c, on top of 1 g gravity."""
    rng = np.random.default_rng(seed)
    t = np.arange(WINDOW) / RATE_HZ
    acc, label, subject = [], [], []
    for s in SUBJECTS:
        amp = 0.4 + 0.1 * s
        for c in range(len(LABELS)):
            for _ in range(per_class_subject):
                w = rng.normal(0, 0.08, (WINDOW, 3))
                w[:, 2] += 1.0
                w[:, c] += amp * np.sin(2 * np.pi * (1.0 + 1.5 * c) * t + rng.uniform(0, 2 * np.pi))
                acc.append(w)
                label.append(c)
                subject.append(s)
    return {
        "acc": np.asarray(acc, np.float32),
        "label": np.asarray(label, np.int64),
        "subject": np.asarray(subject, np.int64),
    }


def write_tiny_dataset(root: Path, data: dict[str, np.ndarray]) -> Dataset:
    """Write :func:`tiny_windows` output as a dataset folder (one recording per subject)."""
    return write_dataset(
        root,
        acc=data["acc"],
        label=data["label"],
        subject=data["subject"],
        recording=data["subject"],
        start=np.zeros(len(data["label"]), np.int64),
        labels=LABELS,
    )


class TinyTeacher(nn.Module):
    """A small CNN classifier with a joint-space projection, same interface as the real teacher."""

    def __init__(self, n_classes: int = len(LABELS), joint_dim: int = 64) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(3, 16, 9, stride=2), nn.ReLU(), nn.Conv1d(16, 16, 9, stride=2), nn.ReLU()
        )
        self.proj = nn.Linear(16, joint_dim)
        self.head = nn.Linear(joint_dim, n_classes)
        self.labels = list(LABELS)
        self.manifest: dict[str, Any] = {
            "labels": self.labels,
            "splits": {"train_subjects": [1, 2], "val_subjects": [3], "test_subjects": [4]},
            "calibration": None,
        }

    def embed(self, acc_g: torch.Tensor) -> torch.Tensor:
        return self.proj(self.conv(acc_g.transpose(1, 2)).mean(-1))

    def forward(self, acc_g: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.embed(acc_g)))


def trained_teacher(data: dict[str, np.ndarray], epochs: int = 60, seed: int = 0) -> TinyTeacher:
    """A TinyTeacher fitted (full batch, Adam) on the training subjects of ``data``."""
    torch.manual_seed(seed)
    teacher = TinyTeacher()
    tr = np.isin(data["subject"], teacher.manifest["splits"]["train_subjects"])
    x = torch.from_numpy(data["acc"][tr])
    y = torch.from_numpy(data["label"][tr])
    opt = torch.optim.Adam(teacher.parameters(), lr=1e-2)
    for _ in range(epochs):
        loss = nn.functional.cross_entropy(teacher(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return teacher.eval()
