"""How much int8 rounding moves each student's decision margin under each of the export's precision options.

Flips (the agreement target) are few and noisy: a student has ~10 held-out windows whose top-2 float logits
are within the int8 noise. The RMS change of the float top-1 minus top-2 logit margin is the smooth quantity
behind them. For each STUDENT folder this quantizes the fused student as ``mujo-edge export --int8`` does
(PT2E, XNNPACK quantizer, the same 512 calibration windows and AdaRound windows), runs the converted graph
in PyTorch (the quantize/dequantize arithmetic the runtimes execute) and prints margin RMS and flips on the
validation and test subjects for each setting: ``off`` (``--equalize off --rounding nearest --stem int8``),
``0.5`` (equalization), ``+ AdaRound`` (``--rounding adaround``), ``+ float stem`` (``--stem float``).

    .venv/bin/python experiments/int8_margin_noise.py [--settings off,0.5,ada,stem,ada+stem] STUDENT...
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from mujo_edge.export.pipeline import export_data
from mujo_edge.export.quantize import equalize_activations, quantize, stem_modules
from mujo_edge.export.rounding import round_weights
from mujo_edge.noise import quiet_third_party
from mujo_edge.training.data.format import Dataset
from mujo_edge.training.distill import apply_calibration, load_student


@torch.no_grad()
def margin_noise(model: torch.nn.Module, quantized: torch.nn.Module, x_bcw: np.ndarray) -> tuple[float, int]:
    x = torch.from_numpy(np.ascontiguousarray(x_bcw, np.float32))
    f = model(x)[0]
    q = torch.cat([quantized(x[i : i + 1])[0] for i in range(len(x))])
    top2 = f.topk(2, dim=1).indices
    rows = torch.arange(len(f))
    dm = (q[rows, top2[:, 0]] - q[rows, top2[:, 1]]) - (f[rows, top2[:, 0]] - f[rows, top2[:, 1]])
    return float(dm.pow(2).mean().sqrt()), int((f.argmax(1) != q.argmax(1)).sum())


#: name -> (equalization strength or None, AdaRound?, float32 stem?)
SETTINGS = {
    "off": (None, False, False),
    "0.5": (0.5, False, False),
    "ada": (0.5, True, False),
    "stem": (0.5, False, True),
    "ada+stem": (0.5, True, True),
}


def main(students: list[str], settings: list[str]) -> None:
    quiet_third_party()
    torch.set_num_threads(1)
    print("| student | setting | val margin RMS | val flips | test margin RMS | test flips |")
    print("|---|---|---|---|---|---|")
    for path in students:
        student, man = load_student(path)
        model = student.fused()
        data = export_data(man, None)
        ds = Dataset.open(data.info["path"])
        val = np.flatnonzero(np.isin(np.asarray(ds.subject), man["splits"]["val"]))
        val_bcw = apply_calibration(np.asarray(ds.acc[val]), man.get("calibration")).transpose(0, 2, 1)
        test_bcw = data.test_g.transpose(0, 2, 1)
        example = torch.from_numpy(np.ascontiguousarray(data.calib_bcw[:1]))
        for setting in settings:
            strength, ada, float_stem = SETTINGS[setting]
            floats = stem_modules(model) if float_stem else ()
            source = model if strength is None else equalize_activations(model, data.calib_bcw, strength)[0]
            if ada:
                assert data.rounding_bcw is not None
                source = round_weights(
                    source, data.rounding_bcw, "executorch", ranges_bcw=data.calib_bcw, float_modules=floats
                )[0]
            q, _ = quantize(source, example, data.calib_bcw, "executorch", floats)
            (vr, vf), (tr, tf) = margin_noise(model, q, val_bcw), margin_noise(model, q, test_bcw)
            name = ("off" if strength is None else f"{strength}") + (" + AdaRound" if ada else "")
            name += " + float stem" if float_stem else ""
            print(
                f"| {path} | {name} | {vr:.3f} | {vf}/{len(val_bcw)} | {tr:.3f} | {tf}/{len(test_bcw)} |",
                flush=True,
            )


if __name__ == "__main__":
    args = sys.argv[1:]
    chosen = ["off", "0.5", "ada", "ada+stem"]
    if args[:1] == ["--settings"]:
        chosen, args = args[1].split(","), args[2:]
    unknown = [c for c in chosen if c not in SETTINGS]
    if unknown:
        sys.exit(f"unknown settings {unknown}; choose from {list(SETTINGS)}")
    main(args, chosen)
