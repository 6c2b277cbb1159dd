"""Polar Measurement Data (PMD) profile: Verity Sense, H10, OH1. Byte formats in :mod:`.pmd`."""

from mujo_edge.firmware_bridge.profiles.polar.profile import PolarPmdProfile

__all__ = ["PolarPmdProfile"]
