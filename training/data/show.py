"""A picture of a dataset: a few windows per class, accelerometer traces beside a skeleton frame.

Used by ``mujo-edge data show``: look at the data before training on it (a flipped axis, a wrong unit or an
empty class shows at a glance). matplotlib with the Agg backend, so it runs without a display. Where the
picture goes is settled by :func:`figure_path` before anything is drawn, and the path returned is the file
written, so the command names the real file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mujo_edge.constants import H36M_JOINTS, RATE_HZ
from mujo_edge.errors import DataError
from mujo_edge.training.data.format import Dataset

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Bones of the H36M skeleton as pairs of indices into H36M_JOINTS.
H36M_BONES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
    (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16),
)  # fmt: skip
_WRISTS = (H36M_JOINTS.index("l_wrist"), H36M_JOINTS.index("r_wrist"))
_AXIS_COLORS = ("tab:red", "tab:green", "tab:blue")
#: Picture formats written, by file suffix (matplotlib's Agg backend writes these without extra packages).
FIGURE_SUFFIXES: tuple[str, ...] = (".png", ".svg", ".pdf")


def figure_path(out: str | Path, dataset: str | Path) -> Path:
    """The file a picture of the dataset at ``dataset`` asked for as ``out`` is written to.

    - an existing folder, or a path ending in a separator: ``<dataset folder name>.png`` inside it (``--out
      plots/`` with ``data/seglearn`` writes ``plots/seglearn.png``);
    - no suffix: ``.png`` is added (``--out show`` writes ``show.png``);
    - a suffix in :data:`FIGURE_SUFFIXES` (any case): as given;
    - any other suffix: DataError listing the supported ones, raised before anything is read or drawn.
    """
    text = str(out)
    path = Path(out)
    if path.is_dir() or text.endswith(("/", os.sep)):
        name = Path(dataset).resolve().name or "dataset"
        return path / f"{name}.png"
    suffix = path.suffix.lower()
    if not suffix:
        return path.with_name(path.name + ".png")
    if suffix not in FIGURE_SUFFIXES:
        raise DataError(
            f"--out {out}: {path.suffix!r} is not a picture format this writes; end --out in one of "
            f"{', '.join(FIGURE_SUFFIXES)} (e.g. {path.with_suffix('.png')})"
        )
    return path


def pick_windows(labels: np.ndarray, per_class: int, seed: int) -> dict[int, np.ndarray]:
    """Up to ``per_class`` random window indices of every class present, sorted; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    picked = {}
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        picked[int(c)] = np.sort(rng.choice(idx, size=min(per_class, idx.size), replace=False))
    return picked


def view_axes(pose: np.ndarray, up_axis: str | None = None) -> tuple[int, int, float]:
    """(horizontal axis, vertical axis, sign making "up" point up) to draw poses (..., 17, 3) from the front.

    ``up_axis`` (e.g. ``"+z"`` or ``"-y"``, from ``manifest["pose_up_axis"]``) wins; otherwise "up" is the
    world axis along which the head sits farthest from the ankles on average over all of ``pose`` (most
    windows of most datasets are upright even if a few, e.g. push-ups, are not).
    """
    flat = pose.reshape(-1, len(H36M_JOINTS), 3)
    if up_axis:
        v = "xyz".index(up_axis[-1].lower())
        sign = -1.0 if up_axis.startswith("-") else 1.0
    else:
        ankles = flat[:, [H36M_JOINTS.index("l_ankle"), H36M_JOINTS.index("r_ankle")]].mean(axis=1)
        mean_up = (flat[:, H36M_JOINTS.index("head")] - ankles).mean(axis=0)
        v = int(np.argmax(np.abs(mean_up)))
        sign = float(np.sign(mean_up[v]) or 1.0)
    spread = flat.reshape(-1, 3).std(axis=0)
    spread[v] = -1.0
    return int(np.argmax(spread)), v, sign


def render_dataset(ds: Dataset, out: str | Path, per_class: int = 3, seed: int = 0) -> Path:
    """Draw ``per_class`` windows of every class into a picture at ``out``; returns the file written.

    ``out`` is resolved by :func:`figure_path` (a folder gets a file inside it, a missing suffix ``.png``, an
    unsupported suffix is refused). Each window: x/y/z acceleration (g) against time (s); with pose, the
    skeleton at the window's middle frame (up is up, the widest horizontal axis across; wrists and their paths
    in orange) beside it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if per_class < 1:
        raise DataError(f"--per-class must be at least 1, got {per_class}")
    out = figure_path(out, ds.root)
    labels = np.asarray(ds.label)
    if labels.size == 0:
        raise DataError(f"{ds.root} holds no windows; nothing to show")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            f"cannot create the folder of --out {out} ({e.strerror or e}); choose another --out"
        ) from e
    picked = pick_windows(labels, per_class, seed)
    has_pose = ds.pose is not None
    cols = per_class * (2 if has_pose else 1)
    ratios = [3, 1.2] * per_class if has_pose else [3] * per_class
    fig, axes = plt.subplots(
        len(picked),
        cols,
        figsize=(sum(ratios) * 1.25 + 0.5, 1.9 * len(picked) + 0.6),
        gridspec_kw={"width_ratios": ratios},
        squeeze=False,
    )
    t_s = np.arange(ds.acc.shape[1]) / (ds.rate_hz or RATE_HZ)
    every = np.concatenate(list(picked.values()))
    shown = np.asarray(ds.acc[every])
    lo, hi = min(float(shown.min()), -1.2) - 0.1, max(float(shown.max()), 1.2) + 0.1
    texts = ds.label_text
    view = (
        view_axes(np.asarray(ds.pose[every]), ds.manifest.get("pose_up_axis"))
        if ds.pose is not None
        else None
    )
    for row, (c, idx) in enumerate(picked.items()):
        name = ds.labels[c]
        title = texts.get(name, [name])[0]
        for k in range(per_class):
            ax = axes[row, k * (2 if has_pose else 1)]
            if k >= idx.size:
                ax.axis("off")
                if has_pose:
                    axes[row, 2 * k + 1].axis("off")
                continue
            w = int(idx[k])
            for ch in range(3):
                ax.plot(t_s, ds.acc[w, :, ch], color=_AXIS_COLORS[ch], lw=0.9, label="xyz"[ch])
            ax.set_ylim(lo, hi)
            ax.grid(alpha=0.3)
            ax.set_title(
                f"{title} | s{int(ds.subject[w])} r{int(ds.recording[w])} @{int(ds.start[w])}", fontsize=7
            )
            ax.tick_params(labelsize=6)
            if k == 0:
                ax.set_ylabel(f"{name}\nacc (g)", fontsize=8)
            if row == len(picked) - 1:
                ax.set_xlabel("time (s)", fontsize=7)
            if row == 0 and k == 0:
                ax.legend(fontsize=6, loc="upper right", ncol=3)
            if ds.pose is not None and view is not None:
                _draw_skeleton(axes[row, 2 * k + 1], np.asarray(ds.pose[w]), view)
    fig.suptitle(
        f"{ds.manifest.get('name', 'dataset')}: {len(ds)} windows, {len(picked)} classes, "
        f"{ds.acc.shape[1]} samples at {ds.rate_hz:g} Hz",
        fontsize=10,
    )
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=110, format=out.suffix[1:].lower())
    except OSError as e:
        raise DataError(f"cannot write {out} ({e.strerror or e}); choose an --out you can write to") from e
    finally:
        plt.close(fig)
    return out


def _draw_skeleton(ax: Axes, pose: np.ndarray, view: tuple[int, int, float]) -> None:
    """Stick figure of the middle frame of a (100, 17, 3) pose window, wrists and their paths in orange."""
    h, v, sign = view
    frame = pose[pose.shape[0] // 2]
    x, y = frame[:, h], sign * frame[:, v]
    for a, b in H36M_BONES:
        ax.plot([x[a], x[b]], [y[a], y[b]], color="0.25", lw=1.4)
    ax.scatter(x, y, s=5, color="0.1", zorder=3)
    ax.scatter(x[list(_WRISTS)], y[list(_WRISTS)], s=18, color="tab:orange", zorder=4)
    # The watch wrist's path over the whole window.
    for j in _WRISTS:
        ax.plot(pose[:, j, h], sign * pose[:, j, v], color="tab:orange", lw=0.6, alpha=0.6)
    ax.set_aspect("equal")
    ax.axis("off")
