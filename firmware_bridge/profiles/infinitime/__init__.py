"""InfiniTime (PineTime) Motion Service profile: ~10 Hz, host-stamped. Byte format in :mod:`.motion`."""

from mujo_edge.firmware_bridge.profiles.infinitime.device import InfiniTimeDevice
from mujo_edge.firmware_bridge.profiles.infinitime.profile import InfiniTimeProfile

#: What the registry (:mod:`mujo_edge.firmware_bridge.profiles`) finds in every profile folder: the host's
#: decoder and the watch's device model.
PROFILE = InfiniTimeProfile
DEVICE = InfiniTimeDevice

__all__ = ["DEVICE", "PROFILE", "InfiniTimeDevice", "InfiniTimeProfile"]
