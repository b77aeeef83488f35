"""Broken requests from the DCC Boxed tools' own test folders are refused with the right code,
with a signed answer, and change nothing; a replayed request is refused E12."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from althan.duis.xmldsig import sign, verify
from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly
from althan.supplier.client import DuisClient
from gateway_support import Template, row_counts, service_of

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
WRAP = "duis-sign-wrap/8.2_READ_INVENTORY_REQUEST_DUIS"
ECS17B = "signing-tool/ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS"

# (sample, re-sign with the ZAZ1 test supplier key?, HTTP status, response code)
CASES = [
    # placeholder signature whose certificate serial no one trusts
    (f"{WRAP}-unknown-serial.XML", False, 200, "E2"),
    # schema-invalid (sr:ReqxuestID), validly signed: the schema is checked first -> E19
    (f"{WRAP}-invalid.XML", True, 200, "E19"),
    # RequestID originator F0-B3-… is not the signer (the test supplier)
    (f"{WRAP}-unknown-originator.XML", True, 200, "E4"),
    # RequestID originator 80-B3-… is not the signer
    (f"{ECS17B}-nonexist-businessid.XML", True, 200, "E4"),
    # malformed RequestID ("::"): the schema's RequestID pattern refuses it -> E19
    (f"{ECS17B}-invalid.XML", True, 200, "E19"),
    # no signature at all
    (f"{ECS17B}.XML", False, 200, "E1"),
    # DOCTYPE with an external entity: refused before parsing, not well-formed for us
    ("signing-tool/duis-xxe.xml", False, 400, "E19"),
]
"""HTTP 200 answers are DSP-signed DUIS responses; HTTP 400 ones answer bodies that are not a
DUIS request naming a known SRV, which no schema-valid DUIS response can answer: text/plain,
the code first."""


def _code_of(status: int, answer: bytes, assembly: Assembly) -> str | None:
    if status == 400:
        return answer.decode().split()[0]
    return verify(answer, assembly.dsp_trust).root.findtext(f"{SR}Header/{SR}ResponseCode")


def _post(client: TestClient, body: bytes, service: str | None = None) -> tuple[int, str, bytes]:
    try:
        service = service or service_of(body)
    except Exception:
        service = "S"
    r = client.post(
        f"/api/v1/service{service}", content=body, headers={"content-type": "application/xml"}
    )
    return r.status_code, r.headers.get("x-duis-response-code", ""), r.content


@pytest.mark.parametrize(
    ("sample", "resign", "status", "code"), CASES, ids=[c[0].split("/")[-1] for c in CASES]
)
def test_broken_sample_is_refused_and_changes_nothing(
    client: TestClient,
    assembly: Assembly,
    reference_dir: Path,
    sample: str,
    resign: bool,
    status: int,
    code: str,
) -> None:
    body = (reference_dir / "duis" / "samples" / sample).read_bytes()
    if resign:
        cert, key = assembly.zaz1[TEST_SUPPLIER_EUI]
        body = sign(body, key, cert)
    before = row_counts(assembly.dsp.engine)
    got_status, got_code, answer = _post(client, body)
    assert _code_of(got_status, answer, assembly) == code
    assert (got_status, got_code) == (status, code), sample
    assert row_counts(assembly.dsp.engine) == before


def test_tampered_and_not_well_formed_requests(
    client: TestClient, assembly: Assembly, templates: list[Template]
) -> None:
    good = next(t for t in templates if t.name == "8.2_READ_INVENTORY_REQUEST_DUIS.XML")
    assert good.signed is not None
    before = row_counts(assembly.dsp.engine)
    tampered = good.signed.replace(b"CommandVariant>8<", b"CommandVariant>2<")
    assert tampered != good.signed
    status, code, answer = _post(client, tampered, "D")
    verify(answer, assembly.dsp_trust)
    assert (status, code) == (200, "E1")
    status, code, answer = _post(client, good.signed[: len(good.signed) // 2], "D")
    assert (status, code, _code_of(status, answer, assembly)) == (400, "E19", "E19")
    status, code, answer = _post(client, b"", "D")
    assert (status, code, _code_of(status, answer, assembly)) == (400, "E19", "E19")
    # validly signed by a registered user, but not valid against the schema (bad DeviceID)
    cert, key = assembly.zaz1[TEST_SUPPLIER_EUI]
    invalid = sign(good.original.replace(b"<sr:DeviceID>00-DB", b"<sr:DeviceID>XX-DB"), key, cert)
    status, code, answer = _post(client, invalid, "D")
    verify(answer, assembly.dsp_trust)
    assert (status, code) == (200, "E19")
    assert row_counts(assembly.dsp.engine) == before


def test_replayed_request_is_refused_e12_and_changes_nothing(
    client: TestClient, assembly: Assembly, supplier: DuisClient
) -> None:
    from althan.model import EUI64

    req = supplier.prenotify(
        EUI64.parse("00-DB-12-34-56-78-9A-01"), manufacturer="1234", model="56789ABC"
    )
    assert _post(client, req.xml, req.service)[:2] == (200, "I0")
    before = row_counts(assembly.dsp.engine)
    status, code, answer = _post(client, req.xml, req.service)
    verify(answer, assembly.dsp_trust)
    assert (status, code) == (200, "E12")
    assert row_counts(assembly.dsp.engine) == before


def test_wrong_service_and_unknown_path(client: TestClient, supplier: DuisClient) -> None:
    from althan.model import EUI64

    req = supplier.read_inventory(EUI64.parse("00-DB-12-34-56-78-9A-02"))
    assert req.service == "D"
    assert _post(client, req.xml, "S")[1] == "E100"
    assert client.post("/api/v1/serviceX", content=req.xml).status_code == 404
    assert client.get("/api/v1/serviceD").status_code == 405
