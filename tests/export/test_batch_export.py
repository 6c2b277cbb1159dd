"""Batch variants: a tiny student exported with a batch-64 model next to each batch-1 model.

The batch model is converted from the same quantized module as the batch-1 model, so a window's logits and
embedding are bit for bit the same whether it goes alone or in a batch (asserted exactly, both runtimes).
A bundle without the variant (every bundle exported before it) still opens and runs window by window, and a
variant that does not belong to its entry is refused with a BundleError.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = [pytest.mark.torch, pytest.mark.export]

for _mod, _extra in (("torch", "training"), ("executorch", "export"), ("litert_torch", "export")):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(f"{_mod} is not installed (pip install 'mujo-edge[{_extra}]')", allow_module_level=True)

import torch  # noqa: E402

from mujo_edge.bundle import Bundle, write_bundle_zip, write_unchecked_bundle_zip  # noqa: E402
from mujo_edge.constants import WINDOW  # noqa: E402
from mujo_edge.errors import BundleError, ExportError  # noqa: E402
from mujo_edge.export.bundle_writer import write_bundle  # noqa: E402
from mujo_edge.export.pipeline import ExportData, export_models  # noqa: E402
from mujo_edge.runners import runner_for  # noqa: E402
from mujo_edge.training.distill import Student, StudentConfig  # noqa: E402

from .fakes import LABELS, tiny_windows  # noqa: E402

BATCH = 64
FORMATS = ("tflite", "executorch")


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny student (the batch contract does not need a good model), int8 with round-to-nearest
    weights, exported to both runtimes with a batch-64 variant and bundled."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    data = tiny_windows(per_class_subject=24)
    acc, label = data["acc"], data["label"]
    # fewer held-out windows than the batch (as in a small dataset): the variant's conversion and its
    # equality check repeat them up to a whole batch
    ed = ExportData(
        calib_bcw=np.ascontiguousarray(acc[::3].transpose(0, 2, 1)),
        test_g=acc[1::2][:40],
        test_label=label[1::2][:40],
    )
    student = Student(StudentConfig(n_classes=len(LABELS)))
    report = export_models(student, LABELS, WINDOW, ed, rounding="nearest", batch=BATCH)
    out = tmp_path_factory.mktemp("batch") / "b.mujo"
    write_bundle(out, labels=LABELS, models=[m.file for m in report.models])
    return out


def _windows(n: int, seed: int = 1) -> np.ndarray:
    return tiny_windows(per_class_subject=12, seed=seed)["acc"][np.arange(n) % 144]


def _single(b: Bundle, fmt: str) -> Any:
    """A runner of the bundle's batch-1 model alone: one call per window."""
    entry = b.model(fmt)
    return runner_for(replace(entry, batch=None), b.file_bytes(entry.file), b.model_labels, b.window)


def _without_batch(b: Bundle, out: Path) -> Bundle:
    """The bundle as it was exported before batch variants: no ``batch`` entries, no variant files."""
    manifest = json.loads(json.dumps(b.manifest))
    for m in manifest["models"]:
        m.pop("batch")
    files = {k: b.file_bytes(k) for k in manifest["files"] if "_b64." not in k}
    return write_bundle_zip(out, manifest, files)


def test_export_stores_a_batch_variant_per_model(bundle_path: Path) -> None:
    b = Bundle.open(bundle_path)
    assert sorted(b.manifest["files"]) == sorted(
        [
            "models/student_litert_int8.tflite",
            "models/student_litert_int8_b64.tflite",
            "models/student_xnnpack_q8.pte",
            "models/student_xnnpack_q8_b64.pte",
        ]
    )
    for fmt in FORMATS:
        entry = b.model(fmt)
        assert entry.rows == 1 and entry.batch is not None and entry.batch.rows == BATCH
        info = entry.info["batch"]
        assert info["size"] == BATCH and info["max_abs_difference_to_batch_1"] == 0.0
        assert info["verification"]["windows"] == 40  # checked against the float student too
        assert info["partitions"]["whole_model_in_one_partition"] is True
        assert b.summary()["models"][FORMATS.index(fmt)]["batch"] == BATCH


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n", [1, 7, 20, 40, 64, 130])
def test_batched_runner_equals_window_by_window(bundle_path: Path, fmt: str, n: int) -> None:
    b = Bundle.open(bundle_path)
    batched, single = b.runner(fmt), _single(b, fmt)
    assert batched.batch == BATCH and single.batch == 1
    # 7: window by window; 20: padded in ExecuTorch only; 40: padded in both; 130: 64 + 64 + 2 single
    assert batched.pad_from == {"tflite": 32, "executorch": 16}[fmt]
    x = _windows(n)
    logits, emb = batched.run(x)
    assert logits.shape == (n, len(LABELS)) and emb is not None and emb.shape[0] == n
    one = [single.run(x[i : i + 1]) for i in range(n)]
    np.testing.assert_array_equal(logits, np.concatenate([o[0] for o in one]))
    np.testing.assert_array_equal(emb, np.concatenate([o[1] for o in one if o[1] is not None]))
    np.testing.assert_array_equal(batched.predict(x), single.predict(x))
    again = batched.run(x)  # the arrays are the caller's, not the runtime's reused buffers
    np.testing.assert_array_equal(again[0], logits)


def test_old_bundle_without_the_variant_runs_as_before(bundle_path: Path, tmp_path: Path) -> None:
    b = Bundle.open(bundle_path)
    old = _without_batch(b, tmp_path / "old.mujo")
    x = _windows(70)
    for fmt in FORMATS:
        assert old.model(fmt).batch is None and old.summary()["models"][0]["batch"] is None
        r = old.runner(fmt)
        assert r.batch == 1
        np.testing.assert_array_equal(r.run(x)[0], b.runner(fmt).run(x)[0])


def _tampered(b: Bundle, out: Path, edit: Any) -> Path:
    """The bundle re-written with ``edit(manifest, files)`` applied and the hashes recomputed."""
    manifest = json.loads(json.dumps(b.manifest))
    files = {k: b.file_bytes(k) for k in manifest["files"]}
    edit(manifest, files)
    manifest["files"] = {}
    return write_unchecked_bundle_zip(out, manifest, files)  # the test opens it for the message


def test_corrupted_or_mismatching_variant_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    b = Bundle.open(bundle_path)
    tfl = "models/student_litert_int8_b64.tflite"

    def other_bytes(m: dict, f: dict) -> None:  # a variant file that is not the one exported
        f[tfl] = f[tfl][:-1] + bytes([f[tfl][-1] ^ 1])

    def batch_1_file(m: dict, f: dict) -> None:  # the entry points at the batch-1 model
        m["models"][0]["batch"]["file"] = m["models"][0]["file"]

    def missing(m: dict, f: dict) -> None:
        del f[tfl]

    def wrong_outputs(m: dict, f: dict) -> None:  # logits of another label count
        for o in m["models"][0]["batch"]["outputs"]:
            if o["name"] == "logits":
                o["shape"] = [BATCH, 5]

    for edit, words in (
        (other_bytes, "does not belong to this bundle"),
        (batch_1_file, "is not a separate file"),
        (missing, "is not a separate file"),
        (wrong_outputs, "expected the model's outputs with batch 64"),
    ):
        path = _tampered(b, tmp_path / f"{edit.__name__}.mujo", edit)
        with pytest.raises(BundleError, match=words):
            Bundle.open(path)

    # A variant whose file has another batch than its entry says: refused when the runner loads it.
    def declares_32(m: dict, f: dict) -> None:
        e = m["models"][0]["batch"]
        e["size"] = 32
        for t in (*e["inputs"], *e["outputs"]):
            t["shape"][0] = 32

    bad = Bundle.open(_tampered(b, tmp_path / "declares_32.mujo", declares_32))
    with pytest.raises(BundleError, match="takes batches of 64 windows but its manifest entry says 32"):
        bad.runner("tflite")


def test_export_refuses_a_batch_of_one() -> None:
    with pytest.raises(ExportError, match="at least 2 windows"):
        export_models(Student(StudentConfig(n_classes=3)), LABELS, WINDOW, None, batch=1)  # type: ignore[arg-type]


def test_export_cli_writes_the_variant_by_default_and_skips_it_on_request() -> None:
    from mujo_edge.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["export", "s", "--out", "m.mujo"]).batch == 64
    assert parse(["export", "s", "--out", "m.mujo", "--batch", "128"]).batch == 128
    assert parse(["export", "s", "--out", "m.mujo", "--no-batch"]).batch == 0
