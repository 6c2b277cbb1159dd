"""firmware_bridge: talk to watches over BLE and turn notification bytes into :class:`SampleBatch` objects.

Installed as ``mujo_edge.firmware_bridge``. Knows :mod:`mujo_edge.samples`, never models. Guide:
docs/devices.md; the open stream protocol: docs/protocol.md.

Public API (helpers and the runtime build on exactly this)::

    transport:  Transport (ABC, a NEW one per connection): name, address, connect(timeout_s), disconnect(),
                    mtu, max_payload_bytes (= mtu - 3), read(uuid), write(uuid, data, response=True),
                    subscribe(uuid, on_data(t_recv_s, payload)), set_disconnected_callback(cb)
                Connector (ABC): find(target, timeout_s) -> Transport   # target: name, address or service uuid
                host_time_s(), normalize_uuid(uuid), DEFAULT_ATT_MTU, NotifyCallback
    profiles:   get_profile(name, **options) -> DeviceProfile; device_model(name) -> type[WatchDevice];
                PROFILE_NAMES = ("polar", "infinitime", "mujo"): one folder each, holding the decoder
                (PROFILE) and the watch's device model (DEVICE, device.py) that virtual watches and replay run
    profiles.device.WatchDevice: profile, service_uuid, default_name, characteristics(), read/write/subscribed,
                    connection_lost(), streaming, frame(i, max_payload, limit), sensor_time_s(i), for_replay(config)
    profiles.base.DeviceProfile: name, service_uuid, host_stamped, device, rate_hz, data_uuids,
                    start(transport, on_data(char_uuid, t_recv_s, payload)), stop(transport),
                    decode(char_uuid, t_recv_s, payload) -> list[SampleBatch]   (ProtocolError if bad),
                    reset(), config() / apply_config(cfg), take_events() -> [(kind, detail)],
                    dropped_samples, gaps
    profiles.polar: PolarPmdProfile(device, rate_hz=None, range_g=None); pmd: decode_acc_frame,
                    encode_acc_frame_raw/_delta, parse/encode_settings, parse/encode_response,
                    parse/encode_features, sample_times_ns, PmdDeviceModel, PMD_*_UUID
    profiles.infinitime: InfiniTimeProfile(device, rate_hz=10); motion: decode/encode_motion, COUNTS_PER_G=1024
    profiles.mujo: MujoStreamProfile(device, rate_hz=None, range_g=None); stream: encode_frame, decode_frame,
                    MujoStreamEncoder, encode/decode_info, encode_start/stop, encode/decode_response,
                    crc16_ccitt_false, MujoDeviceModel, MUJO_*_UUID; C encoder: profiles/mujo/c/mujo_stream.h
    session:    DeviceSession(connector, target, profile, device_name, recorder=None, backoff=Backoff(), *,
                    scan_timeout_s=10, connect_timeout_s=10, retry_first_connect=False,
                    max_reconnect_attempts=None, sleep=asyncio.sleep, clock=host_time_s)
                    async for item in session.stream(): SampleBatch | StreamStatus(kind: connected,
                        disconnected, reconnected, device_stopped, stopped)
                    await session.stop(); session.stats: SessionStats(packets, bytes, decode_errors,
                        reconnects, reconnect_attempts, batches, samples, gaps, stale_packets, last_error)
                Backoff(initial_s=0.5, max_s=30, factor=2)
    record:     Recorder(path, device, profile, meta=None, rate_hz=None): write_notification, write_status,
                    close (context manager); read_header(path) -> RecordingHeader;
                    read_recording(path) -> Iterator[Notification | StatusRecord];
                    replay_batches(path, profile=None, device=None) -> Iterator[SampleBatch | StreamStatus];
                ReplayConnector(notifications, device, data_uuids, faults=Faults(), speed=None, name=...,
                    address=..., service_uuids=(), mtu=247) / ReplayConnector.from_recording(path, faults, speed);
                    .finished (asyncio.Event), .transports, .writes, .finds, .lost
                ReplayDevice.for_profile(name, config)
    faults:     Faults(drop_prob, drop_indices, corrupt_indices, burst_every, burst_len, latency_mean_s,
                    latency_max_s, jitter_s, disconnect_at_s, down_s, scan_failures, first_scan_failures,
                    clock_skew_ppm, clock_offset_s, seed): one vocabulary for the replay transport, the virtual
                    watches and the simulated session stream; each refuses (ConfigError) a fault it cannot inject
    simulated_session: simulate_stream(acc_g, rate_hz, device, batch, faults, ...) -> SimStream: what a
                    session would yield, with no transport (the runtime's tests and benchmark)
    bleak_transport (needs the ``ble`` extra): BleakConnector(adapter=None, **client_kwargs), BleakTransport,
                device_error(err, action, target, timeout_s) -> DeviceError
"""

from __future__ import annotations
