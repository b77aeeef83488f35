"""A client of the SMKI repository's HTTP look-ups, in DCC Boxed's API shape.

DCC Boxed (and ``althan serve``, port 8083) answer two POSTs, XML both ways (the shape of
``@smartdcc/dccboxed-keystore``'s ``certificateSearch.ts``)::

    POST <base>/services/certificatesearch?apikey=…
      <CertificateSearchRequest><CertificateSubjectAltName>00-DB-12-34-56-78-90-A4
      </CertificateSubjectAltName></CertificateSearchRequest>     (a device; an organisation
                                                  names CertificateSubjectName instead)
    -> 200 <CertificateSearchResponse><Result><CertificateSerial>hex</CertificateSerial>
           <CertificateUsage>DS|KA</CertificateUsage><CertificateStatus>I</CertificateStatus>
           [<CertificateRole>n</CertificateRole>] …</Result>…</CertificateSearchResponse>

    POST <base>/services/retrievecertificate?apikey=…
      <CertificateDataRequest><CertificateSerial>hex</CertificateSerial></CertificateDataRequest>
    -> 200 <CertificateDataResponse><CertificateResponse><CertificateBody>base64 DER
           </CertificateBody>…</CertificateResponse></CertificateDataResponse>

402 means "no such certificate", 401 "not a valid look-up". Certificates are used only when
their status is ``I`` (in use), as DCC Boxed's own key store does. A base URL without a scheme
gets ``http://``; a bare host name gets ``:8083`` as well.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

import httpx
from cryptography import x509
from lxml import etree

from althan.duis.xmlsafe import XmlError, parse_xml
from althan.model import EUI64

__all__ = [
    "BOXED_APIKEY",
    "DEFAULT_PORT",
    "STATUS_IN_USE",
    "SearchResult",
    "SmkiClient",
    "SmkiError",
    "smki_base_url",
]

DEFAULT_PORT = 8083
BOXED_APIKEY = "u3bg9gt38htd0j2"
"""The fixed ``apikey`` query parameter DCC Boxed's published clients send with every look-up
(public, in ``@smartdcc/dccboxed-keystore``); althan's service accepts and ignores it."""
STATUS_IN_USE = "I"
_MAX_ANSWER = 2_000_000


class SmkiError(Exception):
    """The SMKI service did not answer a look-up (unreachable, refused, or not DCC Boxed's
    format)."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One ``<Result>`` of a certificate search."""

    serial: int
    usage: str
    status: str
    role: int | None
    holder: str | None


def smki_base_url(url_like: str) -> str:
    """``host`` -> ``http://host:8083/``; ``host:port`` -> ``http://host:port/``; a URL stays."""
    u = url_like.strip()
    if not u:
        raise SmkiError("empty SMKI service address")
    if ":" not in u:
        u = f"http://{u}:{DEFAULT_PORT}"
    elif "://" not in u:
        u = f"http://{u}"
    return u.rstrip("/") + "/"


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _text(parent: etree._Element, name: str) -> str | None:
    for child in parent:
        if _local(child) == name:
            return (child.text or "").strip()
    return None


def _children(parent: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in parent if _local(c) == name]


def _request(root_tag: str, tag: str, value: str) -> bytes:
    root = etree.Element(root_tag)
    etree.SubElement(root, tag).text = value
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return out


@dataclass
class SmkiClient:
    """Look-ups against one SMKI service; answers are cached for the client's lifetime."""

    url: str
    timeout: float = 5.0
    apikey: str | None = BOXED_APIKEY
    transport: httpx.BaseTransport | None = None
    _searches: dict[tuple[EUI64, bool], tuple[SearchResult, ...]] = field(default_factory=dict)
    _certs: dict[int, x509.Certificate | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.url = smki_base_url(self.url)

    def _post(self, service: str, body: bytes) -> etree._Element | None:
        params = {"apikey": self.apikey} if self.apikey else None
        target = f"{self.url}services/{service}"
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as http:
                r = http.post(
                    target,
                    content=body,
                    params=params,
                    headers={"content-type": "application/xml"},
                )
        except httpx.HTTPError as exc:
            raise SmkiError(f"SMKI service {self.url} unreachable: {exc}") from None
        if r.status_code == 402:
            return None
        if r.status_code == 401:
            raise SmkiError(f"SMKI service {self.url} refused the {service} look-up (401)")
        ctype = r.headers.get("content-type", "").split(";")[0].strip().lower()
        if r.status_code != 200 or ctype != "application/xml":
            raise SmkiError(
                f"SMKI service {self.url} answered {service} with HTTP {r.status_code} "
                f"({ctype or 'no content type'})"
            )
        try:
            return parse_xml(r.content, max_bytes=_MAX_ANSWER)
        except XmlError as exc:
            raise SmkiError(
                f"SMKI service {self.url}: {service} answer is not XML: {exc}"
            ) from None

    def search(self, eui: EUI64, *, device: bool = True) -> tuple[SearchResult, ...]:
        """Every certificate the repository holds for ``eui`` (a device by default, else an
        organisation)."""
        key = (eui, device)
        if key in self._searches:
            return self._searches[key]
        tag = "CertificateSubjectAltName" if device else "CertificateSubjectName"
        root = self._post("certificatesearch", _request("CertificateSearchRequest", tag, str(eui)))
        found: list[SearchResult] = []
        if root is not None:
            if _local(root) != "CertificateSearchResponse":
                raise SmkiError(f"SMKI search answered <{_local(root)}>")
            for r in _children(root, "Result"):
                serial_text = _text(r, "CertificateSerial") or ""
                try:
                    serial = int(serial_text, 16)
                except ValueError:
                    raise SmkiError(
                        f"SMKI search: serial {serial_text[:40]!r} is not hex"
                    ) from None
                role = _text(r, "CertificateRole")
                found.append(
                    SearchResult(
                        serial=serial,
                        usage=(_text(r, "CertificateUsage") or "").upper(),
                        status=_text(r, "CertificateStatus") or "",
                        role=int(role) if role and role.isdigit() else None,
                        holder=_text(r, "CertificateSubjectAltName")
                        or _text(r, "CertificateSubjectName"),
                    )
                )
        self._searches[key] = tuple(found)
        return self._searches[key]

    def retrieve(self, serial: int) -> x509.Certificate | None:
        """The certificate with this serial, or None when the repository has none."""
        if serial in self._certs:
            return self._certs[serial]
        body = _request("CertificateDataRequest", "CertificateSerial", f"{serial:X}")
        root = self._post("retrievecertificate", body)
        cert: x509.Certificate | None = None
        if root is not None:
            responses = _children(root, "CertificateResponse")
            text = _text(responses[0], "CertificateBody") if responses else None
            if text:
                try:
                    cert = x509.load_der_x509_certificate(
                        base64.b64decode("".join(text.split()), validate=True)
                    )
                except (binascii.Error, ValueError):
                    raise SmkiError(f"SMKI certificate {serial:X} is not base64 DER") from None
        self._certs[serial] = cert
        return cert

    def certificates(
        self, eui: EUI64, usage: str, *, device: bool = True
    ) -> tuple[x509.Certificate, ...]:
        """The in-use certificates of ``eui`` for ``usage`` ("ds" or "ka")."""
        out: list[x509.Certificate] = []
        for r in self.search(eui, device=device):
            if r.usage == usage.upper() and r.status == STATUS_IN_USE:
                cert = self.retrieve(r.serial)
                if cert is not None:
                    out.append(cert)
        return tuple(out)
