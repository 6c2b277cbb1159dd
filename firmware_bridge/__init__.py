"""firmware_bridge: talk to watches over BLE and turn notification bytes into :class:`SampleBatch` objects.

Installed as ``mujo_edge.firmware_bridge``. Knows :mod:`mujo_edge.samples`, never models.

Public API (helpers and the runtime build on exactly this)::

    from mujo_edge.firmware_bridge.transport import Transport, Connector, host_time_s, DEFAULT_ATT_MTU
        Transport: name, address, connect(timeout_s), disconnect(), mtu, max_payload_bytes, read(uuid),
                   write(uuid, data, response=True), subscribe(uuid, on_data(t_recv_s, payload)),
                   set_disconnected_callback(cb)            # a NEW Transport per connection
        Connector: find(target, timeout_s) -> Transport    # target = name, address or service uuid
    from mujo_edge.firmware_bridge.profiles import get_profile, PROFILE_NAMES   # "polar" | "infinitime" | "mujo"
    from mujo_edge.firmware_bridge.profiles.base import DeviceProfile
        DeviceProfile: name, service_uuid, device, rate_hz, host_stamped, data_uuids,
                       start(transport, on_data(char_uuid, t_recv_s, payload)), stop(transport),
                       decode(char_uuid, t_recv_s, payload) -> list[SampleBatch]  (ProtocolError if bad),
                       reset(), take_events() -> [(kind, detail)], dropped_samples, gaps
    from mujo_edge.firmware_bridge.session import DeviceSession, Backoff, SessionStats
        DeviceSession(connector, target, profile, device_name, recorder=None, backoff=Backoff(), *,
                      scan_timeout_s=10, connect_timeout_s=10, retry_first_connect=False,
                      max_reconnect_attempts=None, sleep=asyncio.sleep, clock=host_time_s)
        async for item in session.stream(): ...  # SampleBatch | StreamStatus(connected/disconnected/
                                                 #   reconnected/device_stopped/stopped)
        await session.stop(); session.stats (packets, bytes, decode_errors, reconnects, ...)
    from mujo_edge.firmware_bridge.record import Recorder, read_header, read_recording, replay_batches,
        ReplayConnector, ReplayTransport, Faults
    from mujo_edge.firmware_bridge.bleak_transport import BleakConnector, BleakTransport   # needs the ble extra

Encoders for virtual devices and round-trip tests live beside each decoder:
``profiles.polar.pmd``, ``profiles.infinitime.motion``, ``profiles.mujo.stream`` (+ ``profiles/mujo/c/mujo_stream.h``).
"""

from __future__ import annotations
