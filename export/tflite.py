"""LiteRT ``.tflite`` through litert-torch: int8 (PT2E) or float32.

A fully int8 model takes an int8 input and returns int8 outputs; with a float32 stem (the export default,
docs/export.md) it takes the float32 window and quantizes after the stem itself. The runner quantizes
windows where the input is int8 and dequantizes outputs with the interpreter's scale and zero point
(recorded in the bundle manifest too). Every flatbuffer is slimmed on the way out
(:func:`mujo_edge.export.tflite_slim.slim_flatbuffer`: same ops, weights and quantization, fewer bytes).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from mujo_edge import _checks
from mujo_edge.errors import ExportError
from mujo_edge.noise import quiet_third_party


def to_tflite(
    model: nn.Module,
    example: torch.Tensor,
    calib_bcw: np.ndarray | None = None,
    float_modules: Collection[str] = (),
    batches: Sequence[int] = (1,),
    per_tensor: Collection[str] = (),
) -> list[bytes]:
    """Convert ``model`` (eval, BatchNorm folded) to TFLite flatbuffers, one per batch size in ``batches``
    (the input's fixed batch dimension); int8 when ``calib_bcw`` (K, 3, WINDOW) windows are given, except
    the modules named in ``float_modules``, which stay float32 (a float first layer makes the model's input
    float32; LiteRT's XNNPACK delegate still takes the whole graph); the convs and linear layers named in
    ``per_tensor`` get one weight scale per tensor (:func:`~mujo_edge.export.quantize.make_quantizer`).

    Every batch size is converted from ONE quantized module, so all share their scales, zero points and
    int8 weights. A batch is fixed, not dynamic: litert-torch 0.10 cannot lower a symbolic batch
    (``broadcast_in_dim`` with a negative size), and resizing a batch-1 model's input fails in the XNNPACK
    delegate's reshape.
    """
    from mujo_edge.export.quantize import batch_example, checked_conversion, quantize

    model, example, calib_bcw, float_modules, per_tensor, batches = checked_conversion(
        "to_tflite", model, example, calib_bcw, float_modules, per_tensor, batches
    )
    quiet_third_party()
    import litert_torch
    from litert_torch.quantize.quant_config import QuantConfig

    from mujo_edge.export.tflite_slim import slim_flatbuffer

    kwargs: dict[str, Any] = {}
    if calib_bcw is not None:
        any_batch = any(b != example.shape[0] for b in batches)
        model, quantizer = quantize(model, example, calib_bcw, "tflite", float_modules, any_batch, per_tensor)
        kwargs["quant_config"] = QuantConfig(pt2e_quantizer=quantizer)
    else:
        model = model.eval()
    blobs = []
    for b in batches:
        edge = litert_torch.convert(model, (batch_example(example, b),), **kwargs)
        fd, path = tempfile.mkstemp(suffix=".tflite")
        os.close(fd)
        try:
            edge.export(path)
            with open(path, "rb") as f:
                blobs.append(slim_flatbuffer(f.read()))
        finally:
            os.unlink(path)
    return blobs


def op_summary(model: bytes) -> dict[str, Any]:
    """Ops of the flatbuffer and whether the interpreter's default XNNPACK delegate takes all of them.

    The model is whole in one partition when the interpreter holds exactly one DELEGATE node, fed by the
    model input and producing every model output (a CPU op before or after it would sit in between).
    """
    from ai_edge_litert.interpreter import Interpreter

    if not isinstance(model, bytes | bytearray | memoryview):
        raise ExportError(
            f"op_summary needs the .tflite flatbuffer's bytes, got {type(model).__name__} {model!r:.60}: "
            "pass to_tflite's output (or Path(file).read_bytes())"
        )
    model = _checks.payload_bytes(model, "op_summary: model")
    try:
        it = Interpreter(model_content=model, num_threads=1)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        raise ExportError(
            f"op_summary: the bytes are not a .tflite model LiteRT loads ({e}): pass to_tflite's output"
        ) from None
    details = it._get_ops_details()  # the only op listing the interpreter API offers
    delegates = [o for o in details if o["op_name"] == "DELEGATE"]
    model_in = {d["index"] for d in it.get_input_details()}
    model_out = {d["index"] for d in it.get_output_details()}
    whole = (
        len(delegates) == 1
        and model_in <= set(int(i) for i in delegates[0]["inputs"])
        and model_out <= set(int(i) for i in delegates[0]["outputs"])
    )
    return {
        "backend": "XNNPACK (LiteRT default delegate)",
        "ops": [o["op_name"] for o in details if o["op_name"] != "DELEGATE"],
        "xnnpack_partitions": len(delegates),
        "whole_model_in_one_partition": bool(whole),
    }
