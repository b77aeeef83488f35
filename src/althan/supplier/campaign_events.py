"""What the DCC's documents say of a campaign's devices, each checked before it is believed.

* ``read_answer``: the synchronous answer to an 11.4 (``I0``; ``W110401`` with the devices of
  each ``DSPUpdatePPMIDFirmwareWarning`` list, which are not sent; an error code: the whole
  request refused). Its XML signature is the DSP's, checked like every other.
* ``read_events``: a document the DSP POSTs to the response endpoint, as device events:
  N55 (``CSPFirmwareDeliveryStatus``: delivered to the Comms Hub, or not), N56
  (``CommsHubAlert`` / ``FirmwareTransferAlert``: transferred to the device, or not), N39
  (``PPMIDAlert``: activated, or activation failed), N57 (``FirmwareDistributionFailure``:
  timed out). Any other document names no campaign device and moves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from althan.duis.xmldsig import SignatureError, TrustStore, verify
from althan.duis.xmlsafe import XmlError
from althan.model import DCC_EUI, EUI64
from althan.supplier.campaign_tables import (
    ACTIVATED,
    DELIVERED,
    FAILED,
    TRANSFERRED,
    DeviceEvent,
    LateAnswer,
)
from althan.supplier.documents import BodyKind, NotADuisResponse, read_response

__all__ = ["Answer", "NotBelieved", "read_answer", "read_events"]

DUPLICATE = "E12"
"""The DSP's answer to a RequestID whose counter it has seen: the request changes nothing."""

TIMEOUT = "timeout"
CH_DELIVERY_FAILED = "ch-delivery-failed"
TRANSFER_FAILED = "transfer-failed"
ACTIVATION_FAILED = "activation-failed"


class NotBelieved(ValueError):
    """A document whose XML signature is not the DSP's, or that is not DUIS."""


@dataclass(frozen=True, slots=True)
class Answer:
    code: str
    warned: dict[EUI64, str] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return self.code.startswith("E") and self.code != DUPLICATE


def _ids(text: str | None) -> list[EUI64]:
    out = []
    for part in (text or "").split(","):
        try:
            out.append(EUI64.parse(part.strip()))
        except ValueError:
            continue
    return out


def _verified(body: bytes, trust: TrustStore) -> etree._Element:
    try:
        return verify(body, trust, dcc_eui=DCC_EUI).root
    except (SignatureError, XmlError) as exc:
        raise NotBelieved(f"{type(exc).__name__}: {exc}") from None


def read_answer(status: int, body: bytes, trust: TrustStore) -> Answer:
    """The DCC's synchronous answer to an 11.4."""
    root = _verified(body, trust)
    code = next(
        (e.text.strip() for e in root.iter() if _local(e) == "ResponseCode" and e.text), None
    )
    if code is None:
        raise NotBelieved(f"HTTP {status}: an answer without a ResponseCode")
    return _answer_of(root, code)


def _answer_of(root: etree._Element, code: str) -> Answer:
    warned: dict[EUI64, str] = {}
    for el in root.iter():
        if _local(el) == "DSPUpdatePPMIDFirmwareWarning":
            for lst in el:
                name = _local(lst)
                for eui in _ids(lst.text):
                    warned.setdefault(eui, name)
    return Answer(code, warned)


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _field(fields: Iterable[tuple[str, str]], *tail: str) -> str | None:
    want = "/".join(tail)
    return next((v for p, v in fields if p == want or p.endswith("/" + want)), None)


def _eui(text: str | None) -> EUI64 | None:
    try:
        return None if text is None else EUI64.parse(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Hop:
    """An alert on one hop of the image's way to a device: its block and fields, the status
    that means it got through, the device state that is then, and the failure otherwise."""

    block: str
    device: str
    status: str
    success: str
    reached: str
    failure: str


_HOPS = {
    "N55": _Hop(
        "CSPFirmwareDeliveryStatus",
        "TargetDeviceID",
        "CommsHubTransferStatus",
        "Success",
        DELIVERED,
        CH_DELIVERY_FAILED,
    ),
    "N56": _Hop(
        "FirmwareTransferAlert",
        "OtherDeviceID",
        "TransferResponseCode",
        "FileTransferSuccess",
        TRANSFERRED,
        TRANSFER_FAILED,
    ),
}
"""N55 (DSP → CH) and N56 (CH → device), by alert code."""


def read_events(body: bytes, trust: TrustStore) -> tuple[str, list[DeviceEvent], LateAnswer | None]:
    """A POSTed document's alert code (or response code), its device events, and — for a
    response to a request — the answer it may be to a held send."""
    root = _verified(body, trust)
    try:
        doc = read_response(root)
    except NotADuisResponse as exc:
        raise NotBelieved(str(exc)) from None
    code = doc.alert_code or doc.response_code
    f = doc.fields
    late: LateAnswer | None = None
    if doc.kind is BodyKind.RESPONSE and doc.request_id is not None:
        a = _answer_of(root, doc.response_code)
        late = LateAnswer(doc.request_id, a.code, a.warned, a.refused)
    out: list[DeviceEvent] = []
    if (hop := _HOPS.get(code)) is not None:
        dev = _eui(_field(f, hop.block, hop.device))
        ok = _field(f, hop.block, hop.status) == hop.success
        rid = _field(f, hop.block, "UpdateFirmwareRequestID")
        if dev is not None:
            out.append(DeviceEvent(code, dev, rid, hop.reached if ok else FAILED, hop.failure))
    elif code == "N39":
        dev = _eui(_field(f, "PPMIDAlert", "DeviceID"))
        version = _field(f, "PPMIDFirmwareUpgradeAlert", "FirmwareVersion")
        result = _field(f, "PPMIDFirmwareUpgradeAlert", "ActivateImageResultCode")
        if dev is not None and version is not None:
            ok = result == "ActivationSuccess"
            out.append(
                DeviceEvent(
                    code,
                    dev,
                    None,
                    ACTIVATED if ok else FAILED,
                    ACTIVATION_FAILED,
                    version.upper() if ok else None,
                )
            )
    elif code == "N57":
        rid = _field(f, "FirmwareDistributionFailure", "UpdateFirmwareRequestID")
        for dev in _ids(_field(f, "FirmwareDistributionFailure", "MeterIDs")):
            out.append(DeviceEvent(code, dev, rid, FAILED, TIMEOUT))
    return code, out, late
