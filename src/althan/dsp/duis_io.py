"""The DSP's DUIS edge: safe parsing, signature check, schema check, envelope; signed answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from althan.duis import envelope
from althan.duis.schema import SchemaInvalid, SchemaSet
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

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"


class DuisRejected(Exception):
    """Refused before the request reached the rules (the store is not touched)."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        request_id: str | None = None,
        service_reference: str = "0.0",
        service_reference_variant: str = "0.0",
        malformed: bool = False,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.service_reference = service_reference
        self.service_reference_variant = service_reference_variant
        self.malformed = malformed


@dataclass(frozen=True, slots=True)
class Request:
    """An authenticated, schema-valid DUIS request."""

    request_id_text: str
    originator: EUI64
    target: EUI64
    counter: int
    signer: EUI64 | None
    command_variant: int
    service_reference: str
    service_reference_variant: str
    schema_version: str
    body: etree._Element


def _header_guess(root: etree._Element) -> tuple[str | None, str, str]:
    """RequestID and service reference of a request we are refusing, if it has them."""

    def t(name: str) -> str | None:
        e = root.find(f"{{{SR}}}Header/{{{SR}}}{name}")
        return e.text.strip() if e is not None and e.text else None

    sr = t("ServiceReference")
    srv = t("ServiceReferenceVariant")
    ok = all(x is not None and envelope._SRV_RE.fullmatch(x) for x in (sr, srv))
    rid = t("RequestID")
    try:
        if rid is not None:
            envelope.RequestId.parse(rid)
    except ValueError:
        rid = None
    return rid, (sr if ok and sr else "0.0"), (srv if ok and srv else "0.0")


class DuisIO:
    def __init__(
        self,
        schemas: SchemaSet,
        trust: TrustStore,
        dsp_key: ec.EllipticCurvePrivateKey,
        dsp_cert: x509.Certificate,
        *,
        dcc_eui: EUI64 = DCC_EUI,
        max_bytes: int = 14_000_000,
    ) -> None:
        self.schemas = schemas
        self.trust = trust
        self.key = dsp_key
        self.cert = dsp_cert
        self.dcc_eui = dcc_eui
        self.max_bytes = max_bytes

    def accept(self, data: bytes) -> Request:
        try:
            root = parse_xml(data, max_bytes=self.max_bytes)
        except XmlTooLarge as exc:
            raise DuisRejected("E100", str(exc), malformed=True) from exc
        except XmlError as exc:
            raise DuisRejected("E19", str(exc), malformed=True) from exc
        rid, sr, srv = _header_guess(root)
        # schema first, as the DCC Boxed tool does: a schema-invalid request is E19 however
        # it is signed
        try:
            self.schemas.validate(root)
        except SchemaInvalid as exc:
            raise DuisRejected(
                "E19", str(exc), request_id=rid, service_reference=sr, service_reference_variant=srv
            ) from exc
        try:
            verified = verify(root, self.trust, dcc_eui=self.dcc_eui)
        except SignatureMissing as exc:
            raise DuisRejected(
                "E1", str(exc), request_id=rid, service_reference=sr, service_reference_variant=srv
            ) from exc
        except (UnknownCertificate, OriginatorMismatch) as exc:
            code = "E2" if isinstance(exc, UnknownCertificate) else "E4"
            raise DuisRejected(
                code, str(exc), request_id=rid, service_reference=sr, service_reference_variant=srv
            ) from exc
        except (SignatureError, XmlError) as exc:
            raise DuisRejected(
                "E1", str(exc), request_id=rid, service_reference=sr, service_reference_variant=srv
            ) from exc
        try:
            env = envelope.parse_request(verified.root)
        except ValueError as exc:
            raise DuisRejected(
                "E4", str(exc), request_id=rid, service_reference=sr, service_reference_variant=srv
            ) from exc
        return Request(
            request_id_text=str(env.request_id),
            originator=env.request_id.originator,
            target=env.request_id.target,
            counter=env.request_id.counter,
            signer=verified.signer_eui,
            command_variant=env.command_variant,
            service_reference=env.service_reference,
            service_reference_variant=env.service_reference_variant,
            schema_version=env.schema_version,
            body=env.body,
        )

    def response(
        self,
        *,
        request_id: str | None,
        response_id: str | None,
        code: str,
        when: datetime,
        service_reference: str,
        service_reference_variant: str,
        payload: etree._Element | None = None,
        schema_version: str = "5.1",
    ) -> bytes:
        doc = envelope.build_response(
            request_id=envelope.RequestId.parse(request_id) if request_id else None,
            response_id=envelope.RequestId.parse(response_id) if response_id else None,
            response_code=code,
            when=when,
            service_reference=service_reference,
            service_reference_variant=service_reference_variant,
            body_children=[payload] if payload is not None else None,
            schema_version=schema_version,
        )
        return sign(doc, self.key, self.cert)

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
        return sign(doc, self.key, self.cert)
