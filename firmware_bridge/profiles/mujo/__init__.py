"""The open MuJo stream protocol (docs/protocol.md): Python codec in :mod:`.stream`, C encoder in ``c/``."""

from mujo_edge.firmware_bridge.profiles.mujo.device import MujoDevice
from mujo_edge.firmware_bridge.profiles.mujo.profile import MujoStreamProfile

#: What the registry (:mod:`mujo_edge.firmware_bridge.profiles`) finds in every profile folder: the host's
#: decoder and the watch's device model.
PROFILE = MujoStreamProfile
DEVICE = MujoDevice

__all__ = ["DEVICE", "PROFILE", "MujoDevice", "MujoStreamProfile"]
