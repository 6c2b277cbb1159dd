"""Soak: the long versions of the hardening attacks (#13), as a table of trials, failures, tracebacks and
samples lost. A *failure* is an outcome that breaks a promise (books that do not balance, a resume that is not
bit-identical, a corrupted artifact that opens); a *traceback* is an exception that is not a MujoError.

    .venv/bin/python benchmarks/soak.py                       # the full run (see docs/reliability.md)
    .venv/bin/python benchmarks/soak.py --disconnects 50 --bundles 30 --kills 4 --seeds 2   # a quick one

Run from the repository root (it uses the test suite's tiny data and replay helpers).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mujo_edge.errors import MujoError

ROOT = Path(__file__).resolve().parents[1]


class Row:
    def __init__(self, name: str) -> None:
        self.name, self.trials, self.failures, self.tracebacks, self.samples_lost = name, 0, 0, 0, 0
        self.seconds = 0.0
        self.first_traceback = ""

    def attempt(self, fn: Callable[[], bool]) -> None:
        """One trial: ``fn`` returns whether the promise held; MujoError counts as a clear error (held)."""
        self.trials += 1
        try:
            ok = fn()
        except MujoError:
            ok = True
        except Exception:
            self.tracebacks += 1
            self.first_traceback = self.first_traceback or traceback.format_exc(limit=4)
            return
        self.failures += 0 if ok else 1


def profile_notifications(profile: str, seconds: float, seed: int) -> tuple[list[Any], float, int]:
    """A watch's data notifications for ``seconds`` (x flips from -0.5 to +0.5 g half way): (notes, rate, per)."""
    from mujo_edge.firmware_bridge.profiles.infinitime import motion
    from mujo_edge.firmware_bridge.profiles.mujo import stream
    from mujo_edge.firmware_bridge.record import Notification
    from tests.core.test_replay_faults import FRAME, RATE, polar_notifications

    if profile == "polar":
        return polar_notifications(seconds, seed), RATE, FRAME
    rng = np.random.default_rng(seed)
    rate, per = (50.0, 5) if profile == "mujo" else (10.0, 1)
    n = int(seconds * rate) // per * per
    t = np.arange(n) / rate
    acc = np.stack([np.where(t < seconds / 2, -0.5, 0.5), 0 * t, 1 + 0 * t], 1)
    if profile == "mujo":
        enc = stream.MujoStreamEncoder(
            round(rate * 100), 2, max_payload_bytes=stream.OVERHEAD_BYTES + 6 * per
        )
        frames = enc.encode(1_000_000, np.round(acc * (16384 >> 2)).astype(np.int16))
        uuid = stream.MUJO_DATA_UUID
    else:
        frames = [motion.encode_motion(a) for a in acc]
        uuid = motion.MOTION_VALUES_UUID
    notes = [
        Notification(500.0 + t[(k + 1) * per - 1] + 0.008 + rng.exponential(0.01), uuid, f)
        for k, f in enumerate(frames)
    ]
    return notes, rate, per


def replay_run(
    profile: str, faults: Any, seconds: float, seed: int
) -> tuple[list[Any], Any, Any, list[Any], int]:
    """One live run of ``profile`` over the fault-injecting replay link: (notes, connector, pipeline, events, per)."""
    import asyncio

    from mujo_edge.firmware_bridge.profiles import get_profile
    from mujo_edge.firmware_bridge.record import ReplayConnector, ReplayDevice
    from mujo_edge.firmware_bridge.session import DeviceSession
    from mujo_edge.gateway import run_sessions
    from mujo_edge.pipeline import Pipeline
    from tests.core.test_replay_faults import MeanXRunner

    notes, rate, per = profile_notifications(profile, seconds, seed)
    prof = get_profile(profile, rate_hz=rate)
    connector = ReplayConnector(
        notes, ReplayDevice.for_profile(profile, {"rate_hz": rate}), prof.data_uuids, faults, name="watch"
    )

    async def no_sleep(_s: float) -> None:
        await asyncio.sleep(0)

    session = DeviceSession(connector, "watch", prof, "watch", sleep=no_sleep)
    pipeline = Pipeline(MeanXRunner(), ["down", "up"])
    events: list[Any] = []

    async def main() -> None:
        stop = asyncio.Event()

        async def watch_end() -> None:
            await connector.finished.wait()
            await asyncio.sleep(0.05)
            stop.set()

        ender = asyncio.ensure_future(watch_end())
        await asyncio.wait_for(
            run_sessions([session], pipeline, events.extend, stop_event=stop, tick_s=0.01), 60
        )
        ender.cancel()

    asyncio.run(main())
    return notes, connector, pipeline, events, per


def soak_disconnects(n_disconnects: int, profile: str) -> Row:
    """8 link drops per 60 s replay, with bursts and random drops, until ``n_disconnects`` drops."""
    from mujo_edge.firmware_bridge.faults import Faults

    row = Row(f"disconnects ({profile}, replay link)")
    per_run, run = 8, 0
    while run * per_run < n_disconnects:
        rng = np.random.default_rng(run)
        faults = Faults(
            drop_prob=0.02,
            seed=run,
            burst_every=7,
            burst_len=int(rng.integers(2, 7)),
            disconnect_at_s=tuple((6.0 * np.arange(1, per_run + 1) + rng.uniform(0, 3, per_run)).round(3)),
            down_s=float(rng.uniform(0.2, 1.0)),
        )

        def trial(faults: Faults = faults, run: int = run) -> bool:
            notes, c, pipeline, events, per = replay_run(profile, faults, 60.0, run)
            st = pipeline.stats["watch"]
            row.samples_lost += c.delivered * per - st.samples_in  # lost on our side, beyond the radio
            starts = [e.t_start for e in events]
            return (
                c.sent == len(notes) == c.delivered + c.lost
                and st.reconnects == per_run
                and all(b > a for a, b in itertools.pairwise(starts))
            )

        row.attempt(trial)
        row.trials += per_run - 1  # one trial per disconnect
        run += 1
    return row


def soak_bundles(n: int, tmp: Path) -> Row:
    """Byte-flipped and truncated copies of the shipped default bundle through Bundle.open."""
    from mujo_edge.assets import DEFAULT_BUNDLE
    from mujo_edge.bundle import Bundle

    row = Row("corrupted bundles (Bundle.open)")
    good = DEFAULT_BUNDLE.read_bytes()
    rng = np.random.default_rng(0)
    for i in range(n):
        data = bytearray(good)
        if i % 3 == 0:
            data = data[: int(rng.integers(0, len(data)))]
        else:
            for _ in range(int(rng.integers(1, 9))):
                j = int(rng.integers(len(data)))
                data[j] ^= 1 << int(rng.integers(8))
        f = tmp / f"bad_{i}.mujo"
        f.write_bytes(bytes(data))

        def trial(f: Path = f, same: bool = bytes(data) == good) -> bool:
            b = Bundle.open(f)
            x = np.zeros((2, 100, 3), np.float32)
            x[:, :, 2] = 1.0
            b.runner().predict(
                x
            )  # opened: it must also run (a corrupt byte the format cannot see is a failure)
            return same

        row.attempt(trial)
    return row


def soak_datasets(seeds: int, tmp: Path) -> Row:
    from mujo_edge.training.data.format import Dataset
    from tests.training.dataset_defects import DEFECTS
    from tests.training.tiny_data import make_tiny_dataset

    row = Row("corrupted datasets (Dataset.open)")
    good = tmp / "ds_good"
    make_tiny_dataset(good, per_label_subject=1)
    for seed in range(seeds):
        for name, damage in DEFECTS.items():
            bad = tmp / f"ds_{seed}_{abs(hash(name)) % 10**8}"
            shutil.copytree(good, bad)
            damage(bad, np.random.default_rng(seed))

            def trial(bad: Path = bad) -> bool:
                Dataset.open(bad)
                return False  # a damaged dataset that opens is a failure

            row.attempt(trial)
            shutil.rmtree(bad)
    return row


def soak_csv(seeds: int, tmp: Path) -> Row:
    """Malformed CSV files through import_csv: a clear error for each defect (a silent import is a failure),
    and the clean file in any delimiter imported."""
    from mujo_edge.training.data.csv_import import import_csv

    row = Row("malformed CSV files (import_csv)")
    header = "t,ax,ay,az,label"
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        t = np.arange(300) / 50.0 + rng.uniform(0, 100)
        acc = np.column_stack([0.1 * np.sin(t), 0 * t, 1 + 0.02 * rng.normal(size=t.size)])
        lines = [f"{a:.4f},{x:.4f},{y:.4f},{z:.4f},rest" for a, (x, y, z) in zip(t, acc, strict=True)]
        k = int(rng.integers(10, 280))  # the damaged row
        cases = {  # name -> (lines, whether importing it is right)
            "clean": ([header, *lines], True),
            "semicolon": ([header.replace(",", ";"), *[ln.replace(",", ";") for ln in lines]], True),
            "tab": ([header.replace(",", "\t"), *[ln.replace(",", "\t") for ln in lines]], True),
            "ms as s": (
                [header, *[f"{float(ln.split(',')[0]) * 1000:.1f}," + ln.split(",", 1)[1] for ln in lines]],
                False,
            ),
            "5000 g": (
                [header, *lines[:k], "{},5000,0,1,rest".format(lines[k].split(",")[0]), *lines[k + 1 :]],
                False,
            ),
            "1e300": (
                [header, *lines[:k], "{},1e300,0,1,rest".format(lines[k].split(",")[0]), *lines[k + 1 :]],
                False,
            ),
            "ms2 as g": (
                [
                    header,
                    *[
                        ",".join(
                            [c.split(",")[0], *(f"{9.81 * float(v):.4f}" for v in c.split(",")[1:4]), "rest"]
                        )
                        for c in lines
                    ],
                ],
                False,
            ),
            "gravity removed": (
                [
                    header,
                    *[
                        ",".join(
                            [c.split(",")[0], *c.split(",")[1:3], f"{float(c.split(',')[3]) - 1:.4f}", "rest"]
                        )
                        for c in lines
                    ],
                ],
                False,
            ),
            "text value": (
                [header, *lines[:k], "{},x,0,1,rest".format(lines[k].split(",")[0]), *lines[k + 1 :]],
                False,
            ),
            "missing cell": ([header, *lines[:k], "0,1", *lines[k + 1 :]], False),
            "time back": ([header, *lines[:150], *lines[100:]], False),
            "empty": ([], False),
            "header only": ([header], False),
            "random bytes": (None, False),
        }
        for name, (content, importable) in cases.items():
            f = tmp / f"csv_{seed}_{name.replace(' ', '_')}.csv"
            if content is None:
                f.write_bytes(rng.bytes(2000))
            else:
                f.write_text("\n".join(content) + "\n")
            out = tmp / f"csv_out_{seed}_{name.replace(' ', '_')}"

            def trial(f: Path = f, out: Path = out, importable: bool = importable) -> bool:
                try:
                    import_csv([f], out)
                except MujoError:
                    return not importable  # a clear error, where one is due
                return importable

            row.attempt(trial)
    return row


def soak_pretrain_kills(kills: int, tmp: Path) -> Row:
    """Kill pretraining at a random write step (before or after the rename), resume, compare bit for bit."""
    import torch

    from mujo_edge.training.pretrain import pretrain
    from tests.training.test_pretrain import _cfg, _run_fingerprint
    from tests.training.tiny_data import make_tiny_dataset

    torch.set_num_threads(1)
    row = Row("pretraining killed at a write step, resumed")
    data = tmp / "pt_data"
    make_tiny_dataset(data, per_label_subject=2)
    cfg = _cfg(epochs=2, batch_size=8, checkpoint_every=3)
    real = os.replace
    writes = [0]

    def counting(src: Any, dst: Any) -> None:
        writes[0] += 1
        real(src, dst)

    os.replace = counting  # type: ignore[assignment]
    try:
        pretrain(data, tmp / "pt_straight", cfg)
    finally:
        os.replace = real
    expected = _run_fingerprint(tmp / "pt_straight")
    rng = np.random.default_rng(0)

    class Killed(BaseException):
        pass

    for k in range(kills):
        at, after = int(rng.integers(0, writes[0])), bool(rng.integers(2))  # one of the run's renames
        count = [0]

        def killing(src: Any, dst: Any, at: int = at, after: bool = after, count: list = count) -> None:
            count[0] += 1
            if count[0] - 1 == at and not after:
                raise Killed
            real(src, dst)
            if count[0] - 1 == at and after:
                raise Killed

        run = tmp / f"pt_kill_{k}"

        def trial(run: Path = run, killing: Callable = killing) -> bool:
            os.replace = killing  # type: ignore[assignment]
            try:
                pretrain(data, run, cfg)
            except Killed:
                pass
            finally:
                os.replace = real
            pretrain(data, run, cfg, resume=True)
            return _run_fingerprint(run) == expected

        row.attempt(trial)
    return row


def soak_recording_kills(kills: int, tmp: Path) -> Row:
    """A recording cut at a random byte (kill -9 mid-write) replays with the samples before the cut."""
    from mujo_edge.firmware_bridge.faults import Faults
    from mujo_edge.firmware_bridge.record import replay_batches
    from mujo_edge.gateway import replay_events
    from mujo_edge.samples import SampleBatch
    from tests.core.test_replay_faults import FRAME, MeanXRunner, live_run

    row = Row("recordings cut mid-write, replayed")
    folder = tmp / "rec"
    folder.mkdir()
    _n, _c, _s, _p, _e, rec = live_run(folder, Faults(drop_prob=0.01, seed=1), seconds=30.0)
    full = rec.read_bytes()
    total = sum(len(b) for b in replay_batches(rec) if isinstance(b, SampleBatch))
    rng = np.random.default_rng(0)
    for k in range(kills):
        cut = int(rng.integers(len(full) // 10, len(full)))
        f = tmp / f"rec_cut_{k}.jsonl"
        f.write_bytes(full[:cut])

        def trial(f: Path = f, cut: int = cut) -> bool:
            got = sum(len(b) for b in replay_batches(f) if isinstance(b, SampleBatch))
            complete = full[:cut].count(b"\n")
            expect = sum(  # samples in the complete lines
                len(b) for b in replay_batches(_prefix(full, complete, tmp)) if isinstance(b, SampleBatch)
            )
            row.samples_lost += max(0, expect - got)
            from mujo_edge.pipeline import Pipeline

            replay_events([f], Pipeline(MeanXRunner(), ["down", "up"]))
            return got == expect and got <= total and got % FRAME == 0

        row.attempt(trial)
    return row


def _prefix(full: bytes, lines: int, tmp: Path) -> Path:
    f = tmp / "prefix.jsonl"
    f.write_bytes(b"".join(full.splitlines(keepends=True)[:lines]))
    return f


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--disconnects", type=int, default=1000)
    ap.add_argument("--bundles", type=int, default=300)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=10, help="seeds of the dataset and CSV defect matrices")
    args = ap.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for profile in ("polar", "mujo", "infinitime"):
            t0 = time.perf_counter()
            row = soak_disconnects(args.disconnects, profile)
            row.seconds = time.perf_counter() - t0
            rows.append(row)
            print(f"done: {row.name} ({row.seconds:.0f} s)", file=sys.stderr)
        for fn, n in (
            (soak_bundles, args.bundles),
            (soak_datasets, args.seeds),
            (soak_csv, args.seeds),
            (soak_pretrain_kills, args.kills),
            (soak_recording_kills, args.kills),
        ):
            t0 = time.perf_counter()
            row = fn(n, tmp)
            row.seconds = time.perf_counter() - t0
            rows.append(row)
            print(f"done: {row.name} ({row.seconds:.0f} s)", file=sys.stderr)
    print("| attack | trials | failures | tracebacks | samples lost | s |\n|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.name} | {r.trials} | {r.failures} | {r.tracebacks} | {r.samples_lost} | {r.seconds:.0f} |"
        )
    for r in rows:
        if r.first_traceback:
            print(f"\nfirst traceback of '{r.name}':\n{r.first_traceback}", file=sys.stderr)
    return 0 if all(r.failures == 0 and r.tracebacks == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
