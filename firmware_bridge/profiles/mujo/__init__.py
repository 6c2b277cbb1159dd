"""The open MuJo stream protocol (docs/protocol.md): Python codec in :mod:`.stream`, C encoder in ``c/``."""

from mujo_edge.firmware_bridge.profiles.mujo.profile import MujoStreamProfile

__all__ = ["MujoStreamProfile"]
