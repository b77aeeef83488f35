"""What goes into a Comms Hub and what comes out of it, as frozen values.

:meth:`althan.han.hub.CommsHub.handle` takes one event and the current time and returns a list
of outputs; nothing else crosses the hub's boundary (no callbacks). Its CSP turns the outputs
into SM WAN messages and timers, and hands the timers back as events when they are due.

* inputs from the CSP: :class:`ImageOnTheWay`, :class:`ImageDelivered`, :class:`ImageLost`,
  :class:`AddToDeviceLog` (CCS01), :class:`CommandForDevice` (CS08, critical commands);
* the hub's own timers (:data:`HubTimer`), handed back when due;
* faults the runtime injects from its fault plan: :class:`PowerCycle`, :class:`CorruptBlock`;
* outputs (:data:`HubOutput`): :class:`StartTimer`, :class:`TransferAlert` (GBCS CCS08),
  :class:`ActivationAlert` (GBCS CS09), :class:`DeviceJoined`, :class:`DeviceLogAnswer`
  (the CCS01 response), :class:`CommandDue` (the device answers a command).

Devices are named by EUI at the boundary and by their index in the hub's device list in
timers (a timer never leaves the hub's CSP).
"""

from __future__ import annotations

from dataclasses import dataclass

from althan.han.gbcs_io import InboundCommand
from althan.han.image import TransferResult
from althan.model import EUI64
from althan.smwan import GbcsCommand

__all__ = [
    "ActivationAlert",
    "AddToDeviceLog",
    "CommandDue",
    "CommandForDevice",
    "CorruptBlock",
    "DeviceJoined",
    "DeviceLogAnswer",
    "DownloadDone",
    "HubEvent",
    "HubOutput",
    "HubTimer",
    "ImageDelivered",
    "ImageLost",
    "ImageOnTheWay",
    "JoinDue",
    "PendingCommand",
    "PowerCycle",
    "RebootDone",
    "RejoinDone",
    "ReleaseDue",
    "StartTimer",
    "TransferAlert",
    "TransferResult",
]


# --------------------------------------------------------------------------- from the CSP


@dataclass(frozen=True, slots=True)
class ImageOnTheWay:
    """The CSP started bringing an image to this CH over the WAN (han-aware holds its releases
    until it arrives or is lost)."""


@dataclass(frozen=True, slots=True)
class ImageDelivered:
    """An image arrived at the CH over the WAN, for `devices` of its HAN."""

    sha256: str
    image: bytes
    devices: tuple[EUI64, ...]


@dataclass(frozen=True, slots=True)
class ImageLost:
    """An image on its way to this CH was lost on the WAN."""


@dataclass(frozen=True, slots=True)
class PendingCommand:
    """A GBCS command as it came over the SM WAN, and what it decoded to. A command for a
    device that is cut off waits at the hub as this record until the device is back."""

    command: GbcsCommand
    parsed: InboundCommand

    @property
    def device(self) -> EUI64:
        return self.command.device


@dataclass(frozen=True, slots=True)
class AddToDeviceLog:
    """CCS01: add `device` to the CHF device log."""

    device: EUI64
    command: PendingCommand


@dataclass(frozen=True, slots=True)
class CommandForDevice:
    """A command the device answers (CS08, a critical command) once it is reachable."""

    command: PendingCommand


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class PowerCycle:
    """`device` loses power and reboots; whatever it was doing resumes after it rejoins."""

    device: EUI64


@dataclass(frozen=True, slots=True)
class CorruptBlock:
    """One block of `device`'s current (or else next) download arrives corrupted, so that
    download fails its hash check."""

    device: EUI64


# --------------------------------------------------------------------------- timers


@dataclass(frozen=True, slots=True)
class DownloadDone:
    """The device's download reaches the end of the image (stale when `gen` moved on)."""

    device: int
    gen: int


@dataclass(frozen=True, slots=True)
class RebootDone:
    device: int


@dataclass(frozen=True, slots=True)
class RejoinDone:
    device: int


@dataclass(frozen=True, slots=True)
class JoinDue:
    """A whitelisted device in range joins the HAN."""

    device: int


@dataclass(frozen=True, slots=True)
class ReleaseDue:
    """Release the held activations (stale when `gen` moved on); `b1` also releases B1."""

    gen: int
    b1: bool


HubTimer = DownloadDone | RebootDone | RejoinDone | JoinDue | ReleaseDue


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Hand `timer` back to the hub's `handle` `delay` seconds from now."""

    delay: float
    timer: HubTimer


@dataclass(frozen=True, slots=True)
class TransferAlert:
    """CCS08: the CH's transfer of image `version` to `device` ended with `result`."""

    device: EUI64
    result: TransferResult
    version: int


@dataclass(frozen=True, slots=True)
class ActivationAlert:
    """CS09: `device` runs firmware `version` (it activated a new image)."""

    device: EUI64
    version: int


@dataclass(frozen=True, slots=True)
class DeviceJoined:
    """`device` joined the HAN (after its CCS01 whitelisting)."""

    device: EUI64


@dataclass(frozen=True, slots=True)
class DeviceLogAnswer:
    """The CH's answer to a CCS01: the device log took the device, or was full."""

    command: PendingCommand
    accepted: bool


@dataclass(frozen=True, slots=True)
class CommandDue:
    """The device is reachable: it answers `command`, running `firmware_version`."""

    command: PendingCommand
    firmware_version: int


HubOutput = (
    StartTimer | TransferAlert | ActivationAlert | DeviceJoined | DeviceLogAnswer | CommandDue
)

HubEvent = (
    ImageOnTheWay
    | ImageDelivered
    | ImageLost
    | AddToDeviceLog
    | CommandForDevice
    | PowerCycle
    | CorruptBlock
    | HubTimer
)
