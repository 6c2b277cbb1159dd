"""The int8 .tflite on a watch: a smaller flatbuffer with every output bit unchanged (LiteRT's XNNPACK path,
its reference kernels and TensorFlow Lite Micro, on real windows, against the model as exported), TFLM giving
the same bits as LiteRT's reference kernels within a 16 KB arena and 16 KB of flash, and the C array that
firmware compiles.

Measured on the shipped physiotherapy bundle's model and on that model as ``mujo-edge export`` wrote it before
the rewrite (fixtures/, with real held-out windows: no torch needed, seconds, not minutes).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

for _mod in ("ai_edge_litert", "flatbuffers"):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(f"{_mod} is not installed (pip install 'mujo-edge[export]')", allow_module_level=True)

from mujo_edge.assets import PHYSIO_BUNDLE  # noqa: E402
from mujo_edge.bundle import Bundle, TensorSpec, write_bundle_zip  # noqa: E402
from mujo_edge.constants import PROBABILITIES, PROBABILITIES_RTOL  # noqa: E402
from mujo_edge.errors import ExportError  # noqa: E402
from mujo_edge.export.c_array import C_ARRAY_ALIGNMENT, write_c_array  # noqa: E402
from mujo_edge.export.tflite_slim import (  # noqa: E402
    BUFFER_ALIGNMENT,
    micro_flatbuffer,
    slim_flatbuffer,
    window_major,
    with_probabilities,
)
from mujo_edge.export.tflm import (  # noqa: E402
    arena_bytes,
    check_probabilities,
    check_tflm,
    litert_outputs,
    micro_ops,
    slim_bundle,
    tflm_available,
    tflm_outputs,
)

from .real_windows import FIXTURES, real_windows  # noqa: E402

#: The watch-firmware-sized bundle (the default bundle is for phones and gateways).
DEFAULT = PHYSIO_BUNDLE
#: The bundle's int8 .tflite as export wrote it, before the flatbuffer rewrite (fixtures/README.md).
EXPORTED = FIXTURES / "physio_student_litert_int8_as_exported.tflite"
EXAMPLE_C = (
    Path(__file__).resolve().parents[2]
    / "firmware_bridge"
    / "profiles"
    / "mujo"
    / "c"
    / "mujo_model_example.c"
)
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
#: The watch targets of issue 15.
WATCH_ARENA_BYTES = 16 * 1024
WATCH_FLASH_BYTES = 16 * 1024
needs_tflm = pytest.mark.skipif(
    not tflm_available(), reason="tflite-micro is not installed (pip install 'mujo-edge[export]')"
)


def _default_tflite() -> bytes:
    with zipfile.ZipFile(DEFAULT) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(".tflite")))


def _default_bundle() -> Bundle:
    return Bundle.open(DEFAULT)


def _real_windows_bcw() -> np.ndarray:
    """The same windows channels first, (28, 3, 100): the layout the exported model takes."""
    return np.ascontiguousarray(real_windows().transpose(0, 2, 1))


def _ops(model: bytes) -> list[str]:
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if k.isupper()}
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in m.operatorCodes]
    return [names[codes[op.opcodeIndex]] for op in m.subgraphs[0].operators]


def test_window_major_takes_the_window_as_it_arrives_with_every_output_bit_unchanged() -> None:
    from ai_edge_litert.interpreter import Interpreter

    exported = EXPORTED.read_bytes()
    major = window_major(exported)
    assert major is not None
    assert window_major(slim_flatbuffer(exported)) == major  # slim first or not: the same bytes
    assert window_major(major) is None  # already window-major: nothing to turn
    before, after = (Interpreter(model_content=b) for b in (exported, major))
    assert list(before.get_input_details()[0]["shape"]) == [1, 3, 100]
    assert list(after.get_input_details()[0]["shape"]) == [1, 100, 3]
    for d0, d1 in zip(before.get_output_details(), after.get_output_details(), strict=True):
        np.testing.assert_array_equal(d1["shape"], d0["shape"])
        assert d1["quantization"] == d0["quantization"]
    # the input TRANSPOSE goes, and the TRANSPOSE + RESHAPE before the global average pool (MEAN)
    assert _ops(exported).count("TRANSPOSE") == 2 and _ops(exported).count("RESHAPE") == 2
    assert "TRANSPOSE" not in _ops(major) and _ops(major).count("RESHAPE") == 1
    assert len(major) <= 17_400 < len(slim_flatbuffer(exported)), len(major)  # 17,360 bytes
    x = real_windows()
    for reference in (False, True):  # XNNPACK (what a gateway runs) and the reference kernels (TFLM's)
        np.testing.assert_array_equal(
            litert_outputs(major, x, reference), litert_outputs(exported, _real_windows_bcw(), reference)
        )
    if tflm_available():
        np.testing.assert_array_equal(
            tflm_outputs(micro_flatbuffer(major), x, like=major), tflm_outputs(exported, _real_windows_bcw())
        )


def test_slim_flatbuffer_changes_no_output_bit_onreal_windows() -> None:
    exported = EXPORTED.read_bytes()
    slim = slim_flatbuffer(exported)
    # 22,496 -> 17,760 bytes: names, converter metadata and empty tables gone, zero points and tables shared
    assert len(slim) <= 17_800 < len(exported) - 4_500, (len(exported), len(slim))
    x = _real_windows_bcw()
    for reference in (False, True):  # XNNPACK (what a gateway runs) and the reference kernels (TFLM's)
        np.testing.assert_array_equal(
            litert_outputs(slim, x, reference), litert_outputs(exported, x, reference)
        )
    if tflm_available():
        np.testing.assert_array_equal(tflm_outputs(slim, x), tflm_outputs(exported, x))
    assert slim_flatbuffer(slim) == slim  # nothing left to drop or share: a fixed point


def test_slim_flatbuffer_keeps_what_runtimes_and_runners_read() -> None:
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    exported, slim = EXPORTED.read_bytes(), slim_flatbuffer(EXPORTED.read_bytes())
    before, after = (Interpreter(model_content=b) for b in (exported, slim))
    assert (
        after.get_signature_list()
        == before.get_signature_list()
        == {"serving_default": {"inputs": ["args_0"], "outputs": ["output_0", "output_1"]}}
    )
    for get in ("get_input_details", "get_output_details"):
        for d0, d1 in zip(getattr(before, get)(), getattr(after, get)(), strict=True):
            for key in ("name", "index", "dtype", "quantization"):
                assert d1[key] == d0[key], (get, key)
            np.testing.assert_array_equal(d1["shape"], d0["shape"])
            np.testing.assert_array_equal(
                d1["quantization_parameters"]["scales"], d0["quantization_parameters"]["scales"]
            )
    m = schema.Model.GetRootAsModel(slim, 0)
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        if b.DataLength():
            assert b._tab.Vector(b._tab.Offset(4)) % BUFFER_ALIGNMENT == 0, f"buffer {i} is not aligned"


@needs_tflm
def test_micro_flatbuffer_gives_tflm_the_same_bits_in_16_kb_of_flash() -> None:
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    exported = EXPORTED.read_bytes()
    micro = micro_flatbuffer(exported)
    assert len(micro) <= 14_600 < WATCH_FLASH_BYTES, len(micro)  # 14,512 bytes, ~2 bytes a parameter
    assert micro_flatbuffer(slim_flatbuffer(exported)) == micro == micro_flatbuffer(micro)
    x = _real_windows_bcw()
    np.testing.assert_array_equal(tflm_outputs(micro, x, like=exported), tflm_outputs(exported, x))
    assert arena_bytes(micro) == arena_bytes(exported)  # TFLM expands the zero point into the same arena
    # the int32 biases lost their quantization tables (TFLM derives their scale), nothing else did
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(micro, 0))
    int32 = [t for t in m.subgraphs[0].tensors if t.type == schema.TensorType.INT32]
    assert all(t.quantization is None for t in int32)
    assert sum(len(t.shape) == 1 and t.shape[0] >= 7 for t in int32) == 10  # the biases (the rest: shapes)
    assert (
        sum(t.quantization is not None and len(t.quantization.scale) > 1 for t in m.subgraphs[0].tensors)
        == 10
    )
    # ...and LiteRT's loader wants one zero point per scale: the bundle keeps the full vectors
    with pytest.raises(ValueError, match="zero_point"):
        Interpreter(model_content=micro).allocate_tensors()


def test_shipped_physio_model_fits_the_watch_with_per_tensor_pointwise_weights() -> None:
    from ai_edge_litert import schema_py_generated as schema

    bundle = _default_bundle()
    entry = next(m for m in bundle.models if m.format == "tflite")
    model = bundle.file_bytes(entry.file)
    assert len(model) == entry.info["bytes"] <= WATCH_FLASH_BYTES  # the .tflite target: 15,600 bytes
    pointwise = ["features.4", "features.8", "features.12", "features.16", "head", "embedding"]
    assert entry.info["per_tensor_weights"] == pointwise
    # only the depthwise convs keep a scale per channel (weights and int32 biases); the float32 stem none
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    per_channel = [
        t for t in m.subgraphs[0].tensors if t.quantization is not None and len(t.quantization.scale) > 1
    ]
    assert sorted(len(t.quantization.scale) for t in per_channel) == [16, 16, 24, 24, 32, 32, 48, 48]
    assert all(t.shape[-1] == len(t.quantization.scale) for t in per_channel)  # (dw kernels: channels last)
    # the export's own rewrites: window-major input, and the runtime's softmax of the logits last
    assert [o.name for o in entry.outputs] == ["logits", "embedding", PROBABILITIES]
    assert entry.input_layout == "BWC" and entry.inputs[0].shape == (1, 100, 3)
    added = entry.info["probabilities"]
    assert added["windows"] == 1002 and added["other_outputs_identical"]
    assert max(added["max_relative_difference_to_float64_softmax"].values()) < PROBABILITIES_RTOL
    verified = entry.info["verification"]
    assert verified["windows"] == 1002 and verified["agreement"] >= 0.99
    assert entry.info["tflm"]["arena_bytes"] <= WATCH_ARENA_BYTES
    assert entry.info["tflm"]["model_bytes"] <= WATCH_FLASH_BYTES
    assert next(m for m in bundle.models if m.format == "executorch").input_layout == "BCW"


def test_slim_bundle_rewrites_an_older_bundle_and_refuses_a_changed_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    shipped = _default_bundle()
    entry = next(m for m in shipped.models if m.format == "tflite")
    m = json.loads(json.dumps(shipped.manifest))
    files = {name: shipped.file_bytes(name) for name in m["files"]}
    exported = EXPORTED.read_bytes()
    files[entry.file] = exported
    e = next(x for x in m["models"] if x["file"] == entry.file)
    e["bytes"], e["sha256"] = len(exported), hashlib.sha256(exported).hexdigest()
    e["input_layout"], e["inputs"][0]["shape"] = "BCW", [1, 3, 100]  # as exported: channels first
    e["outputs"] = [o for o in e["outputs"] if o["name"] != PROBABILITIES]  # ... with logits and embedding
    for key in ("flatbuffer", "tflm", "content_hash"):
        e.pop(key, None)
    old = write_bundle_zip(tmp_path / "old.mujo", m, files)
    windows_g = real_windows()[:6]
    new = slim_bundle(old.path, tmp_path / "new.mujo", windows_g)
    got = next(x for x in new.models if x.format == "tflite")
    major = window_major(exported)
    assert major is not None and new.file_bytes(got.file) == with_probabilities(major, 0)
    assert got.input_layout == "BWC" and got.inputs[0].shape == (1, 100, 3)
    assert got.output(PROBABILITIES) == TensorSpec(PROBABILITIES, (1, 7), "float32", 2)
    assert got.info["bytes"] == len(new.file_bytes(got.file)) and got.info["flatbuffer"][
        "bytes_before"
    ] == len(exported)
    assert new.manifest["derived_from"]["content_hash"] == old.content_hash
    logits = old.runner("tflite").run(windows_g)[0]
    # the runner feeds each layout its own way: the same logits, and the runtime's softmax of them
    np.testing.assert_array_equal(new.runner("tflite").run(windows_g)[0], logits)
    z = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(
        new.runner("tflite").predict(windows_g), z / z.sum(axis=1, keepdims=True), rtol=PROBABILITIES_RTOL
    )
    if tflm_available():
        assert got.info["tflm"]["model_bytes"] == len(micro_flatbuffer(major))
    # a rewrite that changed the model (here: one bias) is refused, and nothing is written
    monkeypatch.setattr(
        "mujo_edge.export.tflite_slim.slim_flatbuffer", lambda b: slim_flatbuffer(_shifted_bias(b))
    )
    with pytest.raises(ExportError, match="differ"):
        slim_bundle(old.path, tmp_path / "bad.mujo", windows_g)
    assert not (tmp_path / "bad.mujo").exists()


def _shifted_bias(model: bytes) -> bytes:
    """``model`` with the first int32 bias of its last layer one step higher: a different model."""
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    sg = m.subgraphs[0]
    bias = sg.tensors[sg.operators[-1].inputs[2]]
    data = np.asarray(m.buffers[bias.buffer].data, np.uint8).view(np.int32).copy()
    data[0] += 1000
    m.buffers[bias.buffer].data = data.view(np.uint8)
    import flatbuffers

    builder = flatbuffers.Builder(len(model))
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@needs_tflm
def test_tflm_reproduces_litert_reference_bits_in_a_watch_sized_arena() -> None:
    model = _default_tflite()
    x = real_windows()  # the shipped model takes the window as it arrives (BWC)
    check = check_tflm(model, x)
    assert check.windows == len(x) == 28
    assert check.model_bytes == len(micro_flatbuffer(model)) <= WATCH_FLASH_BYTES
    # TFLM implements LiteRT's reference kernels: equal bits but for a rare window, one int8 step apart
    assert check.max_lsb_vs_litert_reference <= 1
    assert check.windows_differing_from_litert_reference <= 2
    assert check.max_lsb_vs_litert <= 2  # XNNPACK rounds some requantizations the other way
    assert check.windows_differing_from_litert > 14  # ... on most windows
    assert check.top1_agreement_with_litert >= 26 / 28
    assert 4096 < check.arena_bytes <= WATCH_ARENA_BYTES, check.arena_bytes
    assert check.ops == micro_ops(model)
    assert {"AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected", "AddMean"} <= set(check.ops)
    assert check.to_dict()["exact_vs_litert_reference"] is check.exact


TEST_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include "mujo_model.h"

typedef struct { float acc_g[MUJO_MODEL_WINDOW * MUJO_MODEL_CHANNELS]; int next, filled, since_last; } mujo_window_t;
int mujo_window_push(mujo_window_t *w, const float xyz_g[MUJO_MODEL_CHANNELS], float *logit);

static float seen[MUJO_MODEL_WINDOW * MUJO_MODEL_CHANNELS];
/* Stands in for the TFLM call: keeps the model input it would get and answers fixed logits. */
int mujo_model_invoke(const float *acc_g, int8_t *logits_q) {
    mujo_model_fill_input(acc_g, seen);
    for (int k = 0; k < MUJO_MODEL_N_LABELS; ++k) logits_q[k] = (int8_t)(k == 3 ? 90 : 10 * k - 30);
    return 0;
}

int main(void) {
    uint32_t h = 2166136261u; /* FNV-1a of the model bytes */
    for (size_t i = 0; i < sizeof mujo_model_tflite; ++i) h = (h ^ mujo_model_tflite[i]) * 16777619u;
    printf("bytes %u %u aligned %d fnv %u\n", (unsigned)sizeof mujo_model_tflite, MUJO_MODEL_BYTES,
           (int)((uintptr_t)mujo_model_tflite % MUJO_MODEL_ALIGNMENT == 0), h);
    printf("labels %d %s %s\n", MUJO_MODEL_N_LABELS, mujo_model_labels[0], mujo_model_labels[MUJO_MODEL_N_LABELS - 1]);
    mujo_window_t w = {{0}, 0, 0, 0};
    for (int s = 0; s < 160; ++s) {
        float xyz[3] = {(float)(s % 13) * 0.25f - 1.5f, (float)(s % 7) * -0.125f, 1.0f + (float)s / 256.0f};
        float logit;
        int k = mujo_window_push(&w, xyz, &logit);
        if (k >= 0) {
            printf("sample %d label %d %s logit %a input", s, k, mujo_model_labels[k], logit);
            for (int i = 0; i < MUJO_MODEL_WINDOW * MUJO_MODEL_CHANNELS; ++i) printf(" %a", seen[i]);
            printf("\n");
        }
    }
    return 0;
}
"""


@pytest.mark.skipif(
    CC is None, reason="no C compiler (cc/gcc/clang) on PATH; `make system-deps` installs gcc"
)
def test_c_array_compiles_and_the_example_feeds_the_model_its_windows(tmp_path: Path) -> None:
    bundle = _default_bundle()
    paths = write_c_array(bundle, tmp_path)
    assert sorted(p.name for p in paths) == ["mujo_model.c", "mujo_model.h"]
    header = (tmp_path / "mujo_model.h").read_text()
    entry = next(m for m in bundle.models if m.format == "tflite")
    model = micro_flatbuffer(bundle.file_bytes(entry.file))  # what the C array holds
    logits = entry.output("logits")
    assert logits is not None and logits.scale is not None
    assert f"#define MUJO_MODEL_LOGITS_ZERO_POINT {logits.zero_point}\n" in header
    assert f"#define MUJO_MODEL_BYTES {len(model)}u\n" in header
    assert "X(AddConv2D)" in header
    (tmp_path / "main.c").write_text(TEST_MAIN)
    exe = tmp_path / "main"
    flags = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", f"-I{tmp_path}"]
    build = subprocess.run(
        [
            CC,
            *flags,
            str(tmp_path / "mujo_model.c"),
            str(EXAMPLE_C),
            str(tmp_path / "main.c"),
            "-o",
            str(exe),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, f"the generated C does not compile cleanly:\n{build.stderr}"
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    fnv = 2166136261
    for byte in model:
        fnv = ((fnv ^ byte) * 16777619) & 0xFFFFFFFF
    assert lines[0] == f"bytes {len(model)} {len(model)} aligned 1 fnv {fnv}"
    assert lines[1] == f"labels {len(bundle.labels)} {bundle.labels[0]} {bundle.labels[-1]}"
    s = np.arange(160)
    acc = np.stack([(s % 13) * 0.25 - 1.5, (s % 7) * -0.125, 1.0 + s / 256.0], 1).astype(np.float32)
    due = [99, 149]  # a window once 100 samples are held, then every hop of 50
    assert [int(line.split()[1]) for line in lines[2:]] == due
    for line, last in zip(lines[2:], due, strict=True):
        parts = line.split()
        assert parts[3:5] == ["3", bundle.labels[3]]
        assert float.fromhex(parts[6]) == pytest.approx(logits.scale * (90 - logits.zero_point), rel=1e-6)
        got = np.array([float.fromhex(v) for v in parts[8:]], np.float32)
        window = acc[last - 99 : last + 1]  # (100, 3), oldest first
        np.testing.assert_array_equal(got, window.ravel())  # sample by sample, as the model takes it
    assert C_ARRAY_ALIGNMENT == 16


def test_probabilities_output_is_the_runtimes_softmax_and_the_watch_drops_it() -> None:
    from ai_edge_litert import schema_py_generated as schema

    major = window_major(EXPORTED.read_bytes())
    assert major is not None
    model = with_probabilities(major, 0)
    assert with_probabilities(model, 0) == model  # a model that has the output comes back as it is
    assert _ops(model)[-2:] == ["DEQUANTIZE", "SOFTMAX"]
    assert micro_flatbuffer(model) == micro_flatbuffer(major)  # firmware reads the int8 logits
    x = real_windows()
    record, spec = check_probabilities(model, major, x, 0)
    assert spec == {"name": PROBABILITIES, "shape": [1, 7], "dtype": "float32", "position": 2}
    assert record["windows"] == 28 and record["other_outputs_identical"]
    assert 0 < max(record["max_relative_difference_to_float64_softmax"].values()) < PROBABILITIES_RTOL
    with pytest.raises(ValueError, match="no output 5"):
        with_probabilities(major, 5)
    # a softmax that is not the logits' (beta 2) is refused
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    m.subgraphs[0].operators[-1].builtinOptions.beta = 2.0
    import flatbuffers

    builder = flatbuffers.Builder(len(model))
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    with pytest.raises(ExportError, match="from the softmax of its logits"):
        check_probabilities(bytes(builder.Output()), major, x, 0)
