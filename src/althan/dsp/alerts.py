"""The DCC alerts the DSP has sent: each recorded, and queued signed for its user's endpoint.

The row's ID is the alert's ResponseID counter (``<DCC>:<user>:<id>``), so every alert a user
receives has its own ID.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert

from althan.dsp.bodies import AlertBody, EndpointTest
from althan.dsp.catalogue import N999, alert_for
from althan.dsp.duis_io import DuisIO
from althan.dsp.outbox import Outbox
from althan.duis.envelope import DEFAULT_SCHEMA_VERSION
from althan.model import EUI64
from althan.store.prepared import Prepared
from althan.store.tables import alerts

_RECORD = Prepared(
    insert(alerts).returning(alerts.c.id),
    keys=("code", "device", "user_eui", "created_at", "detail"),
)


def send(
    conn: Connection,
    duis: DuisIO,
    outbox: Outbox,
    user: EUI64,
    body: AlertBody,
    now: datetime,
    *,
    device: EUI64 | None = None,
    detail: str = "",
) -> int:
    """Record the alert and queue it, signed, for `user`; its ID (the ResponseID counter)."""
    code = alert_for(body).code
    (alert_id,) = _RECORD.rows(
        conn,
        {"code": code, "device": device, "user_eui": user, "created_at": now, "detail": detail},
    )[0]
    xml = duis.dcc_alert(user=user, counter=alert_id, code=code, when=now, body=body.element())
    outbox.put_duis(conn, user, xml, now, alert_id=alert_id)
    return int(alert_id)


def send_test(
    conn: Connection, duis: DuisIO, outbox: Outbox, user: EUI64, now: datetime, *, detail: str
) -> int:
    """A test alert (N999) for `user`, signed and queued like any other; its ID."""
    body = EndpointTest(N999.code, DEFAULT_SCHEMA_VERSION)
    return send(conn, duis, outbox, user, body, now, detail=detail)
