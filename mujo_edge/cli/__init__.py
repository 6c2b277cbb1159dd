"""The ``mujo-edge`` command.

Each command group lives in its own module under ``mujo_edge.cli`` with a ``register(subparsers)``
function. Registering must stay cheap: a command imports its heavy parts (torch, executorch, bleak) inside
its handler, so ``mujo-edge --help`` and the runtime commands start fast on a phone or gateway.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from mujo_edge import __version__
from mujo_edge.errors import MujoError

#: Command modules, in the order their commands appear in ``--help``.
COMMAND_MODULES: tuple[str, ...] = ("data", "doctor", "bench", "train", "export", "teach", "stream", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mujo-edge",
        description="On-device wearable activity recognition: MuJo joint-space pretraining, int8 export, "
        "BLE watch streaming.",
    )
    parser.add_argument("--version", action="version", version=f"mujo-edge {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"mujo_edge.cli.{name}").register(sub)
    return parser


def _setup_logging(verbosity: int) -> None:
    from rich.logging import RichHandler

    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False)],
        force=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mujo-edge`` console script. Returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _setup_logging(args.verbose)
    from rich.markup import escape

    from mujo_edge.cli._console import console

    try:
        code = args.func(args)
    except MujoError as e:
        # escape: messages hold brackets ("pip install 'mujo-edge[training]'") that rich would eat as markup
        console.print(f"[bold red]error:[/] {escape(str(e))}")
        return 2
    except OSError as e:  # a file the command could not read or write (permissions, a full disk, a folder)
        if args.verbose >= 2:
            logging.getLogger(__name__).exception("the command stopped on a file system error")
        console.print(
            f"[bold red]error:[/] {escape(str(e))}; check that path (and free space), then run it again"
            + ("" if args.verbose >= 2 else " (-vv shows where it happened)")
        )
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
