"""mujo_edge.gateway.keep_heap: a gateway process's allocator keeps its per-tick arrays in the heap on glibc,
leaves a deployment's own MALLOC_* settings alone, and does nothing elsewhere. Each effect is checked in a
fresh interpreter, so the test process keeps its own allocator settings."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from mujo_edge import gateway

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's allocator only"
)

# Allocate and free a 1 MB array 50 times and report how many of those allocations were mapped from the
# kernel (mallinfo2's count of mmapped blocks while the array is alive) and what keep_heap said.
PROBE = r"""
import ctypes, json, sys
import numpy as np
from mujo_edge.gateway import keep_heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL(None)
if not hasattr(libc, "mallinfo2"):
    print(json.dumps({"skip": "glibc older than 2.33 has no mallinfo2"}))
    sys.exit(0)
libc.mallinfo2.restype = MallInfo2
said = keep_heap() if sys.argv[1] == "keep" else "untouched"
mapped = 0
for _ in range(50):
    before = libc.mallinfo2().hblks
    a = np.ones(1 << 17)  # 1 MB
    mapped += libc.mallinfo2().hblks > before
    del a
print(json.dumps({"said": said, "mapped": mapped}))
"""


def _probe(mode: str, env: dict[str, str] | None = None) -> dict[str, object]:
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    environ.update(env or {})
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, env=environ
    ).stdout
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    if "skip" in result:
        pytest.skip(str(result["skip"]))
    return result


@glibc
def test_keep_heap_serves_tick_sized_arrays_from_the_heap() -> None:
    untouched = _probe("plain")
    kept = _probe("keep")
    # glibc maps the first 1 MB array from the kernel (and raises its threshold only as it frees it) ...
    assert untouched["mapped"] >= 1
    # ... keep_heap serves every one from the heap, and says so
    assert kept["mapped"] == 0
    assert "mmap threshold 4 MB" in str(kept["said"]) and "trim threshold 64 MB" in str(kept["said"])


@glibc
def test_the_environment_wins() -> None:
    result = _probe("keep", {"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert result["said"] == "left to the environment (MALLOC_TRIM_THRESHOLD_)"
    assert result["mapped"] >= 1  # glibc's own behaviour, as the deployment asked


def test_keep_heap_leaves_other_c_libraries_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[object] = []
    monkeypatch.setattr(platform, "libc_ver", lambda *a, **k: ("", ""))
    monkeypatch.setattr("ctypes.CDLL", lambda *a, **k: called.append(a))
    assert gateway.keep_heap({}) == "not glibc: left as it is"
    assert called == []
    assert (
        gateway.keep_heap({"MALLOC_MMAP_THRESHOLD_": "1"})
        == "left to the environment (MALLOC_MMAP_THRESHOLD_)"
    )
