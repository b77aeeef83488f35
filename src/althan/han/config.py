"""Configuration of the simulated network: each CSP region's WAN, the HAN's timings, the strategy.

Faults are not configuration of the components: they are a seeded fault plan that the sim
runtime applies (:mod:`althan.runtime.faults`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from althan.model import EUI64, Region

__all__ = [
    "NOTHING_INSTALLED",
    "HanTiming",
    "Installed",
    "NetworkConfig",
    "RegionWan",
    "Strategy",
    "default_wan",
]


class Strategy(enum.StrEnum):
    """The name of a strategy by which Comms Hubs serve firmware (the behaviour itself is an
    object of :mod:`althan.han.strategy`).

    ``naive``: every target at once, no block pacing, each device activates as soon as its
    download verifies. ``han-aware``: one download per HAN at a time, paced blocks
    (MinimumBlockPeriod), remote bridges before B1, activations held ("wait") and released
    together once the HAN has nothing left to download (remote bridges first, then B1, so the
    devices behind them see one outage window).
    """

    NAIVE = "naive"
    HAN_AWARE = "han-aware"


@dataclass(frozen=True, slots=True)
class RegionWan:
    """One CSP region's SM WAN: total image throughput, parallel transfers, one-way latency."""

    bytes_per_s: float  # image bytes per second, all transfers together
    concurrent: int  # transfers at once (the rest queue)
    latency_s: float


def default_wan() -> dict[Region, RegionWan]:
    """North is long-range radio (slow, high latency); Central and South are cellular."""
    return {
        Region.NORTH: RegionWan(bytes_per_s=20_000.0, concurrent=20, latency_s=30.0),
        Region.CENTRAL: RegionWan(bytes_per_s=200_000.0, concurrent=100, latency_s=5.0),
        Region.SOUTH: RegionWan(bytes_per_s=200_000.0, concurrent=100, latency_s=5.0),
    }


@dataclass(frozen=True, slots=True)
class HanTiming:
    """The HAN behind every Comms Hub: ZigBee OTA pacing, reboots, han-aware activation holds,
    and the periodic HAN traffic that OTA may disrupt."""

    # ZigBee OTA
    block_size: int = 64  # bytes of image per Image Block Response
    han_block_airtime_s: float = 0.01  # CH HAN airtime of one block exchange
    p2p_block_airtime_s: float = 0.02  # extra airtime over the Alt HAN P2P link
    min_block_period_s: float = 0.25  # han-aware MinimumBlockPeriod (naive: none)
    sleepy_poll_period_s: float = 1.0  # B4 polls its parent this often during OTA
    # reboots
    reboot_s: float = 30.0
    rejoin_s: float = 20.0
    sleepy_rejoin_s: float = 60.0
    join_delay_s: float = 10.0  # whitelisted device in range joins this long after CCS01
    # han-aware activation
    settle_s: float = 300.0  # wait this long after the last download for more images
    release_stagger_s: float = 5.0  # remote bridges released this long before B1
    # HAN traffic that OTA may disrupt
    gsme_period_s: float = 1800.0
    ihd_period_s: float = 10.0
    congestion_threshold: float = 0.5  # HAN OTA utilisation above which HAN traffic is lost


@dataclass(frozen=True)
class NetworkConfig:
    """What `althan.csp.build_network` builds: the strategy every Comms Hub follows, the WAN of
    each region, the HAN timings, and whether the fleet's Type 1 devices start whitelisted."""

    strategy: Strategy = Strategy.HAN_AWARE
    wan: Mapping[Region, RegionWan] = field(default_factory=default_wan)
    han: HanTiming = field(default_factory=HanTiming)
    preloaded_device_logs: bool = True  # fleet Type 1 devices already whitelisted and joined

    def wan_for(self, region: Region) -> RegionWan:
        return self.wan[region]


@dataclass(frozen=True)
class Installed:
    """What the homes already hold when the network starts, beyond the fleet's factory state:
    Type 1 devices physically present but not yet in their CHF's device log (spare bridges a
    supplier is to install), and firmware devices run that is not their factory firmware (a
    network rebuilt after a restart, from the SMI)."""

    not_in_device_log: frozenset[EUI64] = frozenset()
    firmware: Mapping[EUI64, int] = field(default_factory=dict)


NOTHING_INSTALLED = Installed()
