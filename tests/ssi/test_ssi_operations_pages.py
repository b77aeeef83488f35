"""The SSI pages of the operations and records loop, over HTTP (the gateway app with the SSI
at /ssi): the quarantine queue on the operations page (release once, reject, refused twice);
AltHANCo's inbox of report editions (the signed XML as delivered); suppliers' upgrade outcomes
(uploaded, reconciled, refused whole on bad input); and every link a page shows leads to a
page its reader may open."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from ssi_support import csrf_of, gateway_app, limit_8_2, sign_in, world_clock

from althan.dsp import intake, quarantine
from althan.reports import editions
from althan.runtime.scenario import Scenario
from althan.store.tables import ad_quarantine, intake_submissions

ANSWER = re.compile(rb"<(?:\w+:)?ResponseCode>(\w+)<")


@pytest.fixture
def http(alt_world: Scenario) -> Iterator[TestClient]:
    with TestClient(gateway_app(alt_world.assembly, world_clock(alt_world))) as c:
        yield c


def as_user(c: TestClient, login: str) -> str:
    assert sign_in(c, login).status_code == 303
    return csrf_of(c.get("/ssi/interface").text)


def post_duis(c: TestClient, xml: bytes, service: str) -> str:
    r = c.post(f"/api/v1/service{service}", content=xml, headers={"content-type": "text/xml"})
    assert r.status_code == 200, r.text[:300]
    m = ANSWER.search(r.content)
    assert m, r.text[:300]
    return m.group(1).decode()


def test_quarantine_queue_release_once_and_reject(alt_world: Scenario, http: TestClient) -> None:
    w = alt_world
    bridge = next(b for _h, b in w.fleet.bridges())
    limit_8_2(w)
    codes = [post_duis(http, (r := w.supplier.read_inventory(bridge.eui)).xml, r.service)]
    codes += [post_duis(http, (r := w.supplier.read_inventory(bridge.eui)).xml, r.service)]
    codes += [post_duis(http, (r := w.supplier.read_inventory(bridge.eui)).xml, r.service)]
    assert codes == ["I0", "I99", "I99"]
    with w.engine.connect() as conn:
        first, second = [e.ref for e in quarantine.entries(conn, quarantine.Status.QUARANTINED)]

    token = as_user(http, "operator")
    page = http.get("/ssi/ops").text
    assert f'id="held-{first}"' in page and f'id="held-{second}"' in page
    r = http.post(f"/ssi/ops/quarantine/{first}/release", data={"csrf_token": token})
    assert r.status_code == 200 and f"Quarantined request {first} released" in r.text
    assert f'id="held-{first}"' not in r.text
    with w.engine.connect() as conn:
        released = quarantine.get(conn, first)
    assert (released.status, released.outcome) == (quarantine.Status.RELEASED, "I0")

    # a second decision on the same ref is refused and changes nothing
    r = http.post(f"/ssi/ops/quarantine/{first}/release", data={"csrf_token": token})
    assert r.status_code == 409 and "Nothing was done" in r.text
    r = http.post(f"/ssi/ops/quarantine/{first}/reject", data={"csrf_token": token})
    assert r.status_code == 409
    with w.engine.connect() as conn:
        assert quarantine.get(conn, first) == released

    r = http.post(f"/ssi/ops/quarantine/{second}/reject", data={"csrf_token": token})
    assert r.status_code == 200 and "answered E48" in r.text
    with w.engine.connect() as conn:
        assert quarantine.get(conn, second).status is quarantine.Status.REJECTED
        rows = conn.execute(select(func.count()).select_from(ad_quarantine)).scalar_one()
    for bad in ("999999", "x1", "-1"):
        r = http.post(f"/ssi/ops/quarantine/{bad}/release", data={"csrf_token": token})
        assert r.status_code == 404, bad
    r = http.post(f"/ssi/ops/quarantine/{second}/release", data={})  # no CSRF token
    assert r.status_code == 403
    with w.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ad_quarantine)).scalar_one() == rows
        assert quarantine.get(conn, second).status is quarantine.Status.REJECTED


def test_althancos_inbox_holds_each_edition_as_delivered(
    alt_world: Scenario, http: TestClient
) -> None:
    e = editions.publish(alt_world.assembly.dsp, world_clock(alt_world)())
    as_user(http, "althanco")
    page = http.get("/ssi/reports/editions").text
    assert f'id="edition-{e.edition}"' in page and e.sha256[:16] in page
    r = http.get(f"/ssi/reports/editions/{e.edition}.xml")
    assert r.status_code == 200 and r.content == e.document
    assert r.headers["content-type"].startswith("application/xml")
    r = http.get(f"/ssi/reports/editions/{e.edition}")
    assert r.status_code == 200 and f"{e.data['alt_han_devices']:,} Alt HAN devices" in r.text
    assert http.get("/ssi/reports/editions/999999").status_code == 404
    assert http.get("/ssi/reports/editions/999999.xml").status_code == 404
    as_user(http, "supplier1")
    assert http.get(f"/ssi/reports/editions/{e.edition}.xml").status_code == 403


def submissions(w: Scenario) -> int:
    with w.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(intake_submissions)).scalar_one())


def test_outcomes_uploaded_reconciled_and_seen_by_althanco(
    alt_world: Scenario, http: TestClient
) -> None:
    w = alt_world
    mine = [b for _h, b in w.fleet.bridges()][:2]
    unknown = "00-DB-12-34-56-78-FF-FE"
    body = "device,version,outcome,time\n" + "".join(
        f"{eui},{v},{o},2026-12-01T10:00:00Z\n"
        for eui, v, o in (
            (mine[0].eui, "00000099", "success"),  # never activated, not in the CPL
            (mine[1].eui, "00000099", "failure"),  # not in the CPL
            (unknown, "00000099", "success"),
        )
    )
    token = as_user(http, "supplier1")
    before = submissions(w)
    for name, content, ref, why in (
        ("o.txt", body, "s1", "must be .csv or .json"),
        ("o.csv", "device,version\nx,y\n", "s1", "the CSV header must be"),
        ("o.csv", body.replace("success", "maybe", 1), "s1", "success or failure"),
        ("o.csv", body, "", "1 to 100 characters"),
        ("o.json", '{"outcomes": 3}', "s1", "expected a list"),
    ):
        r = http.post(
            "/ssi/outcomes/submit",
            data={"csrf_token": token, "submission_ref": ref},
            files={"outcomes": (name, content.encode(), "application/octet-stream")},
        )
        assert r.status_code == 400 and why in r.text and "nothing was stored" in r.text.lower(), (
            name
        )
    assert submissions(w) == before

    r = http.post(
        "/ssi/outcomes/submit",
        data={"csrf_token": token, "submission_ref": "upgrades-2026-12-01"},
        files={"outcomes": ("outcomes.csv", body.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    sub_id = int(r.headers["location"].rsplit("/", 1)[1])
    with w.engine.connect() as conn:
        rec = intake.reconcile(conn, sub_id)
    assert rec is not None
    expected = {(str(d.device), d.kind) for d in rec.discrepancies}
    assert (unknown, intake.UNKNOWN_DEVICE) in expected
    assert (str(mine[0].eui), intake.SUCCESS_NOT_ACTIVATED) in expected
    page = http.get(f"/ssi/outcomes/{sub_id}").text
    rows = re.findall(
        r"<tr><td>\d+</td><td class=\"mono\">(.*?)</td>.*?<td>([\w-]+)</td><td>[^<]*</td></tr>",
        page,
    )
    shown = {(re.sub(r"<[^>]+>", "", device), kind) for device, kind in rows}
    assert shown == expected

    as_user(http, "supplier2")
    assert http.get(f"/ssi/outcomes/{sub_id}").status_code == 404
    assert f'id="submission-{sub_id}"' not in http.get("/ssi/outcomes").text
    as_user(http, "althanco")
    listing = http.get("/ssi/outcomes").text
    assert f'id="submission-{sub_id}"' in listing and "Submit outcomes" not in listing
    assert http.get(f"/ssi/outcomes/{sub_id}").status_code == 200
    r = http.post(
        "/ssi/outcomes/submit",
        data={"csrf_token": csrf_of(listing), "submission_ref": "x"},
        files={"outcomes": ("o.csv", body.encode(), "text/csv")},
    )
    assert r.status_code == 403
    assert submissions(w) == before + 1


HREF = re.compile(r'href="(/ssi/[^"#?]*)(?:\?[^"#]*)?(?:#[^"]*)?"')
STARTS: tuple[str, ...] = (
    *("/ssi/devices", "/ssi/deployments", "/ssi/requests", "/ssi/reports", "/ssi/outcomes"),
    *("/ssi/cpl", "/ssi/interface", "/ssi/ops", "/ssi/reports/editions"),
)


@pytest.mark.parametrize("login", ["supplier1", "althanco", "operator"])
def test_every_link_a_page_shows_opens_for_its_reader(
    alt_world: Scenario, http: TestClient, login: str
) -> None:
    editions.publish(alt_world.assembly.dsp, world_clock(alt_world)())
    as_user(http, login)
    queue = list(STARTS)  # a start the role may not use answers 403; a link must open
    seen: dict[str, int] = {}
    while queue and len(seen) < 150:
        path = queue.pop(0)
        if path in seen:
            continue
        r = http.get(path)
        seen[path] = r.status_code
        if path in STARTS:
            assert r.status_code in {200, 403}, (path, r.status_code)
        elif r.status_code != 200:
            raise AssertionError(f"{login}: a page links to {path}, which answers {r.status_code}")
        if r.headers.get("content-type", "").startswith("text/html"):
            queue += [m.group(1) for m in HREF.finditer(r.text) if m.group(1) not in seen]
    assert len(seen) > 10
