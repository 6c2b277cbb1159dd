"""experiments/student_from_bundle.py: the float student read back from a bundle's int8 .tflite is the int8
model's function (every kernel, bias and dense layer in its place), so a re-export can start from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.torch, pytest.mark.export]

for _mod, _extra in (("torch", "training"), ("ai_edge_litert", "runtime")):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(f"{_mod} is not installed (pip install 'mujo-edge[{_extra}]')", allow_module_level=True)

import torch  # noqa: E402

from mujo_edge.assets import PHYSIO_BUNDLE  # noqa: E402
from mujo_edge.bundle import Bundle  # noqa: E402
from mujo_edge.training.distill import Student, StudentConfig  # noqa: E402

from .real_windows import real_windows  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _script() -> object:
    spec = importlib.util.spec_from_file_location(
        "student_from_bundle", ROOT / "experiments" / "student_from_bundle.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_read_back_student_computes_the_int8_models_function() -> None:
    mod = _script()
    bundle = Bundle.open(PHYSIO_BUNDLE)
    entry = next(m for m in bundle.models if m.format == "tflite")
    model = bundle.file_bytes(entry.file)
    student = Student(StudentConfig.from_dict(bundle.manifest["student"]["model"]))
    student.load_state_dict(mod.student_state(student, model), strict=True)  # type: ignore[attr-defined]
    student.eval()
    windows = real_windows()
    runner = bundle.runner("tflite")
    int8_logits, int8_emb = runner.run(windows, embedding=True)
    with torch.no_grad():
        logits, emb = student(torch.from_numpy(windows).transpose(1, 2))
    # within the int8 model's activation rounding: a few output steps, never a different picture
    step = entry.output("logits").scale
    assert np.abs(logits.numpy() - int8_logits).max() < 8 * step
    assert (logits.numpy().argmax(1) == int8_logits.argmax(1)).mean() >= 0.95
    cos = (
        (emb.numpy() * int8_emb).sum(1)
        / np.linalg.norm(emb.numpy(), axis=1)
        / np.linalg.norm(int8_emb, axis=1)
    )
    assert cos.min() > 0.99
    # a student of another width does not take the model's kernels
    other = Student(StudentConfig.from_dict({**bundle.manifest["student"]["model"], "width": 24}))
    with pytest.raises(SystemExit, match="features"):
        mod.student_state(other, model)  # type: ignore[attr-defined]
