"""Virtual watches on bumble: test and demo BLE streaming with no radio at all.

Every virtual watch is a real GATT server (bumble) on an in-process ``LocalLink``; the central side is a
bumble device behind firmware_bridge's :class:`~mujo_edge.firmware_bridge.transport.Connector` /
:class:`~mujo_edge.firmware_bridge.transport.Transport` seams, so :class:`DeviceSession` and the profiles
run unchanged. Needs ``bumble`` (the ``virtual`` extra). See docs/testing-ble.md.

    VirtualWatch(profile, acc_g, rate_hz, name=None, faults=Faults(...), loop=True, speed=1.0, max_mtu=247)
        .stats (WatchStats), .finished (asyncio.Event), .sensor_time_s(i)
    Faults(drop_prob, burst_every, burst_len, disconnect_at_s, down_s, clock_skew_ppm, jitter_s, seed)
        (firmware_bridge.faults: the one fault vocabulary, shared with the replay transport)
    async with virtual_watches([watch, ...]) as connector: ...      # BumbleConnector
    BumbleConnector(central).find(target, timeout_s) -> BumbleTransport
"""

from __future__ import annotations

from mujo_edge.firmware_bridge.faults import Faults
from mujo_edge.firmware_bridge.virtual.bumble_transport import BumbleConnector, BumbleTransport
from mujo_edge.firmware_bridge.virtual.link import VirtualLink, virtual_watches
from mujo_edge.firmware_bridge.virtual.watch import VirtualWatch, WatchStats

__all__ = [
    "BumbleConnector",
    "BumbleTransport",
    "Faults",
    "VirtualLink",
    "VirtualWatch",
    "WatchStats",
    "virtual_watches",
]
