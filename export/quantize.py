"""Static int8 post-training quantization through PT2E (per-channel symmetric weights, per-tensor
activations), calibrated on representative windows, for both back ends.

ExecuTorch and LiteRT each ship their own PT2E quantizer (XNNPACKQuantizer, litert-torch's PT2EQuantizer);
both annotate the same way but must be the one their converter expects, so :func:`quantize` takes the
back end's name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from mujo_edge.errors import ExportError
from mujo_edge.noise import quiet_third_party

BACKENDS = ("executorch", "tflite")


def make_quantizer(backend: str) -> Any:
    """The PT2E quantizer of ``backend``: symmetric int8, per-channel weights, static activations."""
    quiet_third_party()
    if backend == "executorch":
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )

        return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    if backend == "tflite":
        from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config

        return PT2EQuantizer().set_global(
            get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
        )
    raise ExportError(f"unknown back end {backend!r}; expected one of {BACKENDS}")


def quantize(
    model: nn.Module,
    example: torch.Tensor,
    calib_bcw: np.ndarray,
    backend: str,
) -> tuple[torch.fx.GraphModule, Any]:
    """PT2E static int8 post-training quantization: returns (quantized module, the quantizer used).

    Observers see every calibration window (K, 3, WINDOW), one at a time as the batch-1 graph runs.
    ``model`` must be in eval mode with BatchNorm already folded (``Student.fused()``).
    """
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    if len(calib_bcw) == 0:
        raise ExportError("int8 calibration needs at least one window; none was given (check --data).")
    model = model.eval()
    x = torch.from_numpy(np.ascontiguousarray(calib_bcw, np.float32))
    quantizer = make_quantizer(backend)
    prepared = prepare_pt2e(torch.export.export(model, (example,)).module(), quantizer)
    with torch.no_grad():
        for i in range(len(x)):
            prepared(x[i : i + 1])
    # litert-torch wants the quantize ops unfolded; its converter folds them itself.
    converted = convert_pt2e(prepared, fold_quantize=backend != "tflite")
    return converted, quantizer
