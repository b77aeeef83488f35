"""One CSP region (``csp:<Region>``): its SM WAN and every Comms Hub / HAN in it.

A sans-IO Component. It takes the DSP's smwan messages, moves firmware images to the Comms Hubs
over the region's WAN (:mod:`althan.csp.wan`) and reports each CH delivery with
``CSPFirmwareDeliveryStatus``; it relays GBCS commands to the CHs and devices. The hubs are
sans-IO objects (:class:`althan.han.hub.CommsHub`): the CSP hands each its events and turns
what the hub outputs (alerts, join notices, command answers, timers) into SM WAN messages and
timers. Faults reach it as events the runtime injects (:mod:`althan.csp.events`). A region of
100,000 homes costs one Component.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from althan.csp.events import (
    AtHub,
    BytesThrough,
    ChOffline,
    ChOnline,
    CommandArrives,
    HanFault,
    TransferDone,
    TransferFails,
    WanDown,
    WanUp,
)
from althan.csp.wan import WanDelivery, WanLink
from althan.han import gbcs_io
from althan.han.config import NOTHING_INSTALLED, HanTiming, Installed, RegionWan
from althan.han.events import (
    ActivationAlert,
    AddToDeviceLog,
    CommandDue,
    CommandForDevice,
    DeviceJoined,
    DeviceLogAnswer,
    HubEvent,
    ImageDelivered,
    ImageLost,
    ImageOnTheWay,
    PendingCommand,
    RemoveFromDeviceLog,
    StartTimer,
    TransferAlert,
)
from althan.han.hub import CommsHub
from althan.han.image import OtaImages
from althan.han.strategy import OtaStrategy
from althan.han.topology import Home
from althan.model import EUI64, Region
from althan.smwan import (
    CSPFirmwareDeliveryStatus,
    DeliveryOutcome,
    Effect,
    FirmwareDistribution,
    GbcsAlert,
    GbcsCommand,
    GbcsResponse,
    HanJoinNotice,
    Send,
    Timer,
)
from althan.smwan.addresses import DSP_ADDRESS, csp_address

__all__ = ["DSP_ADDRESS", "CspRegion", "RegionCounters", "csp_address"]


@dataclass
class RegionCounters:
    image_bytes: int = 0
    gbcs_bytes_down: int = 0
    gbcs_bytes_up: int = 0
    deliveries: int = 0
    deliveries_failed: int = 0
    duplicates: int = 0
    unhandled_commands: int = 0
    delivery_times: list[float] = field(default_factory=list)


class CspRegion:
    """The CSP of one region, with its Comms Hubs."""

    def __init__(
        self,
        region: Region,
        homes: Sequence[Home],
        wan: RegionWan,
        timing: HanTiming,
        strategy: OtaStrategy,
        keys: gbcs_io.KeySource,
        *,
        preloaded_device_logs: bool = True,
        installed: Installed = NOTHING_INSTALLED,
        first_msg: int = 0,
    ) -> None:
        """`first_msg`: what the IDs of this CSP's messages to the DSP count on from: a network
        rebuilt on a store that was served before must not reuse an ID the DSP's inbox has
        seen. (The alerts' originator counters grow with time whatever the sequence.)"""
        self.region = region
        self._address = csp_address(region)
        self.wan = WanLink(wan)
        self.keys = keys
        images = OtaImages()
        self.hubs = [
            CommsHub(
                i,
                h,
                timing,
                strategy,
                images,
                preloaded_device_logs=preloaded_device_logs,
                installed=installed,
            )
            for i, h in enumerate(homes)
        ]
        self.by_chf: dict[EUI64, CommsHub] = {hub.home.chf: hub for hub in self.hubs}
        self.counters = RegionCounters()
        self._seen: set[str] = set()
        self._msg_seq = 0
        self._first_msg = first_msg
        self._effects: list[Effect] = []
        self._held: list[object] = []  # messages to the DSP and commands, during an outage
        # CHs off the WAN: what waits for each (messages from it, commands and images for it)
        self._offline: dict[EUI64, list[object]] = {}

    @property
    def address(self) -> str:
        return self._address

    def _msg_id(self) -> str:
        self._msg_seq += 1
        return f"{self._address}:{self._first_msg + self._msg_seq}"

    def _to_dsp(self, msg: object, now: float, chf: EUI64 | None = None) -> None:
        if chf is not None and chf in self._offline:
            self._offline[chf].append(msg)
        elif self.wan.up:
            self._effects.append(Send(DSP_ADDRESS, msg, self.wan.delay(now)))
        else:
            self._held.append(msg)

    def _take(self) -> list[Effect]:
        out, self._effects = self._effects, []
        return out

    # ------------------------------------------------------------------ Component

    def on_message(self, msg: object, now: float) -> Sequence[Effect]:
        match msg:
            case FirmwareDistribution():
                if self._first(msg.msg_id):
                    self._distribution(msg, now)
            case GbcsCommand():
                if self._first(msg.msg_id):
                    self.counters.gbcs_bytes_down += len(msg.payload)
                    self._command_in(msg, now)
            case HanFault(chf=chf, fault=fault):
                hub = self.by_chf.get(chf)
                if hub is not None and fault.device in hub.by_eui:
                    self._hub(hub, fault, now)
            case TransferFails(distribution_id=dist, chf=chf):
                self.wan.fail(dist, chf)
            case WanDown():
                self.wan.down(now)
            case WanUp():
                self._wan_up(now)
            case ChOffline(chf=chf):
                if chf in self.by_chf:
                    self._offline.setdefault(chf, [])
            case ChOnline(chf=chf):
                self._ch_online(chf, now)
            case _:
                raise TypeError(f"{self._address} cannot handle {type(msg).__name__}")
        return self._take()

    def on_timer(self, token: object, now: float) -> Sequence[Effect]:
        match token:
            case AtHub(hub=i, timer=timer):
                self._hub(self.hubs[i], timer, now)
            case BytesThrough():
                arrival = self.wan.through(token)
                if arrival is not None:
                    self._effects.append(arrival)
                    self._start_transfers(now)
            case TransferDone():
                self._wan_done(self.wan.done(token), now)
            case CommandArrives(command=cmd):
                self._command(cmd, now)
            case _:
                raise TypeError(f"not a CSP timer token: {token!r}")
        return self._take()

    def _first(self, msg_id: str) -> bool:
        if msg_id in self._seen:
            self.counters.duplicates += 1
            return False
        self._seen.add(msg_id)
        return True

    def _wan_up(self, now: float) -> None:
        self._effects.extend(self.wan.back_up(now))
        if self.wan.up:
            held, self._held = self._held, []
            for msg in held:
                if isinstance(msg, GbcsCommand):
                    self._command_in(msg, now)
                else:
                    self._to_dsp(msg, now)

    def _ch_online(self, chf: EUI64, now: float) -> None:
        """CH `chf` is back: what waited for it, or from it, moves (in the order it came)."""
        for item in self._offline.pop(chf, []):
            if isinstance(item, CommandArrives):
                self._command(item.command, now)
            elif isinstance(item, WanDelivery):
                self._wan_done(item, now)
            else:
                self._to_dsp(item, now)

    # ------------------------------------------------------------------ the hubs' outputs

    def _hub(self, hub: CommsHub, event: HubEvent, now: float) -> None:
        """Hand `event` to `hub`; its outputs become timers and SM WAN messages, in order."""
        chf = hub.home.chf
        for out in hub.handle(event, now):
            match out:
                case StartTimer(delay=delay, timer=timer):
                    self._effects.append(Timer(delay, AtHub(hub.index, timer)))
                case TransferAlert(device=dev, result=result, version=version):
                    payload = gbcs_io.ccs08_alert(
                        chf, dev, result, version, now, self.keys, self._msg_seq
                    )
                    self._alert(chf, dev, payload, now)
                case ActivationAlert(device=dev, version=version):
                    payload = gbcs_io.cs09_alert(dev, version, now, self.keys, self._msg_seq)
                    self._alert(chf, dev, payload, now)
                case DeviceJoined(device=dev):
                    self._to_dsp(HanJoinNotice(self._msg_id(), chf, dev), now, chf)
                case DeviceLogAnswer(command=cmd, accepted=accepted):
                    payload = gbcs_io.device_log_response(cmd.parsed, accepted, self.keys)
                    self._respond(cmd.command, payload, now)
                case CommandDue():
                    self._answer(hub, out, now)

    def _alert(self, chf: EUI64, device: EUI64, payload: bytes, now: float) -> None:
        self.counters.gbcs_bytes_up += len(payload)
        self._to_dsp(GbcsAlert(self._msg_id(), chf, device, payload), now, chf)

    # ------------------------------------------------------------------ firmware delivery

    def _distribution(self, msg: FirmwareDistribution, now: float) -> None:
        sha = hashlib.sha256(msg.image).hexdigest()
        per_chf: dict[EUI64, list[EUI64]] = {}
        for t in msg.targets:
            per_chf.setdefault(t.chf, []).append(t.device)
        if sha != msg.image_sha256.lower():
            for chf, devs in per_chf.items():
                self._status(msg.distribution_id, chf, devs, now, "image SHA-256 mismatch")
            return
        for chf, devs in per_chf.items():
            hub = self.by_chf.get(chf)
            if hub is None:
                self._status(msg.distribution_id, chf, devs, now, "CHF not in this CSP region")
                continue
            self._hub(hub, ImageOnTheWay(), now)
            self.wan.enqueue(
                WanDelivery(msg.distribution_id, msg.image, sha, hub, tuple(devs), now)
            )
        self._start_transfers(now)

    def _status(
        self, dist: str, chf: EUI64, devs: Sequence[EUI64], now: float, reason: str = ""
    ) -> None:
        outcome = DeliveryOutcome.FAILED if reason else DeliveryOutcome.DELIVERED
        if reason:
            self.counters.deliveries_failed += 1
        self._to_dsp(
            CSPFirmwareDeliveryStatus(self._msg_id(), dist, chf, tuple(devs), outcome, reason),
            now,
            chf,
        )

    def _start_transfers(self, now: float) -> None:
        started, timers = self.wan.start(now)
        for d in started:
            self.counters.image_bytes += len(d.image)
        self._effects.extend(timers)

    def _wan_done(self, d: WanDelivery, now: float) -> None:
        chf = d.hub.home.chf
        if chf in self._offline:  # the image cannot reach it yet: it lands when it is back
            self._offline[chf].append(d)
            return
        d.done_at = now
        self.counters.deliveries += 1
        self.counters.delivery_times.append(now - d.queued_at)
        if d.fails:
            self._status(d.distribution_id, chf, d.devices, now, "WAN transfer failed")
            self._hub(d.hub, ImageLost(), now)
        else:
            self._status(d.distribution_id, chf, d.devices, now)
            self._hub(d.hub, ImageDelivered(d.sha256, d.image, d.devices), now)

    # ------------------------------------------------------------------ commands

    def _command_in(self, cmd: GbcsCommand, now: float) -> None:
        """A command from the DSP: it crosses the WAN to its CH (after an outage, if any)."""
        if self.wan.up:
            self._effects.append(Timer(self.wan.delay(now), CommandArrives(cmd)))
        else:
            self._held.append(cmd)

    def _command(self, cmd: GbcsCommand, now: float) -> None:
        if cmd.chf in self._offline:
            self._offline[cmd.chf].append(CommandArrives(cmd))
            return
        hub = self.by_chf.get(cmd.chf)
        try:
            parsed = gbcs_io.parse_command(cmd.payload)
        except gbcs_io.GbcsIoError:
            self.counters.unhandled_commands += 1
            return
        if hub is None:
            self.counters.unhandled_commands += 1
            return
        pending = PendingCommand(cmd, parsed)
        if parsed.kind == "CCS01" and parsed.log_entry is not None:
            self._hub(hub, AddToDeviceLog(parsed.log_entry, pending), now)
        elif parsed.kind == "CCS02" and parsed.log_entry is not None:
            self._hub(hub, RemoveFromDeviceLog(parsed.log_entry, pending), now)
        elif cmd.device not in hub.by_eui:
            self.counters.unhandled_commands += 1
        elif parsed.kind == "CS08" or (
            parsed.kind in gbcs_io.CRITICAL_USE_CASES
            and hasattr(self.keys, "remote_party_ds_public")
        ):
            self._hub(hub, CommandForDevice(pending), now)
        else:
            self.counters.unhandled_commands += 1

    def _answer(self, hub: CommsHub, due: CommandDue, now: float) -> None:
        """The device answers: CS08 with its running version, or a critical command."""
        cmd = due.command
        if cmd.parsed.kind == "CS08":
            payload = gbcs_io.cs08_response(cmd.parsed, due.firmware_version, self.keys)
        else:
            try:
                payload = gbcs_io.critical_response(
                    cmd.parsed,
                    hub.by_eui[cmd.device].credentials,
                    now,
                    self.keys,
                    self.keys,  # type: ignore[arg-type]
                )
            except gbcs_io.GbcsIoError:
                self.counters.unhandled_commands += 1  # discarded: MAC or signature not valid
                return
        self._respond(cmd.command, payload, now)

    def _respond(self, cmd: GbcsCommand, payload: bytes, now: float) -> None:
        self.counters.gbcs_bytes_up += len(payload)
        self._to_dsp(
            GbcsResponse(self._msg_id(), cmd.msg_id, cmd.chf, cmd.device, payload), now, cmd.chf
        )
