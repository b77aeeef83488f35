"""althan.han: Alt HAN homes, Comms Hubs (device log, OTA server) and HAN devices.

Public API: :func:`generate_fleet`, :func:`enumerate_topologies`, :class:`NetworkConfig`,
:class:`Strategy`; the hubs themselves are driven by the CSP components of ``althan.csp``.
"""

from althan.han.config import NetworkConfig, RegionWan, Strategy
from althan.han.disruption import HomeDisruption
from althan.han.hub import MAX_TYPE1_DEVICES, FwState, TransferResult
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
    "FwState",
    "HanDevice",
    "Home",
    "HomeDisruption",
    "NetworkConfig",
    "RegionWan",
    "Strategy",
    "TopologyError",
    "TopologyKind",
    "TransferResult",
    "enumerate_topologies",
    "generate_fleet",
]
