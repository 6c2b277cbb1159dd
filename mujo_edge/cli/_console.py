"""The one rich console the CLI prints to. Library code logs; only the CLI prints."""

from __future__ import annotations

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
