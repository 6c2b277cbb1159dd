"""The .mujo loader: round trip of every manifest field, and one clear error per kind of damage."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.bundle import BUNDLE_SCHEMA_VERSION, MANIFEST_NAME, Bundle
from mujo_edge.constants import HOP, RATE_HZ, WINDOW
from mujo_edge.errors import BundleError, MissingDependencyError
from mujo_edge.export.bundle_writer import ModelFile, write_bundle

LABELS = ["PEN", "ABD", "FEL"]


def _model(fmt: str = "tflite", payload: bytes = b"\x00fake-model-bytes" * 8) -> ModelFile:
    suffix = "tflite" if fmt == "tflite" else "pte"
    return ModelFile(
        format=fmt,
        filename=f"student_int8.{suffix}",
        data=payload,
        dtype="int8",
        input_layout="BCW",
        inputs=[
            {
                "name": "acc_g",
                "shape": [1, 3, WINDOW],
                "dtype": "int8",
                "position": 0,
                "scale": 0.03,
                "zero_point": 1,
            }
        ],
        outputs=[
            {
                "name": "logits",
                "shape": [1, 3],
                "dtype": "int8",
                "position": 0,
                "scale": 0.1,
                "zero_point": -5,
            },
            {
                "name": "embedding",
                "shape": [1, 4],
                "dtype": "int8",
                "position": 1,
                "scale": 0.05,
                "zero_point": 0,
            },
        ],
        info={"partitions": 1},
    )


@pytest.fixture
def bundle_path(tmp_path: Path) -> Path:
    emb = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    write_bundle(
        tmp_path / "m.mujo",
        labels=LABELS,
        models=[_model("tflite"), _model("executorch", b"PTE" * 40)],
        label_embeddings=emb,
        verification={"agreement": 1.0},
    )
    return tmp_path / "m.mujo"


def _rewrite(src: Path, dst: Path, edit) -> None:
    """Copy a zip, passing every (name, bytes) through ``edit`` (return None to drop the member)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = edit(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)


def test_round_trip(bundle_path: Path) -> None:
    b = Bundle.open(bundle_path)
    assert b.labels == LABELS
    assert (b.rate_hz, b.window, b.hop) == (RATE_HZ, WINDOW, HOP)
    assert b.formats == ["tflite", "executorch"]
    assert b.calibration is None
    np.testing.assert_array_equal(b.label_embeddings, np.arange(12, dtype=np.float32).reshape(3, 4))
    m = b.model("tflite")
    assert (
        m.input_layout == "BCW" and m.inputs[0].scale == pytest.approx(0.03) and m.inputs[0].zero_point == 1
    )
    assert m.output("logits").zero_point == -5 and m.output("embedding").shape == (1, 4)
    assert b.file_bytes(m.file) == b"\x00fake-model-bytes" * 8
    assert b.manifest["verification"] == {"agreement": 1.0}
    assert b.manifest["schema_version"] == BUNDLE_SCHEMA_VERSION
    assert set(b.manifest["files"]) == {
        "models/student_int8.tflite",
        "models/student_int8.pte",
        "label_embeddings.npy",
    }


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        Bundle.open(tmp_path / "nope.mujo")


def test_corrupted_zip_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mujo"
    bad.write_bytes(bundle_path.read_bytes()[: bundle_path.stat().st_size // 2])
    with pytest.raises(BundleError, match=r"not a readable zip.*corrupted or truncated"):
        Bundle.open(bad)
    bad.write_bytes(b"this is not a zip at all")
    with pytest.raises(BundleError, match="not a readable zip"):
        Bundle.open(bad)


def test_tampered_model_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "tampered.mujo"

    def flip(name: str, data: bytes) -> bytes:
        return data[:-1] + bytes([data[-1] ^ 1]) if name.endswith(".pte") else data

    _rewrite(bundle_path, bad, flip)
    with pytest.raises(BundleError, match=r"models/student_int8\.pte has sha256 .* modified after export"):
        Bundle.open(bad)


def test_unknown_schema_version_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "future.mujo"

    def bump(name: str, data: bytes) -> bytes:
        if name != MANIFEST_NAME:
            return data
        m = json.loads(data)
        m["schema_version"] = BUNDLE_SCHEMA_VERSION + 1
        return json.dumps(m).encode()

    _rewrite(bundle_path, bad, bump)
    with pytest.raises(BundleError, match=r"unknown bundle schema_version 3 .* newer mujo-edge; upgrade"):
        Bundle.open(bad)


def test_missing_model_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "incomplete.mujo"
    _rewrite(bundle_path, bad, lambda name, data: None if name.endswith(".tflite") else data)
    with pytest.raises(BundleError, match=r"incomplete: the manifest lists models/student_int8\.tflite"):
        Bundle.open(bad)


def test_not_a_bundle_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "other.mujo"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        Bundle.open(p)
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr(MANIFEST_NAME, json.dumps({"format": "something-else"}))
    with pytest.raises(BundleError, match="not a MuJo Edge bundle"):
        Bundle.open(p)


def test_unknown_format_asked_says_what_exists(bundle_path: Path) -> None:
    b = Bundle.open(bundle_path)
    with pytest.raises(BundleError, match="holds tflite/int8, executorch/int8"):
        b.model("executorch", dtype="float32")


def test_no_runtime_names_the_extra(bundle_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mujo_edge.runners as runners

    monkeypatch.setattr(runners, "runtime_available", lambda fmt: False)
    with pytest.raises(MissingDependencyError, match=r"pip install 'mujo-edge\[runtime\]'"):
        Bundle.open(bundle_path).runner()


def test_core_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import mujo_edge.bundle, mujo_edge.runners, mujo_edge.export.bundle_writer\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print('ok')"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"
