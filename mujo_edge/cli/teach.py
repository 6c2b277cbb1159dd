"""``mujo-edge teach`` and ``mujo-edge calibrate``: adapt a bundle on the phone or gateway, without torch.

``teach``: a few labelled examples of the user's own activities -> a new bundle with the same student and
a new head (labels, weight, open-set test) fitted on the frozen embeddings with numpy/scipy
(:mod:`mujo_edge.heads`). Examples come from a dataset folder (``mujo-edge data import csv`` makes one from
a CSV), from a recording (``mujo-edge stream --record``) with a segments file naming which seconds were
which activity, or from a guided recording made there and then (``--live``: :mod:`mujo_edge.cli.teach_live`
prompts through the activities). A recording's windows are cut as the live run cut them, its wrist included.

``calibrate``: the paper's unsupervised PIT calibration as a device feature: the first minutes of a user's
unlabelled recording are mapped, channel by channel, onto the distribution the bundle's model was trained
on (the bundle's ``calibration_target`` quantiles), and the table is written into a copy of the bundle.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.cli._args import comma_names, non_negative_int, positive_float
from mujo_edge.errors import ConfigError, DataError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from mujo_edge.firmware_bridge.profiles import PROFILE_NAMES  # the registry; a light import

    t = sub.add_parser(
        "teach",
        help="a new bundle from a few labelled examples of your activities (numpy only, no torch)",
        description="Fit a classifier head on the bundle model's frozen embeddings of a few labelled windows "
        "per activity (nearest class mean, or logistic regression) and write a new bundle: same student, new "
        "labels, head and open-set test. The examples come from a dataset folder, from a recording and its "
        "segments, or from a guided recording made now (--live: each activity announced, recorded, then the "
        "next). Runs on a runtime-only install.",
    )
    t.add_argument("--bundle", required=True, type=Path, help="the bundle whose student to reuse")
    t.add_argument("--out", required=True, type=Path, help="the new bundle")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="dataset folder with labelled windows (mujo-edge data import)")
    src.add_argument("--recording", type=Path, help="a recording made by mujo-edge stream --record")
    src.add_argument(
        "--live",
        action="store_true",
        help="prompt you through --activities one by one while recording your watch, then teach from that",
    )
    t.add_argument(
        "--segments",
        type=Path,
        help="with --recording: CSV rows 'start_s,end_s,label', seconds from the recording's first sample",
    )
    t.add_argument(
        "--wrist",
        choices=("left", "right"),
        default=None,
        help="with --recording: the wrist the watch was on, overriding the recording's header (without one: "
        "right); with --live: the wrist you wear it on (default left)",
    )
    live = t.add_argument_group(
        "--live", "a guided recording: each activity is announced, recorded, then the next"
    )
    live.add_argument(
        "--activities",
        type=comma_names,
        default=[],
        metavar="NAMES",
        help="comma-separated activities, in order",
    )
    live.add_argument("--device", metavar="NAME|ADDRESS", help="the watch to record")
    live.add_argument(
        "--virtual", action="store_true", help="a virtual watch whose synthetic wearer does what is asked"
    )
    live.add_argument("--profile", choices=PROFILE_NAMES, help="device profile (default polar)")
    live.add_argument("--seconds", type=float, help="seconds of each activity (default 30)")
    live.add_argument("--rest", type=float, help="seconds to get ready before each activity (default 5)")
    live.add_argument(
        "--reps", type=int, help="repetitions to ask for in each activity's prompt (default 10)"
    )
    live.add_argument(
        "--record",
        type=Path,
        help="where to keep the recording (default: next to --out, .jsonl); its segments go beside it (.csv)",
    )
    t.add_argument("--subjects", help="with --data: only these subjects' windows (comma-separated ids)")
    t.add_argument(
        "--per-class", type=int, help="use at most this many windows per activity (random, --seed)"
    )
    t.add_argument("--method", choices=("ncm", "logreg"), default="ncm", help="nearest class mean or logreg")
    t.add_argument(
        "--reject-labels",
        type=comma_names,
        default=[],
        metavar="LABELS",
        help="comma-separated taught labels that mean 'none of these' (say, examples labelled other of what "
        "you do besides your activities): windows closest to them come out unknown",
    )
    t.add_argument("--seed", type=non_negative_int, default=0)
    t.set_defaults(func=_teach)

    c = sub.add_parser(
        "calibrate",
        help="fit the PIT calibration from the first minutes of your unlabelled recording into a bundle copy",
        description="Unsupervised probability-integral-transform calibration (the paper's, per channel): the "
        "recording's sample distribution is mapped onto the distribution the bundle's model was trained on. "
        "Needs a bundle that carries calibration_target quantiles (bundles exported by this version do).",
    )
    c.add_argument("--bundle", required=True, type=Path)
    c.add_argument(
        "--recording", required=True, type=Path, help="a recording made by mujo-edge stream --record"
    )
    c.add_argument(
        "--minutes", type=positive_float, default=3.0, help="use the first MINUTES of windows (default 3)"
    )
    c.add_argument("--out", required=True, type=Path, help="the calibrated copy of the bundle")
    c.add_argument(
        "--wrist",
        choices=("left", "right"),
        default=None,
        help="the wrist the watch was on, overriding the recording's header (without one: right)",
    )
    c.set_defaults(func=_calibrate)


# --- windows from a recording, through the runtime's own path ----------------------------------------
class _Capture:
    """A runner wrapper that keeps every window the pipeline classifies (in event order)."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.windows: list[np.ndarray] = []

    def run(self, windows_g: np.ndarray, embedding: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        self.windows.append(np.array(windows_g, np.float32))
        return self.runner.run(windows_g, embedding=embedding)

    def predict(self, windows_g: np.ndarray) -> np.ndarray:  # pragma: no cover - the head path calls run
        raise NotImplementedError


def recording_windows(
    bundle: Any, recording: Path, calibrate: bool = True, wrist: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, WINDOW, 3) windows of a recording as the live pipeline made them (clock, grid, gaps, a left wrist
    mirrored into the model's frame as the recording's header says, or as ``wrist`` overrides; the bundle's
    calibration when ``calibrate``), and (N,) host times of each window's first and last sample (s, the
    recording's clock, as its events carry them)."""
    from mujo_edge.gateway import recorded_wrist, replay_events
    from mujo_edge.heads import Head
    from mujo_edge.pipeline import Pipeline

    if not recording.is_file():
        raise DataError(
            f"recording {recording} not found; expected a file written by `mujo-edge stream --record`"
        )
    cap = _Capture(bundle.runner())
    probe = Head("logits", bundle.model_labels)
    p = Pipeline(
        cap,
        bundle.model_labels,
        calibration=bundle.calibration if calibrate else None,
        window=bundle.window,
        hop=bundle.hop,
        rate_hz=bundle.rate_hz,
        head=probe,
        wrist=wrist if wrist is not None else recorded_wrist([recording]),
    )
    events = replay_events([recording], p)
    if not events:
        raise DataError(f"{recording} yields no complete window; record at least {bundle.window} samples")
    x = np.concatenate(cap.windows)  # what the model saw: calibrated when ``calibrate``
    return x, np.array([e.t_start for e in events]), np.array([e.t_end for e in events])


def read_segments(path: Path) -> list[tuple[float, float, str]]:
    """Rows ``start_s,end_s,label`` (a header row is allowed). DataError names the bad row."""
    if not path.is_file():
        raise DataError(f"segments file {path} does not exist; expected CSV rows start_s,end_s,label")
    out = []
    try:
        text = path.read_text(encoding="utf-8-sig")  # (-sig: Excel's byte-order mark is not part of row 1)
    except UnicodeDecodeError as e:
        raise DataError(
            f"segments file {path} is not UTF-8 text ({e}); save it as UTF-8 (Excel: CSV UTF-8)"
        ) from e
    rows: list[int] = []  # (the file's row of each segment, for messages)
    for i, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
        if not row or row[0].strip().startswith("#"):
            continue
        if i == 1 and row[0].strip().lower() in ("start_s", "start"):
            continue
        try:
            a, b, lab = float(row[0]), float(row[1]), row[2].strip()
        except (IndexError, ValueError):
            raise DataError(f"{path}, row {i}: expected start_s,end_s,label, got {row}") from None
        if not (np.isfinite(a) and np.isfinite(b) and b > a and lab):
            raise DataError(f"{path}, row {i}: a segment needs start_s < end_s and a label, got {row}")
        out.append((a, b, lab))
        rows.append(i)
    if not out:
        raise DataError(f"{path} holds no segment")
    for j, (a, b, lab) in enumerate(out):  # (a window in two activities' segments cannot be both)
        for k in range(j):
            if out[k][2] != lab and out[k][0] < b and a < out[k][1]:
                raise DataError(
                    f"{path}, rows {rows[k]} and {rows[j]}: {out[k][2]} {out[k][0]:g}-{out[k][1]:g} s and "
                    f"{lab} {a:g}-{b:g} s overlap, so their shared seconds would be taught as both; "
                    "correct the times so each second has one activity"
                )
    return out


# --- teach -------------------------------------------------------------------------------------------
def examples_from_dataset(
    bundle: Any, path: Path, subjects: str | None
) -> tuple[np.ndarray, list[str], list[str]]:
    """(N, WINDOW, 3) windows (after the bundle's calibration), their label names, and the label order."""
    from mujo_edge.training.data.format import Dataset

    ds = Dataset.open(path)
    if ds.acc.shape[1] != bundle.window or ds.rate_hz != bundle.rate_hz:
        raise DataError(
            f"{path} holds {ds.acc.shape[1]}-sample windows at {ds.rate_hz:g} Hz; the bundle takes "
            f"{bundle.window} at {bundle.rate_hz:g} Hz"
        )
    idx = np.arange(len(ds))
    if subjects:
        try:
            want = [int(s) for s in subjects.split(",") if s.strip()]
        except ValueError as e:
            raise ConfigError(
                f"--subjects {subjects!r}: give subject ids, comma-separated (e.g. 9,10)"
            ) from e
        idx = np.flatnonzero(np.isin(np.asarray(ds.subject), want))
        if not idx.size:
            raise DataError(f"{path} has no windows of subjects {want}")
    x = np.asarray(ds.acc[idx], np.float32)
    if bundle.calibration is not None:
        x = bundle.calibration.apply(x)
    names = [ds.labels[i] for i in np.asarray(ds.label)[idx]]
    return x, names, [lab for lab in ds.labels if lab in set(names)]


def examples_from_recording(
    bundle: Any, recording: Path, segments: Path, wrist: str | None = None
) -> tuple[np.ndarray, list[str], list[str]]:
    """The windows of ``recording`` that lie wholly inside a segment of ``segments`` (seconds from the
    recording's first window, 0.25 s of slack at each end), their segments' labels, and the label order."""
    x, t_start, t_end = recording_windows(bundle, recording, wrist=wrist)
    origin = float(t_start.min())
    keep, names = [], []
    segs = read_segments(segments)
    found = [0] * len(segs)
    for i, (a_w, b_w) in enumerate(zip((t_start - origin).tolist(), (t_end - origin).tolist(), strict=True)):
        for j, (a, b, lab) in enumerate(segs):
            if a_w >= a - 0.25 and b_w <= b + 0.25:  # the whole window inside the segment
                keep.append(i)
                names.append(lab)
                found[j] += 1
                break
    span = float(t_end.max()) - origin
    if not keep:
        raise DataError(
            f"no window of {recording} lies inside a segment of {segments}; times are seconds from the "
            f"recording's first window (it spans {span:.0f} s)"
        )
    window_s = bundle.window / bundle.rate_hz
    empty = {lab for _, _, lab in segs} - set(names)
    if empty:
        why = [
            f"{lab} {a:g}-{b:g} s ("
            + (
                "beyond the recording's end"
                if a >= span
                else f"shorter than a {window_s:g}-s window"
                if b - a < window_s
                else "no whole window inside it"
            )
            + ")"
            for (a, b, lab), n in zip(segs, found, strict=True)
            if lab in empty and not n
        ]
        raise DataError(
            f"{segments}: no window of {recording} (it spans {span:.0f} s from its first window) lies inside "
            f"the segments of {sorted(empty)}: {'; '.join(why)}. Correct those rows or delete them"
        )
    return x[keep], names, list(dict.fromkeys(lab for _, _, lab in segs))


def teach_bundle(
    bundle: Any,
    out: Path,
    windows_g: np.ndarray,
    names: list[str],
    labels: list[str],
    method: str = "ncm",
    per_class: int | None = None,
    seed: int = 0,
    source: dict[str, Any] | None = None,
    reject: list[str] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fit the head on the examples and write the new bundle; returns it and a report (counts, seconds)."""
    from mujo_edge.heads import fit_head, looser_curve, taught_open_set

    refuse_unknown_label(labels)  # (every label named, with examples or not)
    present = [lab for lab in labels if lab in set(names)]
    reject = list(reject or [])
    check_taught_labels(present, reject, per_class)
    y_all = np.array([present.index(n) for n in names if n in present])
    x_all = windows_g[[i for i, n in enumerate(names) if n in present]]
    if per_class is not None:
        rng = np.random.default_rng(seed)
        pick = np.concatenate(
            [rng.permutation(np.flatnonzero(y_all == c))[:per_class] for c in range(len(present))]
        )
        x_all, y_all = x_all[np.sort(pick)], y_all[np.sort(pick)]
    runner = bundle.runner()
    t0 = time.perf_counter()
    emb = runner.run(x_all, embedding=True)[1]
    if emb is None:
        raise DataError(f"{bundle.path}: its model exports no embedding, so it cannot be taught")
    t1 = time.perf_counter()
    stats = bundle.head.stats  # the base bundle's window statistics, when its head reads them
    head = taught_open_set(
        fit_head(emb, y_all, present, method=method, stats=stats, windows=x_all),
        emb,
        y_all,
        bundle.head,
        reject=reject,
        windows=x_all,
    )
    counts = {lab: int((y_all == c).sum()) for c, lab in enumerate(present)}
    fewest = min(v for k, v in counts.items() if k not in reject)  # the leave-one-out needs 3 of each
    loo_threshold = head.threshold
    base_thr = bundle.head.threshold
    base_keep = None
    if base_thr is not None and bundle.head.keep_curve is not None:
        base_keep = min(TAUGHT_BASE_KEEP, float(bundle.head.keep_curve[-1, 0]))  # (a curve may end before)
        base_thr = bundle.head.at_keep(base_keep).threshold  # (its loosest validated point)
    base_source = (bundle.manifest.get("head") or {}).get("source")
    # Same metric as the base bundle's test (its precision, its statistics' space, or cosines to prototypes
    # of windows), whose thresholds were chosen on hundreds of validation windows of many subjects: a few
    # examples of one session underestimate how far a known window of another may lie from its class mean,
    # so the looser of the two thresholds is kept, the base's at TAUGHT_BASE_KEEP of its curve. (Not for
    # cosines to label texts, a words bundle's test: those are no distances to windows.)
    looser = (
        fewest >= 3
        and head.threshold is not None
        and base_thr is not None
        and (
            head.score_kind in ("mahalanobis", "euclidean")
            or (head.score_kind == "cosine" and base_source != "label texts")
        )
    )
    if looser:
        assert head.threshold is not None and base_thr is not None
        head = dataclasses.replace(
            head,
            threshold=float(min(head.threshold, base_thr)),
            keep_curve=looser_curve(head.keep_curve, bundle.head.keep_curve),
        )
    t2 = time.perf_counter()
    taught = bundle.derive(
        out,
        head=head,
        head_info={
            "source": "taught examples",
            "method": method,
            "examples_per_label": counts,
            **(source or {}),
        },
        open_set_info=None
        if head.threshold is None
        else {
            "chosen_on": "the looser of leave-one-out over the taught examples and the base bundle's threshold"
            if looser
            else "leave-one-out over the taught examples"
            if fewest >= 3
            else "the base bundle's threshold (fewer than 3 examples of some label)",
            "leave_one_out_threshold": None if loo_threshold is None else float(loo_threshold),
            "base_threshold": None if base_thr is None else float(base_thr),
            "base_keep": base_keep,
            "metric": "the base bundle's" if head.precision is not None else "cosine",
        },
        name="taught: " + ", ".join(present),
    )
    return taught, {"examples": counts, "embed_s": t1 - t0, "fit_s": t2 - t1}


#: Where on the base bundle's keep curve a taught open-set test takes the base threshold it may loosen to:
#: the loosest point its validation windows support. Chosen on the validation activities of the unknown
#: corpus (experiments/teach_open_set.py, experiments/2026-12-teach-live.md): one subject's examples make a
#: tight test for everyone else, and balanced accuracy (known kept, unknown rejected) rose towards this point
#: in every setting tried.
TAUGHT_BASE_KEEP = 1.0

#: The flags of a guided recording (``--live``), refused without it.
LIVE_FLAGS = ("activities", "device", "virtual", "profile", "seconds", "rest", "reps", "record")


def _live_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the guided recording's defaults where a flag was not given."""
    defaults = {"profile": "polar", "seconds": 30.0, "rest": 5.0, "reps": 10}
    return argparse.Namespace(
        **{**vars(args), **{k: v for k, v in defaults.items() if getattr(args, k) is None}}
    )


def refuse_unknown_label(labels: list[str]) -> None:
    """DataError when an activity is named like the open-set answer (in any case: ``Unknown`` too)."""
    from mujo_edge.constants import UNKNOWN_LABEL
    from mujo_edge.events import is_unknown_label

    named = [lab for lab in labels if is_unknown_label(lab)]
    if named:
        raise DataError(
            f"{named[0]!r}: {UNKNOWN_LABEL!r} is the open-set answer of every bundle; rename that activity"
        )


def check_taught_labels(labels: list[str], reject: list[str] | None, per_class: int | None) -> None:
    """What :func:`teach_bundle` refuses in its labels and settings (DataError/ConfigError say what to do)."""
    refuse_unknown_label(labels)
    missing = [r for r in reject or [] if r not in labels]
    if missing:
        raise DataError(f"--reject-labels {missing}: not among the taught labels {labels}")
    if len([lab for lab in labels if lab not in (reject or [])]) < 2:
        raise DataError(
            f"teaching needs examples of at least two activities besides the reject labels; found {labels}"
        )
    if per_class is not None and per_class < 1:
        raise ConfigError(f"--per-class must be >= 1, got {per_class}")


def refuse_out_is_bundle(args: argparse.Namespace) -> None:
    """ConfigError when ``--out`` would replace ``--bundle``: the base is what teaching or calibrating
    again starts from, so the command never writes over it."""
    if Path(args.out).resolve() == Path(args.bundle).resolve():
        raise ConfigError(
            f"--out {args.out} is the --bundle itself; write the new bundle to another file (the base stays "
            "what teaching or calibrating again starts from)"
        )


def _teach(args: argparse.Namespace) -> int:
    from mujo_edge.bundle import Bundle
    from mujo_edge.cli._console import console

    refuse_out_is_bundle(args)
    base = Bundle.open(args.bundle)
    live = [f for f in LIVE_FLAGS if getattr(args, f) not in (None, False, [])]
    if live and not args.live:
        raise ConfigError(f"--{live[0]} belongs to a guided recording: add --live")
    if args.segments is not None and args.recording is None:
        raise ConfigError("--segments names the activities of a --recording; --live writes its own")
    if args.wrist is not None and args.data is not None:
        raise ConfigError(
            "--wrist is the wrist of a recording (--recording, --live); a dataset's windows are as stored"
        )
    if args.data is not None:
        x, names, labels = examples_from_dataset(base, args.data, args.subjects)
        source = {"data": str(args.data), "subjects": args.subjects}
    elif args.live:
        from mujo_edge.cli.teach_live import run_live

        # what teaching would refuse, refused before the user does every activity
        check_taught_labels(args.activities, args.reject_labels, args.per_class)
        rec, seg, samples = run_live(
            _live_defaults(args),
            base.window / base.rate_hz,
            lambda r: float(recording_windows(base, r, calibrate=False)[1].min()),
        )
        console.print(f"recorded {samples} samples to {rec}; segments in {seg}")
        try:
            x, names, labels = examples_from_recording(base, rec, seg)
            return _write_taught(args, base, x, names, labels, {"recording": str(rec), "segments": str(seg)})
        except DataError as e:
            raise DataError(
                f"{e}. The recording and its segments are kept: teach again from them with `mujo-edge teach "
                f"--bundle {args.bundle} --recording {rec} --segments {seg} --out {args.out}`"
            ) from e
    else:
        if args.segments is None:
            raise DataError(
                "--recording needs --segments FILE (rows start_s,end_s,label) to know what is what"
            )
        x, names, labels = examples_from_recording(base, args.recording, args.segments, args.wrist)
        source = {"recording": str(args.recording), "segments": str(args.segments)}
    return _write_taught(args, base, x, names, labels, source)


def _write_taught(
    args: argparse.Namespace,
    base: Any,
    x: np.ndarray,
    names: list[str],
    labels: list[str],
    source: dict[str, Any],
) -> int:
    from mujo_edge.cli._console import console

    b, rep = teach_bundle(
        base, args.out, x, names, labels, args.method, args.per_class, args.seed, source, args.reject_labels
    )
    ex = ", ".join(f"{k} {v}" for k, v in rep["examples"].items())
    thr = b.open_set_threshold
    console.print(
        f"[green]wrote {args.out}[/]: {len(b.labels)} labels from {sum(rep['examples'].values())} examples "
        f"({ex}); head fitted in {rep['fit_s'] * 1e3:.1f} ms ({args.method}), embeddings in "
        f"{rep['embed_s'] * 1e3:.1f} ms; open-set test "
        f"{'none (the base bundle has none)' if thr is None else f'{b.head.score_kind}, threshold {thr:.4g}'}"
        + (f"; {', '.join(b.head.reject)} mean 'none of these'" if b.head.reject else "")
    )
    return 0


# --- calibrate ---------------------------------------------------------------------------------------
#: Fewer windows than this (2 minutes at the usual 1-s hop) and calibrate warns that the table will describe
#: the recording's few activities rather than the wearer (docs/calibration.md: the first minutes of a session
#: cover only some of a user's activities).
MIN_CALIBRATION_WINDOWS = 120


def calibrated_bundle(bundle: Any, windows_g: np.ndarray, out: Path, note: dict[str, Any]) -> Any:
    """A copy of ``bundle`` at ``out`` whose PIT table maps the distribution of the user's raw (N, WINDOW,
    3) windows onto the bundle's ``calibration_target`` quantiles (the model's training distribution)."""
    from mujo_edge.calibration import PitCalibration
    from mujo_edge.errors import BundleError

    target = bundle.manifest.get("calibration_target")
    if not isinstance(target, dict) or "target_q" not in target:
        if bundle.calibration is None:
            raise BundleError(
                f"{bundle.path} carries no calibration_target (the training distribution), so it cannot be "
                "calibrated; re-export it with this mujo-edge (mujo-edge export writes one)"
            )
        target_q = bundle.calibration.target_q
    else:
        target_q = np.asarray(target["target_q"], np.float32)
    q = target_q.shape[1]
    src = np.asarray(windows_g, np.float64).reshape(-1, 3)
    source_q = np.maximum.accumulate(
        np.quantile(src, np.linspace(0, 1, q), axis=0).T.astype(np.float32), axis=1
    )
    table = PitCalibration(
        source_q,
        target_q,
        n_source=src.shape[0],
        n_target=int(target.get("n", 0) if isinstance(target, dict) else 0),
    )
    return bundle.derive(out, calibration=table.to_dict(), note={"calibrated_on": note})


def _calibrate(args: argparse.Namespace) -> int:
    from mujo_edge.bundle import Bundle
    from mujo_edge.cli._console import console

    refuse_out_is_bundle(args)
    base = Bundle.open(args.bundle)
    if not args.minutes > 0:  # (NaN too)
        raise ConfigError(f"--minutes must be > 0, got {args.minutes}")
    x, t_start, t_end = recording_windows(base, args.recording, calibrate=False, wrist=args.wrist)
    t0 = t_start - t_start.min()
    use = t0 < args.minutes * 60.0
    if use.sum() < MIN_CALIBRATION_WINDOWS:
        console.print(
            f"[yellow]only {int(use.sum())} windows to fit on: the table will describe those seconds of "
            f"{args.recording}, not the wearer. Record at least {MIN_CALIBRATION_WINDOWS // 60} minutes of "
            "the user's usual activities[/]"
        )
    calibrated_bundle(
        base,
        x[use],
        args.out,
        {"recording": str(args.recording), "minutes": args.minutes, "windows": int(use.sum())},
    )
    console.print(
        f"[green]wrote {args.out}[/]: PIT calibration fitted on {int(use.sum())} windows "
        f"({min(args.minutes * 60.0, float(t_end.max() - t_start.min())):.0f} s) of {args.recording}"
    )
    return 0
