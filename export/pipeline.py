"""``mujo-edge export``: student -> int8 (or float32) LiteRT + ExecuTorch models -> verified -> ``.mujo``.

Steps: load the STUDENT folder; fold BatchNorm; pick representative calibration windows from the teacher's
training subjects and held-out windows from its test subjects (both through the student's PIT table when it
has one); quantize and convert per format; run every converted model in its real runtime through
:mod:`mujo_edge.runners` and compare with the float student; write the bundle only when every model agrees
with the float student on at least ``min_agreement`` of the held-out windows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mujo_edge import _checks
from mujo_edge.bundle import MODEL_FORMATS, Bundle, ModelEntry, TensorSpec
from mujo_edge.constants import PROBABILITIES
from mujo_edge.errors import ArtifactError, ConfigError, DataError, ExportError, ShapeError
from mujo_edge.export.bundle_writer import ModelFile, write_bundle
from mujo_edge.export.quantize import EQUALIZE_STRENGTH
from mujo_edge.export.rounding import ADAROUND_ITERATIONS
from mujo_edge.export.verify import Verification, tensor_dict, verify
from mujo_edge.runners import Runner, runner_for

log = logging.getLogger(__name__)

FORMATS = MODEL_FORMATS
#: File name pattern per (format, int8): names say what they hold, as ExecuTorch's examples do.
FILE_NAMES = {
    ("tflite", True): "{name}_litert_int8.tflite",
    ("tflite", False): "{name}_litert_fp32.tflite",
    ("executorch", True): "{name}_xnnpack_q8.pte",
    ("executorch", False): "{name}_xnnpack_fp32.pte",
}
OUTPUT_NAMES = ("logits", "embedding")
#: Weight rounding of int8 exports: "adaround" (export/rounding.py) or PT2E's round-to-nearest.
ROUNDINGS = ("adaround", "nearest")
#: Training windows adaptive rounding draws from by default (all of them in the seglearn data's 3,193).
ROUNDING_WINDOWS = 4096
#: Windows per call of the batch variant exported next to each batch-1 model (0: none). A gateway's
#: pipeline gathers the ready windows of all its devices; 64 keeps the variant's activations small.
EXPORT_BATCH = 64
#: Batch variant file names: the batch-1 name with ``_b{batch}`` before the suffix.
BATCH_SUFFIX = "_b{batch}"


def batch_filename(filename: str, batch: int) -> str:
    """``student_xnnpack_q8.pte`` -> ``student_xnnpack_q8_b64.pte``."""
    stem, dot, ext = filename.rpartition(".")
    return f"{stem}{BATCH_SUFFIX.format(batch=batch)}{dot}{ext}"


@dataclass
class ExportData:
    """Windows for calibration (BCW, model layout) and verification (toolkit layout, with labels)."""

    calib_bcw: np.ndarray  # (K, 3, WINDOW) float32 g, after PIT
    test_g: np.ndarray  # (N, WINDOW, 3) float32 g, after PIT
    test_label: np.ndarray  # (N,) int64
    info: dict[str, Any] = field(default_factory=dict)
    #: Training windows for adaptive weight rounding (BCW, after PIT); None: use ``calib_bcw``.
    rounding_bcw: np.ndarray | None = None


@dataclass
class ExportedModel:
    file: ModelFile
    verification: Verification
    seconds: float


@dataclass
class ExportReport:
    models: list[ExportedModel]
    min_agreement: float
    int8: bool

    def agreements(self) -> list[tuple[str, float]]:
        """(file name, top-1 agreement with the float student) of every model, batch variants included."""
        out = []
        for m in self.models:
            out.append((m.file.filename, m.verification.agreement))
            if m.file.batch is not None:
                out.append((m.file.batch.filename, float(m.file.batch.info["verification"]["agreement"])))
        return out

    @property
    def passed(self) -> bool:
        return all(a >= self.min_agreement for _, a in self.agreements())

    def failures(self) -> list[str]:
        return [
            f"{name}: top-1 agreement {a:.4f} < {self.min_agreement}"
            for name, a in self.agreements()
            if a < self.min_agreement
        ]


#: What to pass where a student manifest belongs.
_MANIFEST_FIX = "pass the manifest load_student(folder) returns (its second value)"


def _student_manifest(student_manifest: Any) -> dict[str, Any]:
    """``student_manifest`` when it is a mapping with the keys export reads (``window``, ``labels``,
    ``splits`` with ``train`` and ``test`` subject ids); ConfigError for another object (a path, None),
    ArtifactError naming the key for a manifest that lacks one or holds the wrong type."""
    m = _checks.mapping(student_manifest, "the student manifest", _MANIFEST_FIX)
    missing = [k for k in ("window", "labels", "splits") if k not in m]
    if missing:
        raise ArtifactError(f"the student manifest has no {missing}: {_MANIFEST_FIX}")
    _checks.count(m["window"], "the student manifest's window", 1, _MANIFEST_FIX, ArtifactError)
    _checks.names(m["labels"], "the student manifest's labels", _MANIFEST_FIX, ArtifactError)
    splits = _checks.mapping(m["splits"], "the student manifest's splits", _MANIFEST_FIX, ArtifactError)
    for part in ("train", "test", "val"):
        if part in splits or part != "val":
            _checks.ids(
                splits.get(part), f"the student manifest's splits[{part!r}]", _MANIFEST_FIX, ArtifactError
            )
    if not isinstance(m.get("data", {}), Mapping):
        raise ArtifactError(
            f"the student manifest's data must be a dict, got {m['data']!r:.60}: {_MANIFEST_FIX}"
        )
    return m


def student_dataset(student_manifest: dict[str, Any], path: str | Path) -> Any:
    """The dataset at ``path``, opened and checked to be one the student can be exported with: its windows
    the student's length and its labels the student's classes in the student's order (a dataset with other
    labels, or the same in another order, would verify and fit the open-set test against the wrong
    classes). DataError naming both otherwise."""
    from mujo_edge.training.data.format import Dataset

    student_manifest = _student_manifest(student_manifest)
    ds = Dataset.open(path)
    if ds.acc.shape[1] != student_manifest["window"]:
        raise DataError(
            f"{path}: windows have {ds.acc.shape[1]} samples, the student takes {student_manifest['window']}; "
            "pass --data with the dataset the student was distilled on"
        )
    if list(ds.labels) != list(student_manifest["labels"]):
        raise DataError(
            f"{path} has labels {list(ds.labels)} but the student predicts {list(student_manifest['labels'])} "
            "(in that order); pass --data with the dataset the student was distilled on"
        )
    return ds


def export_data(
    student_manifest: dict[str, Any],
    data_dir: str | Path | None,
    calib_windows: int = 512,
    seed: int = 0,
    rounding_windows: int = ROUNDING_WINDOWS,
) -> ExportData:
    """Calibration windows from the training subjects and held-out windows from the test subjects.

    Activation ranges are calibrated on ``calib_windows`` training windows; adaptive weight rounding, which
    fits one rounding choice per weight, sees up to ``rounding_windows`` of them (0: none are drawn).
    """
    from mujo_edge.training.distill import apply_calibration

    student_manifest = _student_manifest(student_manifest)
    calib_windows = _checks.count(calib_windows, "calib_windows", 1, "pass how many windows calibrate int8")
    rounding_windows = _checks.count(
        rounding_windows, "rounding_windows", 0, "pass how many windows adaptive rounding sees (0: none)"
    )
    seed = _checks.count(seed, "seed", 0, "pass a whole-number seed")
    path = data_dir or student_manifest.get("data", {}).get("path")
    if not path:
        raise DataError(
            "export needs representative windows for int8 calibration and held-out windows for verification; "
            "pass --data DIR (the dataset the student was distilled on)."
        )
    ds = student_dataset(student_manifest, path)
    splits = student_manifest["splits"]
    subject = np.asarray(ds.subject)
    train = np.flatnonzero(np.isin(subject, splits["train"]))
    test = np.flatnonzero(np.isin(subject, splits["test"]))
    if len(train) == 0 or len(test) == 0:
        raise DataError(
            f"{path} has no windows of the student's training subjects {splits['train']} or test subjects "
            f"{splits['test']}; pass the dataset the student was distilled on."
        )
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(train, size=min(calib_windows, len(train)), replace=False))
    table = student_manifest.get("calibration")

    def bcw(idx: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(apply_calibration(np.asarray(ds.acc[idx]), table).transpose(0, 2, 1))

    rounding = None
    if rounding_windows > 0:
        rounding = np.sort(rng.choice(train, size=min(rounding_windows, len(train)), replace=False))
    test_g = apply_calibration(np.asarray(ds.acc[test]), table)
    return ExportData(
        calib_bcw=bcw(pick),
        test_g=test_g,
        test_label=np.asarray(ds.label[test], np.int64),
        rounding_bcw=None if rounding is None else bcw(rounding),
        info={
            "path": str(path),
            "content_hash": ds.manifest.get("content_hash"),
            "calibration_windows": len(pick),
            "rounding_windows": 0 if rounding is None else len(rounding),
            "calibration_subjects": list(splits["train"]),
            "verification_windows": len(test),
            "verification_subjects": list(splits["test"]),
        },
    )


def _float_outputs(model: torch.nn.Module, windows_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(windows_g.transpose(0, 2, 1), np.float32))
        logits, emb = model(x)
    return logits.numpy(), emb.numpy()


def _tflite_entry(
    data: bytes, example_g: np.ndarray, float_out: Sequence[np.ndarray], int8: bool
) -> ModelEntry:
    """Describe a converted .tflite: its I/O quantization, and which output is logits vs embedding.

    litert-torch may reorder outputs, so each is matched to the float output it reproduces best, on the
    first ``rows`` windows (the model's batch; ``example_g`` holds at least that many).
    """
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=data, num_threads=1)
    it.allocate_tensors()
    inp = it.get_input_details()[0]

    def spec(d: dict[str, Any], name: str, pos: int) -> TensorSpec:
        scale, zp = d["quantization"]
        q = bool(scale)
        return TensorSpec(
            name=name,
            shape=tuple(int(s) for s in d["shape"]),
            dtype=np.dtype(d["dtype"]).name,
            position=pos,
            scale=float(scale) if q else None,
            zero_point=int(zp) if q else None,
        )

    rows = int(inp["shape"][0])
    layout = "BWC" if tuple(inp["shape"][1:]) == example_g.shape[1:] else "BCW"
    x = _in_layout(example_g[:rows], layout)
    scale, zp = inp["quantization"]
    if scale:
        x = np.clip(np.round(x / scale) + zp, -128, 127).astype(inp["dtype"])
    it.set_tensor(inp["index"], np.ascontiguousarray(x, dtype=inp["dtype"]))
    it.invoke()
    outs = it.get_output_details()
    specs: list[TensorSpec] = []
    taken: set[int] = set()
    for name, ref in zip(OUTPUT_NAMES, float_out, strict=True):
        best, best_err = None, np.inf
        for pos, d in enumerate(outs):
            if pos in taken or tuple(d["shape"]) != ref[:rows].shape or d["name"] == PROBABILITIES:
                continue
            s = spec(d, name, pos)
            v = it.get_tensor(d["index"]).astype(np.float32)
            if s.scale is not None:
                v = (v - s.zero_point) * s.scale
            err = float(np.abs(v - ref[:rows]).max())
            if err < best_err:
                best, best_err = s, err
        if best is None:
            raise ExportError(f"the converted .tflite has no output of shape {ref[:rows].shape} for {name}")
        taken.add(best.position)
        specs.append(best)
    specs += [spec(d, PROBABILITIES, pos) for pos, d in enumerate(outs) if d["name"] == PROBABILITIES]
    return ModelEntry(
        format="tflite",
        file="",
        dtype="int8" if int8 else "float32",
        input_layout=layout,
        inputs=(spec(inp, "acc", 0),),
        outputs=tuple(specs),
        info={},
    )


def _in_layout(windows_g: np.ndarray, layout: str) -> np.ndarray:
    """(N, WINDOW, 3) windows in a model's input layout (``BCW``: transposed)."""
    return np.ascontiguousarray(windows_g.transpose(0, 2, 1) if layout == "BCW" else windows_g)


def _pte_entry(float_out: Sequence[np.ndarray], int8: bool, window: int, rows: int = 1) -> ModelEntry:
    """The XNNPACK program takes and returns float32 (its quantize/dequantize ops run inside the delegate);
    ``rows`` windows per call."""
    return ModelEntry(
        format="executorch",
        file="",
        dtype="int8" if int8 else "float32",
        input_layout="BCW",
        inputs=(TensorSpec(name="acc", shape=(rows, 3, window), dtype="float32", position=0),),
        outputs=tuple(
            TensorSpec(name=n, shape=(rows, int(o.shape[1])), dtype="float32", position=i)
            for i, (n, o) in enumerate(zip(OUTPUT_NAMES, float_out, strict=True))
        ),
        info={},
    )


def export_models(
    student: torch.nn.Module,
    labels: list[str],
    window: int,
    data: ExportData,
    formats: Sequence[str] = FORMATS,
    int8: bool = True,
    min_agreement: float = 0.99,
    name: str = "student",
    on_step: Callable[[str], None] | None = None,
    equalize: float | None = EQUALIZE_STRENGTH,
    rounding: str = "adaround",
    rounding_iterations: int = ADAROUND_ITERATIONS,
    float_stem: bool = True,
    batch: int = EXPORT_BATCH,
    per_tensor_weights: str = "none",
) -> ExportReport:
    """Convert ``student`` (a :class:`~mujo_edge.training.distill.Student`) per format and verify each.

    With ``int8``, the quantized models are made from the student after
    :func:`~mujo_edge.export.quantize.equalize_activations` at strength ``equalize`` (unless None) and, with
    ``rounding="adaround"``, :func:`~mujo_edge.export.rounding.round_weights` on ``data.rounding_bcw``;
    with ``float_stem`` the first conv and its ReLU stay float32 (the model takes the float window);
    ``per_tensor_weights`` (:data:`~mujo_edge.constants.PER_TENSOR_CHOICES`) names the layers whose int8
    weights get one scale per tensor instead of one per channel (smaller files, coarser weights).
    With ``batch`` > 1 each format also gets a batch variant of ``batch`` windows per call, converted from
    the same quantized module; it must give every verification window bit for bit the batch-1 model's
    outputs (ExportError otherwise) and is verified against the float student too. Verification always
    compares with the original float student.
    """
    from mujo_edge.export.executorch import to_pte
    from mujo_edge.export.quantize import equalize_activations, per_tensor_modules, stem_modules
    from mujo_edge.export.rounding import round_weights
    from mujo_edge.export.tflite import op_summary, to_tflite
    from mujo_edge.export.tflite_slim import window_major, with_probabilities
    from mujo_edge.export.tflm import check_probabilities, check_tflm, tflm_available

    if not _checks.is_whole(batch) or batch < 0 or batch == 1:
        raise ExportError(
            f"the batch variant needs a batch of at least 2 windows (0: none), got {type(batch).__name__} {batch!r}"
        )
    batches: tuple[int, ...] = (1, batch) if batch else (1,)
    formats = _checks.names(formats, "formats", f"choose some of {list(FORMATS)}", ExportError)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown formats {unknown}; choose from {list(FORMATS)}")
    if rounding not in ROUNDINGS:
        raise ExportError(f"unknown weight rounding {rounding!r}; choose from {list(ROUNDINGS)}")
    student, labels, window, data = _export_inputs(student, labels, window, data)
    for what, flag in (("int8", int8), ("float_stem", float_stem)):
        if not isinstance(flag, bool):
            raise ExportError(f"{what} must be True or False, got {type(flag).__name__} {flag!r}")
    min_agreement = _checks.number(
        min_agreement,
        "min_agreement",
        0.0,
        1.0,
        above_lo=False,
        fix="pass a fraction such as 0.99",
        error=ExportError,
    )
    name = _checks.text(name, "name", "pass the file name stem, e.g. 'student'", ExportError)
    if not name or any(c in name for c in '/\\:*?"<>|') or name in (".", ".."):
        raise ExportError(f"name {name!r} names the model files: use letters, digits, '-' or '_'")
    if on_step is not None and not callable(on_step):
        raise ExportError(f"on_step must be a function of one str or None, got {type(on_step).__name__}")
    if equalize is not None and not (_checks.is_number(equalize) and 0.0 <= equalize <= 1.0):
        raise ExportError(
            f"equalize must be None or a strength in [0, 1], got {type(equalize).__name__} {equalize!r}"
        )
    rounding_iterations = _checks.count(
        rounding_iterations, "rounding_iterations", 1, "pass optimizer steps per layer", ExportError
    )
    torch.manual_seed(0)
    model = student.fused() if hasattr(student, "fused") else student.eval()  # type: ignore[operator]
    example = torch.from_numpy(np.ascontiguousarray(data.calib_bcw[:1]))
    calib = data.calib_bcw if int8 else None
    float_logits, float_emb = _float_outputs(model, data.test_g)
    float_modules = stem_modules(model) if int8 and float_stem else ()
    per_tensor = per_tensor_modules(model, per_tensor_weights, float_modules) if int8 else ()
    source, equalization, rounded = model, None, None
    if int8 and equalize is not None:
        source, equalization = equalize_activations(model, data.calib_bcw, equalize)
    if int8 and rounding == "adaround" and formats:
        if on_step:
            on_step("int8: adaptive weight rounding (AdaRound)")
        windows = data.rounding_bcw if data.rounding_bcw is not None else data.calib_bcw
        # Both back ends' quantizers place the same activation quantization; ask the first one.
        source, rounded = round_weights(
            source,
            windows,
            formats[0],
            ranges_bcw=data.calib_bcw,
            iterations=rounding_iterations,
            float_modules=float_modules,
            per_tensor=per_tensor,
        )
    models: list[ExportedModel] = []
    for fmt in formats:
        t0 = time.perf_counter()
        if on_step:
            on_step(f"{fmt}: {'int8 PT2E quantization and ' if int8 else ''}conversion")
        micro = None
        variants: list[tuple[bytes, ModelEntry, dict[str, Any]]] = []
        proofs: list[dict[str, Any]] = []  # check_probabilities' record of each .tflite variant
        if fmt == "tflite":
            # the window as it arrives, (B, W, 3): the runner copies it in without a layout change
            blobs = [
                window_major(b) or b
                for b in to_tflite(source, example, calib, float_modules, batches, per_tensor)
            ]
            idx = _full_batch(len(data.test_g), batches[-1])
            probe_out = [o if o is None else o[idx] for o in (float_logits, float_emb)]
            for b in blobs:
                # the class probabilities as one more output, computed by the runtime, proven on the
                # held-out windows (the other outputs' bits unchanged, the softmax within PROBABILITIES_RTOL)
                plain = _tflite_entry(b, data.test_g[idx], probe_out, int8)
                logits_at = plain.outputs[0].position
                with_p = with_probabilities(b, logits_at)
                x_model = _in_layout(data.test_g, plain.input_layout)
                proofs.append(check_probabilities(with_p, b, x_model, logits_at)[0])
                b = with_p
                variants.append((b, _tflite_entry(b, data.test_g[idx], probe_out, int8), op_summary(b)))
            blob, entry, partitions = variants[0]
            if int8 and tflm_available():  # the watch's runtime: same bits as LiteRT's reference kernels?
                logits_at = entry.outputs[0].position  # _tflite_entry lists logits first
                micro = check_tflm(blob, _in_layout(data.test_g, entry.input_layout), logits_at).to_dict()
        else:
            for (b, info), rows in zip(
                to_pte(source, example, calib, float_modules, batches, per_tensor), batches, strict=True
            ):
                variants.append((b, _pte_entry((float_logits, float_emb), int8, window, rows), info))
            blob, entry, partitions = variants[0]
        seconds = time.perf_counter() - t0
        if on_step:
            on_step(f"{fmt}: verifying in the real runtime on {len(data.test_g)} held-out windows")
        runner = runner_for(entry, blob, labels, window)
        ver = verify(runner, data.test_g, data.test_label, float_logits, float_emb)
        filename = FILE_NAMES[(fmt, int8)].format(name=name)
        batch_file = None
        if len(variants) > 1:
            b_blob, b_entry, b_partitions = variants[1]
            b_ver, b_diff = _verify_batch(
                runner, entry, b_entry, blob, b_blob, labels, window, data, float_logits, float_emb
            )
            batch_file = ModelFile(
                format=fmt,
                filename=batch_filename(filename, batches[1]),
                data=b_blob,
                dtype=b_entry.dtype,
                input_layout=b_entry.input_layout,
                inputs=[tensor_dict(s) for s in b_entry.inputs],
                outputs=[tensor_dict(s) for s in b_entry.outputs],
                info={
                    "partitions": b_partitions,
                    **({"probabilities": proofs[1]} if proofs else {}),
                    "verification": b_ver.to_dict(),
                    "max_abs_difference_to_batch_1": b_diff,
                },
            )
            if not b_partitions.get("whole_model_in_one_partition"):
                log.warning("%s is not one XNNPACK partition: %s", batch_file.filename, b_partitions)
        mf = ModelFile(
            format=fmt,
            filename=filename,
            data=blob,
            dtype=entry.dtype,
            input_layout=entry.input_layout,
            inputs=[tensor_dict(s) for s in entry.inputs],
            outputs=[tensor_dict(s) for s in entry.outputs],
            info={
                "runtime": "ai-edge-litert Interpreter"
                if fmt == "tflite"
                else "executorch.runtime (XNNPACK)",
                "quantization": _quantization_text(float_modules, per_tensor) if int8 else "none (float32)",
                "float_modules": list(float_modules),
                "per_tensor_weights": list(per_tensor),
                "equalization": equalization,
                "weight_rounding": rounded if int8 and rounded else ("nearest" if int8 else None),
                "partitions": partitions,
                **({"probabilities": proofs[0]} if proofs else {}),
                "verification": ver.to_dict(),
                **({"tflm": micro} if micro else {}),
            },
            batch=batch_file,
        )
        if not partitions.get("whole_model_in_one_partition"):
            log.warning("%s is not one XNNPACK partition: %s", filename, partitions)
        models.append(ExportedModel(file=mf, verification=ver, seconds=seconds))
    return ExportReport(models=models, min_agreement=min_agreement, int8=int8)


def _export_inputs(
    student: Any, labels: Any, window: Any, data: Any
) -> tuple[torch.nn.Module, list[str], int, ExportData]:
    """export_models' model, labels, window and windows, checked against each other: ExportError /
    ShapeError saying what to pass (the loaded student, its labels and window, export_data's windows)."""
    from mujo_edge.export.quantize import checked_module, checked_windows

    student = checked_module(student, "export_models: student")
    labels = _checks.names(labels, "labels", "pass the student manifest's labels", ExportError)
    window = _checks.count(window, "window", 1, "pass the student manifest's window", ExportError)
    if not isinstance(data, ExportData):
        raise ExportError(
            f"export_models needs the export windows, got {type(data).__name__} {data!r:.60}: pass "
            "export_data(manifest, data_dir)"
        )
    calib = checked_windows(data.calib_bcw, "data.calib_bcw")
    rounding = None if data.rounding_bcw is None else checked_windows(data.rounding_bcw, "data.rounding_bcw")
    test_g = _checks.real_array(data.test_g, np.dtype(np.float32), "data.test_g")
    test_label = _checks.real_array(data.test_label, np.dtype(np.int64), "data.test_label")
    shape = (window, 3)
    if (
        calib.shape[2:] != (window,)
        or (rounding is not None and rounding.shape[2:] != (window,))
        or test_g.ndim != 3
        or test_g.shape[1:] != shape
        or len(test_g) == 0
        or not np.isfinite(test_g).all()
        or test_label.shape != test_g.shape[:1]
    ):
        raise ShapeError(
            f"export windows must be (K, 3, {window}) calibration windows and finite (N >= 1, {window}, 3) "
            f"held-out windows with (N,) labels, got {calib.shape}, {test_g.shape} and {test_label.shape}: "
            "pass export_data(manifest, data_dir) of this student"
        )
    data = replace(
        data,
        calib_bcw=calib,
        rounding_bcw=rounding,
        test_g=np.ascontiguousarray(test_g),
        test_label=test_label,
    )
    probe = torch.from_numpy(np.ascontiguousarray(test_g[:1].transpose(0, 2, 1)))
    try:
        with torch.no_grad():
            out = student.eval()(probe)
    except (RuntimeError, TypeError, ValueError) as e:
        raise ExportError(
            f"the student does not take a (1, 3, {window}) window ({e}): pass the student load_student returns"
        ) from None
    n_out = int(out[0].shape[-1]) if isinstance(out, tuple | list) and len(out) == 2 else -1
    if n_out != len(labels):
        raise ExportError(
            f"labels names {len(labels)} classes but the student gives {n_out} logits (and must return "
            "(logits, embedding)): pass the student's own manifest labels"
        )
    return student, labels, window, data


def _quantization_text(float_modules: Sequence[str], per_tensor: Sequence[str]) -> str:
    """The manifest's one-line description of an int8 model's quantization."""
    weights = "symmetric weights, a scale per output channel"
    if per_tensor:
        weights += f" (one per tensor: {', '.join(per_tensor)})"
    text = f"PT2E static int8: {weights}, per-tensor activations"
    return text + (f"; float32: {', '.join(float_modules)} (the stem)" if float_modules else "")


def _full_batch(n: int, rows: int) -> np.ndarray:
    """Indices of ``n`` held-out windows, repeated in order up to at least ``rows``: with fewer held-out
    windows than the batch variant takes, its conversion and its equality check still see whole batches."""
    return np.resize(np.arange(n), max(n, rows))


def _verify_batch(
    single: Runner,
    entry: ModelEntry,
    batch_entry: ModelEntry,
    blob: bytes,
    batch_blob: bytes,
    labels: list[str],
    window: int,
    data: ExportData,
    float_logits: np.ndarray,
    float_emb: np.ndarray,
) -> tuple[Verification, float]:
    """Run the batch variant (through a runner that uses it for every full or padded batch) on the
    held-out windows: its verification against the float student, and the largest difference of its
    outputs to the batch-1 model's. ExportError unless that difference is 0: both are converted from one
    quantized module, so a window must not depend on the batch it is classified in."""
    batched = runner_for(replace(entry, batch=batch_entry), blob, labels, window, 1, batch_blob)
    ver = verify(batched, data.test_g, data.test_label, float_logits, float_emb)
    probe = data.test_g[_full_batch(len(data.test_g), batch_entry.rows)]  # at least one whole batch
    one = single.run(probe, embedding=True)
    many = batched.run(probe, embedding=True)
    diff = max(
        float(np.abs(a - b).max()) for a, b in zip(one, many, strict=True) if a is not None and b is not None
    )
    if diff != 0.0:
        raise ExportError(
            f"the batch-{batch_entry.rows} {entry.format} model gives outputs up to {diff:g} away from the "
            "batch-1 model's on the same windows; both come from one quantized module, so they must be "
            "equal. Export with --no-batch and report the converter versions."
        )
    return ver, diff


def write_export_bundle(
    out: str | Path,
    report: ExportReport,
    student_manifest: dict[str, Any],
    data: ExportData,
    label_embeddings: np.ndarray | None,
    name: str = "mujo-student",
) -> Bundle:
    """Write the verified models into a bundle (refuses when verification failed)."""
    _checks.path(out, "write_export_bundle: out")
    if not isinstance(report, ExportReport):
        raise ExportError(
            f"write_export_bundle needs export_models' report, got {type(report).__name__} {report!r:.60}"
        )
    if not report.passed:
        raise ExportError(
            "verification failed, no bundle written: " + "; ".join(report.failures()) + ". Calibrate on more "
            "windows (--calib-windows), export float32 (drop --int8), or lower --min-agreement knowingly."
        )
    student_manifest = _student_manifest(student_manifest)
    if not isinstance(data, ExportData):
        raise ExportError(
            f"write_export_bundle needs the export windows, got {type(data).__name__}: pass export_data's result"
        )
    missing = [k for k in ("rate_hz", "hop", "model") if k not in student_manifest]
    if missing:
        raise ArtifactError(f"the student manifest has no {missing}: {_MANIFEST_FIX}")
    metrics = student_manifest.get("metrics", {})
    return write_bundle(
        out,
        name=name,
        labels=student_manifest["labels"],
        models=[m.file for m in report.models],
        rate_hz=float(student_manifest["rate_hz"]),
        window=int(student_manifest["window"]),
        hop=int(student_manifest["hop"]),
        calibration=student_manifest.get("calibration"),
        label_embeddings=label_embeddings,
        label_embedding_info={
            "space": "student embedding (D) = W^T of the teacher joint space; rank labels by "
            "dot(normalize(runner.embed(window)), row)"
        },
        student={
            "model": student_manifest["model"],
            "weights_sha256": student_manifest.get("weights", {}).get("sha256"),
            "params": metrics.get("student_params"),
            "test_macro_f1": metrics.get("student_test_macro_f1"),
            "splits": student_manifest.get("splits"),
            "distill": student_manifest.get("distill"),
            "provenance": student_manifest.get("provenance"),
        },
        teacher={
            **student_manifest.get("teacher", {}),
            "test_macro_f1": metrics.get("teacher_test_macro_f1"),
        },
        verification={
            "data": data.info,
            "min_agreement": report.min_agreement,
            "models": {m.file.filename: m.verification.to_dict() for m in report.models},
        },
    )


# --- open-set test and heads from words (numpy on the exported model's own outputs) ----------------------
@dataclass
class LabelledWindows:
    """Windows of the student's dataset by part, after its PIT table: (N, WINDOW, 3) g and (N,) labels."""

    train_g: np.ndarray
    train_label: np.ndarray
    val_g: np.ndarray
    val_label: np.ndarray
    info: dict[str, Any]


def open_set_windows(
    student_manifest: dict[str, Any], data_dir: str | Path | None, max_train: int = 4096, seed: int = 0
) -> LabelledWindows:
    """Training windows (class means and covariance of the open-set test; at most ``max_train``, drawn per
    seed) and validation windows (its threshold) of the student's own subjects. Raises DataError when the
    student has no validation subjects: the threshold must not be chosen on training or test windows."""
    from mujo_edge.training.distill import apply_calibration

    student_manifest = _student_manifest(student_manifest)
    max_train = _checks.count(max_train, "max_train", 1, "pass how many training windows to draw at most")
    seed = _checks.count(seed, "seed", 0, "pass a whole-number seed")
    path = data_dir or student_manifest.get("data", {}).get("path")
    if not path:
        raise DataError("the open-set test needs the student's dataset; pass --data DIR")
    ds = student_dataset(student_manifest, path)
    splits = student_manifest["splits"]
    if not splits.get("val"):
        raise DataError(
            "the student has no validation subjects, so the open-set threshold cannot be chosen honestly; "
            "distill with --val-subjects, or export with --no-open-set"
        )
    subject = np.asarray(ds.subject)
    train = np.flatnonzero(np.isin(subject, splits["train"]))
    val = np.flatnonzero(np.isin(subject, splits["val"]))
    rng = np.random.default_rng(seed)
    if len(train) > max_train:
        train = np.sort(rng.choice(train, max_train, replace=False))
    table = student_manifest.get("calibration")
    label = np.asarray(ds.label, np.int64)
    return LabelledWindows(
        train_g=apply_calibration(np.asarray(ds.acc[train]), table),
        train_label=label[train],
        val_g=apply_calibration(np.asarray(ds.acc[val]), table),
        val_label=label[val],
        info={
            "data": str(path),
            "content_hash": ds.manifest.get("content_hash"),
            "means_and_covariance_subjects": list(splits["train"]),
            "means_and_covariance_windows": len(train),
            "threshold_subjects": list(splits["val"]),
            "threshold_windows": len(val),
        },
    )


def _opened(bundle: Any, what: str) -> Bundle:
    """``bundle`` when it is an opened :class:`Bundle`; ConfigError otherwise (a path, None)."""
    if not isinstance(bundle, Bundle):
        raise ConfigError(
            f"{what} needs an opened bundle, got {type(bundle).__name__} {bundle!r:.60}: pass Bundle.open(path)"
        )
    return bundle


def _windows_for(bundle: Bundle, windows: Any, what: str) -> LabelledWindows:
    """``windows`` checked against ``bundle``: a :class:`LabelledWindows` of finite (N, WINDOW, 3) windows
    with (N,) labels among the bundle model's classes; ConfigError / ShapeError saying what to pass."""
    if not isinstance(windows, LabelledWindows):
        raise ConfigError(
            f"{what} needs the student's labelled windows, got {type(windows).__name__} {windows!r:.60}: "
            "pass open_set_windows(manifest, data)"
        )
    n_labels = len(bundle.model_labels)
    for part in ("train", "val"):
        g = _checks.real_array(getattr(windows, f"{part}_g"), np.dtype(np.float32), f"windows.{part}_g", True)
        y = _checks.real_array(getattr(windows, f"{part}_label"), np.dtype(np.int64), f"windows.{part}_label")
        if g.ndim != 3 or g.shape[1:] != (bundle.window, 3) or len(g) == 0 or not np.isfinite(g).all():
            raise ShapeError(
                f"windows.{part}_g must be finite (N >= 1, {bundle.window}, 3) windows in g, got shape {g.shape}"
                + (" with NaN or inf" if g.ndim == 3 and g.shape[1:] == (bundle.window, 3) and len(g) else "")
                + ": pass open_set_windows(manifest, data) of the bundle's student"
            )
        if y.shape != (len(g),) or not (int(y.min()) >= 0 and int(y.max()) < n_labels):
            raise ShapeError(
                f"windows.{part}_label must be ({len(g)},) label indices in [0, {n_labels}), got shape {y.shape}: "
                "pass one label of the bundle's model per window"
            )
    return windows


def _embed(bundle: Bundle, windows_g: np.ndarray) -> np.ndarray:
    """The bundle model's (N, D) embeddings, as the device computes them (best installed runtime)."""
    emb = bundle.runner().run(windows_g, embedding=True)[1]
    if emb is None:
        raise ExportError(f"{bundle.path}: the model exports no embedding; no open-set test or words head")
    return emb


def add_open_set(
    bundle: Bundle,
    out: str | Path,
    windows: LabelledWindows,
    keep: float,
    kind: str = "mahalanobis",
    per_class: int = 1,
    seed: int = 0,
    reject: Sequence[str] = (),
    stats_weight: float | None = None,
) -> Bundle:
    """``bundle`` re-written at ``out`` with an open-set test on its own model's embeddings, fitted on the
    training windows (``mahalanobis``: class means and shared covariance; ``cosine``: ``per_class`` unit
    prototypes per class; ``euclidean``: ``per_class`` k-means centres per class of the head vectors),
    the threshold keeping ``keep`` of the validation windows known (:func:`mujo_edge.heads.with_open_set`).
    ``reject``: labels meaning "none of these" (their windows are left out of the prototypes and the
    threshold; a window they win is unknown). ``stats_weight``: the head carries the windows' statistics
    (:class:`mujo_edge.heads.StatsSpace`, standardized on the training windows) with this weight, which
    heads taught on the bundle read, and a ``euclidean`` test too."""
    from mujo_edge.heads import OPEN_SET_KINDS, Head, StatsSpace, with_open_set

    bundle = _opened(bundle, "add_open_set")
    _checks.path(out, "add_open_set: out")
    windows = _windows_for(bundle, windows, "add_open_set")
    keep = _checks.number(keep, "keep", 0.0, 1.0, fix="the fraction of known windows to accept")
    if _checks.text(kind, "kind", f"choose one of {list(OPEN_SET_KINDS)}") not in OPEN_SET_KINDS:
        raise ConfigError(f"kind must be one of {list(OPEN_SET_KINDS)}, got {kind!r}")
    per_class = _checks.count(per_class, "per_class", 1, "pass prototypes per class")
    seed = _checks.count(seed, "seed", 0, "pass a whole-number seed")
    reject = _checks.names(reject, "reject", "pass a list of the bundle's label names (or ())")
    unknown = [r for r in reject if r not in bundle.model_labels]
    if unknown:
        raise ConfigError(f"reject names {unknown}, which are not the bundle's labels {bundle.model_labels}")
    if stats_weight is not None:
        stats_weight = _checks.number(stats_weight, "stats_weight", 0.0, fix="pass a weight > 0 or None")
    if bundle.head.kind != "logits":
        raise ExportError("the open-set test is fitted on a bundle whose head is its model's logits")
    stats = None if stats_weight is None else StatsSpace.fit(windows.train_g, stats_weight)
    head = with_open_set(
        Head("logits", bundle.model_labels),
        _embed(bundle, windows.train_g),
        windows.train_label,
        _embed(bundle, windows.val_g),
        keep=keep,
        kind=kind,
        per_class=per_class,
        seed=seed,
        val_y=windows.val_label,
        reject=list(reject),
        stats=stats,
        train_windows=windows.train_g,
        val_windows=windows.val_g,
    )
    from mujo_edge.bundle import calibration_target_entry

    # a label with fewer training windows than per_class keeps each window: record what the bundle holds
    counts = np.bincount(windows.train_label, minlength=len(bundle.model_labels))
    kept = [i for i, lab in enumerate(bundle.model_labels) if lab not in set(reject)]
    held = int(min(per_class, counts[kept].max())) if kept else per_class
    return bundle.derive(
        out,
        head=head,
        open_set_info={"keep_known": keep, "prototypes_per_class": held, "chosen_on": windows.info},
        extra={"calibration_target": calibration_target_entry(windows.train_g)},
    )


def words_bundle(
    bundle: Bundle,
    out: str | Path,
    label_texts: dict[str, list[str]],
    vectors: np.ndarray,
    own_vectors: np.ndarray,
    windows: LabelledWindows,
    keep: float,
) -> Bundle:
    """A bundle whose labels come from words: ``vectors`` (L, D) are the label texts in the student's space
    (:func:`mujo_edge.training.distill.text_label_vectors`), the head is ``scale * cos`` to them and the
    open-set test the largest cosine to them. No labelled windows of these labels exist, so the threshold
    is chosen on the student's own validation windows: the cosine of each to ITS label's text vector
    (``own_vectors``, the student's labels), keeping ``keep`` of them."""
    from mujo_edge.constants import TEXT_HEAD_SCALE
    from mujo_edge.heads import Head, choose_threshold, keep_curve, text_head, unit_rows

    bundle = _opened(bundle, "words_bundle")
    _checks.path(out, "words_bundle: out")
    windows = _windows_for(bundle, windows, "words_bundle")
    keep = _checks.number(keep, "keep", 0.0, 1.0, fix="the fraction of known windows to accept")
    fix = 'map each new label to its phrasings, e.g. {"walk": ["walking"]}'
    texts = _checks.mapping(label_texts, "label_texts", fix)
    if not texts:
        raise ConfigError(f"label_texts names no labels: {fix}")
    for lab, phrasings in texts.items():
        _checks.text(lab, "a label_texts key", fix)
        _checks.names(phrasings, f"label_texts[{lab!r}]", fix)
    vectors = _checks.real_array(vectors, np.dtype(np.float32), "vectors", True)
    own_vectors = _checks.real_array(own_vectors, np.dtype(np.float32), "own_vectors", True)
    dim = vectors.shape[1] if vectors.ndim == 2 else -1
    for what, v, rows in (
        ("vectors", vectors, len(texts)),
        ("own_vectors", own_vectors, len(bundle.model_labels)),
    ):
        if v.shape != (rows, dim) or not np.isfinite(v).all():
            raise ShapeError(
                f"{what} must be finite ({rows}, D) label vectors (D the same for both), got shape {v.shape}: "
                "pass text_label_vectors of the label texts (vectors) and of the student's labels (own_vectors)"
            )
    head = text_head(vectors, list(label_texts))
    e = unit_rows(_embed(bundle, windows.val_g))
    if e.shape[1] != dim:
        raise ShapeError(
            f"vectors have {dim} dimensions but the bundle's model embeds in {e.shape[1]}: pass label vectors "
            "in the student's embedding space (text_label_vectors)"
        )
    own = (e @ np.asarray(own_vectors, np.float32).T)[np.arange(len(e)), windows.val_label]
    thr = choose_threshold(own, keep)
    head = Head(
        "linear",
        head.labels,
        head.weight,
        head.bias,
        prototypes=vectors,
        threshold=thr,
        keep_curve=keep_curve(own, keep),
    )
    return bundle.derive(
        out,
        head=head,
        head_info={
            "source": "label texts",
            "texts": label_texts,
            "scale": TEXT_HEAD_SCALE,
        },
        open_set_info={
            "keep_known": keep,
            "chosen_on": {
                **windows.info,
                "how": "cosine of the student's validation windows to their own label's text vector",
            },
        },
        name="words: " + ", ".join(label_texts),
    )
