"""The device search through /ssi/devices: every device exactly once, in hex EUI order,
across pages and across the signed boundary of the stored EUIs (7F… | 80…), whatever the
filters; and the words a search box understands."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from ssi_support import add_accounts, gateway_app, sign_in

from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import build_dsp, register_test_users
from althan.ssi import SsiConfig

NOW = datetime(2026, 12, 1, tzinfo=UTC)
LINK = re.compile(r'<a href="/ssi/devices/([0-9A-F-]{23})">')
NEXT = re.compile(r'<a rel="next" href="([^"]+)"')


def _pages(c: TestClient, url: str) -> list[str]:
    seen: list[str] = []
    while True:
        r = c.get(url)
        assert r.status_code == 200
        seen += LINK.findall(r.text)
        m = NEXT.search(r.text)
        if not m:
            return seen
        url = m.group(1).replace("&amp;", "&")


def test_keyset_pages_cover_every_device_once_in_hex_order(tmp_path: Path) -> None:
    a = build_dsp(tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'dsp.db'}")
    register_test_users(a, NOW)
    add_accounts(a.dsp.engine, NOW)
    rnd = random.Random(4)
    euis = {EUI64(rnd.getrandbits(64)) for _ in range(230)}
    euis |= {EUI64(0x7FFFFFFFFFFFFFFF), EUI64(0x8000000000000000), EUI64(0), EUI64(2**64 - 1)}
    rows = [
        InventoryDevice(
            e, "PPMID" if i % 2 else "ESME", "1A1C", "0B020002", "00010000",
            ("North", "South")[i % 2], None, TEST_SUPPLIER_EUI,
            "Commissioned" if i % 3 else "Pending",
        )
        for i, e in enumerate(sorted(euis))
    ]  # fmt: skip
    with a.dsp.engine.begin() as conn:
        seed_inventory(conn, rows, NOW)
    app = gateway_app(a, lambda: NOW, config=SsiConfig(page_size=17))
    with TestClient(app) as c:
        assert sign_in(c, "operator").status_code == 303
        everything = _pages(c, "/ssi/devices")
        assert everything == [str(e) for e in sorted(euis)]
        pending_south = _pages(c, "/ssi/devices?q=Pending+South")
        want = [str(r.eui) for r in rows if r.status == "Pending" and r.region == "South"]
        assert pending_south == want
        assert _pages(c, "/ssi/devices?q=80-00") == ["80-00-00-00-00-00-00-00"]
        assert _pages(c, "/ssi/devices?q=7F") == [
            str(e) for e in sorted(euis) if str(e).startswith("7F")
        ]
        # the supplier sees the same; the other supplier nothing
        assert sign_in(c, "supplier1").status_code == 303
        assert _pages(c, "/ssi/devices?type=ESME") == [
            str(r.eui) for r in rows if r.device_type == "ESME"
        ]
        assert sign_in(c, "supplier2").status_code == 303
        assert _pages(c, "/ssi/devices") == []
        r = c.get("/ssi/devices", params={"q": "status:Lost fw:XYZ hub:1 colour:red"})
        for message in (
            "status &#39;Lost&#39; is not one of",
            "fw &#39;XYZ&#39; is not a firmware version",
            "chf &#39;1&#39; is not an EUI-64",
            "&#39;colour&#39; is not something to search by",
        ):
            assert message in r.text
