"""Real watch windows of the held-out seglearn subjects (``fixtures/seglearn_test_subjects_acc_g.npz``, see
``fixtures/README.md``), for the tests that run the shipped physiotherapy model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def real_windows() -> np.ndarray:
    """(28, 100, 3) float32 g: 4 windows at hop 50 of each of the seven exercises, held-out subjects."""
    acc = np.load(FIXTURES / "seglearn_test_subjects_acc_g.npz")["acc_g"]  # (7, 250, 3)
    return np.stack([seg[k * 50 : k * 50 + 100] for seg in acc for k in range(4)])
