"""DUIS envelopes: typed parse of a request header, builders of the DSP's outgoing documents.

Documents built here are unsigned; the caller signs them (`althan.duis.xmldsig.sign`) with
the DSP key. Shapes follow the DUIS schema and the DCC Boxed samples:

* response to a request (`build_response`): Header RequestID [ResponseID] ResponseCode
  ResponseDateTime, Body/ResponseMessage ServiceReference ServiceReferenceVariant [payload].
  Non-device (DSP) responses carry no ResponseID; device responses carry
  `<device>:<user>:<counter>` (the RequestID reversed);
* acknowledgement (`build_acknowledgement`): RequestID, `I99` (or an error code),
  ResponseMessage with only ServiceReference and ServiceReferenceVariant;
* DCC alert (`build_dcc_alert`): ResponseID `<DCC>:<user>:<counter>`, optional RequestID,
  Body/DCCAlertMessage DCCAlertCode DCCAlert/<one alert element>;
* device alert (`build_device_alert`): ResponseID `<device>:<user>:<counter>`,
  Body/DeviceAlertMessage AlertCode (hex) GBCSPayload (base64).

ResponseDateTime is written in UTC with milliseconds, as the samples show
(`2022-08-17T15:45:42.790Z`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

from lxml import etree

from althan.duis.namespaces import RA_NS, SR, SR_NS
from althan.duis.xmlsafe import DEFAULT_MAX_BYTES, parse_xml
from althan.model import DCC_EUI, EUI64

__all__ = [
    "DEFAULT_SCHEMA_VERSION",
    "SR_NS",
    "WARNING_LISTS",
    "EnvelopeError",
    "InvalidField",
    "InvalidId",
    "MissingElement",
    "NotARequest",
    "RequestEnvelope",
    "RequestId",
    "ResponseId",
    "build_acknowledgement",
    "build_dcc_alert",
    "build_device_alert",
    "build_response",
    "format_datetime",
    "is_srv_number",
    "parse_request",
]

_SR = SR
_NSMAP = {"sr": SR_NS, "ra": RA_NS}
DEFAULT_SCHEMA_VERSION = "5.1"
WARNING_LISTS = (
    "InvalidDeviceIDList",
    "NotCommissionedDeviceIDList",
    "NotApplicableFirmwareDeviceIDList",
    "OtherRequestInProgressList",
    "InvalidGBCSVersionList",
)
"""The device lists of an 11.4 acknowledgement that is W110401, in the schema's order."""

_EUI = r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}"
_ID_RE = re.compile(rf"({_EUI}):({_EUI}):(0|[1-9][0-9]{{0,19}})")
_MAX_COUNTER = (1 << 64) - 1
_SRV_RE = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,2}){1,2}")
_VERSION_RE = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_ALERT_CODE_RE = re.compile(r"(?:N[0-9]{1,3}|AD1)")
_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def is_srv_number(text: str) -> bool:
    """A ServiceReference / ServiceReferenceVariant such as ``11.4`` or ``8.7.2``."""
    return _SRV_RE.fullmatch(text) is not None


class EnvelopeError(ValueError):
    """Base class of envelope errors (parse or build)."""


class NotARequest(EnvelopeError):
    """The root element is not `sr:Request`."""


class MissingElement(EnvelopeError):
    """A mandatory header/body element is absent."""


class InvalidId(EnvelopeError):
    """A RequestID / ResponseID is not `EUI:EUI:counter`."""


class InvalidField(EnvelopeError):
    """A header field or builder argument has a value outside its format."""


@dataclass(frozen=True, slots=True, order=True)
class RequestId:
    """DUIS RequestID: `originator:target:counter` (EUI-64s hyphenated, decimal counter)."""

    originator: EUI64
    target: EUI64
    counter: int

    def __post_init__(self) -> None:
        if not 0 <= self.counter <= _MAX_COUNTER:
            raise InvalidId(f"counter {self.counter} outside 0..2^64-1")

    @classmethod
    def parse(cls, text: str) -> Self:
        t = text.strip() if isinstance(text, str) else text
        if not isinstance(t, str):
            raise InvalidId(f"expected text, got {type(text).__name__}")
        m = _ID_RE.fullmatch(t)
        if m is None:
            raise InvalidId(f"{text[:80]!r} is not EUI:EUI:counter")
        counter = int(m.group(3))
        if counter > _MAX_COUNTER:
            raise InvalidId(f"counter {counter} outside 0..2^64-1")
        return cls(EUI64.parse(m.group(1)), EUI64.parse(m.group(2)), counter)

    @classmethod
    def parse_or_none(cls, text: str | None) -> Self | None:
        """The ID `text` spells; None if there is no text or it is not `EUI:EUI:counter`."""
        if text is None:
            return None
        try:
            return cls.parse(text)
        except InvalidId:
            return None

    def __str__(self) -> str:
        return f"{self.originator}:{self.target}:{self.counter}"

    def reversed(self) -> ResponseId:
        """The ResponseID of a device response to this request: `target:originator:counter`."""
        return ResponseId(self.target, self.originator, self.counter)


@dataclass(frozen=True, slots=True, order=True)
class ResponseId(RequestId):
    """DUIS ResponseID: same format as a RequestID."""


@dataclass(frozen=True, slots=True)
class RequestEnvelope:
    """The header of a DUIS request and its single body element."""

    request_id: RequestId
    command_variant: int
    service_reference: str
    service_reference_variant: str
    schema_version: str
    body: etree._Element
    body_name: str
    first_in_sequence: bool | None = None
    preceding_request_id: RequestId | None = None


def _text(el: etree._Element, what: str) -> str:
    t = el.text
    if t is None or not t.strip():
        raise InvalidField(f"line {el.sourceline}: {what} is empty")
    return t.strip()


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str)]


def parse_request(
    doc: etree._Element | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> RequestEnvelope:
    """Read the header and body of an `sr:Request` (structure only: schema validation is the
    schema module's job). Raises `EnvelopeError` subclasses (and `XmlError` for bytes)."""
    root = parse_xml(doc, max_bytes=max_bytes) if isinstance(doc, bytes) else doc
    if root.tag != f"{_SR}Request":
        raise NotARequest(f"root element is {root.tag!r}, expected sr:Request")
    kids = _elements(root)
    header = next((k for k in kids if k.tag == f"{_SR}Header"), None)
    if header is None:
        raise MissingElement("sr:Request has no sr:Header")
    body_el = next((k for k in kids if k.tag == f"{_SR}Body"), None)
    if body_el is None:
        raise MissingElement(f"line {root.sourceline}: sr:Request has no sr:Body")

    fields: dict[str, etree._Element] = {}
    for k in _elements(header):
        if not isinstance(k.tag, str) or not k.tag.startswith(_SR):
            raise InvalidField(f"line {k.sourceline}: unexpected {k.tag!r} in sr:Header")
        name = k.tag[len(_SR) :]
        if name in fields:
            raise InvalidField(f"line {k.sourceline}: duplicate sr:{name} in sr:Header")
        fields[name] = k

    def need(name: str) -> str:
        el = fields.get(name)
        if el is None:
            raise MissingElement(f"line {header.sourceline}: sr:Header has no sr:{name}")
        return _text(el, f"sr:{name}")

    rid_text = need("RequestID")
    try:
        request_id = RequestId.parse(rid_text)
    except InvalidId as exc:
        raise InvalidId(f"line {fields['RequestID'].sourceline}: RequestID {exc}") from None
    cv_text = need("CommandVariant")
    if not re.fullmatch(r"[0-9]{1,2}", cv_text):
        raise InvalidField(f"CommandVariant {cv_text[:20]!r} is not a small integer")
    srv = need("ServiceReference")
    srv_variant = need("ServiceReferenceVariant")
    for what, value in (("ServiceReference", srv), ("ServiceReferenceVariant", srv_variant)):
        if not _SRV_RE.fullmatch(value):
            raise InvalidField(f"{what} {value[:20]!r} is not an SRV number")

    first: bool | None = None
    if "FirstInSequence" in fields:
        f = _text(fields["FirstInSequence"], "sr:FirstInSequence")
        if f not in ("true", "false", "1", "0"):
            raise InvalidField(f"FirstInSequence {f[:20]!r} is not a boolean")
        first = f in ("true", "1")
    preceding: RequestId | None = None
    if "PrecedingServiceRequestID" in fields:
        preceding = RequestId.parse(
            _text(fields["PrecedingServiceRequestID"], "sr:PrecedingServiceRequestID")
        )

    version = (root.get("schemaVersion") or "").strip()
    if not _VERSION_RE.fullmatch(version):
        raise InvalidField(f"schemaVersion {version[:20]!r} is not a version number")

    body_kids = _elements(body_el)
    if len(body_kids) != 1:
        raise InvalidField(
            f"line {body_el.sourceline}: sr:Body holds {len(body_kids)} elements, expected 1"
        )
    body = body_kids[0]
    return RequestEnvelope(
        request_id=request_id,
        command_variant=int(cv_text),
        service_reference=srv,
        service_reference_variant=srv_variant,
        schema_version=version,
        body=body,
        body_name=etree.QName(body).localname,
        first_in_sequence=first,
        preceding_request_id=preceding,
    )


# ----------------------------------------------------------------------------- builders


def format_datetime(when: datetime) -> str:
    """`2022-08-17T15:45:42.790Z` (UTC, milliseconds); `when` must be timezone-aware."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidField("ResponseDateTime needs a timezone-aware datetime")
    u = when.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}."
        f"{u.microsecond // 1000:03d}Z"
    )


def _check_version(v: str) -> str:
    if not _VERSION_RE.fullmatch(v):
        raise InvalidField(f"schema version {v!r} is not a version number")
    return v


def _check_srv(what: str, v: str) -> str:
    if not _SRV_RE.fullmatch(v):
        raise InvalidField(f"{what} {v!r} is not an SRV number")
    return v


def _response_root(
    schema_version: str,
    request_id: RequestId | None,
    response_id: RequestId | None,
    response_code: str,
    when: datetime,
) -> tuple[etree._Element, etree._Element]:
    if not re.fullmatch(r"[IEW][0-9]{1,6}", response_code):
        raise InvalidField(f"response code {response_code!r} is not a DUIS response code")
    root = etree.Element(f"{_SR}Response", nsmap=_NSMAP)
    root.set("schemaVersion", _check_version(schema_version))
    header = etree.SubElement(root, f"{_SR}Header")
    if request_id is not None:
        etree.SubElement(header, f"{_SR}RequestID").text = str(request_id)
    if response_id is not None:
        etree.SubElement(header, f"{_SR}ResponseID").text = str(response_id)
    etree.SubElement(header, f"{_SR}ResponseCode").text = response_code
    etree.SubElement(header, f"{_SR}ResponseDateTime").text = format_datetime(when)
    body = etree.SubElement(root, f"{_SR}Body")
    return root, body


def build_response(
    request_id: RequestId | None,
    response_id: RequestId | None,
    response_code: str,
    when: datetime,
    *,
    service_reference: str,
    service_reference_variant: str,
    body_children: Iterable[etree._Element] | None = None,
    schema_version: str = DEFAULT_SCHEMA_VERSION,
) -> etree._Element:
    """sr:Response with sr:ResponseMessage (children appended after the SRV, e.g. an
    `sr:GBCSPayload` or `sr:DSPInventory`). Unsigned."""
    root, body = _response_root(schema_version, request_id, response_id, response_code, when)
    msg = etree.SubElement(body, f"{_SR}ResponseMessage")
    etree.SubElement(msg, f"{_SR}ServiceReference").text = _check_srv(
        "ServiceReference", service_reference
    )
    etree.SubElement(msg, f"{_SR}ServiceReferenceVariant").text = _check_srv(
        "ServiceReferenceVariant", service_reference_variant
    )
    for child in body_children or ():
        msg.append(child)
    return root


def build_acknowledgement(
    request_id: RequestId,
    when: datetime,
    *,
    service_reference: str,
    service_reference_variant: str,
    response_code: str = "I99",
    schema_version: str = DEFAULT_SCHEMA_VERSION,
) -> etree._Element:
    """The synchronous acknowledgement of a device request (`I99`), or a synchronous error
    response with the same shape (e.g. `E65`)."""
    return build_response(
        request_id,
        None,
        response_code,
        when,
        service_reference=service_reference,
        service_reference_variant=service_reference_variant,
        schema_version=schema_version,
    )


def build_dcc_alert(
    alert_code: str,
    when: datetime,
    body: etree._Element,
    *,
    recipient: EUI64,
    counter: int,
    originator: EUI64 = DCC_EUI,
    request_id: RequestId | None = None,
    response_code: str = "I0",
    schema_version: str = DEFAULT_SCHEMA_VERSION,
) -> etree._Element:
    """A DCC alert (e.g. N39 with `sr:PPMIDAlert`): `body` is the one element inside
    `sr:DCCAlert`. ResponseID is `<originator (DCC)>:<recipient>:<counter>`."""
    if not _ALERT_CODE_RE.fullmatch(alert_code):
        raise InvalidField(f"DCC alert code {alert_code!r} is not N<n> / AD1")
    if not isinstance(body.tag, str) or not body.tag.startswith(_SR):
        raise InvalidField(f"DCC alert body must be an sr: element, got {body.tag!r}")
    response_id = ResponseId(originator, recipient, counter)
    root, b = _response_root(schema_version, request_id, response_id, response_code, when)
    msg = etree.SubElement(b, f"{_SR}DCCAlertMessage")
    etree.SubElement(msg, f"{_SR}DCCAlertCode").text = alert_code
    alert = etree.SubElement(msg, f"{_SR}DCCAlert")
    alert.append(body)
    return root


def build_device_alert(
    alert_code: str,
    when: datetime,
    gbcs_payload: bytes,
    *,
    device: EUI64,
    recipient: EUI64,
    counter: int,
    request_id: RequestId | None = None,
    response_code: str = "I0",
    schema_version: str = DEFAULT_SCHEMA_VERSION,
) -> etree._Element:
    """A device alert (e.g. 8F8B) relayed to a user: ResponseID `<device>:<user>:<counter>`,
    AlertCode in hex, the GBCS alert in base64."""
    if not _HEX_RE.fullmatch(alert_code):
        raise InvalidField(f"device alert code {alert_code!r} is not hex")
    if not gbcs_payload:
        raise InvalidField("device alert needs a GBCS payload")
    response_id = ResponseId(device, recipient, counter)
    root, b = _response_root(schema_version, request_id, response_id, response_code, when)
    msg = etree.SubElement(b, f"{_SR}DeviceAlertMessage")
    etree.SubElement(msg, f"{_SR}AlertCode").text = alert_code.upper()
    etree.SubElement(msg, f"{_SR}GBCSPayload").text = base64.b64encode(gbcs_payload).decode()
    return root
