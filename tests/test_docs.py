"""The documentation builds and holds together: the API reference with no pdoc warning, no dead links."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _build_api_module():
    spec = importlib.util.spec_from_file_location("build_api", ROOT / "docs" / "build_api.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    pytest.importorskip("pdoc", reason="pdoc (dev extra) builds the API reference")
    build_api = _build_api_module()
    problems = build_api.build(tmp_path)
    assert not problems, "pdoc warnings (fix the docstrings or annotations):\n" + "\n".join(problems)
    assert "Pipeline" in (tmp_path / "mujo_edge" / "pipeline.html").read_text()


def test_relative_links_in_docs_resolve() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    dead = []
    for page in pages:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            for target in LINK.findall(line):
                if "://" in target or target.startswith("mailto:"):
                    continue
                if not (page.parent / target).exists():
                    dead.append(f"{page.relative_to(ROOT)}:{number}: {target}")
    assert not dead, "links to files that do not exist:\n" + "\n".join(dead)


def test_makefile_documents_what_it_references() -> None:
    for ref in re.findall(r"docs/[\w./-]+\.md", (ROOT / "Makefile").read_text()):
        assert (ROOT / ref).is_file(), f"the Makefile points at {ref}, which does not exist"
