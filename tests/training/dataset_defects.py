"""A matrix of corrupted dataset folders: each defect a function that damages a good dataset in place.

Used by ``test_format_defects.py`` (every defect once) and ``benchmarks/soak.py`` (every defect on many seeds).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _manifest(root: Path, edit: Callable[[dict], None]) -> None:
    man = json.loads((root / "manifest.json").read_text())
    edit(man)
    (root / "manifest.json").write_text(json.dumps(man))


def _array(root: Path, name: str, edit: Callable[[np.ndarray], np.ndarray]) -> None:
    np.save(root / f"{name}.npy", edit(np.load(root / f"{name}.npy")))


def _truncate(root: Path, name: str, keep: float) -> None:
    f = root / f"{name}.npy"
    data = f.read_bytes()
    f.write_bytes(data[: int(len(data) * keep)])


def _flip_byte(root: Path, name: str, rng: np.random.Generator) -> None:
    f = root / f"{name}.npy"
    data = bytearray(f.read_bytes())
    i = int(rng.integers(128, len(data)))  # past the .npy header: a value changes, the shape does not
    data[i] ^= 1 << int(rng.integers(8))
    f.write_bytes(bytes(data))


def _set(key: str, value: object) -> Callable[[dict], None]:
    def edit(man: dict) -> None:
        man[key] = value

    return edit


def _drop(key: str) -> Callable[[dict], None]:
    def edit(man: dict) -> None:
        man.pop(key, None)

    return edit


def _nan_at(i: int) -> Callable[[np.ndarray], np.ndarray]:
    def edit(a: np.ndarray) -> np.ndarray:
        a = a.copy()
        a.reshape(len(a), -1)[i % len(a), 0] = np.nan
        return a

    return edit


#: name -> damage(root, rng). Every one must end in a clear DataError, never a traceback.
DEFECTS: dict[str, Callable[[Path, np.random.Generator], None]] = {
    "manifest without labels": lambda r, g: _manifest(r, _drop("labels")),
    "labels not a list": lambda r, g: _manifest(r, _set("labels", "walk,run")),
    "empty labels": lambda r, g: _manifest(r, _set("labels", [])),
    "rate_hz a string": lambda r, g: _manifest(r, _set("rate_hz", "fast")),
    "rate_hz zero": lambda r, g: _manifest(r, _set("rate_hz", 0)),
    "arrays not a dict": lambda r, g: _manifest(r, _set("arrays", ["acc"])),
    "manifest not JSON": lambda r, g: (r / "manifest.json").write_text("{not json"),
    "manifest a list": lambda r, g: (r / "manifest.json").write_text("[]"),
    "0-byte acc.npy": lambda r, g: (r / "acc.npy").write_bytes(b""),
    "truncated acc.npy": lambda r, g: _truncate(r, "acc", float(g.uniform(0.05, 0.95))),
    "truncated label.npy": lambda r, g: _truncate(r, "label", float(g.uniform(0.05, 0.95))),
    "acc.npy missing": lambda r, g: (r / "acc.npy").unlink(),
    "acc.npy garbage": lambda r, g: (r / "acc.npy").write_bytes(g.bytes(1000)),
    "text_id out of range (hash fixed)": lambda r, g: (
        _array(r, "text_id", lambda a: a + 1000),
        _rehash(r),
    ),
    "text.npy missing from manifest": lambda r, g: _manifest(r, lambda m: m["arrays"].pop("text")),
    "label out of range (hash fixed)": lambda r, g: (_array(r, "label", lambda a: a + 7), _rehash(r)),
    "labels shorter than label.npy": lambda r, g: _manifest(
        r, lambda m: m.__setitem__("labels", m["labels"][:1])
    ),
    "label.npy shorter (hash fixed)": lambda r, g: (_array(r, "label", lambda a: a[:-3]), _rehash(r)),
    "acc int dtype (hash fixed)": lambda r, g: (_array(r, "acc", lambda a: a.astype(np.int16)), _rehash(r)),
    "stale content hash (bit flip)": lambda r, g: _flip_byte(r, "acc", g),
    "NaN in acc (stale hash)": lambda r, g: _array(r, "acc", _nan_at(int(g.integers(1 << 20)))),
    "NaN in acc (hash fixed)": lambda r, g: (_array(r, "acc", _nan_at(int(g.integers(1 << 20)))), _rehash(r)),
    "a label named twice": lambda r, g: _manifest(r, lambda m: m["labels"].__setitem__(0, m["labels"][1])),
}


def _rehash(root: Path) -> None:
    """Rewrite the manifest's shapes and content hash to match the (damaged) arrays: a consistent lie."""
    from mujo_edge.provenance import content_hash

    def edit(man: dict) -> None:
        for name, info in man["arrays"].items():
            info["shape"] = list(np.load(root / f"{name}.npy", mmap_mode="r").shape)
        man["content_hash"] = content_hash([root / f"{n}.npy" for n in man["arrays"]], root)

    _manifest(root, edit)
