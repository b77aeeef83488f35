"""Configuration of the simulated network: strategy, WAN capacities, HAN timings, faults."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from althan.model import EUI64, Region

__all__ = ["NetworkConfig", "RegionWan", "Strategy"]


class Strategy(enum.StrEnum):
    """How a Comms Hub serves firmware to the devices of its HAN.

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

    bytes_per_s: float
    concurrent: int
    latency_s: float


def _default_wan() -> dict[Region, RegionWan]:
    return {
        Region.NORTH: RegionWan(bytes_per_s=20_000.0, concurrent=20, latency_s=30.0),
        Region.CENTRAL: RegionWan(bytes_per_s=200_000.0, concurrent=100, latency_s=5.0),
        Region.SOUTH: RegionWan(bytes_per_s=200_000.0, concurrent=100, latency_s=5.0),
    }


@dataclass(frozen=True)
class NetworkConfig:
    strategy: Strategy = Strategy.HAN_AWARE
    wan: dict[Region, RegionWan] = field(default_factory=_default_wan)
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
    # faults
    seed: int = 0
    corrupt_block_probability: float = 0.0
    corrupt_devices: frozenset[EUI64] = frozenset()  # these devices receive one bad block
    device_reboots: tuple[tuple[EUI64, float], ...] = ()  # (device, time): power cycles
    outages: dict[Region, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    wan_failure_probability: float = 0.0
    preloaded_device_logs: bool = True  # fleet Type 1 devices already whitelisted and joined

    def wan_for(self, region: Region) -> RegionWan:
        return self.wan[region]
