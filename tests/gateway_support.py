"""Helpers for the tests that speak signed DUIS to a DSP (tests/gateway, tests/rules, tests/cpl):
posting and checking the DSP's signed answer, the store's contents, a second supplier with its own
XML-signing certificate, seeded DCC records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, func, select

from althan.dsp.bootstrap import InventoryDevice, register_user, seed_inventory
from althan.duis.xmldsig import verify
from althan.model import EUI64, TEST_SUPPLIER_EUI, UserRole
from althan.runtime.assemble import Assembly
from althan.store.tables import metadata
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


def store_contents(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the store (sorted): equal before and after = nothing
    changed, not even a counter."""
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
            for t in metadata.sorted_tables
        }


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
) -> tuple[int, str, etree._Element]:
    """POST `body` to /api/v1/service{service}: (HTTP status, response code, answer root), the
    answer's signature checked against the DSP's certificate alone."""
    r = client.post(
        f"/api/v1/service{service}", content=body, headers={"content-type": "application/xml"}
    )
    v = verify(r.content, assembly.dsp_trust)
    code = v.root.findtext(f"{SR}Header/{SR}ResponseCode")
    assert code is not None
    assert r.headers["x-duis-response-code"] == code
    return r.status_code, code, v.root


def send(client: TestClient, assembly: Assembly, req: SignedRequest) -> tuple[str, etree._Element]:
    """POST a signed request to its service; the DSP-signed answer's code and root."""
    status, code, root = post(client, assembly, req.service, req.xml)
    assert status == 200, code
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
