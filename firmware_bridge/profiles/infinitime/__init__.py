"""InfiniTime (PineTime) Motion Service profile: ~10 Hz, host-stamped. Byte format in :mod:`.motion`."""

from mujo_edge.firmware_bridge.profiles.infinitime.profile import InfiniTimeProfile

__all__ = ["InfiniTimeProfile"]
