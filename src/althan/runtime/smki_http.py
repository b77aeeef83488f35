"""The SMKI repository over HTTP, with DCC Boxed's two look-ups (default port 8083).

* ``POST /services/certificatesearch`` with ``<CertificateSearchRequest>`` naming
  ``CertificateSubjectName`` (an organisation's EUI) or ``CertificateSubjectAltName`` (a
  device's EUI): one ``<Result>`` per certificate (serial in hex, usage DS/KA, status, role);
* ``POST /services/retrievecertificate`` with ``<CertificateDataRequest><CertificateSerial>``:
  the certificate (base64 DER) and its holder.

As DCC Boxed: 402 when nothing matches, 401 when the request is not one of these, XML both
ways (the ``apikey`` query parameter DCC Boxed's clients send is accepted and not needed).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from cryptography.hazmat.primitives import serialization
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from althan.duis.xmlsafe import XmlError, parse_xml
from althan.model import EUI64
from althan.smki.repository import CertificateKind, SmkiCertificate, SmkiRepository

XML = "application/xml"
MAX_BODY = 64 * 1024


def _xml(root: etree._Element) -> Response:
    return Response(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), 200, None, XML)


def _child(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = text


async def _request(request: Request, root_tag: str) -> etree._Element | None:
    body = await request.body()
    if len(body) > MAX_BODY:
        return None
    try:
        root = parse_xml(body, max_bytes=MAX_BODY)
    except XmlError:
        return None
    return root if root.tag == root_tag else None


def _eui(root: etree._Element, tag: str) -> EUI64 | None:
    text = root.findtext(tag)
    if text is None:
        return None
    try:
        return EUI64.parse(text)
    except ValueError:
        return None


def _holder(c: SmkiCertificate) -> tuple[str, str]:
    tag = (
        "CertificateSubjectName"
        if c.kind is CertificateKind.ORGANISATION
        else "CertificateSubjectAltName"
    )
    return tag, str(c.eui)


def search_results(found: Iterable[SmkiCertificate]) -> etree._Element:
    root = etree.Element("CertificateSearchResponse")
    for c in found:
        r = etree.SubElement(root, "Result")
        _child(r, "CertificateSerial", f"{c.serial:X}")
        _child(r, "CertificateUsage", c.usage)
        _child(r, "CertificateStatus", c.status)
        if c.role is not None:
            _child(r, "CertificateRole", str(c.role))
        _child(r, *_holder(c))
    return root


def create_smki_app(repo: SmkiRepository) -> Starlette:
    """The SMKI look-ups over `repo`."""

    async def certificate_search(request: Request) -> Response:
        root = await _request(request, "CertificateSearchRequest")
        if root is None:
            return Response(b"not a CertificateSearchRequest", 401)
        org, device = _eui(root, "CertificateSubjectName"), _eui(root, "CertificateSubjectAltName")
        if org is not None and device is None:
            found = repo.organisation(org)
        elif device is not None and org is None:
            found = repo.device(device)
        else:
            return Response(b"name one CertificateSubjectName or CertificateSubjectAltName", 401)
        if not found:
            return Response(b"no certificate", 402)
        return _xml(search_results(found))

    async def retrieve_certificate(request: Request) -> Response:
        root = await _request(request, "CertificateDataRequest")
        serial_text = root.findtext("CertificateSerial") if root is not None else None
        try:
            serial = int((serial_text or "").strip(), 16)
        except ValueError:
            return Response(b"not a CertificateDataRequest with a hex CertificateSerial", 401)
        c = repo.by_serial(serial)
        if c is None:
            return Response(b"no certificate", 402)
        out = etree.Element("CertificateDataResponse")
        r = etree.SubElement(out, "CertificateResponse")
        der = c.cert.public_bytes(serialization.Encoding.DER)
        _child(r, "CertificateBody", base64.b64encode(der).decode())
        _child(r, "CertificateSerial", f"{c.serial:X}")
        _child(r, "CertificateUsage", c.usage)
        _child(r, *_holder(c))
        return _xml(out)

    return Starlette(
        routes=[
            Route("/services/certificatesearch", certificate_search, methods=["POST"]),
            Route("/services/retrievecertificate", retrieve_certificate, methods=["POST"]),
        ]
    )
