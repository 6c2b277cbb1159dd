"""TensorFlow Lite Micro: does the int8 ``.tflite`` run on a watch, in how much RAM, and to the same bits?

The check runs the model in TFLM's own interpreter (the ``tflite-micro`` package: the C++ TFLM runtime with
a Python binding and every builtin kernel registered, the reference kernels a Cortex-M build uses without
CMSIS-NN) on the verification windows and compares its raw int8 outputs with LiteRT's:

* against LiteRT's reference kernels (``OpResolverType.BUILTIN_REF``), the same integer arithmetic TFLM
  implements: identical on almost every window; with the float32 stem, the float conv's rounding before
  the first quantize can move one output by one int8 step on a rare window (1 of 64 random windows on the
  shipped student, 0 of 300 in another draw);
* against LiteRT's default path (the XNNPACK delegate, what the gateway runs), which rounds some
  requantizations differently: the largest difference in int8 steps is recorded (1 step on the shipped
  student).

The arena is the tensor memory TFLM plans for the model: activations, the persistent per-tensor and
per-node structs and kernel scratch, as TFLM's recording allocator reports it after allocation. It is
measured on this 64-bit host, where TFLM's structs hold 8-byte pointers; on a 32-bit watch MCU the same
plan is a few hundred bytes smaller, so the recorded figure is an upper bound for the firmware's arena.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import importlib.util
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from mujo_edge.errors import ExportError, MissingDependencyError

#: Arena the check gives TFLM before measuring what it used, bytes (generous for a watch-sized model).
PROBE_ARENA_BYTES = 256 * 1024
#: Outputs are compared as raw int8 steps; TFLM and LiteRT's reference kernels must agree exactly.
EXACT_LSB = 0


@dataclass
class TflmCheck:
    """How the model runs under TensorFlow Lite Micro (recorded in the bundle as ``models[].tflm``)."""

    interpreter: str  # e.g. "tflite-micro 0.dev20261023182759"
    arena_bytes: int  # tensor arena TFLM allocated for the model (64-bit host: an upper bound on 32-bit)
    ops: list[str]  # TFLM op resolver registrations the model needs, e.g. ["AddConv2D", ...]
    windows: int  # verification windows run through both interpreters
    max_lsb_vs_litert_reference: int  # largest |TFLM - LiteRT reference kernels| over all outputs, int8 steps
    windows_differing_from_litert_reference: int  # windows where any output differs from the reference
    max_lsb_vs_litert: int  # largest |TFLM - LiteRT default (XNNPACK)|, int8 steps
    windows_differing_from_litert: int  # windows where any output differs from LiteRT's default path
    top1_agreement_with_litert: float  # fraction of windows whose argmax logit equals LiteRT's default path

    @property
    def exact(self) -> bool:
        """Whether TFLM reproduces LiteRT's reference kernels bit for bit on every window."""
        return self.max_lsb_vs_litert_reference == EXACT_LSB

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__) | {"exact_vs_litert_reference": self.exact}


def tflm_available() -> bool:
    """Whether the ``tflite-micro`` package (TFLM's Python interpreter) is installed."""
    try:
        return importlib.util.find_spec("tflite_micro") is not None
    except (ImportError, ValueError):
        return False


def _runtime() -> Any:
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as e:
        raise MissingDependencyError(
            "Checking the model under TensorFlow Lite Micro", "export", "tflite-micro"
        ) from e
    return runtime


def tflm_version() -> str:
    try:
        return f"tflite-micro {importlib.metadata.version('tflite-micro')}"
    except importlib.metadata.PackageNotFoundError:
        return "tflite-micro"


def micro_ops(model: bytes) -> list[str]:
    """The ``tflite::MicroMutableOpResolver`` calls the model needs, in first-use order (``AddConv2D``...).

    A watch firmware registers exactly these (the C header lists them); a builtin op outside TFLM's
    kernels would show up here and then fail :func:`check_tflm`.
    """
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    m = schema.Model.GetRootAsModel(model, 0)
    codes = []
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        codes.append(max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode())))
    sg = m.Subgraphs(0)
    out: list[str] = []
    for i in range(sg.OperatorsLength()):
        name = names.get(codes[sg.Operators(i).OpcodeIndex()], "CUSTOM")
        call = "Add" + "".join(w.upper() if w[:1].isdigit() else w.capitalize() for w in name.split("_"))
        if call not in out:
            out.append(call)
    return out


@contextlib.contextmanager
def _captured_fds() -> Iterator[list[str]]:
    """Capture what C code prints to stdout and stderr (TFLM's allocation report) into the yielded list."""
    libc = ctypes.CDLL(None)
    text: list[str] = []
    with tempfile.TemporaryFile() as f:
        libc.fflush(None)
        saved = [os.dup(1), os.dup(2)]
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield text
        finally:
            libc.fflush(None)
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            f.seek(0)
            text.append(f.read().decode(errors="replace"))


def arena_bytes(model: bytes) -> int:
    """Bytes of tensor arena TFLM allocates for ``model`` (its recording allocator's total)."""
    runtime = _runtime()
    it = runtime.Interpreter.from_bytes(model, arena_size=PROBE_ARENA_BYTES)
    with _captured_fds() as text:
        it.print_allocations()
    found = re.findall(r"Arena allocation total (\d+) bytes", "".join(text))
    if not found:
        raise ExportError(
            "TFLM's allocation report had no 'Arena allocation total' line (the tflite-micro package changed "
            f"its report?); got {''.join(text)[:200]!r}. Measure the arena on the device instead."
        )
    return int(found[-1])


def _quantize_input(x: np.ndarray, dtype: Any, scale: float, zero_point: int) -> np.ndarray:
    if not scale:
        return np.ascontiguousarray(x, np.float32)
    info = np.iinfo(dtype)
    return np.clip(np.rint(x / scale) + zero_point, info.min, info.max).astype(dtype)


def check_tflm(model: bytes, windows: np.ndarray, logits_position: int = 0) -> TflmCheck:
    """Run ``model`` under TFLM and LiteRT on ``windows`` (N, ...) in the model's own input layout (float
    windows; quantized here when the model takes int8) and compare every raw output; ``logits_position``
    is the output whose argmax is the activity.

    Raises:
        MissingDependencyError: tflite-micro (or ai-edge-litert) is not installed.
        ExportError: TFLM cannot load or run the model (an op or op version its kernels lack), or the
            arena it needs is larger than :data:`PROBE_ARENA_BYTES`.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    runtime = _runtime()
    try:
        micro = runtime.Interpreter.from_bytes(model, arena_size=PROBE_ARENA_BYTES)
    except (RuntimeError, ValueError) as e:
        raise ExportError(
            f"TensorFlow Lite Micro cannot load the model ({e}); it uses an op or op version TFLM's kernels "
            f"lack (the model needs {micro_ops(model)}) or more than {PROBE_ARENA_BYTES} bytes of arena."
        ) from e
    ref = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    fast = Interpreter(model_content=model, num_threads=1)
    for it in (ref, fast):
        it.allocate_tensors()
    inp = ref.get_input_details()[0]
    scale, zp = inp["quantization"]
    n_out = len(ref.get_output_details())
    worst_ref = worst_fast = differing = differing_ref = same_top1 = 0
    logits_pos = logits_position
    for x in windows:
        q = _quantize_input(np.asarray(x, np.float32)[None], inp["dtype"], scale, zp)
        micro.set_input(q, 0)
        micro.invoke()
        got = [np.asarray(micro.get_output(i)).astype(np.int64) for i in range(n_out)]
        diffs = []
        for it in (ref, fast):
            it.set_tensor(it.get_input_details()[0]["index"], q)
            it.invoke()
            outs = [it.get_tensor(d["index"]).astype(np.int64) for d in it.get_output_details()]
            diffs.append(max(int(np.abs(a - b).max()) for a, b in zip(got, outs, strict=True)))
            if it is fast:
                same_top1 += int(np.argmax(got[logits_pos]) == np.argmax(outs[logits_pos]))
        worst_ref, worst_fast = max(worst_ref, diffs[0]), max(worst_fast, diffs[1])
        differing_ref += diffs[0] > 0
        differing += diffs[1] > 0
    return TflmCheck(
        interpreter=tflm_version(),
        arena_bytes=arena_bytes(model),
        ops=micro_ops(model),
        windows=len(windows),
        max_lsb_vs_litert_reference=worst_ref,
        windows_differing_from_litert_reference=int(differing_ref),
        max_lsb_vs_litert=worst_fast,
        windows_differing_from_litert=int(differing),
        top1_agreement_with_litert=same_top1 / max(len(windows), 1),
    )
