"""althan.han: Alt HAN homes, Comms Hubs (device log, OTA server) and HAN devices.

Public API: :func:`generate_fleet`, :func:`enumerate_topologies`, :class:`NetworkConfig` (with
:class:`RegionWan` and :class:`HanTiming`), :class:`Strategy`; the hubs themselves
(:class:`althan.han.hub.CommsHub`, sans-IO: events in, outputs out) are driven by the CSP
components of ``althan.csp``.
"""

from althan.han.config import HanTiming, NetworkConfig, RegionWan, Strategy
from althan.han.device import Power
from althan.han.devicelog import MAX_TYPE1_DEVICES
from althan.han.disruption import HomeDisruption
from althan.han.image import TransferResult
from althan.han.topology import (
    BRIDGE_MODELS,
    DEVICE_MODELS,
    Bridge,
    DeviceModel,
    Fleet,
    HanDevice,
    Home,
    TopologyError,
    TopologyKind,
    enumerate_topologies,
    generate_fleet,
)

__all__ = [
    "BRIDGE_MODELS",
    "DEVICE_MODELS",
    "MAX_TYPE1_DEVICES",
    "Bridge",
    "DeviceModel",
    "Fleet",
    "HanDevice",
    "HanTiming",
    "Home",
    "HomeDisruption",
    "NetworkConfig",
    "Power",
    "RegionWan",
    "Strategy",
    "TopologyError",
    "TopologyKind",
    "TransferResult",
    "enumerate_topologies",
    "generate_fleet",
]
