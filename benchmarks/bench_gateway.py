"""Gateway benchmark: each row of issue #15's table as "now vs a reference measured in the same run, ratio".

    .venv/bin/python benchmarks/bench_gateway.py [--bundle model.mujo] [--devices 1000] [--watches 2000]
                                                 [--seconds 90] [--repeats 2] [--quick]
                                                 [--runners-only | --warmup]

Rows (results recorded in docs/benchmarks.md):

1. **LiteRT ``runner.predict``, batch 1** vs the raw interpreter calls (``set_tensor`` / ``invoke`` /
   ``get_tensor``) on a second interpreter of the same model; medians over alternating blocks of calls.
2. **ExecuTorch ``predict``, batch 1** vs the raw ``method.execute`` of the runner's own loaded method.
3. **Pipeline per window, one device, with PIT** (a 52 Hz watch, 13-sample batches, model excluded) vs the
   same numpy work written plainly (banded FIR, ``np.interp``, slicing, PIT) on the same samples; the
   windows of both are checked to be identical.
4. **Pipeline per window, N devices in one ``Pipeline``** (52 Hz, fed in 0.25 s ticks, model excluded),
   the first minute (clock refits) and after it, with the lockstep path and without it (``lockstep=False``,
   every device on its own path), and with each tick fed as arrays (``Pipeline.feed_arrays``) instead of
   one ``SampleBatch`` per notification, vs all devices advanced in lockstep as (devices, samples, 3)
   arrays with plain numpy (the lower bound of the pipeline's own work); best of ``--repeats`` runs of each,
   run in turn (the per-device path once).
5. **Watches per core in real time**: M simulated 50 Hz watches fed in 0.25 s ticks through one
   ``Pipeline`` with the bundle's int8 LiteRT model, timed in wall time (and CPU time): watches per core =
   M x simulated seconds / processing seconds; once with one ``SampleBatch`` per notification, once with
   each tick as arrays (``feed_arrays``).

``--warmup`` prints instead where a gateway's first minute costs more: N devices fed as arrays, each tick
timed alone, summed per phase (the start, the first window, the young clocks' refits, after the minute).

The process's C allocator is set as ``mujo-edge stream`` sets it (``mujo_edge.gateway.keep_heap``: on glibc
the per-tick arrays stay in the heap instead of page-faulting in from the kernel); ``--system-allocator``
leaves it as the process started it.

Times are medians (rows 1-2) or best of repeats (rows 3-4) of CPU time (``time.process_time``) unless the row
says wall time. Rows 3-5 make their traffic up front and keep it out of the garbage collector's full
collections while they time the pipeline (:func:`traffic_frozen`).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from mujo_edge.calibration import PitCalibration
from mujo_edge.gateway import keep_heap
from mujo_edge.grid import StreamGrid
from mujo_edge.pipeline import Pipeline
from mujo_edge.samples import SampleBatch

LABELS = ["PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"]
DEFAULT_BUNDLE = Path(__file__).resolve().parents[1] / "mujo_edge" / "assets" / "default.mujo"
#: Each notification of the simulated watches holds this many seconds of samples (one tick).
TICK_S = 0.25


class NoModel:
    """Fixed probabilities: the rows that exclude the model time everything but it."""

    def __init__(self, n: int = len(LABELS)) -> None:
        self.p = np.full((1, n), 1.0 / n, np.float32)
        self.windows: list[np.ndarray] = []
        self.keep = False

    def predict(self, windows_g: np.ndarray) -> np.ndarray:
        if self.keep:
            self.windows.append(windows_g.copy())
        return np.repeat(self.p, windows_g.shape[0], axis=0)


def calibration() -> PitCalibration:
    rng = np.random.default_rng(0)
    return PitCalibration.fit(rng.normal(0, 1.2, (20000, 3)), rng.normal(0, 1.0, (20000, 3)))


def motion(devices: int, n: int, rate_hz: float, seed: int = 0) -> np.ndarray:
    """(devices, n, 3) float32 g: a slow rotation of gravity per device plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate_hz
    f = rng.uniform(0.3, 1.0, (devices, 1))
    acc = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t), 1 + 0.1 * np.sin(t + 0 * f)], -1)
    return (0.8 * acc + rng.normal(0, 0.02, acc.shape)).astype(np.float32)


def ticks(devices: int, seconds: float, rate_hz: float, seed: int = 0) -> list[list[SampleBatch]]:
    """Gateway traffic: every device sends one notification of TICK_S seconds per tick, each device with its
    own sensor clock offset and its own phase of arrival; a list of batches per tick."""
    rng = np.random.default_rng(seed)
    per = round(rate_hz * TICK_S)
    n = int(seconds * rate_hz) // per * per
    acc = motion(devices, n, rate_hz, seed)
    t_sensor0 = rng.uniform(0, 1e4, devices)
    arrive = rng.uniform(0.005, 0.2, devices)
    t = np.arange(n) / rate_hz
    out = []
    for a in range(0, n, per):
        b = a + per
        out.append(
            [
                SampleBatch(
                    f"w{d}", acc[d, a:b], 100.0 + t[b - 1] + arrive[d], rate_hz, t_sensor0[d] + t[a:b]
                )
                for d in range(devices)
            ]
        )
    return out


@contextlib.contextmanager
def traffic_frozen() -> Iterator[None]:
    """Keep the simulated traffic, made up front (hundreds of thousands of SampleBatch objects a gateway
    never holds at once), out of the garbage collector's full collections while the pipeline runs
    (``gc.freeze``): they would walk it, at 0.1-0.2 s each, and bill the pipeline for the benchmark's own
    objects. The pipeline's objects are collected as usual."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# ------------------------------------------------------------------------------------- 1-2. runners
def medians(fns: dict[str, Callable[[], object]], rounds: int, block: int) -> dict[str, float]:
    """Median us per call of each function, in alternating blocks of ``block`` calls."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    gc.disable()
    try:
        for _ in range(rounds):
            for k, f in fns.items():
                for _ in range(block):
                    t0 = time.perf_counter()
                    f()
                    times[k].append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return {k: float(np.median(v)) * 1e6 for k, v in times.items()}


def litert_row(bundle: object, rounds: int) -> tuple[float, float, float]:
    """Medians of ``runner.predict`` of one (1, WINDOW, 3) window, of the raw set/invoke/get with the input
    already in the model's layout, and of the same raw call fed the caller's window (the layout change made
    per call, as a caller of the raw interpreter would), us. The raw call reads what ``predict`` returns:
    the model's ``probabilities`` output where it has one, else its logits."""
    from ai_edge_litert.interpreter import Interpreter

    from mujo_edge.constants import PROBABILITIES, PROBABILITIES_RTOL

    runner = bundle.runner("tflite")  # type: ignore[attr-defined]
    entry = bundle.model("tflite")  # type: ignore[attr-defined]
    it = Interpreter(model_content=bundle.file_bytes(entry.file), num_threads=1)  # type: ignore[attr-defined]
    it.allocate_tensors()
    i_in = it.get_input_details()[0]["index"]
    i_logits = it.get_output_details()[entry.output("logits").position]["index"]
    probs_spec = entry.output(PROBABILITIES)
    i_out = i_logits if probs_spec is None else it.get_output_details()[probs_spec.position]["index"]
    x = np.random.default_rng(0).normal(0, 0.5, (1, runner.window, 3)).astype(np.float32)
    x_model = np.ascontiguousarray(x.transpose(0, 2, 1) if entry.input_layout == "BCW" else x)

    def raw() -> object:
        it.set_tensor(i_in, x_model)
        it.invoke()
        return it.get_tensor(i_out)

    bcw = entry.input_layout == "BCW"

    def raw_from_window() -> object:
        it.set_tensor(i_in, np.ascontiguousarray(x.transpose(0, 2, 1)) if bcw else x)
        it.invoke()
        return it.get_tensor(i_out)

    probs = runner.predict(x)
    raw()
    logits = it.get_tensor(i_logits).astype(np.float32)
    s, z = it.get_output_details()[entry.output("logits").position]["quantization"]
    ref = np.exp((logits - z) * s - ((logits - z) * s).max())
    rtol = 1e-6 if probs_spec is None else PROBABILITIES_RTOL
    assert np.allclose(probs, ref / ref.sum(), rtol=rtol, atol=1e-7), "runner and raw call disagree"
    m = medians({"predict": lambda: runner.predict(x), "raw": raw, "window": raw_from_window}, rounds, 200)
    return m["predict"], m["raw"], m["window"]


def executorch_row(bundle: object, rounds: int) -> tuple[float, float, float]:
    """As :func:`litert_row`, for ``method.execute``."""
    import torch

    runner = bundle.runner("executorch")  # type: ignore[attr-defined]
    entry = bundle.model("executorch")  # type: ignore[attr-defined]
    x = np.random.default_rng(0).normal(0, 0.5, (1, runner.window, 3)).astype(np.float32)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1) if entry.input_layout == "BCW" else x))
    method = runner._method

    def raw() -> object:
        return method.execute([xt])

    bcw = entry.input_layout == "BCW"

    def raw_from_window() -> object:
        return method.execute([torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)) if bcw else x)])

    logits = raw()[entry.output("logits").position].numpy().astype(np.float64)
    ref = np.exp(logits - logits.max())
    assert np.allclose(runner.predict(x), ref / ref.sum(), rtol=1e-6, atol=1e-7)
    m = medians({"predict": lambda: runner.predict(x), "raw": raw, "window": raw_from_window}, rounds, 200)
    return m["predict"], m["raw"], m["window"]


# ------------------------------------------------------------------------------- 3. one device
def plain_one_device(t: np.ndarray, x: np.ndarray, rate_hz: float, pit: PitCalibration) -> np.ndarray:
    """The pipeline's numpy work for one gap-free run written plainly, a window's worth of input at a time
    (as the pipeline processes it): FIR as one banded product, np.interp onto the grid, windows, PIT."""
    grid = StreamGrid(rate_hz)  # only for its taps and banded matrix
    taps, band = grid.taps, grid._band
    assert taps is not None and band is not None
    k, half = taps.size - 1, (taps.size - 1) // 2
    hist_t = t[0] - np.arange(k, 0, -1) / rate_hz
    hist_x = np.repeat(x[:1], k, axis=0)
    t0 = float(t[0])
    prev_t: float | None = None
    prev_x = np.zeros(3)
    kg = 0
    buf_t, buf_x = np.zeros(0), np.zeros((0, 3), np.float32)
    nxt = 0
    n_run = 0
    out = []
    step = int(rate_hz)  # about one window (hop) of input per step
    for a in range(0, t.size, step):
        ts = np.concatenate([hist_t, t[a : a + step]])
        xs = np.concatenate([hist_x, x[a : a + step]])
        n = ts.size - k
        y = band[:n, : n + k] @ xs
        ty = ts[half : half + n]
        hist_t, hist_x = ts[-k:], xs[-k:]
        if prev_t is not None:
            ty = np.concatenate([[prev_t], ty])
            y = np.concatenate([prev_x[None], y])
        prev_t, prev_x = float(ty[-1]), y[-1]
        k_end = int(np.floor((ty[-1] - t0) * 50.0 + 1e-9))
        g = t0 + np.arange(kg, k_end + 1) / 50.0
        kg = k_end + 1
        gx = np.empty((g.size, 3), np.float32)
        for c in range(3):
            gx[:, c] = np.interp(g, ty, y[:, c])
        base = n_run - buf_t.size
        n_run += g.size
        bx = np.concatenate([buf_x, gx])
        bt = np.concatenate([buf_t, g])
        if n_run - nxt >= 100:
            starts = np.arange(nxt, n_run - 100 + 1, 50) - base
            out.append(pit.apply(bx[starts[:, None] + np.arange(100)]))
            nxt += starts.size * 50
        keep = nxt - base
        buf_x, buf_t = bx[keep:], bt[keep:]
    return np.concatenate(out)


def one_device_row(seconds: float, repeats: int) -> tuple[float, float, int]:
    rate = 52.0
    traffic = ticks(1, seconds, rate)
    batches = [b for tick in traffic for b in tick]
    pit = calibration()
    t = np.concatenate([b.t_sensor_s for b in batches])  # type: ignore[misc]
    x = np.concatenate([b.acc_g for b in batches])
    best_pipe = best_plain = float("inf")
    windows = 0
    for r in range(repeats):
        model = NoModel()
        model.keep = r == 0
        pipe = Pipeline(model, LABELS, calibration=pit)
        with traffic_frozen():
            c0 = time.process_time()
            for b in batches:
                pipe.feed(b)
            dt = time.process_time() - c0
        windows = pipe.stats["w0"].windows
        best_pipe = min(best_pipe, dt / windows)
        c0 = time.process_time()
        plain = plain_one_device(t, x, rate, pit)
        best_plain = min(best_plain, (time.process_time() - c0) / plain.shape[0])
        if r == 0:
            got = np.concatenate(model.windows)  # calibrated by the pipeline
            m = min(len(got), len(plain))
            assert m >= windows - 2 and np.array_equal(got[:m], plain[:m]), (
                f"windows differ: {m} {windows} {np.abs(got[:m] - plain[:m]).max()}"
            )
    return best_pipe * 1e6, best_plain * 1e6, windows


# ------------------------------------------------------------------------------- 4. many devices
def plain_lockstep(devices: int, seconds: float, rate_hz: float, pit: PitCalibration) -> tuple[float, int]:
    """All devices advanced in lockstep, one second of input per step, with plain numpy: (CPU s, windows).
    The devices share their sample times here (a lower bound: no per-device clocks or phases)."""
    n = int(seconds * rate_hz)
    x = motion(devices, n, rate_hz)
    grid = StreamGrid(rate_hz)
    taps, band = grid.taps, grid._band
    assert taps is not None and band is not None
    k, half = taps.size - 1, (taps.size - 1) // 2
    step = int(rate_hz)
    t_all = np.arange(n) / rate_hz
    windows = 0
    c0 = time.process_time()
    hist = np.repeat(x[:, :1], k, axis=1)
    hist_t = -np.arange(k, 0, -1) / rate_hz
    prev_t, prev_y = None, None
    kg = 0
    buf = np.zeros((devices, 0, 3), np.float32)
    for a in range(0, n - step + 1, step):
        xs = np.concatenate([hist, x[:, a : a + step]], axis=1)  # (D, k + step, 3)
        ts = np.concatenate([hist_t, t_all[a : a + step]])
        wide = xs.transpose(1, 0, 2).reshape(k + step, -1)
        y = (band[:step, : step + k] @ wide).reshape(step, devices, 3)
        ty = ts[half : half + step]
        hist, hist_t = xs[:, -k:], ts[-k:]
        if prev_t is not None:
            ty = np.concatenate([[prev_t], ty])
            y = np.concatenate([prev_y[None], y])
        prev_t, prev_y = ty[-1], y[-1]
        k_end = int(np.floor(ty[-1] * 50.0 + 1e-9))
        g = np.arange(kg, k_end + 1) / 50.0
        kg = k_end + 1
        j = np.clip(np.searchsorted(ty, g, "right") - 1, 0, ty.size - 2)
        w = ((g - ty[j]) / (ty[j + 1] - ty[j]))[:, None, None]
        gx = (y[j] + w * (y[j + 1] - y[j])).astype(np.float32).transpose(1, 0, 2)  # (D, q, 3)
        buf = np.concatenate([buf, gx], axis=1)
        if buf.shape[1] >= 100:
            win = pit.apply(buf[:, :100])
            windows += win.shape[0]
            buf = buf[:, 50:]
    return time.process_time() - c0, windows


def tick_arrays(
    traffic: list[list[SampleBatch]],
) -> list[tuple[list[str], np.ndarray, np.ndarray, np.ndarray]]:
    """The same ticks as ``Pipeline.feed_arrays`` takes them: (devices, acc (D, n, 3), t_recv (D,), t_sensor
    (D, n)) per tick, one rate."""
    return [
        (
            [b.device for b in tick],
            np.stack([b.acc_g for b in tick]),
            np.array([b.t_recv_s for b in tick]),
            np.stack([b.t_sensor_s for b in tick]),  # type: ignore[misc]
        )
        for tick in traffic
    ]


def many_devices_row(
    devices: int,
    seconds: float,
    lockstep: bool = True,
    arrays: bool = False,
    traffic: list[list[SampleBatch]] | None = None,
) -> tuple[float, float]:
    """(us per window in the first minute, after it) of N devices in one Pipeline, fed one SampleBatch per
    notification (``feed_many``) or a tick's notifications as arrays (``feed_arrays``); ``traffic``: the
    ticks of :func:`ticks` (52 Hz), made here when None."""
    rate = 52.0
    if traffic is None:
        traffic = ticks(devices, seconds, rate)
    blocks = tick_arrays(traffic) if arrays else []
    pipe = Pipeline(NoModel(), LABELS, calibration=calibration(), lockstep=lockstep)
    split = int(60.0 / TICK_S)
    cpu = [0.0, 0.0]
    wins = [0, 0]
    with traffic_frozen():
        for i, tick in enumerate(traffic):
            c0 = time.process_time()
            n = len(pipe.feed_arrays(*blocks[i][:3], rate, blocks[i][3]) if arrays else pipe.feed_many(tick))
            cpu[i >= split] += time.process_time() - c0
            wins[i >= split] += n
    after = cpu[1] / wins[1] * 1e6 if wins[1] else float("nan")
    return cpu[0] / wins[0] * 1e6, after


#: Phases of a gateway's first minute and after it, in 0.25 s ticks: (name, first tick, end tick).
WARMUP_PHASES = (
    ("tick 0: every device's first notification", 0, 1),
    ("ticks 1-7: samples wait", 1, 8),
    ("tick 8: the first window (2 s of samples)", 8, 9),
    ("ticks 9-39 (to 10 s)", 9, 40),
    ("ticks 40-239 (10-60 s: young clocks refit)", 40, 240),
    ("ticks 240-359 (60-90 s)", 240, 360),
)


def warmup_rows(devices: int, seconds: float, repeats: int) -> list[tuple[str, float, int, float]]:
    """Where a gateway's first minute costs more than the rest: N devices fed as arrays (``feed_arrays``),
    each tick timed alone (wall time, the best of ``repeats`` runs per tick), summed per phase of
    :data:`WARMUP_PHASES`: (phase, ms, windows, us per window)."""
    traffic = ticks(devices, seconds, 52.0)
    blocks = tick_arrays(traffic)
    best = np.full(len(traffic), np.inf)
    wins = np.zeros(len(traffic), np.int64)
    for _ in range(max(1, repeats)):
        pipe = Pipeline(NoModel(), LABELS, calibration=calibration())
        with traffic_frozen():
            for i, (names, acc, recv, t) in enumerate(blocks):
                c0 = time.perf_counter()
                wins[i] = len(pipe.feed_arrays(names, acc, recv, 52.0, t))
                best[i] = min(best[i], time.perf_counter() - c0)
    rows = []
    for name, a, b in WARMUP_PHASES:
        if a >= len(traffic):
            break
        ms, w = float(best[a:b].sum() * 1e3), int(wins[a:b].sum())
        rows.append((name, ms, w, ms * 1e3 / w if w else float("nan")))
    return rows


# ------------------------------------------------------------------------------- 5. watches per core
def watches_row(
    bundle: object | None, watches: int, seconds: float, arrays: bool = False
) -> tuple[float, float, float, str]:
    """(watches per core by wall time, by CPU time, model us/window, model description); ``arrays``: each
    tick fed as arrays (``feed_arrays``) instead of one SampleBatch per notification."""
    rate = 50.0
    traffic = ticks(watches, seconds, rate, seed=1)
    blocks = tick_arrays(traffic) if arrays else []

    def feed(i: int) -> None:
        if arrays:
            names, acc, recv, t = blocks[i]
            pipe.feed_arrays(names, acc, recv, rate, t)
        else:
            pipe.feed_many(traffic[i])

    if bundle is not None:
        runner = bundle.runner("tflite", threads=1)  # type: ignore[attr-defined]
        model: object = runner
        labels = bundle.labels  # type: ignore[attr-defined]
        desc = f"{runner.name} {runner.format}/{runner.dtype}"
    else:
        model, labels, desc = NoModel(), LABELS, "no model (numpy stand-in)"
    pipe = Pipeline(model, labels, calibration=calibration())  # type: ignore[arg-type]
    start = int(10 / TICK_S)
    for i in range(start):  # the first 10 s: runs start, clocks settle (not timed)
        feed(i)
    rest = traffic[start:]
    with traffic_frozen():
        w0, c0 = time.perf_counter(), time.process_time()
        for i in range(start, len(traffic)):
            feed(i)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    sim = len(rest) * TICK_S
    return watches * sim / wall, watches * sim / cpu, 0.0, desc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--bundle", default=str(DEFAULT_BUNDLE), help="bundle whose models rows 1, 2 and 5 run")
    ap.add_argument("--devices", type=int, default=1000, help="devices of row 4")
    ap.add_argument("--watches", type=int, default=2000, help="simulated watches of row 5")
    ap.add_argument("--seconds", type=float, default=90.0, help="simulated seconds of row 4")
    ap.add_argument("--repeats", type=int, default=2, help="row 4: best of this many runs of each figure")
    ap.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    ap.add_argument("--runners-only", action="store_true", help="rows 1 and 2 alone (the runners)")
    ap.add_argument(
        "--system-allocator",
        action="store_true",
        help="leave the C allocator as the process starts it (by default it is set as `mujo-edge stream` sets "
        "it: mujo_edge.gateway.keep_heap)",
    )
    ap.add_argument(
        "--warmup",
        action="store_true",
        help="only the first minute of --devices devices fed as arrays, tick by tick, summed per phase",
    )
    args = ap.parse_args(argv)
    quick = args.quick
    from rich.console import Console
    from rich.table import Table

    con = Console()
    allocator = "left as the process started it" if args.system_allocator else keep_heap()
    con.print(
        f"mujo-edge gateway benchmark: {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores (one used), numpy {np.__version__}; allocator: {allocator}"
    )
    if args.warmup:
        devices = 100 if quick else args.devices
        warm = Table(
            title=f"a gateway's first minute: {devices} devices at 52 Hz, fed as arrays, model excluded"
        )
        for c in ("phase", "ms (best of 3 per tick)", "windows", "us per window"):
            warm.add_column(c, justify="right" if c != "phase" else "left")
        for name, ms, w, us in warmup_rows(devices, 90.0, 3):
            warm.add_row(name, f"{ms:.1f}", f"{w:,}", "-" if w == 0 else f"{us:.1f}")
        con.print(warm)
        return 0
    table = Table(title="issue #15's rows: now vs a reference in the same run")
    for c in ("figure", "now", "reference (same run)", "ratio"):
        table.add_column(c, justify="right" if c != "figure" else "left")
    bundle = None
    if Path(args.bundle).is_file():
        from mujo_edge.bundle import Bundle

        bundle = Bundle.open(args.bundle)
    rounds = 3 if quick else 15
    if bundle is not None and "tflite" in bundle.formats:
        p, r, w = litert_row(bundle, rounds)
        table.add_row(
            "LiteRT runner.predict, batch 1",
            f"{p:.1f} us",
            f"raw set/invoke/get {r:.1f} us (fed the window as the caller has it: {w:.1f} us)",
            f"{p / r:.2f}x ({p / w:.2f}x)",
        )
    if bundle is not None and "executorch" in bundle.formats:
        try:
            p, r, w = executorch_row(bundle, rounds)
            table.add_row(
                "ExecuTorch predict, batch 1",
                f"{p:.1f} us",
                f"raw method.execute {r:.1f} us (fed the window as the caller has it: {w:.1f} us)",
                f"{p / r:.2f}x ({p / w:.2f}x)",
            )
        except ImportError as e:
            con.print(f"[yellow]ExecuTorch row skipped: {e}[/]")
    if args.runners_only:
        con.print(table)
        return 0
    pipe_us, plain_us, _ = one_device_row(60.0 if quick else 300.0, 2 if quick else 5)
    table.add_row(
        "pipeline per window, one 52 Hz device, PIT, no model",
        f"{pipe_us:.1f} us",
        f"plain numpy, identical windows {plain_us:.1f} us",
        f"{pipe_us / plain_us:.2f}x",
    )
    devices = 100 if quick else args.devices
    seconds = 70.0 if quick else args.seconds
    # Best of --repeats of each (the reference, the lockstep path fed batches and arrays, run in turn), so a
    # burst of load on a shared host hits one repeat, not the figure; the per-device path runs once.
    traffic = ticks(devices, seconds, 52.0)
    first = after = arr_first = arr_after = ref = float("inf")
    for _ in range(max(1, args.repeats)):
        ref_s, ref_w = plain_lockstep(devices, min(seconds, 30.0), 52.0, calibration())
        ref = min(ref, ref_s / ref_w * 1e6)
        f, a = many_devices_row(devices, seconds, traffic=traffic)
        first, after = min(first, f), min(after, a)
        f, a = many_devices_row(devices, seconds, arrays=True, traffic=traffic)
        arr_first, arr_after = min(arr_first, f), min(arr_after, a)
    per_first, per_after = many_devices_row(devices, seconds, lockstep=False, traffic=traffic)
    for what, now, arr, per in (
        ("first minute", first, arr_first, per_first),
        ("after the first minute", after, arr_after, per_after),
    ):
        table.add_row(
            f"pipeline per window, {devices} devices in one Pipeline, {what}",
            f"{now:.1f} us (feed_arrays {arr:.1f} us, per-device path {per:.1f} us)",
            f"plain lockstep arrays {ref:.1f} us",
            f"{now / ref:.2f}x ({arr / ref:.2f}x)",
        )
    watches = 200 if quick else args.watches
    for arrays in (False, True):
        by_wall, by_cpu, _, desc = watches_row(bundle, watches, 20.0 if quick else 40.0, arrays=arrays)
        table.add_row(
            f"50 Hz watches per core in real time ({watches} simulated, {desc})"
            + (", fed as arrays" if arrays else ""),
            f"{by_wall:,.0f} (wall time)",
            f"{by_cpu:,.0f} (CPU time)",
            "",
        )
    con.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
