"""A Comms Hub and the HAN behind it: device log, join, OTA server, device firmware machines.

Plain objects driven by their CSP (which owns the only timers): the hub asks for timers and
emits GBCS bytes through a :class:`HubOut`. OTA block transfer is modelled in aggregate: a
download is a few segments whose duration follows the OTA cluster pacing arithmetic
(:func:`althan.zigbee.cluster.block_interval`); the Query Next Image and Upgrade End decisions
go through a real :class:`althan.zigbee.cluster.OtaServer`. Offsets survive reboots, so an
interrupted download resumes where it stopped.
"""

from __future__ import annotations

import enum
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from althan.han.config import NetworkConfig, Strategy
from althan.han.disruption import Interval
from althan.han.topology import Bridge, HanDevice, Home
from althan.model import EUI64, AltHANVariant, DeviceType
from althan.zigbee.cluster import (
    UPGRADE_TIME_NOW,
    OtaImageInfo,
    OtaServer,
    OtaStatus,
    QueryNextImageRequest,
    UpgradeEndRequest,
    block_interval,
    blocks_between,
    offset_after,
)

__all__ = [
    "MAX_TYPE1_DEVICES",
    "CommsHub",
    "DeviceState",
    "FwState",
    "HubImage",
    "HubOut",
    "TransferResult",
]

MAX_TYPE1_DEVICES = 6

# timer kinds (tokens are (kind, hub index, device index, generation))
T_DOWNLOAD_DONE = 1
T_REBOOT_DONE = 2
T_REJOIN_DONE = 3
T_RELEASE = 4
T_RELEASE_B1 = 5
T_FAULT_REBOOT = 6
T_JOIN = 7


class FwState(enum.Enum):
    IDLE = "idle"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    WAITING_TO_ACTIVATE = "waiting-to-activate"
    REBOOTING = "rebooting"
    REJOINING = "rejoining"


class TransferResult(enum.Enum):
    """Outcome of one image transfer to one device (carried by the CCS08 alert)."""

    SUCCESS = "success"  # 0x8F8A
    IMAGE_DISCARDED = "image-discarded"  # hash check failed: 0x8F89
    HARDWARE_VERSION_MISMATCH = "hardware-version-mismatch"  # 0x8F89
    FILE_TRANSFER_FAILURE = "file-transfer-failure"  # 0x8F89


class HubOut(Protocol):
    """What a hub may ask of its CSP."""

    def timer(self, delay: float, token: tuple[int, int, int, int]) -> None: ...

    def ccs08(
        self, hub: CommsHub, device: EUI64, result: TransferResult, version: int, now: float
    ) -> None: ...

    def cs09(self, hub: CommsHub, device: EUI64, version: int, now: float) -> None: ...

    def joined(self, hub: CommsHub, device: EUI64, now: float) -> None: ...


@dataclass(slots=True)
class HubImage:
    """An image delivered to the CH: the OTA file, its parsed header, the OTA server."""

    sha256: str
    info: OtaImageInfo | None  # None when the bytes are not an OTA file
    server: OtaServer | None
    parse_error: str = ""


class DeviceState:
    """Runtime state of one HAN device."""

    __slots__ = (
        "activating",
        "blocks",
        "completed_at",
        "credentials",
        "down",
        "down_since",
        "downstream",
        "gen",
        "image",
        "index",
        "interval",
        "joined",
        "offset",
        "path",
        "pending_version",
        "resume_state",
        "running",
        "seg_start",
        "spec",
        "stalls",
        "state",
        "up",
        "version",
        "waiting_upstream",
    )

    def __init__(self, spec: Bridge | HanDevice, index: int) -> None:
        self.spec = spec
        self.index = index
        self.path: tuple[DeviceState, ...] = ()
        self.downstream: list[DeviceState] = []
        self.version = spec.firmware_version
        self.state = FwState.IDLE
        self.resume_state = FwState.IDLE
        self.up = True
        self.joined = True
        self.waiting_upstream = False
        self.activating = False
        self.image: HubImage | None = None
        self.offset = 0
        self.seg_start = 0.0
        self.interval = 0.0
        self.running = False
        self.gen = 0
        self.down_since = 0.0
        self.down: list[Interval] = []
        self.pending_version: int | None = None
        self.blocks = 0
        self.stalls = 0
        self.completed_at: float | None = None
        self.credentials: dict[str, bytes] = {}
        """Security credentials set by critical commands: "device-cert" (CS02d, DER); a remote
        party's replaced trust anchors (CS02b) under "ds:<EUI>" / "ka:<EUI>" (public key DER)
        and "ds-cert:<EUI>" / "ka-cert:<EUI>" (certificate DER)."""

    @property
    def eui(self) -> EUI64:
        return self.spec.eui

    @property
    def variant(self) -> AltHANVariant | None:
        return self.spec.variant

    @property
    def reachable(self) -> bool:
        return self.up and all(p.up for p in self.path)


@dataclass(slots=True)
class _Job:
    image: HubImage
    device: DeviceState
    seq: int


class CommsHub:
    """One home's Comms Hub (CHF device log, OTA server) and its HAN devices."""

    def __init__(
        self,
        index: int,
        home: Home,
        config: NetworkConfig,
        rng: random.Random,
        out: HubOut,
    ) -> None:
        self.index = index
        self.home = home
        self.cfg = config
        self.rng = rng
        self.out = out
        self.devs: list[DeviceState] = [DeviceState(d, i) for i, d in enumerate(home.devices())]
        self.by_eui: dict[EUI64, DeviceState] = {d.eui: d for d in self.devs}
        for d in self.devs:
            d.path = tuple(self.by_eui[e] for e in home.path(d.eui))
            if d.path:
                d.path[-1].downstream.append(d)
        self.b1 = self.by_eui[home.b1.eui]
        # CHF device log: EUI -> is Type 1
        self.log: dict[EUI64, bool] = {}
        type1 = {d.eui for d in home.type1()}
        if config.preloaded_device_logs:
            for d in self.devs:
                self.log[d.eui] = d.eui in type1
        else:
            for d in self.devs:
                if d.eui in type1:
                    d.joined = False
                else:
                    self.log[d.eui] = False
        self._type1 = type1
        self.pending: list[_Job] = []
        self._seq = 0
        self.release_gen = 0
        self.busy: list[Interval] = []
        self._busy_since: float | None = None
        self.queued_commands: list[tuple[DeviceState, Callable[[float], None]]] = []
        self._corrupt_used: set[EUI64] = set()
        self.failures: list[tuple[EUI64, str]] = []
        self.ota_blocks = 0
        self.incoming = 0  # images the CSP is still bringing to this CH over the WAN

    # ------------------------------------------------------------------ device log and join

    def type1_count(self) -> int:
        return sum(1 for t1 in self.log.values() if t1)

    def whitelist(self, device: EUI64, now: float) -> bool:
        """CCS01: add `device` to the CHF device log. False when a 7th Type 1 device is refused.

        A device the hub does not physically know (not a meter or IHD of this home) counts as
        Type 1: this path only whitelists PPMIDs and Alt HAN bridges.
        """
        d = self.by_eui.get(device)
        is_type1 = device in self._type1 or d is None
        if device not in self.log:
            if is_type1 and self.type1_count() >= MAX_TYPE1_DEVICES:
                return False
            self.log[device] = is_type1
        if d is not None:
            self.out.timer(self.cfg.join_delay_s, (T_JOIN, self.index, d.index, 0))
        return True

    def _join(self, d: DeviceState, now: float) -> None:
        if d.eui in self.log and d.reachable:
            d.joined = True
            self.out.joined(self, d.eui, now)

    # ------------------------------------------------------------------ OTA jobs

    def deliver(self, image: HubImage, devices: tuple[EUI64, ...], now: float) -> None:
        for eui in devices:
            d = self.by_eui.get(eui)
            if image.server is None:
                self._fail(eui, f"image is not an OTA file: {image.parse_error}", now)
            elif d is None or eui not in self.log or not d.joined:
                self._fail(eui, "device not in the CHF device log", now)
            else:
                self._seq += 1
                self.pending.append(_Job(image, d, self._seq))
        self._schedule(now)

    def deliver_failed(self, now: float) -> None:
        """An image for this CH was lost on the WAN: release what waited for it."""
        self._maybe_release(now)

    def _fail(
        self,
        eui: EUI64,
        reason: str,
        now: float,
        result: TransferResult = TransferResult.FILE_TRANSFER_FAILURE,
        version: int = 0,
    ) -> None:
        self.failures.append((eui, reason))
        self.out.ccs08(self, eui, result, version, now)

    def _active(self) -> list[DeviceState]:
        return [d for d in self.devs if d.state is FwState.DOWNLOADING]

    def _priority(self, job: _Job) -> tuple[int, int]:
        d = job.device
        if d is self.b1:
            return (2, job.seq)
        if d.variant is not None:
            return (0, job.seq)  # remote bridges first
        return (1, job.seq)

    def _schedule(self, now: float) -> None:
        if self.cfg.strategy is Strategy.NAIVE:
            for job in list(self.pending):
                d = job.device
                if d.state is FwState.IDLE and d.reachable:
                    self.pending.remove(job)
                    self._start(job, now)
            return
        if self._active():
            return
        for job in sorted(self.pending, key=self._priority):
            d = job.device
            if d.state is FwState.IDLE and d.reachable:
                self.pending.remove(job)
                if self._start(job, now):
                    return

    def _start(self, job: _Job, now: float) -> bool:
        """Query Next Image for the job's device; True when its download started."""
        d, img = job.device, job.image
        assert img.server is not None and img.info is not None
        s = d.spec
        rsp = img.server.handle_query(
            d.eui,
            QueryNextImageRequest(s.manufacturer_code, s.image_type, d.version, s.hardware_version),
        )
        if rsp.status != OtaStatus.SUCCESS:
            info = img.info
            if (s.manufacturer_code, s.image_type) == (
                info.manufacturer_code,
                info.image_type,
            ) and d.version != info.file_version:
                self._fail(
                    d.eui,
                    "hardware version outside the image's range",
                    now,
                    TransferResult.HARDWARE_VERSION_MISMATCH,
                    info.file_version,
                )
            else:
                self._fail(
                    d.eui,
                    "image not for this device (manufacturer, image type or version)",
                    now,
                    TransferResult.FILE_TRANSFER_FAILURE,
                    info.file_version,
                )
            return False
        if d.image is None or d.image.sha256 != img.sha256:
            d.offset = 0  # a different image: start over (same image: resume)
        d.image = img
        d.state = FwState.DOWNLOADING
        self._run(d, now)
        return True

    # ------------------------------------------------------------------ aggregate block transfer

    def _interval(self, d: DeviceState, k: int) -> float:
        cfg = self.cfg
        p2p = cfg.p2p_block_airtime_s if d.path else 0.0
        poll = cfg.sleepy_poll_period_s if d.spec.sleepy else 0.0
        if cfg.strategy is Strategy.NAIVE:
            return block_interval(
                min_block_period_s=0.0,
                airtime_s=k * cfg.han_block_airtime_s + p2p,
                poll_period_s=poll,
            )
        return block_interval(
            min_block_period_s=cfg.min_block_period_s,
            airtime_s=cfg.han_block_airtime_s + p2p,
            poll_period_s=poll,
        )

    def _running(self) -> list[DeviceState]:
        return [d for d in self.devs if d.running]

    def _settle(self, d: DeviceState, now: float) -> None:
        """Bring `d.offset` up to `now` within its current segment."""
        assert d.image is not None and d.image.info is not None
        size = d.image.info.size
        new = offset_after(
            d.offset, size, self.cfg.block_size, max(0.0, now - d.seg_start), d.interval
        )
        if new > d.offset:
            n = blocks_between(d.offset, new, self.cfg.block_size)
            d.blocks += n
            self.ota_blocks += n
        d.offset = new
        d.seg_start = max(d.seg_start, now)

    def _plan(self, d: DeviceState, now: float) -> None:
        assert d.image is not None and d.image.info is not None
        d.gen += 1
        remaining = blocks_between(d.offset, d.image.info.size, self.cfg.block_size)
        done_at = d.seg_start + remaining * d.interval
        self.out.timer(max(0.0, done_at - now), (T_DOWNLOAD_DONE, self.index, d.index, d.gen))

    def _reshape(self, now: float, joining: DeviceState | None = None) -> None:
        """Running set changed: recompute intervals (naive shares the HAN) and busy time."""
        running = self._running()
        k = len(running)
        for r in running:
            iv = self._interval(r, k)
            if r is joining or iv != r.interval:
                if r is not joining:
                    self._settle(r, now)
                r.interval = iv
                self._plan(r, now)
        util = sum(self.cfg.han_block_airtime_s / r.interval for r in running if r.interval > 0)
        if util >= self.cfg.congestion_threshold:
            if self._busy_since is None:
                self._busy_since = now
        elif self._busy_since is not None:
            self.busy.append((self._busy_since, now))
            self._busy_since = None

    def _run(self, d: DeviceState, now: float) -> None:
        """Start (or resume) moving blocks to a reachable, downloading device."""
        d.running = True
        start = now
        if d.spec.sleepy:  # the first block waits for the device's next poll
            p = self.cfg.sleepy_poll_period_s
            phase = (d.eui.value % 1000) / 1000.0 * p
            start = now + ((phase - now) % p)
        d.seg_start = start
        self._reshape(now, joining=d)

    def _stall(self, d: DeviceState, now: float) -> None:
        if not d.running:
            return
        self._settle(d, now)
        d.stalls += 1
        d.running = False
        d.gen += 1  # cancels the pending completion timer
        self._reshape(now)

    def _download_done(self, d: DeviceState, now: float) -> None:
        img = d.image
        assert img is not None and img.info is not None and img.server is not None
        n = blocks_between(d.offset, img.info.size, self.cfg.block_size)
        d.blocks += n
        self.ota_blocks += n
        d.offset = img.info.size
        d.running = False
        d.gen += 1
        self._reshape(now)
        d.state = FwState.VERIFYING
        received = self._received(d, img)
        ok = hashlib.sha256(received).hexdigest() == img.sha256
        info = img.info
        rsp = img.server.handle_upgrade_end(
            d.eui,
            UpgradeEndRequest(
                OtaStatus.SUCCESS if ok else OtaStatus.INVALID_IMAGE,
                info.manufacturer_code,
                info.image_type,
                info.file_version,
            ),
            int(now * 1000),
        )
        d.offset = 0
        if rsp is None:
            d.state = FwState.IDLE
            d.image = None
            self._fail(
                d.eui,
                "image hash check failed (corrupted block)",
                now,
                TransferResult.IMAGE_DISCARDED,
                info.file_version,
            )
        else:
            d.pending_version = info.file_version
            d.state = FwState.WAITING_TO_ACTIVATE
            self.out.ccs08(self, d.eui, TransferResult.SUCCESS, info.file_version, now)
            if rsp.upgrade_time == UPGRADE_TIME_NOW:
                self._activate(d, now)
        self._schedule(now)
        self._maybe_release(now)

    def _received(self, d: DeviceState, img: HubImage) -> bytes:
        """The bytes the device assembled: the image, or the image with one bad block."""
        assert img.info is not None
        data = img.info.data
        nblocks = blocks_between(0, len(data), self.cfg.block_size)
        corrupt = False
        if d.eui in self.cfg.corrupt_devices and d.eui not in self._corrupt_used:
            self._corrupt_used.add(d.eui)
            corrupt = True
        elif self.cfg.corrupt_block_probability > 0:
            p_clean = (1.0 - self.cfg.corrupt_block_probability) ** d.blocks
            corrupt = self.rng.random() >= p_clean
        d.blocks = 0
        if not corrupt or not data:
            return data
        block = self.rng.randrange(nblocks)
        pos = min(len(data) - 1, block * self.cfg.block_size)
        buf = bytearray(data)
        buf[pos] ^= 0xFF
        return bytes(buf)

    # ------------------------------------------------------------------ activation and reboots

    def _maybe_release(self, now: float) -> None:
        if self.cfg.strategy is Strategy.NAIVE:
            return
        if self._blocking():
            return
        if any(d.state is FwState.WAITING_TO_ACTIVATE for d in self.devs):
            self.release_gen += 1
            self.out.timer(self.cfg.settle_s, (T_RELEASE, self.index, 0, self.release_gen))

    def _blocking(self) -> bool:
        """Downloads still to come on this HAN: images on their way over the WAN, or queued here
        (a job for a device that waits to activate starts after that activation, so it does
        not hold the release)."""
        return (
            self.incoming > 0
            or bool(self._active())
            or any(j.device.state is not FwState.WAITING_TO_ACTIVATE for j in self.pending)
        )

    def _release(self, now: float, b1_too: bool) -> None:
        if self._blocking():
            return
        released_remote = False
        for d in self.devs:
            if d is self.b1 or d.state is not FwState.WAITING_TO_ACTIVATE or not d.reachable:
                continue
            self._activate(d, now)
            released_remote = True
        b1 = self.b1
        if b1.state is FwState.WAITING_TO_ACTIVATE and b1.reachable:
            if released_remote and not b1_too:
                self.out.timer(
                    self.cfg.release_stagger_s, (T_RELEASE_B1, self.index, 0, self.release_gen)
                )
            else:
                self._activate(b1, now)

    def _activate(self, d: DeviceState, now: float) -> None:
        img = d.image
        if img is not None and img.server is not None and self.cfg.strategy is not Strategy.NAIVE:
            img.server.release(d.eui, int(now * 1000))
        d.activating = True
        d.state = FwState.REBOOTING
        self._go_down(d, now)

    def fault_reboot(self, d: DeviceState, now: float) -> None:
        """A power cycle: whatever the device was doing resumes after it rejoins."""
        if not d.up:
            return
        d.resume_state = d.state if d.state is not FwState.VERIFYING else FwState.IDLE
        d.state = FwState.REBOOTING
        self._go_down(d, now)

    def _go_down(self, d: DeviceState, now: float) -> None:
        d.up = False
        d.down_since = now
        self._stall(d, now)
        stack = list(d.downstream)
        while stack:
            x = stack.pop()
            self._stall(x, now)
            stack.extend(x.downstream)
        self.out.timer(self.cfg.reboot_s, (T_REBOOT_DONE, self.index, d.index, 0))

    def _reboot_done(self, d: DeviceState, now: float) -> None:
        if all(p.up for p in d.path):
            self._start_rejoin(d)
        else:
            d.waiting_upstream = True

    def _start_rejoin(self, d: DeviceState) -> None:
        d.waiting_upstream = False
        d.state = FwState.REJOINING if d.activating or d.state is FwState.REBOOTING else d.state
        delay = self.cfg.sleepy_rejoin_s if d.spec.sleepy else self.cfg.rejoin_s
        self.out.timer(delay, (T_REJOIN_DONE, self.index, d.index, 0))

    def _rejoin_done(self, d: DeviceState, now: float) -> None:
        d.up = True
        d.down.append((d.down_since, now))
        if d.activating:
            d.activating = False
            assert d.pending_version is not None
            d.version = d.pending_version
            d.pending_version = None
            d.image = None
            d.state = FwState.IDLE
            d.completed_at = now
            self.out.cs09(self, d.eui, d.version, now)
        else:
            d.state = d.resume_state
            d.resume_state = FwState.IDLE
        self._wake(d, now)
        stack = list(d.downstream)
        while stack:
            x = stack.pop()
            if not x.reachable:
                if x.waiting_upstream and all(p.up for p in x.path):
                    self._start_rejoin(x)
                continue
            self._wake(x, now)
            stack.extend(x.downstream)
        self._flush_commands(now)
        self._schedule(now)
        self._maybe_release(now)

    def _wake(self, d: DeviceState, now: float) -> None:
        if d.state is FwState.DOWNLOADING and not d.running and d.reachable:
            self._run(d, now)  # Query Next Image again, then Image Block Request at d.offset

    # ------------------------------------------------------------------ commands to devices

    def when_reachable(self, d: DeviceState, act: Callable[[float], None], now: float) -> None:
        if d.reachable:
            act(now)
        else:
            self.queued_commands.append((d, act))

    def _flush_commands(self, now: float) -> None:
        if not self.queued_commands:
            return
        keep: list[tuple[DeviceState, Callable[[float], None]]] = []
        for d, act in self.queued_commands:
            if d.reachable:
                act(now)
            else:
                keep.append((d, act))
        self.queued_commands = keep

    # ------------------------------------------------------------------ timers

    def on_timer(self, kind: int, dev: int, gen: int, now: float) -> None:
        if kind == T_DOWNLOAD_DONE:
            d = self.devs[dev]
            if gen == d.gen and d.running:
                self._download_done(d, now)
        elif kind == T_REBOOT_DONE:
            self._reboot_done(self.devs[dev], now)
        elif kind == T_REJOIN_DONE:
            self._rejoin_done(self.devs[dev], now)
        elif kind == T_RELEASE:
            if gen == self.release_gen:
                self._release(now, b1_too=False)
        elif kind == T_RELEASE_B1:
            if gen == self.release_gen:
                self._release(now, b1_too=True)
        elif kind == T_FAULT_REBOOT:
            self.fault_reboot(self.devs[dev], now)
        elif kind == T_JOIN:
            self._join(self.devs[dev], now)

    # ------------------------------------------------------------------ accounting

    def busy_intervals(self, now: float) -> list[Interval]:
        """When OTA held the HAN above the congestion threshold (open interval closed at now)."""
        if self._busy_since is None:
            return list(self.busy)
        return [*self.busy, (self._busy_since, now)]

    def down_intervals(self, d: DeviceState, now: float) -> list[Interval]:
        return d.down if d.up else [*d.down, (d.down_since, now)]

    def device_type(self, d: DeviceState) -> DeviceType:
        return d.spec.device_type
