"""``mujo-edge data ...``: create, import and inspect datasets.

The group's subcommands live in their own modules (``data_import``, ``data_synth``, ``data_show``), each
with a ``register(data_subparsers)`` function.
"""

from __future__ import annotations

import argparse
import importlib

#: Modules that add subcommands to ``mujo-edge data``.
DATA_COMMAND_MODULES: tuple[str, ...] = ("data_import", "data_synth", "data_show", "data_noise", "data_video")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="create, import and inspect datasets")
    data_sub = p.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    for name in DATA_COMMAND_MODULES:
        importlib.import_module(f"mujo_edge.cli.{name}").register(data_sub)
    p.set_defaults(func=lambda _args: p.print_help() or 2)
