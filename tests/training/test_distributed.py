"""DistributedDataParallel pretraining with 2 CPU processes on the gloo backend (what torchrun sets up)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="distributed pretraining needs torch (training extra)")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

from tests.training.tiny_data import make_tiny_dataset  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank_main(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(
        {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    torch.set_num_threads(1)
    from mujo_edge.training.models import ModelConfig
    from mujo_edge.training.pretrain import PretrainConfig, pretrain

    cfg = PretrainConfig(
        model=ModelConfig(cnn="mmfit", joint_dim=32, proj_hidden=32, text_hidden=32),
        epochs=4,
        batch_size=32,
        lr=3e-3,
        val_subjects=(6,),
        seed=1,
    )
    pretrain(data, out, cfg)


@pytest.mark.skipif(not dist.is_gloo_available(), reason="this torch build has no gloo backend")
def test_two_gloo_ranks_train_to_identical_weights(tmp_path: Path) -> None:
    make_tiny_dataset(tmp_path / "data")
    mp.spawn(
        _rank_main, args=(2, _free_port(), str(tmp_path / "data"), str(tmp_path / "run")), nprocs=2, join=True
    )
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man["world_size"] == 2
    digests = man["rank_weight_sha256"]
    assert len(digests) == 2 and digests[0] == digests[1]
    hist = man["history"]
    assert len(hist) == 4
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    # each rank saw its half: the DistributedSampler shards 160 training windows into 2 x 80
    assert man["data"]["n_train_windows"] == 160
