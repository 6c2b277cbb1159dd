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
  only TFLM runs, smaller again. The ``probabilities`` output (below) and its two ops go (firmware reads
  the int8 logits), the signature and the remaining names go, and each per-channel zero-point
  vector (int64, one per output channel, all zero: the weights are symmetric) is stored as the single
  value TFLM's allocator expands to every channel. LiteRT refuses that last form ("QuantizationParam has 1
  zero_point values and 8 scale values"), so the bundle keeps the full vectors and the C array the short
  ones.

  The biases' quantization tables go too: TFLM's int8 kernels derive a bias's scale from the input's
  and the weights' and never read it (LiteRT's reference kernels neither; its XNNPACK delegate does, and
  refuses the op without them).
* :func:`window_major`, applied by ``mujo-edge export`` before the slimming: the layout ops litert-torch
  puts around its NHWC convolutions folded away. A Conv1d student converts to a model that takes the
  window channels first, (B, 3, W), and starts with RESHAPE to (B, 3, 1, W) and TRANSPOSE to (B, 1, W, 3);
  the rewrite takes (B, W, 3), the window as it arrives, with the RESHAPE alone, so the runner copies the
  window in without a layout change. A TRANSPOSE / RESHAPE chain feeding a MEAN (the global average pool)
  goes too, the MEAN reducing the same elements of the chain's input. Every value computed is the same:
  only elements are moved or not moved.

* :func:`with_probabilities`, applied by ``mujo-edge export`` after the layout rewrite: one more output,
  the float32 softmax of the logits computed by the runtime, so a runner reads a window's class
  probabilities instead of building them in Python. The other outputs keep their bits.

Every rewrite also drops the operator codes no op uses any more.

What is left is weights (int8, the float32 stem, int32 biases), per-channel scales (float32, weights and
biases), the graph, and the per-channel zero points and bias scales LiteRT's loader and XNNPACK require.

No torch here: this reads and writes bytes.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np

from mujo_edge.constants import PROBABILITIES

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
        for sg in m.subgraphs or []:
            _drop_probabilities(m, sg)  # firmware reads the int8 logits
        m.signatureDefs = None
    for sg in m.subgraphs or []:
        sg.name = None
        if micro:
            for i in _int8_biases(m, sg):
                sg.tensors[i].quantization = None  # TFLM derives it from the input's and weights' scales
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
                q.zeroPoint = np.zeros(1, np.int64)  # TFLM: one value, every channel
            if _buffer_empty(m.buffers[t.buffer]):
                t.buffer = 0
            used.add(t.buffer)
        for op in sg.operators or []:
            if op.builtinOptions is not None:
                op.builtinOptions.__class__ = _packed_with("shared", type(op.builtinOptions))
    codes = sorted({op.opcodeIndex for sg in m.subgraphs or [] for op in sg.operators or []})
    if len(codes) < len(m.operatorCodes or []):  # operator codes of ops a rewrite removed
        m.operatorCodes = [m.operatorCodes[i] for i in codes]
        for sg in m.subgraphs or []:
            for op in sg.operators or []:
                op.opcodeIndex = codes.index(op.opcodeIndex)
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


#: Ops whose third input is an int32 bias whose scale the int8 kernels derive (input scale x weight scale).
_BIASED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@functools.cache
def builtin_op_names() -> dict[int, str]:
    """TFLite builtin operator code -> name (``CONV_2D``...), from LiteRT's generated schema."""
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def _op_name(m: Any, op: Any) -> str:
    c = m.operatorCodes[op.opcodeIndex]
    code = max(c.builtinCode, c.deprecatedBuiltinCode)
    return builtin_op_names().get(code, str(code))


def _int8_biases(m: Any, sg: Any) -> set[int]:
    """Tensors used only as the int32 bias of int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED ops."""
    from ai_edge_litert import schema_py_generated as schema

    bias: set[int] = set()
    other: set[int] = set()
    for op in sg.operators or []:
        ins = [int(i) for i in np.asarray(op.inputs).tolist()]
        is_bias = (
            _op_name(m, op) in _BIASED_OPS
            and len(ins) > 2
            and ins[2] >= 0
            and sg.tensors[ins[0]].type == schema.TensorType.INT8
            and sg.tensors[ins[2]].type == schema.TensorType.INT32
        )
        for pos, i in enumerate(ins):
            (bias if is_bias and pos == 2 else other).add(i)
    return bias - other - set(np.asarray(sg.outputs).tolist())


def window_major(model: bytes) -> bytes | None:
    """``model`` rewritten to take its window as (B, W, C) instead of (B, C, W), with the layout ops
    litert-torch puts around its NHWC convolutions folded away (module docstring), slimmed; None when the
    graph does not start as a converted channels-first model does (RESHAPE (B, C, W) -> (B, C, 1, W),
    then TRANSPOSE to (B, 1, W, C)): such a model is left as it is.

    Outputs are the same bits as the original's fed the transposed window: the rewrite moves no value
    through a different computation.
    """
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    if len(m.subgraphs or []) != 1:
        return None
    sg = m.subgraphs[0]
    g = _Graph(m, sg)
    inputs = np.asarray(sg.inputs).tolist()
    if len(inputs) != 1 or sg.tensors[inputs[0]].shape is None or len(sg.tensors[inputs[0]].shape) != 3:
        return None
    x = int(inputs[0])
    b, c, w = (int(v) for v in sg.tensors[x].shape)
    reshape = g.only_consumer(x)
    if reshape is None or g.name(reshape) != "RESHAPE" or g.shape(g.out(reshape)) != (b, c, 1, w):
        return None
    transpose = g.only_consumer(g.out(reshape))
    if (
        transpose is None
        or g.name(transpose) != "TRANSPOSE"
        or g.shape(g.out(transpose)) != (b, 1, w, c)
        or g.const(transpose.inputs[1]) != (0, 2, 3, 1)
    ):
        return None
    sg.tensors[x].shape = np.array([b, w, c], np.int32)
    sg.tensors[x].shapeSignature = None
    reshape.inputs = np.array([x, g.new_const((b, 1, w, c))], np.int32)
    if reshape.builtinOptions is not None and getattr(reshape.builtinOptions, "newShape", None) is not None:
        reshape.builtinOptions.newShape = np.array([b, 1, w, c], np.int32)
    reshape.outputs = np.array([g.out(transpose)], np.int32)
    sg.operators.remove(transpose)
    for mean in [op for op in sg.operators if g.name(op) == "MEAN"]:
        g.fold_into_mean(mean)
    g.drop_unused()
    import flatbuffers

    builder = flatbuffers.Builder(len(model))
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return slim_flatbuffer(bytes(builder.Output()))


def with_probabilities(model: bytes, logits: int) -> bytes:
    """``model`` with one more output, ``probabilities``: the float32 softmax of its output number ``logits``
    computed by the runtime (DEQUANTIZE of int8 logits, then SOFTMAX with beta 1), slimmed. A runner then
    reads the class probabilities of a window straight from the interpreter instead of building them in
    Python from the int8 logits, which cost more than the model call's own overhead. The existing outputs
    keep their positions and bits; the new one comes last. A model that already has the output comes back
    as it is.

    The runtime's float32 softmax is not the float64 one rounded: within 2e-6 relative of it (LiteRT's
    XNNPACK kernel and its reference kernel, measured on the shipped models), the order of the classes the
    same. :func:`micro_flatbuffer` removes the two ops again: watch firmware reads the int8 logits.
    """
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    if len(m.subgraphs or []) != 1:
        raise ValueError(f"with_probabilities takes a model of one subgraph, got {len(m.subgraphs or [])}")
    sg = m.subgraphs[0]
    if _probabilities_output(sg) is not None:
        return model
    outputs = [int(i) for i in np.asarray(sg.outputs).tolist()]
    if not 0 <= logits < len(outputs):
        raise ValueError(
            f"the model has {len(outputs)} outputs; there is no output {logits} to take as logits"
        )
    src = sg.tensors[outputs[logits]]
    if src.shape is None or len(src.shape) != 2:
        raise ValueError(f"the logits output must be (B, classes), got shape {src.shape}")
    g = _Graph(m, sg)
    x = outputs[logits]
    if src.type != schema.TensorType.FLOAT32:
        if src.type != schema.TensorType.INT8 or src.quantization is None or src.quantization.scale is None:
            raise ValueError("the logits output must be float32 or quantized int8")
        x = g.new_tensor(src.shape, schema.TensorType.FLOAT32)
        g.add_op(
            "DEQUANTIZE",
            [outputs[logits]],
            [x],
            schema.BuiltinOptions.DequantizeOptions,
            schema.DequantizeOptionsT(),
        )
    options = schema.SoftmaxOptionsT()
    options.beta = 1.0
    probs = g.new_tensor(src.shape, schema.TensorType.FLOAT32, PROBABILITIES)
    g.add_op("SOFTMAX", [x], [probs], schema.BuiltinOptions.SoftmaxOptions, options)
    sg.outputs = np.array([*outputs, probs], np.int32)
    for sig in m.signatureDefs or []:
        out = schema.TensorMapT()
        out.name, out.tensorIndex = PROBABILITIES.encode(), probs
        sig.outputs = [*(sig.outputs or []), out]
    import flatbuffers

    builder = flatbuffers.Builder(len(model))
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return slim_flatbuffer(bytes(builder.Output()))


def _probabilities_output(sg: Any) -> int | None:
    """The tensor index of the ``probabilities`` output :func:`with_probabilities` added, or None."""
    for i in np.asarray(sg.outputs).tolist():
        if sg.tensors[int(i)].name == PROBABILITIES.encode():
            return int(i)
    return None


def _drop_probabilities(m: Any, sg: Any) -> None:
    """Undo :func:`with_probabilities` in a parsed model: the output, its SOFTMAX and the DEQUANTIZE feeding
    only that, and their tensors."""
    g = _Graph(m, sg)
    probs = _probabilities_output(sg)
    if probs is None:
        return
    sg.outputs = np.array([i for i in np.asarray(sg.outputs).tolist() if i != probs], np.int32)
    softmax = g.producer(probs)
    sg.operators.remove(softmax)
    src = int(np.asarray(softmax.inputs).tolist()[0])
    dq = g.producer(src)
    if (
        dq is not None
        and g.name(dq) == "DEQUANTIZE"
        and not g.consumers(src)
        and src not in np.asarray(sg.outputs).tolist()
    ):
        sg.operators.remove(dq)
    for sig in m.signatureDefs or []:
        sig.outputs = [o for o in sig.outputs or [] if int(o.tensorIndex) != probs] or None
    g.drop_unused()


class _Graph:
    """What :func:`window_major` and :func:`with_probabilities` ask of one subgraph of a parsed model
    (``ModelT``)."""

    def __init__(self, m: Any, sg: Any) -> None:
        self.m, self.sg = m, sg

    def name(self, op: Any) -> str:
        return _op_name(self.m, op)

    def shape(self, t: int) -> tuple[int, ...]:
        s = self.sg.tensors[t].shape
        return () if s is None else tuple(int(v) for v in s)

    @staticmethod
    def out(op: Any) -> int:
        outs = np.asarray(op.outputs).tolist()
        return int(outs[0]) if len(outs) == 1 else -1

    def consumers(self, t: int) -> list[Any]:
        return [op for op in self.sg.operators if t in np.asarray(op.inputs).tolist()]

    def only_consumer(self, t: int) -> Any:
        """The one op reading ``t`` when nothing else does (no second reader, not a graph output)."""
        ops = self.consumers(t)
        return ops[0] if len(ops) == 1 and t not in np.asarray(self.sg.outputs).tolist() else None

    def producer(self, t: int) -> Any:
        return next((op for op in self.sg.operators if t in np.asarray(op.outputs).tolist()), None)

    def const(self, t: int) -> tuple[int, ...] | None:
        """The int32 values of constant tensor ``t``; None if it is not one."""
        from ai_edge_litert import schema_py_generated as schema

        tensor = self.sg.tensors[int(t)]
        data = self.m.buffers[tensor.buffer].data
        if tensor.type != schema.TensorType.INT32 or data is None or len(data) == 0:
            return None
        return tuple(int(v) for v in np.asarray(data, np.uint8).view(np.int32))

    def new_const(self, values: tuple[int, ...]) -> int:
        from ai_edge_litert import schema_py_generated as schema

        buf = schema.BufferT()
        buf.data = np.asarray(values, np.int32).view(np.uint8).copy()
        self.m.buffers.append(buf)
        t = schema.TensorT()
        t.shape = np.array([len(values)], np.int32)
        t.type = schema.TensorType.INT32
        t.buffer = len(self.m.buffers) - 1
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def new_tensor(self, shape: Any, dtype: int, name: str | None = None) -> int:
        """A new non-constant tensor of ``shape`` and ``dtype`` (a ``TensorType``), its index."""
        from ai_edge_litert import schema_py_generated as schema

        t = schema.TensorT()
        t.shape = np.array(shape, np.int32)
        t.type = dtype
        t.buffer = 0
        t.name = None if name is None else name.encode()
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def add_op(
        self, name: str, inputs: list[int], outputs: list[int], options_type: int, options: Any
    ) -> None:
        """Append the builtin op ``name`` (``SOFTMAX``...) reading ``inputs``, writing ``outputs``; its operator
        code is added to the model's when it is not there yet."""
        from ai_edge_litert import schema_py_generated as schema

        code = next(k for k, v in builtin_op_names().items() if v == name)
        codes = self.m.operatorCodes
        index = next(
            (i for i, c in enumerate(codes) if max(c.builtinCode, c.deprecatedBuiltinCode) == code), None
        )
        if index is None:
            c = schema.OperatorCodeT()
            c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), 1
            codes.append(c)
            index = len(codes) - 1
        op = schema.OperatorT()
        op.opcodeIndex = index
        op.inputs, op.outputs = np.array(inputs, np.int32), np.array(outputs, np.int32)
        op.builtinOptionsType, op.builtinOptions = options_type, options
        self.sg.operators.append(op)

    def fold_into_mean(self, mean: Any) -> None:
        """Drop the TRANSPOSE / RESHAPE ops feeding ``mean`` when a MEAN over axes of their input reduces
        the same elements into the same output positions (and the quantization is the same)."""
        options = mean.builtinOptions
        axes = self.const(mean.inputs[1])
        if axes is None or options is None or options.keepDims:
            return
        chain, src = [], int(mean.inputs[0])
        while True:
            op = self.producer(src)
            if op is None or self.name(op) not in ("TRANSPOSE", "RESHAPE") or self.only_consumer(src) is None:
                break
            chain.append(op)
            src = int(op.inputs[0])
        if not chain or _quant_key(self.sg.tensors[src]) != _quant_key(self.sg.tensors[int(mean.inputs[0])]):
            return
        index = np.arange(int(np.prod(self.shape(src)))).reshape(self.shape(src))
        y = index
        for op in reversed(chain):
            if self.name(op) == "TRANSPOSE":
                perm = self.const(op.inputs[1])
                if perm is None:
                    return
                y = y.transpose(perm)
            else:
                y = y.reshape(self.shape(self.out(op)))
        want = _reduced_groups(y, tuple(a % y.ndim for a in axes))
        out_shape = self.shape(self.out(mean))
        for k in range(1, index.ndim + 1):
            for cand in itertools.combinations(range(index.ndim), k):
                kept = tuple(n for a, n in enumerate(index.shape) if a not in cand)
                if kept == out_shape and np.array_equal(_reduced_groups(index, cand), want):
                    mean.inputs = np.array([src, self.new_const(cand)], np.int32)
                    for op in chain:
                        self.sg.operators.remove(op)
                    return

    def drop_unused(self) -> None:
        """Remove tensors no op, graph input or output reads, renumbering every reference to the rest."""
        sg = self.sg
        used = set(np.asarray(sg.inputs).tolist()) | set(np.asarray(sg.outputs).tolist())
        for op in sg.operators:
            used |= {int(i) for i in np.asarray(op.inputs).tolist() if i >= 0}
            used |= {int(i) for i in np.asarray(op.outputs).tolist()}
            used |= {
                int(i) for i in np.asarray(op.intermediates if op.intermediates is not None else []).tolist()
            }
        order = sorted(used)
        new = {old: k for k, old in enumerate(order)}

        def remap(v: Any) -> Any:
            return np.array([new[int(i)] if i >= 0 else -1 for i in np.asarray(v).tolist()], np.int32)

        sg.tensors = [sg.tensors[i] for i in order]
        for op in sg.operators:
            op.inputs, op.outputs = remap(op.inputs), remap(op.outputs)
            if op.intermediates is not None:
                op.intermediates = remap(op.intermediates)
        sg.inputs, sg.outputs = remap(sg.inputs), remap(sg.outputs)
        for sig in self.m.signatureDefs or []:
            for tm in [*(sig.inputs or []), *(sig.outputs or [])]:
                tm.tensorIndex = new[int(tm.tensorIndex)]


def _reduced_groups(index: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """(outputs, reduced) element numbers a reduction of ``index`` over ``axes`` gathers, sorted per
    output, in output order."""
    kept = [a for a in range(index.ndim) if a not in axes]
    moved = np.moveaxis(index, kept + list(axes), list(range(index.ndim)))
    return np.sort(moved.reshape(int(np.prod([index.shape[a] for a in kept])), -1), axis=1)


def _quant_key(t: Any) -> Any:
    q = t.quantization
    return None if q is None else (_value_key(q.scale), _value_key(q.zeroPoint), t.type)


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
            return base.Pack(self, builder)  # type: ignore[attr-defined]
        finally:
            builder.vector_alignment = 1

    def shared(self: Any, builder: Any) -> int:
        k = (base.__name__, _value_key(self))
        if k not in builder.tables:
            builder.tables[k] = base.Pack(self, builder)  # type: ignore[attr-defined]
        return builder.tables[k]

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
