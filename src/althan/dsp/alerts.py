"""The DCC alerts the DSP has sent: each recorded, and queued signed for its user's endpoint.

The row's ID is the alert's ResponseID counter (``<DCC>:<user>:<id>``), so every alert a user
receives has its own ID.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert

from althan.dsp.bodies import AlertBody
from althan.dsp.catalogue import alert_for
from althan.dsp.duis_io import DuisIO
from althan.dsp.outbox import Outbox
from althan.model import EUI64
from althan.store.tables import alerts

_RECORD = insert(alerts).returning(alerts.c.id)


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
) -> None:
    code = alert_for(body).code
    alert_id = conn.execute(
        _RECORD,
        {"code": code, "device": device, "user_eui": user, "created_at": now, "detail": detail},
    ).scalar_one()
    xml = duis.dcc_alert(user=user, counter=alert_id, code=code, when=now, body=body.element())
    outbox.put_duis(conn, user, xml, now)
