"""Adaptive rounding of the int8 weights (AdaRound: Nagel et al., "Up or Down? Adaptive Rounding for
Post-Training Quantization", ICML 2020).

PT2E rounds every weight to the nearest step of its channel's int8 grid. Rounding to nearest minimises each
weight's own error, not the layer's output error; on the shipped student the weight rounding alone moves the
top-2 logit margin by ~0.2 RMS on held-out windows, about half of all int8 noise (docs/export.md).
:func:`round_weights` chooses, for each weight, the grid point below or above it so that each layer's
output on the calibration windows matches the float student's, layer by layer, with the layer's input taken
from the already-rounded, activation-quantized layers before it (the paper's asymmetric reconstruction,
which lets a layer absorb part of the error upstream).

The result is a copy of the student whose weights already lie on their int8 grids, with the grid of each
channel unchanged (its largest weight stays at +-127 steps), so PT2E's per-channel min-max observers find the
same scales and its round-to-nearest reproduces the chosen integers exactly. A layer quantized per tensor
(``--per-tensor-weights``) is rounded on its tensor's one grid, whose largest weight likewise stays put.
Only the quantization source changes; the exported model is still verified against the original float
student.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mujo_edge import _checks
from mujo_edge.errors import ExportError

#: Optimizer steps per layer. The paper uses 10k-20k for ImageNet networks; 2,000 reach the same
#: hardened reconstruction error on this student's layers (measured, docs/export.md).
ADAROUND_ITERATIONS = 2000
#: Calibration windows per step (the paper samples mini-batches of its 1,024 calibration images).
ADAROUND_BATCH = 128
#: Regularizer weight and its temperature schedule (beta 20 -> 2 after a 20 % warm-up), as in the paper.
_LAMBDA = 0.01
_BETA = (20.0, 2.0)
_WARMUP = 0.2
#: Rectified-sigmoid stretch of the soft rounding variable h(V) = clip(sigmoid(V) (zeta - gamma) + gamma).
_ZETA, _GAMMA = 1.1, -0.1
#: Symmetric per-channel int8 weights of both PT2E quantizers: [-127, 127], scale = max|w| / 127 >= eps.
_QMAX = 127
_SCALE_EPS = 2.0**-12


def _scale_dims(w: Tensor, per_tensor: bool) -> tuple[int, ...]:
    """The dimensions one weight step spans: all but the output channel's, or all for a per-tensor grid."""
    return tuple(range(0 if per_tensor else 1, w.dim()))


def _weight_scale(w: Tensor, per_tensor: bool = False) -> Tensor:
    """Step of PT2E's symmetric min-max weight observer, per output channel (or one for the tensor), shaped
    to broadcast."""
    amax = w.abs().amax(dim=_scale_dims(w, per_tensor), keepdim=True)
    return (amax / _QMAX).clamp_min(_SCALE_EPS)


def _fake_quant(x: Tensor, qp: tuple[float, int]) -> Tensor:
    scale, zp = qp
    return (torch.clamp(torch.round(x / scale) + zp, -128, 127) - zp) * scale


def _apply(layer: nn.Conv1d | nn.Linear, x: Tensor, weight: Tensor) -> Tensor:
    if isinstance(layer, nn.Conv1d):
        return F.conv1d(x, weight, layer.bias, layer.stride, layer.padding, layer.dilation, layer.groups)
    return F.linear(x, weight, layer.bias)


def activation_qparams(
    model: nn.Module,
    calib_bcw: np.ndarray,
    backend: str,
    float_modules: Collection[str] = (),
    per_tensor: Collection[str] = (),
) -> dict[str, tuple[float, int]]:
    """(scale, zero point) of each activation quantization point the back end's PT2E quantizer puts on the
    folded student, calibrated on ``calib_bcw`` as :func:`~mujo_edge.export.quantize.quantize` does.

    Keys: ``input``, ``features.K`` (the ReLU after conv K-1), ``pool``, ``head``, ``embedding``; points
    inside a float32 part (``float_modules``) are absent.
    """
    from mujo_edge.export.quantize import checked_module, checked_windows, module_path, quantize

    model = checked_module(model, "activation_qparams: model")
    calib_bcw = checked_windows(calib_bcw, "calib_bcw")
    if len(calib_bcw) == 0:
        raise ExportError("activation ranges need calibration windows; none were given.")
    example = torch.from_numpy(np.ascontiguousarray(calib_bcw[:1], np.float32))
    converted, _ = quantize(model, example, calib_bcw, backend, float_modules, per_tensor=per_tensor)
    out: dict[str, tuple[float, int]] = {}
    for node in converted.graph.nodes:
        target = str(node.target)
        if node.op != "call_function" or "quantize_per_tensor" not in target or "dequantize" in target:
            continue
        src = node.args[0]
        if src.op == "get_attr":  # a weight's quantization (per-tensor weights): not an activation
            continue
        key = "input" if src.op == "placeholder" else (module_path(src) or "pool")
        if key in out:
            raise ExportError(f"weight rounding: two activation quantization points map to {key!r}")
        out[key] = (float(node.args[1]), int(node.args[2]))
    return out


def _round_layer(
    layer: nn.Conv1d | nn.Linear,
    x_q: Tensor,
    target: Tensor,
    relu: bool,
    iterations: int,
    batch: int,
    gen: torch.Generator,
    per_tensor: bool = False,
) -> tuple[Tensor, float, float]:
    """The hardened AdaRound weight of one layer and its output MSE (nearest, adaptive) on the inputs, on the
    layer's per-channel (or, ``per_tensor``, whole-tensor) int8 grid."""
    w = layer.weight.detach()
    s = _weight_scale(w, per_tensor)
    base = torch.floor(w / s)
    rest = (w / s - base).clamp(1e-4, 1 - 1e-4)
    # Start from the soft value equal to the fractional part (the float weight itself).
    v = (-torch.log((_ZETA - _GAMMA) / (rest - _GAMMA) - 1)).requires_grad_(True)

    def soft(v: Tensor) -> Tensor:
        return torch.clamp(torch.sigmoid(v) * (_ZETA - _GAMMA) + _GAMMA, 0, 1)

    def weight(h: Tensor) -> Tensor:
        return torch.clamp(base + h, -_QMAX, _QMAX) * s

    def mse(wt: Tensor, idx: Tensor | None = None) -> Tensor:
        xi, ti = (x_q, target) if idx is None else (x_q[idx], target[idx])
        out = _apply(layer, xi, wt)
        return (((torch.relu(out) if relu else out) - ti) ** 2).mean()

    with torch.no_grad():
        nearest = torch.clamp(torch.round(w / s), -_QMAX, _QMAX) * s
        e_near = float(mse(nearest))
    norm = max(e_near, 1e-12)
    opt = torch.optim.Adam([v], lr=1e-2)
    warm = int(_WARMUP * iterations)
    n = len(x_q)
    for it in range(iterations):
        h = soft(v)
        idx = torch.randint(0, n, (min(batch, n),), generator=gen) if batch < n else None
        loss = mse(weight(h), idx) / norm
        if it >= warm:
            beta = _BETA[0] + (_BETA[1] - _BETA[0]) * (it - warm) / max(iterations - warm, 1)
            # The paper's f_reg, averaged over weights; scaled so it weighs like the normalized MSE.
            loss = loss + _LAMBDA * 100.0 * (1 - (2 * h - 1).abs().pow(beta)).mean()
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]  # (torch leaves Tensor.backward unannotated)
        opt.step()
    with torch.no_grad():
        hard = weight((soft(v) >= 0.5).to(w.dtype))
        # Each channel's (tensor's) largest weight keeps its nearest grid point: it defines the step, and
        # PT2E's min-max observer must find the same step for the chosen integers to survive conversion.
        peak = w.abs() == w.abs().amax(dim=_scale_dims(w, per_tensor), keepdim=True)
        hard = torch.where(peak, nearest, hard)
        e_ada = float(mse(hard))
    if e_ada > e_near:  # never worse than round-to-nearest on the calibration windows
        return nearest, e_near, e_near
    return hard, e_near, e_ada


def round_weights(
    model: nn.Module,
    calib_bcw: np.ndarray,
    backend: str,
    ranges_bcw: np.ndarray | None = None,
    iterations: int = ADAROUND_ITERATIONS,
    batch: int = ADAROUND_BATCH,
    seed: int = 0,
    float_modules: Collection[str] = (),
    per_tensor: Collection[str] = (),
) -> tuple[nn.Module, dict[str, Any]]:
    """A copy of the folded student whose conv and linear weights lie on their int8 grids, rounded up or
    down by AdaRound on ``calib_bcw`` (K, 3, WINDOW); returns (the copy, a per-layer summary).

    ``model`` is what will be quantized (``Student.fused()``, after any equalization): ``features`` a
    sequence of Conv1d -> ReLU, a global average pool, then ``head`` and ``embedding``. The activation
    quantization points (scale, zero point) are those ``backend``'s PT2E quantizer picks for ``model`` on the
    windows PT2E will calibrate on, ``ranges_bcw`` (default: ``calib_bcw``); both back ends' quantizers pick
    the same. Convs named in ``float_modules`` stay float32 in the export: their weights are left as they
    are, and the layers after them see their float outputs. Layers named in ``per_tensor`` are rounded on
    the one grid of their whole weight tensor, as the export quantizes them.
    """
    from mujo_edge.export.quantize import checked_module, checked_names, checked_windows

    feats = list(getattr(checked_module(model, "round_weights: model"), "features", []))
    calib_bcw = checked_windows(calib_bcw, "calib_bcw")
    if ranges_bcw is not None:
        ranges_bcw = checked_windows(ranges_bcw, "ranges_bcw")
    if not (_checks.is_whole(iterations) and iterations >= 1):
        raise ExportError(
            f"weight rounding needs at least one iteration, got {type(iterations).__name__} {iterations!r}"
        )
    batch = _checks.count(batch, "batch", 1, "pass calibration windows per optimizer step", ExportError)
    seed = _checks.count(seed, "seed", 0, "pass a whole-number seed", ExportError)
    float_modules = checked_names(float_modules, "float_modules")
    per_tensor = checked_names(per_tensor, "per_tensor")
    convs = [i for i, m in enumerate(feats) if isinstance(m, nn.Conv1d)]
    if not convs or any(i + 1 >= len(feats) or type(feats[i + 1]) is not nn.ReLU for i in convs):
        raise ExportError(
            "weight rounding needs the folded student's Conv1d -> ReLU blocks; export with --rounding nearest "
            "for this model."
        )
    if len(calib_bcw) == 0:
        raise ExportError("weight rounding needs calibration windows; none were given.")
    if iterations < 1:
        raise ExportError(f"weight rounding needs at least one iteration, got {iterations}")
    qp = activation_qparams(
        model, calib_bcw if ranges_bcw is None else ranges_bcw, backend, float_modules, per_tensor
    )
    floats = {i for i in convs if f"features.{i}" in float_modules}
    needed = ["pool", "head", "embedding"] + [f"features.{i + 1}" for i in convs if i not in floats]
    if convs[0] not in floats:
        needed.append("input")
    missing = [k for k in needed if k not in qp]
    if missing:
        raise ExportError(
            f"weight rounding: the {backend} quantizer placed no activation quantization at {missing}; export "
            "with --rounding nearest for this model."
        )
    model = copy.deepcopy(model).eval()
    feats = list(model.features)  # type: ignore[arg-type]
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.ascontiguousarray(calib_bcw, np.float32))
    summary: dict[str, Any] = {
        "method": "adaround",
        "iterations": iterations,
        "windows": len(x),
        "layers": [],
    }

    def record(name: str, e_near: float, e_ada: float) -> None:
        summary["layers"].append(
            {"layer": name, "mse_nearest": float(f"{e_near:.4g}"), "mse_adaround": float(f"{e_ada:.4g}")}
        )

    def point(h: Tensor, key: str) -> Tensor:
        return _fake_quant(h, qp[key]) if key in qp else h

    with torch.no_grad():
        h_float, h_q = x, point(x, "input")
    for i in convs:
        conv = feats[i]
        with torch.no_grad():
            target = torch.relu(_apply(conv, h_float, conv.weight))
        if i not in floats:
            name = f"features.{i}"
            w, e_near, e_ada = _round_layer(
                conv, h_q, target, True, iterations, batch, gen, name in per_tensor
            )
            with torch.no_grad():
                conv.weight.copy_(w)
            record(name, e_near, e_ada)
        with torch.no_grad():
            h_float = target
            h_q = point(torch.relu(_apply(conv, h_q, conv.weight)), f"features.{i + 1}")
    with torch.no_grad():
        p_float, p_q = h_float.mean(-1), _fake_quant(h_q.mean(-1), qp["pool"])
    for name in ("head", "embedding"):
        lin = getattr(model, name)
        with torch.no_grad():
            target = _apply(lin, p_float, lin.weight)
        w, e_near, e_ada = _round_layer(lin, p_q, target, False, iterations, batch, gen, name in per_tensor)
        with torch.no_grad():
            lin.weight.copy_(w)
        record(name, e_near, e_ada)
    return model, summary
