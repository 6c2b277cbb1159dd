"""The command an artifact records: as a user types it, never a machine's folder layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from mujo_edge.provenance import command_line, provenance


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/opt/venv/bin/mujo-edge", "export", "--int8", "s"], "mujo-edge export --int8 s"),
        (["/srv/checkout/mujo_edge/cli/__main__.py", "distill", "--out", "d"], "mujo-edge distill --out d"),
        (["experiments/open_set.py", "--bundle", "b"], "experiments/open_set.py --bundle b"),
        (["/elsewhere/tools/bench.py", "-q"], "bench.py -q"),
        ([], ""),
    ],
)
def test_command_line_is_what_a_user_types(argv: list[str], expected: str) -> None:
    assert command_line(argv) == expected


def test_a_script_under_the_working_folder_is_recorded_relative_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert command_line([str(tmp_path / "experiments" / "x.py"), "1"]) == "experiments/x.py 1"
    monkeypatch.setattr("sys.argv", [str(tmp_path / "mujo_edge" / "cli" / "__main__.py"), "export"])
    assert provenance(seed=3)["command"] == "mujo-edge export"
    assert provenance(seed=3)["seed"] == 3
