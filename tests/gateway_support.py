"""Helpers for the tests that speak signed DUIS to a DSP (tests/gateway, tests/rules, tests/cpl):
posting and checking the DSP's signed answer, the store's contents, a second supplier with its own
XML-signing certificate, seeded DCC records."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, func, select

from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.dsp.users import register_user
from althan.duis.xmldsig import TrustStore, verify
from althan.model import EUI64, TEST_SUPPLIER_EUI, UserRole
from althan.runtime.assemble import Assembly
from althan.store.tables import metadata, service_requests
from althan.supplier.client import DuisClient, SignedRequest

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
PPMID = EUI64.parse("00-DB-12-34-56-78-A0-01")
ESME = EUI64.parse("00-DB-12-34-56-78-E5-01")
CHF = EUI64.parse("00-DB-12-34-56-78-C0-01")


class FakeClock:
    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> datetime:
        self.t += timedelta(seconds=seconds)
        return self.t


@dataclass(frozen=True)
class Template:
    name: str
    original: bytes
    signed: bytes | None  # None when the reference tool has no key for the originator

    @property
    def body(self) -> bytes:
        return self.signed if self.signed is not None else self.original


@dataclass(frozen=True)
class Answer:
    """The gateway's answer to one template: HTTP status, DUIS ResponseCode, signed body."""

    status: int
    code: str
    body: bytes


def post_all(
    client: TestClient | httpx.Client, trust: TrustStore, templates: Iterable[Template]
) -> dict[str, Answer]:
    """POST each template (in the order given) to the service its CommandVariant picks; every
    answer is XML, signed by the DSP (`trust`), and its ResponseCode is the
    x-duis-response-code header."""
    table: dict[str, Answer] = {}
    for t in templates:
        r = client.post(
            f"/api/v1/service{service_of(t.body)}",
            content=t.body,
            headers={"content-type": "application/xml"},
        )
        assert r.status_code < 500, (t.name, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/xml"), t.name
        v = verify(r.content, trust)
        code = v.root.findtext(f"{SR}Header/{SR}ResponseCode")
        assert code is not None, t.name
        assert r.headers["x-duis-response-code"] == code, t.name
        table[t.name] = Answer(r.status_code, code, r.content)
    return table


PINNED = Path(__file__).parent / "gateway" / "template_codes.csv"
"""The pinned answer (HTTP status, ResponseCode) of each of the 297 templates of the sweep."""
PIN_COLUMNS = ("template", "http_status", "response_code")


def read_pinned(path: Path = PINNED) -> dict[str, tuple[int, str]]:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == PIN_COLUMNS, rows[0]
    table = {name: (int(status), code) for name, status, code in rows[1:]}
    assert len(table) == len(rows) - 1, "a template is pinned twice"
    return table


def write_pinned(answers: Mapping[str, Answer], path: Path = PINNED) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(PIN_COLUMNS)
        for name in sorted(answers):
            w.writerow((name, answers[name].status, answers[name].code))


def store_contents(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the store (sorted): equal before and after = nothing
    changed, not even a counter."""
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
            for t in metadata.sorted_tables
        }


def device_count(engine: Engine, request_id: object) -> int:
    """How many devices the DSP recorded the request `request_id` as acting on (what anomaly
    detection sums)."""
    with engine.connect() as conn:
        q = select(service_requests.c.device_count).where(
            service_requests.c.request_id == str(request_id)
        )
        return int(conn.execute(q).scalar_one())


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the store."""
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def service_of(xml: bytes) -> str:
    """The DUIS web service a request's CommandVariant picks (CV 1,3,5,7 S; 2,6,8 D; 4 T)."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    cv = root.findtext(
        "{http://www.dccinterface.co.uk/ServiceUserGateway}Header/"
        "{http://www.dccinterface.co.uk/ServiceUserGateway}CommandVariant"
    )
    return {"1": "S", "3": "S", "5": "S", "7": "S", "4": "T"}.get((cv or "").strip(), "D")


def post(
    client: TestClient, assembly: Assembly, service: str, body: bytes
) -> tuple[int, str, etree._Element | None]:
    """POST `body` to /api/v1/service{service}: (HTTP status, response code, answer root), the
    answer's signature checked against the DSP's certificate alone. A body the gateway cannot
    answer with a DUIS response (HTTP 4xx, text/plain, the code first) has no root."""
    r = client.post(
        f"/api/v1/service{service}", content=body, headers={"content-type": "application/xml"}
    )
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("text/plain"), r.headers
        code = r.headers["x-duis-response-code"]
        assert r.text.split()[0] == code
        return r.status_code, code, None
    v = verify(r.content, assembly.dsp_trust)
    code = v.root.findtext(f"{SR}Header/{SR}ResponseCode")
    assert code is not None
    assert r.headers["x-duis-response-code"] == code
    return r.status_code, code, v.root


def send(client: TestClient, assembly: Assembly, req: SignedRequest) -> tuple[str, etree._Element]:
    """POST a signed request to its service; the DSP-signed answer's code and root."""
    status, code, root = post(client, assembly, req.service, req.xml)
    assert status == 200 and root is not None, code
    return code, root


SUPPLIER_B = EUI64.parse("90-B3-D5-1F-30-03-00-00")
"""DCC Boxed's second test supplier (ZAZ1 "GITTESTSUPPLIER2"), whose certificate the DSP trusts."""


def register_supplier_b(assembly: Assembly, now: datetime = T0) -> DuisClient:
    """Register SUPPLIER_B as an IS/GS user (as `althan users add` does); its DUIS client."""
    cert, key = assembly.zaz1[SUPPLIER_B]
    with assembly.dsp.engine.begin() as conn:
        register_user(conn, SUPPLIER_B, "supplier B", [UserRole.IS, UserRole.GS], now, cert=cert)
    return DuisClient(SUPPLIER_B, key, cert)


def seed_meter(assembly: Assembly, now: datetime) -> None:
    """A commissioned Comms Hub and ESME of the test supplier, as the DCC's own records."""
    with assembly.dsp.engine.begin() as conn:
        seed_inventory(
            conn,
            [
                InventoryDevice(CHF, "CHF", "106C", "433100AC", "00009001", "Central", CHF, None),
                InventoryDevice(
                    ESME, "ESME", "1234", "00010001", "00000100", "Central", CHF, TEST_SUPPLIER_EUI
                ),
            ],
            now,
        )
