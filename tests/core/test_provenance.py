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


def test_an_artifact_folder_is_never_written_over_another_kind(tmp_path: Path) -> None:
    """finetune, distill, pretrain and pretrain-package replaced a dataset, a teacher or a run given as --out."""
    from mujo_edge.errors import ConfigError
    from mujo_edge.provenance import check_out_folder

    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text('{"format": "mujo-edge-dataset"}')
    with pytest.raises(ConfigError, match="already holds a mujo-edge-dataset; write the classifier to a new"):
        check_out_folder(data, "mujo-edge-classifier", "classifier", {})
    with pytest.raises(ConfigError, match="is the --teacher itself"):
        check_out_folder(data, "mujo-edge-student", "student", {"--teacher": data})
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        check_out_folder(tmp_path / "file", "mujo-edge-student", "student", {})
    (data / "manifest.json").write_text("not json")
    with pytest.raises(ConfigError, match=r"a manifest\.json of no known kind"):
        check_out_folder(data, "mujo-edge-student", "student", {})
    # a new folder, or one of the same kind (a re-run), is the command's own business
    check_out_folder(tmp_path / "new", "mujo-edge-student", "student", {"--teacher": data})
    (data / "manifest.json").write_text('{"format": "mujo-edge-student"}')
    check_out_folder(data, "mujo-edge-student", "student", {})
