"""Build the simulated network (one CSP component per region) and read its metrics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from althan.csp.region import CspRegion, csp_address
from althan.han import gbcs_io
from althan.han.config import NetworkConfig
from althan.han.disruption import HomeDisruption, Interval, count_ticks, subtract, union
from althan.han.hub import CommsHub, DeviceState, FwState
from althan.han.topology import Fleet
from althan.model import EUI64, Region
from althan.smwan.effects import Component

__all__ = ["DeviceView", "Network", "NetworkMetrics", "SimLike", "build_network", "percentile"]


class SimLike(Protocol):
    """What the builder needs of a simulator (`althan.runtime.sim.Simulator` fits)."""

    @property
    def now(self) -> float: ...

    def add(self, component: Component) -> None: ...

    def call_at(self, address: str, at: float, token: object) -> None: ...


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    s = sorted(values)
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return s[k - 1]


@dataclass(frozen=True, slots=True)
class DeviceView:
    eui: EUI64
    firmware_version: int
    state: FwState
    reachable: bool
    joined: bool
    completed_at: float | None


@dataclass(frozen=True)
class NetworkMetrics:
    homes: tuple[HomeDisruption, ...]
    completion: dict[EUI64, float]  # device → time it rejoined running the new firmware
    bytes_per_region: dict[Region, int]  # image + GBCS bytes over each region's WAN
    image_bytes_per_region: dict[Region, int]
    failures: tuple[tuple[EUI64, str], ...]

    def disruption_minutes(self) -> list[float]:
        return [h.unreachable_min for h in self.homes]

    def lost_messages(self) -> list[float]:
        return [float(h.lost_messages) for h in self.homes]

    def summary(self) -> dict[str, float]:
        d = self.disruption_minutes()
        lost = self.lost_messages()
        done = list(self.completion.values())
        return {
            "homes": float(len(self.homes)),
            "median_disruption_min": percentile(d, 50),
            "p95_disruption_min": percentile(d, 95),
            "mean_disruption_min": sum(d) / len(d) if d else 0.0,
            "median_lost_messages": percentile(lost, 50),
            "p95_lost_messages": percentile(lost, 95),
            "mean_outage_windows": (
                sum(h.outage_windows for h in self.homes) / len(self.homes) if self.homes else 0.0
            ),
            "devices_completed": float(len(done)),
            "makespan_s": max(done) if done else 0.0,
            "failures": float(len(self.failures)),
        }


class Network:
    """The CSP components added to a simulator, and read access to their state."""

    def __init__(self, fleet: Fleet, config: NetworkConfig, sim: SimLike) -> None:
        self.fleet = fleet
        self.config = config
        self._sim = sim
        self.regions: dict[Region, CspRegion] = {}
        self._hub_of: dict[EUI64, tuple[CommsHub, DeviceState]] = {}

    def _register(self, csp: CspRegion) -> None:
        self.regions[csp.region] = csp
        self._hub_of.update(csp.device_hub)

    def address(self, region: Region) -> str:
        return csp_address(region)

    def hub(self, chf: EUI64) -> CommsHub:
        for csp in self.regions.values():
            h = csp.by_chf.get(chf)
            if h is not None:
                return h
        raise KeyError(f"no Comms Hub {chf}")

    def device(self, eui: EUI64) -> DeviceView:
        _hub, d = self._hub_of[eui]
        return DeviceView(d.eui, d.version, d.state, d.reachable, d.joined, d.completed_at)

    def hubs(self) -> Iterable[CommsHub]:
        for csp in self.regions.values():
            yield from csp.hubs

    # ------------------------------------------------------------------ metrics

    def _home(self, hub: CommsHub, now: float) -> HomeDisruption:
        cfg = self.config
        home = hub.home
        busy = hub.busy_intervals(now)
        mins: dict[str, float] = {"gsme": 0.0, "ihd": 0.0, "ppmid": 0.0}
        lost_u = lost_c = 0
        every: list[Interval] = []
        for key, dev, period in (
            ("gsme", home.gsme, cfg.gsme_period_s),
            ("ihd", home.ihd, cfg.ihd_period_s),
            ("ppmid", home.ppmid, cfg.ihd_period_s),
        ):
            if dev is None:
                continue
            d = hub.by_eui[dev.eui]
            ivs: list[Interval] = list(hub.down_intervals(d, now))
            for p in d.path:
                ivs.extend(hub.down_intervals(p, now))
            merged = union(ivs)
            every.extend(merged)
            mins[key] = sum(b - a for a, b in merged) / 60.0
            phase = (dev.eui.value % 9973) / 9973.0 * period
            lost_u += count_ticks(merged, period, phase)
            lost_c += count_ticks(subtract(busy, merged), period, phase)
        return HomeDisruption(
            home_id=home.id,
            gsme_unreachable_min=mins["gsme"],
            ihd_unreachable_min=mins["ihd"],
            ppmid_unreachable_min=mins["ppmid"],
            lost_unreachable=lost_u,
            lost_congestion=lost_c,
            ota_airtime_s=hub.ota_blocks * cfg.han_block_airtime_s,
            outage_windows=len(union(every)),
        )

    def metrics(self) -> NetworkMetrics:
        now = self._sim.now
        homes: list[HomeDisruption] = []
        completion: dict[EUI64, float] = {}
        failures: list[tuple[EUI64, str]] = []
        for hub in sorted(self.hubs(), key=lambda h: h.home.id):
            homes.append(self._home(hub, now))
            for d in hub.devs:
                if d.completed_at is not None:
                    completion[d.eui] = d.completed_at
            failures.extend(hub.failures)
        total = {
            r: c.counters.image_bytes + c.counters.gbcs_bytes_down + c.counters.gbcs_bytes_up
            for r, c in self.regions.items()
        }
        images = {r: c.counters.image_bytes for r, c in self.regions.items()}
        return NetworkMetrics(tuple(homes), completion, total, images, tuple(failures))


def build_network(
    fleet: Fleet,
    config: NetworkConfig,
    device_pki: gbcs_io.KeySource,
    sim: SimLike,
) -> Network:
    """Add one CSP component per region (``csp:<Region>``) to `sim`; schedule configured faults."""
    net = Network(fleet, config, sim)
    for region in Region:
        homes = fleet.by_region(region)
        csp = CspRegion(region, homes, config, device_pki)
        sim.add(csp)
        net._register(csp)
        for at, token in csp.fault_tokens():
            sim.call_at(csp.address, at, token)
    return net
