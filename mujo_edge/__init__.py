"""MuJo Edge: on-device wearable human-activity recognition.

The runtime core (this package without ``training``, ``export`` and ``firmware_bridge``) needs numpy and
scipy only, plus a model runtime (ai-edge-litert or executorch) to run a bundle. It never imports torch.

The names a phone or gateway application needs are available at the top::

    from mujo_edge import Bundle, Pipeline, SampleBatch

    pipeline = Pipeline.from_bundle(Bundle.open("model.mujo"))
    events = pipeline.feed(SampleBatch(device="watch", acc_g=acc_g, t_recv_s=t_recv_s, rate_hz=50.0))

They are imported on first use, so ``import mujo_edge`` stays as cheap as the errors module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mujo_edge.errors import (
    ArtifactError,
    BundleError,
    CalibrationError,
    ConfigError,
    CsvFormatError,
    DataError,
    DeviceError,
    ExportError,
    MissingDependencyError,
    MujoError,
    ProtocolError,
    ShapeError,
)

__version__ = "0.1.0"

#: Public name -> the module that defines it (imported lazily by :func:`__getattr__`).
_LAZY: dict[str, str] = {
    "Bundle": "mujo_edge.bundle",
    "Pipeline": "mujo_edge.pipeline",
    "StreamStats": "mujo_edge.pipeline",
    "SampleBatch": "mujo_edge.samples",
    "StreamStatus": "mujo_edge.samples",
    "ActivityEvent": "mujo_edge.events",
    "EventWriter": "mujo_edge.events",
    "read_events": "mujo_edge.events",
    "PitCalibration": "mujo_edge.calibration",
    "SupervisedPit": "mujo_edge.calibration",
}

__all__ = [
    "ActivityEvent",
    "ArtifactError",
    "Bundle",
    "BundleError",
    "CalibrationError",
    "ConfigError",
    "CsvFormatError",
    "DataError",
    "DeviceError",
    "EventWriter",
    "ExportError",
    "MissingDependencyError",
    "MujoError",
    "Pipeline",
    "PitCalibration",
    "ProtocolError",
    "SampleBatch",
    "ShapeError",
    "StreamStats",
    "StreamStatus",
    "SupervisedPit",
    "__version__",
    "read_events",
]

if TYPE_CHECKING:
    from mujo_edge.bundle import Bundle
    from mujo_edge.calibration import PitCalibration, SupervisedPit
    from mujo_edge.events import ActivityEvent, EventWriter, read_events
    from mujo_edge.pipeline import Pipeline, StreamStats
    from mujo_edge.samples import SampleBatch, StreamStatus


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mujo_edge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
