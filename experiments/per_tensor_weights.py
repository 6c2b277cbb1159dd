"""Per-tensor int8 weights: what they save in the .tflite and what they cost in agreement, chosen on the
validation subjects only.

Exports STUDENT with each ``--per-tensor-weights`` choice (and equalization strengths), verifying against
the float student on the VALIDATION subjects of its manifest (the test subjects are not read), and prints
a table: bytes of each model, top-1 agreement with the float student, the int8 model's macro-F1.

    python experiments/per_tensor_weights.py STUDENT [--choices none,pointwise,all] [--equalize 0.5,off]
        [--formats tflite,executorch] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("student", type=Path)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--choices", default="none,pointwise,all")
    ap.add_argument("--equalize", default="0.5", help="comma-separated strengths, or off")
    ap.add_argument("--formats", default="tflite,executorch")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    from mujo_edge.export.pipeline import export_data, export_models
    from mujo_edge.training.distill import load_student

    torch.set_num_threads(1)
    student, manifest = load_student(args.student)
    splits = manifest["splits"]
    if not splits.get("val"):
        print(f"{args.student} records no validation subjects; nothing to choose on", file=sys.stderr)
        return 2
    on_val = {**manifest, "splits": {**splits, "test": list(splits["val"])}}
    data = export_data(on_val, args.data)
    rows: list[dict[str, Any]] = []
    for eq in args.equalize.split(","):
        strength = None if eq.strip() == "off" else float(eq)
        for choice in args.choices.split(","):
            t0 = time.perf_counter()
            report = export_models(
                student,
                list(manifest["labels"]),
                int(manifest["window"]),
                data,
                formats=[f.strip() for f in args.formats.split(",")],
                min_agreement=0.0,
                equalize=strength,
                batch=0,
                per_tensor_weights=choice.strip(),
            )
            for m in report.models:
                v = m.verification
                rows.append(
                    {
                        "per_tensor_weights": choice,
                        "equalize": eq,
                        "model": m.file.filename,
                        "bytes": len(m.file.data),
                        "agreement": round(v.agreement, 4),
                        "int8_macro_f1": round(v.macro_f1, 4),
                        "max_abs_logit_error": round(v.max_abs_logit_error, 3),
                        "seconds": round(time.perf_counter() - t0, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    print(f"\nvalidation subjects {splits['val']}: {len(data.test_g)} windows")
    print("| per-tensor weights | equalize | model | bytes | agreement | int8 macro-F1 |")
    print("|---|---|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['per_tensor_weights']} | {r['equalize']} | {r['model']} | {r['bytes']:,} | "
            f"{r['agreement']:.4f} | {r['int8_macro_f1']:.3f} |"
        )
    if args.out:
        args.out.write_text(json.dumps({"validation_subjects": splits["val"], "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
