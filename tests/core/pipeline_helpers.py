"""What the lockstep tests share: a model whose outputs move with any sample of a window, and the check
that two pipelines gave the same events (every field, per device, in order) and the same stats."""

from __future__ import annotations

import numpy as np

from mujo_edge.events import ActivityEvent
from mujo_edge.pipeline import Pipeline


class Features:
    """Probabilities from window statistics: any change of a sample changes them."""

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        f = np.stack(
            [
                windows_g.mean(axis=(1, 2)),
                windows_g.std(axis=(1, 2)),
                windows_g[:, -1, 0],
                windows_g[:, 0, 1],
            ],
            1,
        )
        e = np.exp(f - f.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def by_device(events: list[ActivityEvent]) -> dict[str, list[ActivityEvent]]:
    """The events of each device, in the order they came."""
    by: dict[str, list[ActivityEvent]] = {}
    for e in events:
        by.setdefault(e.device, []).append(e)
    return by


def assert_same_events(
    a: Pipeline, b: Pipeline, got_a: list[ActivityEvent], got_b: list[ActivityEvent]
) -> dict[str, list[ActivityEvent]]:
    """``a`` and ``b`` gave every device the same events, every field, and the same stats; returns ``b``'s
    events by device."""
    ea, eb = by_device(got_a), by_device(got_b)
    assert set(ea) == set(eb)
    for device, events in eb.items():
        assert ea[device] == events, device
    assert set(a.stats) == set(b.stats)
    for device, st in b.stats.items():
        assert a.stats[device].to_dict() == st.to_dict(), device
    return eb
