"""Requirement 3: a supplier submits its upgrade outcomes over HTTP (JSON or CSV), signed with
its own key; AltHANCo's view reconciles them against the DSP's records and flags exactly the
differences; bad or foreign submissions are refused with a clear error and nothing stored."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from intake_support import FOREIGN, NEW, Served
from sqlalchemy import func, select
from typer.testing import CliRunner

from althan.cli import app
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import OTHER_USER_EUI
from althan.smki.request_signature import sign_request
from althan.store.tables import intake_outcomes, intake_submissions
from althan.supplier.intake import INTAKE_PATH, submit_outcomes

VERSION = f"{NEW:08X}"
WHEN = "2026-12-01T10:00:00Z"


def _line(device: EUI64, outcome: str = "success", version: str = VERSION) -> dict[str, str]:
    return {"device": str(device), "version": version, "outcome": outcome, "time": WHEN}


def _stored(s: Served) -> tuple[int, int]:
    with s.w.engine.connect() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(intake_submissions)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(intake_outcomes)).scalar_one()),
        )


def _cli(s: Served, *args: str, code: int = 0) -> Any:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == code, r.output
    return json.loads(r.stdout.strip().splitlines()[-1])


def _post(
    s: Served, body: bytes, content_type: str, submission: str, user: EUI64 = TEST_SUPPLIER_EUI
) -> Any:
    key = s.w.assembly.zaz1[user][1]
    return submit_outcomes(s.url, user, key, body, content_type, submission)


def test_one_false_success_and_one_foreign_device_are_the_two_discrepancies(
    served: Served, tmp_path: Path
) -> None:
    s = served
    [false_success] = s.left
    lines = [_line(b.eui) for b in s.updated]
    lines.insert(2, _line(false_success.eui))  # line 3: never activated
    lines.append(_line(FOREIGN))  # last line: the other user's PPMID
    f = tmp_path / "outcomes.json"
    f.write_text(json.dumps({"supplier": str(TEST_SUPPLIER_EUI), "outcomes": lines}))
    answer = _cli(s, "intake", "submit", str(f), "--url", s.url, "--submission", "wave-1")
    assert (answer["submission"], answer["outcomes"]) == (1, len(lines))
    got = {(d["line"], d["device"], d["kind"]) for d in answer["discrepancies"]}
    assert got == {
        (3, str(false_success.eui), "success-not-activated"),
        (len(lines), str(FOREIGN), "not-suppliers-device"),
    }
    # AltHANCo's view (from the store) says the same
    view = _cli(s, "intake", "show", "1", "--json", "--data-dir", str(s.data))
    assert view["discrepancies"] == answer["discrepancies"]
    [listed] = _cli(s, "intake", "list", "--json", "--data-dir", str(s.data))
    assert (listed["supplier"], listed["submission_ref"], listed["discrepancies"]) == (
        str(TEST_SUPPLIER_EUI),
        "wave-1",
        2,
    )
    # the same submission again: answered the same, stored once
    again = _post(s, f.read_bytes(), "application/json", "wave-1")
    assert again.status == 200 and again.body["discrepancies"] == answer["discrepancies"]
    assert _stored(s) == (1, len(lines))
    # the same ID for another body: a conflict
    clash = _post(s, json.dumps(lines[:1]).encode(), "application/json", "wave-1")
    assert clash.status == 409 and "received before with another body" in clash.body["error"]
    assert _stored(s) == (1, len(lines))


def test_csv_and_every_kind_of_difference(served: Served) -> None:
    s = served
    ok, other = s.updated[0], s.updated[1]
    csv_body = "\n".join(
        [
            "device,version,outcome,time",
            f"{ok.eui},{VERSION},success,{WHEN}",
            f"{other.eui},{VERSION},failure,{WHEN}",  # it did activate
            f"{ok.eui},00099999,success,{WHEN}",  # no such version in the CPL
            f"00-DB-00-00-00-00-00-01,{VERSION},success,{WHEN}",  # unknown to the SMI
        ]
    ).encode()
    r = _post(s, csv_body, "text/csv", "csv-1")
    assert r.status == 201, r.body
    assert [(d["line"], d["kind"]) for d in r.body["discrepancies"]] == [
        (3, "failure-but-activated"),
        (4, "version-not-in-cpl"),
        (4, "success-not-activated"),
        (5, "unknown-device"),
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"{not json", "application/json", 400, "not JSON"),
        (b"[]", "application/json", 400, "no outcomes"),
        (
            b'[{"device": "00-DB-12-34-56-78-F0-01"}]',
            "application/json",
            400,
            "line 1: fields device, version, outcome, time expected; missing version",
        ),
        (
            json.dumps([_line(FOREIGN, version="2")]).encode(),
            "application/json",
            400,
            "line 1: version '2': 8 hex digits",
        ),
        (
            json.dumps([{**_line(FOREIGN), "time": "2026-12-01T10:00"}]).encode(),
            "application/json",
            400,
            "give its zone",
        ),
        (
            json.dumps([_line(FOREIGN, outcome="maybe")]).encode(),
            "application/json",
            400,
            "outcome 'maybe': success or failure",
        ),
        (b"device,version\nx,y\n", "text/csv", 400, "line 1: the CSV header must be"),
        (b"device,version,outcome,time\n00-DB,1,success\n", "text/csv", 400, "line 2:"),
        (b"<outcomes/>", "application/xml", 400, "media type 'application/xml'"),
        (
            json.dumps([_line(FOREIGN)]).encode(),
            "application/json",
            403,
            "no device of this submission is 90-B3-D5-1F-30-01-00-00's",
        ),
        (
            json.dumps({"supplier": str(OTHER_USER_EUI), "outcomes": [_line(FOREIGN)]}).encode(),
            "application/json",
            403,
            "the submission is for supplier 00-DB-12-34-56-78-00-04",
        ),
    ],
)
def test_bad_submissions_are_refused_and_nothing_stored(
    served: Served, body: bytes, content_type: str, status: int, message: str
) -> None:
    r = _post(served, body, content_type, "bad")
    assert r.status == status and message in r.body["error"], r.body
    assert _stored(served) == (0, 0)


def test_only_that_supplier_signed_submission_is_taken(served: Served) -> None:
    s = served
    body = json.dumps([_line(s.updated[0].eui)]).encode()
    url = f"{s.url}{INTAKE_PATH}"
    # no signature
    r = httpx.post(url, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 401 and "sign the request" in r.json()["error"]
    # signed by the other user's key, claiming to be the test supplier
    other_key = s.w.assembly.zaz1[OTHER_USER_EUI][1]
    headers = sign_request(
        other_key,
        method="POST",
        path=INTAKE_PATH,
        user=TEST_SUPPLIER_EUI,
        submission="forged",
        content_type="application/json",
        body=body,
    )
    r = httpx.post(url, content=body, headers=headers)
    assert r.status_code == 401 and "not 90-B3-D5-1F-30-01-00-00's over this request" in r.text
    # the supplier's own signature over another body
    key = s.w.assembly.zaz1[TEST_SUPPLIER_EUI][1]
    headers = sign_request(
        key,
        method="POST",
        path=INTAKE_PATH,
        user=TEST_SUPPLIER_EUI,
        submission="changed",
        content_type="application/json",
        body=b"[]",
    )
    assert httpx.post(url, content=body, headers=headers).status_code == 401
    # a user who is not a supplier, with its own valid signature
    r2 = _post(s, body, "application/json", "ou", user=OTHER_USER_EUI)
    assert r2.status == 403 and "not a supplier" in r2.body["error"]
    assert _stored(s) == (0, 0)


def _at_once(post: Callable[[], Any]) -> list[Any]:
    """`post` from two threads released together by a barrier: their answers."""
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def go(i: int) -> None:
        barrier.wait()
        answers[i] = post()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def test_the_same_submission_twice_at_once_is_kept_once_and_answered_twice(
    served: Served,
) -> None:
    """A supplier's client retries a submission while the first is still in flight: both POSTs
    race to the insert (a barrier releases them together), 20 rounds. One is kept (201), the
    other answered as the repeat it is (200, the same reconciliation), never a 500; each round
    stores one submission."""
    s = served
    body = json.dumps([_line(b.eui) for b in s.updated]).encode()
    before = _stored(s)
    rounds = 20
    for n in range(rounds):
        answers = _at_once(functools.partial(_post, s, body, "application/json", f"race-{n}"))
        assert sorted(a.status for a in answers) == [200, 201], (n, answers)
        assert answers[0].body == answers[1].body
    assert _stored(s) == (before[0] + rounds, before[1] + rounds * len(s.updated))
