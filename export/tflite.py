"""LiteRT ``.tflite`` through litert-torch: int8 (PT2E) or float32.

A fully int8 model takes an int8 input and returns int8 outputs; with a float32 stem (the export default,
docs/export.md) it takes the float32 window and quantizes after the stem itself. The runner quantizes
windows where the input is int8 and dequantizes outputs with the interpreter's scale and zero point
(recorded in the bundle manifest too).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection
from typing import Any

import numpy as np
import torch
from torch import nn

from mujo_edge.noise import quiet_third_party


def to_tflite(
    model: nn.Module,
    example: torch.Tensor,
    calib_bcw: np.ndarray | None = None,
    float_modules: Collection[str] = (),
) -> bytes:
    """Convert ``model`` (eval, BatchNorm folded) to a TFLite flatbuffer; int8 when ``calib_bcw`` (K, 3,
    WINDOW) windows are given, except the modules named in ``float_modules``, which stay float32 (a float
    first layer makes the model's input float32; LiteRT's XNNPACK delegate still takes the whole graph)."""
    quiet_third_party()
    import litert_torch
    from litert_torch.quantize.quant_config import QuantConfig

    from mujo_edge.export.quantize import quantize

    if calib_bcw is not None:
        qmodel, quantizer = quantize(model, example, calib_bcw, "tflite", float_modules)
        edge = litert_torch.convert(qmodel, (example,), quant_config=QuantConfig(pt2e_quantizer=quantizer))
    else:
        edge = litert_torch.convert(model.eval(), (example,))
    fd, path = tempfile.mkstemp(suffix=".tflite")
    os.close(fd)
    try:
        edge.export(path)
        with open(path, "rb") as f:
            return strip_tensor_names(f.read())
    finally:
        os.unlink(path)


def strip_tensor_names(model: bytes) -> bytes:
    """Drop the names of intermediate tensors (litert-torch writes each module's full Python path, ~5 KB
    on the student); model inputs and outputs keep theirs. Computation and signatures are untouched."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    for sg in m.subgraphs or []:
        keep = set(np.asarray(sg.inputs).tolist()) | set(np.asarray(sg.outputs).tolist())
        for i, t in enumerate(sg.tensors or []):
            if i not in keep:
                t.name = b""
    builder = flatbuffers.Builder(len(model))
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def op_summary(model: bytes) -> dict[str, Any]:
    """Ops of the flatbuffer and whether the interpreter's default XNNPACK delegate takes all of them.

    The model is whole in one partition when the interpreter holds exactly one DELEGATE node, fed by the
    model input and producing every model output (a CPU op before or after it would sit in between).
    """
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model, num_threads=1)
    it.allocate_tensors()
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
