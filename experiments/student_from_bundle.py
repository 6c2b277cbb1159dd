"""A float student read back from a bundle's int8 LiteRT model, to re-export a shipped model whose float
student was not kept (with other quantization options, e.g. ``--per-tensor-weights``).

The int8 .tflite holds every weight of the student with BatchNorm folded into the convolutions (and the
cross-layer equalization of its export applied, which leaves the function unchanged): each dequantized
kernel and bias becomes a convolution of a STUDENT folder whose BatchNorm is the identity. The result is the
int8 model's weights in float32 (the float student up to one int8 step per weight), so a re-export
verifies against it, and the script reports how far it agrees with the bundle's own int8 model.

    python experiments/student_from_bundle.py BUNDLE --out STUDENT [--data DATASET]

STUDENT gets ``model.safetensors``, the bundle's ``label_embeddings.npy`` and a manifest from the bundle's
``student`` and ``teacher`` records. The training-only joint map is not in a bundle, so ``export --labels``
(a head from words) cannot use the folder; the bundle's label embeddings are kept as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

CONV_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _dequantized(interp: Any, detail: dict[str, Any]) -> np.ndarray:
    """A constant tensor of the interpreter (its ``get_tensor_details`` entry) in float32: int8/int32
    tensors times their scales."""
    value = np.asarray(interp.get_tensor(detail["index"]))
    q = detail["quantization_parameters"]
    if value.dtype == np.float32 or len(q["scales"]) == 0:
        return value.astype(np.float32)
    scales = np.asarray(q["scales"], np.float64)
    zero = np.asarray(q["zero_points"], np.float64)
    shape = [1] * value.ndim
    if scales.size > 1:
        shape[int(q["quantized_dimension"])] = scales.size
    # (LiteRT's kernels may spread a per-tensor scale over the channels and keep one zero point)
    zero = zero.reshape(shape) if zero.size == scales.size else zero.reshape(-1)[:1]
    return ((value.astype(np.float64) - zero) * scales.reshape(shape)).astype(np.float32)


def tflite_layers(model: bytes) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], dict[str, Any]]:
    """The convolutions in graph order as (op, torch-layout kernel, bias) and the two dense layers by role.

    CONV_2D kernels are (O, 1, K, I) and DEPTHWISE_CONV_2D kernels (1, 1, K, C) over a (1, 1, W, C) input;
    torch's Conv1d wants (O, I, K) and (C, 1, K). The dense layer whose output is dequantized for the
    softmax is the classifier head; the other is the embedding.
    """
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model)
    interp.allocate_tensors()
    ops = interp._get_ops_details()
    details = {d["index"]: d for d in interp.get_tensor_details()}
    convs: list[tuple[str, np.ndarray, np.ndarray]] = []
    dense: list[tuple[int, np.ndarray, np.ndarray]] = []
    for op in ops:
        name = op["op_name"]
        if name not in (*CONV_OPS, "FULLY_CONNECTED"):
            continue
        _, w_index, b_index = (int(i) for i in op["inputs"])
        w, b = _dequantized(interp, details[w_index]), _dequantized(interp, details[b_index])
        if name == "CONV_2D":
            convs.append((name, w[:, 0].transpose(0, 2, 1).copy(), b))
        elif name == "DEPTHWISE_CONV_2D":
            convs.append((name, w[0, 0].T[:, None, :].copy(), b))
        else:
            dense.append((int(op["outputs"][0]), w, b))
    if len(dense) != 2:
        raise SystemExit(f"expected two dense layers (head, embedding), found {len(dense)}")
    dequantized = {int(op["inputs"][0]) for op in ops if op["op_name"] == "DEQUANTIZE"}
    heads = [d for d in dense if d[0] in dequantized]
    if len(heads) != 1:
        raise SystemExit("cannot tell the head from the embedding: no single dense output feeds the softmax")
    embedding = next(d for d in dense if d[0] not in dequantized)
    return convs, {"head": heads[0][1:], "embedding": embedding[1:]}


def student_state(student: Any, model: bytes) -> dict[str, Any]:
    """A state dict for ``student`` (unfused, with BatchNorm) holding the .tflite's folded weights."""
    import torch
    from torch import nn

    convs, dense = tflite_layers(model)
    mods = list(student.features)
    pairs = [
        (i, mods[i], mods[i + 1])
        for i in range(len(mods) - 1)
        if isinstance(mods[i], nn.Conv1d) and isinstance(mods[i + 1], nn.BatchNorm1d)
    ]
    if len(pairs) != len(convs):
        raise SystemExit(
            f"the .tflite has {len(convs)} convolutions, the student its bundle's manifest describes "
            f"{len(pairs)}: the model is not that record's distilled student (re-export it from its STUDENT folder)"
        )
    state: dict[str, Any] = {}
    for (i, conv, bn), (_, w, b) in zip(pairs, convs, strict=True):
        if tuple(conv.weight.shape) != w.shape:
            raise SystemExit(
                f"features.{i}: kernel {w.shape} in the model, {tuple(conv.weight.shape)} expected"
            )
        state[f"features.{i}.weight"] = torch.from_numpy(w)
        # BatchNorm as the identity plus the folded bias: (x - 0) / sqrt(var + eps) * weight + bias.
        c = w.shape[0]
        state[f"features.{i + 1}.running_mean"] = torch.zeros(c)
        state[f"features.{i + 1}.running_var"] = torch.ones(c)
        state[f"features.{i + 1}.weight"] = torch.full((c,), float(np.sqrt(1.0 + bn.eps)))
        state[f"features.{i + 1}.bias"] = torch.from_numpy(b)
        state[f"features.{i + 1}.num_batches_tracked"] = torch.tensor(0)
    for name, (w, b) in dense.items():
        state[f"{name}.weight"] = torch.from_numpy(w)
        state[f"{name}.bias"] = torch.from_numpy(b)
    return state


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=None, help="the student's dataset (default: the manifest's)")
    args = ap.parse_args(argv)

    import torch

    from mujo_edge.bundle import Bundle
    from mujo_edge.export.pipeline import export_data
    from mujo_edge.provenance import write_json
    from mujo_edge.training.checkpoint import save_weights
    from mujo_edge.training.distill import (
        STUDENT_FORMAT,
        STUDENT_SCHEMA_VERSION,
        Student,
        StudentConfig,
        save_label_embeddings,
    )

    bundle = Bundle.open(args.bundle)
    manifest = bundle.manifest
    tflite = next((m for m in bundle.models if m.format == "tflite"), None)
    if tflite is None or tflite.dtype != "int8":
        print(f"{args.bundle} has no int8 .tflite model to read the weights from", file=sys.stderr)
        return 2
    model = bundle.file_bytes(tflite.file)  # (the bytes the manifest's sha256 vouches for)
    label_embeddings = bundle.label_embeddings
    record = manifest["student"]
    student = Student(StudentConfig.from_dict(record["model"]))
    student.load_state_dict(student_state(student, model), strict=True)
    student.eval()

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    sha = save_weights(student, out / "model.safetensors")
    emb_meta = None
    if label_embeddings is not None:
        emb_meta = save_label_embeddings(out, label_embeddings, "the bundle's label embeddings, unchanged")
    teacher = {k: v for k, v in manifest["teacher"].items() if k != "test_macro_f1"}
    data = manifest["verification"]["data"]
    student_manifest = {
        "format": STUDENT_FORMAT,
        "schema_version": STUDENT_SCHEMA_VERSION,
        "what": "a distilled student read back from the int8 .tflite of a bundle (weights dequantized, "
        "BatchNorm folded into the convolutions)",
        "model": record["model"],
        "labels": list(manifest["labels"]),
        "rate_hz": manifest["rate_hz"],
        "window": manifest["window"],
        "hop": manifest["hop"],
        "calibration": manifest.get("calibration"),
        "splits": record["splits"],
        "distill": record["distill"],
        "metrics": {
            "student_params": record.get("params"),
            "student_test_macro_f1": record.get("test_macro_f1"),
            "teacher_test_macro_f1": manifest["teacher"].get("test_macro_f1"),
        },
        "teacher": teacher,
        "data": {"content_hash": data.get("content_hash"), "path": data.get("path")},
        "weights": {"file": "model.safetensors", "sha256": sha},
        "joint_map": None,
        "label_embeddings": emb_meta,
        "provenance": {
            **(record.get("provenance") or {}),
            "read_back_from": {
                "bundle": args.bundle.name,
                "content_hash": manifest["content_hash"],
                "model": tflite.file,
                "model_sha256": tflite.info.get("sha256"),
            },
        },
    }
    write_json(out / "manifest.json", student_manifest)

    # How far the read-back float student agrees with the bundle's int8 model, on the validation subjects.
    splits = record["splits"]
    on_val = {**student_manifest, "splits": {**splits, "test": list(splits["val"])}}
    windows = export_data(on_val, args.data).test_g
    runner = bundle.runner("tflite")
    int8_logits = np.concatenate([runner.logits(w[None]) for w in windows])
    with torch.no_grad():
        float_logits = student.classify(torch.from_numpy(windows)).numpy()
    report = {
        "windows": len(windows),
        "subjects": list(splits["val"]),
        "top1_agreement_with_int8": float((int8_logits.argmax(1) == float_logits.argmax(1)).mean()),
        "max_abs_logit_difference": float(np.abs(int8_logits - float_logits).max()),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
