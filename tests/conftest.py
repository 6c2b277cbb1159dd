"""Shared test set-up: quiet third-party noise and keep every test on one CPU thread."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from mujo_edge.noise import quiet_third_party

quiet_third_party()
