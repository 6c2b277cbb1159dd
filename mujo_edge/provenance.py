"""Provenance for artifacts: what made them, and a content hash to tell whether they changed.

Every dataset, checkpoint, bundle and benchmark result carries the dict from :func:`provenance` in its
manifest. Shared here so that all artifacts describe their origin the same way.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mujo_edge import __version__

_CHUNK = 1 << 20


def command_line(argv: list[str]) -> str:
    """The command that made an artifact as a user types it: ``mujo-edge ...`` for the CLI (whether run as
    the installed script or as ``python -m mujo_edge.cli``), else the script (relative to the working folder,
    or its bare name when outside it) and its arguments: never a machine's folder layout."""
    if not argv:
        return ""
    prog = Path(argv[0])
    if "mujo-edge" in prog.name or prog.parts[-3:] == ("mujo_edge", "cli", "__main__.py"):
        return " ".join(["mujo-edge", *argv[1:]])
    if prog.is_absolute():
        try:
            prog = prog.relative_to(Path.cwd())
        except ValueError:
            prog = Path(prog.name)
    return " ".join([str(prog), *argv[1:]])


def provenance(seed: int | None = None, **extra: Any) -> dict[str, Any]:
    """The command, toolkit version, Python, time (UTC, ISO 8601) and seed that produced an artifact."""
    info: dict[str, Any] = {
        "command": command_line(sys.argv),
        "mujo_edge_version": __version__,
        "python": platform.python_version(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if seed is not None:
        info["seed"] = int(seed)
    info.update(extra)
    return info


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def content_hash(files: Iterable[str | Path], root: str | Path | None = None) -> str:
    """One sha256 over several files: their names (relative to ``root``) and bytes, in sorted name order."""
    h = hashlib.sha256()
    paths = sorted(Path(p) for p in files)
    for p in paths:
        name = str(p.relative_to(root)) if root is not None else p.name
        h.update(name.encode())
        h.update(bytes.fromhex(sha256_file(p)))
    return h.hexdigest()


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically (temp file + rename)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def read_manifest(
    folder: str | Path,
    fmt: str,
    schema_version: int,
    error: type[Exception],
    made_by: str,
) -> dict[str, Any]:
    """Read and check ``folder/manifest.json`` of a folder artifact (dataset, checkpoint, student).

    Args:
        folder: the artifact folder.
        fmt: the ``"format"`` the manifest must name.
        schema_version: the one schema version this mujo-edge reads.
        error: the MujoError subclass to raise (DataError for datasets, ArtifactError for models).
        made_by: the command that makes such a folder, for the messages (e.g. "`mujo-edge distill`").
    Raises:
        ``error``: no manifest, invalid JSON, another format, or another schema version; each says which.
    """
    mpath = Path(folder) / "manifest.json"
    if not mpath.is_file():
        raise error(f"{folder} has no manifest.json: expected a {fmt} folder made by {made_by}.")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(
            f"{mpath} is not valid JSON ({e}): the artifact is corrupt; re-create it with {made_by}."
        ) from e
    return check_format(manifest, fmt, schema_version, error, str(mpath), f"re-create it with {made_by}")


def check_format(
    obj: Any,
    fmt: str,
    versions: int | tuple[int, ...],
    error: type[Exception],
    where: str,
    fix: str,
    version_key: str = "schema_version",
    format_key: str = "format",
) -> dict[str, Any]:
    """``obj`` when it is a mapping naming ``format_key: fmt`` and a ``version_key`` this mujo-edge reads.

    The one format/version check every self-describing artifact gets (bundles, folder manifests, PIT tables,
    recordings, benchmark reports). Raises ``error`` saying ``where`` the artifact is, what was expected, what
    was found and what to do: ``fix`` for another format or an old version; for a version newer than any
    this mujo-edge reads, to upgrade mujo-edge first.
    """
    readable = (versions,) if isinstance(versions, int) else versions
    if not isinstance(obj, Mapping) or obj.get(format_key) != fmt:
        found = obj.get(format_key) if isinstance(obj, Mapping) else type(obj).__name__
        what = f"expected format {fmt!r}" if format_key == "format" else f"expected {format_key} {fmt!r}"
        raise error(f"{where}: {what}, found {found!r}; {fix}.")
    version = obj.get(version_key)
    if isinstance(version, bool) or version not in readable:
        newer = isinstance(version, int) and not isinstance(version, bool) and version > max(readable)
        todo = (
            "it was written by a newer mujo-edge: upgrade mujo-edge (pip install -U mujo-edge) to read it, "
            f"or {fix}"
            if newer
            else fix
        )
        raise error(
            f"{where}: {version_key} {version!r} is not supported by this mujo-edge (it reads "
            f"{', '.join(map(str, readable))}); {todo}."
        )
    return dict(obj)


def manifest_format(folder: str | Path) -> str | None:
    """The ``format`` its ``manifest.json`` names (None: no manifest, or one of no known kind)."""
    try:
        found = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8")).get("format")
    except (ValueError, OSError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def check_out_folder(out: str | Path, fmt: str, what: str, inputs: Mapping[str, str | Path | None]) -> None:
    """Before a command writes the artifact folder ``out`` (manifest format ``fmt``): ConfigError when that
    would destroy something, namely when ``out`` is one of ``inputs`` ({flag: path}), is a file, or already
    holds another kind of artifact (a dataset, a teacher, a pretraining run...). A folder holding the same
    kind is the command's own business (re-running it, or resuming)."""
    from mujo_edge.errors import ConfigError

    out = Path(out)
    for flag, p in inputs.items():
        if p is not None and Path(p).resolve() == out.resolve():
            raise ConfigError(f"--out {out} is the {flag} itself; write the {what} to a new folder")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the {what}")
    if (out / "manifest.json").is_file():
        found = manifest_format(out)
        if found != fmt:
            held = (
                f"a {found}"
                if isinstance(found, str)
                else "something else (a manifest.json of no known kind)"
            )
            raise ConfigError(
                f"--out {out} already holds {held}; write the {what} to a new folder (or remove that one first)"
            )
