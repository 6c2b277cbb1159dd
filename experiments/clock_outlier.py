"""How far one edited receive time moves a device's event times (docs/reliability.md, "Known gaps").

A 300-s simulated 52 Hz stream (10 samples per notification, latency up to 0.2 s) goes through a pipeline
twice: as simulated, and with one notification's receive time shifted. Prints, per edit, how many events
moved by more than 50 ms and by how much at most.

    .venv/bin/python experiments/clock_outlier.py
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.simulated_session import simulate_stream
from mujo_edge.pipeline import Pipeline

EDITS = ((300, -5.0), (300, -100.0), (300, +5.0), (1200, -5.0), (300, -0.5))


class Spread:
    """Probabilities from the window's spread (any model will do: only the event times are compared)."""

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        s = windows_g.std(axis=(1, 2))
        return np.stack([1 / (1 + s), s / (1 + s)], 1).astype(np.float32)


def starts(items: list) -> np.ndarray:
    p = Pipeline(Spread(), ["a", "b"])
    events = [e for it in items for e in p.feed(it)] + p.close()
    return np.array([e.t_start for e in events])


def main() -> None:
    t = np.arange(52 * 300) / 52.0
    acc = np.stack([np.sin(t), np.cos(t), np.ones_like(t)], 1).astype(np.float32)
    sim = simulate_stream(acc, 52.0, batch=10, faults=Faults(seed=1, latency_mean_s=0.02, latency_max_s=0.2))
    items = list(sim.items)
    base = starts(items)
    print(f"{len(items)} notifications, {len(base)} events")
    for k, shift in EDITS:
        edited = list(items)
        edited[k] = dataclasses.replace(items[k], t_recv_s=items[k].t_recv_s + shift)
        d = np.abs(starts(edited) - base)
        moved = np.flatnonzero(d > 0.05)
        span = f"events {moved[0]}-{moved[-1]}" if moved.size else "none"
        print(
            f"notification {k} {shift:+g} s: {moved.size} events moved > 50 ms ({span}), at most {d.max():.3f} s"
        )


if __name__ == "__main__":
    main()
