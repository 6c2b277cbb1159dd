"""The header-only C encoder produces the same bytes as the Python encoder, and they decode back."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import mujo_edge.firmware_bridge.profiles.mujo as mujo_pkg
from mujo_edge.firmware_bridge.profiles.mujo import MujoStreamProfile, stream

HEADER = Path(mujo_pkg.__file__).parent / "c" / "mujo_stream.h"
CASES = json.loads((Path(__file__).parent / "vectors" / "mujo_stream_vectors.json").read_text())["cases"]
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

pytestmark = pytest.mark.skipif(
    CC is None, reason="no C compiler (cc/gcc/clang) on PATH; `make system-deps` installs gcc"
)


def c_program() -> str:
    """A C99 program that encodes every case with mujo_stream.h and prints one frame's hex per line."""
    parts = [
        "#include <stdio.h>",
        f'#include "{HEADER}"',
        "",
        "static void dump(const uint8_t *b, size_t n) {",
        '    size_t i; for (i = 0; i < n; i++) printf("%02x", b[i]); printf("\\n");',
        "}",
        "",
    ]
    body = [
        "int main(void) {",
        "    static uint8_t buf[4096];",
        "    mujo_stream_t s;",
        "    size_t used, len;",
        "    const int16_t *p; size_t left; uint32_t t;",
    ]
    for i, case in enumerate(CASES):
        flat = ", ".join(str(v) for row in case["samples"] for v in row)
        parts.append(f"static const int16_t samples_{i}[] = {{{flat}}};")
        body += [
            f"    mujo_stream_init(&s, {case['rate_centihz']}u, {case['range_code']}u);",
            f"    s.seq = {case['seq_start']}u;",
            f"    p = samples_{i}; left = {len(case['samples'])}; t = {case['t0_us']}u;",
            "    while (left > 0) {",
            f"        len = mujo_stream_encode(&s, t, p, left, buf, {case['max_payload_bytes']}, &used);",
            "        if (len == 0) return 1;",
            "        dump(buf, len);",
            "        t = mujo_stream_sample_time_us(&s, t, used); p += 3 * used; left -= used;",
            "    }",
            '    printf("--\\n");',
        ]
    body += [
        "    { uint16_t rates[2] = {5000u, 10000u}; uint8_t codes[3] = {1u, 2u, 3u};",
        "      dump(buf, mujo_stream_encode_info(rates, 2, codes, 3, buf, sizeof buf)); }",
        "    dump(buf, mujo_stream_encode_response(MUJO_OP_START, MUJO_STATUS_UNSUPPORTED_RATE, buf));",
        '    printf("%04x\\n", mujo_crc16_ccitt_false((const uint8_t *)"123456789", 9));',
        "    return 0;",
        "}",
    ]
    return "\n".join([*parts, "", *body, ""])


@pytest.fixture(scope="module")
def c_output(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    work = tmp_path_factory.mktemp("c_encoder")
    src, exe = work / "encode_vectors.c", work / "encode_vectors"
    src.write_text(c_program())
    build = subprocess.run(
        [
            CC,
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Wconversion",
            "-pedantic",
            "-Werror",
            "-O2",
            "-o",
            str(exe),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert build.returncode == 0, f"mujo_stream.h does not compile cleanly:\n{build.stderr}"
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def c_frames(c_output: list[str]) -> list[list[str]]:
    groups, current = [], []
    for line in c_output:
        if line == "--":
            groups.append(current)
            current = []
        else:
            current.append(line)
    return groups


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["name"] for c in CASES])
def test_c_python_and_golden_frames_are_identical(c_output: list[str], index: int) -> None:
    case = CASES[index]
    enc = stream.MujoStreamEncoder(
        case["rate_centihz"], case["range_code"], case["max_payload_bytes"], seq=case["seq_start"]
    )
    python_frames = [f.hex() for f in enc.encode(case["t0_us"], np.array(case["samples"], dtype=np.int16))]
    assert c_frames(c_output)[index] == python_frames == case["frames_hex"]


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["name"] for c in CASES])
def test_c_frames_decode_back_to_the_samples(c_output: list[str], index: int) -> None:
    case = CASES[index]
    profile = MujoStreamProfile(device="c")
    batches = [
        b
        for f in c_frames(c_output)[index]
        for b in profile.decode(stream.MUJO_DATA_UUID, 0.0, bytes.fromhex(f))
    ]
    counts_per_g = 16384 >> case["range_code"]
    got = np.concatenate([b.acc_g for b in batches]) * counts_per_g
    np.testing.assert_array_equal(got, np.array(case["samples"], dtype=np.float32))
    t = np.concatenate([b.t_sensor_s for b in batches])
    expected = case["t0_us"] * 1e-6 + np.arange(len(case["samples"])) * 100 / case["rate_centihz"]
    np.testing.assert_allclose(t, expected, atol=2e-6)  # integer microseconds per frame start
    assert not any(b.gap_before for b in batches) and profile.dropped_samples == 0


def test_c_info_response_and_crc_match_python(c_output: list[str]) -> None:
    info_hex, response_hex, crc_hex = c_output[-3:]
    assert bytes.fromhex(info_hex) == stream.encode_info((5000, 10000), (1, 2, 3))
    assert stream.decode_info(bytes.fromhex(info_hex)).rates_centihz == (5000, 10000)
    assert bytes.fromhex(response_hex) == stream.encode_response(stream.OP_START, 3)
    assert crc_hex == "29b1"


def test_the_example_in_docs_protocol_md_compiles_and_runs(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    source = doc.split("```c\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.c").write_text(source)
    exe = tmp_path / "example"
    build = subprocess.run(
        [
            CC,
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-pedantic",
            "-Werror",
            "-I",
            str(HEADER.parent),
            "-o",
            str(exe),
            str(tmp_path / "example.c"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert build.returncode == 0, build.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30).stdout.splitlines()
    assert out == [
        "frame seq 0: 38 samples, 241 bytes",
        "frame seq 1: 38 samples, 241 bytes",
        "frame seq 2: 24 samples, 157 bytes",
    ]


def test_sample_time_of_a_stream_without_a_rate_does_not_divide_by_zero(tmp_path: Path) -> None:
    """mujo_stream_encode() writes nothing at rate 0; mujo_stream_sample_time_us() must not divide by it
    either (the header's example loop calls it after every encode)."""
    source = tmp_path / "rate0.c"
    source.write_text(
        "\n".join(
            [
                "#include <stdio.h>",
                f'#include "{HEADER}"',
                "int main(void) {",
                "    mujo_stream_t s; uint8_t buf[244]; int16_t xyz[6] = {0}; size_t used, len;",
                "    mujo_stream_init(&s, 0u, MUJO_RANGE_8G);  /* an unconfigured START */",
                "    len = mujo_stream_encode(&s, 1000u, xyz, 2, buf, sizeof buf, &used);",
                '    printf("%u %u %u\\n", (unsigned)len, (unsigned)used, (unsigned)mujo_stream_sample_time_us(&s, 1000u, 5));',
                "    mujo_stream_init(&s, 5000u, MUJO_RANGE_8G);",
                '    printf("%u\\n", (unsigned)mujo_stream_sample_time_us(&s, 1000u, 5));',
                "    return 0;",
                "}",
                "",
            ]
        )
    )
    exe = tmp_path / "rate0"
    flags = ["-std=c99", "-Wall", "-Wextra", "-Wconversion", "-pedantic", "-Werror", "-O2"]
    build = subprocess.run(
        [CC, *flags, "-o", str(exe), str(source)], capture_output=True, text=True, timeout=60
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, f"exit status {run.returncode} (SIGFPE is -8): {run.stderr}"
    assert run.stdout.splitlines() == ["0 0 1000", "101000"]
