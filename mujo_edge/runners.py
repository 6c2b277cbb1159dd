"""Runners: execute a bundle's model in a real on-device runtime (LiteRT or ExecuTorch).

A runner applies the model and nothing else: its input is raw windows of accelerometer specific force in g,
``(B, WINDOW, 3)`` float32, already PIT-calibrated when the bundle has a calibration table (the pipeline's
job). The runner takes care of the model's input layout (the students take ``(B, 3, WINDOW)``), of int8
(de)quantization with the model's own scale and zero point, and of batches (one invoke per window: the
exported graphs have batch size 1, which is also what a streaming watch produces).

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
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from mujo_edge.errors import BundleError, MissingDependencyError, ShapeError

if TYPE_CHECKING:
    from mujo_edge.bundle import Bundle, ModelEntry

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
    z = np.asarray(logits, np.float32)
    if z.ndim == 2 and z.shape[0] == 1:  # one window, the live case: whole-array reductions, ~1.5 us less
        z = z - z.max()
        np.exp(z, out=z)
        z /= z.sum()
        return z
    z = z - z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


class Runner:
    """Base runner: validates windows, loops the batch, maps outputs by name. Subclasses implement
    :meth:`_invoke` for one window already in the model's layout.

    Attributes: ``name`` (runtime name and version), ``format`` (``tflite``/``executorch``), ``dtype``
    (``int8``/``float32``), ``threads``, ``model_bytes``, ``labels``, ``has_embedding``.
    """

    name: str = "runner"
    format: str = ""

    def __init__(self, entry: ModelEntry, model: bytes, labels: list[str], window: int, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.entry = entry
        self.dtype = entry.dtype
        self.threads = int(threads)
        self.model_bytes = len(model)
        self.labels = list(labels)
        self.window = int(window)
        self._bcw = entry.input_layout == "BCW"
        logit = entry.output("logits")
        if logit is None:
            raise BundleError(f"model {entry.file} has no 'logits' output; re-export the bundle.")
        self._logits_spec = logit
        self._embed_spec = entry.output("embedding")
        self.has_embedding = self._embed_spec is not None

    # --- public API ------------------------------------------------------------------------------
    def logits(self, windows_g: np.ndarray) -> np.ndarray:
        """(B, n_labels) float32 logits for (B, WINDOW, 3) float32 windows in g (a (WINDOW, 3) window is
        treated as a batch of one)."""
        return self.run(windows_g, embedding=False)[0]

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        """(B, n_labels) float32 class probabilities (softmax of :meth:`logits`)."""
        return softmax(self.logits(windows_g))

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
        """Logits (B, n_labels) and, when exported and asked for, embeddings (B, D), in one pass."""
        x = self._check(windows_g)
        want_emb = embedding and self.has_embedding
        n = x.shape[0]
        if n == 1:  # the live case, one window: no per-batch arrays (~1 us of a ~15-25 us call)
            outs = self._invoke(
                x.transpose(0, 2, 1) if self._bcw else x, self._positions_emb if want_emb else self._positions
            )
            # _dequant returns a new array, never a view of the runtime's (reused) output buffer
            one_logits = self._dequant(outs[0], self._logits_spec).reshape(1, -1)
            return one_logits, self._dequant(outs[1], self._embed_spec).reshape(1, -1) if want_emb else None
        logits = np.empty((n, len(self.labels)), np.float32)
        emb = np.empty((n, self._embed_spec.shape[-1]), np.float32) if want_emb else None  # type: ignore[union-attr]
        wanted = self._positions_emb if want_emb else self._positions
        for i in range(n):
            one = x[i : i + 1]
            if self._bcw:
                one = one.transpose(0, 2, 1)  # a view: _invoke makes the model's contiguous input
            outs = self._invoke(one, wanted)
            logits[i] = self._dequant(outs[0], self._logits_spec)
            if emb is not None:
                emb[i] = self._dequant(outs[1], self._embed_spec)
        return logits, emb

    # --- internals -------------------------------------------------------------------------------
    def _check(self, windows_g: np.ndarray) -> np.ndarray:
        x = np.asarray(windows_g)
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

    @staticmethod
    def _dequant(q: np.ndarray, spec: Any) -> np.ndarray:
        """A new float32 array of ``q`` dequantized (int8 outputs) or copied (float outputs)."""
        a = q.astype(np.float32)  # astype copies by default
        if spec.scale is not None and q.dtype != np.float32:
            a -= spec.zero_point
            a *= spec.scale
        return a

    @property
    def _positions(self) -> tuple[int, ...]:
        return (self._logits_spec.position,)

    @property
    def _positions_emb(self) -> tuple[int, ...]:
        return (self._logits_spec.position, self._embed_spec.position)  # type: ignore[union-attr]

    def _invoke(self, x: np.ndarray, positions: tuple[int, ...]) -> list[np.ndarray]:  # pragma: no cover
        """Run one window ``x`` (possibly a non-contiguous view, model layout); return the outputs at
        ``positions`` (runtime output indices), raw (int8 when the model's outputs are int8)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {self.format}/{self.dtype}, threads={self.threads})"


class LiteRtRunner(Runner):
    """Runs a ``.tflite`` model with the LiteRT interpreter (ai-edge-litert, else tflite_runtime)."""

    format = "tflite"

    def __init__(
        self, entry: ModelEntry, model: bytes, labels: list[str], window: int, threads: int = 1
    ) -> None:
        super().__init__(entry, model, labels, window, threads)
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
        self._in_index = inp["index"]
        self._in_dtype = inp["dtype"]
        scale, zp = inp["quantization"]
        self._in_scale = np.float32(scale) if scale else None
        self._in_inv_scale = np.float32(1.0 / scale) if scale else None
        self._in_zp = np.float32(zp)
        if scale:
            info = np.iinfo(self._in_dtype)
            self._in_min, self._in_max = np.float32(info.min), np.float32(info.max)
        self._out_index = [o["index"] for o in self._it.get_output_details()]
        # The interpreter's own quantization parameters are authoritative; keep the manifest's in step.
        outs = self._it.get_output_details()
        for spec_name in ("_logits_spec", "_embed_spec"):
            spec = getattr(self, spec_name)
            if spec is None:
                continue
            s, z = outs[spec.position]["quantization"]
            if s:
                setattr(self, spec_name, replace(spec, scale=float(s), zero_point=int(z)))

    def _invoke(self, x: np.ndarray, positions: tuple[int, ...]) -> list[np.ndarray]:
        if self._in_scale is not None:
            # q = clip(round(x / scale) + zp): in place with ufuncs (np.clip costs ~5 us on 300 values)
            a = x * self._in_inv_scale
            a += self._in_zp
            np.rint(a, out=a)
            np.maximum(a, self._in_min, out=a)
            np.minimum(a, self._in_max, out=a)
            x = a.astype(self._in_dtype, order="C")
        else:
            x = np.ascontiguousarray(x, dtype=np.float32)
        self._it.set_tensor(self._in_index, x)
        self._it.invoke()
        return [self._it.get_tensor(self._out_index[p]) for p in positions]


class ExecuTorchRunner(Runner):
    """Runs a ``.pte`` program with ExecuTorch's Python runtime (XNNPACK delegate inside the program)."""

    format = "executorch"

    def __init__(
        self, entry: ModelEntry, model: bytes, labels: list[str], window: int, threads: int = 1
    ) -> None:
        super().__init__(entry, model, labels, window, threads)
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
        except Exception as e:
            raise BundleError(
                f"ExecuTorch could not load {entry.file} ({type(e).__name__}: {e}); the program is not valid "
                "for this runtime version. Re-export the bundle."
            ) from e
        import torch

        self._from_numpy = torch.from_numpy
        # One input tensor for the runner's life, written in place through its numpy view: saves the
        # per-call numpy -> torch conversion. Outputs are read without ExecuTorch's defensive clone
        # (``clone_outputs=False``); they alias the method's planned output buffers, so ``run`` copies
        # them out before the next call. Together ~5 us of the ~13 us the Python binding adds per window.
        shape = (1, 3, self.window) if self._bcw else (1, self.window, 3)
        self._in_t = torch.zeros(shape, dtype=torch.float32)
        self._in_np = self._in_t.numpy()
        self._inputs = [self._in_t]
        raw = getattr(self._method, "_method", None)  # the pybinding behind executorch.runtime.Method
        self._raw_call = raw.call if raw is not None and hasattr(raw, "call") else None
        version = getattr(importlib.import_module("executorch"), "__version__", "")
        self.name = f"executorch.runtime {version}".strip()

    def _invoke(self, x: np.ndarray, positions: tuple[int, ...]) -> list[np.ndarray]:
        np.copyto(self._in_np, x, casting="same_kind")
        if self._raw_call is not None:
            outs = self._raw_call(self._inputs, False)  # clone_outputs=False, positional: ~0.5 us less
        else:  # an ExecuTorch without the no-clone call: the public API, which clones
            outs = self._method.execute(self._inputs)
        return [outs[p].numpy() for p in positions]


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
        from tflite_runtime.interpreter import Interpreter  # type: ignore[import-not-found]

        log.info("ai-edge-litert is not installed; using the tflite_runtime interpreter instead")
        return Interpreter, "tflite_runtime"
    except ImportError as e:
        raise MissingDependencyError(
            "Running .tflite models (LiteRT)", RUNTIME_EXTRA["tflite"], "ai-edge-litert"
        ) from e


_RUNNERS: dict[str, type[Runner]] = {"tflite": LiteRtRunner, "executorch": ExecuTorchRunner}


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
    runner = _RUNNERS[entry.format](
        entry, bundle.file_bytes(entry.file), bundle.labels, bundle.window, threads=threads
    )
    log.info("runner: %r for %s", runner, entry.file)
    return runner
