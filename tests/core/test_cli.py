"""The console command's skeleton: version, help, doctor."""

from __future__ import annotations

import subprocess
import sys

from mujo_edge import __version__
from mujo_edge.cli import main
from mujo_edge.cli.doctor import run_checks


def test_version() -> None:
    out = subprocess.run([sys.executable, "-m", "mujo_edge.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"mujo-edge {__version__}"


def test_no_command_prints_help_and_fails() -> None:
    assert main([]) == 2


def test_doctor_reports_core_ok() -> None:
    checks = {c.name: c for c in run_checks()}
    assert checks["numpy / scipy"].ok
    for c in checks.values():
        assert c.ok or c.fix, f"{c.name} is missing but says nothing about how to fix it"
