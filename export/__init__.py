"""Export: int8 post-training quantization (PT2E), LiteRT and ExecuTorch conversion, verification in the
real runtimes, and the ``.mujo`` bundle writer.

Import the submodules you need (``mujo_edge.export.pipeline``, ``.quantize``, ``.tflite``, ``.executorch``,
``.verify``, ``.bundle_writer``); this package imports nothing heavy by itself.
"""
