"""Benchmarks of MuJo Edge models, on this host and on an Android phone, in ONE JSON schema.

* :mod:`mujo_edge.bench.schema`: the schema (``schema_version``, ``machine``, ``results[]``), validation
  on load, reading and writing (docs/bench-schema.md).
* :mod:`mujo_edge.bench.host`: ``mujo-edge bench``: every model of a bundle in its real runtime, the
  float PyTorch reference, and the streaming pipeline's own per-window cost.
* :mod:`mujo_edge.bench.compare`: ``mujo-edge bench compare``: reports side by side (rich or Markdown).
* :mod:`mujo_edge.phone` holds the Android/adb orchestration and the output parsers of LiteRT's
  ``benchmark_model`` and ExecuTorch's ``executor_runner`` (``mujo-edge bench android``).

Part of the runtime core: numpy and the standard library; torch only for the PyTorch reference, imported
inside that measurement.
"""

from mujo_edge.bench.schema import (
    SCHEMA_NAME,
    SCHEMA_VERSION,
    BenchResult,
    load_report,
    validate_report,
    write_report,
)

__all__ = ["SCHEMA_NAME", "SCHEMA_VERSION", "BenchResult", "load_report", "validate_report", "write_report"]
