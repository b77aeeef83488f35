"""A Comms Hub and the HAN behind it, as a sans-IO object.

:meth:`CommsHub.handle` takes one event (:mod:`althan.han.events`) and the current time and
returns what the hub does about it, as data: timers to start, CCS08 / CS09 alerts, join
notices, answers to commands. It reads no clock and calls nothing outside itself; its CSP
turns the outputs into SM WAN messages and hands the timers back when they are due.

The hub owns its images: it parses each delivered OTA file (:mod:`althan.han.image`) and runs
an :class:`althan.zigbee.cluster.OtaServer` for it, while every device runs the real
:class:`althan.zigbee.cluster.OtaClient` (:mod:`althan.han.device`). What it does is split by
concern: the device log and join (:mod:`althan.han.devicelog`), OTA jobs
(:mod:`althan.han.jobs`) started in the order the strategy gives (:mod:`althan.han.strategy`),
aggregate block transfer (:mod:`althan.han.transfer`), activation and reboots
(:mod:`althan.han.activation`), commands waiting for a device (:mod:`althan.han.commands`),
and disruption accounting (:mod:`althan.han.disruption`).
"""

from __future__ import annotations

from althan.han.activation import Activation
from althan.han.commands import CommandQueue
from althan.han.config import HanTiming
from althan.han.device import Device
from althan.han.devicelog import DeviceLog
from althan.han.disruption import DisruptionLog, HomeDisruption
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
    StartTimer,
    TransferAlert,
)
from althan.han.image import HubImage, OtaImages, TransferResult
from althan.han.jobs import Job, JobQueue, query_next_image
from althan.han.strategy import OtaStrategy
from althan.han.topology import Home
from althan.han.transfer import BlockTransfers
from althan.model import EUI64
from althan.zigbee.cluster import OtaServer

__all__ = ["CommsHub"]


class CommsHub:
    """One home's Comms Hub (CHF device log, OTA server) and its HAN devices."""

    __slots__ = (
        "_images",
        "_out",
        "activation",
        "b1",
        "by_eui",
        "commands",
        "devs",
        "disruption",
        "failures",
        "home",
        "incoming",
        "index",
        "jobs",
        "log",
        "strategy",
        "timing",
        "transfers",
    )

    def __init__(
        self,
        index: int,
        home: Home,
        timing: HanTiming,
        strategy: OtaStrategy,
        images: OtaImages,
        *,
        preloaded_device_logs: bool,
    ) -> None:
        self.index = index
        self.home = home
        self.timing = timing
        self.strategy = strategy
        self._images = images
        self.devs = [Device(d, i, timing) for i, d in enumerate(home.devices())]
        self.by_eui = {d.eui: d for d in self.devs}
        for d in self.devs:
            d.path = tuple(self.by_eui[e] for e in home.path(d.eui))
            if d.path:
                d.path[-1].downstream.append(d)
        self.b1 = self.by_eui[home.b1.eui]
        self.log = DeviceLog(home, self.devs, preloaded=preloaded_device_logs)
        self._out: list[HubOutput] = []
        self.disruption = DisruptionLog()
        self.transfers = BlockTransfers(self.devs, timing, strategy, self.disruption, self._out)
        self.activation = Activation(
            self.devs, self.b1, timing, strategy, self.transfers, self.disruption, self._out
        )
        self.jobs = JobQueue()
        self.commands = CommandQueue()
        self.failures: list[tuple[EUI64, str]] = []
        self.incoming = 0  # images the CSP is still bringing to this CH over the WAN

    # ------------------------------------------------------------------ the one entry point

    def handle(self, event: HubEvent, now: float) -> list[HubOutput]:
        """Take `event` at `now`; what the hub does about it, in order."""
        match event:
            case DownloadDone(device=i, gen=gen):
                d = self.devs[i]
                if gen == d.gen and d.running:
                    self._download_done(d, now)
            case RebootDone(device=i):
                self.activation.reboot_done(self.devs[i], now)
            case RejoinDone(device=i):
                self.activation.rejoin_done(self.devs[i], now)
                self._flush_commands()
                self._schedule(now)
                self._maybe_release(now)
            case ReleaseDue():
                to_come = self._downloads_to_come()
                self.activation.release(event, now, downloads_to_come=to_come)
            case JoinDue(device=i):
                d = self.devs[i]
                if self.log.join(d):
                    self._out.append(DeviceJoined(d.eui))
            case ImageOnTheWay():
                self.incoming += 1
            case ImageDelivered():
                self._delivered(event, now)
            case ImageLost():
                self.incoming -= 1
                self._maybe_release(now)
            case AddToDeviceLog():
                self._add_to_log(event)
            case CommandForDevice(command=cmd):
                d = self.by_eui[cmd.device]
                if d.reachable:
                    self._out.append(CommandDue(cmd, d.version))
                else:
                    self.commands.add(d, cmd)
            case PowerCycle(device=eui):
                self.activation.power_cycle(self.by_eui[eui], now)
            case CorruptBlock(device=eui):
                self.by_eui[eui].client.corrupt()
        out = self._out[:]
        self._out.clear()
        return out

    # ------------------------------------------------------------------ device log

    def type1_count(self) -> int:
        return self.log.type1_count()

    def _add_to_log(self, ev: AddToDeviceLog) -> None:
        d = self.by_eui.get(ev.device)
        accepted = self.log.add(ev.device, known=d is not None)
        if accepted and d is not None:
            self._out.append(StartTimer(self.timing.join_delay_s, JoinDue(d.index)))
        self._out.append(DeviceLogAnswer(ev.command, accepted))

    # ------------------------------------------------------------------ OTA jobs

    def _delivered(self, ev: ImageDelivered, now: float) -> None:
        self.incoming -= 1
        parsed = self._images.parse(ev.sha256, ev.image)
        info = parsed.info
        image = None
        if info is not None:
            t = self.timing
            server = OtaServer(
                info,
                min_block_period_ms=int(self.strategy.min_block_period_s(t) * 1000),
                max_block_size=t.block_size,
                hold_activation=self.strategy.holds_activation,
            )
            image = HubImage(ev.sha256, info, server)
        for eui in ev.devices:
            d = self.by_eui.get(eui)
            if image is None:
                self._fail(eui, f"image is not an OTA file: {parsed.error}")
            elif d is None or eui not in self.log or not d.joined:
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
        self._out.append(TransferAlert(eui, result, version))

    def _schedule(self, now: float) -> None:
        one = self.strategy.one_download_at_a_time
        if one and any(d.downloading for d in self.devs):
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
        self.transfers.run(d, now)
        return True

    def _download_done(self, d: Device, now: float) -> None:
        """The last block arrived: the device checks the image (Upgrade End), then activates
        at once or waits for the hub's release."""
        img = d.image
        assert img is not None
        self.transfers.finish(d, now)
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
            self._out.append(TransferAlert(d.eui, TransferResult.SUCCESS, version))
            if d.client.on_upgrade_end_response(rsp, int(now)) is not None:
                self.activation.activate(d, now)
        self._schedule(now)
        self._maybe_release(now)

    def _downloads_to_come(self) -> bool:
        """Downloads still to come on this HAN: images on their way over the WAN, downloads
        under way, or jobs queued here that will run before a release."""
        return (
            self.incoming > 0 or any(d.downloading for d in self.devs) or self.jobs.holds_release()
        )

    def _maybe_release(self, now: float) -> None:
        self.activation.maybe_release(now, downloads_to_come=self._downloads_to_come())

    # ------------------------------------------------------------------ commands

    def _flush_commands(self) -> None:
        for d, cmd in self.commands.take_ready():
            self._out.append(CommandDue(cmd, d.version))

    # ------------------------------------------------------------------ read access

    @property
    def ota_blocks(self) -> int:
        """OTA blocks moved over this HAN."""
        return self.transfers.blocks

    def home_disruption(self, now: float) -> HomeDisruption:
        return self.disruption.home(self.home, self.by_eui, self.ota_blocks, self.timing, now)
