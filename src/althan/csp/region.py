"""One CSP region (``csp:<Region>``): its SM WAN and every Comms Hub / HAN in it.

A sans-IO Component. It takes the DSP's smwan messages, delivers firmware images to Comms
Hubs within the region's WAN capacity (``concurrent`` transfers sharing ``bytes_per_s``) and
latency, through configured outage windows, and reports each CH delivery with
``CSPFirmwareDeliveryStatus``. It relays GBCS commands to the CHs and devices and brings back
their responses, alerts and join notices. The CHs and their HANs are plain objects driven by
this component's timers, so a region of 100,000 homes costs one Component.
"""

from __future__ import annotations

import hashlib
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from althan.han import gbcs_io
from althan.han.config import NetworkConfig
from althan.han.hub import T_FAULT_REBOOT, CommsHub, DeviceState, HubImage, TransferResult
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
from althan.zigbee.cluster import OtaImageInfo, OtaServer
from althan.zigbee.ota import OtaError, parse_ota

__all__ = ["DSP_ADDRESS", "CspRegion", "WanDelivery", "csp_address"]

DSP_ADDRESS = "dsp"

T_WAN_DONE = 100
T_COMMAND = 101


def csp_address(region: Region) -> str:
    return f"csp:{region.value}"


@dataclass(slots=True)
class WanDelivery:
    distribution_id: str
    image: bytes
    sha256: str
    info: OtaImageInfo | None
    parse_error: str
    hub: CommsHub
    devices: tuple[EUI64, ...]
    queued_at: float
    started_at: float = 0.0
    done_at: float = 0.0


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
        config: NetworkConfig,
        keys: gbcs_io.KeySource,
    ) -> None:
        self.region = region
        self._address = csp_address(region)
        self.cfg = config
        self.wan = config.wan_for(region)
        self.outages = sorted(config.outages.get(region, ()))
        self.keys = keys
        self.rng = random.Random(f"althan-csp:{config.seed}:{region.value}")
        self.hubs: list[CommsHub] = []
        self.by_chf: dict[EUI64, CommsHub] = {}
        self.device_hub: dict[EUI64, tuple[CommsHub, DeviceState]] = {}
        for h in homes:
            hub = CommsHub(len(self.hubs), h, config, self.rng, self)
            self.hubs.append(hub)
            self.by_chf[h.chf] = hub
            for d in hub.devs:
                self.device_hub[d.eui] = (hub, d)
        self.counters = RegionCounters()
        self._queue: deque[WanDelivery] = deque()
        self._active = 0
        self._deliveries: dict[int, WanDelivery] = {}
        self._next_delivery = 0
        self._commands: dict[int, GbcsCommand] = {}
        self._seen: set[str] = set()
        self._msg_seq = 0
        self._effects: list[Effect] = []
        self._parsed: dict[str, tuple[OtaImageInfo | None, str]] = {}

    @property
    def address(self) -> str:
        return self._address

    # ------------------------------------------------------------------ WAN time

    def _wan_up_at(self, t: float) -> float:
        """The first instant at or after `t` when the region's WAN is up."""
        for a, b in self.outages:
            if a <= t < b:
                t = b
        return t

    def _finish(self, start: float, busy: float) -> float:
        """When `busy` seconds of WAN work starting at `start` end, skipping outages."""
        t = self._wan_up_at(start)
        left = busy
        for a, b in self.outages:
            if b <= t:
                continue
            if t + left <= a:
                break
            left -= max(0.0, a - t)
            t = b
        return t + left

    def _msg_id(self) -> str:
        self._msg_seq += 1
        return f"{self._address}:{self._msg_seq}"

    def _to_dsp(self, msg: object, now: float) -> None:
        at = self._wan_up_at(now) + self.wan.latency_s
        self._effects.append(Send(DSP_ADDRESS, msg, at - now))

    def _take(self) -> list[Effect]:
        out, self._effects = self._effects, []
        return out

    # ------------------------------------------------------------------ Component

    def on_message(self, msg: object, now: float) -> Sequence[Effect]:
        if isinstance(msg, FirmwareDistribution):
            if self._first(msg.msg_id):
                self._distribution(msg, now)
        elif isinstance(msg, GbcsCommand) and self._first(msg.msg_id):
            self.counters.gbcs_bytes_down += len(msg.payload)
            up = self._wan_up_at(now) + self.wan.latency_s
            self._next_delivery += 1
            self._commands[self._next_delivery] = msg
            self._effects.append(Timer(up - now, (T_COMMAND, self._next_delivery, 0, 0)))
        return self._take()

    def on_timer(self, token: object, now: float) -> Sequence[Effect]:
        if not isinstance(token, tuple) or len(token) != 4:
            raise TypeError(f"not a CSP timer token: {token!r}")
        kind: int = token[0]
        a: int = token[1]
        b: int = token[2]
        c: int = token[3]
        if kind == T_WAN_DONE:
            self._wan_done(self._deliveries.pop(a), now)
        elif kind == T_COMMAND:
            self._command(self._commands.pop(a), now)
        else:
            self.hubs[a].on_timer(kind, b, c, now)
        return self._take()

    def _first(self, msg_id: str) -> bool:
        if msg_id in self._seen:
            self.counters.duplicates += 1
            return False
        self._seen.add(msg_id)
        return True

    # ------------------------------------------------------------------ firmware delivery

    def _parse(self, image: bytes, sha: str) -> tuple[OtaImageInfo | None, str]:
        got = self._parsed.get(sha)
        if got is None:
            try:
                ota = parse_ota(image)
            except OtaError as e:
                got = (None, str(e))
            else:
                h = ota.header
                got = (
                    OtaImageInfo(
                        h.manufacturer_code,
                        h.image_type,
                        h.file_version,
                        image,
                        h.minimum_hardware_version,
                        h.maximum_hardware_version,
                    ),
                    "",
                )
            self._parsed[sha] = got
        return got

    def _distribution(self, msg: FirmwareDistribution, now: float) -> None:
        sha = hashlib.sha256(msg.image).hexdigest()
        per_chf: dict[EUI64, list[EUI64]] = {}
        for t in msg.targets:
            per_chf.setdefault(t.chf, []).append(t.device)
        if sha != msg.image_sha256.lower():
            for chf, devs in per_chf.items():
                self._status(msg.distribution_id, chf, devs, now, "image SHA-256 mismatch")
            return
        info, err = self._parse(msg.image, sha)
        for chf, devs in per_chf.items():
            hub = self.by_chf.get(chf)
            if hub is None:
                self._status(msg.distribution_id, chf, devs, now, "CHF not in this CSP region")
                continue
            hub.incoming += 1
            self._queue.append(
                WanDelivery(msg.distribution_id, msg.image, sha, info, err, hub, tuple(devs), now)
            )
        self._pump(now)

    def _status(
        self, dist: str, chf: EUI64, devs: Sequence[EUI64], now: float, reason: str = ""
    ) -> None:
        outcome = DeliveryOutcome.FAILED if reason else DeliveryOutcome.DELIVERED
        if reason:
            self.counters.deliveries_failed += 1
        self._to_dsp(
            CSPFirmwareDeliveryStatus(self._msg_id(), dist, chf, tuple(devs), outcome, reason),
            now,
        )

    def _pump(self, now: float) -> None:
        per_transfer = self.wan.bytes_per_s / self.wan.concurrent
        while self._active < self.wan.concurrent and self._queue:
            d = self._queue.popleft()
            self._active += 1
            d.started_at = now
            self.counters.image_bytes += len(d.image)
            end = self._finish(now, len(d.image) / per_transfer) + self.wan.latency_s
            self._next_delivery += 1
            self._deliveries[self._next_delivery] = d
            self._effects.append(Timer(end - now, (T_WAN_DONE, self._next_delivery, 0, 0)))

    def _wan_done(self, d: WanDelivery, now: float) -> None:
        self._active -= 1
        d.hub.incoming -= 1
        d.done_at = now
        self.counters.deliveries += 1
        self.counters.delivery_times.append(now - d.queued_at)
        chf = d.hub.home.chf
        if self.cfg.wan_failure_probability > 0 and (
            self.rng.random() < self.cfg.wan_failure_probability
        ):
            self._status(d.distribution_id, chf, d.devices, now, "WAN transfer failed")
            d.hub.deliver_failed(now)
        else:
            self._status(d.distribution_id, chf, d.devices, now)
            server = None
            if d.info is not None:
                server = OtaServer(
                    d.info,
                    min_block_period_ms=int(self.cfg.min_block_period_s * 1000),
                    max_block_size=self.cfg.block_size,
                    hold_activation=self.cfg.strategy.value == "han-aware",
                )
            d.hub.deliver(HubImage(d.sha256, d.info, server, d.parse_error), d.devices, now)
        self._pump(now)

    # ------------------------------------------------------------------ commands

    def _command(self, cmd: GbcsCommand, now: float) -> None:
        hub = self.by_chf.get(cmd.chf)
        try:
            parsed = gbcs_io.parse_command(cmd.payload)
        except gbcs_io.GbcsIoError:
            self.counters.unhandled_commands += 1
            return
        if hub is None:
            self.counters.unhandled_commands += 1
            return
        if parsed.kind == "CCS01" and parsed.device_to_add is not None:
            accepted = hub.whitelist(parsed.device_to_add, now)
            self._respond(hub, cmd, gbcs_io.ccs01_response(parsed, accepted, self.keys), now)
        elif parsed.kind == "CS08":
            d = hub.by_eui.get(cmd.device)
            if d is None:
                self.counters.unhandled_commands += 1
                return

            def answer(t: float, d: DeviceState = d) -> None:
                payload = gbcs_io.cs08_response(parsed, d.version, self.keys)
                self._respond(hub, cmd, payload, t)

            hub.when_reachable(d, answer, now)
        elif parsed.kind in gbcs_io.CRITICAL_USE_CASES and hasattr(
            self.keys, "remote_party_ds_public"
        ):
            self._critical(hub, cmd, parsed, now)
        else:
            self.counters.unhandled_commands += 1

    def _critical(
        self, hub: CommsHub, cmd: GbcsCommand, parsed: gbcs_io.InboundCommand, now: float
    ) -> None:
        d = hub.by_eui.get(cmd.device)
        if d is None:
            self.counters.unhandled_commands += 1
            return

        def answer(t: float, d: DeviceState = d) -> None:
            try:
                payload = gbcs_io.critical_response(
                    parsed,
                    d.credentials,
                    t,
                    self.keys,
                    self.keys,  # type: ignore[arg-type]
                )
            except gbcs_io.GbcsIoError:
                self.counters.unhandled_commands += 1  # discarded: MAC or signature not valid
                return
            self._respond(hub, cmd, payload, t)

        hub.when_reachable(d, answer, now)

    def _respond(self, hub: CommsHub, cmd: GbcsCommand, payload: bytes, now: float) -> None:
        self.counters.gbcs_bytes_up += len(payload)
        self._to_dsp(GbcsResponse(self._msg_id(), cmd.msg_id, cmd.chf, cmd.device, payload), now)

    # ------------------------------------------------------------------ HubOut

    def timer(self, delay: float, token: tuple[int, int, int, int]) -> None:
        self._effects.append(Timer(delay, token))

    def ccs08(
        self, hub: CommsHub, device: EUI64, result: TransferResult, version: int, now: float
    ) -> None:
        payload = gbcs_io.ccs08_alert(
            hub.home.chf, device, result, version, now, self.keys, self._msg_seq
        )
        self.counters.gbcs_bytes_up += len(payload)
        self._to_dsp(GbcsAlert(self._msg_id(), hub.home.chf, device, payload), now)

    def cs09(self, hub: CommsHub, device: EUI64, version: int, now: float) -> None:
        payload = gbcs_io.cs09_alert(device, version, now, self.keys, self._msg_seq)
        self.counters.gbcs_bytes_up += len(payload)
        self._to_dsp(GbcsAlert(self._msg_id(), hub.home.chf, device, payload), now)

    def joined(self, hub: CommsHub, device: EUI64, now: float) -> None:
        self._to_dsp(HanJoinNotice(self._msg_id(), hub.home.chf, device), now)

    # ------------------------------------------------------------------ faults

    def fault_tokens(self) -> list[tuple[float, tuple[int, int, int, int]]]:
        """(time, token) for the configured device power cycles in this region."""
        out = []
        for eui, at in self.cfg.device_reboots:
            hd = self.device_hub.get(eui)
            if hd is not None:
                out.append((at, (T_FAULT_REBOOT, hd[0].index, hd[1].index, 0)))
        return out
