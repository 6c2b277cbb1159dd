"""`mujo-edge data show`: window picking, view axes, and a real PNG with and without pose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo_edge.cli import main
from mujo_edge.constants import H36M_JOINTS
from mujo_edge.errors import DataError
from mujo_edge.training.data.format import write_dataset
from mujo_edge.training.data.show import figure_path, pick_windows, view_axes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _standing(n: int, up: int = 2, sign: float = 1.0) -> np.ndarray:
    """(n, 100, 17, 3) upright skeletons along world axis ``up`` (height 0 at the ankles, 1.7 m head)."""
    height = {"head": 1.7, "neck": 1.55, "thorax": 1.45, "spine": 1.2, "hip": 0.95, "l_hip": 0.95, "r_hip": 0.95,
              "l_knee": 0.5, "r_knee": 0.5, "l_ankle": 0.0, "r_ankle": 0.0, "l_shoulder": 1.45,
              "r_shoulder": 1.45, "l_elbow": 1.15, "r_elbow": 1.15, "l_wrist": 0.9, "r_wrist": 0.9}  # fmt: skip
    across = {n: (0.2 if n.startswith("l_") else -0.2 if n.startswith("r_") else 0.0) for n in H36M_JOINTS}
    frame = np.zeros((17, 3))
    side = (up + 1) % 3
    for j, name in enumerate(H36M_JOINTS):
        frame[j, up] = sign * height[name]
        frame[j, side] = across[name]
    pose = np.broadcast_to(frame, (n, 100, 17, 3)).copy()
    pose[:, :, H36M_JOINTS.index("l_wrist"), up] += sign * 0.3 * np.sin(np.linspace(0, 2 * np.pi, 100))
    return pose


def _dataset(root: Path, with_pose: bool) -> Path:
    n = 12
    rng = np.random.default_rng(0)
    t = np.arange(100) / 50.0
    acc = np.zeros((n, 100, 3), np.float32)
    acc[:, :, 2] = 1.0
    acc[:6, :, 0] = 0.8 * np.sin(2 * np.pi * t)  # class 0 ("curl") swings; class 1 ("rest") is still
    write_dataset(
        root,
        acc=acc + rng.normal(0, 0.02, acc.shape).astype(np.float32),
        pose=_standing(n) if with_pose else None,
        label=np.repeat([0, 1], 6),
        subject=np.tile([1, 2], 6),
        recording=np.repeat([0, 1], 6),
        start=np.tile(np.arange(6) * 50, 2),
        labels=["curl", "rest"],
        label_text={"curl": ["bicep curl", "Curl the weight up."], "rest": ["rest"]},
    )
    return root


def test_pick_windows_per_class_and_deterministic() -> None:
    labels = np.repeat([0, 1, 2], [10, 2, 5])
    picked = pick_windows(labels, 3, seed=4)
    assert {c: v.size for c, v in picked.items()} == {0: 3, 1: 2, 2: 3}
    assert all((labels[v] == c).all() for c, v in picked.items())
    again = pick_windows(labels, 3, seed=4)
    assert all(np.array_equal(picked[c], again[c]) for c in picked)


def test_view_axes_find_up() -> None:
    assert view_axes(_standing(2, up=2))[1:] == (2, 1.0)
    assert view_axes(_standing(2, up=1, sign=-1.0))[1:] == (1, -1.0)
    h, v, s = view_axes(_standing(2, up=2), up_axis="-y")
    assert (v, s) == (1, -1.0) and h != v


@pytest.mark.parametrize("with_pose", [True, False])
def test_show_writes_a_png(tmp_path: Path, with_pose: bool) -> None:
    ds = _dataset(tmp_path / "ds", with_pose)
    out = tmp_path / "show.png"
    assert main(["data", "show", str(ds), "--out", str(out), "--per-class", "2", "--seed", "1"]) == 0
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    # 2 classes x 2 windows of traces (+ skeletons): tens of kB, not an empty canvas.
    assert 20_000 < len(data) < 2_000_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert height > 300 and width > (1000 if with_pose else 700)


def test_show_refuses_a_missing_dataset(tmp_path: Path) -> None:
    assert main(["data", "show", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.png").exists()


# --- --out: the file written is the file named; a wrong format fails before anything is read ------------------


def _said(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().out.split())  # rich wraps long lines


def test_out_without_suffix_gets_png_and_the_message_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = _dataset(tmp_path / "ds", with_pose=False)
    assert main(["data", "show", str(ds), "--out", str(tmp_path / "noext"), "--per-class", "1"]) == 0
    written = tmp_path / "noext.png"
    assert written.read_bytes()[:8] == PNG_MAGIC and not (tmp_path / "noext").exists()
    assert f"wrote {written} (" in _said(capsys)


def test_out_folder_gets_the_dataset_name_inside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = _dataset(tmp_path / "walks", with_pose=False)
    plots = tmp_path / "plots"
    plots.mkdir()
    assert main(["data", "show", str(ds), "--out", str(plots), "--per-class", "1"]) == 0
    assert (plots / "walks.png").read_bytes()[:8] == PNG_MAGIC
    assert not (tmp_path / "plots.png").exists()
    assert f"wrote {plots / 'walks.png'} (" in _said(capsys)
    new = tmp_path / "new"  # a path ending in "/" is a folder too, created when missing
    assert main(["data", "show", str(ds), "--out", f"{new}/", "--per-class", "1"]) == 0
    assert (new / "walks.png").read_bytes()[:8] == PNG_MAGIC
    assert f"wrote {new / 'walks.png'} (" in _said(capsys)


def test_unsupported_suffix_is_refused_before_reading_and_svg_pdf_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-dataset"  # refused on --out alone: the dataset is not even opened
    assert main(["data", "show", str(missing), "--out", str(tmp_path / "s.txt")]) == 2
    said = _said(capsys)
    assert "'.txt' is not a picture format" in said and ".png, .svg, .pdf" in said
    assert f"(e.g. {tmp_path / 's.png'})" in said
    assert not (tmp_path / "s.txt").exists() and not (tmp_path / "s.png").exists()
    ds = _dataset(tmp_path / "ds", with_pose=False)
    assert main(["data", "show", str(ds), "--out", str(tmp_path / "s.SVG"), "--per-class", "1"]) == 0
    assert b"<svg" in (tmp_path / "s.SVG").read_bytes()[:2000]
    assert main(["data", "show", str(ds), "--out", str(tmp_path / "s.pdf"), "--per-class", "1"]) == 0
    assert (tmp_path / "s.pdf").read_bytes()[:5] == b"%PDF-"


def test_figure_path_rules(tmp_path: Path) -> None:
    assert figure_path(tmp_path / "a", "data/seglearn") == tmp_path / "a.png"
    assert figure_path(tmp_path / "a.PNG", "data/seglearn") == tmp_path / "a.PNG"
    assert figure_path(tmp_path, "data/seglearn") == tmp_path / "seglearn.png"
    assert figure_path("plots/", "data/seglearn") == Path("plots/seglearn.png")
    with pytest.raises(
        DataError, match=r"'\.jpeg' is not a picture format.*end --out in one of \.png, \.svg, \.pdf"
    ):
        figure_path(tmp_path / "a.jpeg", "data/seglearn")
