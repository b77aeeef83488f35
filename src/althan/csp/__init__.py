"""althan.csp: the CSP regions (SM WAN) with their Comms Hubs, as sim components.

``build_network(fleet, config, device_pki, sim) -> Network`` adds ``csp:North``,
``csp:Central`` and ``csp:South`` to a simulator; the DSP reaches them only with smwan messages.
"""

from althan.csp.network import DeviceView, Network, NetworkMetrics, build_network, percentile
from althan.csp.region import DSP_ADDRESS, CspRegion, csp_address

__all__ = [
    "DSP_ADDRESS",
    "CspRegion",
    "DeviceView",
    "Network",
    "NetworkMetrics",
    "build_network",
    "csp_address",
    "percentile",
]
