"""Stock bleak, through its REAL BlueZ D-Bus backend, against a mock BlueZ (bluezoo + bless, private bus).

Proves the project's bleak calls (E's BleakConnector/BleakTransport + DeviceSession: scan by name, connect,
read, start_notify on notify and indicate characteristics, write with response) work against bleak's real
backend for the MuJo protocol and Polar PMD (features read, settings GET, START, each answered by an
indication), and that what arrives decodes into the right samples. Does not model the radio or the MTU (the
mock link reports ATT MTU 23). The harness is ``bluez_mock.py`` beside this file.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.firmware_bridge.bluez_mock import (
    MOCK_RATES_HZ,
    BluezMock,
    ensure_dbus_daemon,
    mock_device,
)

pytestmark = pytest.mark.ble

for _module in ("bleak", "bless", "bluezoo"):
    pytest.importorskip(_module, reason=f"the mock-BlueZ test needs {_module} (the dev and ble extras)")

#: Half a count of each profile's encoding, g (Polar mG; MuJo +-8 g = 4096 counts per g).
QUANT_G = {"polar": 0.5e-3, "mujo": 0.5 / 4096}


@pytest.fixture(scope="session")
def bluez_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BluezMock]:
    if not Path(sys.executable).with_name("bluezoo").exists() and shutil.which("bluezoo") is None:
        pytest.skip("the bluezoo executable is not installed next to this Python (pip install bluezoo)")
    daemon = ensure_dbus_daemon()
    if daemon is None:
        pytest.skip(
            "dbus-daemon is not available and could not be installed (needs root and apt-get: "
            "`apt-get install -y dbus`); the mock-BlueZ test needs a private D-Bus"
        )
    mock = BluezMock(tmp_path_factory.mktemp("bluez-mock"))
    try:
        mock.start(daemon)
    except Exception as err:
        logs = mock.tail_logs()
        mock.stop()
        pytest.fail(f"could not start dbus-daemon + bluezoo + bless: {err}\n{logs}")
    yield mock
    mock.stop()


def test_scan_for_a_missing_device_is_a_clear_device_error(bluez_mock: BluezMock) -> None:
    result = bluez_mock.run_client("mujo", 10, target="No Such Watch", scan_timeout_s=2.0)
    assert "device 'No Such Watch' not found after 2 s" in result["error"]
    assert result["seconds"] < 15


@pytest.mark.parametrize("profile", ["mujo", "polar"])
def test_stock_bleak_streams_from_a_bless_peripheral(bluez_mock: BluezMock, profile: str) -> None:
    # bluezoo cannot connect the same device twice in one run (it re-exports the GATT objects), so each
    # profile's peripheral gets exactly one connection; reconnection is proved on bumble (test_bumble_*.py).
    result = bluez_mock.run_client(profile, 100)
    assert "error" not in result, result.get("error")
    assert result["statuses"] == ["connected", "stopped"]
    assert result["mtu"] == 23  # bluezoo models no MTU exchange: bleak reports the default
    assert result["rate_hz"] == MOCK_RATES_HZ[profile]  # negotiated through the control protocol
    assert result["decode_errors"] == 0 and result["gaps"] == 0
    n = len(result["acc_g"])
    assert 100 <= n < 200
    if profile == "mujo":  # one sample per 20-byte frame; sequence from 0 after the RESTART frame
        assert result["seq"] == list(range(n))
    device = mock_device(profile)  # the very model the peripheral ran: what it sent, exactly
    expected_t = [device.sensor_time_s(i) for i in range(n)]
    np.testing.assert_allclose(result["t_sensor_s"], expected_t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result["acc_g"], device.motion(0, n), rtol=0, atol=QUANT_G[profile] + 1e-6)
    assert np.ptp(np.asarray(result["acc_g"])[:, 0]) > 0.3  # the motion really moved
