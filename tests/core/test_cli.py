"""The console command's skeleton: version, help, doctor."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mujo_edge import __version__
from mujo_edge.cli import build_parser, main
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


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "synth", "--out", "x"],
        ["data", "import", "bvh", "a.bvh", "--out", "x", "--label", "walking"],
        ["data", "noise-control", "a", "--out", "x"],
        ["data", "show", "a"],
        ["data", "video", "a", "--out", "x"],
        ["pretrain", "--data", "a", "--out", "x"],
        ["finetune", "--pretrained", "a", "--data", "b", "--out", "x"],
        ["distill", "--teacher", "a", "--data", "b", "--out", "x"],
        ["export", "a", "--out", "x.mujo"],
        ["teach", "--bundle", "a.mujo", "--out", "x.mujo"],
    ],
)
def test_a_negative_seed_is_refused_by_the_parser(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """numpy's 'expected non-negative integer' traceback came after the data was read."""
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--seed", "-1"])
    assert "--seed: must be >= 0, got -1" in capsys.readouterr().err
