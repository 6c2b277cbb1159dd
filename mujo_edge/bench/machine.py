"""Describe the machine a benchmark ran on: CPU, cores, OS, Python and library versions.

Library versions come from package metadata (``importlib.metadata``), so describing the machine imports
no runtime (executorch.runtime alone takes ~6 s to import).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

#: Distributions whose versions a benchmark records (absent ones are recorded as null).
LIBRARIES: tuple[str, ...] = (
    "mujo-edge",
    "numpy",
    "scipy",
    "ai-edge-litert",
    "tflite-runtime",
    "executorch",
    "torch",
)


def cpu_model() -> str:
    """The CPU's marketing name ("AMD EPYC 7B13"), from /proc/cpuinfo on Linux, else ``platform``."""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def host_machine() -> dict[str, Any]:
    """The ``machine`` object of a host report."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return {
        "kind": "host",
        "os": f"{platform.system()} {platform.release()}",
        "arch": platform.machine(),
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 1,
        "cores_usable": usable,
        "python": platform.python_version(),
        "libraries": library_versions(),
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0
