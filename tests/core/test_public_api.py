"""The public API at the top of the package, and the dependency rule: the core imports without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import mujo_edge


def test_every_public_name_resolves() -> None:
    for name in mujo_edge.__all__:
        assert getattr(mujo_edge, name) is not None, name
    assert issubclass(mujo_edge.BundleError, mujo_edge.MujoError)
    assert issubclass(mujo_edge.ConfigError, mujo_edge.MujoError)
    assert mujo_edge.Bundle.__module__ == "mujo_edge.bundle"
    assert set(mujo_edge.__all__) <= set(dir(mujo_edge))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mujo_edge.Nope  # type: ignore[attr-defined]


#: Imports every runtime module (core, CLI, firmware bridge) with torch and the export stack made unimportable.
_NO_TORCH = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "torchao", "executorch", "litert_torch"):
                raise ImportError("blocked for the test: " + name)
            return None

    sys.meta_path.insert(0, Block())
    import mujo_edge
    import mujo_edge.firmware_bridge as fb

    mods = list(pkgutil.walk_packages(mujo_edge.__path__, "mujo_edge."))
    mods += list(pkgutil.walk_packages(fb.__path__, "mujo_edge.firmware_bridge."))
    names = [m.name for m in mods if not m.name.startswith(("mujo_edge.training", "mujo_edge.export"))]
    names = [n for n in names if not n.endswith("__main__")]
    failed = []
    for n in names:
        try:
            importlib.import_module(n)
        except Exception as e:
            failed.append(n + ": " + repr(e))
    for n in mujo_edge.__all__:
        getattr(mujo_edge, n)
    leaked = sorted(k for k in sys.modules if k.split(".")[0] in ("torch", "torchao", "executorch", "litert_torch"))
    print(len(names), "modules")
    print("FAILED", failed)
    print("LEAKED", leaked)
    """
)


def test_runtime_modules_import_without_torch() -> None:
    done = subprocess.run([sys.executable, "-c", _NO_TORCH], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert int(lines[0].split()[0]) > 40  # the walk found the core, the CLI and the firmware bridge
    assert lines[1] == "FAILED []", lines[1]
    assert lines[2] == "LEAKED []", lines[2]
