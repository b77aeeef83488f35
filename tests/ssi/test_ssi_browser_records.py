"""The operations and records pages in a real browser (Debian's Chromium, Playwright): a
supplier uploads its upgrade outcomes and sees them reconciled; AltHANCo opens its inbox of
report editions; a DCC operator releases a quarantined request from the operations page.
Screenshots land in test-output/ssi/."""

from __future__ import annotations

import re
from typing import Any

import httpx
from ssi_support import Served, limit_8_2, shot, sign_in_page, world_clock

from althan.dsp import quarantine
from althan.reports import editions
from althan.runtime.scenario import Scenario


def test_a_supplier_submits_outcomes_and_sees_the_differences(
    page: Any, served: Served, alt_world: Scenario
) -> None:
    bridges = [b for _h, b in alt_world.fleet.bridges()][:3]
    csv = "device,version,outcome,time\n" + "".join(
        f"{b.eui},{b.firmware_version:08X},success,2026-12-01T09:30:00Z\n" for b in bridges
    )
    sign_in_page(page, served, "supplier1")
    page.click("header nav >> text=Outcomes")
    page.fill("input[name=submission_ref]", "december-wave-1")
    page.set_input_files(
        "input[name=outcomes]",
        {"name": "outcomes.csv", "mimeType": "text/csv", "buffer": csv.encode()},
    )
    page.click("form[action$='/outcomes/submit'] button")
    page.wait_for_url(re.compile(r".*/ssi/outcomes/\d+$"))
    text = page.inner_text("main")
    assert "december-wave-1" in text and "3 outcomes" in text
    rows = page.locator("[data-testid=discrepancies] tbody tr")
    assert rows.count() >= 3  # a success the DSP never saw activate, for each
    assert "success-not-activated" in page.inner_text("[data-testid=discrepancies]")
    shot(page, "outcomes-submission")


def test_althanco_opens_its_inbox_of_report_editions(
    page: Any, served: Served, alt_world: Scenario
) -> None:
    e = editions.publish(alt_world.assembly.dsp, world_clock(alt_world)())
    sign_in_page(page, served, "althanco")
    page.goto(f"{served.url}/ssi/reports")
    page.click("text=report editions")
    page.wait_for_url(re.compile(r".*/ssi/reports/editions$"))
    assert page.locator(f"#edition-{e.edition}").count() == 1
    shot(page, "editions")
    page.click(f"#edition-{e.edition} a >> nth=0")
    page.wait_for_url(re.compile(rf".*/ssi/reports/editions/{e.edition}$"))
    assert e.sha256 in page.inner_text("main")
    assert page.locator("[data-testid=edition-versions] tbody tr").count() >= 1
    shot(page, "edition")


def test_an_operator_releases_a_quarantined_request(
    page: Any, served: Served, alt_world: Scenario
) -> None:
    w = alt_world
    bridge = next(b for _h, b in w.fleet.bridges())
    limit_8_2(w)
    for _ in range(2):
        req = w.supplier.read_inventory(bridge.eui)
        r = httpx.post(
            f"{served.url}/api/v1/service{req.service}",
            content=req.xml,
            headers={"content-type": "text/xml"},
        )
        assert r.status_code == 200
    with w.engine.connect() as conn:
        [held] = quarantine.entries(conn, quarantine.Status.QUARANTINED)
    sign_in_page(page, served, "operator")
    page.click("header nav >> text=Operations")
    row = page.locator(f"#held-{held.ref}")
    assert "8.2" in row.inner_text() and "ADUserThresholdBreach" in row.inner_text()
    shot(page, "ops-quarantine")
    row.locator("button", has_text="Release").click()
    page.wait_for_url(re.compile(r".*/ssi/ops\?notice=.*"))
    assert f"Quarantined request {held.ref} released" in page.inner_text("main")
    assert page.locator(f"#held-{held.ref}").count() == 0
    with w.engine.connect() as conn:
        assert quarantine.get(conn, held.ref).status is quarantine.Status.RELEASED
