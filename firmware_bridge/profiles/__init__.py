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

import importlib
import inspect
from types import ModuleType
from typing import Any

from mujo_edge.errors import ConfigError
from mujo_edge.firmware_bridge.profiles.base import DataCallback, DeviceProfile
from mujo_edge.firmware_bridge.profiles.device import WatchDevice

#: Every profile, by registry name: the name of its folder. A folder holds the host's decoder (``PROFILE``,
#: a :class:`DeviceProfile`) and the watch's device model (``DEVICE``, a :class:`WatchDevice`) that the
#: virtual watches and the replay transport run; adding a profile is adding a folder and its name here.
PROFILE_NAMES = ("polar", "infinitime", "mujo")


def _folder(name: str) -> ModuleType:
    if not isinstance(name, str):
        raise ConfigError(
            f"a device profile is named by a str, got {type(name).__name__} {name!r}; expected one of "
            f"{', '.join(PROFILE_NAMES)}"
        )
    key = name.strip().lower()
    if key not in PROFILE_NAMES:
        raise ConfigError(
            f"unknown device profile {name!r}; expected one of {', '.join(PROFILE_NAMES)}. "
            "See docs/devices.md for what each supports and how to add one."
        )
    return importlib.import_module(f"{__name__}.{key}")


def get_profile(name: str, **options: Any) -> DeviceProfile:
    """A new profile by registry name; ``options`` go to its constructor (``device=``, ``rate_hz=``...)."""
    cls: type[DeviceProfile] = _folder(name).PROFILE
    options = {k: v for k, v in options.items() if v is not None}
    known = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(
            f"the {cls.name} profile has no option {', '.join(unknown)}; its options are {', '.join(known)}"
        )
    return cls(**options)


def device_model(name: str) -> type[WatchDevice]:
    """The device model class of a profile by registry name (``PolarDevice``, ...)."""
    cls: type[WatchDevice] = _folder(name).DEVICE
    return cls


__all__ = ["PROFILE_NAMES", "DataCallback", "DeviceProfile", "WatchDevice", "device_model", "get_profile"]
