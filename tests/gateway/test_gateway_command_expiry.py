"""Every accepted device Service Request is answered: when the device never responds (here no
network is attached, the worst case), the command expires after the DSP's command timeout and
its requester gets N58 (sr:CommandFailure naming the request and the device) as the answer; a
response arriving after that is dropped, so the request is never answered twice."""

from __future__ import annotations

import base64
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import select

from althan.dsp.bodies import el
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.dsp.commands import command_id
from althan.duis.envelope import RequestId
from althan.duis.xmldsig import verify
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly
from althan.smwan import GbcsResponse
from althan.store.tables import outbox
from althan.supplier.client import DuisClient
from gateway_support import CHF, ESME, SR, FakeClock, seed_meter, send

PPMID = EUI64.parse("00-DB-12-34-56-78-A4-01")


def _answers(assembly: Assembly) -> list[tuple[str | None, str | None, str | None]]:
    """(alert code or response code, the request it names, the device) of every DUIS message
    queued for a user."""
    with assembly.dsp.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.payload).where(outbox.c.kind == "duis")).all()
    out = []
    for r in rows:
        root = verify(bytes(r.payload), assembly.dsp_trust).root
        code = root.findtext(f".//{SR}DCCAlertCode") or root.findtext(f".//{SR}ResponseCode")
        rid = root.findtext(f".//{SR}CommandRequestID") or root.findtext(f".//{SR}RequestID")
        out.append((code, rid, root.findtext(f".//{SR}CommandFailure/{SR}DeviceID")))
    return out


def test_a_device_that_never_answers_gets_its_request_answered_n58_once(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> None:
    seed_meter(assembly, clock())
    with assembly.dsp.engine.begin() as conn:
        seed_inventory(
            conn,
            [
                InventoryDevice(
                    PPMID,
                    "PPMID",
                    "1234",
                    "00840001",
                    "00010000",
                    "Central",
                    CHF,
                    TEST_SUPPLIER_EUI,
                )
            ],
            clock(),
        )
    req = supplier.read_firmware_version(PPMID)
    sent_at = clock()
    assert send(client, assembly, req)[0] == "I99"
    dsp = assembly.dsp
    deadline = dsp.next_deadline()
    assert deadline == sent_at + dsp.settings.command_timeout
    before = _answers(assembly)
    assert dsp.expire(deadline - timedelta(seconds=1)) == 0
    assert _answers(assembly) == before
    assert dsp.expire(deadline) == 1
    assert dsp.expire(deadline) == 0  # once
    assert dsp.next_deadline() is None
    assert _answers(assembly) == [*before, ("N58", req.request_id, str(PPMID))]

    late = GbcsResponse(
        "late-1", command_id(RequestId.parse(req.request_id), PPMID), CHF, PPMID, b"\xdd"
    )
    dsp.handle_smwan(late, deadline + timedelta(minutes=1))
    assert _answers(assembly) == [*before, ("N58", req.request_id, str(PPMID))]


def test_a_pre_command_awaiting_the_users_signature_never_expires(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> None:
    """A critical request's Transform (CV 4) records the pre-command it issued; that waits for
    the user, not a device: nothing expires, nothing is answered N58."""
    seed_meter(assembly, clock())
    der = assembly.keys.pki.cert_for(ESME, "ka").public_bytes(serialization.Encoding.DER)
    body = el(
        "UpdateSecurityCredentialsDevice",
        None,
        el("DeviceCertificate", base64.b64encode(der).decode()),
    )
    assert send(client, assembly, supplier.request("6.15.2", 4, body, ESME))[0] == "I0"
    assert assembly.dsp.next_deadline() is None
    assert assembly.dsp.expire(clock() + timedelta(days=365)) == 0
