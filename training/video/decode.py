"""Decoding a video file into RGB frames with their timestamps (PyAV, the FFmpeg bindings).

Frames come at the file's own rate with their presentation times in seconds, so variable-frame-rate files are
read correctly; the 50 Hz grid is made later from the timestamps (:mod:`~mujo_edge.training.video.skeleton`).
Frames are scaled down so their longer side is at most :data:`DECODE_MAX_SIDE_PX` (the models see 224- and
256-pixel crops; full HD costs decoding time and gains nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge.errors import DataError, MissingDependencyError

log = logging.getLogger(__name__)

#: Longer side of the decoded frames, pixels.
DECODE_MAX_SIDE_PX: int = 960


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, before decoding it.

    Attributes:
        path: the file.
        width_px, height_px: frame size as stored.
        rate_hz: the stream's average frame rate.
        duration_s: length in seconds (0 if the container does not say).
        n_frames: frame count (estimated from duration x rate when the container does not say).
        codec: codec name.
    """

    path: Path
    width_px: int
    height_px: int
    rate_hz: float
    duration_s: float
    n_frames: int
    codec: str


def _av() -> Any:
    try:
        import av
    except ImportError as e:
        raise MissingDependencyError("Reading video files", "video", "av") from e
    return av


def _open(path: Path) -> tuple[Any, Any]:
    av = _av()
    if not path.is_file():
        raise DataError(
            f"{path}: no such file. Give the path of a video file (mp4, mov, mkv, webm, avi, ...)"
        )
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise DataError(
            f"{path}: not a readable video ({type(e).__name__}: {e}). Check that the file is a complete video "
            "(mp4, mov, mkv, webm, avi, ...); re-encode it with ffmpeg if it plays elsewhere"
        ) from e
    if not container.streams.video:
        container.close()
        raise DataError(f"{path}: the file has no video stream (audio only?). Give a video file")
    return container, container.streams.video[0]


def probe(path: str | Path) -> VideoInfo:
    """Size, rate, duration and frame count of a video file, without decoding it.

    Raises:
        DataError: the file does not exist, is not a video, or has no video stream.
    """
    path = Path(path)
    container, stream = _open(path)
    try:
        rate = float(stream.average_rate or stream.guessed_rate or 0.0)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1e6
        else:
            duration = 0.0
        n = int(stream.frames or round(duration * rate))
        cc = stream.codec_context
        return VideoInfo(path, int(cc.width), int(cc.height), rate, duration, n, str(cc.name))
    finally:
        container.close()


def decoded_size(width_px: int, height_px: int, max_side_px: int = DECODE_MAX_SIDE_PX) -> tuple[int, int]:
    """Frame size after scaling the longer side down to ``max_side_px`` (even sizes; never scaled up)."""
    k = min(1.0, max_side_px / max(width_px, height_px))
    return max(2, round(width_px * k / 2) * 2), max(2, round(height_px * k / 2) * 2)


def frames(path: str | Path, max_side_px: int = DECODE_MAX_SIDE_PX) -> Iterator[tuple[float, np.ndarray]]:
    """Decode ``(t_s, image)`` pairs: presentation time in seconds (from the file's timestamps; the first frame
    need not be at 0) and (H, W, 3) uint8 RGB. Frames whose time does not increase are skipped (logged).

    Raises:
        DataError: the file cannot be opened or its data are corrupt before any frame was decoded. A file that
            breaks off later ends the iteration with a warning; the frames before are kept.
    """
    av = _av()
    path = Path(path)
    container, stream = _open(path)
    stream.thread_type = "AUTO"
    rate = float(stream.average_rate or 30.0)
    last_t = -np.inf
    n = 0
    try:
        w, h = decoded_size(stream.codec_context.width, stream.codec_context.height, max_side_px)
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else n / rate
            if t <= last_t:
                log.warning("%s: frame at %.4f s does not follow %.4f s; skipped", path.name, t, last_t)
                continue
            last_t = t
            n += 1
            yield t, frame.to_ndarray(format="rgb24", width=w, height=h)
    except av.error.FFmpegError as e:
        if n == 0:
            raise DataError(
                f"{path}: the video data cannot be decoded ({type(e).__name__}: {e}). Re-encode the file "
                "(for example with ffmpeg -i in.mp4 -c:v libx264 out.mp4) and try again"
            ) from e
        log.warning("%s: decoding stopped after %d frames (%s); keeping those frames", path.name, n, e)
    finally:
        container.close()
    if n == 0:
        raise DataError(
            f"{path}: the video stream has no decodable frames. Give a video with at least one frame"
        )
