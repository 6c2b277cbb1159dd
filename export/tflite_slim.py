"""The int8 ``.tflite`` in fewer bytes, outputs unchanged: a rewrite of litert-torch's flatbuffer.

litert-torch's flatbuffer spends more on bookkeeping than on weights (the 7,663-parameter student of the
physiotherapy bundle: 22,496 bytes, 9,020 of them weights). Two rewrites, both of the parsed model
(``ai_edge_litert``'s generated schema, written back with ``flatbuffers``), neither touching an op, a
weight, a shape or a quantization value:

* :func:`slim_flatbuffer`, applied by ``mujo-edge export`` to every ``.tflite`` it writes: a model that
  LiteRT and TensorFlow Lite Micro run to the same bits as before. It drops the names of intermediate
  tensors (each module's Python path), the subgraph name, the model description, converter metadata
  (``min_runtime_version``, ``keep_stablehlo_constant``), empty quantization tables, the empty buffer of
  every non-constant tensor and the ``has_rank`` flag of tensors whose shape is stored (a stored shape
  gives the rank); it writes each distinct scalar vector, string, quantization table and op options table
  once; and it aligns weight buffers to 16 bytes (the schema's ``force_align``). The signature and the
  names of the model's inputs and outputs stay: ``Interpreter.get_signature_list``, ``get_input_details``
  and ``get_output_details`` answer as before.
* :func:`micro_flatbuffer`, for watch firmware (``mujo-edge export --c-array``): the slim model with what
  only TFLM runs, smaller again. The signature and the remaining names go, and each per-channel zero-point
  vector (int64, one per output channel, all zero: the weights are symmetric) is stored as the single
  value TFLM's allocator expands to every channel. LiteRT refuses that last form ("QuantizationParam has 1
  zero_point values and 8 scale values"), so the bundle keeps the full vectors and the C array the short
  ones.

What is left is weights (int8, the float32 stem, int32 biases), per-channel scales (float32, weights and
biases), the graph, and the per-channel zero points LiteRT's loader requires (8 bytes a channel).

No torch here: this reads and writes bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Alignment of weight buffers inside the flatbuffer, bytes (the schema's ``force_align: 16`` on
#: ``Buffer.data``): TFLite Micro reads weights in place from flash, int32 biases included.
BUFFER_ALIGNMENT = 16
#: Model metadata entries that no runtime reads: converter bookkeeping.
CONVERTER_METADATA = (b"keep_stablehlo_constant", b"min_runtime_version")


def slim_flatbuffer(model: bytes) -> bytes:
    """``model`` (a ``.tflite`` flatbuffer) rewritten smaller for LiteRT and TFLM alike (module docstring);
    a fixed point: a slim model comes back byte for byte."""
    return _rewrite(model, micro=False)


def micro_flatbuffer(model: bytes) -> bytes:
    """``model`` rewritten for TensorFlow Lite Micro only: :func:`slim_flatbuffer`, then no signature, no
    tensor names and one zero point per per-channel quantized tensor (module docstring). LiteRT's
    interpreter refuses the result; TFLM gives the same bits."""
    return _rewrite(model, micro=True)


def _rewrite(model: bytes, micro: bool) -> bytes:
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    m.description = None
    keep_md = [md for md in (m.metadata or []) if bytes(md.name or b"") not in CONVERTER_METADATA]
    used = {0} | {md.buffer for md in keep_md}
    if micro:
        m.signatureDefs = None
    for sg in m.subgraphs or []:
        sg.name = None
        keep = set() if micro else set(np.asarray(sg.inputs).tolist()) | set(np.asarray(sg.outputs).tolist())
        for i, t in enumerate(sg.tensors or []):
            if i not in keep or not t.name:
                t.name = None
            if t.shape is not None and len(t.shape):
                t.hasRank = False  # the stored shape gives the rank
            q = t.quantization
            if q is not None and (q.scale is None or len(q.scale) == 0) and q.details is None:
                t.quantization = q = None
            zp = None if q is None else q.zeroPoint
            if micro and zp is not None and len(zp) > 1 and not np.any(zp):
                q.zeroPoint = np.zeros(1, np.int64)  # type: ignore[union-attr]  # TFLM: one value, every channel
            if _buffer_empty(m.buffers[t.buffer]):
                t.buffer = 0
            used.add(t.buffer)
        for op in sg.operators or []:
            if op.builtinOptions is not None:
                op.builtinOptions.__class__ = _packed_with("shared", type(op.builtinOptions))
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
    m.metadata = keep_md or None
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


def _value_key(v: Any) -> Any:
    """A hashable stand-in for a field of a schema object: equal keys, equal serialized tables."""
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return v
    if isinstance(v, (list, tuple, np.ndarray)):
        a = np.asarray(v)
        if a.dtype != object:
            return (a.dtype.str, a.shape, a.tobytes())
        return tuple(_value_key(x) for x in v)
    return (type(v).__name__, tuple((k, _value_key(x)) for k, x in sorted(vars(v).items())))


_PACKING_CLASSES: dict[tuple[str, type], type] = {}


def _packed_with(kind: str, base: type) -> type:
    """A subclass of the schema's object-API class ``base`` whose ``Pack`` writes less:

    * ``"aligned"`` (``BufferT``): the data vector aligned to :data:`BUFFER_ALIGNMENT`;
    * ``"shared"`` (a table without sub-tables of offsets, e.g. ``QuantizationParametersT`` or an op's
      options): one table for every object with the same fields (a reshape's output shares its input's
      quantization; the pointwise convs share their options).
    """
    base = next((c for c in base.__mro__ if c not in _PACKING_CLASSES.values()), base)
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
        k = (base.__name__, _value_key(self))
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
