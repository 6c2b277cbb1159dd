"""Zero-shot: top-k macro-F1 by hand, and the command end to end with the real frozen text encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="zero-shot needs torch (training extra)")

from mujo_edge.training.zeroshot import topk_macro_f1  # noqa: E402

pytestmark = pytest.mark.torch


def test_topk_macro_f1_counts_hits_in_the_top_k_else_top1() -> None:
    sim = np.array(
        [
            [0.9, 0.5, 0.1],  # y=0: top-1 hit
            [0.9, 0.5, 0.1],  # y=1: rank 2
            [0.9, 0.5, 0.1],  # y=2: rank 3
            [0.1, 0.2, 0.9],  # y=2: top-1 hit
        ]
    )
    y = np.array([0, 1, 2, 2])
    # top-1: pred [0,0,0,2] -> F1 class0 = 2*1*0.333/(1.333)=0.5, class1 = 0, class2 = 2*1*.5/1.5 = .667
    assert topk_macro_f1(sim, y, 1) == pytest.approx((0.5 + 0.0 + 2 / 3) / 3)
    # top-2: pred [0,1,0,2] -> class0 P=.5 R=1 F=.667, class1 1, class2 P=1 R=.5 F=.667
    assert topk_macro_f1(sim, y, 2) == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    assert topk_macro_f1(sim, y, 3) == pytest.approx(1.0)


def test_distractor_class_absent_from_truth_is_not_averaged() -> None:
    sim = np.array([[0.1, 0.9], [0.9, 0.1]])  # column 1 = "no activity", never a true label
    assert topk_macro_f1(sim, np.array([0, 0]), 1) == pytest.approx(2 * 0.5 / 1.5)


@pytest.mark.slow
def test_zeroshot_command_end_to_end(tmp_path: Path) -> None:
    from mujo_edge.cli import main
    from mujo_edge.training.models import ModelConfig
    from mujo_edge.training.pretrain import PretrainConfig, pretrain
    from tests.training.tiny_data import make_tiny_dataset

    torch.set_num_threads(1)
    make_tiny_dataset(tmp_path / "corpus", per_label_subject=4)
    cfg = PretrainConfig(
        model=ModelConfig(
            modalities=("acc", "text"), cnn="mmfit", joint_dim=32, proj_hidden=32, text_hidden=32
        ),
        epochs=1,
        batch_size=32,
        val_subjects=(6,),
    )
    pretrain(tmp_path / "corpus", tmp_path / "run", cfg)
    make_tiny_dataset(tmp_path / "real", seed=2, per_label_subject=3, labels=["PEN", "ABD", "Rest", "ROW"])
    out = tmp_path / "zs.json"
    assert (
        main(
            [
                "zeroshot",
                "--pretrained",
                str(tmp_path / "run"),
                "--data",
                str(tmp_path / "real"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    res = json.loads(out.read_text())
    assert res["labels"] == ["PEN", "ABD", "ROW"]  # "Rest" is the no-activity class
    assert res["chance_top1"] == pytest.approx(1 / 3)
    for part in ("without_no_activity", "with_no_activity"):
        r = res[part]
        assert 0.0 <= r["top1"] <= r["top3"] <= r["top5"] <= 1.0
    assert res["without_no_activity"]["top3"] == pytest.approx(1.0)  # three candidates: always in the top 3
    assert res["n_windows"] == 6 * 4 * 3
