"""DUIS body elements the DSP builds: response payloads, and the bodies of its DCC alerts.

Each DCC alert body is a frozen value with `element()`; `althan.dsp.catalogue` binds each body
type to its alert code, so an alert is sent by its body and cannot carry the wrong code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from lxml import etree

from althan.duis.envelope import WARNING_LISTS, format_datetime
from althan.duis.namespaces import sr_element as el
from althan.model import EUI64

__all__ = [
    "AlertBody",
    "CommandFailure",
    "CommsHubFirmwareTransfer",
    "CspDeliveryStatus",
    "EndpointTest",
    "FirmwareDistributionFailure",
    "FirmwareVersionMismatch",
    "PpmidFirmwareAlert",
    "QuarantinedRequest",
    "el",
    "id_list",
    "inventory_device",
    "update_ppmid_firmware_warning",
]


def id_list(devs: Iterable[EUI64]) -> str:
    return ",".join(str(d) for d in devs)


"""The five lists of sr:DSPUpdatePPMIDFirmwareWarning, in schema order."""


def update_ppmid_firmware_warning(lists: Mapping[str, Sequence[EUI64]]) -> etree._Element:
    """sr:DSPUpdatePPMIDFirmwareWarning: the five lists in schema order, empty ones left out."""
    w = el("DSPUpdatePPMIDFirmwareWarning")
    for name in WARNING_LISTS:
        devs = lists.get(name, ())
        if devs:
            w.append(el(name, id_list(devs)))
    return w


_INVENTORY_FIELDS = (
    ("smets_version", "SMETSCHTSVersion"),
    ("firmware_version", "DeviceFirmwareVersion"),
    ("fw_status", "DeviceFirmwareVersionStatus"),
)
_INVENTORY_TAIL = (
    ("esme_variant", "ESMEVariant"),
    ("variant", "AltHANDeviceVariant"),
    ("region", "CSPRegion"),
    ("gbcs_version", "DeviceGBCSVersion"),
)


def inventory_device(row: Mapping[str, Any]) -> etree._Element:
    """One sr:Device of an 8.2 DSPInventory; the MP170 AltHANDeviceVariant after ESMEVariant."""
    d = el("Device")
    for key, name in (
        ("eui", "DeviceID"),
        ("device_type", "DeviceType"),
        ("status", "DeviceStatus"),
        ("manufacturer", "DeviceManufacturer"),
        ("model", "DeviceModel"),
    ):
        d.append(el(name, str(row[key])))
    for key, name in _INVENTORY_FIELDS:
        if row.get(key):
            d.append(el(name, str(row[key])))
    commissioned = row.get("commissioned_at")
    if isinstance(commissioned, datetime):
        d.append(el("DateCommissioned", commissioned.strftime("%Y-%m-%dZ")))
    for key, name in _INVENTORY_TAIL:
        if row.get(key):
            d.append(el(name, str(row[key])))
    return d


# ------------------------------------------------------------------ DCC alert bodies


class AlertBody(Protocol):
    """The one element inside sr:DCCAlert."""

    ELEMENT: ClassVar[str]

    def element(self) -> etree._Element: ...


@dataclass(frozen=True, slots=True)
class PpmidFirmwareAlert:
    """sr:PPMIDAlert with sr:PPMIDFirmwareUpgradeAlert: the device's GBCS 0x8F8B (CS09)."""

    ELEMENT: ClassVar[str] = "PPMIDAlert"
    device: EUI64
    alert_code: int
    when: datetime
    version: str
    success: bool

    def element(self) -> etree._Element:
        return el(
            self.ELEMENT,
            None,
            el("DeviceID", str(self.device)),
            el("DeviceAlertCode", f"{self.alert_code:04X}"),
            el("Timestamp", format_datetime(self.when)),
            el(
                "PPMIDFirmwareUpgradeAlert",
                None,
                el("FirmwareVersion", self.version),
                el(
                    "ActivateImageResultCode",
                    "ActivationSuccess" if self.success else "ActivationFailure",
                ),
            ),
        )


@dataclass(frozen=True, slots=True)
class CspDeliveryStatus:
    """sr:CSPFirmwareDeliveryStatus: the CSP delivered (or failed to deliver) an image to a CH."""

    ELEMENT: ClassVar[str] = "CSPFirmwareDeliveryStatus"
    request_id: str
    chf: EUI64
    device: EUI64
    version: str
    when: datetime
    ok: bool

    def element(self) -> etree._Element:
        return el(
            self.ELEMENT,
            None,
            el("UpdateFirmwareRequestID", self.request_id),
            el("CommsHubDeviceID", str(self.chf)),
            el("TargetDeviceID", str(self.device)),
            el("FirmwareVersion", self.version),
            el("TimeStamp", format_datetime(self.when)),
            el("CommsHubTransferStatus", "Success" if self.ok else "Failure"),
        )


@dataclass(frozen=True, slots=True)
class CommsHubFirmwareTransfer:
    """sr:CommsHubAlert with sr:FirmwareTransferAlert: the CH's GBCS CCS08 (0x8F8A / 0x8F89)."""

    ELEMENT: ClassVar[str] = "CommsHubAlert"
    chf: EUI64
    alert_code: int
    when: datetime
    request_id: str | None
    device: EUI64
    version: str
    ok: bool

    def element(self) -> etree._Element:
        fta = el("FirmwareTransferAlert")
        if self.request_id:
            fta.append(el("UpdateFirmwareRequestID", self.request_id))
        fta.append(el("OtherDeviceID", str(self.device)))
        fta.append(el("FirmwareVersion", self.version))
        fta.append(
            el("TransferResponseCode", "FileTransferSuccess" if self.ok else "FileTransferFailure")
        )
        return el(
            self.ELEMENT,
            None,
            el("CommsHubDeviceID", str(self.chf)),
            el("AlertCode", f"{self.alert_code:04X}"),
            el("TimeStamp", format_datetime(self.when)),
            fta,
        )


@dataclass(frozen=True, slots=True)
class FirmwareVersionMismatch:
    """sr:FirmwareVersionMismatch: an 11.2 read back a version the SMI did not hold."""

    ELEMENT: ClassVar[str] = "FirmwareVersionMismatch"
    device: EUI64
    device_type: str
    smi_version: str
    device_version: str

    def element(self) -> etree._Element:
        return el(
            self.ELEMENT,
            None,
            el("DeviceID", str(self.device)),
            el("DeviceType", self.device_type),
            el("FirmwareVersionSMI", self.smi_version),
            el("FirmwareVersionDevice", self.device_version),
        )


@dataclass(frozen=True, slots=True)
class FirmwareDistributionFailure:
    """sr:FirmwareDistributionFailure: the deliveries of an 11.4 that ended without an outcome
    (the DSP's deadline passed) for these devices, now free for another 11.4."""

    ELEMENT: ClassVar[str] = "FirmwareDistributionFailure"
    request_id: str
    devices: tuple[EUI64, ...]

    def element(self) -> etree._Element:
        return el(
            self.ELEMENT,
            None,
            el("UpdateFirmwareRequestID", self.request_id),
            el("MeterIDs", id_list(self.devices)),
        )


@dataclass(frozen=True, slots=True)
class CommandFailure:
    """sr:CommandFailure: the command a device Service Request sent was not answered by its
    device within the DSP's command timeout; this is the request's answer (none follows)."""

    ELEMENT: ClassVar[str] = "CommandFailure"
    request_id: str
    device: EUI64

    def element(self) -> etree._Element:
        return el(
            self.ELEMENT,
            None,
            el("CommandRequestID", self.request_id),
            el("DeviceID", str(self.device)),
        )


@dataclass(frozen=True, slots=True)
class EndpointTest:
    """A test alert a user asks for (the SSI's "send test alert"), to see signed DCC alerts
    reach its registered endpoint. DUIS has no test body: this one is sr:DUISVersionMismatch /
    sr:DCCAlertVersionMismatch naming the test alert's own code, with the DUIS version the
    DSP's alerts are built to (no mismatch is reported; docs/duis.md says so)."""

    ELEMENT: ClassVar[str] = "DUISVersionMismatch"
    alert_code: str
    duis_version: str

    def element(self) -> etree._Element:
        return el(
            self.ELEMENT,
            None,
            el("DCCAlertVersionMismatch", None, el("DCCAlertCode", self.alert_code)),
            el("ServiceUserDUISVersion", self.duis_version),
        )


QUARANTINE_BREACHES = ("ADUserThresholdBreach", "ADDCCThresholdBreach", "ADAttributeLimitsBreach")
"""The choice inside sr:QuarantinedRequest: which kind of anomaly-detection threshold broke."""


@dataclass(frozen=True, slots=True)
class QuarantinedRequest:
    """sr:QuarantinedRequest: the user's request breached an anomaly-detection threshold and is
    held in quarantine under `ref` (sr:QuarantineEventRef) until a DCC operator decides."""

    ELEMENT: ClassVar[str] = "QuarantinedRequest"
    breach: str  # one of QUARANTINE_BREACHES
    request_id: str
    ref: int

    def element(self) -> etree._Element:
        if self.breach not in QUARANTINE_BREACHES:
            raise ValueError(f"{self.breach!r} is not a QuarantinedRequest choice")
        return el(
            self.ELEMENT,
            None,
            el(
                self.breach,
                None,
                el("RequestID", self.request_id),
                el("QuarantineEventRef", str(self.ref)),
            ),
        )
