"""Polar Measurement Data (PMD) profile: Verity Sense, H10, OH1. Byte formats in :mod:`.pmd`."""

from mujo_edge.firmware_bridge.profiles.polar.device import PolarDevice
from mujo_edge.firmware_bridge.profiles.polar.profile import PolarPmdProfile

#: What the registry (:mod:`mujo_edge.firmware_bridge.profiles`) finds in every profile folder: the host's
#: decoder and the watch's device model.
PROFILE = PolarPmdProfile
DEVICE = PolarDevice

__all__ = ["DEVICE", "PROFILE", "PolarDevice", "PolarPmdProfile"]
