"""ExecuTorch ``.pte`` through XNNPACK: int8 (PT2E) or float32, with the partition count checked.

The program runs on a phone with ExecuTorch's C++ runtime and here with ``executorch.runtime``.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from mujo_edge import _checks
from mujo_edge.errors import ExportError
from mujo_edge.noise import quiet_third_party

#: Alignment of the program's data segments, bytes.
SEGMENT_ALIGNMENT = 16
#: Hex digits kept of each constant's sha256 name (64 bits; a prefix shared by two different tensors falls
#: back to the full digest, see short_constant_names).
CONSTANT_NAME_DIGITS = 16


def partition_info(graph_module: torch.fx.GraphModule) -> dict[str, Any]:
    """How the lowered graph splits: XNNPACK delegate calls and the ops left to ExecuTorch's CPU kernels."""
    if not isinstance(graph_module, torch.fx.GraphModule):
        raise ExportError(
            f"partition_info needs the lowered program's graph module, got {type(graph_module).__name__}: pass "
            "edge.exported_program().graph_module"
        )
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


@contextlib.contextmanager
def short_constant_names(digits: int = CONSTANT_NAME_DIGITS) -> Iterator[None]:
    """While lowering, name the XNNPACK constants by the first ``digits`` hex digits of their sha256.

    ExecuTorch's XNNPACK serializer (executorch 1.5.1, ``operators/node_visitor.py``) keys every weight, bias
    and scale tensor by its full 64-digit sha256 (plus ``scale_`` for scales), and each key is stored twice,
    in the delegate's graph and in the program's named-data table: 42 names, ~5.6 KB of the width-16
    student's 32.6 KB program (16 digits save 4.0 KB of it). The names are opaque lookup keys, so a shorter
    digest of the same bytes does as well; equal tensors still share one entry. A prefix shared by two
    different tensors keeps the full digest for the second. Where the serializer no longer names constants
    this way, nothing is changed.
    """
    digits = _checks.count(
        digits, "digits", 0, "pass how many hex digits of each sha256 to keep", ExportError
    )
    try:
        from executorch.backends.xnnpack.operators import node_visitor
    except ImportError:
        yield
        return
    real: Any = getattr(node_visitor, "hashlib", None)
    if real is None or not hasattr(real, "sha256"):
        yield
        return
    owner: dict[str, str] = {}

    class _Digest:
        def __init__(self, full: str) -> None:
            self._full = full

        def hexdigest(self) -> str:
            short = self._full[:digits]
            if owner.setdefault(short, self._full) != self._full:
                return self._full
            return short

    class _ShortHashlib:
        @staticmethod
        def sha256(data: bytes = b"") -> _Digest:
            return _Digest(real.sha256(data).hexdigest())

    node_visitor.hashlib = _ShortHashlib
    try:
        yield
    finally:
        node_visitor.hashlib = real


class Conv1dAs2d(nn.Module):
    """A Conv1d computed as a Conv2d over (B, C, W, 1): the same function, in the form ExecuTorch's XNNPACK
    lowering needs for a float32 conv whose output is then quantized.

    Its ``Conv1dUnsqueezePass`` (executorch 1.5.1) rewrites every conv1d to a conv2d and, when all users of
    the conv are quantize ops, tags a quantize/dequantize pair after it as implicit, which declares the
    conv's output int8 while its input and weights are float32: XNNPACK then refuses the program at load
    ("Failed to create convolution node ... xnn_status_invalid_parameter"). A conv that is already 2-d is
    left alone, and the quantize after it becomes an explicit XNNPACK convert.
    """

    def __init__(self, conv: nn.Conv1d) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            conv.in_channels,
            conv.out_channels,
            (conv.kernel_size[0], 1),
            stride=(conv.stride[0], 1),
            padding=(int(conv.padding[0]), 0),
            dilation=(conv.dilation[0], 1),
            groups=conv.groups,
            bias=conv.bias is not None,
        )
        with torch.no_grad():
            self.conv.weight.copy_(conv.weight.unsqueeze(-1))
            if conv.bias is not None:
                self.conv.bias.copy_(conv.bias)  # type: ignore[union-attr]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # flatten, not squeeze: XNNPACK takes the view, and squeeze_copy.dims would fall back to the CPU.
        return self.conv(x.unsqueeze(-1)).flatten(2)


def float_convs_as_2d(model: nn.Module, float_modules: Collection[str]) -> nn.Module:
    """A copy of ``model`` with each Conv1d named in ``float_modules`` replaced by :class:`Conv1dAs2d`
    (same path, so the float32 annotation still applies), or ``model`` itself when none is."""
    from mujo_edge.export.quantize import checked_module, checked_names

    model = checked_module(model, "float_convs_as_2d: model")
    float_modules = checked_names(float_modules, "float_modules")
    names = [n for n, m in model.named_modules() if n in float_modules and isinstance(m, nn.Conv1d)]
    if not names:
        return model
    model = copy.deepcopy(model)
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Conv1dAs2d(getattr(parent, child)))
    return model


def to_pte(
    model: nn.Module,
    example: torch.Tensor,
    calib_bcw: np.ndarray | None = None,
    float_modules: Collection[str] = (),
    batches: Sequence[int] = (1,),
    per_tensor: Collection[str] = (),
) -> list[tuple[bytes, dict[str, Any]]]:
    """Lower ``model`` (eval, BatchNorm folded) to ExecuTorch programs, one per batch size in ``batches``
    (a fixed batch dimension, like the LiteRT models'); int8 when ``calib_bcw`` (K, 3, WINDOW) windows are
    given, except the modules named in ``float_modules``, which stay float32 (XNNPACK runs float and int8
    ops in the same partition); the layers named in ``per_tensor`` get one weight scale per tensor. Every
    batch size is lowered from ONE quantized module (same scales, zero points and int8 weights).

    Returns (program bytes, partition info) per batch size.
    """
    from mujo_edge.export.quantize import batch_example, checked_conversion, quantize

    model, example, calib_bcw, float_modules, per_tensor, batches = checked_conversion(
        "to_pte", model, example, calib_bcw, float_modules, per_tensor, batches
    )
    quiet_third_party()
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower

    if calib_bcw is not None:
        model = float_convs_as_2d(model, float_modules)
        any_batch = any(b != example.shape[0] for b in batches)
        model, _ = quantize(model, example, calib_bcw, "executorch", float_modules, any_batch, per_tensor)
    out = []
    for b in batches:
        with short_constant_names():
            edge = to_edge_transform_and_lower(
                torch.export.export(model, (batch_example(example, b),)), partitioner=[XnnpackPartitioner()]
            )
            info = partition_info(edge.exported_program().graph_module)
            # 16-byte segment alignment instead of 128: the weights are a few dozen small tensors, and
            # 128-byte padding of each would add ~2 KB to a ~30 KB program. XNNPACK packs weights at load
            # time anyway.
            program = edge.to_executorch(ExecutorchBackendConfig(segment_alignment=SEGMENT_ALIGNMENT))
        out.append((bytes(program.buffer), info))
    return out
