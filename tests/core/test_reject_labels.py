"""A bundle label that means "none of these" (an ``other`` class), end to end through the pipeline."""

from __future__ import annotations

import numpy as np

from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.simulated_session import simulate_stream
from mujo_edge.heads import Head
from mujo_edge.pipeline import Pipeline


class ShakeRunner:
    """'down' / 'up' by the window's mean x, 'other' when y shakes harder than 0.5 g on average; its
    embedding is (mean x, mean |y|)."""

    labels = ("down", "up", "other")

    def run(self, windows_g: np.ndarray, embedding: bool = True):
        m = windows_g[:, :, 0].mean(axis=1)
        shake = np.abs(windows_g[:, :, 1]).mean(axis=1)
        logits = np.stack([-20.0 * m, 20.0 * m, 40.0 * (shake - 0.5)], axis=1).astype(np.float32)
        emb = np.stack([m, shake], axis=1).astype(np.float32)
        return logits, (emb if embedding else None)

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        raise AssertionError("a head reads the logits and the embedding through run()")


def test_windows_of_the_reject_label_come_out_unknown_with_a_real_nearest_label() -> None:
    # the prototype test alone accepts everything here (a wide Mahalanobis ball), so every unknown window
    # below is the reject label's doing
    head = Head(
        "logits",
        list(ShakeRunner.labels),
        prototypes=np.array([[-0.5, 0.19], [0.5, 0.19]], np.float32),
        threshold=-100.0,
        precision=np.eye(2, dtype=np.float32),
        reject=("other",),
    )
    t = np.arange(50 * 60) / 50.0
    acc = np.stack([np.where(t < 30, -0.5, 0.5), 0.3 * np.sin(2 * np.pi * 1.5 * t), np.ones_like(t)], 1)
    acc[2250:, 1] *= 5.0  # the last 15 s: y shakes 1.5 g, what the "other" class was trained on
    sim = simulate_stream(acc.astype(np.float32), 50.0, batch=10, faults=Faults(seed=3))
    p = Pipeline(ShakeRunner(), list(ShakeRunner.labels), head=head)
    ev = [e for it in sim.items for e in p.feed(it)] + p.close()
    calm = [e for e in ev if e.t_end - 1000.0 < 44.0]
    shaking = [e for e in ev if e.t_start - 1000.0 > 46.0]
    assert calm and all(e.known and e.label in ("down", "up") for e in calm)
    assert shaking and all(not e.known and e.label == "unknown" and e.nearest == "up" for e in shaking)
    assert all(e.score is not None and e.score < -100.0 for e in shaking)
    st = p.stats["sim"]
    assert "other" not in st.label_counts
    assert st.unknown == sum(not e.known for e in ev) == st.label_counts["unknown"] >= len(shaking)
    assert sum(st.label_counts.values()) == len(ev)
