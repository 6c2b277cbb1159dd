"""Device profiles, one folder each, and the registry :func:`get_profile`.

====================  ===============================================  ==============================
name                  devices                                          samples
====================  ===============================================  ==============================
``polar``             Polar Verity Sense, H10, OH1 (PMD service)       ACC 25-200 Hz, sensor-stamped
``infinitime``        PineTime with InfiniTime (Motion Service)        ~10 Hz, host-stamped
``mujo``              any watch running the open MuJo stream protocol  int16 batches, CRC, sequence
====================  ===============================================  ==============================
"""

from __future__ import annotations

from typing import Any

from mujo_edge.errors import DeviceError
from mujo_edge.firmware_bridge.profiles.base import DataCallback, DeviceProfile


def _classes() -> dict[str, type[DeviceProfile]]:
    from mujo_edge.firmware_bridge.profiles.infinitime import InfiniTimeProfile
    from mujo_edge.firmware_bridge.profiles.mujo import MujoStreamProfile
    from mujo_edge.firmware_bridge.profiles.polar import PolarPmdProfile

    return {"polar": PolarPmdProfile, "infinitime": InfiniTimeProfile, "mujo": MujoStreamProfile}


PROFILE_NAMES = ("polar", "infinitime", "mujo")


def get_profile(name: str, **options: Any) -> DeviceProfile:
    """A new profile by registry name; ``options`` go to its constructor (``device=``, ``rate_hz=``...)."""
    classes = _classes()
    cls = classes.get(name.strip().lower())
    if cls is None:
        raise DeviceError(
            f"unknown device profile {name!r}; expected one of {', '.join(PROFILE_NAMES)}. "
            "See docs/devices.md for what each supports and how to add one."
        )
    options = {k: v for k, v in options.items() if v is not None}
    return cls(**options)


__all__ = ["PROFILE_NAMES", "DataCallback", "DeviceProfile", "get_profile"]
