"""Activation and reboots at one Comms Hub: held activations released, devices going down and
coming back, and what that does to the devices behind them.

A device activates its new image by rebooting into it; a power cycle (a fault) reboots it too.
While it is down, every device behind it is cut off (their downloads stall). After the reboot
it rejoins once its path to the CH is up, then wakes the devices behind it. Under a strategy
that holds activations, the hub releases them once nothing is left to download on the HAN:
remote bridges first, then B1 a little later, so the devices behind B1 see one outage window.
The power states themselves are the table of :mod:`althan.han.device`.
"""

from __future__ import annotations

from althan.han import transfer
from althan.han.device import Device, Power, PowerEvent
from althan.han.events import ActivationAlert, RebootDone, RejoinDone, ReleaseDue, StartTimer
from althan.han.state import HubState
from althan.zigbee.client import ClientState

__all__ = ["activate", "maybe_release", "power_cycle", "reboot_done", "rejoin_done", "release"]


def maybe_release(h: HubState, now: float, *, downloads_to_come: bool) -> None:
    """Nothing (more) to download: release the held activations after the settle time."""
    if not h.strategy.holds_activation or downloads_to_come:
        return
    if any(d.waiting_to_activate for d in h.devices):
        h.release_gen += 1
        h.out.append(StartTimer(h.timing.settle_s, ReleaseDue(h.release_gen, False)))


def release(h: HubState, due: ReleaseDue, now: float, *, downloads_to_come: bool) -> None:
    if due.gen != h.release_gen or downloads_to_come:
        return
    b1 = h.b1
    released_remote = False
    for d in h.devices:
        if d is b1 or not d.waiting_to_activate or not d.reachable:
            continue
        _release(h, d, now)
        released_remote = True
    if b1.waiting_to_activate and b1.reachable:
        if released_remote and not due.b1:
            h.out.append(StartTimer(h.timing.release_stagger_s, ReleaseDue(h.release_gen, True)))
        else:
            _release(h, b1, now)


def _release(h: HubState, d: Device, now: float) -> None:
    """The hub's second Upgrade End Response: activate now."""
    assert d.image is not None
    rsp = d.image.server.release(d.eui, int(now * 1000))
    d.client.on_upgrade_end_response(rsp, int(now))
    activate(h, d, now)


def activate(h: HubState, d: Device, now: float) -> None:
    """`d`'s OTA client activates its new image: it reboots into it."""
    if d.image is not None:
        d.activations.append(d.image.info.file_version)
    d.fire(PowerEvent.ACTIVATE)
    _go_down(h, d, now)


def power_cycle(h: HubState, d: Device, now: float) -> None:
    """A power cycle: whatever the device was doing resumes after it rejoins."""
    was_up = d.up
    d.fire(PowerEvent.POWER_CYCLE)
    if was_up:
        d.client.reboot()
        _go_down(h, d, now)


def _go_down(h: HubState, d: Device, now: float) -> None:
    h.disruption.went_down(d.index, now)
    transfer.stall(h, d, now)
    stack = list(d.downstream)
    while stack:
        x = stack.pop()
        transfer.stall(h, x, now)
        stack.extend(x.downstream)
    h.out.append(StartTimer(h.timing.reboot_s, RebootDone(d.index)))


def reboot_done(h: HubState, d: Device, now: float) -> None:
    if d.upstream_up:
        d.fire(PowerEvent.REBOOTED)
        _rejoin(h, d)
    else:
        d.fire(PowerEvent.REBOOTED_CUT_OFF)


def _rejoin(h: HubState, d: Device) -> None:
    delay = h.timing.sleepy_rejoin_s if d.spec.sleepy else h.timing.rejoin_s
    h.out.append(StartTimer(delay, RejoinDone(d.index)))


def rejoin_done(h: HubState, d: Device, now: float) -> None:
    """`d` is back: an activation completes (CS09); it and the devices behind it resume."""
    d.fire(PowerEvent.REJOINED)
    h.disruption.came_up(d.index, now)
    if d.client.state is ClientState.ACTIVATING:
        d.client.activated()
        d.image = None
        d.completed_at = now
        h.out.append(ActivationAlert(d.eui, d.version))
    transfer.resume(h, d, now)
    stack = list(d.downstream)
    while stack:
        x = stack.pop()
        if not x.reachable:
            if x.power is Power.WAITING_UPSTREAM and x.upstream_up:
                x.fire(PowerEvent.UPSTREAM_BACK)
                _rejoin(h, x)
            continue
        transfer.resume(h, x, now)
        stack.extend(x.downstream)
