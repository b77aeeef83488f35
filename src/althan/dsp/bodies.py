"""DUIS body elements the DSP builds: response payloads, and the bodies of its DCC alerts.

Each DCC alert body is a frozen value with `element()`; `althan.dsp.catalogue` binds each body
type to its alert code, so an alert is sent by its body and cannot carry the wrong code. A body
declares its element once as data (`DeclaredBody`: the element's name and a `LAYOUT` of child
elements, each with the field and formatter it is read from), as `althan.zigbee.ota.header`
declares the OTA header; `QuarantinedRequest`, whose choice element is named by a field, builds
its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Protocol

from lxml import etree

from althan.duis.envelope import WARNING_LISTS, format_datetime
from althan.duis.namespaces import SR
from althan.duis.namespaces import sr_element as el
from althan.model import EUI64

__all__ = [
    "AlertBody",
    "CommandFailure",
    "CommsHubFirmwareTransfer",
    "CspDeliveryStatus",
    "DeclaredBody",
    "EndpointTest",
    "FirmwareDistributionFailure",
    "FirmwareVersionMismatch",
    "Group",
    "Layout",
    "PpmidFirmwareAlert",
    "QuarantinedRequest",
    "Text",
    "el",
    "id_list",
    "inventory_device",
    "update_ppmid_firmware_warning",
]


def id_list(devs: Iterable[EUI64]) -> str:
    return ",".join(str(d) for d in devs)


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


class Text(NamedTuple):
    """A child element whose text is `fmt` of the body's `field`; left out when that is None."""

    child: str
    field: str
    fmt: Callable[[Any], str | None] = str


class Group(NamedTuple):
    """A child element holding elements of its own."""

    child: str
    layout: Layout


Layout = tuple[Text | Group, ...]
"""The children of an element, in schema order."""


def _fill(parent: etree._Element, body: object, layout: Layout) -> None:
    for row in layout:
        if isinstance(row, Text):
            text = row.fmt(getattr(body, row.field))
            if text is not None:
                etree.SubElement(parent, SR + row.child).text = text
        else:
            _fill(etree.SubElement(parent, SR + row.child), body, row.layout)


def _fields(layout: Layout) -> Iterator[str]:
    for row in layout:
        if isinstance(row, Text):
            yield row.field
        else:
            yield from _fields(row.layout)


class DeclaredBody:
    """An alert body declared as data: sr:`ELEMENT` with the children of `LAYOUT`, each read
    from a field of the body (a layout naming a field the class lacks fails at import)."""

    __slots__ = ()
    ELEMENT: ClassVar[str]
    LAYOUT: ClassVar[Layout]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        unknown = set(_fields(cls.LAYOUT)) - set(cls.__annotations__)
        if unknown:
            raise TypeError(f"{cls.__name__}.LAYOUT names no field {sorted(unknown)}")

    def element(self) -> etree._Element:
        e = el(self.ELEMENT)
        _fill(e, self, self.LAYOUT)
        return e


def _hex4(code: int) -> str:
    return f"{code:04X}"


def _present(text: str | None) -> str | None:
    return text or None


def _either(yes: str, no: str) -> Callable[[bool], str]:
    return lambda flag: yes if flag else no


@dataclass(frozen=True, slots=True)
class PpmidFirmwareAlert(DeclaredBody):
    """sr:PPMIDAlert with sr:PPMIDFirmwareUpgradeAlert: the device's GBCS 0x8F8B (CS09)."""

    ELEMENT: ClassVar[str] = "PPMIDAlert"
    LAYOUT: ClassVar[Layout] = (
        Text("DeviceID", "device"),
        Text("DeviceAlertCode", "alert_code", _hex4),
        Text("Timestamp", "when", format_datetime),
        Group(
            "PPMIDFirmwareUpgradeAlert",
            (
                Text("FirmwareVersion", "version"),
                Text(
                    "ActivateImageResultCode",
                    "success",
                    _either("ActivationSuccess", "ActivationFailure"),
                ),
            ),
        ),
    )
    device: EUI64
    alert_code: int
    when: datetime
    version: str
    success: bool


@dataclass(frozen=True, slots=True)
class CspDeliveryStatus(DeclaredBody):
    """sr:CSPFirmwareDeliveryStatus: the CSP delivered (or failed to deliver) an image to a CH."""

    ELEMENT: ClassVar[str] = "CSPFirmwareDeliveryStatus"
    LAYOUT: ClassVar[Layout] = (
        Text("UpdateFirmwareRequestID", "request_id"),
        Text("CommsHubDeviceID", "chf"),
        Text("TargetDeviceID", "device"),
        Text("FirmwareVersion", "version"),
        Text("TimeStamp", "when", format_datetime),
        Text("CommsHubTransferStatus", "ok", _either("Success", "Failure")),
    )
    request_id: str
    chf: EUI64
    device: EUI64
    version: str
    when: datetime
    ok: bool


@dataclass(frozen=True, slots=True)
class CommsHubFirmwareTransfer(DeclaredBody):
    """sr:CommsHubAlert with sr:FirmwareTransferAlert: the CH's GBCS CCS08 (0x8F8A / 0x8F89)."""

    ELEMENT: ClassVar[str] = "CommsHubAlert"
    LAYOUT: ClassVar[Layout] = (
        Text("CommsHubDeviceID", "chf"),
        Text("AlertCode", "alert_code", _hex4),
        Text("TimeStamp", "when", format_datetime),
        Group(
            "FirmwareTransferAlert",
            (
                Text("UpdateFirmwareRequestID", "request_id", _present),
                Text("OtherDeviceID", "device"),
                Text("FirmwareVersion", "version"),
                Text(
                    "TransferResponseCode",
                    "ok",
                    _either("FileTransferSuccess", "FileTransferFailure"),
                ),
            ),
        ),
    )
    chf: EUI64
    alert_code: int
    when: datetime
    request_id: str | None
    device: EUI64
    version: str
    ok: bool


@dataclass(frozen=True, slots=True)
class FirmwareVersionMismatch(DeclaredBody):
    """sr:FirmwareVersionMismatch: an 11.2 read back a version the SMI did not hold."""

    ELEMENT: ClassVar[str] = "FirmwareVersionMismatch"
    LAYOUT: ClassVar[Layout] = (
        Text("DeviceID", "device"),
        Text("DeviceType", "device_type"),
        Text("FirmwareVersionSMI", "smi_version"),
        Text("FirmwareVersionDevice", "device_version"),
    )
    device: EUI64
    device_type: str
    smi_version: str
    device_version: str


@dataclass(frozen=True, slots=True)
class FirmwareDistributionFailure(DeclaredBody):
    """sr:FirmwareDistributionFailure: the deliveries of an 11.4 that ended without an outcome
    (the DSP's deadline passed) for these devices, now free for another 11.4."""

    ELEMENT: ClassVar[str] = "FirmwareDistributionFailure"
    LAYOUT: ClassVar[Layout] = (
        Text("UpdateFirmwareRequestID", "request_id"),
        Text("MeterIDs", "devices", id_list),
    )
    request_id: str
    devices: tuple[EUI64, ...]


@dataclass(frozen=True, slots=True)
class CommandFailure(DeclaredBody):
    """sr:CommandFailure: the command a device Service Request sent was not answered by its
    device within the DSP's command timeout; this is the request's answer (none follows)."""

    ELEMENT: ClassVar[str] = "CommandFailure"
    LAYOUT: ClassVar[Layout] = (
        Text("CommandRequestID", "request_id"),
        Text("DeviceID", "device"),
    )
    request_id: str
    device: EUI64


@dataclass(frozen=True, slots=True)
class EndpointTest(DeclaredBody):
    """A test alert a user asks for (the SSI's "send test alert"), to see signed DCC alerts
    reach its registered endpoint. DUIS has no test body: this one is sr:DUISVersionMismatch /
    sr:DCCAlertVersionMismatch naming the test alert's own code, with the DUIS version the
    DSP's alerts are built to (no mismatch is reported; docs/duis.md says so)."""

    ELEMENT: ClassVar[str] = "DUISVersionMismatch"
    LAYOUT: ClassVar[Layout] = (
        Group("DCCAlertVersionMismatch", (Text("DCCAlertCode", "alert_code"),)),
        Text("ServiceUserDUISVersion", "duis_version"),
    )
    alert_code: str
    duis_version: str


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
