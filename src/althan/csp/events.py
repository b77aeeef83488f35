"""What a CSP region takes besides the DSP's SM WAN messages: its own timers, and the faults the
sim runtime injects from its fault plan (the CSP draws no fault itself)."""

from __future__ import annotations

from dataclasses import dataclass

from althan.han.events import DeviceFault, HubTimer
from althan.model import EUI64
from althan.smwan import GbcsCommand

__all__ = [
    "AtHub",
    "BytesThrough",
    "ChOffline",
    "ChOnline",
    "CommandArrives",
    "CspFault",
    "HanFault",
    "TransferDone",
    "TransferFails",
    "WanDown",
    "WanUp",
]

# --------------------------------------------------------------------------- timers


@dataclass(frozen=True, slots=True)
class BytesThrough:
    """An image transfer's last byte has left the WAN's capacity: its slot frees for the next
    queued transfer, and the image reaches its CH one latency later (stale when `gen` moved
    on)."""

    transfer: int  # the WAN link's number for it
    gen: int  # moves on when an outage pauses it


@dataclass(frozen=True, slots=True)
class TransferDone:
    """An image transfer over the WAN reaches its CH."""

    transfer: int  # the WAN link's number for it


@dataclass(frozen=True, slots=True)
class CommandArrives:
    """A GBCS command crossed the WAN to its CH."""

    command: GbcsCommand


@dataclass(frozen=True, slots=True)
class AtHub:
    """A timer of the region's hub number `hub`."""

    hub: int  # index in the region's hub list
    timer: HubTimer


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class WanDown:
    """An outage of the region's WAN starts: transfers pause, messages wait."""


@dataclass(frozen=True, slots=True)
class WanUp:
    """The outage ends."""


@dataclass(frozen=True, slots=True)
class TransferFails:
    """The WAN transfer of distribution `distribution_id`'s image to CH `chf` will fail (it
    still takes its share of the WAN, and is reported failed when it ends)."""

    distribution_id: str  # the FirmwareDistribution's
    chf: EUI64  # the CH it was to reach


@dataclass(frozen=True, slots=True)
class HanFault:
    """A fault for a device of the HAN of CH `chf`."""

    chf: EUI64  # routes the fault to the device's hub
    fault: DeviceFault


@dataclass(frozen=True, slots=True)
class ChOffline:
    """CH `chf` loses its WAN connection (its HAN runs on): commands and images for it wait,
    and what it sends waits, until :class:`ChOnline`."""

    chf: EUI64


@dataclass(frozen=True, slots=True)
class ChOnline:
    """CH `chf` is back on the WAN: what waited moves."""

    chf: EUI64


CspFault = WanDown | WanUp | TransferFails | HanFault | ChOffline | ChOnline
