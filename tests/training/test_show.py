"""`mujo-edge data show`: window picking, view axes, and a real PNG with and without pose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo_edge.cli import main
from mujo_edge.constants import H36M_JOINTS
from mujo_edge.training.data.format import write_dataset
from mujo_edge.training.data.show import pick_windows, view_axes

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
