"""``mujo-edge data ...``: create, import and inspect datasets.

The group's subcommands live in their own modules (``data_import``, ``data_synth``, ``data_show``), each
with a ``register(data_subparsers)`` function; ``merge``, small, is registered here.
"""

from __future__ import annotations

import argparse
import importlib

from mujo_edge.cli._args import shows_help

#: Modules that add subcommands to ``mujo-edge data``.
DATA_COMMAND_MODULES: tuple[str, ...] = ("data_import", "data_synth", "data_show", "data_noise", "data_video")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("data", help="create, import and inspect datasets")
    data_sub = p.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    for name in DATA_COMMAND_MODULES:
        importlib.import_module(f"mujo_edge.cli.{name}").register(data_sub)
    _register_merge(data_sub)
    p.set_defaults(func=shows_help(p))


def _register_merge(data_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    m = data_sub.add_parser(
        "merge",
        help="concatenate datasets on the same grid: labels and texts united, subjects kept distinct",
    )
    m.add_argument("paths", nargs="+", metavar="DATASET", help="two or more dataset folders")
    m.add_argument("--out", required=True, help="dataset folder to create")
    m.add_argument("--force", action="store_true", help="replace a dataset already at --out")
    m.set_defaults(func=_merge)


def _merge(args: argparse.Namespace) -> int:
    from mujo_edge.cli._console import console
    from mujo_edge.cli.data_import import print_summary
    from mujo_edge.training.data.merge import merge_datasets

    ds = merge_datasets(args.paths, args.out, overwrite=args.force)
    print_summary(ds)
    for src in ds.manifest["merged_from"]:
        if src["subject_offset"]:
            console.print(f"{src['path']}: subject ids moved up by {src['subject_offset']} (they were taken)")
    for name, why in ds.manifest["dropped_arrays"].items():
        console.print(f"[yellow]left out[/] {name}.npy: {why}")
    return 0
