"""One DSP behind its DUIS HTTP gateway, with users and SMI records in every state a refusal
rule looks at, shared by the refusal tests of a module (`Gateway.refused` checks that the store
is exactly as before, so no test can leave anything behind for the next).

Users: the ZAZ1 test supplier (IS, GS), supplier B (IS, GS), the ZAZ1 network operator (ED)
and other user (OU). SMI: what users pre-notified over DUIS (12.2, 8.4), and the DCC's own
records of Comms Hubs and meters (`seed_inventory`, as `althan serve` seeds its test
inventory), some in states a rule refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from lxml import etree

from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.duis.xmldsig import sign
from althan.model import EUI64, TEST_SUPPLIER_EUI, DeviceStatus
from althan.runtime.assemble import (
    NETWORK_OPERATOR_EUI,
    OTHER_USER_EUI,
    Assembly,
    build_dsp,
    register_test_users,
)
from althan.runtime.service import create_app
from althan.supplier.client import DuisClient, SignedRequest
from gateway_support import (
    CHF,
    SR,
    SUPPLIER_B,
    FakeClock,
    post,
    register_supplier_b,
    seed_meter,
    send,
    store_contents,
)


def _eui(tail: str) -> EUI64:
    return EUI64.parse(f"00-DB-12-34-56-78-{tail}")


UNKNOWN = _eui("FF-01")
"""No SMI record."""
CHF_NEW = _eui("C0-02")
"""A Comms Hub installed, not yet commissioned (DCC record)."""
ESME_INC = _eui("E5-02")
"""The test supplier's ESME, InstalledNotCommissioned on CHF (DCC record)."""
ESME_NO_CHF = _eui("E5-03")
"""The test supplier's ESME, Commissioned but on no Comms Hub (an inconsistent DCC record)."""
ESME_B = _eui("E5-0B")
"""Supplier B's commissioned ESME on CHF (DCC record)."""
PPMID_PENDING = _eui("A0-02")
"""A plain PPMID the test supplier pre-notified (12.2): Pending, on no CHF."""
BRIDGE = _eui("B3-01")
"""An Alt HAN bridge (PPMID, variant B3) the test supplier pre-notified: Pending."""
PPMID_B = _eui("A0-0B")
"""A PPMID supplier B pre-notified: Pending."""
PPMID_WITHDRAWN = _eui("A0-03")
"""A PPMID the test supplier pre-notified then deleted (8.4 DeleteDevice): Withdrawn."""
PPMID_INC = _eui("A0-04")
"""The test supplier's PPMID, InstalledNotCommissioned on CHF (DCC record)."""
PPMID_NO_CHF = _eui("A0-05")
"""The test supplier's PPMID, Commissioned but on no Comms Hub (an inconsistent DCC record)."""
MODEL = "0084000A"
UNBOUND = _eui("00-0E")
"""The EUI-64 whose (fleet PKI) certificate the DSP trusts for XML signing without knowing
whose it is (a TrustStore entry with no EUI-64)."""
UNREGISTERED = EUI64.parse("90-B3-D5-1F-30-00-00-07")
"""ZAZ1's WAN provider: a certificate the DSP trusts, of no registered DCC user."""


@dataclass
class Gateway:
    assembly: Assembly
    client: TestClient
    supplier: DuisClient
    supplier_b: DuisClient
    operator: DuisClient
    other_user: DuisClient

    def refused(self, req: SignedRequest, code: str, *, service: str | None = None) -> None:
        """`req` is answered `code` (HTTP 200), signed by the DSP, and changes nothing."""
        assert_refused(self.client, self.assembly, service or req.service, req.xml, code)

    def refused_raw(self, service: str, body: bytes, code: str, status: int = 200) -> None:
        assert_refused(self.client, self.assembly, service, body, code, status)


def snapshot(a: Assembly) -> tuple[object, ...]:
    """The whole store, the firmware images kept, the outbox."""
    return (store_contents(a.dsp.engine), a.dsp.images.count(), a.dsp.outbox.pending())


def assert_refused(
    client: TestClient, a: Assembly, service: str, body: bytes, code: str, status: int = 200
) -> None:
    """`body` POSTed to `service` is answered `code` with HTTP `status`, in a response signed
    by the DSP (gateway_support.post checks it), and nothing in the store changed."""
    before = snapshot(a)
    got = post(client, a, service, body)[:2]
    assert got == (status, code), f"answered {got}, expected {(status, code)}"
    assert snapshot(a) == before, f"{code}: the store changed"


def resigned(
    who: DuisClient, req: SignedRequest, edit: Callable[[etree._Element], None]
) -> SignedRequest:
    """`req` edited (header or body), then signed again by `who`."""
    root = etree.fromstring(req.xml)
    edit(root)
    return SignedRequest(req.request_id, req.service, sign(root, who.key, who.cert))


def header(root: etree._Element, name: str) -> etree._Element:
    e = root.find(f"{SR}Header/{SR}{name}")
    assert e is not None, name
    return e


def own_schema(dst: Path, reference_dir: Path, edit: Callable[[bytes], bytes]) -> Path:
    """A user's own DUIS schema folder (what `althan serve --schema-dir` takes): the reference
    5.1 files, the main one changed by `edit` (which must change it)."""
    dst.mkdir(parents=True)
    for f in (reference_dir / "duis" / "schema" / "5.1").iterdir():
        data = f.read_bytes()
        if f.name.startswith("DUIS Schema"):
            changed = edit(data)
            assert changed != data, "the edit changed nothing"
            data = changed
        (dst / f.name).write_bytes(data)
    return dst


def zaz1_client(a: Assembly, user: EUI64) -> DuisClient:
    cert, key = a.zaz1[user]
    return DuisClient(user, key, cert)


def _dcc_records(a: Assembly, now: datetime) -> None:
    c = DeviceStatus.COMMISSIONED.value
    inc = DeviceStatus.INSTALLED_NOT_COMMISSIONED.value
    sup = TEST_SUPPLIER_EUI

    def record(eui: EUI64, dtype: str, chf: EUI64 | None, status: str, by: EUI64 | None) -> Any:
        model = {"CHF": "433100AC", "ESME": "00010001"}.get(dtype, MODEL)
        return InventoryDevice(eui, dtype, "1234", model, "00000100", "Central", chf, by, status)

    rows = [
        record(CHF_NEW, "CHF", CHF_NEW, inc, None),
        record(ESME_INC, "ESME", CHF, inc, sup),
        record(ESME_NO_CHF, "ESME", None, c, sup),
        record(ESME_B, "ESME", CHF, c, SUPPLIER_B),
        record(PPMID_INC, "PPMID", CHF, inc, sup),
        record(PPMID_NO_CHF, "PPMID", None, c, sup),
    ]
    with a.dsp.engine.begin() as conn:
        seed_inventory(conn, rows, now)


@contextmanager
def open_gateway(tmp: Path) -> Iterator[Gateway]:
    """The DSP, its users and records (see the module docstring), its TestClient."""
    clock = FakeClock()
    a = build_dsp(tmp / "data", db_url=f"sqlite:///{tmp / 'dsp.db'}")
    register_test_users(a, clock())
    supplier_b = register_supplier_b(a, clock())
    seed_meter(a, clock())
    _dcc_records(a, clock())
    a.dsp.duis.trust.add(None, a.keys.pki.cert_for(UNBOUND, "ds"))
    supplier = zaz1_client(a, TEST_SUPPLIER_EUI)
    with TestClient(create_app(a, clock=clock)) as client:
        for who, eui, variant in (
            (supplier, PPMID_PENDING, None),
            (supplier, BRIDGE, "B3"),
            (supplier_b, PPMID_B, None),
            (supplier, PPMID_WITHDRAWN, None),
        ):
            req = who.prenotify(eui, manufacturer="1234", model=MODEL, variant=variant)
            assert send(client, a, req)[0] == "I0"
        assert send(client, a, delete_device(supplier, PPMID_WITHDRAWN))[0] == "I0"
        yield Gateway(
            a,
            client,
            supplier,
            supplier_b,
            zaz1_client(a, NETWORK_OPERATOR_EUI),
            zaz1_client(a, OTHER_USER_EUI),
        )


def delete_device(who: DuisClient, eui: EUI64) -> SignedRequest:
    """8.4 Update Inventory: DeleteDevice."""
    body = etree.Element(f"{SR}UpdateInventory")
    etree.SubElement(body, f"{SR}DeviceID").text = str(eui)
    etree.SubElement(body, f"{SR}DeleteDevice")
    return who.request("8.4", 8, body)
