"""A small SMKI repository over HTTP with DCC Boxed's two look-ups, for the client's tests.

It serves the device certificates of a keystore folder (``<eui>-ds.pem`` / ``<eui>-ka.pem``) as
DCC Boxed does (the answers of ``@smartdcc/dccboxed-keystore``'s tests): 200
``application/xml`` with ``<CertificateSearchResponse><Result>…`` or
``<CertificateDataResponse><CertificateResponse>…``, 402 when nothing matches, 401 when the
request is not a look-up. Every request is recorded (path, query, body) so that tests can hold
the client's requests against DCC Boxed's shape. It binds port 0.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

_FILE = re.compile(r"^([0-9a-fA-F]{16})-(ds|ka)\.pem$")


@dataclass
class Repository:
    certs: dict[int, tuple[str, str, x509.Certificate]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, list[str]], bytes]] = field(default_factory=list)

    @classmethod
    def of_folder(cls, folder: Path, only: set[str] | None = None) -> Repository:
        repo = cls()
        for p in sorted(folder.iterdir()):
            m = _FILE.match(p.name)
            if not m or (only is not None and m.group(1).lower() not in only):
                continue
            cert = x509.load_pem_x509_certificate(p.read_bytes())
            h = m.group(1).upper()
            eui = "-".join(h[i : i + 2] for i in range(0, 16, 2))
            repo.certs[cert.serial_number] = (eui, m.group(2).upper(), cert)
        return repo


def _answer(root: etree._Element) -> bytes:
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out


def _sub(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = text


def _handler(repo: Repository) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", ctype: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            repo.requests.append((url.path, parse_qs(url.query), body))
            try:
                req = etree.fromstring(body)
            except etree.XMLSyntaxError:
                return self._send(401)
            if url.path == "/services/certificatesearch" and req.tag == "CertificateSearchRequest":
                eui = (req.findtext("CertificateSubjectAltName") or "").strip().upper()
                found = [(s, u) for s, (e, u, _c) in sorted(repo.certs.items()) if e == eui]
                if not found:
                    return self._send(402)
                root = etree.Element("CertificateSearchResponse")
                _sub(root, "ResponseCode", "200")
                for serial, usage in found:
                    r = etree.SubElement(root, "Result")
                    _sub(r, "CertificateSerial", f"{serial:X}")
                    _sub(r, "CertificateSubjectAltName", eui)
                    _sub(r, "CertificateStatus", "I")
                    _sub(r, "CertificateUsage", usage)
                return self._send(200, _answer(root), "application/xml; charset=utf-8")
            if url.path == "/services/retrievecertificate" and req.tag == "CertificateDataRequest":
                try:
                    serial = int(req.findtext("CertificateSerial") or "", 16)
                except ValueError:
                    return self._send(401)
                if serial not in repo.certs:
                    return self._send(402)
                eui, usage, cert = repo.certs[serial]
                root = etree.Element("CertificateDataResponse")
                r = etree.SubElement(root, "CertificateResponse")
                _sub(r, "CertificateSubjectAltName", eui)
                _sub(r, "CertificateSerial", f"{serial:X}")
                _sub(r, "CertificateStatus", "I")
                der = cert.public_bytes(serialization.Encoding.DER)
                _sub(r, "CertificateBody", base64.b64encode(der).decode())
                _sub(r, "CertificateUsage", usage)
                return self._send(200, _answer(root), "application/xml; charset=utf-8")
            return self._send(401)

    return Handler


@contextmanager
def serving(repo: Repository) -> Iterator[str]:
    """The repository on a free local port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(repo))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        t.join()
