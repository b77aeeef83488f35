"""The DSP's DUIS edge: safe parsing, signature check, schema check, envelope; signed answers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from althan.dsp import catalogue as C
from althan.duis import envelope
from althan.duis.envelope import RequestId
from althan.duis.namespaces import SR
from althan.duis.schema import SchemaInvalid, SchemaSet
from althan.duis.srv import SrvInfo, SrvMatrix
from althan.duis.xmldsig import (
    OriginatorMismatch,
    SignatureError,
    SignatureMissing,
    TrustStore,
    UnknownCertificate,
    sign,
    verify,
)
from althan.duis.xmlsafe import XmlError, XmlTooLarge, parse_xml
from althan.model import DCC_EUI, EUI64

TrustSource = Callable[[], Iterable[tuple[EUI64, x509.Certificate]]]
"""The XML-signing certificates of the registered users (read from the store)."""


class DuisRejected(Exception):
    """Refused before the request reached the rules (the store is not touched)."""

    def __init__(
        self,
        code: C.Code,
        detail: str,
        *,
        request_id: RequestId | None = None,
        srv: SrvInfo | None = None,
    ) -> None:
        super().__init__(f"{code.code}: {detail}")
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.srv = srv
        """The SRV the refused request names, when it names one DUIS knows: a DUIS response
        (whose ResponseMessage must carry a valid ServiceReference) can answer it."""


SCHEMA_RULE_CODES: dict[tuple[str, str], C.Code] = {
    ("UpdatePPMIDFirmware/FirmwareImage", "maxLength"): C.E110402,
}
"""Schema restrictions that are also an SRV's own rule, answered with the SRV's code (a
supplier learns which rule it broke) instead of E19: (element path ending, facet) -> code."""


def _schema_code(exc: SchemaInvalid) -> C.Code:
    for (tail, facet), code in SCHEMA_RULE_CODES.items():
        if exc.facet == facet and exc.path.endswith(tail):
            return code
    return C.E19


@dataclass(frozen=True, slots=True)
class Request:
    """An authenticated, schema-valid DUIS request."""

    request_id: RequestId
    signer: EUI64 | None
    command_variant: int
    service_reference: str
    service_reference_variant: str
    schema_version: str
    body: etree._Element

    @property
    def originator(self) -> EUI64:
        return self.request_id.originator

    @property
    def target(self) -> EUI64:
        return self.request_id.target

    @property
    def counter(self) -> int:
        return self.request_id.counter


def _request_id(text: str | None) -> RequestId | None:
    """`text` as a RequestID; None when there is none, or it is malformed."""
    if text is None:
        return None
    try:
        return RequestId.parse(text)
    except ValueError:
        return None


def _header_guess(root: etree._Element, srvs: SrvMatrix) -> tuple[RequestId | None, SrvInfo | None]:
    """RequestID and SRV of a request we are refusing, if it names ones that exist."""

    def t(name: str) -> str | None:
        e = root.find(f"{SR}Header/{SR}{name}")
        return e.text.strip() if e is not None and e.text else None

    info = srvs.get(t("ServiceReferenceVariant") or "")
    if info is not None and info.reference != t("ServiceReference"):
        info = None
    return _request_id(t("RequestID")), info


@dataclass(slots=True, eq=False)
class DuisIO:
    schemas: SchemaSet
    srvs: SrvMatrix
    trust: TrustStore
    key: ec.EllipticCurvePrivateKey
    """The DSP's XML-signing key."""
    cert: x509.Certificate
    """The DSP's XML-signing certificate."""
    _: KW_ONLY
    dcc_eui: EUI64 = DCC_EUI
    max_bytes: int = 14_000_000
    trust_source: TrustSource | None = None

    def accept(self, data: bytes) -> Request:
        try:
            root = parse_xml(data, max_bytes=self.max_bytes)
        except XmlTooLarge as exc:
            raise DuisRejected(C.E100, str(exc)) from exc
        except XmlError as exc:
            raise DuisRejected(C.E19, str(exc)) from exc

        def refused(code: C.Code, exc: Exception) -> DuisRejected:
            rid, srv = _header_guess(root, self.srvs)  # read only for a refusal
            return DuisRejected(code, str(exc), request_id=rid, srv=srv)

        # schema first, as the DCC Boxed tool does: a schema-invalid request is E19 however
        # it is signed
        try:
            self.schemas.validate(root)
        except SchemaInvalid as exc:
            raise refused(_schema_code(exc), exc) from exc
        try:
            try:
                verified = verify(root, self.trust, dcc_eui=self.dcc_eui)
            except UnknownCertificate:
                if not self.learn_certificates():
                    raise
                verified = verify(root, self.trust, dcc_eui=self.dcc_eui)
        except UnknownCertificate as exc:
            raise refused(C.E2, exc) from exc
        except OriginatorMismatch as exc:
            raise refused(C.E4, exc) from exc
        except (SignatureMissing, SignatureError, XmlError) as exc:
            raise refused(C.E1, exc) from exc
        try:
            env = envelope.parse_request(verified.root)
        except ValueError as exc:
            raise refused(C.E4, exc) from exc
        return Request(
            request_id=env.request_id,
            signer=verified.signer_eui,
            command_variant=env.command_variant,
            service_reference=env.service_reference,
            service_reference_variant=env.service_reference_variant,
            schema_version=env.schema_version,
            body=env.body,
        )

    def learn_certificates(self) -> int:
        """Trust the certificates users registered since (`trust_source`); how many are new.
        A user added, or given a new certificate, while the gateway runs is trusted at once."""
        if self.trust_source is None:
            return 0
        n = 0
        for eui, cert in self.trust_source():
            if self.trust.by_issuer_serial(cert.issuer.rfc4514_string(), cert.serial_number):
                continue
            self.trust.add(eui, cert)
            n += 1
        return n

    def response(
        self,
        *,
        request_id: RequestId | None,
        response_id: RequestId | None,
        code: str,
        when: datetime,
        service_reference: str,
        service_reference_variant: str,
        payload: etree._Element | None = None,
        schema_version: str = "5.1",
    ) -> bytes:
        doc = envelope.build_response(
            request_id=request_id,
            response_id=response_id,
            response_code=code,
            when=when,
            service_reference=service_reference,
            service_reference_variant=service_reference_variant,
            body_children=[payload] if payload is not None else None,
            schema_version=schema_version,
        )
        return sign(doc, self.key, self.cert, in_place=True)

    def sign_document(self, root: etree._Element) -> bytes:
        """Any XML document, signed by the DSP as its DUIS messages are (enveloped XMLDSig,
        the DCC Boxed profile): what the DCC sends that DUIS has no message for."""
        return sign(root, self.key, self.cert)

    def dcc_alert(
        self, *, user: EUI64, counter: int, code: str, when: datetime, body: etree._Element
    ) -> bytes:
        doc = envelope.build_dcc_alert(
            alert_code=code,
            when=when,
            body=body,
            recipient=user,
            counter=counter,
            originator=self.dcc_eui,
        )
        return sign(doc, self.key, self.cert, in_place=True)
