"""`pc parse --smki URL`: device certificates from an SMKI service with DCC Boxed's look-ups
(a small repository over real HTTP, ``smki_server``), asked for as DCC Boxed's own key store
asks (``@smartdcc/dccboxed-keystore``: request bodies, ``apikey``, hex serials, status ``I``)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from lxml import etree
from pc_world import A4
from smki_server import Repository, serving
from typer.testing import CliRunner

from althan.cli import app
from althan.model import EUI64
from althan.supplier.smki_client import BOXED_APIKEY, SmkiClient, SmkiError, smki_base_url


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["pc", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def repo(reference_dir: Path) -> Repository:
    return Repository.of_folder(reference_dir / "gbcs/keystore", only={"00db1234567890a4"})


@pytest.fixture
def smki(repo: Repository) -> Iterator[str]:
    with serving(repo) as url:
        yield url


def test_the_client_asks_as_dcc_boxed_does(
    smki: str, repo: Repository, reference_dir: Path
) -> None:
    client = SmkiClient(smki)
    [cert] = client.certificates(A4, "ds")
    want = x509.load_pem_x509_certificate(
        (reference_dir / "gbcs/keystore/00db1234567890a4-ds.pem").read_bytes()
    )
    assert cert == want
    (search_path, q1, search), (retrieve_path, q2, retrieve) = repo.requests
    assert search_path == "/services/certificatesearch"
    assert retrieve_path == "/services/retrievecertificate"
    assert q1 == q2 == {"apikey": [BOXED_APIKEY]}
    s = etree.fromstring(search)
    assert s.tag == "CertificateSearchRequest" and [c.tag for c in s] == [
        "CertificateSubjectAltName"
    ]
    assert s.findtext("CertificateSubjectAltName") == "00-DB-12-34-56-78-90-A4"
    r = etree.fromstring(retrieve)
    assert r.tag == "CertificateDataRequest"
    assert r.findtext("CertificateSerial") == f"{want.serial_number:X}"
    # answers are cached: asking again sends nothing
    assert client.certificates(A4, "ds") == (cert,) and len(repo.requests) == 2
    # a device the repository does not hold: 402, no certificate
    assert client.certificates(EUI64.parse("00-DB-12-34-56-78-90-A5"), "ds") == ()


def test_service_addresses_as_dcc_boxed_reads_them() -> None:
    assert smki_base_url("boxed") == "http://boxed:8083/"
    assert smki_base_url("127.0.0.1:9000") == "http://127.0.0.1:9000/"
    assert smki_base_url("https://smki.example/x/") == "https://smki.example/x/"


@pytest.mark.parametrize(
    ("status", "ctype", "body"),
    [
        (401, "text/plain", b"bad"),
        (404, "text/html", b"<html/>"),
        (200, "text/plain", b"<CertificateSearchResponse/>"),
        (200, "application/xml", b"not xml <"),
        (200, "application/xml", b"<SomethingElse/>"),
    ],
)
def test_answers_not_in_dcc_boxeds_shape_are_errors(status: int, ctype: str, body: bytes) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": ctype})

    client = SmkiClient("http://smki.test", transport=httpx.MockTransport(answer))
    with pytest.raises(SmkiError):
        client.search(A4)


def _doc(tmp_path: Path, data: bytes, name: str) -> str:
    f = tmp_path / name
    f.write_bytes(data)
    return str(f)


def test_pc_parse_with_smki_certificates(
    smki: str, cs08_doc: bytes, cs09_doc: bytes, tmp_path: Path
) -> None:
    alert = _doc(tmp_path, cs09_doc, "8F8B.xml")
    code, out, err = run("parse", alert, "--smki", smki, "--json")
    assert code == 0, err
    checks = {c["name"]: c["verdict"] for c in json.loads(out.splitlines()[-1])["checks"]}
    assert checks["gbcs-signature"] == "valid"
    # the CS08 response: SMKI gives the device's KA certificate, never the ACB's private key
    resp = _doc(tmp_path, cs08_doc, "11.2.xml")
    code, out, _ = run("parse", resp, "--smki", smki, "--no-remote-parties", "--json")
    doc = json.loads(out.splitlines()[-1])
    assert code == 9 and doc["outcome"] == "unverifiable"
    # as a DCC Boxed user has it: the ZAZ1 keystore's ACB KA key, the device's from SMKI
    code, out, err = run("parse", resp, "--smki", smki, "--json")
    assert code == 0, err


def test_an_unknown_device_certificate_is_exit_7(
    reference_dir: Path, cs09_doc: bytes, tmp_path: Path
) -> None:
    empty = Repository.of_folder(reference_dir / "gbcs/keystore", only=set())
    with serving(empty) as url:
        code, out, err = run("parse", _doc(tmp_path, cs09_doc, "a.xml"), "--smki", url)
    assert code == 7 and out == ""
    assert err.startswith("error: ") and "unknown device certificate" in err
    assert "00-DB-12-34-56-78-90-A4" in err and len(err.strip().splitlines()) == 1


def test_an_unreachable_smki_service_is_exit_8(cs09_doc: bytes, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        code, out, err = run(
            "parse", _doc(tmp_path, cs09_doc, "a.xml"), "--smki", f"127.0.0.1:{port}", "--json"
        )
    assert code == 8
    assert err.startswith("error: SMKI service") and "unreachable" in err
    assert json.loads(out.splitlines()[-1])["error"] == "key-source"
