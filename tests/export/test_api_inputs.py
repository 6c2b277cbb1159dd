"""Bad arguments to the export side's Python API: ExportError saying what to pass, before any file is written,
never a raw TypeError / AttributeError / IndexError from the flatbuffer or numpy."""

from __future__ import annotations

import importlib.util
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

for _mod in ("ai_edge_litert", "flatbuffers"):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(f"{_mod} is not installed (pip install 'mujo-edge[export]')", allow_module_level=True)

from mujo_edge.assets import PHYSIO_BUNDLE  # noqa: E402
from mujo_edge.bundle import Bundle  # noqa: E402
from mujo_edge.errors import ExportError, MujoError  # noqa: E402
from mujo_edge.export.c_array import write_c_array  # noqa: E402
from mujo_edge.export.tflm import check_tflm, tflm_available  # noqa: E402


def _tflite() -> bytes:
    with zipfile.ZipFile(PHYSIO_BUNDLE) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(".tflite")))


@pytest.mark.parametrize("bundle", [str(PHYSIO_BUNDLE), None])
def test_write_c_array_wants_an_opened_bundle(tmp_path: Path, bundle: Any) -> None:
    with pytest.raises(ExportError, match=r"Bundle\.open"):
        write_c_array(bundle, tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_write_c_array_refuses_a_name_or_folder_it_cannot_use(tmp_path: Path) -> None:
    bundle = Bundle.open(PHYSIO_BUNDLE)
    with pytest.raises(ExportError, match="C identifier"):
        write_c_array(bundle, tmp_path / "c", name=5)  # type: ignore[arg-type]
    assert not (tmp_path / "c").exists()
    (tmp_path / "file").write_text("kept")
    with pytest.raises(ExportError, match="existing file"):
        write_c_array(bundle, tmp_path / "file")
    assert (tmp_path / "file").read_text() == "kept"
    with pytest.raises(MujoError, match="file path"):
        write_c_array(bundle, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("model,windows,pos,match", [
    ("model.tflite", np.zeros((1, 3, 100)), 0, "bytes"),
    (None, np.zeros((1, 3, 100)), 0, "bytes"),
    (b"", "windows", 0, "real numbers"),
    (b"", np.zeros((0, 3, 100)), 0, "N >= 1"),
    (b"", np.zeros(3), 0, "N >= 1"),
    (b"", np.full((1, 3, 100), math.nan), 0, "NaN"),
    (b"", np.zeros((1, 3, 100)), -1, "logits_position"),
    (b"", np.zeros((1, 3, 100)), 1.5, "logits_position"),
])  # fmt: skip
def test_check_tflm_refuses_bad_arguments(model: Any, windows: Any, pos: Any, match: str) -> None:
    with pytest.raises(ExportError, match=match):
        check_tflm(model, windows, pos)


@pytest.mark.skipif(
    not tflm_available(), reason="tflite-micro is not installed (pip install 'mujo-edge[export]')"
)
def test_check_tflm_names_a_logits_output_the_model_lacks() -> None:
    with pytest.raises(ExportError, match="names no output"):
        check_tflm(_tflite(), np.zeros((1, 3, 100), np.float32), 7)
