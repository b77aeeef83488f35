"""Build the simulated network (one CSP component per region) and read its metrics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from althan.csp.region import CspRegion, csp_address
from althan.han import gbcs_io
from althan.han.config import NOTHING_INSTALLED, Installed, NetworkConfig
from althan.han.device import Device, Power
from althan.han.disruption import HomeDisruption
from althan.han.hub import CommsHub
from althan.han.strategy import STRATEGIES
from althan.han.topology import Fleet
from althan.model import EUI64, Region
from althan.smwan.effects import Component
from althan.zigbee.client import ClientState

__all__ = ["DeviceView", "Network", "NetworkMetrics", "SimLike", "build_network", "percentile"]


class SimLike(Protocol):
    """What the builder needs of a simulator (`althan.runtime.sim.Simulator` fits)."""

    @property
    def now(self) -> float: ...

    def add(self, component: Component) -> None: ...


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    s = sorted(values)
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return s[k - 1]


@dataclass(frozen=True, slots=True)
class DeviceView:
    """What one HAN device is doing, read from its hub."""

    eui: EUI64
    firmware_version: int
    state: ClientState | Power  # its OTA client's state while powered, else its power state
    reachable: bool
    joined: bool
    completed_at: float | None  # when it rejoined running a new image
    offset: int  # how far its download got
    receiving: bool  # blocks are moving to it now
    stalls: int  # downloads cut off mid-way (it or a bridge on its path went down)


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
        self._hub_of: dict[EUI64, CommsHub] = {}  # built on first look-up

    def address(self, region: Region) -> str:
        return csp_address(region)

    def hub(self, chf: EUI64) -> CommsHub:
        for csp in self.regions.values():
            h = csp.by_chf.get(chf)
            if h is not None:
                return h
        raise KeyError(f"no Comms Hub {chf}")

    def han_device(self, eui: EUI64) -> Device:
        """The live HAN device (for tests and diagnostics; read it, do not drive it)."""
        if not self._hub_of:
            for hub in self.hubs():
                for d in hub.devices:
                    self._hub_of[d.eui] = hub
        return self._hub_of[eui].by_eui[eui]

    def device(self, eui: EUI64) -> DeviceView:
        d = self.han_device(eui)
        return DeviceView(
            d.eui,
            d.version,
            d.state,
            d.reachable,
            d.joined,
            d.completed_at,
            d.client.offset,
            d.running,
            d.stalls,
        )

    def hubs(self) -> Iterable[CommsHub]:
        for csp in self.regions.values():
            yield from csp.hubs

    # ------------------------------------------------------------------ metrics

    def metrics(self) -> NetworkMetrics:
        now = self._sim.now
        homes: list[HomeDisruption] = []
        completion: dict[EUI64, float] = {}
        failures: list[tuple[EUI64, str]] = []
        for hub in sorted(self.hubs(), key=lambda h: h.home.id):
            homes.append(hub.home_disruption(now))
            for d in hub.devices:
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
    installed: Installed = NOTHING_INSTALLED,
    first_msg: int = 0,
) -> Network:
    """Add one CSP component per region (``csp:<Region>``) to `sim`, each numbering its
    messages from `first_msg` (see `CspRegion`).

    Faults are not part of the network: the sim runtime applies a fault plan
    (:class:`althan.runtime.faults.FaultInjector`) to the components this adds.
    """
    net = Network(fleet, config, sim)
    strategy = STRATEGIES[config.strategy]
    for region in Region:
        csp = CspRegion(
            region,
            fleet.by_region(region),
            config.wan_for(region),
            config.han,
            strategy,
            device_pki,
            preloaded_device_logs=config.preloaded_device_logs,
            installed=installed,
            first_msg=first_msg,
        )
        sim.add(csp)
        net.regions[region] = csp
    return net
