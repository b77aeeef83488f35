"""What goes into a Comms Hub and what comes out of it, as frozen values.

:meth:`althan.han.hub.CommsHub.handle` takes one event and the current time and returns a list
of outputs; nothing else crosses the hub's boundary (no callbacks). Its CSP turns the outputs
into SM WAN messages and timers, and hands the timers back as events when they are due.

* inputs from the CSP: :class:`ImageOnTheWay`, :class:`ImageDelivered`, :class:`ImageLost`,
  :class:`AddToDeviceLog` (CCS01), :class:`RemoveFromDeviceLog` (CCS02),
  :class:`CommandForDevice` (CS08, critical commands);
* the hub's own timers (:data:`HubTimer`), handed back when due;
* faults the runtime injects from its fault plan: :class:`PowerCycle`, :class:`CorruptBlock`;
* outputs (:data:`HubOutput`): :class:`StartTimer`, :class:`TransferAlert` (GBCS CCS08),
  :class:`ActivationAlert` (GBCS CS09), :class:`DeviceJoined`, :class:`DeviceLogAnswer`
  (the CCS01 / CCS02 response), :class:`CommandDue` (the device answers a command).

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
    "DeviceFault",
    "DeviceJoined",
    "DeviceLogAnswer",
    "DeviceTimer",
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
    "RemoveFromDeviceLog",
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

    sha256: str  # of `image`, as the CSP checked it
    image: bytes  # the OTA file, shared by every hub it goes to
    devices: tuple[EUI64, ...]  # the targets on this HAN, as the DSP listed them


@dataclass(frozen=True, slots=True)
class ImageLost:
    """An image on its way to this CH was lost on the WAN."""


@dataclass(frozen=True, slots=True)
class PendingCommand:
    """A GBCS command as it came over the SM WAN, and what it decoded to. A command for a
    device that is cut off waits at the hub as this record until the device is back."""

    command: GbcsCommand  # what to answer: message ID, CHF, device
    parsed: InboundCommand  # the decoded GBCS, which the device's answer is built from

    @property
    def device(self) -> EUI64:
        return self.command.device


@dataclass(frozen=True, slots=True)
class AddToDeviceLog:
    """CCS01: add `device` to the CHF device log."""

    device: EUI64  # the device to whitelist (not the command's target, which is the CHF)
    command: PendingCommand  # answered at once by the CH


@dataclass(frozen=True, slots=True)
class RemoveFromDeviceLog:
    """CCS02: take `device` off the CHF device log; it leaves the HAN."""

    device: EUI64
    command: PendingCommand  # answered at once by the CH


@dataclass(frozen=True, slots=True)
class CommandForDevice:
    """A command the device answers (CS08, a critical command) once it is reachable."""

    command: PendingCommand  # waits at the hub while the device is cut off


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class DeviceFault:
    """A fault for one device of the HAN, which the runtime injects from its fault plan."""

    device: EUI64  # a device of this hub's home


class PowerCycle(DeviceFault):
    """The device loses power and reboots; whatever it was doing resumes after it rejoins."""

    __slots__ = ()


class CorruptBlock(DeviceFault):
    """One block of the device's current (or else next) download arrives corrupted, so that
    download fails its hash check."""

    __slots__ = ()


# --------------------------------------------------------------------------- timers


@dataclass(frozen=True, slots=True)
class DownloadDone:
    """The device's download reaches the end of the image (stale when `gen` moved on)."""

    device: int  # index in the hub's device list
    gen: int  # the device's transfer generation when the timer was set


@dataclass(frozen=True, slots=True)
class DeviceTimer:
    """A timer about one device."""

    device: int  # index in the hub's device list


class RebootDone(DeviceTimer):
    """The device's reboot is over: it rejoins once its path to the CH is up."""

    __slots__ = ()


class RejoinDone(DeviceTimer):
    """The device is back on the HAN."""

    __slots__ = ()


class JoinDue(DeviceTimer):
    """A whitelisted device in range joins the HAN."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class ReleaseDue:
    """Release the held activations (stale when `gen` moved on); `b1` also releases B1."""

    gen: int  # the hub's release generation when the timer was set
    b1: bool  # the remote bridges went first: now B1


HubTimer = DownloadDone | DeviceTimer | ReleaseDue


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Hand `timer` back to the hub's `handle` `delay` seconds from now."""

    delay: float  # seconds
    timer: HubTimer


@dataclass(frozen=True, slots=True)
class TransferAlert:
    """CCS08: the CH's transfer of image `version` to `device` ended with `result`."""

    device: EUI64
    result: TransferResult
    version: int  # the image's file version (0 when the CH could not read it)


@dataclass(frozen=True, slots=True)
class ActivationAlert:
    """CS09: `device` runs firmware `version` (it activated a new image)."""

    device: EUI64
    version: int  # the firmware version it runs now


@dataclass(frozen=True, slots=True)
class DeviceJoined:
    """`device` joined the HAN (after its CCS01 whitelisting)."""

    device: EUI64  # the CSP announces it to the DSP (HanJoinNotice)


@dataclass(frozen=True, slots=True)
class DeviceLogAnswer:
    """The CH's answer to a CCS01 (the device log took the device, or was full) or a CCS02."""

    command: PendingCommand
    accepted: bool  # False: a 7th Type 1 device, refused


@dataclass(frozen=True, slots=True)
class CommandDue:
    """The device is reachable: it answers `command`, running `firmware_version`."""

    command: PendingCommand
    firmware_version: int  # what CS08 reports


HubOutput = (
    StartTimer | TransferAlert | ActivationAlert | DeviceJoined | DeviceLogAnswer | CommandDue
)

HubEvent = (
    ImageOnTheWay
    | ImageDelivered
    | ImageLost
    | AddToDeviceLog
    | RemoveFromDeviceLog
    | CommandForDevice
    | DeviceFault
    | HubTimer
)
