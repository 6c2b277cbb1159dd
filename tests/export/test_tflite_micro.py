"""The int8 .tflite on a watch: a smaller flatbuffer with the same outputs, TensorFlow Lite Micro giving the
same bits as LiteRT's reference kernels within a 16 KB arena, and the C array that firmware compiles.

Measured on the shipped default bundle's model (no torch needed: seconds, not minutes).
"""

from __future__ import annotations

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
from mujo_edge.bundle import Bundle  # noqa: E402
from mujo_edge.export.c_array import C_ARRAY_ALIGNMENT, write_c_array  # noqa: E402
from mujo_edge.export.tflite import BUFFER_ALIGNMENT, compact_flatbuffer  # noqa: E402
from mujo_edge.export.tflm import check_tflm, micro_ops, tflm_available  # noqa: E402

#: The watch-firmware-sized bundle (the default bundle is for phones and gateways).
DEFAULT = PHYSIO_BUNDLE
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


def _default_tflite() -> bytes:
    with zipfile.ZipFile(DEFAULT) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(".tflite")))


def _default_bundle() -> Bundle:
    try:
        return Bundle.open(DEFAULT, allow_unhashed=True)  # type: ignore[call-arg]
    except TypeError:  # a Bundle.open without the content-hash check
        return Bundle.open(DEFAULT)


def _windows_bcw(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(0.0, 0.6, (n, 3, 100)).astype(np.float32)
    x[:, 2] += 1.0
    return x


def _raw_outputs(model: bytes, windows_bcw: np.ndarray, reference: bool) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kw = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if reference else {}
    it = Interpreter(model_content=model, num_threads=1, **kw)
    it.allocate_tensors()
    i_in = it.get_input_details()[0]["index"]
    rows = []
    for x in windows_bcw:
        it.set_tensor(i_in, x[None])
        it.invoke()
        rows.append(np.concatenate([it.get_tensor(d["index"]).ravel() for d in it.get_output_details()]))
    return np.array(rows)


def test_compact_flatbuffer_is_smaller_with_identical_outputs() -> None:
    from ai_edge_litert import schema_py_generated as schema

    original = _default_tflite()
    small = compact_flatbuffer(original)
    # 22,496 -> 18,416 bytes on the shipped student: int64 zero points shared, empty tables dropped
    assert len(small) <= len(original) - 4000, (len(original), len(small))
    x = _windows_bcw(48)
    for reference in (False, True):  # XNNPACK (what a gateway runs) and the reference kernels (TFLM's)
        np.testing.assert_array_equal(_raw_outputs(small, x, reference), _raw_outputs(original, x, reference))
    m = schema.Model.GetRootAsModel(small, 0)
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        if b.DataLength():
            assert b._tab.Vector(b._tab.Offset(4)) % BUFFER_ALIGNMENT == 0, f"buffer {i} is not aligned"
    assert compact_flatbuffer(small) == small  # nothing left to share: a fixed point


@pytest.mark.skipif(
    not tflm_available(), reason="tflite-micro is not installed (pip install 'mujo-edge[export]')"
)
def test_tflm_reproduces_litert_reference_bits_in_a_watch_sized_arena() -> None:
    model = compact_flatbuffer(_default_tflite())
    check = check_tflm(model, _windows_bcw(64, seed=1))
    assert check.windows == 64
    # TFLM implements LiteRT's reference kernels: equal bits but for a rare window, one int8 step apart
    assert check.max_lsb_vs_litert_reference <= 1
    assert check.windows_differing_from_litert_reference <= 2
    assert check.max_lsb_vs_litert <= 1  # XNNPACK rounds some requantizations the other way
    assert check.windows_differing_from_litert > 32  # ... on most windows, by one step
    assert check.top1_agreement_with_litert >= 62 / 64
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
    model = bundle.file_bytes(entry.file)
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
        np.testing.assert_array_equal(got, window.T.ravel())  # channels first, as the model takes it
    assert C_ARRAY_ALIGNMENT == 16
