"""Faults a virtual watch injects on its own side of the link, deterministic for a given seed.

These are the watch's faults (what a real watch and its radio do to a stream): frames that never reach the
air, frames held back and sent in a burst, the watch dropping the link, a sensor clock that runs fast or
slow, uneven send times. The replay transport has its own, recording-indexed
:class:`mujo_edge.firmware_bridge.record.Faults`; this one is indexed by the watch's motion time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mujo_edge.errors import DataError

#: Largest sensor clock error a virtual watch accepts, parts per million (a cheap crystal is +-20..100 ppm).
MAX_DRIFT_PPM = 200.0


@dataclass(frozen=True)
class Faults:
    """What goes wrong on a virtual watch. All times are motion seconds (the watch's own sensor clock).

    Attributes:
        drop_prob: Probability that a frame (notification) is lost on the air: the watch counts it as sent
            and dropped, the host never sees it.
        burst_every, burst_len: Every ``burst_every`` frames, ``burst_len`` frames are held back and sent
            back to back when the last of them is ready (a busy radio scheduler). 0 = no bursts.
        disconnect_at_s: Motion times at which the watch drops the link (it stops streaming, waits
            ``down_s`` and advertises again; its motion clock keeps running, so those samples are lost).
        down_s: How long the watch stays silent (no advertising) after a fault disconnect, motion seconds.
        clock_drift_ppm: The watch's sensor clock runs this many ppm fast (+) or slow (-) against host time:
            its samples come ``1 + ppm 1e-6`` times faster than nominal in host time, stamped at nominal spacing.
        jitter_s: Each send is delayed by a uniform random 0 .. ``jitter_s`` host seconds (order is kept).
        seed: Seed of every random choice above.
    """

    drop_prob: float = 0.0
    burst_every: int = 0
    burst_len: int = 0
    disconnect_at_s: tuple[float, ...] = ()
    down_s: float = 0.5
    clock_drift_ppm: float = 0.0
    jitter_s: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.drop_prob < 1.0:
            problems.append(f"drop_prob={self.drop_prob} (expected 0 <= p < 1)")
        if self.burst_every < 0 or self.burst_len < 0 or self.burst_len > max(self.burst_every, 0):
            problems.append(
                f"burst_every={self.burst_every}, burst_len={self.burst_len} (expected 0 <= len <= every)"
            )
        if abs(self.clock_drift_ppm) > MAX_DRIFT_PPM:
            problems.append(f"clock_drift_ppm={self.clock_drift_ppm} (expected within +-{MAX_DRIFT_PPM:g})")
        if self.jitter_s < 0 or self.down_s < 0:
            problems.append(f"jitter_s={self.jitter_s}, down_s={self.down_s} (expected >= 0)")
        if any(t <= 0 for t in self.disconnect_at_s) or list(self.disconnect_at_s) != sorted(
            self.disconnect_at_s
        ):
            problems.append(f"disconnect_at_s={self.disconnect_at_s} (expected increasing times > 0)")
        if problems:
            raise DataError("virtual watch faults out of range: " + "; ".join(problems) + ". Fix the values.")


class FaultPlan:
    """The random choices of :class:`Faults`, drawn in frame order from one seeded generator."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = np.random.default_rng(faults.seed)

    def drop(self) -> bool:
        """Is the next frame lost on the air?"""
        return self.faults.drop_prob > 0 and bool(self._rng.random() < self.faults.drop_prob)

    def hold(self, frame_no: int) -> bool:
        """Is frame ``frame_no`` (0-based, per stream) held back for a burst?"""
        f = self.faults
        return f.burst_every > 0 and f.burst_len > 1 and frame_no % f.burst_every < f.burst_len - 1

    def jitter_s(self) -> float:
        """Extra send delay for the next frame, host seconds."""
        return float(self._rng.uniform(0.0, self.faults.jitter_s)) if self.faults.jitter_s > 0 else 0.0
