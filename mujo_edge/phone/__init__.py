"""On-phone benchmarks over adb: push a bundle's models and the official benchmark programs (LiteRT's
``benchmark_model``, ExecuTorch's ``executor_runner``), run them, pull and parse their output into the
one benchmark schema of :mod:`mujo_edge.bench.schema`. See docs/phone.md.

* :mod:`mujo_edge.phone.adb`: the ``adb`` wrapper and ``getprop`` parsing;
* :mod:`mujo_edge.phone.parsers`: parsers of both programs' exact output formats (and toybox ``time -v``);
* :mod:`mujo_edge.phone.android`: the orchestration behind ``mujo-edge bench android``.
"""
