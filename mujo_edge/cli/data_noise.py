"""``mujo-edge data noise-control CORPUS --out DIR``: the benchmark's control corpus (acc replaced by noise)."""

from __future__ import annotations

import argparse

from mujo_edge.cli._args import non_negative_int


def register(data_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = data_sub.add_parser(
        "noise-control",
        help="copy a corpus with its accelerometer replaced by noise of matching per-channel mean and std",
        description="Pretraining on the copy is the control of `mujo-edge benchmark --control RUN`: it differs "
        "from the real corpus only in what the accelerometer carries (pose, text, labels, subjects are copied).",
    )
    p.add_argument("corpus", metavar="CORPUS", help="dataset folder (mujo-edge data synth)")
    p.add_argument("--out", required=True, help="folder to write the control corpus to")
    p.add_argument("--seed", type=non_negative_int, default=0, help="noise seed (default 0)")
    p.set_defaults(func=_noise_control)


def _noise_control(args: argparse.Namespace) -> int:
    from mujo_edge.cli._console import console
    from mujo_edge.training.benchmark import noise_control_corpus

    m = noise_control_corpus(args.corpus, args.out, seed=args.seed)
    nc = m["noise_control"]
    mean = " ".join(f"{v:+.3f}" for v in nc["acc_mean_g"])
    std = " ".join(f"{v:.3f}" for v in nc["acc_std_g"])
    console.print(
        f"[green]noise control[/] {args.out}: acc ~ N(mean [{mean}] g, std [{std}] g) per channel, "
        f"content hash {m['content_hash'][:12]}"
    )
    return 0
