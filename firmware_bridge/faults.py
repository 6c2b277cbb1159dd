"""What goes wrong between a watch and the host: one vocabulary for every simulator.

Three simulators inject faults, all from one :class:`Faults`, deterministic for a given ``seed``. Frame
indices and times count from the start of what each simulates:

* :class:`~mujo_edge.firmware_bridge.record.ReplayConnector` (a recording replayed through the Transport
  interface): the recording's data notifications; seconds after its first notification.
* :class:`~mujo_edge.firmware_bridge.virtual.VirtualWatch` (a bumble GATT server): the frames the watch
  sends; seconds of its motion clock.
* :func:`~mujo_edge.firmware_bridge.simulated_session.simulate_stream` (what a session yields, with no
  transport): the notifications of the stream; seconds after its first sample.

Each simulator injects the faults it can model (:data:`INJECTED_BY`) and refuses, with a
:class:`~mujo_edge.errors.ConfigError`, a fault it cannot: a setting is never silently ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from mujo_edge._checks import is_number, is_whole
from mujo_edge.errors import ConfigError

#: Largest sensor clock error a simulated watch accepts, parts per million (a cheap crystal is +-20..100 ppm).
MAX_CLOCK_SKEW_PPM = 200.0


@dataclass(frozen=True)
class Faults:
    """Faults of a watch and its radio link (all off by default).

    Attributes:
        drop_prob: Probability that a frame (notification) is lost on the air.
        drop_indices: Frames that are lost on the air, by index.
        corrupt_indices: Frames delivered with one byte flipped (a bad CRC, garbage), by index.
        burst_every, burst_len: Every ``burst_every`` frames, ``burst_len`` frames go out together: the first
            ``burst_len - 1`` are held back and delivered with the last of them (a busy radio scheduler or
            host stack). 0 = no bursts.
        latency_mean_s: Mean of an exponential extra delay of each notification, host seconds (on top of
            the link's own latency).
        latency_max_s: Cap on a notification's total delay, host seconds.
        jitter_s: Each send is delayed by a uniform random 0 .. ``jitter_s`` host seconds (order is kept).
        disconnect_at_s: Times at which the link drops (increasing, > 0; see the table above for the clock).
        down_s: How long the device stays unreachable after such a drop, seconds; what it sends meanwhile is
            lost.
        scan_failures: After each drop, this many scans fail before the device is found again.
        first_scan_failures: This many scans fail before the very first connection.
        clock_skew_ppm: The watch's sensor clock runs this many ppm fast (+) or slow (-) against the host
            clock: a sensor second lasts ``1 / (1 + ppm 1e-6)`` host seconds.
        clock_offset_s: Constant offset added to every host receive time, seconds.
        seed: Seed of every random choice above.
    """

    drop_prob: float = 0.0
    drop_indices: frozenset[int] = frozenset()
    corrupt_indices: frozenset[int] = frozenset()
    burst_every: int = 0
    burst_len: int = 0
    latency_mean_s: float = 0.0
    latency_max_s: float = 0.05
    jitter_s: float = 0.0
    disconnect_at_s: tuple[float, ...] = ()
    down_s: float = 1.0
    scan_failures: int = 0
    first_scan_failures: int = 0
    clock_skew_ppm: float = 0.0
    clock_offset_s: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        self._check_types()
        problems = []
        if not 0.0 <= self.drop_prob < 1.0:
            problems.append(f"drop_prob={self.drop_prob} (expected 0 <= p < 1)")
        if any(i < 0 for i in self.drop_indices | self.corrupt_indices):
            problems.append(
                "drop_indices / corrupt_indices hold a negative index (expected frame indices >= 0)"
            )
        if self.burst_every < 0 or self.burst_len < 0 or self.burst_len > max(self.burst_every, 0):
            problems.append(
                f"burst_every={self.burst_every}, burst_len={self.burst_len} (expected 0 <= len <= every)"
            )
        if abs(self.clock_skew_ppm) > MAX_CLOCK_SKEW_PPM:
            problems.append(
                f"clock_skew_ppm={self.clock_skew_ppm} (expected within +-{MAX_CLOCK_SKEW_PPM:g})"
            )
        for name in ("latency_mean_s", "latency_max_s", "jitter_s", "down_s"):
            if not getattr(self, name) >= 0:
                problems.append(f"{name}={getattr(self, name)} (expected >= 0)")
        if self.scan_failures < 0 or self.first_scan_failures < 0:
            problems.append(
                f"scan_failures={self.scan_failures}, first_scan_failures={self.first_scan_failures} "
                "(expected >= 0)"
            )
        times = list(self.disconnect_at_s)
        if any(not t > 0 for t in times) or times != sorted(times):
            problems.append(f"disconnect_at_s={self.disconnect_at_s} (expected increasing times > 0)")
        if problems:
            raise ConfigError("faults out of range: " + "; ".join(problems) + ". Fix the values.")

    def _check_types(self) -> None:
        """ConfigError naming every field of the wrong type (a str, None, a bool for a number, a float for a
        count); index sets and disconnect times given as lists or sets are taken as frozensets and tuples."""
        problems = []
        for name in ("drop_indices", "corrupt_indices"):
            value = getattr(self, name)
            if isinstance(value, set | frozenset | list | tuple) and all(is_whole(i) for i in value):
                object.__setattr__(self, name, frozenset(int(i) for i in value))
            else:
                problems.append(f"{name}={value!r} (expected a set of frame indices, whole numbers)")
        for name in ("burst_every", "burst_len", "scan_failures", "first_scan_failures", "seed"):
            value = getattr(self, name)
            if not is_whole(value) or value < 0:
                problems.append(f"{name}={value!r} (expected a whole number >= 0)")
        for name in ("drop_prob", "latency_mean_s", "latency_max_s", "jitter_s"):
            if not is_number(getattr(self, name)):
                problems.append(f"{name}={getattr(self, name)!r} (expected a number)")
        for name in ("clock_skew_ppm", "clock_offset_s"):
            value = getattr(self, name)
            if not (is_number(value) and math.isfinite(value)):
                problems.append(f"{name}={value!r} (expected a finite number)")
        times = self.disconnect_at_s
        if isinstance(times, list | tuple) and all(is_number(t) and math.isfinite(t) for t in times):
            object.__setattr__(self, "disconnect_at_s", tuple(float(t) for t in times))
        else:
            problems.append(f"disconnect_at_s={times!r} (expected a tuple of finite times in seconds)")
        if not (is_number(self.down_s) and math.isfinite(self.down_s)):
            problems.append(f"down_s={self.down_s!r} (expected a finite number of seconds)")
        if problems:
            raise ConfigError("faults of the wrong type: " + "; ".join(problems) + ". Fix the values.")

    def changed(self) -> list[str]:
        """Names of the faults set away from their defaults (``seed`` excluded: it injects nothing)."""
        return [f.name for f in fields(self) if f.name != "seed" and getattr(self, f.name) != f.default]

    def require_injectable(self, simulator: str) -> None:
        """Raise ConfigError naming each fault set here that ``simulator`` (a key of :data:`INJECTED_BY`)
        cannot inject."""
        if simulator not in INJECTED_BY:
            raise ConfigError(f"no simulator {simulator!r}; expected one of {', '.join(INJECTED_BY)}")
        cannot = [name for name in self.changed() if name not in INJECTED_BY[simulator]]
        if cannot:
            raise ConfigError(
                f"the {simulator} cannot inject {', '.join(cannot)}; it injects "
                f"{', '.join(sorted(INJECTED_BY[simulator]))}. Leave the others at their defaults."
            )


_LINK = frozenset({"drop_prob", "burst_every", "burst_len", "disconnect_at_s", "down_s", "clock_skew_ppm"})

#: The faults each simulator injects.
INJECTED_BY: dict[str, frozenset[str]] = {
    "replay transport": _LINK
    | {"drop_indices", "corrupt_indices", "scan_failures", "first_scan_failures", "clock_offset_s"},
    "virtual watch": _LINK | {"jitter_s"},
    "simulated session stream": _LINK | {"latency_mean_s", "latency_max_s"},
}
