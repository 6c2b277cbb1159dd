"""Runners: execute a bundle's model in a real on-device runtime (LiteRT or ExecuTorch).

A runner applies the model and nothing else: its input is raw windows of accelerometer specific force in g,
``(B, WINDOW, 3)`` float32, already PIT-calibrated when the bundle has a calibration table (the pipeline's
job). The runner takes care of the model's input layout (an exported ``.tflite`` takes ``(B, WINDOW, 3)``, the
window as it is; a ``.pte`` ``(B, 3, WINDOW)``, so the copy into its input tensor transposes), of int8
(de)quantization with the model's own scale and zero point, and of batches. The streaming model has batch
size 1 (what a watch produces); a bundle exported with a batch variant (``ModelEntry.batch``: the same
int8 model with a fixed batch of B windows, 64 by default) lets a gateway classify B ready windows in one
call: chunks of B go to the batch model, a remainder of at least ``pad_from`` windows is padded to B (about
where one batched call costs as much as that many single calls), a smaller one goes window by window. Either way a window's outputs are bit for bit those of the batch-1
model (export checks it). A bundle without the variant runs every window through the batch-1 model.

A single window, the live case, costs the runtime's own call plus a few microseconds: ``predict`` is then
one closure made at load (no attribute lookups per call), the window is copied straight into the runtime's
input tensor in the model's layout and checked there with one BLAS dot over the tensor's flat view (a
finite sum means finite values), and the outputs are read through views made once. An exported
``.tflite`` carries the softmax of its logits as one more output (``probabilities``, computed by the
runtime in float32, within 2e-6 relative of the exact softmax): ``predict`` returns a copy of it. For a
model without it (a ``.pte``, an older bundle) the probabilities come from Python floats (numpy's per-call
overhead is larger than the work on 7 numbers); int8 outputs are dequantized through precomputed 256-entry
tables (docs/benchmarks.md has the ratios to the raw runtime calls).

Runtimes:

* ``tflite``: ``ai_edge_litert.interpreter.Interpreter`` (the maintained LiteRT interpreter); falls back to
  ``tflite_runtime.interpreter`` where only that is installed, and logs which one it uses.
* ``executorch``: ``executorch.runtime`` (imported lazily: ~6.5 s). ExecuTorch's Python runtime takes and
  returns torch tensors and imports torch itself; this module never imports torch at import time, and the
  LiteRT path never touches it.

No torch import here: this module is part of the runtime core.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from mujo_edge._checks import count, real_array
from mujo_edge.constants import PROBABILITIES
from mujo_edge.errors import BundleError, ConfigError, MissingDependencyError, ShapeError

if TYPE_CHECKING:
    from mujo_edge.bundle import Bundle, ModelEntry, TensorSpec

log = logging.getLogger(__name__)

#: The extra that installs each format's runtime.
RUNTIME_EXTRA = {"tflite": "runtime", "executorch": "export"}
_RUNTIME_MODULES = {
    "tflite": ("ai_edge_litert.interpreter", "tflite_runtime.interpreter"),
    "executorch": ("executorch.runtime",),
}


def runtime_available(fmt: str) -> bool:
    """Whether a runtime for ``fmt`` is installed (checked without importing it)."""
    for mod in _RUNTIME_MODULES.get(fmt, ()):
        if mod in sys.modules:  # already imported (or blocked with None)
            if sys.modules[mod] is not None:
                return True
            continue
        try:
            if importlib.util.find_spec(mod) is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (B, C) logits, float32, numerically stable."""
    z: np.ndarray = np.asarray(logits, np.float32)
    if z.ndim == 2 and z.shape[0] == 1:  # one window, the live case: whole-array reductions, ~1.5 us less
        z = z - z.max()
        np.exp(z, out=z)
        z /= z.sum()
        return z
    z = z - z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def softmax_row(logits: list[float]) -> np.ndarray:
    """(1, C) float32 softmax of one row of logits given as Python floats, computed in float64: for the
    handful of classes of a window, Python arithmetic costs less than numpy's per-call overhead."""
    top = max(logits)
    e = [math.exp(v - top) for v in logits]
    inv = 1.0 / sum(e)
    return np.array([[v * inv for v in e]], np.float32)


class Runner:
    """Base runner: validates windows, runs them one model call at a time, maps outputs by name.
    Subclasses implement :meth:`_forward` (one window in, the model invoked) and :meth:`_output` (a new
    float32 array of one output of the last call).

    Attributes: ``name`` (runtime name and version), ``format`` (``tflite``/``executorch``), ``dtype``
    (``int8``/``float32``), ``threads``, ``model_bytes``, ``labels``, ``has_embedding``, ``batch`` (windows
    per call of the batch variant; 1 without one).
    """

    name: str = "runner"
    format: str = ""
    #: A remainder of at least this fraction of the batch model's B windows is padded to one batched call,
    #: a smaller one runs window by window: about where one batched call costs as much as the single calls
    #: (benchmarks/bench_batch.py on the shipped student's architecture, docs/benchmarks.md).
    pad_fraction: float = 0.5

    def __init__(
        self,
        entry: ModelEntry,
        model: bytes,
        labels: list[str],
        window: int,
        threads: int,
        batch_model: bytes | None = None,
    ) -> None:
        count(threads, "threads", 1, "CPU threads for the model", ConfigError)
        self.entry = entry
        self.rows = entry.rows  # windows per call of this model
        self.dtype = entry.dtype
        self.threads = int(threads)
        self.model_bytes = len(model)
        self.labels = list(labels)
        self.window = int(window)
        self._one_shape = (1, self.window, 3)
        self._rows_shape = (self.rows, self.window, 3)
        self._ones = np.ones(self.window * 3, np.float32)
        self._bcw = entry.input_layout == "BCW"
        logit = entry.output("logits")
        if logit is None:
            raise BundleError(f"model {entry.file} has no 'logits' output; re-export the bundle.")
        self._logits_spec = logit
        self._embed_spec = entry.output("embedding")
        self.has_embedding = self._embed_spec is not None
        #: The runtime's own softmax of the logits, where the model carries it (``.tflite`` exports).
        self._probs_spec = entry.output(PROBABILITIES)
        self._batched: Runner | None = None
        if entry.batch is not None and batch_model is not None:
            self._batched = type(self)(entry.batch, batch_model, labels, window, threads)
        self.batch = self._batched.rows if self._batched is not None else 1
        #: Fewest windows of a remainder that go to the batch model (padded), see ``pad_fraction``.
        self.pad_from = max(1, math.ceil(self.batch * self.pad_fraction)) if self._batched else 0

    def _check_rows(self, runtime_shape: Any) -> None:
        """BundleError unless the runtime's input batch is the entry's (a batch variant whose file is not
        the model its manifest entry describes)."""
        rows = int(next(iter(runtime_shape)))
        if rows != self.rows:
            raise BundleError(
                f"model {self.entry.file} takes batches of {rows} windows but its manifest entry says "
                f"{self.rows}; the bundle's model and manifest do not match. Re-export it."
            )

    # --- public API ------------------------------------------------------------------------------
    def logits(self, windows_g: np.ndarray) -> np.ndarray:
        """(B, n_labels) float32 logits for (B, WINDOW, 3) float32 windows in g (a (WINDOW, 3) window is
        treated as a batch of one)."""
        return self.run(windows_g, embedding=False)[0]

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        """(B, n_labels) float32 class probabilities: the softmax of :meth:`logits` (the model's own
        ``probabilities`` output where it carries one: float32, within 2e-6 relative of the exact softmax)."""
        x = self._check(windows_g)
        if x.shape[0] == 1:  # the live case: no batch arrays, the runtime's cheapest softmax
            self._forward(x)
            return self._probabilities()
        if self._probs_spec is not None:
            return self._collect(x, (self._probs_spec,))[0]
        return softmax(self.run(x, embedding=False)[0])

    def embed(self, windows_g: np.ndarray) -> np.ndarray:
        """(B, D) float32 joint-space embeddings (not normalized), when the model exports them."""
        if not self.has_embedding:
            raise BundleError(
                f"model {self.entry.file} does not export an embedding output, so on-device zero-shot is "
                "not available with it; re-export the student with its embedding head."
            )
        emb = self.run(windows_g, embedding=True)[1]
        assert emb is not None
        return emb

    def run(self, windows_g: np.ndarray, embedding: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits (B, n_labels) and, when exported and asked for, embeddings (B, D), in one pass. The arrays
        are the caller's: never views of the runtime's (reused) output buffers."""
        x = self._check(windows_g)
        want_emb = embedding and self.has_embedding
        if x.shape[0] == 1:
            self._forward(x)
            return self._output(self._logits_spec), self._output(self._embed_spec) if want_emb else None
        if not want_emb:
            return self._collect(x, (self._logits_spec,))[0], None
        assert self._embed_spec is not None
        logits, emb = self._collect(x, (self._logits_spec, self._embed_spec))
        return logits, emb

    # --- internals -------------------------------------------------------------------------------
    def _collect(self, x: np.ndarray, specs: tuple[TensorSpec, ...]) -> list[np.ndarray]:
        """New (B, size) float32 arrays of the outputs ``specs`` for checked windows ``x`` (B > 1): whole
        batches through the batch model (a remainder of at least ``pad_from`` windows padded to one), the
        rest window by window."""
        n = x.shape[0]
        out = [np.empty((n, s.shape[-1]), np.float32) for s in specs]
        start, br = 0, self._batched
        if br is not None:
            b = br.rows
            b_specs = [br._output_spec(s.name) for s in specs]
            while n - start >= self.pad_from:
                m = min(b, n - start)
                chunk = x[start : start + m]
                if m < b:  # pad with zero windows (valid input; their outputs are dropped)
                    chunk = np.concatenate([chunk, np.zeros((b - m, *chunk.shape[1:]), np.float32)])
                br._forward(chunk)
                for a, s in zip(out, b_specs, strict=True):
                    a[start : start + m] = br._output(s)[:m]
                start += m
        for i in range(start, n):
            self._forward(x[i : i + 1])
            for a, s in zip(out, specs, strict=True):
                a[i] = self._output(s)[0]
        return out

    def _output_spec(self, name: str) -> TensorSpec:
        """This runner's spec of its model's output ``name`` (the runtime's quantization, where it reads it)."""
        spec = {
            "logits": self._logits_spec,
            "embedding": self._embed_spec,
            PROBABILITIES: self._probs_spec,
        }.get(name)
        if spec is None:
            raise BundleError(
                f"model {self.entry.file} has no {name!r} output, but its batch-1 model has; the bundle's "
                "models do not match. Re-export it."
            )
        return spec

    def _check(self, windows_g: np.ndarray) -> np.ndarray:
        x = windows_g
        # The live case first: one contiguous float32 window whose sum is finite (so every value is).
        if (
            type(x) is np.ndarray
            and x.dtype == np.float32
            and x.shape == self._one_shape
            and math.isfinite(np.vdot(x, self._ones))  # one BLAS call, cheaper than any numpy reduction
        ):
            return x
        # (strings, objects, complex or bool values: ShapeError, not numpy's error further on)
        x = real_array(windows_g, np.dtype(np.float32), "model input", keep_float=True)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (self.window, 3):
            raise ShapeError(
                f"model input must be windows of shape (B, {self.window}, 3) in g (x, y, z last), got "
                f"{np.shape(windows_g)}. Window the 50 Hz stream first (mujo_edge.windows)."
            )
        if x.dtype != np.float32:
            x = x.astype(np.float32)
        if not np.isfinite(x).all():
            bad = int(np.argwhere(~np.isfinite(x))[0][0])
            raise ShapeError(
                f"window {bad} of the batch holds NaN or infinite values; drop or repair it before the "
                "model (the other windows are unaffected)."
            )
        return x

    def _probabilities(self) -> np.ndarray:
        """(1, n_labels) float32 probabilities of the last :meth:`_forward`."""
        if self._probs_spec is not None:
            return self._output(self._probs_spec)
        return softmax_row(self._output(self._logits_spec)[0].tolist())

    def _forward(self, x: np.ndarray) -> None:  # pragma: no cover
        """Run ``x``: (rows, WINDOW, 3) float32 g, toolkit layout, possibly a view (rows: the model's batch,
        1 for the streaming model)."""
        raise NotImplementedError

    def _output(self, spec: Any) -> np.ndarray:  # pragma: no cover
        """A new (rows, size) float32 array of the output ``spec`` of the last call, dequantized."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {self.format}/{self.dtype}, threads={self.threads})"


class _Dequantizer:
    """Precomputed int8 dequantization of one output: a 256-entry table indexed by the raw byte.

    ``logits`` equals ``scale * (q - zero_point)`` computed in float32, bit for bit; ``probabilities``
    is the softmax of those logits from a float64 table of ``exp(scale * (q - 127))`` (stable: every entry
    <= 1; a scale above ``MAX_EXP_SCALE`` would underflow it, and then the float32 softmax is used).
    """

    #: exp(-255 * scale) stays a normal float64 up to this scale.
    MAX_EXP_SCALE = 2.5

    def __init__(self, scale: float, zero_point: int) -> None:
        q = np.arange(256, dtype=np.uint8).view(np.int8)  # the table is indexed by the raw byte
        table = q.astype(np.float32)
        table -= zero_point
        table *= scale
        self.logits = table
        self.exp: list[float] | None = (
            np.exp(np.float64(scale) * (q.astype(np.float64) - 127.0)).tolist()
            if scale <= self.MAX_EXP_SCALE
            else None
        )


class LiteRtRunner(Runner):
    """Runs a ``.tflite`` model with the LiteRT interpreter (ai-edge-litert, else tflite_runtime).

    The input is written straight into the interpreter's input tensor and the outputs read from its
    output tensors (``Interpreter.tensor`` views, made once), int8 outputs dequantized through a
    256-entry table: per window the runner adds a few numpy calls to the runtime's own invoke.
    """

    format = "tflite"
    pad_fraction = 0.5  # one batch-64 call costs ~34 single calls

    def __init__(
        self,
        entry: ModelEntry,
        model: bytes,
        labels: list[str],
        window: int,
        threads: int = 1,
        batch_model: bytes | None = None,
    ) -> None:
        super().__init__(entry, model, labels, window, threads, batch_model)
        interpreter_cls, self.name = _litert_interpreter()
        try:
            self._it = interpreter_cls(model_content=model, num_threads=self.threads)
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise BundleError(
                f"the LiteRT interpreter rejected {entry.file} ({e}); the bundle's model is not a valid "
                "TFLite flatbuffer for this runtime. Re-export it."
            ) from e
        inp = self._it.get_input_details()[0]
        self._check_rows(inp["shape"])
        self._in_index = inp["index"]
        self._in_dtype = inp["dtype"]
        scale, zp = inp["quantization"]
        self._in_scale = np.float32(scale) if scale else None
        self._in_inv_scale = np.float32(1.0 / scale) if scale else None
        self._in_zp = np.float32(zp)
        if scale:
            info = np.iinfo(self._in_dtype)
            self._in_min, self._in_max = np.float32(info.min), np.float32(info.max)
            self._in_buf = np.empty(self._rows_shape, np.float32)
        outs = self._it.get_output_details()
        self._out_index = [o["index"] for o in outs]
        for spec in entry.outputs:
            if spec.position >= len(outs) or tuple(outs[spec.position]["shape"]) != spec.shape:
                raise BundleError(
                    f"model {entry.file} has {len(outs)} outputs of shapes "
                    f"{[tuple(int(v) for v in o['shape']) for o in outs]}, but its manifest names output "
                    f"{spec.name!r} {spec.shape} at position {spec.position}; the bundle's model and manifest "
                    "do not match. Re-export it."
                )
        # The interpreter's own quantization parameters are authoritative; keep the manifest's in step.
        self._dequant: dict[int, _Dequantizer] = {}
        for spec_name in ("_logits_spec", "_embed_spec"):
            spec = getattr(self, spec_name)
            if spec is None:
                continue
            s, z = outs[spec.position]["quantization"]
            if s:
                spec = replace(spec, scale=float(s), zero_point=int(z))
                setattr(self, spec_name, spec)
                self._dequant[spec.position] = _Dequantizer(float(s), int(z))
        # Direct views of the interpreter's tensors, valid while no tensor is re-allocated (the runner
        # never does). The interpreter's public invoke() refuses to run while such views exist, so the
        # runner calls its native Invoke; a LiteRT build without it uses set_tensor/get_tensor copies.
        native = getattr(self._it, "_interpreter", None)
        self._native_invoke = getattr(native, "Invoke", None)
        self._in_view: np.ndarray | None = None
        if self._native_invoke is not None:
            view = self._it.tensor(self._in_index)()
            self._in_view = view.transpose(0, 2, 1) if self._bcw else view  # (rows, WINDOW, 3) either way
            self._out_views = [self._it.tensor(i)() for i in self._out_index]
            self._out_bytes = [v.view(np.uint8) if v.dtype == np.int8 else v for v in self._out_views]
        live = self._live_predict()
        if live is not None:
            self.predict = live  # type: ignore[method-assign,assignment]

    def _live_predict(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """:meth:`predict` for the live case as one closure, or None where it does not apply (an int8 input,
        a batch model, float logits without a ``probabilities`` output, a LiteRT without the native invoke).

        One float32 ``(1, WINDOW, 3)`` window is copied into the input tensor (the layout change in the same
        copy), checked finite there (one BLAS dot over the tensor's flat view: a finite sum means finite
        values), the native invoke runs, and the probabilities are a copy of the model's ``probabilities``
        output, or, for a model without one, the softmax of the int8 logits from the exp table in Python
        floats. Every name is a closure cell, not an attribute chain. Anything else (another shape or dtype,
        a non-finite or overflowing sum) goes the general way, which checks, explains and raises.
        """
        dq = self._dequant.get(self._logits_spec.position)
        probs = self._probs_spec
        if (
            self.rows != 1
            or self._in_view is None
            or self._in_scale is not None
            or (probs is None and (dq is None or dq.exp is None))
        ):
            return None
        flat = self._it.tensor(self._in_index)().reshape(-1)  # a view: the tensor is contiguous
        if not np.shares_memory(flat, self._in_view):
            return None
        view, ones, invoke = self._in_view, self._ones, self._native_invoke
        general = super().predict
        shape, ndarray, f32, f32_dtype = self._one_shape, np.ndarray, np.float32, np.dtype(np.float32)
        array, isfinite = np.array, math.isfinite
        dot = flat.dot
        if probs is not None and self._out_views[probs.position].dtype == f32_dtype:
            copy = self._out_views[probs.position].copy  # the runtime's softmax: a copy of its output

            def predict_probabilities(windows_g: np.ndarray) -> np.ndarray:
                """(1, n_labels) float32 class probabilities of one window (see :meth:`Runner.predict`)."""
                x = windows_g
                if type(x) is ndarray and x.dtype is f32_dtype and x.shape == shape:
                    view[...] = x
                    if isfinite(dot(ones)):
                        invoke()  # type: ignore[misc]
                        out: np.ndarray = copy()
                        return out
                return general(x)

            return predict_probabilities
        if dq is None or dq.exp is None:
            return None
        table = dq.exp
        logits_q = memoryview(self._out_bytes[self._logits_spec.position].reshape(-1))  # live raw bytes

        def predict(windows_g: np.ndarray) -> np.ndarray:
            """(1, n_labels) float32 class probabilities of one window (see :meth:`Runner.predict`)."""
            x = windows_g
            if type(x) is ndarray and x.dtype is f32_dtype and x.shape == shape:
                view[...] = x  # ndarray assignment: half the cost of np.copyto here
                if isfinite(dot(ones)):
                    invoke()  # type: ignore[misc]
                    e = [table[b] for b in logits_q]
                    inv = 1.0 / sum(e)
                    return array([[v * inv for v in e]], f32)
            return general(x)

        return predict

    def _forward(self, x: np.ndarray) -> None:
        if self._in_scale is not None:
            # q = clip(round(x / scale) + zp): in place with ufuncs (np.clip costs ~5 us on 300 values)
            a = np.multiply(x, self._in_inv_scale, out=self._in_buf)  # type: ignore[arg-type]
            a += self._in_zp
            np.rint(a, out=a)
            np.maximum(a, self._in_min, out=a)
            np.minimum(a, self._in_max, out=a)
            x = a
        if self._in_view is not None:
            np.copyto(self._in_view, x, casting="unsafe")  # layout (and int8 cast) in one copy
            self._native_invoke()  # type: ignore[misc]
            return
        model_x = x.transpose(0, 2, 1) if self._bcw else x
        self._it.set_tensor(self._in_index, np.ascontiguousarray(model_x, dtype=self._in_dtype))
        self._it.invoke()

    def _raw(self, position: int) -> np.ndarray:
        if self._in_view is not None:
            out: np.ndarray = self._out_bytes[position]
            return out
        raw: np.ndarray = self._it.get_tensor(self._out_index[position])
        return raw.view(np.uint8) if raw.dtype == np.int8 else raw

    def _output(self, spec: Any) -> np.ndarray:
        raw = self._raw(spec.position)
        dq = self._dequant.get(spec.position)
        if dq is not None:
            return dq.logits.take(raw)  # a new array
        return np.array(raw, np.float32)

    def _probabilities(self) -> np.ndarray:
        dq = self._dequant.get(self._logits_spec.position)
        if self._probs_spec is not None or dq is None or dq.exp is None:
            return super()._probabilities()
        table = dq.exp  # a few Python floats cost less than numpy's per-call overhead on 7 numbers
        e = [table[b] for b in self._raw(self._logits_spec.position).tobytes()]
        inv = 1.0 / sum(e)
        return np.array([[v * inv for v in e]], np.float32)


class ExecuTorchRunner(Runner):
    """Runs a ``.pte`` program with ExecuTorch's Python runtime (XNNPACK delegate inside the program)."""

    format = "executorch"
    pad_fraction = 0.25  # one batch-64 call costs ~15 single calls (the binding's per-call cost is larger)

    def __init__(
        self,
        entry: ModelEntry,
        model: bytes,
        labels: list[str],
        window: int,
        threads: int = 1,
        batch_model: bytes | None = None,
    ) -> None:
        super().__init__(entry, model, labels, window, threads, batch_model)
        try:
            from mujo_edge.noise import quiet_third_party

            quiet_third_party()
            runtime_mod = importlib.import_module("executorch.runtime")
        except ImportError as e:
            raise MissingDependencyError(
                "Running .pte models (ExecuTorch)", RUNTIME_EXTRA["executorch"], "executorch"
            ) from e
        self.threads = _executorch_threads(self.threads)
        try:
            program = runtime_mod.Runtime.get().load_program(model)
            self._method = program.load_method("forward")
            _ET_STATE["loaded"] = True
            self._check_rows(self._method.metadata.input_tensor_meta(0).sizes())
        except Exception as e:
            raise BundleError(
                f"ExecuTorch could not load {entry.file} ({type(e).__name__}: {e}); the program is not valid "
                "for this runtime version. Re-export the bundle."
            ) from e
        import torch

        self._from_numpy = torch.from_numpy
        self._float32 = torch.float32
        # One input tensor for the runner's life, written in place through its numpy view: saves the
        # per-call numpy -> torch conversion. Outputs are read without ExecuTorch's defensive clone
        # (``clone_outputs=False``); they alias the method's planned output buffers, so ``_output`` copies
        # them out before the next call. Together ~5 us of the ~13 us the Python binding adds per window.
        shape = (self.rows, 3, self.window) if self._bcw else self._rows_shape
        self._in_t = torch.zeros(shape, dtype=torch.float32)
        self._in_np = self._in_t.numpy()
        self._in_view = self._in_np.transpose(0, 2, 1) if self._bcw else self._in_np  # (rows, WINDOW, 3)
        self._inputs = [self._in_t]
        self._outs: Any = ()
        raw = getattr(self._method, "_method", None)  # the pybinding behind executorch.runtime.Method
        self._raw_call = raw.call if raw is not None and hasattr(raw, "call") else None
        version = getattr(importlib.import_module("executorch"), "__version__", "")
        self.name = f"executorch.runtime {version}".strip()
        live = self._live_predict()
        if live is not None:
            self.predict = live  # type: ignore[method-assign,assignment]

    def _live_predict(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """:meth:`predict` for the live case as one closure, or None where it does not apply (a batch
        model, int8 logits, an ExecuTorch without the no-clone call, outputs that move between calls).

        The method's outputs live in its planned memory: two probe calls at load check that the logits
        come back at the same address, and one numpy view of them, made then, is read after every call
        (no torch tensor touched per window). The window is copied into the input tensor and checked
        finite there (one BLAS dot over its flat view); the softmax is computed in Python floats. Anything
        else goes the general way, which checks, explains and raises.
        """
        call, spec = self._raw_call, self._logits_spec
        if self.rows != 1 or call is None:
            return None
        pos = spec.position
        first, second = call(self._inputs, False), call(self._inputs, False)
        if first[pos].dtype != self._float32 or first[pos].data_ptr() != second[pos].data_ptr():
            return None
        logits = first[pos].numpy().tolist  # the view stays valid: the memory is the method's
        flat = self._in_np.reshape(-1)
        if not np.shares_memory(flat, self._in_view):
            return None
        view, ones, inputs = self._in_view, self._ones, self._inputs
        general = super().predict
        shape, ndarray, f32, f32_dtype = self._one_shape, np.ndarray, np.float32, np.dtype(np.float32)
        array, isfinite, exp = np.array, math.isfinite, math.exp
        dot = flat.dot

        def predict(windows_g: np.ndarray) -> np.ndarray:
            """(1, n_labels) float32 class probabilities of one window (see :meth:`Runner.predict`)."""
            x = windows_g
            if type(x) is ndarray and x.dtype is f32_dtype and x.shape == shape:
                view[...] = x  # ndarray assignment: half the cost of np.copyto here
                if isfinite(dot(ones)):
                    call(inputs, False)
                    row = logits()[0]
                    top = max(row)
                    e = [exp(v - top) for v in row]
                    inv = 1.0 / sum(e)
                    return array([[v * inv for v in e]], f32)
            return general(x)

        return predict

    def _forward(self, x: np.ndarray) -> None:
        np.copyto(self._in_view, x, casting="same_kind")
        if self._raw_call is not None:
            self._outs = self._raw_call(self._inputs, False)  # clone_outputs=False, positional: ~0.5 us less
        else:  # an ExecuTorch without the no-clone call: the public API, which clones
            self._outs = self._method.execute(self._inputs)

    def _probabilities(self) -> np.ndarray:
        spec = self._logits_spec
        out = self._outs[spec.position]
        if spec.scale is not None and out.dtype != self._float32:
            return super()._probabilities()
        return softmax_row(out.tolist()[0])  # float32 logits as Python floats: no numpy copy, no clone

    def _output(self, spec: Any) -> np.ndarray:
        out = self._outs[spec.position].numpy()
        a: np.ndarray = out.astype(np.float32)  # a copy: the buffer is the method's, reused by the next call
        if spec.scale is not None and out.dtype != np.float32:
            a -= spec.zero_point
            a *= spec.scale
        return a.reshape(self.rows, -1)


#: Whether this process has loaded an ExecuTorch program: the thread pool can only be resized before.
_ET_STATE = {"loaded": False}


def _executorch_threads(threads: int) -> int:
    """Size ExecuTorch's XNNPACK thread pool to ``threads`` (it defaults to one per core, which costs ~40 %
    latency on a single window). Resizing after a program was loaded corrupts memory, so later runners
    keep the pool as it is and say so. Returns the thread count in effect."""
    try:
        pl = importlib.import_module("executorch.extension.pybindings.portable_lib")
        current = int(pl._threadpool_get_thread_count())
        reset = pl._unsafe_reset_threadpool
    except (ImportError, AttributeError):
        return threads
    if current == threads:
        return threads
    if _ET_STATE["loaded"]:
        log.warning(
            "ExecuTorch's thread pool already runs %d threads and cannot be resized once a program is "
            "loaded; this runner uses %d threads, not %d",
            current,
            current,
            threads,
        )
        return current
    reset(threads)
    return threads


def _litert_interpreter() -> tuple[type, str]:
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter  # type: ignore[import-not-found,unused-ignore]

        log.info("ai-edge-litert is not installed; using the tflite_runtime interpreter instead")
        return Interpreter, "tflite_runtime"
    except ImportError as e:
        raise MissingDependencyError(
            "Running .tflite models (LiteRT)", RUNTIME_EXTRA["tflite"], "ai-edge-litert"
        ) from e


_RUNNERS: dict[str, type[Runner]] = {"tflite": LiteRtRunner, "executorch": ExecuTorchRunner}


def runner_for(
    entry: ModelEntry,
    model: bytes,
    labels: list[str],
    window: int,
    threads: int = 1,
    batch_model: bytes | None = None,
) -> Runner:
    """The runner of ``entry``'s format for the model bytes ``model``: the one constructor every caller uses
    (a bundle's :meth:`~mujo_edge.bundle.Bundle.runner`, and export's verification before a bundle exists).

    Args:
        entry: the model's manifest entry (format, layout, tensors).
        model: the model file's bytes.
        labels: the model's classes, in logit order.
        window: samples per window.
        threads: runtime threads.
        batch_model: the bytes of ``entry.batch``'s file (the batch variant), or None to call the model once
            per window.
    """
    cls = _RUNNERS.get(entry.format)
    if cls is None:
        raise BundleError(
            f"model {entry.file} has format {entry.format!r}; this mujo-edge runs {sorted(_RUNNERS)}. "
            "Upgrade mujo-edge or re-export."
        )
    return cls(entry, model, labels, window, threads=threads, batch_model=batch_model)


def make_runner(bundle: Bundle, entry: ModelEntry, threads: int = 1) -> Runner:
    """A runner for one model entry of ``bundle`` (see :meth:`mujo_edge.bundle.Bundle.runner`)."""
    if not runtime_available(entry.format):
        others = [f for f in bundle.formats if f != entry.format and runtime_available(f)]
        hint = f" The bundle also holds {others}, whose runtime is installed." if others else ""
        raise MissingDependencyError(
            f"Running the bundle's {entry.format} model{hint}",
            RUNTIME_EXTRA[entry.format],
            "ai-edge-litert" if entry.format == "tflite" else "executorch",
        )
    batch_model = bundle.file_bytes(entry.batch.file) if entry.batch is not None else None
    runner = runner_for(
        entry, bundle.file_bytes(entry.file), bundle.labels, bundle.window, threads, batch_model
    )
    log.info("runner: %r for %s", runner, entry.file)
    return runner
