"""Stream a recording through a model bundle: one line per recognized 2-s window, with the public API only.

    python examples/stream_recording.py RECORDING [--bundle model.mujo]

RECORDING is what ``mujo-edge stream --record`` (or ``examples/replay_with_faults.py --out DIR``) writes; the
bundle defaults to the shipped one. Needs a model runtime (``pip install 'mujo-edge[runtime]'``). A live
application feeds ``SampleBatch(device, acc_g (n, 3) float32 in g, t_recv_s, rate_hz)`` from its own transport
to ``pipeline.feed`` the same way.
"""

from __future__ import annotations

import argparse

from mujo_edge import ActivityEvent, Bundle, Pipeline
from mujo_edge.assets import DEFAULT_BUNDLE
from mujo_edge.firmware_bridge.record import replay_batches
from mujo_edge.gateway import recorded_wrist


def stream_recording(recording: str, bundle: str = str(DEFAULT_BUNDLE)) -> None:
    # the bundle's runner, calibration, window and rate; the watch's wrist as the recording's header names it
    pipeline = Pipeline.from_bundle(Bundle.open(bundle), wrist=recorded_wrist([recording]))
    for item in replay_batches(recording):  # SampleBatch (g, receive times) and StreamStatus, in order
        for event in pipeline.feed(item):
            show(event)
    for event in pipeline.close():  # the windows the end of the stream completes
        show(event)


def show(e: ActivityEvent) -> None:
    print(f"{e.device}  {e.t_start:7.2f}-{e.t_end:7.2f} s  {e.label:<6} {e.confidence:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", help="a recording from `mujo-edge stream --record`")
    parser.add_argument(
        "--bundle", default=str(DEFAULT_BUNDLE), help="model bundle (default: the shipped one)"
    )
    args = parser.parse_args()
    stream_recording(args.recording, args.bundle)
