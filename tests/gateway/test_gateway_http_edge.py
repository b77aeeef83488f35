"""The HTTP edge of the DUIS gateway: what it refuses before the DSP sees a byte (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from althan.runtime.assemble import Assembly
from althan.runtime.duis_http import MAX_BODY
from althan.supplier.client import DuisClient
from gateway_support import row_counts


def test_a_trailing_slash_is_not_redirected_with_the_clients_host(client: TestClient) -> None:
    r = client.post(
        "/api/v1/serviceD/",
        content=b"<x/>",
        headers={"content-type": "application/xml", "host": "evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 404
    assert "location" not in r.headers


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", "multipart/form-data", None])
def test_only_xml_is_accepted(
    client: TestClient, assembly: Assembly, supplier: DuisClient, ctype: str | None
) -> None:
    req = supplier.read_inventory(supplier.user)
    before = row_counts(assembly.dsp.engine)
    headers = {} if ctype is None else {"content-type": ctype}
    r = client.post(f"/api/v1/service{req.service}", content=req.xml, headers=headers)
    assert (r.status_code, r.headers["x-duis-response-code"]) == (415, "E19")
    assert r.text.startswith("E19 ")
    assert row_counts(assembly.dsp.engine) == before
    ok = client.post(
        f"/api/v1/service{req.service}",
        content=req.xml,
        headers={"content-type": "application/xml; charset=utf-8"},
    )
    assert ok.status_code == 200


def test_an_oversize_body_is_refused_from_its_length_and_while_streaming(
    client: TestClient,
) -> None:
    declared = client.post(
        "/api/v1/serviceD",
        content=b"<x/>",
        headers={"content-type": "application/xml", "content-length": str(MAX_BODY + 1)},
    )
    assert (declared.status_code, declared.headers["x-duis-response-code"]) == (413, "E100")

    def chunks() -> Iterator[bytes]:
        block = b"<a/>" * 250_000  # 1 MB
        for _ in range(MAX_BODY // len(block) + 2):
            yield block

    streamed = client.post(
        "/api/v1/serviceD", content=chunks(), headers={"content-type": "application/xml"}
    )
    assert (streamed.status_code, streamed.headers["x-duis-response-code"]) == (413, "E100")
