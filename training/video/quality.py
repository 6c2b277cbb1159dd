"""Checks of a video's pose without ground truth: detection rate, bone-length stability, a still stretch reading
1 g, and agreement between views of the same motion after rigid alignment (Procrustes)."""

from __future__ import annotations

import numpy as np

from mujo_edge.constants import RATE_HZ
from mujo_edge.errors import ShapeError
from mujo_edge.training.video.skeleton import bone_lengths


def bone_cv(pose_m: np.ndarray) -> dict[str, float]:
    """Coefficient of variation (std / mean) over time of each bone's length, pose (T, 17, 3)."""
    return {n: float(v.std() / max(v.mean(), 1e-12)) for n, v in bone_lengths(pose_m).items()}


def stillest_stretch(pose_m: np.ndarray, joint: int, rate_hz: float = RATE_HZ, length_s: float = 1.0) -> int:
    """Start sample of the ``length_s`` stretch in which ``joint`` moves least (smallest path length)."""
    n = round(length_s * rate_hz)
    if pose_m.shape[0] < n + 1:
        raise ShapeError(f"need more than {n} samples for a {length_s} s stretch, got {pose_m.shape[0]}")
    step = np.linalg.norm(np.diff(pose_m[:, joint], axis=0), axis=-1)
    path = np.convolve(step, np.ones(n - 1), mode="valid")
    return int(np.argmin(path))


def procrustes(a: np.ndarray, b: np.ndarray, scale: bool = True) -> tuple[np.ndarray, float]:
    """Align point set ``b`` (N, 3) to ``a`` (N, 3) by rotation, translation (and scale): returns (aligned b, scale)."""
    ma, mb = a.mean(0), b.mean(0)
    a0, b0 = a - ma, b - mb
    u, s, vt = np.linalg.svd(b0.T @ a0)
    d = np.sign(np.linalg.det(u @ vt))
    s[-1] *= d
    u[:, -1] *= d
    r = u @ vt
    k = s.sum() / max((b0**2).sum(), 1e-12) if scale else 1.0
    return k * b0 @ r + ma, float(k)


def view_agreement(ref_m: np.ndarray, other_m: np.ndarray) -> dict[str, float]:
    """How well two views' poses (T, J, 3) of the same motion agree, metres of mean joint distance.

    ``sequence_mm``: one rotation + translation for the whole sequence (the cameras do not move, so one
    suffices), no scale. ``per_frame_mm``: Procrustes with scale per frame (PA-MPJPE). Frames with NaN are left
    out.
    """
    ok = np.isfinite(ref_m).all(axis=(1, 2)) & np.isfinite(other_m).all(axis=(1, 2))
    a, b = ref_m[ok], other_m[ok]
    if a.shape[0] == 0:
        raise ShapeError("the two views share no frame with a pose")
    aligned, _ = procrustes(a.reshape(-1, 3), b.reshape(-1, 3), scale=False)
    seq = np.linalg.norm(aligned.reshape(a.shape) - a, axis=-1).mean()
    per = np.mean(
        [np.linalg.norm(procrustes(x, y)[0] - x, axis=-1).mean() for x, y in zip(a, b, strict=True)]
    )
    return {"sequence_mm": float(seq * 1000), "per_frame_mm": float(per * 1000), "frames": int(ok.sum())}
