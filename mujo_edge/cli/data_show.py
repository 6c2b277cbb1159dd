"""``mujo-edge data show DIR --out PNG``: a picture of a few windows per class (acc traces + skeleton)."""

from __future__ import annotations

import argparse


def register(data_sub: argparse._SubParsersAction) -> None:
    p = data_sub.add_parser("show", help="plot a few windows per class of a dataset into a PNG")
    p.add_argument("path", metavar="DIR", help="dataset folder")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--per-class", type=int, default=3, help="windows per class (default 3)")
    p.add_argument("--seed", type=int, default=0, help="which windows are drawn (default 0)")
    p.set_defaults(func=_show)


def _show(args: argparse.Namespace) -> int:
    from mujo_edge.cli._console import console
    from mujo_edge.cli.data_import import print_summary
    from mujo_edge.training.data.format import Dataset
    from mujo_edge.training.data.show import render_dataset

    ds = Dataset.open(args.path)
    print_summary(ds)
    out = render_dataset(ds, args.out, per_class=args.per_class, seed=args.seed)
    console.print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
    return 0
