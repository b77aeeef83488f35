"""DUIS body elements the DSP builds (response payloads and DCC alert bodies)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from lxml import etree

from althan.model import EUI64

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"


def el(name: str, text: str | None = None, *children: etree._Element) -> etree._Element:
    e = etree.Element(f"{{{SR}}}{name}", nsmap={"sr": SR})
    if text is not None:
        e.text = text
    for c in children:
        e.append(c)
    return e


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def id_list(devs: Iterable[EUI64]) -> str:
    return ",".join(str(d) for d in devs)


def update_ppmid_firmware_warning(lists: Mapping[str, Sequence[EUI64]]) -> etree._Element:
    """sr:DSPUpdatePPMIDFirmwareWarning: the five lists in schema order, empty ones left out."""
    order = (
        "InvalidDeviceIDList",
        "NotCommissionedDeviceIDList",
        "NotApplicableFirmwareDeviceIDList",
        "OtherRequestInProgressList",
        "InvalidGBCSVersionList",
    )
    w = el("DSPUpdatePPMIDFirmwareWarning")
    for name in order:
        devs = lists.get(name, ())
        if devs:
            w.append(el(name, id_list(devs)))
    return w


def inventory_device(row: dict[str, object]) -> etree._Element:
    """One sr:Device of an 8.2 DSPInventory; the MP170 AltHANDeviceVariant after ESMEVariant."""
    d = el("Device")
    d.append(el("DeviceID", str(row["eui"])))
    d.append(el("DeviceType", str(row["device_type"])))
    d.append(el("DeviceStatus", str(row["status"])))
    d.append(el("DeviceManufacturer", str(row["manufacturer"])))
    d.append(el("DeviceModel", str(row["model"])))
    if row.get("smets_version"):
        d.append(el("SMETSCHTSVersion", str(row["smets_version"])))
    if row.get("firmware_version"):
        d.append(el("DeviceFirmwareVersion", str(row["firmware_version"])))
    if row.get("fw_status"):
        d.append(el("DeviceFirmwareVersionStatus", str(row["fw_status"])))
    commissioned = row.get("commissioned_at")
    if isinstance(commissioned, datetime):
        d.append(el("DateCommissioned", commissioned.strftime("%Y-%m-%dZ")))
    if row.get("esme_variant"):
        d.append(el("ESMEVariant", str(row["esme_variant"])))
    if row.get("variant"):
        d.append(el("AltHANDeviceVariant", str(row["variant"])))
    if row.get("region"):
        d.append(el("CSPRegion", str(row["region"])))
    if row.get("gbcs_version"):
        d.append(el("DeviceGBCSVersion", str(row["gbcs_version"])))
    return d


def ppmid_alert(
    device: EUI64, alert_code: int, when: datetime, version: str, success: bool
) -> etree._Element:
    return el(
        "PPMIDAlert",
        None,
        el("DeviceID", str(device)),
        el("DeviceAlertCode", f"{alert_code:04X}"),
        el("Timestamp", iso(when)),
        el(
            "PPMIDFirmwareUpgradeAlert",
            None,
            el("FirmwareVersion", version),
            el("ActivateImageResultCode", "ActivationSuccess" if success else "ActivationFailure"),
        ),
    )


def csp_delivery_status(
    request_id: str, chf: EUI64, device: EUI64, version: str, when: datetime, ok: bool
) -> etree._Element:
    return el(
        "CSPFirmwareDeliveryStatus",
        None,
        el("UpdateFirmwareRequestID", request_id),
        el("CommsHubDeviceID", str(chf)),
        el("TargetDeviceID", str(device)),
        el("FirmwareVersion", version),
        el("TimeStamp", iso(when)),
        el("CommsHubTransferStatus", "Success" if ok else "Failure"),
    )


def comms_hub_alert(
    chf: EUI64,
    alert_code: int,
    when: datetime,
    request_id: str | None,
    device: EUI64,
    version: str,
    transfer_code: str,
) -> etree._Element:
    fta = el("FirmwareTransferAlert")
    if request_id:
        fta.append(el("UpdateFirmwareRequestID", request_id))
    fta.append(el("OtherDeviceID", str(device)))
    fta.append(el("FirmwareVersion", version))
    fta.append(el("TransferResponseCode", transfer_code))
    return el(
        "CommsHubAlert",
        None,
        el("CommsHubDeviceID", str(chf)),
        el("AlertCode", f"{alert_code:04X}"),
        el("TimeStamp", iso(when)),
        fta,
    )


def firmware_version_mismatch(
    device: EUI64, device_type: str, smi_version: str, device_version: str
) -> etree._Element:
    return el(
        "FirmwareVersionMismatch",
        None,
        el("DeviceID", str(device)),
        el("DeviceType", device_type),
        el("FirmwareVersionSMI", smi_version),
        el("FirmwareVersionDevice", device_version),
    )
