"""Domain vocabulary shared by every room: identifiers, device types, statuses, variants.

Nothing here does I/O; everything is a value.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

_EUI_RE = re.compile(r"^[0-9A-Fa-f]{2}(-?[0-9A-Fa-f]{2}){7}$")


@dataclass(frozen=True, order=True, slots=True)
class EUI64:
    """A 64-bit IEEE EUI (device ID, user ID). Integer inside, hyphenated text at the edges."""

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value < 1 << 64:
            raise ValueError(f"EUI-64 out of range: {self.value!r}")

    @classmethod
    def parse(cls, text: str) -> EUI64:
        t = text.strip()
        if not _EUI_RE.match(t):
            raise ValueError(f"not an EUI-64: {text!r}")
        return cls(int(t.replace("-", ""), 16))

    @classmethod
    def from_bytes(cls, data: bytes) -> EUI64:
        if len(data) != 8:
            raise ValueError(f"EUI-64 needs 8 bytes, got {len(data)}")
        return cls(int.from_bytes(data, "big"))

    def to_bytes(self) -> bytes:
        return self.value.to_bytes(8, "big")

    @property
    def compact(self) -> str:
        """16 upper-case hex digits, no separators (as in key file names)."""
        return f"{self.value:016X}"

    def __str__(self) -> str:
        return self.value.to_bytes(8, "big").hex("-").upper()


class DeviceType(enum.StrEnum):
    """DUIS DeviceType values used in the SMI."""

    ESME = "ESME"
    GSME = "GSME"
    CHF = "CHF"
    GPF = "GPF"
    PPMID = "PPMID"
    HCALCS = "HCALCS"
    IHD = "IHD"  # not a DUIS SMI type; type-2 devices are not in the SMI, kept for the HAN model
    SAPC = "SAPC"

    @property
    def is_type1(self) -> bool:
        """Type 1 HAN devices a Comms Hub can hold at most `MAX_TYPE1_DEVICES` of."""
        return self in TYPE1_DEVICE_TYPES


TYPE1_DEVICE_TYPES = frozenset({DeviceType.PPMID, DeviceType.HCALCS})
"""The Type 1 HAN device types (an Alt HAN bridge is a PPMID, SECMP0170 Option 1)."""

MAX_TYPE1_DEVICES = 6
"""A Comms Hub's device log holds at most six Type 1 devices."""


class DeviceStatus(enum.StrEnum):
    """SMI device statuses (DUIS DeviceStatus)."""

    PENDING = "Pending"
    WHITELISTED = "Whitelisted"
    INSTALLED_NOT_COMMISSIONED = "InstalledNotCommissioned"
    COMMISSIONED = "Commissioned"
    DECOMMISSIONED = "Decommissioned"
    WITHDRAWN = "Withdrawn"
    SUSPENDED = "Suspended"
    RECOVERED = "Recovered"
    RECOVERY = "Recovery"


class AltHANVariant(enum.StrEnum):
    """SECMP0170 Alt HAN Device Variant (our modelling, DESIGN §3).

    B1 sits by the Comms Hub; B2 by a mains-powered gas-meter site; B3 by the IHD/PPMID;
    B4 by a gas meter with no power nearby (battery, sleepy).
    """

    B1 = "B1"
    B2 = "B2"
    B3 = "B3"
    B4 = "B4"

    @property
    def sleepy(self) -> bool:
        return self is AltHANVariant.B4


class Region(enum.StrEnum):
    """CSP regions."""

    NORTH = "North"
    CENTRAL = "Central"
    SOUTH = "South"


class UserRole(enum.StrEnum):
    """DUIS user roles (the codes of the SRV matrix)."""

    IS = "IS"  # Import Supplier
    ES = "ES"  # Export Supplier
    GS = "GS"  # Gas Supplier
    RSA = "RSA"  # Registered Supplier Agent
    ED = "ED"  # Electricity Distributor
    GT = "GT"  # Gas Transporter
    OU = "OU"  # Other User


@dataclass(frozen=True, order=True, slots=True)
class FirmwareVersion:
    """A 4-byte firmware version as in OTA headers and GBCS (hex string at the DUIS edge)."""

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value < 1 << 32:
            raise ValueError(f"firmware version out of range: {self.value!r}")

    @classmethod
    def parse(cls, text: str) -> FirmwareVersion:
        t = text.strip()
        if not re.fullmatch(r"[0-9A-Fa-f]{1,8}", t):
            raise ValueError(f"not a firmware version (hex, up to 8 digits): {text!r}")
        return cls(int(t, 16))

    def to_bytes(self) -> bytes:
        return self.value.to_bytes(4, "big")

    def __str__(self) -> str:
        return f"{self.value:08X}"


ALTHANCO_DEFAULT_EUI = EUI64.parse("90-B3-D5-1F-30-0A-00-00")
"""The AltHANCo user (a configured DCC user allowed to assure Alt HAN firmware)."""

TEST_SUPPLIER_EUI = EUI64.parse("90-B3-D5-1F-30-01-00-00")
"""The ZAZ1 test supplier."""

DCC_EUI = EUI64.parse("90-B3-D5-1F-30-00-00-02")
"""The DCC's EUI-64: one party, seen in its roles. The DSP signs DUIS responses and alerts
with it (ZAZ1 dsp-xml-sign key), non-device requests target it, and as the Access Control
Broker (ACB, a GBCS remote-party role of the DCC) it originates the commands the DSP sends on
a user's behalf (ZAZ1 ``ka``/``ds`` keys of this EUI)."""
