"""``mujo-edge data show DIR --out PNG``: a picture of a few windows per class (acc traces + skeleton).

Where the picture goes (a folder, a name without suffix, an unsupported format) is settled before the dataset
is read, so a wrong ``--out`` fails at once, and the message names the file really written.
"""

from __future__ import annotations

import argparse

from mujo_edge.cli._args import non_negative_int


def register(data_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = data_sub.add_parser("show", help="plot a few windows per class of a dataset into a PNG")
    p.add_argument("path", metavar="DIR", help="dataset folder")
    p.add_argument(
        "--out",
        required=True,
        help="picture to write: a .png (or .svg, .pdf) file; without a suffix .png is added; an existing "
        "folder (or a path ending in /) gets DATASET-NAME.png inside it",
    )
    p.add_argument("--per-class", type=int, default=3, help="windows per class (default 3)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="which windows are drawn (default 0)")
    p.set_defaults(func=_show)


def _show(args: argparse.Namespace) -> int:
    from mujo_edge.cli._console import console
    from mujo_edge.cli.data_import import print_summary
    from mujo_edge.training.data.format import Dataset
    from mujo_edge.training.data.show import figure_path, render_dataset

    figure_path(args.out, args.path)  # refuse an unsupported --out before reading anything
    ds = Dataset.open(args.path)
    print_summary(ds)
    out = render_dataset(ds, args.out, per_class=args.per_class, seed=args.seed)
    console.print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
    return 0
