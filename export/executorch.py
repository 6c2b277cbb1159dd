"""ExecuTorch ``.pte`` through XNNPACK: int8 (PT2E) or float32, with the partition count checked.

The program runs on a phone with ExecuTorch's C++ runtime and here with ``executorch.runtime``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from mujo_edge.noise import quiet_third_party

#: Alignment of the program's data segments, bytes.
SEGMENT_ALIGNMENT = 16


def partition_info(graph_module: torch.fx.GraphModule) -> dict[str, Any]:
    """How the lowered graph splits: XNNPACK delegate calls and the ops left to ExecuTorch's CPU kernels."""
    delegates = 0
    cpu_ops: list[str] = []
    for node in graph_module.graph.nodes:
        if node.op != "call_function":
            continue
        name = getattr(node.target, "__name__", str(node.target))
        if "executorch_call_delegate" in name:
            delegates += 1
        elif name != "getitem":
            cpu_ops.append(name)
    return {
        "backend": "XnnpackBackend",
        "xnnpack_partitions": delegates,
        "non_delegated_ops": cpu_ops,
        "whole_model_in_one_partition": delegates == 1 and not cpu_ops,
    }


def to_pte(
    model: nn.Module,
    example: torch.Tensor,
    calib_bcw: np.ndarray | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Lower ``model`` (eval, BatchNorm folded) to an ExecuTorch program; int8 when ``calib_bcw`` (K, 3,
    WINDOW) windows are given.

    Returns (program bytes, partition info).
    """
    quiet_third_party()
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower

    from mujo_edge.export.quantize import quantize

    if calib_bcw is not None:
        model, _ = quantize(model, example, calib_bcw, "executorch")
    edge = to_edge_transform_and_lower(
        torch.export.export(model, (example,)), partitioner=[XnnpackPartitioner()]
    )
    info = partition_info(edge.exported_program().graph_module)
    # 16-byte segment alignment instead of 128: the weights are a few dozen small tensors, and 128-byte
    # padding of each would add ~2 KB to a ~30 KB program. XNNPACK packs weights at load time anyway.
    program = edge.to_executorch(ExecutorchBackendConfig(segment_alignment=SEGMENT_ALIGNMENT))
    return bytes(program.buffer), info
