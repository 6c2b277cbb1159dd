"""A thin, explicit wrapper over the ``adb`` command line (platform-tools), for benchmark orchestration.

Every call is one ``adb [-s SERIAL] ...`` process; failures become :class:`~mujo_edge.errors.DeviceError`
with what adb said and what to do. Nothing here is Android-version specific beyond ``adb shell`` running
``/system/bin/sh`` with toybox.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from mujo_edge.errors import DeviceError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 600.0


class Adb:
    """Runs ``adb`` for one device (``serial``; None = the only one attached)."""

    def __init__(
        self, serial: str | None = None, adb: str = "adb", timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        path = shutil.which(adb)
        if path is None:
            raise DeviceError(
                f"'{adb}' was not found on PATH. Install Android platform-tools (e.g. `apt install adb` or "
                "https://developer.android.com/tools/releases/platform-tools) and see docs/phone.md."
            )
        self.adb = path
        self.serial = serial
        self.timeout_s = timeout_s

    def _argv(self, *args: str) -> list[str]:
        return [self.adb, *(["-s", self.serial] if self.serial else []), *args]

    def run(self, *args: str, check: bool = True) -> str:
        """``adb [-s S] ARGS``; its stdout (stderr appended). Raises DeviceError on a non-zero exit."""
        argv = self._argv(*args)
        log.debug("adb: %s", " ".join(argv))
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired as e:
            raise DeviceError(
                f"`adb {' '.join(args)}` did not finish within {self.timeout_s:.0f} s: is the phone still "
                "connected and unlocked? Lower --runs if the benchmark itself is that slow."
            ) from e
        except OSError as e:
            raise DeviceError(f"cannot run {self.adb}: {e}. Reinstall platform-tools.") from e
        out = proc.stdout + (proc.stderr or "")
        if check and proc.returncode != 0:
            raise DeviceError(
                f"`adb {' '.join(args)}` failed with exit code {proc.returncode}: {out.strip()[-600:]!r}. "
                + _hint(out)
            )
        return out

    def shell(self, command: str, check: bool = True) -> str:
        return self.run("shell", command, check=check)

    def push(self, local: str | Path, remote: str) -> None:
        self.run("push", str(local), remote)

    def pull(self, remote: str, local: str | Path) -> None:
        self.run("pull", remote, str(local))

    def ensure_device(self) -> None:
        """Fail early, clearly, when no (authorized) device answers."""
        state = self.run("get-state", check=False).strip()
        if state.splitlines()[-1:] != ["device"]:
            raise DeviceError(
                f"no usable Android device{' ' + self.serial if self.serial else ''}: adb get-state says "
                f"{state!r}. " + _hint(state)
            )


def _hint(out: str) -> str:
    low = out.lower()
    if "unauthorized" in low:
        return "Unlock the phone and accept the 'Allow USB debugging' prompt, then retry."
    if "more than one" in low:
        return "Several devices are attached: pass --serial (see `adb devices`)."
    if "no devices" in low or "not found" in low or "offline" in low:
        return (
            "Connect the phone by USB with USB debugging enabled (docs/phone.md, step 1) and check "
            "`adb devices`."
        )
    return "See docs/phone.md for the set-up steps."


def parse_getprop(text: str) -> dict[str, str]:
    """``adb shell getprop`` output (``[key]: [value]`` lines) as a dict."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not (line.startswith("[") and "]: [" in line and line.endswith("]")):
            continue
        key, _, value = line[1:-1].partition("]: [")
        props[key] = value
    return props
