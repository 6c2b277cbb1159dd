"""Static int8 post-training quantization through PT2E (per-channel symmetric weights, per-tensor
activations), calibrated on representative windows, for both back ends.

ExecuTorch and LiteRT each ship their own PT2E quantizer (XNNPACKQuantizer, litert-torch's PT2EQuantizer);
both annotate the same way but must be the one their converter expects, so :func:`quantize` takes the
back end's name.

Before quantization, :func:`equalize_activations` rescales the student's channels so that every
per-tensor activation range is used more evenly (cross-layer equalization, Nagel et al., "Data-Free
Quantization Through Weight Equalization and Bias Correction", ICCV 2019, applied to activation ranges
measured on the calibration windows). ReLU commutes with a positive scale, so the float function is
unchanged (to float32 rounding) and the int8 model is still verified against the original float student.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any

import numpy as np
import torch
from torch import nn

from mujo_edge import _checks
from mujo_edge.constants import PER_TENSOR_CHOICES
from mujo_edge.errors import ExportError, ShapeError
from mujo_edge.noise import quiet_third_party

BACKENDS = ("executorch", "tflite")
#: Largest batch a module quantized with ``any_batch`` is traced for.
MAX_TRACE_BATCH = 4096


def checked_module(model: Any, what: str) -> nn.Module:
    """``model`` when it is a torch module; ExportError saying what to pass otherwise (a path, None)."""
    if not isinstance(model, nn.Module):
        raise ExportError(
            f"{what} must be a torch module, got {type(model).__name__} {model!r:.60}: pass the loaded, "
            "folded student (load_student(folder)[0].fused())"
        )
    return model


def checked_windows(windows: Any, what: str) -> np.ndarray:
    """``windows`` as contiguous float32 (K, 3, WINDOW) windows in g (the model's layout); ShapeError for
    anything else (strings, complex values, another shape, NaN or inf). K may be 0: each caller says what
    it needs windows for."""
    a = _checks.real_array(windows, np.dtype(np.float32), what)
    if a.ndim != 3 or a.shape[1] != 3 or not np.isfinite(a).all():
        raise ShapeError(
            f"{what} must be finite (K, 3, WINDOW) windows in g (channels first), got shape {a.shape}"
            + (" with NaN or inf" if a.ndim == 3 and a.shape[1] == 3 else "")
            + ": pass ExportData.calib_bcw (toolkit windows transposed to (K, 3, WINDOW))"
        )
    return np.ascontiguousarray(a)


def checked_example(example: Any, what: str = "example") -> torch.Tensor:
    """``example`` when it is a (B >= 1, 3, WINDOW) float tensor; ExportError otherwise."""
    if not (
        isinstance(example, torch.Tensor)
        and example.dim() == 3
        and example.shape[0] >= 1
        and example.shape[1] == 3
        and example.is_floating_point()
    ):
        shown = tuple(example.shape) if isinstance(example, torch.Tensor | np.ndarray) else repr(example)[:40]
        raise ExportError(
            f"{what} must be a float torch tensor (B >= 1, 3, WINDOW), got {type(example).__name__} {shown}: "
            "pass torch.from_numpy(calib_bcw[:1])"
        )
    return example


def checked_names(values: Any, what: str) -> tuple[str, ...]:
    """Module paths (``features.0``) as a tuple; ExportError for a single str (not a list of paths)."""
    return tuple(_checks.names(values, what, "pass module paths such as ('features.0',)", ExportError))


def checked_batches(batches: Any) -> tuple[int, ...]:
    """Batch sizes as a non-empty tuple of ints >= 1; ExportError otherwise."""
    out = _checks.ids(batches, "batches", "pass batch sizes such as (1, 64)", ExportError)
    if not out or min(out) < 1:
        raise ExportError(f"batches must name batch sizes >= 1, got {list(out)}: pass e.g. (1, 64)")
    return out


def checked_conversion(
    who: str,
    model: Any,
    example: Any,
    calib_bcw: Any,
    float_modules: Any,
    per_tensor: Any,
    batches: Any,
) -> tuple[Any, Any, Any, tuple[str, ...], tuple[str, ...], tuple[int, ...]]:
    """The arguments of a converter (``to_tflite``, ``to_pte``), each checked as above, in their order."""
    return (
        checked_module(model, f"{who}: model"),
        checked_example(example),
        None if calib_bcw is None else checked_windows(calib_bcw, "calib_bcw"),
        checked_names(float_modules, "float_modules"),
        checked_names(per_tensor, "per_tensor"),
        checked_batches(batches),
    )


def make_quantizer(
    backend: str, float_modules: Collection[str] = (), per_tensor: Collection[str] = ()
) -> Any:
    """The PT2E quantizer of ``backend``: symmetric int8, per-channel weights, static activations.

    Ops inside the modules named in ``float_modules`` (paths in the exported model, e.g. ``features.0``)
    are left unannotated, so they stay float32; the quantizers' own per-module switch
    (``set_module_name(name, None)``) is not supported by XNNPACKQuantizer. The weights of the convs and
    linear layers named in ``per_tensor`` get one scale for the whole tensor instead of one per output
    channel (the back end's per-tensor symmetric spec, [-127, 127]): their .tflite carries one float32
    scale and one int64 zero point for the weights and one scale for the int32 bias, instead of a vector
    of each (:func:`per_tensor_modules`). The quantizers' ``set_module_name`` cannot say this either: its
    filter drops a conv + ReLU pattern whose ReLU is another module, so the weight specs are replaced
    after the global annotation, as the float32 parts are dropped.
    """
    float_modules = checked_names(float_modules, "float_modules")
    per_tensor = checked_names(per_tensor, "per_tensor")
    quiet_third_party()
    if backend == "executorch":
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )

        quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
        tensor_spec = get_symmetric_quantization_config(is_per_channel=False).weight
    elif backend == "tflite":
        from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config

        quantizer = PT2EQuantizer().set_global(
            get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
        )
        tensor_spec = get_symmetric_quantization_config(is_per_channel=False, is_dynamic=False).weight
    else:
        raise ExportError(f"unknown back end {backend!r}; expected one of {BACKENDS}")
    if float_modules or per_tensor:
        keep_float, flat = set(float_modules), set(per_tensor)
        annotate = quantizer.annotate

        def annotate_plan(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
            gm = annotate(gm)
            done = set()
            for node in gm.graph.nodes:
                path = module_path(node)
                if _inside(path, keep_float):
                    node.meta.pop("quantization_annotation", None)
                elif path in flat and node.target in _WEIGHTED_OPS:
                    ann = node.meta.get("quantization_annotation")
                    if ann is not None and node.args[1] in ann.input_qspec_map:
                        ann.input_qspec_map[node.args[1]] = tensor_spec
                        done.add(path)
            if flat - done:
                raise ExportError(
                    f"per-tensor weights asked for {sorted(flat - done)}, which the {backend} quantizer "
                    "gave no int8 weight (not a conv or linear layer of the model, or kept float32); name "
                    "the model's quantized conv and linear layers (per_tensor_modules lists them)"
                )
            return gm

        quantizer.annotate = annotate_plan
    return quantizer


#: The ops whose second argument is a weight that :func:`make_quantizer` may quantize per tensor.
_WEIGHTED_OPS = (torch.ops.aten.conv1d.default, torch.ops.aten.conv2d.default, torch.ops.aten.linear.default)


def module_path(node: torch.fx.Node) -> str:
    """The path of the innermost module a node of the exported graph came from ('' for none)."""
    stack = list((node.meta.get("nn_module_stack") or {}).values())
    return str(stack[-1][0]) if stack else ""


def _inside(path: str, names: Collection[str]) -> bool:
    return any(path == name or path.startswith(name + ".") for name in names)


def per_tensor_modules(model: nn.Module, which: str, float_modules: Collection[str] = ()) -> tuple[str, ...]:
    """Paths of the folded student's weighted layers whose int8 weights get one scale per tensor.

    ``which``: ``none``; ``pointwise``, the 1x1 convs and the linear ``head`` and ``embedding`` (dense
    products over all input channels, most of the student's channels); ``all``, the depthwise convs too.
    Layers in ``float_modules`` stay float32 and are never listed. Each listed layer saves the .tflite
    two float32 scales per output channel (weights, bias) and lets its int64 zero-point vector go;
    ``pointwise`` leaves the depthwise convs, whose channels differ most, their per-channel scales.
    """
    model = checked_module(model, "per_tensor_modules: model")
    float_modules = checked_names(float_modules, "float_modules")
    if which not in PER_TENSOR_CHOICES:
        raise ExportError(
            f"unknown per-tensor weight choice {which!r}; choose from {list(PER_TENSOR_CHOICES)}"
        )
    if which == "none":
        return ()
    names = []
    for name, m in model.named_modules():
        if _inside(name, float_modules) or not isinstance(m, nn.Conv1d | nn.Linear):
            continue
        depthwise = isinstance(m, nn.Conv1d) and m.groups > 1
        if which == "all" or (not depthwise and (isinstance(m, nn.Linear) or m.kernel_size == (1,))):
            names.append(name)
    return tuple(names)


def stem_modules(model: nn.Module) -> tuple[str, ...]:
    """Paths of the folded student's stem, its first conv and the activation after it, as the exported graph
    names them (``features.0``, ``features.1``): the layers to keep in float32 for a float input.

    The stem sees the raw window, whose int8 step (~0.03 g over the +-4.5 g calibration range) is the
    largest single source of int8 error on the shipped student (docs/export.md); in float32 it costs a few
    hundred bytes and no XNNPACK partition.
    """
    feats = list(getattr(checked_module(model, "stem_modules: model"), "features", []))
    first = next((i for i, m in enumerate(feats) if isinstance(m, nn.Conv1d)), None)
    if first is None:
        raise ExportError("a float32 stem needs the student's Conv1d layers in `features`; use --stem int8")
    names = [f"features.{first}"]
    if first + 1 < len(feats) and not isinstance(feats[first + 1], nn.Conv1d):
        names.append(f"features.{first + 1}")
    return tuple(names)


def batch_example(example: torch.Tensor, batch: int) -> torch.Tensor:
    """A (batch, ...) tracing input made of ``example``'s first row (only its shape matters)."""
    example = checked_example(example)
    batch = _checks.count(batch, "batch", 1, "pass the batch size to trace for", ExportError)
    return example[:1].expand(batch, *example.shape[1:]).contiguous()


def quantize(
    model: nn.Module,
    example: torch.Tensor,
    calib_bcw: np.ndarray,
    backend: str,
    float_modules: Collection[str] = (),
    any_batch: bool = False,
    per_tensor: Collection[str] = (),
) -> tuple[torch.fx.GraphModule, Any]:
    """PT2E static int8 post-training quantization: returns (quantized module, the quantizer used).

    Observers see every calibration window (K, 3, WINDOW), one at a time as the batch-1 graph runs.
    ``model`` must be in eval mode with BatchNorm already folded (``Student.fused()``). The modules named in
    ``float_modules`` stay float32 and those in ``per_tensor`` get per-tensor weights (see
    :func:`make_quantizer`). With ``any_batch`` the graph is traced with
    a symbolic batch dimension, so the one quantized module (same observers, same scales) converts to the
    batch-1 model and to a batch-B variant alike; a batch-1 trace bakes the batch into its reshapes.
    """
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    model = checked_module(model, "quantize: model")
    example = checked_example(example)
    calib_bcw = checked_windows(calib_bcw, "calib_bcw")
    if len(calib_bcw) == 0:
        raise ExportError("int8 calibration needs at least one window; none was given (check --data).")
    model = model.eval()
    x = torch.from_numpy(np.ascontiguousarray(calib_bcw, np.float32))
    quantizer = make_quantizer(backend, float_modules, per_tensor)
    if any_batch:  # torch specializes a batch of 1, so trace with 2 and mark it symbolic
        two = batch_example(example, 2)
        dims = ({0: torch.export.Dim("batch", min=1, max=MAX_TRACE_BATCH)},)
        graph = torch.export.export(model, (two,), dynamic_shapes=dims)
    else:
        graph = torch.export.export(model, (example,))
    prepared = prepare_pt2e(graph.module(), quantizer)
    with torch.no_grad():
        for i in range(len(x)):
            prepared(x[i : i + 1])
    # litert-torch wants the quantize ops unfolded; its converter folds them itself.
    converted = convert_pt2e(prepared, fold_quantize=backend != "tflite")
    return converted, quantizer


#: Default strength of the equalization where it costs weight precision (see equalize_activations). Set
#: from the int8 margin error of the default student on its training and validation subjects; a sweep over
#: 14 students (experiments/int8_equalization.sh, docs/export.md) found it the best fixed setting, and an
#: automatic per-model choice on ~1,000 non-test windows worse than either (too few flips to choose by).
EQUALIZE_STRENGTH = 0.5


@torch.no_grad()
def equalize_activations(
    model: nn.Module, calib_bcw: np.ndarray, strength: float = EQUALIZE_STRENGTH
) -> tuple[nn.Module, dict[str, Any]]:
    """A copy of the fused student whose conv output channels are rescaled so that, after ReLU, each
    channel spans more of its tensor's int8 range; the next layer's input weights absorb the inverse.

    Per-tensor activation quantization gives every channel the step of the widest one, so a channel whose
    calibration maximum r_c is a tenth of the tensor's R keeps only ~25 of its 255 levels. Channel c of
    conv k is scaled by s_c = (R / r_c) ** a and column c of the consumer divided by s_c. Where the
    consumer is depthwise (one per-channel weight scale per channel) the division costs nothing and a = 1;
    where it is a pointwise conv or the linear heads, dividing a column coarsens that consumer's
    per-output-channel weight grid, so a = ``strength`` (0: leave those ranges, 1: equalize fully).
    Channels dead on the calibration windows (r_c < 1e-3 R) are left alone.

    ``model`` must be the BatchNorm-folded student (``Student.fused()``): ``features`` a sequence of
    Conv1d -> ReLU, then a global average pool, ``head`` and ``embedding``. Returns (the copy, a summary:
    per conv, the mean channel range as a fraction of the tensor's before and after).
    """
    if not (_checks.is_number(strength) and 0.0 <= strength <= 1.0):
        raise ExportError(
            f"equalization strength must be a number in [0, 1], got {type(strength).__name__} {strength!r}: "
            "pass 0 (none) to 1 (full), or skip equalization"
        )
    model = checked_module(model, "equalize_activations: model")
    calib_bcw = checked_windows(calib_bcw, "calib_bcw")
    feats = list(getattr(model, "features", []))
    convs = [i for i, m in enumerate(feats) if isinstance(m, nn.Conv1d)]
    if not convs or any(
        i + 1 >= len(feats) or type(feats[i + 1]) is not nn.ReLU or feats[i].bias is None for i in convs
    ):
        raise ExportError(
            "activation equalization needs the folded student's Conv1d(bias) -> ReLU blocks (ReLU6 does not "
            "commute with scaling); export with --equalize off for this model."
        )
    if len(calib_bcw) == 0:
        raise ExportError("activation equalization needs calibration windows; none were given.")
    model = copy.deepcopy(model).eval()
    feats = list(model.get_submodule("features").children())
    peaks: dict[int, torch.Tensor] = {}
    hooks = [
        feats[i + 1].register_forward_hook(
            lambda _m, _i, out, k=i: peaks.__setitem__(k, out.amax(dim=(0, 2)))
        )
        for i in convs
    ]
    model(torch.from_numpy(np.ascontiguousarray(calib_bcw, np.float32)))
    for h in hooks:
        h.remove()
    summary: dict[str, Any] = {"strength": strength, "layers": []}
    for j, i in enumerate(convs):
        conv = feats[i]
        r = peaks[i].double()
        big = float(r.max())
        if big <= 0:
            continue
        consumers: list[nn.Module] = (
            [feats[convs[j + 1]]]
            if j + 1 < len(convs)
            else [model.get_submodule("head"), model.get_submodule("embedding")]
        )
        depthwise = (
            isinstance(consumers[0], nn.Conv1d) and consumers[0].groups == consumers[0].in_channels > 1
        )
        a = 1.0 if depthwise else strength
        live = r >= 1e-3 * big
        s = torch.where(live, (big / r.clamp_min(1e-12)) ** a, torch.ones_like(r)).float()
        conv.weight.mul_(s.view(-1, 1, 1))
        conv.bias.mul_(s)
        for c in consumers:
            if isinstance(c, nn.Conv1d) and c.groups > 1:
                c.weight.div_(s.view(-1, 1, 1))
            elif isinstance(c, nn.Conv1d):
                c.weight.div_(s.view(1, -1, 1))
            elif isinstance(c, nn.Linear):
                c.weight.div_(s.view(1, -1))
        after = r * s.double()
        summary["layers"].append(
            {
                "conv": i,
                "alpha": a,
                "mean_range_fraction_before": round(float((r / big).mean()), 4),
                "mean_range_fraction_after": round(float((after / after.max()).mean()), 4),
            }
        )
    return model, summary
