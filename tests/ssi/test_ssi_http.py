"""The SSI over HTTP (the gateway app with the SSI mounted at /ssi, Starlette's TestClient):
roles and scopes, sessions, CSRF, sign-in throttling, bad input on every form, the signed
XML of messages, the reports' CSV, the 11.4 warning lists, and the test alert reaching a
user's endpoint, signed and schema-valid."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import func, select
from ssi_support import PASSWORD, Served, add_accounts, csrf_of, gateway_app, sign_in, world_clock
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from althan.dsp import users
from althan.duis.schema import SchemaSet
from althan.duis.xmldsig import verify
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.reports.deployed import deployed
from althan.reports.rollout import versions_csv
from althan.runtime.assemble import build_dsp, register_test_users
from althan.runtime.dispatcher import OutboxDispatcher
from althan.runtime.scenario import Scenario
from althan.ssi import SsiConfig, accounts
from althan.ssi.pages import PAGES
from althan.store.tables import (
    alerts,
    cpl_entries,
    cpl_history,
    firmware_warnings,
    outbox,
    ssi_accounts,
)
from althan.zigbee.testimage import build_test_image

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"


@pytest.fixture
def http(alt_world: Scenario) -> Iterator[TestClient]:
    with TestClient(gateway_app(alt_world.assembly, world_clock(alt_world))) as c:
        yield c


def signed_in(app_client: TestClient, login: str) -> TestClient:
    r = sign_in(app_client, login)
    assert r.status_code == 303, r.text
    return app_client


def test_every_page_refuses_the_roles_it_is_not_for(alt_world: Scenario) -> None:
    sample = {"eui": "00-00-00-00-00-00-00-01", "request_id": "x", "message_id": "1"}
    sample |= {"sha256": "0" * 64, "entry_id": "1", "number": "1", "submission": "1", "ref": "1"}
    for login, role in (("supplier1", "supplier"), ("althanco", "althanco"), ("operator", "dcc")):
        with TestClient(gateway_app(alt_world.assembly, world_clock(alt_world))) as c:
            signed_in(c, login)
            token = csrf_of(c.get("/ssi/cpl").text)
            for page in PAGES:
                if page.roles is None or role in {r.value for r in page.roles}:
                    continue
                path = "/ssi" + re.sub(r"{(\w+)(:\w+)?}", lambda m: sample[m.group(1)], page.path)
                for method in page.methods:
                    r = c.request(method, path, data={"csrf_token": token})
                    assert r.status_code == 403, (login, method, path, r.status_code)
                    assert "may not use this page" in r.text


def test_signed_out_visitors_are_sent_to_sign_in(http: TestClient) -> None:
    r = http.get("/ssi/devices?q=B2", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/ssi/login?next=/devices"
    assert http.post("/ssi/interface/test-alert", data={}).status_code == 401


def test_session_cookie_is_signed_httponly_samesite_and_ends_with_the_account(
    alt_world: Scenario, http: TestClient
) -> None:
    with alt_world.engine.begin() as conn:
        accounts.add(conn, "temp", accounts.Role.DCC, None, PASSWORD, datetime.now(UTC))
    r = sign_in(http, "temp")
    cookie = r.headers["set-cookie"]
    assert "althan_ssi=" in cookie and "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert http.get("/ssi/ops").status_code == 200
    # a tampered cookie signs nobody in
    value = http.cookies["althan_ssi"]
    http.cookies.set("althan_ssi", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert http.get("/ssi/ops", follow_redirects=False).status_code == 303
    http.cookies.set("althan_ssi", value)
    assert http.get("/ssi/ops").status_code == 200
    with alt_world.engine.begin() as conn:
        assert accounts.remove(conn, "temp")
    assert http.get("/ssi/ops", follow_redirects=False).status_code == 303


def test_sign_in_is_throttled_per_login_and_per_client(alt_world: Scenario) -> None:
    cfg = SsiConfig(max_failures_per_login=3, max_failures_per_client=5)
    app = gateway_app(alt_world.assembly, world_clock(alt_world), config=cfg)
    with TestClient(app) as c:
        for _ in range(3):
            assert sign_in(c, "althanco", "wrong password").status_code == 401
        r = sign_in(c, "althanco")  # the right password, too late
        assert r.status_code == 429 and "Too many failed sign-ins" in r.text
        assert sign_in(c, "supplier1").status_code == 303  # another login still may
        for _ in range(2):
            assert sign_in(c, "nobody", "wrong password").status_code == 401
        r = sign_in(c, "operator")  # five failures from this client now
        assert r.status_code == 429


def test_the_csrf_token_is_required_on_every_form(alt_world: Scenario, http: TestClient) -> None:
    r = http.post("/ssi/login", data={"login": "supplier1", "password": PASSWORD})
    assert r.status_code == 403 and "Form refused" in r.text
    signed_in(http, "supplier1")
    for path in ("/ssi/interface/endpoint", "/ssi/interface/test-alert", "/ssi/logout"):
        r = http.post(path, data={"endpoint": "http://x.example/duis"})
        assert r.status_code == 403, path
    with alt_world.engine.connect() as conn:
        n39 = conn.execute(select(func.count()).select_from(alerts).where(alerts.c.code == "N999"))
        assert n39.scalar_one() == 0
        assert users.get(conn, TEST_SUPPLIER_EUI).endpoint is None  # type: ignore[union-attr]


def test_bad_input_on_every_form_is_answered_and_changes_nothing(
    alt_world: Scenario, http: TestClient
) -> None:
    signed_in(http, "althanco")
    token = csrf_of(http.get("/ssi/cpl").text)
    # device pages and search
    r = http.get("/ssi/devices/00-11-22-33-44-55-66-77")
    assert r.status_code == 404 and "No device 00-11-22-33-44-55-66-77" in r.text
    assert http.get("/ssi/devices/not-an-eui").status_code == 404
    r = http.get("/ssi/devices", params={"q": "<script>alert(1)</script> variant:B9"})
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "variant &#39;B9&#39; is not one of B1, B2, B3, B4" in r.text
    # the CPL: an empty form, a file that is no OTA image, a 20 MB one, a bad hardware range
    before = _cpl_state(alt_world)
    r = http.post("/ssi/cpl/upload", data={"csrf_token": token})
    assert r.status_code == 400 and "nothing was sent" in r.text
    files = {"image": ("x.ota", b"\x1e\xf1\xee\x0b" + b"\0" * 80, "application/octet-stream")}
    r = http.post("/ssi/cpl/upload", data={"csrf_token": token}, files=files)
    assert r.status_code == 400 and "not a ZigBee OTA upgrade file" in r.text
    files = {"image": ("big.ota", b"\0" * 20_000_000, "application/octet-stream")}
    r = http.post("/ssi/cpl/upload", data={"csrf_token": token}, files=files)
    assert r.status_code == 413 and "nothing of it was kept" in r.text
    b = next(iter(alt_world.fleet.bridges()))[1]
    image = build_test_image(b.manufacturer_code, b.image_type, 0x00040000, min_hw=2, max_hw=4)
    files = {"image": ("ok.ota", image, "application/octet-stream")}
    r = http.post("/ssi/cpl/upload", data={"csrf_token": token}, files=files)
    assert r.status_code == 200 and "Register it Active" in r.text
    register = re.search(r'action="(/ssi/cpl/uploads/[0-9a-f]{64})/register"', r.text)
    assert register
    for lo, hi, message in (("3", "1", "is empty"), ("x", "4", "not a hardware version"),
                            ("1", "4", "outside the range the image declares")):  # fmt: skip
        r = http.post(
            register.group(1) + "/register", data={"csrf_token": token, "hw_min": lo, "hw_max": hi}
        )
        assert r.status_code == 400 and message in r.text
    r = http.post("/ssi/cpl/999/withdraw", data={"csrf_token": token, "reason": "x"})
    assert r.status_code == 400 and "no CPL entry 999" in r.text
    r = http.post("/ssi/cpl/1/withdraw", data={"csrf_token": token, "reason": "r" * 201})
    assert r.status_code == 400 and "at most 200" in r.text
    assert _cpl_state(alt_world) == before
    http.post(register.group(1) + "/discard", data={"csrf_token": token})
    assert http.get(register.group(1)).status_code == 404
    # the DUIS interface: a bad address is refused, the old one kept
    for bad in ("ftp://x/y", "http://", "javascript:alert(1)", "http://h/" + "a" * 600):
        r = http.post("/ssi/interface/endpoint", data={"csrf_token": token, "endpoint": bad})
        assert r.status_code == 400 and "must be an http:// or https:// URL" in r.text
    with alt_world.engine.connect() as conn:
        althanco = users.get(conn, ALTHANCO_DEFAULT_EUI)
    assert althanco is not None and althanco.endpoint is None
    assert _cpl_state(alt_world) == before


def _cpl_state(w: Scenario) -> tuple[int, int, int]:
    with w.engine.connect() as conn:
        e = conn.execute(select(func.count()).select_from(cpl_entries)).scalar_one()
        h = conn.execute(select(func.count()).select_from(cpl_history)).scalar_one()
    return int(e), int(h), w.images.count()


def test_an_11_4_warning_lists_are_kept_and_shown(alt_world: Scenario, http: TestClient) -> None:
    bridges = list(alt_world.fleet.bridges())
    _h, b = bridges[0]
    image = build_test_image(b.manufacturer_code, b.image_type, 0x00050000, min_hw=0, max_hw=99)
    unknown = "00-DB-99-99-99-99-99-99"
    alt_world.send(
        alt_world.supplier.update_ppmid_firmware(
            image, FirmwareVersion(0x00050000), [b.eui, EUI64.parse(unknown)]
        )
    )
    alt_world.run()
    with alt_world.engine.connect() as conn:
        kept = conn.execute(select(firmware_warnings)).all()
    assert {(str(r.device), r.list) for r in kept} == {
        (str(b.eui), "NotApplicableFirmwareDeviceIDList"),
        (unknown, "InvalidDeviceIDList"),
    }
    rid = kept[0].request_id
    signed_in(http, "supplier1")
    page = http.get(f"/ssi/deployments/{rid}")
    assert page.status_code == 200
    assert "InvalidDeviceIDList (1)" in page.text and unknown in page.text
    assert "NotApplicableFirmwareDeviceIDList (1)" in page.text
    signed_in(http, "supplier2")
    assert http.get(f"/ssi/deployments/{rid}").status_code == 404


def test_signed_xml_of_an_alert_is_the_outbox_row_and_only_its_user_sees_it(
    alt_world: Scenario, http: TestClient
) -> None:
    signed_in(http, "supplier1")
    token = csrf_of(http.get("/ssi/interface").text)
    r = http.post("/ssi/interface/test-alert", data={"csrf_token": token})
    assert r.status_code == 200 and "Test alert N999" in r.text
    with alt_world.engine.connect() as conn:
        row = conn.execute(
            select(outbox.c.id, outbox.c.payload)
            .join(alerts, alerts.c.id == outbox.c.alert_id)
            .where(alerts.c.code == "N999")
        ).first()
    assert row is not None
    download = http.get(f"/ssi/messages/{row.id}.xml")
    assert download.status_code == 200 and download.content == bytes(row.payload)
    assert "attachment" in download.headers["content-disposition"]
    doc = verify(download.content, alt_world.dsp_trust)
    assert doc.root.findtext(f".//{SR}DCCAlertCode") == "N999"
    assert http.get(f"/ssi/messages/{row.id}").status_code == 200
    signed_in(http, "supplier2")
    assert http.get(f"/ssi/messages/{row.id}.xml").status_code == 404
    signed_in(http, "operator")
    assert http.get(f"/ssi/messages/{row.id}.xml").content == bytes(row.payload)


def test_report_csv_is_the_althan_report_data(alt_world: Scenario, http: TestClient) -> None:
    signed_in(http, "althanco")
    r = http.get("/ssi/reports/deployed.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    with alt_world.engine.connect() as conn:
        assert r.text == versions_csv(deployed(conn).versions)
    assert r.text.splitlines()[0] == "variant,model,region,firmware_version,cpl_status,devices"
    page = http.get("/ssi/reports")
    assert "Deployed Alt HAN firmware" in page.text
    status = http.get("/ssi/reports/device-status.csv").text.splitlines()
    assert status[0] == "device_type,variant,status,firmware_version,region,devices"
    assert all(line.startswith("PPMID,B") for line in status[1:])  # AltHANCo: Alt HAN only
    signed_in(http, "supplier1")
    assert http.get("/ssi/reports/deployed.csv").status_code == 403
    assert "Deployed Alt HAN firmware" not in http.get("/ssi/reports").text


def test_test_alert_reaches_the_users_endpoint_signed_and_valid(tmp_path: Path) -> None:
    got: list[bytes] = []

    async def receive(request: Request) -> Response:
        got.append(await request.body())
        return Response(status_code=200)

    endpoint = Served(Starlette(routes=[Route("/smartdcc/duis", receive, methods=["POST"])]))
    try:
        a = build_dsp(tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'dsp.db'}")
        register_test_users(a, datetime.now(UTC))
        add_accounts(a.dsp.engine)
        dispatcher = OutboxDispatcher(a.dsp, backoff=(0.2,))
        app = gateway_app(a, lambda: datetime.now(UTC), dispatcher=dispatcher)
        with TestClient(app) as c:
            signed_in(c, "supplier1")
            token = csrf_of(c.get("/ssi/interface").text)
            url = f"{endpoint.url}/smartdcc/duis"
            r = c.post("/ssi/interface/endpoint", data={"csrf_token": token, "endpoint": url})
            assert r.status_code == 200 and f"set to {url}" in r.text
            r = c.post("/ssi/interface/test-alert", data={"csrf_token": token})
            assert f"queued for {url}" in r.text
            deadline = time.monotonic() + 30
            while not got and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        endpoint.close()
    assert len(got) == 1
    doc = verify(got[0], a.dsp_trust)
    SchemaSet.load().validate(etree.fromstring(got[0]))
    root: Any = doc.root
    assert root.findtext(f".//{SR}DCCAlertCode") == "N999"
    assert root.findtext(f".//{SR}DCCAlertVersionMismatch/{SR}DCCAlertCode") == "N999"
    with a.dsp.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ssi_accounts)).scalar_one() == 4
