"""A Comms Hub and the HAN behind it, as a sans-IO object.

:meth:`CommsHub.handle` takes one event (:mod:`althan.han.events`) and the current time and
returns what the hub does about it, as data: timers to start, CCS08 / CS09 alerts, join
notices, answers to commands. It reads no clock and calls nothing outside itself; its CSP
turns the outputs into SM WAN messages and hands the timers back when they are due.

The hub owns its images: it parses each delivered OTA file (:mod:`althan.han.image`) and runs
an :class:`althan.zigbee.cluster.OtaServer` for it, while every device runs the real
:class:`althan.zigbee.client.OtaClient` (:mod:`althan.han.device`). What it does is split by
concern: the device log and join (:mod:`althan.han.devicelog`), OTA jobs
(:mod:`althan.han.jobs`) started in the order the strategy gives (:mod:`althan.han.strategy`),
aggregate block transfer (:mod:`althan.han.transfer`), activation and reboots
(:mod:`althan.han.activation`), commands waiting for a device (:mod:`althan.han.commands`),
and disruption accounting (:mod:`althan.han.disruption`).
"""

from __future__ import annotations

from althan.han import activation, transfer
from althan.han.config import NOTHING_INSTALLED, HanTiming, Installed
from althan.han.device import Device
from althan.han.devicelog import DeviceLog
from althan.han.disruption import HomeDisruption
from althan.han.events import (
    AddToDeviceLog,
    CommandDue,
    CommandForDevice,
    CorruptBlock,
    DeviceJoined,
    DeviceLogAnswer,
    DownloadDone,
    HubEvent,
    HubOutput,
    ImageDelivered,
    ImageLost,
    ImageOnTheWay,
    JoinDue,
    PowerCycle,
    RebootDone,
    RejoinDone,
    ReleaseDue,
    RemoveFromDeviceLog,
    StartTimer,
    TransferAlert,
)
from althan.han.image import HubImage, OtaImages, TransferResult
from althan.han.jobs import Job, query_next_image
from althan.han.state import HubState
from althan.han.strategy import OtaStrategy
from althan.han.topology import Home
from althan.model import EUI64
from althan.zigbee.cluster import OtaServer

__all__ = ["CommsHub"]


class CommsHub(HubState):
    """One home's Comms Hub (CHF device log, OTA server) and its HAN devices."""

    __slots__ = ()

    def __init__(
        self,
        index: int,
        home: Home,
        timing: HanTiming,
        strategy: OtaStrategy,
        images: OtaImages,
        *,
        preloaded_device_logs: bool,
        installed: Installed = NOTHING_INSTALLED,
    ) -> None:
        devices = [
            Device(d, i, timing, installed.firmware.get(d.eui))
            for i, d in enumerate(home.devices())
        ]
        by_eui = {d.eui: d for d in devices}
        for d in devices:
            d.path = tuple(by_eui[e] for e in home.path(d.eui))
            if d.path:
                d.path[-1].downstream.append(d)
        log = DeviceLog(
            home, devices, preloaded=preloaded_device_logs, not_logged=installed.not_in_device_log
        )
        b1 = by_eui[home.b1.eui]
        super().__init__(index, home, devices, by_eui, b1, timing, strategy, images, log)

    # ------------------------------------------------------------------ the one entry point

    def handle(self, event: HubEvent, now: float) -> list[HubOutput]:
        """Take `event` at `now`; what the hub does about it, in order."""
        match event:
            case DownloadDone(device=i, gen=gen):
                d = self.devices[i]
                if gen == d.gen and d.running:
                    self._download_done(d, now)
            case RebootDone(device=i):
                activation.reboot_done(self, self.devices[i], now)
            case RejoinDone(device=i):
                activation.rejoin_done(self, self.devices[i], now)
                self._flush_commands()
                self._schedule(now)
                self._maybe_release(now)
            case ReleaseDue():
                to_come = self._downloads_to_come()
                activation.release(self, event, now, downloads_to_come=to_come)
            case JoinDue(device=i):
                d = self.devices[i]
                if self.device_log.join(d):
                    self.out.append(DeviceJoined(d.eui))
            case ImageOnTheWay():
                self.incoming += 1
            case ImageDelivered():
                self._delivered(event, now)
            case ImageLost():
                self.incoming -= 1
                self._maybe_release(now)
            case AddToDeviceLog():
                self._add_to_log(event)
            case RemoveFromDeviceLog(device=eui, command=cmd):
                self.device_log.remove(eui)
                if eui in self.by_eui:
                    self.by_eui[eui].joined = False
                self.out.append(DeviceLogAnswer(cmd, True))
            case CommandForDevice(command=cmd):
                d = self.by_eui[cmd.device]
                if d.reachable:
                    self.out.append(CommandDue(cmd, d.version))
                else:
                    self.commands.add(d, cmd)
            case PowerCycle(device=eui):
                activation.power_cycle(self, self.by_eui[eui], now)
            case CorruptBlock(device=eui):
                self.by_eui[eui].client.corrupt()
        out = self.out[:]
        self.out.clear()
        return out

    # ------------------------------------------------------------------ device log

    def type1_count(self) -> int:
        return self.device_log.type1_count()

    def _add_to_log(self, ev: AddToDeviceLog) -> None:
        d = self.by_eui.get(ev.device)
        accepted = self.device_log.add(ev.device, known=d is not None)
        if accepted and d is not None:
            self.out.append(StartTimer(self.timing.join_delay_s, JoinDue(d.index)))
        self.out.append(DeviceLogAnswer(ev.command, accepted))

    # ------------------------------------------------------------------ OTA jobs

    def _delivered(self, ev: ImageDelivered, now: float) -> None:
        self.incoming -= 1
        parsed = self.images.parse(ev.sha256, ev.image)
        info = parsed.info
        image = None
        if info is not None:
            server = OtaServer(
                info,
                min_block_period_ms=int(self.strategy.min_block_period_s(self.timing) * 1000),
                max_block_size=self.timing.block_size,
                hold_activation=self.strategy.holds_activation,
            )
            image = HubImage(ev.sha256, info, server)
        for eui in ev.devices:
            d = self.by_eui.get(eui)
            if image is None:
                self._fail(eui, f"image is not an OTA file: {parsed.error}")
            elif d is None or eui not in self.device_log or not d.joined:
                self._fail(eui, "device not in the CHF device log")
            else:
                self.jobs.add(image, d)
        self._schedule(now)

    def _fail(
        self,
        eui: EUI64,
        reason: str,
        result: TransferResult = TransferResult.FILE_TRANSFER_FAILURE,
        version: int = 0,
    ) -> None:
        self.failures.append((eui, reason))
        self.out.append(TransferAlert(eui, result, version))

    def _schedule(self, now: float) -> None:
        one = self.strategy.one_download_at_a_time
        if one and any(d.downloading for d in self.devices):
            return
        for job in self.strategy.order(self.jobs.pending, self.b1):
            d = job.device
            if d.idle and d.reachable:
                self.jobs.remove(job)
                if self._start(job, now) and one:
                    return

    def _start(self, job: Job, now: float) -> bool:
        """Query Next Image for the job's device; True when its download started."""
        refusal = query_next_image(job)
        d = job.device
        if refusal is not None:
            self._fail(d.eui, refusal.reason, refusal.result, refusal.version)
            return False
        d.image = job.image
        transfer.run(self, d, now)
        return True

    def _download_done(self, d: Device, now: float) -> None:
        """The last block arrived: the device checks the image (Upgrade End), then activates
        at once or waits for the hub's release."""
        img = d.image
        assert img is not None
        transfer.finish(self, d, now)
        end = d.client.on_last_block()
        rsp = img.server.handle_upgrade_end(d.eui, end, int(now * 1000))
        version = img.info.file_version
        if rsp is None:
            d.image = None
            self._fail(
                d.eui,
                "image hash check failed (corrupted block)",
                TransferResult.IMAGE_DISCARDED,
                version,
            )
        else:
            self.out.append(TransferAlert(d.eui, TransferResult.SUCCESS, version))
            if d.client.on_upgrade_end_response(rsp, int(now)) is not None:
                activation.activate(self, d, now)
        self._schedule(now)
        self._maybe_release(now)

    def _downloads_to_come(self) -> bool:
        """Downloads still to come on this HAN: images on their way over the WAN, downloads
        under way, or jobs queued here that will run before a release."""
        return (
            self.incoming > 0
            or any(d.downloading for d in self.devices)
            or self.jobs.holds_release()
        )

    def _maybe_release(self, now: float) -> None:
        to_come = self._downloads_to_come()
        activation.maybe_release(self, now, downloads_to_come=to_come)

    # ------------------------------------------------------------------ commands

    def _flush_commands(self) -> None:
        for d, cmd in self.commands.take_ready():
            self.out.append(CommandDue(cmd, d.version))

    # ------------------------------------------------------------------ read access

    def home_disruption(self, now: float) -> HomeDisruption:
        return self.disruption.home(self.home, self.by_eui, self.ota_blocks, self.timing, now)
