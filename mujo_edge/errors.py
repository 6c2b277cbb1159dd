"""Every error MuJo Edge raises on purpose.

One small hierarchy, rooted at :class:`MujoError`. Each message says what was expected, what was found and
what to do about it. The CLI catches :class:`MujoError`, prints the message and exits non-zero; anything
else is a bug.
"""

from __future__ import annotations


class MujoError(Exception):
    """Base class of every deliberate MuJo Edge error."""


# --- data -------------------------------------------------------------------------------------------
class DataError(MujoError):
    """A dataset, recording or input array is malformed (wrong shape, NaN, missing file, bad manifest)."""


class CsvFormatError(DataError):
    """A bring-your-own CSV recording cannot be imported. The message names file, row and fix."""

    def __init__(self, path: str, row: int | None, problem: str, fix: str) -> None:
        where = f"{path}" if row is None else f"{path}, row {row}"
        super().__init__(f"{where}: {problem}. {fix}")
        self.path = path
        self.row = row


class ShapeError(DataError):
    """An array does not have the shape or dtype a stage expects."""


class ConfigError(MujoError):
    """A setting is invalid or settings contradict each other (a flag, a constructor argument, a spec file)."""


# --- models and artifacts ---------------------------------------------------------------------------
class ArtifactError(MujoError):
    """A checkpoint, bundle or other artifact is missing, corrupt, tampered with or of an unknown schema."""


class BundleError(ArtifactError):
    """A ``.mujo`` model bundle cannot be opened or used."""


class TrainingError(MujoError):
    """Training cannot go on: the loss or the weights became NaN or infinite. Nothing bad is written."""


class CalibrationError(MujoError):
    """A PIT calibration table cannot be fitted or applied."""


class ExportError(MujoError):
    """Quantization, conversion or verification of an exported model failed."""


class MissingDependencyError(MujoError):
    """An optional part of the toolkit is not installed. The message names the extra to install."""

    def __init__(self, what: str, extra: str, package: str | None = None) -> None:
        pkg = f" ({package})" if package else ""
        super().__init__(
            f"{what} needs the '{extra}' extra{pkg}, which is not installed. "
            f"Install it with: pip install 'mujo-edge[{extra}]'"
        )
        self.extra = extra


# --- devices and streams ----------------------------------------------------------------------------
class DeviceError(MujoError):
    """A watch cannot be found, connected to or driven (no adapter, not found, refused a command)."""


class ProtocolError(MujoError):
    """Bytes from a device do not decode (truncated, bad checksum, unknown version or frame type).

    The stream skips the packet and counts it; it never stops on one.
    """
