"""`althan simulate`: a firmware rollout to an installed Alt HAN fleet, through the real DSP.

The bridges are already installed (the rollout is the subject, not the install): their SMI
records are seeded set-based as Commissioned PPMIDs with their Alt HAN Device Variant, and the
Comms Hubs' device logs are preloaded. AltHANCo assures one image per bridge model in the CPL;
the supplier sends signed SRV 11.4s (at most 50,000 devices each) through the DSP gateway; the
DSP fans the images out to the CSPs over SM WAN messages; the simulated network serves them
over ZigBee OTA under the chosen strategy; N39s come back. Then the network's disruption
figures, the CSP WAN bytes and the completion timeline are read and plotted.

Same seed, same result (except the wall time).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack

from althan.csp.network import NetworkMetrics, percentile
from althan.dsp import smi
from althan.dsp.assurance import MAX_IMAGE_BYTES
from althan.han.config import NetworkConfig, Strategy
from althan.han.topology import Fleet, generate_fleet
from althan.model import Region
from althan.runtime.faults import FaultPlan
from althan.runtime.scenario import (
    MAX_DEVICES_PER_11_4,
    Progress,
    Scenario,
    Stage,
    installed_bridges,
)

__all__ = [
    "MAX_DEVICES_PER_11_4",
    "MAX_PAYLOAD_SIZE",
    "PAYLOAD_SIZE",
    "STAGES",
    "Progress",
    "RolloutOptions",
    "SimulationError",
    "SimulationResult",
    "Stats",
    "rollout",
    "run_simulation",
]

STAGES = (Stage.INSTALLED, Stage.ASSURE, Stage.UPDATE)

MAX_HOMES = 1_000_000
NEW_VERSION = 0x01000200
_FAILURE_ALERTS = ("N39", "N55", "N56")  # the last of these closes the rollout
_TIMELINE_STEP_PCT = 5
PAYLOAD_SIZE = 256 * 1024
"""The payload of the image a rollout assures per bridge model, unless told (bytes): the
ZigBee OTA images of comparable devices are 200–330 KB (docs/network.md "Defaults")."""
MAX_PAYLOAD_SIZE = MAX_IMAGE_BYTES - 1024
"""The largest payload whose image (header and tags: under 1 KB) an 11.4 can carry."""
_T = TypeVar("_T")


class SimulationError(ValueError):
    """A simulation that cannot be run as asked (bad size, seed, strategy or data directory)."""


@dataclass(frozen=True, slots=True)
class Stats:
    """Nearest-rank median and 95th percentile, and the maximum, of a per-home figure."""

    median: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        return cls(percentile(values, 50), percentile(values, 95), max(values) if values else 0.0)

    def as_dict(self, ndigits: int = 3) -> dict[str, float]:
        return {
            "median": round(self.median, ndigits),
            "p95": round(self.p95, ndigits),
            "max": round(self.max, ndigits),
        }


@dataclass(frozen=True)
class SimulationResult:
    homes: int
    devices: int
    updated: int
    failed: int
    n39_alerts: int
    strategy: Strategy
    seed: int
    virtual_seconds: float
    """From the first 11.4 to the last N39 / N55 / N56 the supplier received."""
    wall_seconds: float
    """Fleet generation to the last event of the sim (the plot is not counted)."""
    disruption_minutes: Stats
    """Per home: minutes its GSME, IHD and PPMID were cut off, summed."""
    lost_messages: Stats
    """Per home: periodic HAN messages lost (cut off, or HAN saturated by OTA)."""
    outage_windows_mean: float
    csp_bytes: dict[str, int]
    """Per region: image + GBCS bytes over the SM WAN."""
    csp_image_bytes: dict[str, int]
    devices_by_region: dict[str, int]
    completion: dict[str, tuple[float, ...]]
    """Per region: seconds after the first 11.4 at which each N39 reached the supplier, sorted."""
    per_home_disruption: tuple[float, ...] = field(repr=False)
    per_home_lost: tuple[float, ...] = field(default=(), repr=False)
    per_home_outages: tuple[int, ...] = field(default=(), repr=False)
    """Per home, as `per_home_disruption`: what `merge` needs to give a sharded run's figures
    exactly as one run over the whole fleet gives them."""
    alerts: dict[str, int] = field(default_factory=dict)
    responses: dict[str, int] = field(default_factory=dict)
    """Response codes of the DSP's synchronous replies to the 11.4s."""
    network_failures: int = 0
    makespan_lower_bound: float = 0.0
    """Seconds no rollout of this fleet can beat on this network (`makespan_lower_bound`)."""
    png: Path | None = None
    svg: Path | None = None

    @classmethod
    def merge(cls, parts: Sequence[SimulationResult], wall_seconds: float) -> SimulationResult:
        """The result of one run over the union of `parts`' fleets, from the runs of disjoint
        sets of CSP regions (shards: each region's network, and the DSP's handling of it, is
        independent of the others'; the 11.4s go per model and region)."""
        if not parts:
            raise SimulationError("no shards to merge")
        first = parts[0]

        def total(get: Callable[[SimulationResult], dict[str, int]]) -> dict[str, int]:
            out: Counter[str] = Counter()
            for p in parts:
                out.update(get(p))
            return dict(sorted(out.items()))

        def owned(get: Callable[[SimulationResult], dict[str, _T]]) -> dict[str, _T]:
            """Per region, the figure of the shard that ran it."""
            return {
                r.value: next(
                    (get(p)[r.value] for p in parts if p.devices_by_region.get(r.value)),
                    get(first)[r.value],
                )
                for r in Region
            }

        disruption = tuple(x for p in parts for x in p.per_home_disruption)
        lost = tuple(x for p in parts for x in p.per_home_lost)
        outages = tuple(x for p in parts for x in p.per_home_outages)
        return cls(
            homes=sum(p.homes for p in parts),
            devices=sum(p.devices for p in parts),
            updated=sum(p.updated for p in parts),
            failed=sum(p.failed for p in parts),
            n39_alerts=sum(p.n39_alerts for p in parts),
            strategy=first.strategy,
            seed=first.seed,
            virtual_seconds=max(p.virtual_seconds for p in parts),
            wall_seconds=wall_seconds,
            disruption_minutes=Stats.of(disruption),
            lost_messages=Stats.of(lost),
            outage_windows_mean=sum(outages) / len(outages) if outages else 0.0,
            csp_bytes=owned(lambda p: p.csp_bytes),
            csp_image_bytes=owned(lambda p: p.csp_image_bytes),
            devices_by_region={
                r.value: sum(p.devices_by_region[r.value] for p in parts) for r in Region
            },
            completion=owned(lambda p: p.completion),
            per_home_disruption=disruption,
            per_home_lost=lost,
            per_home_outages=outages,
            alerts=total(lambda p: p.alerts),
            responses=total(lambda p: p.responses),
            network_failures=sum(p.network_failures for p in parts),
            makespan_lower_bound=max(p.makespan_lower_bound for p in parts),
        )

    def timeline(self, step_pct: int = _TIMELINE_STEP_PCT) -> dict[str, list[list[float]]]:
        """Per region: [hours, percent] when `step_pct`, 2×`step_pct`, … % of it was updated."""
        out: dict[str, list[list[float]]] = {}
        for region, times in self.completion.items():
            total = self.devices_by_region.get(region, 0)
            pts: list[list[float]] = []
            for pct in range(step_pct, 101, step_pct):
                need = -(-pct * total // 100)  # ceil
                if need == 0 or need > len(times):
                    break
                pts.append([round(times[need - 1] / 3600.0, 4), float(pct)])
            out[region] = pts
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready; equal for equal seeds except `wall_seconds`."""
        return {
            "homes": self.homes,
            "devices": self.devices,
            "updated": self.updated,
            "failed": self.failed,
            "n39_alerts": self.n39_alerts,
            "strategy": self.strategy.value,
            "seed": self.seed,
            "virtual_seconds": round(self.virtual_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "disruption_minutes": self.disruption_minutes.as_dict(),
            "lost_messages": self.lost_messages.as_dict(),
            "outage_windows_mean": round(self.outage_windows_mean, 4),
            "csp_bytes": dict(self.csp_bytes),
            "csp_image_bytes": dict(self.csp_image_bytes),
            "devices_by_region": dict(self.devices_by_region),
            "alerts": dict(self.alerts),
            "responses": dict(self.responses),
            "network_failures": self.network_failures,
            "makespan_lower_bound_s": round(self.makespan_lower_bound, 3),
            "makespan_x_bound": (
                round(self.virtual_seconds / self.makespan_lower_bound, 4)
                if self.makespan_lower_bound
                else None
            ),
            "timeline": self.timeline(),
            "plots": [p.name for p in (self.png, self.svg) if p is not None],
        }


class RolloutOptions(TypedDict, total=False):
    """The keyword options :func:`run_simulation` passes on to :func:`rollout`."""

    progress: Progress | None
    payload_size: int
    config: NetworkConfig | None
    faults: FaultPlan | None
    regions: Collection[Region] | None


def run_simulation(
    homes: int,
    strategy: Strategy | str,
    seed: int,
    data_dir: Path,
    **options: Unpack[RolloutOptions],
) -> SimulationResult:
    """Roll one new image per bridge model out to `homes` installed Alt HAN homes (only those
    in `regions`, when given: one shard of a national run, `althan.runtime.shards`).

    `data_dir` must not already hold a store (the SMI is seeded from scratch). `config`, when
    given, replaces the default network configuration (its strategy is overridden).
    """
    strat = _strategy(strategy)
    wall0 = time.perf_counter()
    w = rollout(homes, strat, seed, data_dir, keep_documents=False, **options)
    image_size = options.get("payload_size", PAYLOAD_SIZE)
    try:
        return _result(w, w.fleet, strat, seed, time.perf_counter() - wall0, image_size)
    finally:
        # the store is closed here, not whenever the garbage collector gets to it (closing
        # checkpoints SQLite's WAL into the database file)
        w.engine.dispose()


def rollout(
    homes: int,
    strategy: Strategy | str,
    seed: int,
    data_dir: Path,
    progress: Progress | None = None,
    *,
    payload_size: int = PAYLOAD_SIZE,
    config: NetworkConfig | None = None,
    faults: FaultPlan | None = None,
    keep_documents: bool = True,
    regions: Collection[Region] | None = None,
) -> Scenario:
    """The rollout of :func:`run_simulation`, run to its end; the scenario it leaves.

    `keep_documents=False`: the supplier's node keeps no documents, only its arrivals."""
    strat = _strategy(strategy)
    if not 1 <= homes <= MAX_HOMES:
        raise SimulationError(f"homes must be between 1 and {MAX_HOMES}, got {homes}")
    if seed < 0:
        raise SimulationError(f"seed must be >= 0, got {seed}")
    if not 1 <= payload_size <= MAX_PAYLOAD_SIZE:
        raise SimulationError(
            f"the image payload must be 1 to {MAX_PAYLOAD_SIZE:,} bytes (an 11.4 carries an "
            f"image of at most {MAX_IMAGE_BYTES:,} with its header), got {payload_size:,}"
        )
    if (data_dir / "althan.db").exists():
        raise SimulationError(f"{data_dir} already holds a store (althan.db); use a new directory")
    tick: Progress = progress or (lambda _s, _d, _t: None)

    # 1. the installed fleet
    fleet = generate_fleet(homes, seed, regions)
    bridges = list(fleet.bridges())
    n = len(bridges)
    tick(Stage.INSTALLED, 0, n)
    base = config or NetworkConfig()
    cfg = dataclasses.replace(base, strategy=strat, preloaded_device_logs=True)
    w = Scenario(
        fleet, data_dir, seed=seed, network=cfg, faults=faults, keep_documents=keep_documents
    )
    w.seed(installed_bridges(bridges))
    tick(Stage.INSTALLED, n, n)

    # 2. AltHANCo assures one image per bridge model
    images = w.assure(bridges, NEW_VERSION, payload_size, tick)
    # 3. the supplier's 11.4s, then the sim runs until nothing is left to happen
    tick(Stage.UPDATE, 0, n)
    w.update_firmware(bridges, images, NEW_VERSION, tick, per_region=True)
    return w


def _strategy(s: Strategy | str) -> Strategy:
    try:
        return Strategy(s)
    except ValueError:
        names = ", ".join(x.value for x in Strategy)
        raise SimulationError(f"unknown strategy {s!r}; expected one of {names}") from None


def makespan_lower_bound(
    fleet: Fleet, config: NetworkConfig, image_bytes: dict[str, int], image_size: int
) -> float:
    """A physical lower bound on the time from the 11.4s to the last N39, whatever the
    strategy: per region, the image bytes its WAN must carry (`image_bytes`) cannot cross
    faster than its capacity, nor any one transfer faster than its slot (capacity / concurrent
    transfers); the hub reached last still has to move one image of `image_size` bytes or more
    over its HAN at the blocks' airtime, the device to reboot into it and rejoin, and its CS09
    to cross the WAN back (latency both ways). Strategy pacing, the settle wait and any
    queueing beyond capacity are not in it: they are what the ratio to it measures."""
    han = config.han
    one_download = math.ceil(image_size / han.block_size) * han.han_block_airtime_s
    activation = han.reboot_s + min(han.rejoin_s, han.sleepy_rejoin_s)
    bound = 0.0
    for region in Region:
        if not fleet.by_region(region):
            continue
        wan = config.wan_for(region)
        per_transfer = wan.bytes_per_s / wan.concurrent
        wan_s = max(image_bytes.get(region.value, 0) / wan.bytes_per_s, image_size / per_transfer)
        bound = max(bound, wan_s + wan.latency_s + one_download + activation + wan.latency_s)
    return bound


def _result(
    w: Scenario,
    fleet: Fleet,
    strategy: Strategy,
    seed: int,
    wall: float,
    image_size: int = 0,
) -> SimulationResult:
    bridges = list(fleet.bridges())
    region_of = {str(b.eui): h.region.value for h, b in bridges}
    devices_by_region: Counter[str] = Counter(region_of.values())
    want = f"{NEW_VERSION:08X}"
    with w.engine.connect() as conn:
        updated = smi.count_althan(conn, version=want)
    t0 = w.update_started
    last = t0
    completion: dict[str, list[float]] = {r.value: [] for r in Region}
    for a in w.user.arrivals():
        if a.alert_code in _FAILURE_ALERTS:
            last = max(last, a.time)
        if a.alert_code == "N39":
            completion.setdefault(region_of.get(a.device or "", "Unknown"), []).append(a.time - t0)
    m: NetworkMetrics = w.network.metrics()
    homes_d = m.homes
    per_home = tuple(h.unreachable_min for h in homes_d)
    return SimulationResult(
        homes=len(fleet.homes),
        devices=len(bridges),
        updated=updated,
        failed=len(bridges) - updated,
        n39_alerts=w.user.alert_counts.get("N39", 0),
        strategy=strategy,
        seed=seed,
        virtual_seconds=last - t0,
        wall_seconds=wall,
        disruption_minutes=Stats.of(per_home),
        lost_messages=Stats.of(m.lost_messages()),
        outage_windows_mean=(
            sum(h.outage_windows for h in homes_d) / len(homes_d) if homes_d else 0.0
        ),
        csp_bytes={r.value: m.bytes_per_region.get(r, 0) for r in Region},
        csp_image_bytes={r.value: m.image_bytes_per_region.get(r, 0) for r in Region},
        devices_by_region={r.value: devices_by_region.get(r.value, 0) for r in Region},
        completion={k: tuple(sorted(v)) for k, v in completion.items()},
        per_home_disruption=per_home,
        per_home_lost=tuple(m.lost_messages()),
        per_home_outages=tuple(h.outage_windows for h in homes_d),
        alerts=dict(sorted(w.user.alert_counts.items())),
        responses=dict(sorted(Counter(r.response_code for r in w.user.replies).items())),
        network_failures=len(m.failures),
        makespan_lower_bound=makespan_lower_bound(
            fleet,
            w.network.config,
            {r.value: m.image_bytes_per_region.get(r, 0) for r in Region},
            image_size,
        ),
    )
