"""The SSI in a real browser (Debian's Chromium, headless, driven by Playwright) against the
served DUIS gateway with the SSI mounted at /ssi, over a store that a real rollout through
the real DSP writes to. Screenshots of the main pages land in test-output/ssi/."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import func, select
from ssi_support import Rollout, Served, shot, sign_in_page

from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.scenario import Scenario
from althan.store.tables import cpl_entries, devices, firmware_images
from althan.zigbee.testimage import build_test_image

NEW_VERSION = 0x00020000


def wait_for(locator: Any, attribute: str, ok: Any, seconds: float) -> int:
    """Poll an attribute of what the page shows now (no script run in the page: its
    Content-Security-Policy forbids eval) until `ok`; the value seen then, as a number."""
    deadline = time.monotonic() + seconds
    while True:
        value = locator.get_attribute(attribute) or "0"
        if ok(value):
            return int(value)
        assert time.monotonic() < deadline, f"{attribute} stayed {value}"
        time.sleep(0.2)


def bridges_of(w: Scenario) -> list[Any]:
    return list(w.fleet.bridges())


def test_sign_in_as_each_role_sees_its_pages(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/ssi/login")
    shot(page, "login")
    page.fill("input[name=login]", "supplier1")
    page.fill("input[name=password]", "wrong password!")
    page.click("section.login button")
    assert "Wrong login or password." in page.inner_text("main")
    for login, sees_ops in (("supplier1", False), ("althanco", False), ("operator", True)):
        sign_in_page(page, served, login)
        nav = page.inner_text("header nav")
        assert ("Operations" in nav) is sees_ops
        assert login in page.inner_text("form.who")
        response = page.goto(f"{served.url}/ssi/ops")
        assert response is not None
        assert response.status == (200 if sees_ops else 403)
        if sees_ops:
            shot(page, "ops")
        else:
            assert "may not use this page" in page.inner_text("main")
        page.click("form.who button")
        page.wait_for_url(re.compile(r".*/ssi/login$"))


def test_search_then_open_a_bridge_and_see_its_variant(
    page: Any, served: Served, alt_world: Scenario
) -> None:
    b2 = [b for _h, b in bridges_of(alt_world) if b.variant.value == "B2"]
    assert b2, "the fleet has a B2 bridge"
    sign_in_page(page, served, "supplier1")
    shot(page, "devices")
    page.fill("input[name=q]", "B2")
    page.click("form.search button")
    page.wait_for_url(re.compile(r".*q=B2.*"))
    rows = page.locator("table.devices tbody tr")
    assert rows.count() == len(b2)
    for i in range(rows.count()):
        assert "variant B2 (handled as PPMID)" in rows.nth(i).inner_text()
    shot(page, "devices-search-b2")
    page.click(f"text={b2[0].eui}")
    page.wait_for_url(re.compile(rf".*/ssi/devices/{b2[0].eui}$"))
    kind = page.inner_text("[data-testid=device-kind]")
    assert kind == "Alt HAN P2P device, variant B2 (handled as PPMID)"
    assert page.inner_text("[data-testid=variant]") == "B2"
    assert "Comms hub and home" in page.inner_text("main")
    shot(page, "device-bridge")
    # a script in the search box is shown as text, never run
    page.goto(f"{served.url}/ssi/devices")
    page.fill("input[name=q]", "<script>window.pwned=1</script>")
    page.click("form.search button")
    alert = page.inner_text("[role=alert]")
    assert "The search was not run" in alert and "<script>window.pwned" in alert
    assert page.evaluate("window.pwned === undefined")
    shot(page, "devices-bad-search")


def test_a_supplier_cannot_open_another_suppliers_device(
    page: Any, served: Served, alt_world: Scenario
) -> None:
    eui = bridges_of(alt_world)[0][1].eui
    sign_in_page(page, served, "supplier2")
    response = page.goto(f"{served.url}/ssi/devices/{eui}")
    assert response is not None and response.status == 404
    assert "No device" in page.inner_text("main")
    assert "variant" not in page.inner_text("main")
    page.goto(f"{served.url}/ssi/devices?q={eui}")
    assert "No device" in page.inner_text("[role=alert]")
    sign_in_page(page, served, "supplier1")
    response = page.goto(f"{served.url}/ssi/devices/{eui}")
    assert response is not None and response.status == 200


def test_a_form_posted_without_its_csrf_token_is_refused(
    page: Any, served: Served, alt_world: Scenario
) -> None:
    sign_in_page(page, served, "supplier1")
    page.goto(f"{served.url}/ssi/interface")
    before = page.inner_text("[data-testid=endpoint]")
    page.fill("input[name=endpoint]", "http://127.0.0.1:9/smartdcc/duis")
    page.evaluate("document.querySelector('form.endpoint input[name=csrf_token]').remove()")
    page.click("form.endpoint button")
    page.wait_for_load_state()
    assert "Form refused" in page.inner_text("main")
    page.goto(f"{served.url}/ssi/interface")
    assert page.inner_text("[data-testid=endpoint]") == before
    # with its token, the same form works
    page.fill("input[name=endpoint]", "http://127.0.0.1:9/smartdcc/duis")
    page.click("form.endpoint button")
    assert page.inner_text("[data-testid=endpoint]") == "http://127.0.0.1:9/smartdcc/duis"
    shot(page, "interface")


def test_althanco_uploads_inspects_and_registers_an_image(
    page: Any, served: Served, alt_world: Scenario
) -> None:
    _h, b = bridges_of(alt_world)[0]
    image = build_test_image(
        b.manufacturer_code, b.image_type, 0x00030000, min_hw=0, max_hw=9, payload_size=4096
    )

    def counts() -> tuple[int, int]:
        with alt_world.engine.connect() as conn:
            entries = conn.execute(select(func.count()).select_from(cpl_entries)).scalar_one()
            images = conn.execute(select(func.count()).select_from(firmware_images)).scalar_one()
        return int(entries), int(images)

    sign_in_page(page, served, "althanco")
    page.goto(f"{served.url}/ssi/cpl")
    start = counts()
    stored = alt_world.images.count()
    # bad input: not an OTA file, then 20 MB — clear messages, nothing kept
    page.set_input_files(
        "input[name=image]",
        {
            "name": "x.ota",
            "mimeType": "application/octet-stream",
            "buffer": b"not an OTA file" * 10,
        },
    )
    page.click("form[action$='/cpl/upload'] button")
    assert "not a ZigBee OTA upgrade file" in page.inner_text("[role=alert]")
    big = {"name": "big.ota", "mimeType": "application/octet-stream", "buffer": b"\0" * 20_000_000}
    page.goto(f"{served.url}/ssi/cpl")
    page.set_input_files("input[name=image]", big)
    page.click("form[action$='/cpl/upload'] button")
    page.wait_for_load_state()
    assert "larger than" in page.inner_text("main")
    assert counts() == start and alt_world.images.count() == stored
    # a real image: inspected, then registered Active for hardware 1..3
    page.goto(f"{served.url}/ssi/cpl")
    page.set_input_files(
        "input[name=image]",
        {"name": "bridge.ota", "mimeType": "application/octet-stream", "buffer": image},
    )
    page.click("form[action$='/cpl/upload'] button")
    page.wait_for_url(re.compile(r".*/ssi/cpl/uploads/[0-9a-f]{64}$"))
    header = page.inner_text("[data-testid=ota-header]")
    assert f"{b.manufacturer_code:04X}" in header and "00030000" in header and "0–9" in header
    shot(page, "cpl-inspect")
    page.fill("input[name=hw_min]", "1")
    page.fill("input[name=hw_max]", "12")
    page.click("form.register button")
    assert "outside the range the image declares" in page.inner_text("[role=alert]")
    assert counts() == start
    page.fill("input[name=hw_max]", "3")
    page.click("form.register button")
    page.wait_for_url(re.compile(r".*/ssi/cpl\?notice=registered:\d+.*"))
    assert "registered Active" in page.inner_text("[role=status]")
    row = page.locator("table.grid tbody tr", has_text="00030000")
    assert "Active" in row.inner_text() and "1–3" in row.inner_text()
    assert counts()[0] == start[0] + 1
    assert alt_world.images.count() == stored + 1
    shot(page, "cpl")
    # withdrawn again
    row.locator("input[name=reason]").fill("superseded")
    row.locator("button").click()
    assert "withdrawn" in page.inner_text("[role=status]")
    assert "Withdrawn" in page.locator("table.grid tbody tr", has_text="00030000").inner_text()
    # a supplier sees the CPL read-only, and may not post to it
    sign_in_page(page, served, "supplier1")
    page.goto(f"{served.url}/ssi/cpl")
    assert "Read-only" in page.inner_text("main")
    assert page.locator("input[name=image]").count() == 0


def test_a_rollout_progress_chart_advances_without_reloading(
    page: Any, served: Served, alt_world: Scenario
) -> None:
    bridges = bridges_of(alt_world)
    images = alt_world.assure(bridges, NEW_VERSION, 8 * 1024)
    rollout = Rollout(alt_world)
    rollout.start(images, bridges, NEW_VERSION)
    try:
        sign_in_page(page, served, "supplier1")
        page.goto(f"{served.url}/ssi/deployments")
        shot(page, "deployments")
        rows = page.locator("table.grid tbody tr")
        sizes = [int(rows.nth(i).locator("td").nth(3).inner_text()) for i in range(rows.count())]
        rows.nth(sizes.index(max(sizes))).locator("a").click()  # the largest deployment
        page.wait_for_url(re.compile(r".*/ssi/deployments/.+"))
        page.evaluate("window.__same_page = true")
        progress = page.locator("#progress")
        first = int(progress.get_attribute("data-activated") or 0)
        total = int(progress.get_attribute("data-total") or 0)
        assert total > 0 and first < total
        rollout.go.set()  # the page is open: let the rollout move
        seen = {first}
        seen.add(wait_for(progress, "data-activated", lambda v: int(v) > first, 120))
        shot(page, "deployment-running")
        wait_for(progress, "data-running", lambda v: v == "0", 240)
        assert page.evaluate("window.__same_page === true"), "the page was reloaded"
        done = int(progress.get_attribute("data-activated") or 0)
        seen.add(done)
        assert len(seen) >= 2 and max(seen) == done
    finally:
        rollout.join()
    with alt_world.engine.connect() as conn:
        activated = conn.execute(
            select(func.count())
            .select_from(devices)
            .where(
                devices.c.firmware_version == f"{NEW_VERSION:08X}",
                devices.c.supplier == TEST_SUPPLIER_EUI,
            )
        ).scalar_one()
    assert page.locator("#progress [data-stage=Activated]").inner_text().replace(",", "") == str(
        done
    )
    assert activated >= done
    lines = page.locator("#progress polyline[data-series=Activated]")
    assert lines.get_attribute("data-last") == str(done)
    shot(page, "deployment-done")
    page.goto(f"{served.url}/ssi/reports")
    shot(page, "reports")
    page.goto(f"{served.url}/ssi/requests")
    shot(page, "requests")
    page.locator("a", has_text="view").first.click()
    assert "Signature" in page.inner_text("[data-testid=signed-xml]")
    shot(page, "message")
