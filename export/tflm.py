"""TensorFlow Lite Micro: does the int8 ``.tflite`` run on a watch, in how much RAM, and to the same bits?

The check runs what a watch runs, the model rewritten for TFLM (:func:`~mujo_edge.export.tflite_slim.
micro_flatbuffer`, the bytes ``mujo-edge export --c-array`` writes), in TFLM's own interpreter (the
``tflite-micro`` package: the C++ TFLM runtime with a Python binding and every builtin kernel registered,
the reference kernels a Cortex-M build uses without CMSIS-NN) on the verification windows, and compares its
raw int8 outputs with LiteRT's on the bundle's model:

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

:func:`slim_bundle` applies the flatbuffer rewrite of :mod:`mujo_edge.export.tflite_slim` to a bundle made
before it, proven on real windows by the same comparisons (:func:`litert_outputs`, :func:`tflm_outputs`).
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mujo_edge._checks import count, real_array
from mujo_edge.constants import PROBABILITIES, PROBABILITIES_RTOL
from mujo_edge.errors import ExportError, MissingDependencyError

if TYPE_CHECKING:
    from mujo_edge.bundle import Bundle

#: Arena the check gives TFLM before measuring what it used, bytes (generous for a watch-sized model).
PROBE_ARENA_BYTES = 256 * 1024
#: Outputs are compared as raw int8 steps; TFLM and LiteRT's reference kernels must agree exactly.
EXACT_LSB = 0


@dataclass
class TflmCheck:
    """How the model runs under TensorFlow Lite Micro (recorded in the bundle as ``models[].tflm``)."""

    interpreter: str  # e.g. "tflite-micro 0.dev20261023182759"
    model_bytes: int  # the flatbuffer TFLM runs (micro_flatbuffer): the model's flash on the watch
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
    """The ``tflite::MicroMutableOpResolver`` calls the model needs, in first-use order (``AddConv2D``...),
    as TFLM runs it: its :func:`~mujo_edge.export.tflite_slim.micro_flatbuffer` form (without the
    ``probabilities`` ops).

    A watch firmware registers exactly these (the C header lists them); a builtin op outside TFLM's
    kernels would show up here and then fail :func:`check_tflm`.
    """
    from ai_edge_litert import schema_py_generated as schema

    from mujo_edge.export.tflite_slim import builtin_op_names, micro_flatbuffer

    names = builtin_op_names()
    m = schema.Model.GetRootAsModel(micro_flatbuffer(model), 0)
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


def _micro_outputs(it: Any) -> list[dict[str, Any]]:
    """A LiteRT interpreter's output details less the ``probabilities`` output, which the TFLM rewrite
    drops (its other outputs keep their order)."""
    return [d for d in it.get_output_details() if d["name"] != PROBABILITIES]


def _model_bytes(model: Any) -> bytes:
    """A .tflite flatbuffer as bytes; ExportError for a path or anything else."""
    if isinstance(model, bytes | bytearray | memoryview):
        return bytes(model)
    raise ExportError(
        f"model must be the .tflite file's bytes, got {type(model).__name__} {model!r:.60}: pass "
        "Path(file).read_bytes()"
    )


def _windows(windows: Any) -> np.ndarray:
    """Float32 windows (N, ...), N >= 1 and finite; ExportError otherwise."""
    x = real_array(windows, np.dtype(np.float32), "windows", error=ExportError)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ExportError(
            f"windows must be (N, ...) with N >= 1 in the model's input layout, got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ExportError("windows hold NaN or infinite values: pass clean windows")
    return x


def check_tflm(model: bytes, windows: np.ndarray, logits_position: int = 0) -> TflmCheck:
    """Run ``model`` under LiteRT and its TFLM rewrite (:func:`~mujo_edge.export.tflite_slim.
    micro_flatbuffer`) under TFLM on ``windows`` (N, ...) in the model's own input layout (float windows;
    quantized here when the model takes int8) and compare every raw output; ``logits_position`` is the
    output whose argmax is the activity.

    Raises:
        MissingDependencyError: tflite-micro (or ai-edge-litert) is not installed.
        ExportError: TFLM cannot load or run the model (an op or op version its kernels lack), or the
            arena it needs is larger than :data:`PROBE_ARENA_BYTES`.
    """
    model = _model_bytes(model)
    windows = _windows(windows)
    count(logits_position, "logits_position", 0, "pass the index of the logits output", ExportError)
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from mujo_edge.export.tflite_slim import micro_flatbuffer

    runtime = _runtime()
    micro_model = micro_flatbuffer(model)
    try:
        micro = runtime.Interpreter.from_bytes(micro_model, arena_size=PROBE_ARENA_BYTES)
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
    n_out = len(_micro_outputs(ref))
    if logits_position >= n_out:
        raise ExportError(f"logits_position {logits_position} names no output: the model has {n_out}")
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
            outs = [it.get_tensor(d["index"]).astype(np.int64) for d in _micro_outputs(it)]
            diffs.append(max(int(np.abs(a - b).max()) for a, b in zip(got, outs, strict=True)))
            if it is fast:
                same_top1 += int(np.argmax(got[logits_pos]) == np.argmax(outs[logits_pos]))
        worst_ref, worst_fast = max(worst_ref, diffs[0]), max(worst_fast, diffs[1])
        differing_ref += diffs[0] > 0
        differing += diffs[1] > 0
    return TflmCheck(
        interpreter=tflm_version(),
        model_bytes=len(micro_model),
        arena_bytes=arena_bytes(micro_model),
        ops=micro_ops(micro_model),
        windows=len(windows),
        max_lsb_vs_litert_reference=worst_ref,
        windows_differing_from_litert_reference=int(differing_ref),
        max_lsb_vs_litert=worst_fast,
        windows_differing_from_litert=int(differing),
        top1_agreement_with_litert=same_top1 / max(len(windows), 1),
    )


def litert_outputs(model: bytes, windows: np.ndarray, reference: bool = False) -> np.ndarray:
    """(N, total output size) raw outputs of ``model`` under LiteRT for ``windows`` (N, ...) in the model's
    input layout (float; quantized with the model's own input scale where it takes int8), run in chunks
    of the model's batch (the last one padded with its first window); ``reference``: LiteRT's reference
    kernels (TFLM's arithmetic) instead of the default XNNPACK delegate."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kw = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if reference else {}
    it = Interpreter(model_content=model, num_threads=1, **kw)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    rows = int(inp["shape"][0])
    x = np.asarray(windows, np.float32)
    scale, zp = inp["quantization"]
    if scale:
        info = np.iinfo(inp["dtype"])
        x = np.clip(np.rint(x / scale) + zp, info.min, info.max).astype(inp["dtype"])
    out = []
    for a in range(0, len(x), rows):
        chunk = x[a : a + rows]
        n = len(chunk)
        if n < rows:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], rows - n, axis=0)])
        it.set_tensor(inp["index"], chunk)
        it.invoke()
        outs = [it.get_tensor(d["index"]).reshape(rows, -1) for d in it.get_output_details()]
        out.append(np.concatenate(outs, axis=1)[:n])
    return np.concatenate(out)


def slim_bundle(path: str | Path, out: str | Path, windows_g: np.ndarray) -> Bundle:
    """Write the bundle at ``path`` to ``out`` (the same path is fine) with every ``.tflite`` model, batch
    variants included, rewritten smaller: through :func:`~mujo_edge.export.tflite_slim.window_major` where
    a model takes its window channels first (the entry's layout becomes BWC), else through
    :func:`~mujo_edge.export.tflite_slim.slim_flatbuffer`. Everything else is copied; the manifest gets the
    new layouts, sizes and hashes and its content hash through :func:`mujo_edge.bundle.write_bundle_zip`.

    ``windows_g`` (N, WINDOW, 3) float32 windows in g (real ones: the bundle's held-out data) prove the
    rewrite: every rewritten model must give the same raw outputs, bit for bit, as the original under
    LiteRT's default path (XNNPACK) and its reference kernels and, where ``tflite-micro`` is installed,
    the TFLM rewrite (:func:`~mujo_edge.export.tflite_slim.micro_flatbuffer`) under TFLM the original's TFLM outputs; ExportError
    otherwise, and nothing is written. A model without a ``probabilities`` output gains one
    (:func:`~mujo_edge.export.tflite_slim.with_probabilities`, proven by :func:`check_probabilities`).
    Each model entry records what was done under ``flatbuffer`` (a model the rewrite leaves as it was keeps
    the record of the rewrite that made it) and its ops again under ``partitions``; an int8 batch-1 model's ``tflm`` record (arena, flash bytes,
    agreement) is measured again on the windows.
    """
    import json

    from mujo_edge.bundle import Bundle, write_bundle_zip
    from mujo_edge.export.tflite import op_summary
    from mujo_edge.export.tflite_slim import (
        micro_flatbuffer,
        slim_flatbuffer,
        window_major,
        with_probabilities,
    )
    from mujo_edge.provenance import provenance, sha256_bytes

    bundle = Bundle.open(path)
    m = json.loads(json.dumps(bundle.manifest))
    files = {name: bundle.file_bytes(name) for name in m["files"]}
    micro_ok = tflm_available()
    x = np.asarray(windows_g, np.float32)
    for entry in m["models"]:
        if entry["format"] != "tflite":
            continue
        x_model = np.ascontiguousarray(x.transpose(0, 2, 1) if entry["input_layout"] == "BCW" else x)
        rewrites = [entry, *([entry["batch"]] if entry.get("batch") else [])]
        majors = [window_major(files[e["file"]]) for e in rewrites]
        turn = all(a is not None for a in majors)  # the batch variant keeps the batch-1 model's layout
        for e, major in zip(rewrites, majors, strict=True):
            before = files[e["file"]]
            after = major if turn and major is not None else slim_flatbuffer(before)
            x_after = x if turn else x_model
            checked = ["ai-edge-litert (XNNPACK)", "ai-edge-litert reference kernels"]
            if _output_shapes(after) != _output_shapes(before):
                raise ExportError(
                    f"{e['file']}: the rewritten flatbuffer's outputs have shapes {_output_shapes(after)}, the "
                    f"original's {_output_shapes(before)}; keep the original bundle and report the model."
                )
            for reference in (False, True):
                if not np.array_equal(
                    litert_outputs(after, x_after, reference), litert_outputs(before, x_model, reference)
                ):
                    raise ExportError(
                        f"{e['file']}: the slim flatbuffer's outputs differ from the original's under LiteRT "
                        f"({'reference kernels' if reference else 'XNNPACK'}); the rewrite is not lossless "
                        "for this model. Keep the original bundle and report the model."
                    )
            if micro_ok and e is entry and entry["dtype"] == "int8":
                small = tflm_outputs(micro_flatbuffer(after), x_after, like=after)
                if not np.array_equal(small, tflm_outputs(before, x_model)):
                    raise ExportError(
                        f"{e['file']}: the TFLM rewrite's outputs differ from the original's under TFLM; "
                        "keep the original bundle and report the model."
                    )
                checked.append("tflite-micro (micro_flatbuffer)")
                logits_at = next(o["position"] for o in entry["outputs"] if o["name"] == "logits")
                entry["tflm"] = check_tflm(after, x_after, logits_at).to_dict()
            logits_at = next(o["position"] for o in e["outputs"] if o["name"] == "logits")
            final = with_probabilities(after, logits_at)
            added = None
            if final != after:
                added, spec = check_probabilities(final, after, x_after, logits_at)
                e["outputs"] = [o for o in e["outputs"] if o["name"] != PROBABILITIES] + [spec]
            files[e["file"]] = final
            prior = e.get("flatbuffer")
            if after != before or not prior:  # else the record of the rewrite that made it stays
                e["flatbuffer"] = {
                    **({"previous": prior} if prior else {}),  # the rewrites before this one
                    "rewrite": "mujo_edge.export.tflite_slim."
                    + ("window_major" if turn else "slim_flatbuffer"),
                    "bytes_before": len(before),
                    "sha256_before": e.get("sha256"),
                    **({"input_layout_before": entry["input_layout"]} if turn else {}),
                    "identical_outputs": {"windows": len(x), "runtimes": checked},
                }
            if added:
                e["flatbuffer"]["probabilities"] = {**added, "bytes_without": len(after)}
            e["partitions"] = op_summary(final)  # the ops as they are now
            after = final
            if turn:
                _take_window_major(e, entry["input_layout"])
            e["bytes"], e["sha256"] = len(after), sha256_bytes(after)
        if turn:
            entry["input_layout"] = "BWC"  # a batch variant takes its model's layout
    for k in ("content_hash", "content_hash_scheme", "signature"):
        m.pop(k, None)
    m["derived_from"] = {
        "name": bundle.manifest.get("name"),
        "content_hash": bundle.content_hash,
        "change": ".tflite flatbuffers rewritten smaller (window_major where the model took the window "
        "channels first, else slim_flatbuffer), outputs bit for bit the same, and given the runtime's "
        "softmax of the logits as one more output (with_probabilities) where they lacked it",
    }
    m["provenance"] = provenance(derived=True)
    return write_bundle_zip(out, m, files)


def check_probabilities(
    model: bytes, without: bytes, windows: np.ndarray, logits_position: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prove :func:`~mujo_edge.export.tflite_slim.with_probabilities`'s ``model`` against ``without``, the
    model it was made from, on ``windows`` (N, ...) in the model's input layout, under LiteRT's XNNPACK
    path and its reference kernels: the other outputs the same bits, the new one the softmax of the logits
    within :data:`PROBABILITIES_RTOL` (relative, plus 1e-12 absolute). Returns the record for the manifest
    and the output's manifest spec; ExportError otherwise.
    """
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_content=model).get_output_details()
    pos = next(i for i, d in enumerate(details) if d["name"] == PROBABILITIES)
    sizes = [int(np.prod(d["shape"][1:])) for d in details]
    start = sum(sizes[:logits_position])
    cols = np.s_[sum(sizes[:pos]) : sum(sizes[: pos + 1])]  # the probabilities' columns of the raw outputs
    scale, zp = details[logits_position]["quantization"]
    worst: dict[str, float] = {}
    for reference in (False, True):
        got, old = litert_outputs(model, windows, reference), litert_outputs(without, windows, reference)
        runtime = "ai-edge-litert reference kernels" if reference else "ai-edge-litert (XNNPACK)"
        if not np.array_equal(np.delete(got, cols, axis=1), old):
            raise ExportError(
                f"adding the probabilities output changed the model's other outputs under {runtime}; "
                "keep the bundle's model as it is and report the model."
            )
        logits = got[:, start : start + sizes[logits_position]].astype(np.float32)
        if scale:
            logits = (logits - np.float32(zp)) * np.float32(scale)
        z = logits.astype(np.float64)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        want = e / e.sum(axis=1, keepdims=True)
        probs = got[:, cols].astype(np.float64)
        err = np.abs(probs - want)
        if np.any(err > PROBABILITIES_RTOL * want + 1e-12):
            raise ExportError(
                f"the model's probabilities output is up to {float((err / np.maximum(want, 1e-30)).max()):g} "
                f"(relative) from the softmax of its logits under {runtime}, more than {PROBABILITIES_RTOL:g}; "
                "keep the bundle's model as it is and report the runtime."
            )
        worst[runtime] = float((err / np.maximum(want, 1e-12)).max())
    record = {
        "output": PROBABILITIES,
        "rewrite": "mujo_edge.export.tflite_slim.with_probabilities",
        "windows": len(windows),
        "max_relative_difference_to_float64_softmax": {k: float(f"{v:.3g}") for k, v in worst.items()},
        "other_outputs_identical": True,
    }
    d = details[pos]
    spec = {"name": PROBABILITIES, "shape": [int(v) for v in d["shape"]], "dtype": "float32", "position": pos}
    return record, spec


def _output_shapes(model: bytes) -> list[tuple[int, ...]]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    return [tuple(int(v) for v in d["shape"]) for d in it.get_output_details()]


def _take_window_major(e: dict[str, Any], layout: str) -> None:
    """A model entry (manifest dict, a batch variant's too) after
    :func:`~mujo_edge.export.tflite_slim.window_major`: its input tensor's shape (B, C, W) -> (B, W, C)
    when ``layout``, the layout before, was BCW."""
    if layout == "BCW":
        for spec in e.get("inputs") or []:
            b, c, w = spec["shape"]
            spec["shape"] = [b, w, c]


def tflm_outputs(model: bytes, windows: np.ndarray, like: bytes | None = None) -> np.ndarray:
    """(N, total output size) raw outputs of ``model`` under TFLM for ``windows`` (N, ...) float windows in
    the model's input layout, quantized where the model takes int8, all but a ``probabilities`` output
    (which the TFLM rewrite drops). Input quantization and output count
    are read with LiteRT from ``like`` (a LiteRT-loadable form of the same model; default ``model``
    itself): a :func:`micro_flatbuffer` model does not load in LiteRT."""
    from ai_edge_litert.interpreter import Interpreter

    ref = Interpreter(model_content=like if like is not None else model)
    inp = ref.get_input_details()[0]
    scale, zp = inp["quantization"]
    n_out = len(_micro_outputs(ref))  # a model's probabilities come last: TFLM's rewrite drops them
    it = _runtime().Interpreter.from_bytes(model, arena_size=PROBE_ARENA_BYTES)
    rows = []
    for w in np.asarray(windows, np.float32):
        it.set_input(_quantize_input(w[None], inp["dtype"], scale, zp), 0)
        it.invoke()
        rows.append(np.concatenate([np.asarray(it.get_output(i)).ravel() for i in range(n_out)]))
    return np.array(rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m mujo_edge.export.tflm BUNDLE --data DIR [--out OUT]``: :func:`slim_bundle` proven on the
    bundle's own held-out windows (the dataset at DIR, the manifest's verification subjects, calibrated
    with the bundle's PIT table when it has one)."""
    import argparse

    from mujo_edge.bundle import Bundle
    from mujo_edge.training.data.format import Dataset

    ap = argparse.ArgumentParser(description=(main.__doc__ or "").split("\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--data", required=True, help="the dataset the bundle was verified on")
    ap.add_argument("--out", help="where to write (default: over BUNDLE)")
    args = ap.parse_args(argv)
    bundle = Bundle.open(args.bundle)
    data = (bundle.manifest.get("verification") or {}).get("data") or {}
    subjects = data.get("verification_subjects")
    if not subjects:
        raise ExportError(f"{args.bundle} records no verification subjects; its held-out windows are unknown")
    ds = Dataset.open(args.data)
    if data.get("content_hash") not in (None, ds.manifest.get("content_hash")):
        raise ExportError(
            f"{args.data} is not the dataset {args.bundle} was verified on (content hash differs)"
        )
    windows = np.asarray(ds.acc[np.isin(ds.subject, subjects)], np.float32)
    cal = bundle.calibration
    if cal is not None:
        windows = cal.apply(windows)
    slim_bundle(args.bundle, args.out or args.bundle, windows)  # the manifest records what it did
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
