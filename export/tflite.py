"""LiteRT ``.tflite`` through litert-torch: int8 (PT2E) or float32.

A fully int8 model takes an int8 input and returns int8 outputs; with a float32 stem (the export default,
docs/export.md) it takes the float32 window and quantizes after the stem itself. The runner quantizes
windows where the input is int8 and dequantizes outputs with the interpreter's scale and zero point
(recorded in the bundle manifest too).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Sequence
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
    batches: Sequence[int] = (1,),
) -> list[bytes]:
    """Convert ``model`` (eval, BatchNorm folded) to TFLite flatbuffers, one per batch size in ``batches``
    (the input's fixed batch dimension); int8 when ``calib_bcw`` (K, 3, WINDOW) windows are given, except
    the modules named in ``float_modules``, which stay float32 (a float first layer makes the model's input
    float32; LiteRT's XNNPACK delegate still takes the whole graph).

    Every batch size is converted from ONE quantized module, so all share their scales, zero points and
    int8 weights. A batch is fixed, not dynamic: litert-torch 0.10 cannot lower a symbolic batch
    (``broadcast_in_dim`` with a negative size), and resizing a batch-1 model's input fails in the XNNPACK
    delegate's reshape.
    """
    quiet_third_party()
    import litert_torch
    from litert_torch.quantize.quant_config import QuantConfig

    from mujo_edge.export.quantize import batch_example, quantize

    kwargs: dict[str, Any] = {}
    if calib_bcw is not None:
        any_batch = any(b != example.shape[0] for b in batches)
        model, quantizer = quantize(model, example, calib_bcw, "tflite", float_modules, any_batch)
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
                blobs.append(compact_flatbuffer(f.read()))
        finally:
            os.unlink(path)
    return blobs


#: Alignment of weight buffers inside the flatbuffer, bytes (the schema's ``force_align: 16`` on
#: ``Buffer.data``): TFLite Micro reads weights in place from flash, int32 biases included.
BUFFER_ALIGNMENT = 16
#: Model metadata entries that only a converter reads; the runtimes ignore them.
CONVERTER_METADATA = (b"keep_stablehlo_constant",)


def compact_flatbuffer(model: bytes) -> bytes:
    """The same model in fewer bytes: computation, weights, quantization and signatures unchanged.

    litert-torch's flatbuffer spends more on bookkeeping than on weights (7,663-parameter student: 22,496
    bytes, 9,124 of them buffers). This rewrite

    * drops the names of intermediate tensors (each module's full Python path, ~5 KB); model inputs and
      outputs keep theirs;
    * writes each distinct scalar vector and string once and points every table that holds it there (the
      schema fixes zero points as int64, 8 bytes per channel, and per-channel weights and biases of a layer
      carry the same all-zero vector: 605 zero points, 4,840 bytes, become a few hundred);
    * drops empty quantization tables of float tensors, the empty buffer of every non-constant tensor
      (they share buffer 0, the schema's empty sentinel) and converter-only metadata;
    * aligns every weight buffer to 16 bytes (the schema's ``force_align``), so firmware that maps the
      model from flash reads int32 biases aligned.
    """
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    keep_md = [md for md in (m.metadata or []) if bytes(md.name or b"") not in CONVERTER_METADATA]
    used = {0} | {md.buffer for md in keep_md}
    for sg in m.subgraphs or []:
        keep = set(np.asarray(sg.inputs).tolist()) | set(np.asarray(sg.outputs).tolist())
        for i, t in enumerate(sg.tensors or []):
            if i not in keep:
                t.name = b""
            q = t.quantization
            if q is not None and (q.scale is None or len(q.scale) == 0) and q.details is None:
                t.quantization = None
            if _buffer_empty(m.buffers[t.buffer]):
                t.buffer = 0
            used.add(t.buffer)
    if not _buffer_empty(m.buffers[0]):
        raise ValueError("TFLite buffer 0 must be the empty sentinel; this flatbuffer breaks the schema")
    order = sorted(used)
    new_index = {old: new for new, old in enumerate(order)}
    m.buffers = [m.buffers[i] for i in order]
    for sg in m.subgraphs or []:
        for t in sg.tensors or []:
            t.buffer = new_index[t.buffer]
    for md in keep_md:
        md.buffer = new_index[md.buffer]
    m.metadata = keep_md
    for b in m.buffers:
        b.__class__ = _packed_with("aligned", schema.BufferT)
    for sg in m.subgraphs or []:
        for t in sg.tensors or []:
            if t.quantization is not None:
                t.quantization.__class__ = _packed_with("shared", schema.QuantizationParametersT)
    builder = _SharingBuilder(len(model))
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _buffer_empty(b: Any) -> bool:
    return (b.data is None or len(b.data) == 0) and not b.offset


_PACKING_CLASSES: dict[tuple[str, type], type] = {}


def _packed_with(kind: str, base: type) -> type:
    """A subclass of the schema's object-API class ``base`` whose ``Pack`` writes less:

    * ``"aligned"`` (``BufferT``): the data vector aligned to :data:`BUFFER_ALIGNMENT`;
    * ``"shared"`` (``QuantizationParametersT``): one table for every tensor with the same parameters
      (a reshape's output shares its input's, for instance).
    """
    key = (kind, base)
    if key in _PACKING_CLASSES:
        return _PACKING_CLASSES[key]

    def aligned(self: Any, builder: Any) -> int:
        builder.vector_alignment = BUFFER_ALIGNMENT
        try:
            return base.Pack(self, builder)  # type: ignore[attr-defined,no-any-return]
        finally:
            builder.vector_alignment = 1

    def shared(self: Any, builder: Any) -> int:
        def raw(v: Any) -> bytes | None:
            return None if v is None else np.asarray(v).tobytes()

        if self.details is not None:
            return base.Pack(self, builder)  # type: ignore[attr-defined,no-any-return]
        k = ("quantization", raw(self.min), raw(self.max), raw(self.scale), raw(self.zeroPoint))
        k += (self.quantizedDimension,)
        if k not in builder.tables:
            builder.tables[k] = base.Pack(self, builder)  # type: ignore[attr-defined]
        return builder.tables[k]  # type: ignore[no-any-return]

    cls = type(f"{kind.title()}{base.__name__}", (base,), {"Pack": aligned if kind == "aligned" else shared})
    _PACKING_CLASSES[key] = cls
    return cls


def _sharing_builder_class() -> type:
    import flatbuffers

    class SharingBuilder(flatbuffers.Builder):  # type: ignore[misc]
        """A flatbuffers builder that writes each distinct vector of scalars and each string once.

        Vectors are written back to front; when one ends with the same bytes (and element size and
        alignment) as one already written, the new copy is rewound and the earlier offset returned.
        Vectors of offsets are never shared: their bytes are relative to where they sit.
        """

        def __init__(self, size: int) -> None:
            super().__init__(size)
            self.vector_alignment = 1
            self._seen: dict[tuple[Any, ...], int] = {}
            self.tables: dict[tuple[Any, ...], int] = {}
            self._start = 0
            self._key: tuple[int, int] = (0, 0)
            self._has_offsets = False

        def StartVector(self, elemSize: int, numElems: int, alignment: int) -> int:  # noqa: N802
            alignment = max(alignment, self.vector_alignment)
            self._start = super().StartVector(elemSize, numElems, alignment)
            self._key = (elemSize, alignment)
            self._has_offsets = False
            return self._start

        def PrependUOffsetTRelative(self, off: int) -> None:  # noqa: N802
            self._has_offsets = True
            super().PrependUOffsetTRelative(off)

        def EndVector(self, numElems: int | None = None) -> int:  # noqa: N802
            end = super().EndVector() if numElems is None else super().EndVector(numElems)
            if self._has_offsets:
                return end
            n = len(self.Bytes)
            key = (*self._key, bytes(self.Bytes[n - end : n - self._start]))
            first = self._seen.setdefault(key, end)
            if first != end:
                self.head = n - self._start  # drop the copy just written
            return first

        def CreateString(self, s: Any, encoding: str = "utf-8", errors: str = "strict") -> int:  # noqa: N802
            key = ("str", s.encode(encoding, errors) if isinstance(s, str) else bytes(s))
            if key not in self._seen:
                self._seen[key] = super().CreateString(s, encoding, errors)
            return self._seen[key]

    return SharingBuilder


def _SharingBuilder(size: int) -> Any:  # noqa: N802 - builds the class on first use (flatbuffers is lazy)
    return _sharing_builder_class()(size)


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
