"""Activation and reboots at one Comms Hub: held activations released, devices going down and
coming back, and what that does to the devices behind them.

A device activates its new image by rebooting into it; a power cycle (a fault) reboots it too.
While it is down, every device behind it is cut off (their downloads stall). After the reboot
it rejoins once its path to the CH is up, then wakes the devices behind it. Under a strategy
that holds activations, the hub releases them once nothing is left to download on the HAN:
remote bridges first, then B1 a little later, so the devices behind B1 see one outage window.
"""

from __future__ import annotations

from collections.abc import Sequence

from althan.han.config import HanTiming
from althan.han.device import Device, Power, PowerEvent
from althan.han.disruption import DisruptionLog
from althan.han.events import (
    ActivationAlert,
    HubOutput,
    RebootDone,
    RejoinDone,
    ReleaseDue,
    StartTimer,
)
from althan.han.strategy import OtaStrategy
from althan.han.transfer import BlockTransfers
from althan.zigbee.cluster import ClientState

__all__ = ["Activation"]


class Activation:
    """Releases, activations, reboots and rejoins of one hub's devices."""

    __slots__ = (
        "_b1",
        "_devices",
        "_log",
        "_out",
        "_strategy",
        "_timing",
        "_transfers",
        "release_gen",
    )

    def __init__(
        self,
        devices: Sequence[Device],
        b1: Device,
        timing: HanTiming,
        strategy: OtaStrategy,
        transfers: BlockTransfers,
        log: DisruptionLog,
        out: list[HubOutput],
    ) -> None:
        self._devices = devices
        self._b1 = b1
        self._timing = timing
        self._strategy = strategy
        self._transfers = transfers
        self._log = log
        self._out = out
        self.release_gen = 0  # moves on whenever a pending ReleaseDue is void

    # ------------------------------------------------------------------ held activations

    def maybe_release(self, now: float, *, downloads_to_come: bool) -> None:
        """Nothing (more) to download: release the held activations after the settle time."""
        if not self._strategy.holds_activation or downloads_to_come:
            return
        if any(d.waiting_to_activate for d in self._devices):
            self.release_gen += 1
            self._out.append(StartTimer(self._timing.settle_s, ReleaseDue(self.release_gen, False)))

    def release(self, due: ReleaseDue, now: float, *, downloads_to_come: bool) -> None:
        if due.gen != self.release_gen or downloads_to_come:
            return
        b1 = self._b1
        released_remote = False
        for d in self._devices:
            if d is b1 or not d.waiting_to_activate or not d.reachable:
                continue
            self._release(d, now)
            released_remote = True
        if b1.waiting_to_activate and b1.reachable:
            if released_remote and not due.b1:
                delay = self._timing.release_stagger_s
                self._out.append(StartTimer(delay, ReleaseDue(self.release_gen, True)))
            else:
                self._release(b1, now)

    def _release(self, d: Device, now: float) -> None:
        """The hub's second Upgrade End Response: activate now."""
        assert d.image is not None
        rsp = d.image.server.release(d.eui, int(now * 1000))
        d.client.on_upgrade_end_response(rsp, int(now))
        self.activate(d, now)

    # ------------------------------------------------------------------ down and back

    def activate(self, d: Device, now: float) -> None:
        """`d`'s OTA client activates its new image: it reboots into it."""
        d.fire(PowerEvent.ACTIVATE)
        self._go_down(d, now)

    def power_cycle(self, d: Device, now: float) -> None:
        """A power cycle: whatever the device was doing resumes after it rejoins."""
        was_up = d.up
        d.fire(PowerEvent.POWER_CYCLE)
        if was_up:
            d.client.reboot()
            self._go_down(d, now)

    def _go_down(self, d: Device, now: float) -> None:
        self._log.went_down(d.index, now)
        stall = self._transfers.stall
        stall(d, now)
        stack = list(d.downstream)
        while stack:
            x = stack.pop()
            stall(x, now)
            stack.extend(x.downstream)
        self._out.append(StartTimer(self._timing.reboot_s, RebootDone(d.index)))

    def reboot_done(self, d: Device, now: float) -> None:
        if d.upstream_up:
            d.fire(PowerEvent.REBOOTED)
            self._rejoin(d)
        else:
            d.fire(PowerEvent.REBOOTED_CUT_OFF)

    def _rejoin(self, d: Device) -> None:
        t = self._timing
        delay = t.sleepy_rejoin_s if d.spec.sleepy else t.rejoin_s
        self._out.append(StartTimer(delay, RejoinDone(d.index)))

    def rejoin_done(self, d: Device, now: float) -> None:
        """`d` is back: an activation completes (CS09); it and the devices behind it resume."""
        d.fire(PowerEvent.REJOINED)
        self._log.came_up(d.index, now)
        if d.client.state is ClientState.ACTIVATING:
            d.client.activated()
            d.image = None
            d.completed_at = now
            self._out.append(ActivationAlert(d.eui, d.version))
        resume = self._transfers.resume
        resume(d, now)
        stack = list(d.downstream)
        while stack:
            x = stack.pop()
            if not x.reachable:
                if x.power is Power.WAITING_UPSTREAM and x.upstream_up:
                    x.fire(PowerEvent.UPSTREAM_BACK)
                    self._rejoin(x)
                continue
            resume(x, now)
            stack.extend(x.downstream)
