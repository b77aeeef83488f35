"""The state of one Comms Hub, which the steps of each of its concerns work on."""

from __future__ import annotations

from dataclasses import dataclass, field

from althan.han.commands import CommandQueue
from althan.han.config import HanTiming
from althan.han.device import Device
from althan.han.devicelog import DeviceLog
from althan.han.disruption import DisruptionLog
from althan.han.events import HubOutput
from althan.han.image import OtaImages
from althan.han.jobs import JobQueue
from althan.han.strategy import OtaStrategy
from althan.han.topology import Home
from althan.model import EUI64

__all__ = ["HubState"]


@dataclass(slots=True, eq=False)
class HubState:
    """One hub's HAN, its queues and logs; `out` collects the outputs of the event being
    handled (:class:`althan.han.hub.CommsHub` is this state plus its `handle`)."""

    index: int  # the hub's number in its CSP region
    home: Home
    devices: list[Device]  # the home's devices, in a fixed order (a device's index)
    by_eui: dict[EUI64, Device]
    b1: Device  # the bridge by the CH: every remote bridge's traffic goes through it
    timing: HanTiming
    strategy: OtaStrategy
    images: OtaImages  # parsed OTA files, shared by the hubs of the region
    device_log: DeviceLog  # the CHF device log (whitelist)
    jobs: JobQueue = field(default_factory=JobQueue)
    commands: CommandQueue = field(default_factory=CommandQueue)  # waiting for their device
    disruption: DisruptionLog = field(default_factory=DisruptionLog)
    failures: list[tuple[EUI64, str]] = field(default_factory=list)  # CCS08 failures sent
    out: list[HubOutput] = field(default_factory=list)
    ota_blocks: int = 0  # blocks moved over this HAN, all devices
    release_gen: int = 0  # moves on whenever a pending ReleaseDue is void
    incoming: int = 0  # images the CSP is still bringing to this CH over the WAN
