"""Build the API reference from the docstrings with pdoc; any warning pdoc raises is an error.

    .venv/bin/python docs/build_api.py [OUT_DIR]      # default build/api; `make docs` runs this

The reference covers what applications import: the runtime core and firmware_bridge. Training and export
are documented per command in docs/ (their modules import torch, which would make the build slow).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

#: Modules whose reference is built (each with its submodules).
MODULES = [
    "mujo_edge",
    "mujo_edge.axes",
    "mujo_edge.bundle",
    "mujo_edge.calibration",
    "mujo_edge.clock",
    "mujo_edge.constants",
    "mujo_edge.errors",
    "mujo_edge.events",
    "mujo_edge.grid",
    "mujo_edge.heads",
    "mujo_edge.metrics",
    "mujo_edge.noise",
    "mujo_edge.pipeline",
    "mujo_edge.provenance",
    "mujo_edge.runners",
    "mujo_edge.samples",
    "mujo_edge.windows",
    "mujo_edge.firmware_bridge",
]


def build(out: Path) -> list[str]:
    """Write the HTML reference under ``out``; return pdoc's warnings (empty when the build is clean)."""
    import pdoc

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*MODULES, output_directory=out)
    # Only pdoc's own warnings (unresolvable links, annotations it cannot parse, modules it cannot import)
    # count; a third-party library's deprecation notice on import is not the docs' fault.
    return [f"{w.category.__name__}: {w.message}" for w in caught if "pdoc" in (w.filename or "")]


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "build/api")
    problems = build(out)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"the API reference has {len(problems)} warning(s); fix the docstrings", file=sys.stderr)
        return 1
    print(f"API reference: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
