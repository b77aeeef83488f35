"""Messages between the DSP and the CSPs (and, inside a CSP, to and from Comms Hubs).

They carry real bytes: GBCS frames and ZigBee OTA images. Every message has a `msg_id`; a
receiver that has seen a `msg_id` before changes nothing (idempotent handlers).

Addresses (strings): ``dsp``, ``csp:<Region>`` (e.g. ``csp:North``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from althan.model import EUI64


@dataclass(frozen=True, slots=True)
class FirmwareTarget:
    """One device to receive an image, behind its Comms Hub Function."""

    chf: EUI64
    device: EUI64


@dataclass(frozen=True, slots=True)
class FirmwareDistribution:
    """DSP → CSP: deliver this image to these CHs for these devices (SRV 11.4 fan-out).

    The CSP sees PPMIDs: an Alt HAN bridge is handled exactly as a PPMID (SECMP0170 Option 1).
    """

    msg_id: str
    distribution_id: str
    image_sha256: str
    image: bytes
    targets: tuple[FirmwareTarget, ...]


class DeliveryOutcome(enum.StrEnum):
    DELIVERED = "Delivered"  # image is on the CH, OTA to the device starts
    FAILED = "Failed"  # the CSP could not deliver to this CH


@dataclass(frozen=True, slots=True)
class CSPFirmwareDeliveryStatus:
    """CSP → DSP: delivery of a distribution's image to one CH."""

    msg_id: str
    distribution_id: str
    chf: EUI64
    devices: tuple[EUI64, ...]
    outcome: DeliveryOutcome
    reason: str = ""


@dataclass(frozen=True, slots=True)
class GbcsCommand:
    """DSP → CSP → CH → device: a GBCS command (e.g. CS08, CCS01) as bytes."""

    msg_id: str
    chf: EUI64
    device: EUI64
    payload: bytes


@dataclass(frozen=True, slots=True)
class GbcsResponse:
    """device → CH → CSP → DSP: the GBCS response to the command `msg_id`."""

    msg_id: str
    command_msg_id: str
    chf: EUI64
    device: EUI64
    payload: bytes


@dataclass(frozen=True, slots=True)
class GbcsAlert:
    """device or CH → CSP → DSP: a GBCS alert (CS09 0x8F8B, CCS08 0x8F8A/0x8F89) as bytes."""

    msg_id: str
    chf: EUI64
    device: EUI64
    payload: bytes


@dataclass(frozen=True, slots=True)
class HanJoinNotice:
    """CH → CSP → DSP: a whitelisted Type 1 device joined the CH's HAN (commissioning signal).

    Modelling decision: the DSP marks a whitelisted PPMID / Alt HAN bridge Commissioned on this
    notice (in GB it follows the installer's local join; the DSP learns it from the CH).
    """

    msg_id: str
    chf: EUI64
    device: EUI64


SmwanMessage = (
    FirmwareDistribution
    | CSPFirmwareDeliveryStatus
    | GbcsCommand
    | GbcsResponse
    | GbcsAlert
    | HanJoinNotice
)
