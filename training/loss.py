"""Pairwise symmetric InfoNCE over every modality pair (paper eq. 1-3).

For modalities a, b with projections z_a, z_b (B, D):

    s_ij = cos(z_a^i, z_b^j) * logit_scale          (eq. 1, logit_scale = 1 / temperature)
    L_c(a, b) = mean_i -log( sum_{j in P_i} exp(s_ij) / sum_j exp(s_ij) )      (eq. 2)
    L_total = 1 / |pairs| * sum_{(a, b) in pairs} ( L_c(a, b) + L_c(b, a) )    (eq. 3)

Differences from the paper's formulas, on purpose:

- eq. 2 sums over the batch; we take the mean over the valid samples so the loss does not grow with the
  batch size (a constant factor, the optimum is the same).
- ``P_i`` is ``{i}`` (the paper) unless ``positives`` is given: then every j with ``positives[i, j]`` counts
  as a positive (same-label windows are not true negatives in a corpus where many windows share a class).
  The multi-positive form puts the sum inside the log, so it reduces exactly to eq. 2 for the identity.
- per-sample masks: a window that lacks modality m is excluded from every pair with m (its row and its
  column), while its other pairs still train. A pair with fewer than two valid samples is dropped and the
  average is over the pairs that remain.
- ``text_anchored=True`` keeps only the (text, m) pairs (the paper's ablation; all pairs were better).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import torch
import torch.nn.functional as F
from torch import Tensor


def info_nce(
    z_a: Tensor,
    z_b: Tensor,
    logit_scale: Tensor | float,
    positives: Tensor | None = None,
) -> Tensor:
    """L_c(a, b) of eq. 2 (mean over rows): each row i of ``z_a`` must pick row i of ``z_b``.

    Args:
        z_a, z_b: (B, D) projections of the same B windows (normalized here).
        logit_scale: 1 / temperature.
        positives: optional (B, B) bool, ``positives[i, j]`` if j is a positive for i (diagonal implied).
    """
    sim = F.normalize(z_a, dim=1) @ F.normalize(z_b, dim=1).T * logit_scale
    log_denominator = torch.logsumexp(sim, dim=1)
    if positives is None:
        log_numerator = sim.diagonal()
    else:
        pos = positives | torch.eye(sim.shape[0], dtype=torch.bool, device=sim.device)
        log_numerator = torch.logsumexp(sim.masked_fill(~pos, float("-inf")), dim=1)
    return (log_denominator - log_numerator).mean()


def modality_pairs(
    modalities: list[str] | tuple[str, ...], text_anchored: bool = False
) -> list[tuple[str, str]]:
    """All C(M, 2) pairs in a stable order, or only the (text, m) pairs when ``text_anchored``."""
    pairs = list(combinations(modalities, 2))
    if text_anchored:
        if "text" not in modalities:
            raise ValueError("text_anchored needs the text modality")
        pairs = [p for p in pairs if "text" in p]
    return pairs


def multimodal_info_nce(
    z: Mapping[str, Tensor],
    logit_scale: Tensor | float,
    masks: Mapping[str, Tensor] | None = None,
    labels: Tensor | None = None,
    text_anchored: bool = False,
) -> tuple[Tensor, dict[str, float]]:
    """L_total of eq. 3 over the modalities in ``z``.

    Args:
        z: ``{modality: (B, D)}`` projections of the same B windows.
        logit_scale: 1 / temperature (a tensor if it is learned).
        masks: optional ``{modality: (B,) bool}``, False where a window lacks that modality.
        labels: optional (B,) int; if given, windows with the same label are positives of each other.
        text_anchored: only pairs that contain text.
    Returns:
        (loss, {"acc-text": L_c(acc,text)+L_c(text,acc), ...}) with the per-pair sums as floats.
    """
    mods = list(z)
    if len(mods) < 2:
        raise ValueError(f"contrastive pretraining needs at least two modalities, got {mods}")
    total: Tensor | None = None
    per_pair: dict[str, float] = {}
    for a, b in modality_pairs(mods, text_anchored):
        za, zb, lab = z[a], z[b], labels
        if masks is not None:
            keep = torch.ones(za.shape[0], dtype=torch.bool, device=za.device)
            for m in (a, b):
                if m in masks:
                    keep &= masks[m]
            if int(keep.sum()) < 2:
                continue
            za, zb = za[keep], zb[keep]
            lab = labels[keep] if labels is not None else None
        pos = (lab[:, None] == lab[None, :]) if lab is not None else None
        pair = info_nce(za, zb, logit_scale, pos) + info_nce(
            zb, za, logit_scale, pos.T if pos is not None else None
        )
        per_pair[f"{a}-{b}"] = float(pair.detach())
        total = pair if total is None else total + pair
    if total is None:
        raise ValueError("no modality pair has two or more valid samples in this batch")
    return total / len(per_pair), per_pair
