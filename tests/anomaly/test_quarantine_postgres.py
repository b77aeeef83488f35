"""The same store code on PostgreSQL: thresholds, quarantine and its decisions, a report
edition, an intake submission and its reconciliation, the records export."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from anomaly_support import SR, T0, VERSION, alerts, answers_to, deliveries, seed_bridges
from fastapi.testclient import TestClient

from althan.dsp import anomaly, intake, records
from althan.dsp.quarantine import QuarantineError
from althan.model import TEST_SUPPLIER_EUI, FirmwareVersion
from althan.reports import editions
from althan.runtime.assemble import build_dsp, register_test_users
from althan.runtime.service import create_app
from althan.supplier.client import DuisClient


@pytest.mark.postgres
def test_quarantine_editions_and_intake_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    a = build_dsp(tmp_path / "data", db_url=pg_url)
    register_test_users(a, T0)
    image, devices = seed_bridges(a, T0, 12)
    with a.dsp.engine.begin() as conn:
        for user in (TEST_SUPPLIER_EUI, None):
            anomaly.set_threshold(
                conn,
                a.dsp.services.srvs,
                user=user,
                srv="11.4",
                max_requests=None,
                max_devices=10,
                window=timedelta(hours=24),
                now=T0,
            )
    cert, key = a.zaz1[TEST_SUPPLIER_EUI]
    sup = DuisClient(TEST_SUPPLIER_EUI, key, cert)
    now = [T0]
    with TestClient(create_app(a, clock=lambda: now[0])) as client:
        reqs = [sup.update_ppmid_firmware(image, FirmwareVersion(VERSION), devices) for _ in "ab"]
        for r in reqs:
            answer = client.post(
                "/api/v1/serviceD", content=r.xml, headers={"content-type": "application/xml"}
            )
            assert answer.headers["x-duis-response-code"] == "I99"
    refs = [int(x.text(f".//{SR}QuarantineEventRef") or 0) for x in alerts(a, "N48")]
    assert a.dsp.release(refs[0], T0 + timedelta(minutes=1)).code == "I0"
    with pytest.raises(QuarantineError):
        a.dsp.release(refs[0], T0 + timedelta(minutes=2))
    [expired] = a.dsp.expire_quarantine(T0 + timedelta(days=3))
    assert (expired.ref, expired.code) == (refs[1], "E48")
    assert [x.response_code for x in answers_to(a, reqs[1].request_id)] == ["E48"]
    assert len(deliveries(a)) == 12

    e = editions.publish_due(a.dsp, T0 + timedelta(days=3))
    assert e is not None and editions.publish_due(a.dsp, T0 + timedelta(days=3, hours=1)) is None
    with a.dsp.engine.begin() as conn:
        assert editions.get(conn, e.edition) == e.__class__(
            e.edition, e.generated_at, e.slot, e.content, e.document, e.sha256
        )
        body = json.dumps(
            [
                {
                    "device": str(d),
                    "version": f"{VERSION:08X}",
                    "outcome": "success",
                    "time": "2026-12-01T10:00:00Z",
                }
                for d in devices[:2]
            ]
        ).encode()
        sub = intake.accept(conn, TEST_SUPPLIER_EUI, "pg-1", intake.JSON, body, T0)
        rec = intake.reconcile(conn, sub.id)
        assert rec is not None
        # delivered but never activated (no network here): both flagged
        assert [d.kind for d in rec.discrepancies] == ["success-not-activated"] * 2
        changes = records.version_changes(conn, T0 - timedelta(days=1))
        assert {c.source for c in changes} == {"seed"}
        assert len(records.deployments(conn, T0)) == 12
    a.dsp.engine.dispose()
