"""Windows and the offline 50 Hz resampler."""

from __future__ import annotations

import numpy as np
import pytest

from mujo_edge.constants import HOP, RATE_HZ, WINDOW
from mujo_edge.grid import resample_recording, resample_segment, split_at_gaps
from mujo_edge.windows import sliding_windows, window_starts


def test_window_starts_paper_defaults() -> None:
    # 10 s at 50 Hz -> starts every 50 samples while a full 100-sample window fits: 0, 50, ..., 400.
    starts = window_starts(500)
    assert starts.tolist() == list(range(0, 401, 50))
    assert (WINDOW, HOP) == (100, 50)


def test_sliding_windows_content() -> None:
    x = np.arange(260, dtype=np.float32)[:, None].repeat(3, axis=1)
    w = sliding_windows(x)
    assert w.shape == (4, 100, 3)
    assert w[2, 0, 0] == 100 and w[2, -1, 0] == 199
    assert sliding_windows(x[:99]).shape == (0, 100, 3)


def test_resample_200hz_keeps_low_frequency_and_removes_alias() -> None:
    rate = 200.0
    t = np.arange(0, 20, 1 / rate)
    low = np.sin(2 * np.pi * 2.0 * t)  # 2 Hz: must pass
    high = 0.5 * np.sin(2 * np.pi * 70.0 * t)  # 70 Hz: would alias to 20 Hz without a filter
    tg, xg = resample_segment(t, np.column_stack([low + high, low, high]), RATE_HZ)
    assert np.allclose(np.diff(tg), 1 / RATE_HZ)
    mid = slice(100, -100)  # away from filter edges
    expect = np.sin(2 * np.pi * 2.0 * tg)
    assert np.max(np.abs(xg[mid, 1] - expect[mid])) < 0.01
    assert np.std(xg[mid, 2]) < 0.01  # the 70 Hz tone is gone, not folded to 20 Hz


def test_resample_never_crosses_a_gap() -> None:
    t = np.concatenate([np.arange(0, 5, 0.02), np.arange(8, 12, 0.02)])
    x = np.ones((t.size, 3), dtype=np.float32)
    assert len(split_at_gaps(t)) == 2
    segs = resample_recording(t, x)
    assert len(segs) == 2
    assert segs[0].t_s[-1] < 5 and segs[1].t_s[0] >= 8
    assert segs[1].source_index == 250


def test_resample_rejects_bad_shapes() -> None:
    from mujo_edge.errors import ShapeError

    with pytest.raises(ShapeError):
        resample_segment(np.arange(10.0), np.zeros((9, 3)))
