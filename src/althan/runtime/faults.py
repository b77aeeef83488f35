"""The sim runtime's injector: it applies a seeded :class:`FaultPlan` to one run.

Components never draw faults (DESIGN §4): the plan is data (:mod:`althan.runtime.fault_plan`),
and the injector decides from its seed what goes wrong, then injects those decisions:

* timed faults, posted when the run starts: the plan's named device power cycles
  (:class:`althan.han.events.PowerCycle`), CSP WAN outages
  (:class:`althan.csp.events.WanDown` ... :class:`~althan.csp.events.WanUp`), and the devices
  whose next download gets a corrupted block (:class:`althan.han.events.CorruptBlock`);
* faults drawn as messages are delivered: each CH transfer of a ``FirmwareDistribution``
  fails with probability ``wan_transfer_failure`` (:class:`althan.csp.events.TransferFails`),
  each target's download gets a corrupted block with probability
  ``1 - (1 - block_corruption) ** blocks`` (blocks of the image), and ``link_loss`` rules lose
  messages between address prefixes for good;
* faults drawn when the first image reaches a CSP, at times within ``window_s``: CSP outage
  windows, DSP crashes (:class:`DspCrash` ... :class:`DspRestart`); and per distribution:
  Comms Hubs offline for a window (:class:`althan.csp.events.ChOffline` ...
  :class:`~althan.csp.events.ChOnline`), target devices power-cycled mid-download;
* link faults (``links``), drawn as each message is sent: how many copies arrive, and how much
  later each (a lost attempt is resent by the link's transport ``retry_s`` later; reordering
  and delay spikes add to the latency). Links between components are their addresses (``dsp``,
  ``csp:<Region>``, ``user:<EUI>``); inside a CSP region two crossings are links too: a GBCS
  command crossing the WAN to its CH (``csp:<Region>`` → ``ch:<CHF>``) and a device's last
  OTA block / Upgrade End exchange with its CH (``ch:<CHF>`` → ``device:<EUI>``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from althan.csp.events import (
    AtHub,
    ChOffline,
    ChOnline,
    CommandArrives,
    HanFault,
    TransferFails,
    WanDown,
    WanUp,
)
from althan.csp.region import CspRegion, csp_address
from althan.han.config import HanTiming
from althan.han.events import CorruptBlock, DeviceFault, DownloadDone, PowerCycle
from althan.han.topology import Fleet, Home
from althan.model import EUI64, Region
from althan.runtime.fault_plan import FaultPlan, FaultPlanError, LinkFault
from althan.smwan import FirmwareDistribution
from althan.smwan.addresses import DSP_ADDRESS
from althan.zigbee.cluster import blocks_between

__all__ = ["FAULT_SENDER", "DspCrash", "DspRestart", "FaultInjector", "FaultPlan"]

FAULT_SENDER = "runtime:faults"
"""The sender of the timed fault events (no link loses them)."""

_ONE_COPY: tuple[float, ...] = (0.0,)


@dataclass(frozen=True, slots=True)
class DspCrash:
    """The DSP process dies (kill -9): what it had in memory is gone, its store stays."""


@dataclass(frozen=True, slots=True)
class DspRestart:
    """A new DSP process starts on the same store."""


class FaultTarget(Protocol):
    """What the injector needs of a simulator (`althan.runtime.sim.Simulator` fits)."""

    @property
    def now(self) -> float: ...

    def post(self, to: str, msg: object, *, at: float | None = None, sender: str = "") -> None: ...


@dataclass
class FaultCounts:
    """What the injector did (for reports and tests)."""

    lost_attempts: int = 0  # link attempts lost and resent
    duplicates: int = 0
    spikes: int = 0
    outages: int = 0
    ch_offline: int = 0
    reboots: int = 0
    dsp_crashes: int = 0


class FaultInjector:
    """Applies a :class:`FaultPlan` to one run (give it to the `Simulator` as its `faults`,
    then call :meth:`schedule` once the network is built)."""

    def __init__(self, plan: FaultPlan, fleet: Fleet, timing: HanTiming) -> None:
        self.plan = plan
        self._block_size = timing.block_size
        self._rng = random.Random(f"althan-faults:{plan.seed}")
        # links and rollout faults draw from their own streams: adding them leaves the draws
        # of the faults above as they were
        self._link_rng = random.Random(f"althan-faults-links:{plan.seed}")
        self._roll_rng = random.Random(f"althan-faults-rollout:{plan.seed}")
        self._drawn: set[str] = set()  # distributions whose faults are drawn
        self._sim: FaultTarget | None = None
        self._rollout_at: float | None = None
        self._offline: dict[EUI64, float] = {}  # CH -> when its offline window ends
        self._rebooted: set[EUI64] = set()
        self._hubs: dict[str, CspRegion] = {}
        self._link_cache: dict[tuple[str, str], tuple[LinkFault, ...]] = {}
        self.counts = FaultCounts()
        named = {r.device for r in plan.device_reboots} | plan.corrupt_devices
        self._home_of: dict[EUI64, Home] = {
            d.eui: h for h in fleet.homes for d in h.devices() if d.eui in named
        }
        missing = named - set(self._home_of)
        if missing:
            raise FaultPlanError(
                f"fault plan names devices not in the fleet: {', '.join(map(str, missing))}"
            )
        self._region_of_chf = {h.chf: h.region for h in fleet.homes}

    def attach(self, regions: Sequence[CspRegion]) -> None:
        """The CSP components, to name the links inside them (a CH's, a device's)."""
        self._hubs = {c.address: c for c in regions}

    def schedule(self, sim: FaultTarget) -> None:
        """Post the plan's timed faults."""
        self._sim = sim
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

    # ------------------------------------------------------------------ delivery faults

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
        if p.wan_transfer_failure <= 0 and p.block_corruption <= 0 and not p.draws_at_rollout:
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
        if p.draws_at_rollout and self._sim is not None:
            self._rollout_faults(self._sim, msg)
        return out

    # ------------------------------------------------------------------ rollout faults

    def _rollout_faults(self, sim: FaultTarget, msg: FirmwareDistribution) -> None:
        p, rng = self.plan, self._roll_rng
        now = sim.now
        if self._rollout_at is None:  # the first image at a CSP: the rollout is under way
            self._rollout_at = now
            for region in Region:
                for _ in range(p.region_outages):
                    start = now + rng.uniform(0.0, p.window_s)
                    end = start + rng.uniform(0.0, p.region_outage_max_s)
                    self.counts.outages += 1
                    sim.post(csp_address(region), WanDown(), at=start, sender=FAULT_SENDER)
                    sim.post(csp_address(region), WanUp(), at=end, sender=FAULT_SENDER)
            for _ in range(p.dsp_crashes):
                start = now + rng.uniform(0.0, p.window_s)
                self.counts.dsp_crashes += 1
                sim.post(DSP_ADDRESS, DspCrash(), at=start, sender=FAULT_SENDER)
                sim.post(DSP_ADDRESS, DspRestart(), at=start + p.dsp_down_s, sender=FAULT_SENDER)
        if p.ch_offline > 0:
            for chf in dict.fromkeys(t.chf for t in msg.targets):
                if chf in self._offline or rng.random() >= p.ch_offline:
                    continue
                start = now + rng.uniform(0.0, p.window_s)
                end = start + rng.uniform(0.0, p.ch_offline_max_s)
                self._offline[chf] = end
                self.counts.ch_offline += 1
                address = csp_address(self._region_of_chf[chf])
                sim.post(address, ChOffline(chf), at=start, sender=FAULT_SENDER)
                sim.post(address, ChOnline(chf), at=end, sender=FAULT_SENDER)
        if p.reboot_during_download > 0:
            for t in msg.targets:
                if t.device in self._rebooted or rng.random() >= p.reboot_during_download:
                    continue
                self._rebooted.add(t.device)
                self.counts.reboots += 1
                at = now + rng.uniform(0.0, p.window_s)
                address = csp_address(self._region_of_chf.get(t.chf, Region.CENTRAL))
                fault = HanFault(t.chf, PowerCycle(t.device))
                sim.post(address, fault, at=at, sender=FAULT_SENDER)

    # ------------------------------------------------------------------ link faults

    def copies(self, sender: str, receiver: str, msg: object) -> Sequence[float]:
        """The extra delay of each copy of `msg` that arrives (one copy, on time, unless the
        plan's `links` say otherwise)."""
        if not self.plan.links:
            return _ONE_COPY
        key = (sender, receiver)
        rules = self._link_cache.get(key)
        if rules is None:
            rules = tuple(
                r
                for r in self.plan.links
                if sender.startswith(r.sender) and receiver.startswith(r.receiver)
            )
            self._link_cache[key] = rules
        return self._draw(rules) if rules else _ONE_COPY

    def timer_copies(self, address: str, token: object) -> Sequence[float]:
        """The same for the crossings inside a CSP region that are timers of its component: a
        command crossing the WAN to its CH, a device's last block exchange with its CH."""
        if not self.plan.links:
            return _ONE_COPY
        if isinstance(token, CommandArrives):
            return self._draw(self._rules(address, f"ch:{token.command.chf}"))
        if isinstance(token, AtHub) and isinstance(token.timer, DownloadDone):
            csp = self._hubs.get(address)
            if csp is None:
                return _ONE_COPY
            hub = csp.hubs[token.hub]
            eui = hub.devices[token.timer.device].eui
            return self._draw(self._rules(f"ch:{hub.home.chf}", f"device:{eui}"))
        return _ONE_COPY

    def _rules(self, sender: str, receiver: str) -> tuple[LinkFault, ...]:
        return tuple(
            r
            for r in self.plan.links
            if sender.startswith(r.sender) and receiver.startswith(r.receiver)
        )

    def _draw(self, rules: Sequence[LinkFault]) -> Sequence[float]:
        if not rules:
            return _ONE_COPY
        rng, retry = self._link_rng, self.plan.retry_s
        n = 1
        for r in rules:
            if r.duplicate > 0 and rng.random() < r.duplicate:
                n += 1
                self.counts.duplicates += 1
        out: list[float] = []
        for _ in range(n):
            extra = 0.0
            for r in rules:
                while r.loss > 0 and rng.random() < r.loss:
                    extra += retry
                    self.counts.lost_attempts += 1
                if r.reorder_s > 0:
                    extra += rng.uniform(0.0, r.reorder_s)
                if r.spike > 0 and rng.random() < r.spike:
                    extra += r.spike_s
                    self.counts.spikes += 1
            out.append(extra)
        return out
