"""The live console view of ``mujo-edge stream`` (rich): per device the current activity and the health of
its stream; and the closing summary (also used by ``mujo-edge replay``)."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mujo_edge.constants import UNKNOWN_LABEL

if TYPE_CHECKING:
    from mujo_edge.events import ActivityEvent
    from mujo_edge.pipeline import Pipeline, StreamStats

#: Recent events shown under the table.
RECENT_EVENTS = 6


def _fmt(v: float | None, spec: str = ".0f", none: str = "-") -> str:
    return none if v is None else format(v, spec)


def print_event(console: Console, e: ActivityEvent) -> None:
    """One plain line per event (``--no-live``)."""
    flags = "".join(
        (
            f" (nearest {e.nearest}{'' if e.score is None else f', score {e.score:.3g}'})"
            if e.nearest is not None
            else "",
            " calibrated" if e.calibrated else "",
            " upsampled" if e.upsampled else "",
        )
    )
    console.print(
        f"{e.t_start:10.3f} - {e.t_end:10.3f}  {e.device:<16} {e.label:<12} {e.confidence:6.3f}{flags}",
        markup=False,
    )


def health_table(stats: dict[str, StreamStats], devices: list[str], title: str | None = None) -> Table:
    t = Table(title=title, expand=False)
    for col, just in (
        ("device", "left"),
        ("activity", "left"),
        ("conf", "right"),
        ("rate Hz", "right"),
        ("samples", "right"),
        ("windows", "right"),
        ("gaps", "right"),
        ("lost", "right"),
        ("cut win", "right"),
        ("reconn", "right"),
        ("bad pkts", "right"),
        ("latency p50/p95 ms", "right"),
        ("clock ppm", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    names = list(dict.fromkeys([*devices, *stats]))
    for name in names:
        s = stats.get(name)
        if s is None:
            t.add_row(name, "[dim]connecting...[/]", *[""] * 11)
            continue
        rate = _fmt(s.rate_hz, ".1f") + (" [yellow]up[/]" if s.upsampled else "")
        lat = f"{_fmt(s.latency_quantile_ms(0.5))}/{_fmt(s.latency_quantile_ms(0.95))}"
        activity = f"[bold]{s.last_label}[/]" if s.last_label else "[dim]...[/]"
        if s.last_label == UNKNOWN_LABEL:
            activity = f"[yellow]{UNKNOWN_LABEL}[/]"
        if s.error:
            activity = "[red]failed[/]"
        t.add_row(
            name,
            activity,
            _fmt(s.last_confidence, ".2f") if s.last_label else "",
            rate,
            str(s.samples_in),
            str(s.windows),
            _warn(s.gaps),
            _warn(s.samples_lost),
            _warn(s.windows_dropped_at_gaps),
            _warn(s.reconnects),
            _warn(s.decode_errors),
            lat,
            "host-stamped" if s.host_stamped else _fmt(s.clock_skew_ppm, "+.0f"),
        )
    return t


def _warn(n: int) -> str:
    return f"[yellow]{n}[/]" if n else "0"


class LiveView:
    """A rich Live table, refreshed by the stream loop; a no-op when ``enabled`` is False."""

    def __init__(
        self, console: Console, pipeline: Pipeline, devices: list[str], enabled: bool = True
    ) -> None:
        self.console = console
        self.pipeline = pipeline
        self.devices = devices
        self.enabled = enabled and console.is_terminal
        self.recent: deque[ActivityEvent] = deque(maxlen=RECENT_EVENTS)
        self._live: Live | None = None

    def render(self) -> Group:
        lines = Text()
        for e in self.recent:
            what = e.label if e.nearest is None else f"{e.label} ~{e.nearest}"
            lines.append(
                f"{e.t_start:10.3f}  {e.device:<14} {what:<10} {e.confidence:5.2f}\n",
                style="yellow" if not e.known else "",
            )
        return Group(health_table(self.pipeline.stats, self.devices, "mujo-edge stream"), lines)

    def add_events(self, events: list[ActivityEvent]) -> None:
        self.recent.extend(events)

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.render())

    def __enter__(self) -> LiveView:
        if self.enabled:
            self._live = Live(self.render(), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.update(self.render())
            self._live.__exit__(*exc)
            self._live = None


def summary_table(stats: dict[str, StreamStats]) -> Table:
    """One column per device, one row per figure: fits a plain 80-column terminal or log."""
    t = Table(title="summary")
    t.add_column("")
    names = list(stats)
    for name in names:
        t.add_column(name, justify="right")

    def row(label: str, f: Any) -> None:
        t.add_row(label, *[f(stats[n]) for n in names])

    row("activity (last)", lambda s: f"{s.last_label} {s.last_confidence:.2f}" if s.last_label else "-")
    row(
        "windows per activity",
        lambda s: (
            ", ".join(f"{k} {v}" for k, v in sorted(s.label_counts.items(), key=lambda kv: -kv[1])) or "-"
        ),
    )
    row("unknown windows", lambda s: _warn(s.unknown))
    row("rate Hz", lambda s: _fmt(s.rate_hz, ".2f") + (" (upsampled)" if s.upsampled else ""))
    row("samples in", lambda s: str(s.samples_in))
    row("windows classified", lambda s: str(s.windows))
    row("gaps", lambda s: _warn(s.gaps))
    row("samples lost (radio)", lambda s: _warn(s.samples_lost))
    row("windows cut by gaps", lambda s: _warn(s.windows_dropped_at_gaps))
    row("reconnects", lambda s: _warn(s.reconnects))
    row("packets not decoded", lambda s: _warn(s.decode_errors))
    row("bad (NaN) samples", lambda s: _warn(s.bad_samples))
    row(
        "latency p50/p95 ms",
        lambda s: f"{_fmt(s.latency_quantile_ms(0.5))}/{_fmt(s.latency_quantile_ms(0.95))}",
    )
    row("clock skew ppm", lambda s: "host-stamped" if s.host_stamped else _fmt(s.clock_skew_ppm, "+.0f"))
    if any(s.model_errors for s in stats.values()):
        row("windows the model gave NaN for", lambda s: _warn(s.model_errors))
    if any(s.error for s in stats.values()):
        row("failed", lambda s: f"[red]{s.error}[/]" if s.error else "")
    return t


def print_summary(
    console: Console, pipeline: Pipeline, events_path: Path | None, n_events: int | None
) -> None:
    """The closing summary: the health of every device's stream, where the events went."""
    stats = pipeline.stats
    console.print(summary_table(stats))
    where = f" -> {events_path}" if events_path is not None else ""
    total = sum(s.windows for s in stats.values())
    console.print(f"{n_events if n_events is not None else total} events{where}")
    for name, s in stats.items():
        if s.upsampled:
            console.print(
                f"[yellow]{name}: {s.nominal_rate_hz:g} Hz device upsampled to the 50 Hz grid (host-stamped: "
                "timing jitter and lost samples cannot be seen); its events are marked upsampled[/]"
            )
