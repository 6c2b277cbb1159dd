"""PyTorch distributed training, the plain way: ``torchrun`` sets the environment, we read it.

``torchrun --nproc_per_node N -m mujo_edge.cli pretrain ...`` (or ``--nnodes``/``--rdzv-endpoint`` across
machines) starts N processes with ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``; :func:`init_distributed` joins the
process group (``nccl`` on CUDA, ``gloo`` on CPU), and the trainer wraps its model in
``DistributedDataParallel`` and shards every epoch with a ``DistributedSampler``. Only rank 0 writes
checkpoints and logs. Without those variables everything runs as a single process.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from mujo_edge.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: rank among world_size processes, and the torch device it uses."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(device: str, local_rank: int = 0) -> str:
    """``cpu`` or ``cuda`` (-> ``cuda:<local_rank>``); refuses ``cuda`` where none is available."""
    if device == "cpu":
        return "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"--device {device} was asked for but torch sees no CUDA GPU; use --device cpu."
            )
        return device if ":" in device else f"cuda:{local_rank}"
    raise DeviceError(f"unknown device {device!r}: use cpu or cuda")


def check_workers(device: str, jobs: int) -> None:
    """Refuse a torch device this host lacks and a worker count below 1 before any run (DeviceError /
    ConfigError naming the flag), instead of torch's traceback at the first run."""
    resolve_device(device)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs must be a whole number >= 1 (worker processes), got {jobs!r}")


def init_distributed(device: str = "cpu") -> DistInfo:
    """Join the process group if launched by torchrun (``WORLD_SIZE`` > 1), else a single-process DistInfo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if dev.startswith("cuda") else "gloo"
        if dev.startswith("cuda"):
            torch.cuda.set_device(dev)
        dist.init_process_group(backend=backend)
        log.info("joined process group: rank %d of %d (%s)", rank, world, backend)
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank, device=dev)


def all_reduce_mean(value: float, info: DistInfo) -> float:
    """Mean of a float over all ranks (identity when not distributed)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item()) / info.world_size


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
