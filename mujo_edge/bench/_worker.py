"""Benchmark worker: ``python -m mujo_edge.bench._worker`` reads one JSON spec on stdin, measures it, and
prints one line ``MUJO_BENCH_RESULT {"ok": ..., "result"|"error": ...}`` on stdout.

A fresh process per measurement keeps peak RSS and import time honest: each runtime is measured alone.
"""

from __future__ import annotations

import json
import sys

from mujo_edge.noise import quiet_third_party


def main() -> int:
    quiet_third_party()
    from mujo_edge.bench.host import RESULT_MARKER, _run_in_process

    spec = json.loads(sys.stdin.read())
    reply = _run_in_process(spec)
    sys.stdout.write(RESULT_MARKER + json.dumps(reply) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
