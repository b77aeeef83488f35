"""The DSP's outgoing DUIS documents, read as a supplier receives them.

``read_response(root)`` types an ``sr:Response``: its header (RequestID, ResponseID, response
code), what its body is (a response to a request — with the SRV, and any ``GBCSPayload`` at
its top, in ``sr:PreCommand`` or in ``sr:LocalCommand`` — a device alert with its GBCS, or a
DCC alert with its code), and the body's leaf values by path, so that callers (``pc parse``,
a campaign's response endpoint) need not walk the XML themselves.

Where the GBCS sits, by body (DUIS):

* ``ResponseMessage/GBCSPayload``: a device's response (11.2's CS08, a critical command's);
* ``ResponseMessage/PreCommand/GBCSPayload``: the Transform (CV 4) answer's pre-command;
* ``ResponseMessage/LocalCommand/GBCSPayload``: a command returned for local delivery (CV 6);
* ``DeviceAlertMessage/GBCSPayload``: a device alert relayed as it came (e.g. 0x8F8B);
* ``DCCAlertMessage``: no GBCS — N39's ``PPMIDAlert`` is the DSP's reading of the device's
  CS09, not its bytes.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass

from lxml import etree

from althan.duis.envelope import ResponseId
from althan.duis.namespaces import DSIG, SR_NS, sr_child, sr_text

__all__ = [
    "BodyKind",
    "DuisResponse",
    "NotADuisResponse",
    "read_response",
]


class NotADuisResponse(ValueError):
    """Well-formed XML that is not a DUIS response or alert (or a request: nothing came back)."""


class BodyKind(enum.StrEnum):
    RESPONSE = "response"
    """``sr:ResponseMessage``: a response to a request (device or DSP)."""
    DEVICE_ALERT = "device-alert"
    DCC_ALERT = "dcc-alert"


_BODIES = {
    "ResponseMessage": BodyKind.RESPONSE,
    "DeviceAlertMessage": BodyKind.DEVICE_ALERT,
    "DCCAlertMessage": BodyKind.DCC_ALERT,
}
_GBCS_HOLDERS = ("PreCommand", "LocalCommand")


@dataclass(frozen=True, slots=True)
class DuisResponse:
    """An ``sr:Response`` as the DSP sends it. ``gbcs`` is the decoded base64 of its
    ``GBCSPayload`` (None when the body carries none; ``gbcs_error`` says why it could not be
    read when one is there but is not base64); ``gbcs_holder`` names where it sat
    ("GBCSPayload", "PreCommand", "LocalCommand"). ``fields``: the body's leaf texts by
    path below the body element (``"DCCAlert/PPMIDAlert/FirmwareVersion"``)."""

    root: etree._Element
    kind: BodyKind
    response_code: str
    request_id: str | None
    response_id: ResponseId | None
    response_id_text: str | None
    response_date_time: str | None
    service_reference: str | None
    service_reference_variant: str | None
    alert_code: str | None
    gbcs: bytes | None
    gbcs_holder: str | None
    gbcs_error: str | None
    fields: tuple[tuple[str, str], ...]

    @property
    def signed(self) -> bool:
        return self.root.find(f"{DSIG}Signature") is not None


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str)]


def _leaves(el: etree._Element, prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for child in _elements(el):
        path = f"{prefix}{_local(child)}"
        kids = _elements(child)
        if kids:
            out.extend(_leaves(child, f"{path}/"))
        elif child.text is not None and child.text.strip():
            out.append((path, child.text.strip()))
    return out


def _gbcs_of(body: etree._Element) -> tuple[etree._Element | None, str | None]:
    direct = sr_child(body, "GBCSPayload")
    if direct is not None:
        return direct, "GBCSPayload"
    for holder in _GBCS_HOLDERS:
        h = sr_child(body, holder)
        if h is not None:
            return sr_child(h, "GBCSPayload"), holder
    return None, None


def _b64(el: etree._Element) -> tuple[bytes | None, str | None]:
    text = "".join((el.text or "").split())
    if not text:
        return None, "GBCSPayload is empty"
    try:
        return base64.b64decode(text, validate=True), None
    except (binascii.Error, ValueError):
        return None, "GBCSPayload is not base64"


def read_response(root: etree._Element) -> DuisResponse:
    """Type a parsed DUIS response or alert (structure only: the signature is checked by
    ``althan.duis.xmldsig.verify``). Raises NotADuisResponse."""
    if not isinstance(root.tag, str) or etree.QName(root).namespace != SR_NS:
        raise NotADuisResponse(f"root element {root.tag!r} is not in the DUIS namespace")
    name = _local(root)
    if name == "Request":
        raise NotADuisResponse("a DUIS request, not a response or alert")
    if name != "Response":
        raise NotADuisResponse(f"root element sr:{name} is not sr:Response")
    header = sr_child(root, "Header")
    body_el = sr_child(root, "Body")
    if header is None or body_el is None:
        raise NotADuisResponse("sr:Response without sr:Header and sr:Body")
    code = sr_text(header, "ResponseCode")
    if not code:
        raise NotADuisResponse("sr:Header has no ResponseCode")
    bodies = _elements(body_el)
    if len(bodies) != 1 or _local(bodies[0]) not in _BODIES:
        found = ", ".join(_local(b) for b in bodies) or "nothing"
        raise NotADuisResponse(f"sr:Body holds {found}, not one DUIS response or alert")
    body = bodies[0]
    kind = _BODIES[_local(body)]
    rid_text = sr_text(header, "ResponseID")
    rid = ResponseId.parse_or_none(rid_text)
    gbcs: bytes | None = None
    error: str | None = None
    holder: str | None = None
    if kind is not BodyKind.DCC_ALERT:
        gbcs_el, holder = _gbcs_of(body)
        if gbcs_el is not None:
            gbcs, error = _b64(gbcs_el)
        elif holder is not None:
            error = f"sr:{holder} has no GBCSPayload"
    alert_code = sr_text(body, "DCCAlertCode") or sr_text(body, "AlertCode")
    return DuisResponse(
        root=root,
        kind=kind,
        response_code=code,
        request_id=sr_text(header, "RequestID"),
        response_id=rid,
        response_id_text=rid_text,
        response_date_time=sr_text(header, "ResponseDateTime"),
        service_reference=sr_text(body, "ServiceReference"),
        service_reference_variant=sr_text(body, "ServiceReferenceVariant"),
        alert_code=alert_code,
        gbcs=gbcs,
        gbcs_holder=holder,
        gbcs_error=error,
        fields=tuple(_leaves(body)),
    )
