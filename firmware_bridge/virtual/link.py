"""One in-process bumble link with virtual watches and a central: what ``mujo-edge stream --virtual`` uses.

::

    async with virtual_watches([VirtualWatch("polar", acc_g, 52.0, speed=10)]) as connector:
        session = DeviceSession(connector, "Polar Sense", get_profile("polar"), "left wrist")
        async for item in session.stream(): ...

Several watches on one link make a gateway: each has its own controller and address, the one central
connects to all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from mujo_edge.errors import DataError
from mujo_edge.firmware_bridge.virtual.bumble_transport import REQUESTED_MTU, BumbleConnector
from mujo_edge.firmware_bridge.virtual.watch import VirtualWatch

if TYPE_CHECKING:
    from bumble.device import Device

#: Address of the central (a static random address: top two bits set).
CENTRAL_ADDRESS = "C0:00:00:00:00:01"


def watch_address(index: int) -> str:
    """Static random address of the ``index``-th watch on a link: F0:00:00:00:00:01, ...:02, ..."""
    return "F0:00:00:00:" + f"{(index + 1) >> 8:02X}:{(index + 1) & 0xFF:02X}"


class VirtualLink:
    """A ``LocalLink`` with the given watches on it and a central; :meth:`start` returns the connector."""

    def __init__(self, watches: Sequence[VirtualWatch], requested_mtu: int = REQUESTED_MTU) -> None:
        names = [w.name for w in watches]
        if len(set(names)) != len(names):
            raise DataError(f"virtual watches on one link need distinct names, got {names}")
        self.watches = list(watches)
        self.requested_mtu = requested_mtu
        self.central: Device | None = None
        self.connector: BumbleConnector | None = None

    async def start(self) -> BumbleConnector:
        from bumble.controller import Controller
        from bumble.device import Device
        from bumble.hci import Address
        from bumble.host import Host
        from bumble.link import LocalLink
        from bumble.transport.common import AsyncPipeSink

        link = LocalLink()  # type: ignore[no-untyped-call]  # (bumble's constructor has no annotations)
        for i, watch in enumerate(self.watches):
            await watch.attach(link, watch_address(i))
        controller = Controller("mujo-central", link=link, public_address=CENTRAL_ADDRESS)
        self.central = Device(
            name="mujo-central",
            address=Address(CENTRAL_ADDRESS),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        await self.central.power_on()
        self.connector = BumbleConnector(self.central, self.requested_mtu)
        return self.connector

    async def close(self) -> None:
        """Drop the central's links first (as a phone leaving), then stop every watch."""
        if self.central is not None:
            for connection in list(self.central.connections.values()):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.disconnect(), 1.0)
        for watch in self.watches:
            await watch.close()
        if self.central is not None:
            with contextlib.suppress(Exception):
                await self.central.power_off()


@contextlib.asynccontextmanager
async def virtual_watches(
    watches: Sequence[VirtualWatch], requested_mtu: int = REQUESTED_MTU
) -> AsyncIterator[BumbleConnector]:
    """Start ``watches`` on a fresh link; yield a :class:`BumbleConnector` that finds them by name."""
    link = VirtualLink(watches, requested_mtu)
    try:
        yield await link.start()
    finally:
        await link.close()
