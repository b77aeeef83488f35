"""The seeded fault plan, and the sim runtime's injector that applies it.

Components never draw faults (DESIGN §4): the plan is data, and the runtime decides from its
seed which transfer fails, which device reboots when, which download gets a corrupted block,
which message a link loses, then injects those decisions as events into the components:

* timed faults, posted when the run starts: device power cycles
  (:class:`althan.han.events.PowerCycle`), CSP WAN outages
  (:class:`althan.csp.events.WanDown` ... :class:`~althan.csp.events.WanUp`), and the devices
  whose next download gets a corrupted block (:class:`althan.han.events.CorruptBlock`);
* faults drawn as messages are delivered: each CH transfer of a ``FirmwareDistribution``
  fails with probability ``wan_transfer_failure`` (:class:`althan.csp.events.TransferFails`),
  each target's download gets a corrupted block with probability
  ``1 - (1 - block_corruption) ** blocks`` (blocks of the image), and ``link_loss`` rules lose
  messages between address prefixes.

The plan's JSON form (:meth:`FaultPlan.from_json`) is documented in ``docs/network.md``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from althan.csp.events import HanFault, TransferFails, WanDown, WanUp
from althan.csp.region import csp_address
from althan.han.config import HanTiming
from althan.han.events import CorruptBlock, DeviceFault, PowerCycle
from althan.han.topology import Fleet, Home
from althan.model import EUI64, Region
from althan.smwan import FirmwareDistribution
from althan.zigbee.cluster import blocks_between

__all__ = [
    "FAULT_SENDER",
    "DeviceReboot",
    "FaultInjector",
    "FaultPlan",
    "FaultPlanError",
    "LinkLoss",
    "Outage",
]

FAULT_SENDER = "runtime:faults"
"""The sender of the timed fault events (no link loses them)."""


class FaultPlanError(ValueError):
    """A fault plan that does not hold together (unknown key, bad value, unknown device)."""


@dataclass(frozen=True, slots=True)
class DeviceReboot:
    """`device` power-cycles at simulator time `at`."""

    device: EUI64
    at: float  # simulator time (the clock the Simulator started at)


@dataclass(frozen=True, slots=True)
class Outage:
    """`region`'s WAN is down from `start` to `end` (simulator time)."""

    region: Region
    start: float  # simulator time
    end: float  # simulator time, >= start


@dataclass(frozen=True, slots=True)
class LinkLoss:
    """Messages from an address starting `sender` to one starting `receiver` are lost with
    `probability` (``""`` matches any address)."""

    sender: str  # address prefix, e.g. "csp:"
    receiver: str  # address prefix, e.g. "dsp"
    probability: float  # per message


@dataclass(frozen=True)
class FaultPlan:
    """What goes wrong in a run, seeded: the same plan and seed give the same run."""

    seed: int = 0
    device_reboots: tuple[DeviceReboot, ...] = ()
    corrupt_devices: frozenset[EUI64] = frozenset()  # each one's next download: one bad block
    block_corruption: float = 0.0  # probability that one CH → device block arrives corrupted
    wan_transfer_failure: float = 0.0  # probability that one CSP → CH image transfer fails
    outages: tuple[Outage, ...] = ()
    link_loss: tuple[LinkLoss, ...] = ()

    def __post_init__(self) -> None:
        for name in ("block_corruption", "wan_transfer_failure"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise FaultPlanError(f"{name} must be a probability, got {p}")
        for rule in self.link_loss:
            if not 0.0 <= rule.probability <= 1.0:
                raise FaultPlanError(f"link loss must be a probability, got {rule.probability}")
        for o in self.outages:
            if o.end < o.start:
                raise FaultPlanError(f"outage of {o.region.value} ends before it starts")

    # ------------------------------------------------------------------ JSON form

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "device_reboots": [{"device": str(r.device), "at": r.at} for r in self.device_reboots],
            "corrupt_devices": sorted(str(e) for e in self.corrupt_devices),
            "block_corruption": self.block_corruption,
            "wan_transfer_failure": self.wan_transfer_failure,
            "outages": [
                {"region": o.region.value, "start": o.start, "end": o.end} for o in self.outages
            ],
            "link_loss": [
                {"sender": r.sender, "receiver": r.receiver, "probability": r.probability}
                for r in self.link_loss
            ],
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | str) -> FaultPlan:
        """The plan from its JSON form (an object, or its text); every key is optional."""
        data: Mapping[str, Any] = json.loads(obj) if isinstance(obj, str) else obj
        unknown = set(data) - set(cls().to_json())
        if unknown:
            raise FaultPlanError(f"unknown fault plan keys: {', '.join(sorted(unknown))}")
        try:
            return cls(
                seed=int(data.get("seed", 0)),
                device_reboots=tuple(
                    DeviceReboot(EUI64.parse(r["device"]), float(r["at"]))
                    for r in data.get("device_reboots", ())
                ),
                corrupt_devices=frozenset(EUI64.parse(e) for e in data.get("corrupt_devices", ())),
                block_corruption=float(data.get("block_corruption", 0.0)),
                wan_transfer_failure=float(data.get("wan_transfer_failure", 0.0)),
                outages=tuple(
                    Outage(Region(o["region"]), float(o["start"]), float(o["end"]))
                    for o in data.get("outages", ())
                ),
                link_loss=tuple(
                    LinkLoss(str(r["sender"]), str(r["receiver"]), float(r["probability"]))
                    for r in data.get("link_loss", ())
                ),
            )
        except FaultPlanError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise FaultPlanError(f"not a fault plan: {e!r}") from e


class FaultTarget(Protocol):
    """What the injector needs of a simulator (`althan.runtime.sim.Simulator` fits)."""

    @property
    def now(self) -> float: ...

    def post(self, to: str, msg: object, *, at: float | None = None, sender: str = "") -> None: ...


class FaultInjector:
    """Applies a :class:`FaultPlan` to one run (give it to the `Simulator` as its `faults`,
    then call :meth:`schedule` once the network is built)."""

    def __init__(self, plan: FaultPlan, fleet: Fleet, timing: HanTiming) -> None:
        self.plan = plan
        self._block_size = timing.block_size
        self._rng = random.Random(f"althan-faults:{plan.seed}")
        self._drawn: set[str] = set()  # distributions whose faults are drawn
        named = {r.device for r in plan.device_reboots} | plan.corrupt_devices
        self._home_of: dict[EUI64, Home] = {
            d.eui: h for h in fleet.homes for d in h.devices() if d.eui in named
        }
        missing = named - set(self._home_of)
        if missing:
            raise FaultPlanError(
                f"fault plan names devices not in the fleet: {', '.join(map(str, missing))}"
            )

    def schedule(self, sim: FaultTarget) -> None:
        """Post the plan's timed faults."""
        p = self.plan
        for eui in sorted(p.corrupt_devices, key=lambda e: e.value):
            self._to_hub(sim, eui, CorruptBlock(eui), sim.now)
        for r in p.device_reboots:
            self._to_hub(sim, r.device, PowerCycle(r.device), r.at)
        for o in p.outages:
            sim.post(csp_address(o.region), WanDown(), at=o.start, sender=FAULT_SENDER)
            sim.post(csp_address(o.region), WanUp(), at=o.end, sender=FAULT_SENDER)

    def _to_hub(self, sim: FaultTarget, eui: EUI64, fault: DeviceFault, at: float) -> None:
        h = self._home_of[eui]
        sim.post(csp_address(h.region), HanFault(h.chf, fault), at=at, sender=FAULT_SENDER)

    # ------------------------------------------------------------------ Faults

    def lost(self, sender: str, receiver: str, msg: object) -> bool:
        if sender == FAULT_SENDER:
            return False
        return any(
            sender.startswith(r.sender)
            and receiver.startswith(r.receiver)
            and self._rng.random() < r.probability
            for r in self.plan.link_loss
        )

    def after(self, receiver: str, msg: object) -> Sequence[object]:
        if not isinstance(msg, FirmwareDistribution) or msg.msg_id in self._drawn:
            return ()
        p = self.plan
        if p.wan_transfer_failure <= 0 and p.block_corruption <= 0:
            return ()
        self._drawn.add(msg.msg_id)
        out: list[object] = []
        rng = self._rng
        if p.wan_transfer_failure > 0:
            for chf in dict.fromkeys(t.chf for t in msg.targets):
                if rng.random() < p.wan_transfer_failure:
                    out.append(TransferFails(msg.distribution_id, chf))
        if p.block_corruption > 0:
            blocks = blocks_between(0, len(msg.image), self._block_size)
            p_bad = 1.0 - (1.0 - p.block_corruption) ** blocks
            for t in msg.targets:
                if rng.random() < p_bad:
                    out.append(HanFault(t.chf, CorruptBlock(t.device)))
        return out
