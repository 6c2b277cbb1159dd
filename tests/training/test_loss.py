"""Pairwise symmetric InfoNCE (paper eq. 1-3) against explicit loops, pair symmetry and masks."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch", reason="the loss needs torch (training extra)")

from mujo_edge.training.loss import info_nce, modality_pairs, multimodal_info_nce  # noqa: E402

pytestmark = pytest.mark.torch


def _cos(u: list[float], v: list[float]) -> float:
    dot = sum(a * b for a, b in zip(u, v, strict=True))
    return dot / (math.sqrt(sum(a * a for a in u)) * math.sqrt(sum(b * b for b in v)))


def _lc_by_hand(za: list[list[float]], zb: list[list[float]], tau: float) -> float:
    """Eq. 2 with explicit loops (mean over rows instead of the sum)."""
    total = 0.0
    for i in range(len(za)):
        num = math.exp(_cos(za[i], zb[i]) / tau)
        den = sum(math.exp(_cos(za[i], zb[j]) / tau) for j in range(len(zb)))
        total += -math.log(num / den)
    return total / len(za)


Z = {
    "acc": [[1.0, 0.0, 0.5], [0.2, 1.0, -0.3], [-0.7, 0.1, 0.9]],
    "pose": [[0.9, 0.2, 0.4], [0.0, 1.1, 0.1], [-0.2, -0.5, 1.0]],
    "text": [[0.3, -1.0, 0.2], [0.5, 0.5, 0.5], [-1.0, 0.3, 0.0]],
}
TAU = 0.5


def _tensors(names: tuple[str, ...] = ("acc", "pose", "text")) -> dict[str, torch.Tensor]:
    return {m: torch.tensor(Z[m], dtype=torch.float64) for m in names}


def test_info_nce_equals_hand_computed_eq2() -> None:
    t = _tensors(("acc", "text"))
    got = info_nce(t["acc"], t["text"], 1 / TAU)
    assert float(got) == pytest.approx(_lc_by_hand(Z["acc"], Z["text"], TAU), rel=1e-12)


def test_total_loss_equals_hand_computed_eq3() -> None:
    loss, per_pair = multimodal_info_nce(_tensors(), 1 / TAU)
    pairs = [("acc", "pose"), ("acc", "text"), ("pose", "text")]
    expected_pairs = {
        f"{a}-{b}": _lc_by_hand(Z[a], Z[b], TAU) + _lc_by_hand(Z[b], Z[a], TAU) for a, b in pairs
    }
    assert float(loss) == pytest.approx(sum(expected_pairs.values()) / 3, rel=1e-12)
    assert per_pair == pytest.approx(expected_pairs, rel=1e-12)


def test_loss_is_symmetric_in_pair_and_modality_order() -> None:
    t = _tensors()
    a, _ = multimodal_info_nce(t, 1 / TAU)
    b, _ = multimodal_info_nce({m: t[m] for m in ("text", "pose", "acc")}, 1 / TAU)
    assert float(a) == pytest.approx(float(b), rel=1e-12)
    ab = info_nce(t["acc"], t["pose"], 1 / TAU) + info_nce(t["pose"], t["acc"], 1 / TAU)
    ba = info_nce(t["pose"], t["acc"], 1 / TAU) + info_nce(t["acc"], t["pose"], 1 / TAU)
    assert float(ab) == float(ba)


def test_masks_drop_exactly_the_missing_pairs() -> None:
    t = _tensors()
    masks = {"pose": torch.tensor([True, False, True])}  # window 1 has no pose
    loss, per_pair = multimodal_info_nce(t, 1 / TAU, masks=masks)
    keep = [0, 2]
    sub = {m: [Z[m][i] for i in keep] for m in Z}
    exp_ap = _lc_by_hand(sub["acc"], sub["pose"], TAU) + _lc_by_hand(sub["pose"], sub["acc"], TAU)
    exp_pt = _lc_by_hand(sub["pose"], sub["text"], TAU) + _lc_by_hand(sub["text"], sub["pose"], TAU)
    exp_at = _lc_by_hand(Z["acc"], Z["text"], TAU) + _lc_by_hand(Z["text"], Z["acc"], TAU)  # untouched
    assert per_pair["acc-pose"] == pytest.approx(exp_ap, rel=1e-12)
    assert per_pair["pose-text"] == pytest.approx(exp_pt, rel=1e-12)
    assert per_pair["acc-text"] == pytest.approx(exp_at, rel=1e-12)
    assert float(loss) == pytest.approx((exp_ap + exp_pt + exp_at) / 3, rel=1e-12)


def test_a_modality_missing_everywhere_removes_its_pairs_from_the_average() -> None:
    t = _tensors()
    loss, per_pair = multimodal_info_nce(t, 1 / TAU, masks={"pose": torch.zeros(3, dtype=torch.bool)})
    assert set(per_pair) == {"acc-text"}
    exp = _lc_by_hand(Z["acc"], Z["text"], TAU) + _lc_by_hand(Z["text"], Z["acc"], TAU)
    assert float(loss) == pytest.approx(exp, rel=1e-12)


def test_same_label_positives_by_hand_and_identity_reduces_to_eq2() -> None:
    t = _tensors(("acc", "text"))
    plain, _ = multimodal_info_nce(t, 1 / TAU)
    distinct, _ = multimodal_info_nce(t, 1 / TAU, labels=torch.tensor([0, 1, 2]))
    assert float(distinct) == pytest.approx(float(plain), rel=1e-12)
    # windows 0 and 2 share a label: each is a positive of the other
    got = info_nce(
        t["acc"], t["text"], 1 / TAU, positives=torch.tensor([0, 1, 0])[:, None] == torch.tensor([0, 1, 0])
    )
    rows = []
    for i, pos in enumerate([[0, 2], [1], [0, 2]]):
        num = sum(math.exp(_cos(Z["acc"][i], Z["text"][j]) / TAU) for j in pos)
        den = sum(math.exp(_cos(Z["acc"][i], Z["text"][j]) / TAU) for j in range(3))
        rows.append(-math.log(num / den))
    assert float(got) == pytest.approx(sum(rows) / 3, rel=1e-12)


def test_text_anchored_pairs_only_contain_text() -> None:
    assert modality_pairs(["acc", "pose", "text"], text_anchored=True) == [("acc", "text"), ("pose", "text")]
    assert len(modality_pairs(["acc", "pose", "video", "text"])) == 6
    loss, per_pair = multimodal_info_nce(_tensors(), 1 / TAU, text_anchored=True)
    assert set(per_pair) == {"acc-text", "pose-text"}
    assert float(loss) == pytest.approx((per_pair["acc-text"] + per_pair["pose-text"]) / 2, rel=1e-12)


def test_gradient_flows_to_learnable_temperature() -> None:
    log_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    loss, _ = multimodal_info_nce(_tensors(), log_scale.exp())
    loss.backward()
    assert log_scale.grad is not None and float(log_scale.grad.abs()) > 0
