"""Check the wheel and the sdist that `make package` built: what a user installs is the whole toolkit.

The wheel must hold every module of mujo_edge/ and of the folders setup.py maps into it (training/ ->
mujo_edge.training, export/, firmware_bridge/), the shipped bundles and foundation checkpoint, the C encoder
header and py.typed, and nothing at the top of site-packages but ``mujo_edge`` and its dist-info (no generic
``training`` or ``export`` package). The sdist must hold what building the wheel again needs.

Usage: python .ci/check_dist.py DIST_FOLDER  (exit status 1 and a list of problems when a check fails)
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Source folder -> where it installs (setup.py's MAPPED_FOLDERS, plus the package itself).
INSTALLS = {"mujo_edge": "mujo_edge", "training": "mujo_edge/training", "export": "mujo_edge/export",
            "firmware_bridge": "mujo_edge/firmware_bridge"}  # fmt: skip
#: Data files the wheel must carry, as source paths (globs).
DATA = [
    "mujo_edge/py.typed",
    "mujo_edge/assets/*.mujo",
    "firmware_bridge/profiles/mujo/c/*.h",
    "training/assets/joint_space/*.safetensors",
    "training/assets/joint_space/*.json",
    "training/assets/joint_space/*.npz",
]
#: What the sdist needs besides the sources.
SDIST_FILES = ["pyproject.toml", "setup.py", "README.md"]


def installed_name(source: Path) -> str:
    """Where a source file lands in the wheel."""
    rel = source.relative_to(ROOT)
    return "/".join([INSTALLS[rel.parts[0]], *rel.parts[1:]])


def expected_files() -> list[Path]:
    files = [p for folder in INSTALLS for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts]
    files += [p for pattern in DATA for p in ROOT.glob(pattern)]
    return sorted(files)


def check_wheel(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    problems = [f"missing {installed_name(p)} (from {p.relative_to(ROOT)})" for p in expected_files()
                if installed_name(p) not in names]  # fmt: skip
    if not any(n.startswith("mujo_edge/assets/") and n.endswith(".mujo") for n in names):
        problems.append("no shipped bundle under mujo_edge/assets/")
    tops = {n.split("/", 1)[0] for n in names}
    stray = sorted(t for t in tops if t != "mujo_edge" and not t.endswith(".dist-info"))
    if stray:
        problems.append(
            f"top-level entries besides mujo_edge: {stray} (a generic name would land in site-packages)"
        )
    return [f"{wheel.name}: {p}" for p in problems]


def check_sdist(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    wanted = [str(p.relative_to(ROOT)) for p in expected_files()] + SDIST_FILES
    return [f"{sdist.name}: missing {w}" for w in wanted if w not in names]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1])
        return 2
    dist = Path(argv[0])
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"{dist}: expected one wheel and one sdist, found {[p.name for p in wheels + sdists]}")
        return 1
    problems = check_wheel(wheels[0]) + check_sdist(sdists[0])
    for p in problems:
        print(p)
    if not problems:
        print(f"{wheels[0].name} and {sdists[0].name}: {len(expected_files())} files each, nothing stray")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
