"""Windows: fixed-length, overlapping slices of a 50 Hz stream (100 samples, hop 50 by default), of whole
recordings or streaming.

* :func:`sliding_windows` / :func:`window_starts` cut a whole recording (the importers, training).
* :class:`StreamWindower` cuts one device's grid samples, chunk by chunk, and gives every full window as soon
  as its last sample exists, exactly the windows :func:`sliding_windows` would cut from the whole run. It
  keeps only the ``window - 1`` most recent samples. A run ends at a gap or a reconnect
  (:meth:`StreamWindower.restart`): the windows it had begun but could not finish would span the gap, so they
  are dropped and counted, never padded or stitched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mujo_edge.constants import HOP, WINDOW
from mujo_edge.errors import ShapeError


def window_starts(n_samples: int, window: int = WINDOW, hop: int = HOP) -> np.ndarray:
    """First-sample indices of every full window in a recording of ``n_samples`` samples."""
    if window <= 0 or hop <= 0:
        raise ShapeError(f"window and hop must be positive, got window={window}, hop={hop}")
    if n_samples < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - window + 1, hop, dtype=np.int64)


def sliding_windows(x: np.ndarray, window: int = WINDOW, hop: int = HOP) -> np.ndarray:
    """Every full window of ``x`` along axis 0.

    Args:
        x: (n, ...) samples on a uniform grid.
    Returns:
        (n_windows, window, ...) array, a copy (not a view), same dtype as ``x``.
    """
    starts = window_starts(x.shape[0], window, hop)
    if starts.size == 0:
        return np.zeros((0, window, *x.shape[1:]), dtype=x.dtype)
    idx = starts[:, None] + np.arange(window)[None, :]
    return np.ascontiguousarray(x[idx])


# --- streaming ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowBatch:
    """Windows completed by one push.

    Attributes:
        x: (B, window, 3) float32 grid samples, g.
        t_first_s: (B,) time of each window's first sample (the caller's clock), seconds.
        t_last_s: (B,) time of each window's last sample, seconds.
    """

    x: np.ndarray
    t_first_s: np.ndarray
    t_last_s: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


class StreamWindower:
    """Cuts one device's grid stream into overlapping windows.

    Args:
        window: samples per window (default 100 = 2 s at 50 Hz).
        hop: samples between window starts (default 50).
    """

    def __init__(self, window: int = WINDOW, hop: int = HOP) -> None:
        if window <= 0 or not 0 < hop <= window:
            raise ShapeError(f"need window > 0 and 0 < hop <= window, got window={window}, hop={hop}")
        self.window = window
        self.hop = hop
        self._offsets = np.arange(window)
        self._n = 0
        self._next = 0
        self.restart()

    def restart(self) -> int:
        """End the run; returns how many begun windows it drops (they would span the gap)."""
        dropped = 0
        if self._n > 0:
            # Window starts next_start, next_start + hop, ... that have at least one sample.
            dropped = max(0, -(-(self._n - self._next) // self.hop))
        self._n = 0  # grid samples in this run so far
        self._next = 0  # run index of the next window start
        self._buf_x = np.zeros((0, 3), np.float32)  # run samples [self._n - len(buf), self._n)
        self._buf_t = np.zeros(0)
        return dropped

    @property
    def run_samples(self) -> int:
        """Grid samples in the current run."""
        return self._n

    @property
    def samples_to_next_window(self) -> int:
        """How many more grid samples complete the next window."""
        return self._next + self.window - self._n

    def push_one(self, t_s: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float, float] | None:
        """:meth:`push` of owned samples (``owned=True``) in its usual case, without the :class:`WindowBatch`:
        when the push completes exactly one window that ends among the new samples, return that window
        (1, window, 3) and the times of its first and last samples as floats; for any other push return None,
        having changed nothing (the caller then takes :meth:`push`, whose general cut gives the same windows).
        ``push(owned=True)`` cuts its usual case here."""
        m = t_s.size
        buf_t = self._buf_t
        b = buf_t.size
        base = self._n - b  # run index of buf[0]
        n = self._n + m
        window, nxt = self.window, self._next
        s = nxt - base
        if not 0 <= n - window - nxt < self.hop or s + window <= b:
            return None  # no window, several, or one that ends in the buffer: push's general cut
        self._n = n
        new_next = self._next = nxt + self.hop
        keep = new_next - base  # keep samples from the next start on
        e = s + window - b  # the window's samples among the new ones
        if s < b:
            wx = np.concatenate((self._buf_x[s:], x[:e]))
            t_first = float(buf_t[s])
        else:
            wx = x[s - b : e].copy()
            t_first = float(t_s[s - b])
        t_last = float(t_s[e - 1])
        if keep >= b:
            self._buf_x, self._buf_t = x[keep - b :], t_s[keep - b :]
        else:
            self._buf_x = np.concatenate((self._buf_x[keep:], x))
            self._buf_t = np.concatenate((buf_t[keep:], t_s))
        return wx[None], t_first, t_last

    def push(self, t_s: np.ndarray, x: np.ndarray, owned: bool = False) -> WindowBatch:
        """Append grid samples ``t_s`` (m,), ``x`` (m, 3) g of the current run; return the completed windows.

        ``owned``: ``t_s`` (float64) and ``x`` (float32) are handed over (the caller never writes them again),
        so the buffer may keep views of them; a push that completes one window ending in them (the usual
        one) then cuts it with one concatenation and keeps the rest without copying (:meth:`push_one`)."""
        if owned:
            one = self.push_one(t_s, x)
            if one is not None:
                return WindowBatch(one[0], np.array((one[1],)), np.array((one[2],)))
        m = t_s.size
        buf_t = self._buf_t
        b = buf_t.size
        base = self._n - b  # run index of buf[0]
        n = self._n = self._n + m
        window, nxt = self.window, self._next
        if n - nxt < window:
            if m:
                self._buf_x = np.concatenate((self._buf_x, x))
                self._buf_t = np.concatenate((buf_t, t_s))
            return WindowBatch(np.zeros((0, window, 3), np.float32), np.zeros(0), np.zeros(0))
        count = (n - window - nxt) // self.hop + 1
        s = nxt - base
        new_next = self._next = nxt + count * self.hop
        keep = new_next - base  # keep samples from the next start on
        bx = np.concatenate((self._buf_x, x))
        bt = np.concatenate((buf_t, t_s))
        if count == 1:  # one window, cut by slicing (a copy: the buffer keeps a view of bx)
            out = WindowBatch(
                bx[None, s : s + window].copy(), bt[s : s + 1].copy(), bt[s + window - 1 : s + window].copy()
            )
        else:
            starts = np.arange(s, s + count * self.hop, self.hop)
            idx = starts[:, None] + self._offsets[None, :]
            out = WindowBatch(bx[idx], bt[starts], bt[starts + window - 1])
        self._buf_x, self._buf_t = bx[keep:], bt[keep:]
        return out


def push_windows_lockstep(
    windowers: list[StreamWindower], t_s: np.ndarray, x: np.ndarray, count: np.ndarray
) -> tuple[WindowBatch, list[int]]:
    """:meth:`StreamWindower.push` for many devices at once: row i of ``t_s`` (D, Q) and ``x`` (D, Q, 3)
    holds ``count[i]`` new grid samples of windower i. Every device's buffered and new samples are laid end
    to end in one array and all windows are cut from it by one gather; each device gets the windows (and
    keeps the buffer) its own :meth:`StreamWindower.push` would. All windowers share window and hop.

    Returns:
        ``(windows, k)``: every device's windows, device after device, in one batch, and how many each has
        (``k[i]``, a list of D).
    """
    w0 = windowers[0]
    window, hop = w0.window, w0.hop
    d = len(windowers)
    state = np.array([(w._buf_t.size, w._n, w._next) for w in windowers], np.int64).reshape(d, 3)
    buf_n, n_old, nxt = state[:, 0], state[:, 1], state[:, 2]
    base = n_old - buf_n  # run index of each device's first buffered sample
    n_new = n_old + count
    k = np.where(n_new - nxt >= window, (n_new - window - nxt) // hop + 1, 0)
    length = buf_n + count
    off = np.cumsum(length) - length  # where each device's samples begin in the joint buffer
    q = t_s.shape[1]
    if d and (buf_n == buf_n[0]).all() and (count == q).all():  # the usual step: one layout for all
        b = int(buf_n[0])
        bx = np.concatenate([np.concatenate([w._buf_x for w in windowers]).reshape(d, b, 3), x], axis=1)
        bt = np.concatenate([np.concatenate([w._buf_t for w in windowers]).reshape(d, b), t_s], axis=1)
        bx, bt = bx.reshape(-1, 3), bt.reshape(-1)
    else:
        parts_x: list[np.ndarray] = []
        parts_t: list[np.ndarray] = []
        for i, (w, c) in enumerate(zip(windowers, count.tolist(), strict=True)):
            parts_x += (w._buf_x, x[i, :c])
            parts_t += (w._buf_t, t_s[i, :c])
        bx = np.concatenate(parts_x) if parts_x else np.zeros((0, 3), np.float32)
        bt = np.concatenate(parts_t) if parts_t else np.zeros(0)
    # window starts in the joint buffer: device i's from off + next - base, k[i] of them, hop apart
    first = off + nxt - base
    total = int(k.sum())
    rank = np.arange(total) - np.repeat(np.cumsum(k) - k, k)
    st = np.repeat(first, k) + rank * hop
    out = WindowBatch(bx[st[:, None] + w0._offsets[None, :]], bt[st], bt[st + window - 1])
    new_next = nxt + k * hop
    keep = (off + new_next - base).tolist()
    ends = (off + length).tolist()
    for w, c, nn, a, e in zip(windowers, count.tolist(), new_next.tolist(), keep, ends, strict=True):
        w._n += c
        w._next = nn
        w._buf_x, w._buf_t = bx[a:e], bt[a:e]
    return out, k.tolist()


class WindowRows:
    """The state of many :class:`StreamWindower` (one window and hop) as arrays, a row per device: each row's
    grid samples in a ring of ``ring`` samples (run sample ``i`` at ``i % ring``) and the run index of its
    next window start. The row's sample count is its grid's (the caller's ``k``), and the times of a run's
    grid samples are ``t0 + i / rate_hz``, so neither is kept here.

    :meth:`push` cuts the windows each :meth:`StreamWindower.push` would, bit for bit; :meth:`restore` writes
    a row back into a windower that then goes on by itself.

    ``transform``: an elementwise map of the samples (a PIT calibration's ``apply``), or None. With one, a
    second ring holds every sample mapped once, as it arrives, and the windows are cut from it: the windows
    of the map applied to each window (each sample lies in ``window / hop`` windows), for a fraction of the
    work. The first ring keeps the samples as they are, for :meth:`restore`.
    """

    def __init__(
        self, window: int, hop: int, ring: int, transform: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> None:
        if ring < window:
            raise ShapeError(f"the ring must hold a window ({window} samples), got {ring}")
        self.window, self.hop, self.ring = window, hop, ring
        self.transform = transform
        self._offsets = np.arange(window)
        self.buf = np.zeros((0, ring, 3), np.float32)
        self.mapped = self.buf  # the mapped ring (the same array without a transform)
        self.next = np.zeros(0, np.int64)

    def add(self, windowers: list[StreamWindower]) -> None:
        """Append a row per windower (its buffer copied into the ring)."""
        d = len(windowers)
        held = np.array([(w._n, w._buf_x.shape[0]) for w in windowers], np.int64).reshape(d, 2)
        n, b = held[:, 0], held[:, 1]
        if d and int(b.max()) > self.ring:
            raise ShapeError(f"a windower holds {int(b.max())} samples, more than the ring's {self.ring}")
        buf = np.zeros((d, self.ring, 3), np.float32)
        mapped = np.zeros_like(buf) if self.transform is not None else buf
        if d and b.any():  # every buffer into its row's ring places, by one flat index
            row = np.repeat(np.arange(d), b)
            run = np.arange(int(b.sum())) - np.repeat(np.cumsum(b) - b, b) + np.repeat(n - b, b)
            at = row * self.ring + run % self.ring
            held_x = np.concatenate([w._buf_x for w in windowers])
            buf.reshape(-1, 3)[at] = held_x
            if self.transform is not None:
                mapped.reshape(-1, 3)[at] = self.transform(held_x)
        self.buf = np.concatenate([self.buf, buf])
        self.mapped = np.concatenate([self.mapped, mapped]) if self.transform is not None else self.buf
        self.next = np.concatenate([self.next, np.array([w._next for w in windowers], np.int64)])

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` (bool) is True."""
        self.buf, self.next = self.buf[mask], self.next[mask]
        self.mapped = self.mapped[mask] if self.transform is not None else self.buf

    def restore(self, i: int, w: StreamWindower, n: int, t0: float, rate_hz: float) -> None:
        """Write row ``i`` (``n`` samples in its run, whose grid starts at ``t0``) back into ``w``."""
        w._n, w._next = n, int(self.next[i])
        idx = np.arange(w._next, n)
        w._buf_x = self.buf[i, idx % self.ring]
        w._buf_t = t0 + idx / rate_hz

    def _places(self, rows: np.ndarray, first: np.ndarray, m: int) -> np.ndarray:
        """(R, m) indices into the flat ring of run samples ``first[i] .. first[i] + m - 1`` of ``rows[i]``."""
        ring = self.ring
        row0 = rows * ring
        at: np.ndarray = (row0 + first % ring)[:, None] + np.arange(m)[None, :]
        at[at >= (row0 + ring)[:, None]] -= ring  # (m <= ring: one wrap at most)
        return at

    def push(
        self,
        rows: np.ndarray,
        n_old: np.ndarray,
        x: np.ndarray,
        count: np.ndarray,
        t0: np.ndarray,
        rate_hz: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Append ``count[i]`` new grid samples ``x[i]`` (D, Q, 3) to row ``rows[i]``, which held ``n_old[i]``
        samples of a run whose grid starts at ``t0[i]``; returns ``(windows, t_first, k)``: every row's
        completed windows (B, window, 3) (of the mapped samples, with a transform) and their first samples'
        times (B,), row after row, and how many each row has (D,)."""
        window, hop, ring = self.window, self.hop, self.ring
        d, q = x.shape[:2]
        nxt = self.next[rows]
        n_new = n_old + count
        if d and int((n_old + q - nxt).max()) > ring:
            raise ShapeError(f"a step of {q} grid samples overflows the ring of {ring}")
        # The new samples into the ring, as rows of the flat (D * ring, 3) view: one index per sample. A
        # row's padding past count[i] lands on ring places no window reads before the next push writes them.
        at = self._places(rows, n_old, q).ravel()
        self.buf.reshape(-1, 3)[at] = x.reshape(-1, 3)
        flat = self.mapped.reshape(-1, 3)
        if self.transform is not None:
            flat[at] = self.transform(x).reshape(-1, 3)
        k = np.where(n_new - nxt >= window, (n_new - window - nxt) // hop + 1, 0)
        total = int(k.sum())
        rank = np.arange(total) - np.repeat(np.cumsum(k) - k, k)
        start = np.repeat(nxt, k) + rank * hop  # run index of each window's first sample
        wins = flat.take(self._places(np.repeat(rows, k), start, window), axis=0)
        t_first = np.repeat(t0, k) + start / rate_hz
        self.next[rows] = nxt + k * hop
        return wins, t_first, k
