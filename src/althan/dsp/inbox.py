"""The inbox: IDs of the SM WAN messages the DSP has handled, so a redelivery changes nothing.

The ID is recorded in the same transaction as the message's effects: either both are kept or
neither, so a message is handled exactly once however often it arrives.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from althan.store.bulk import insert_new
from althan.store.tables import inbox


def first_sight(conn: Connection, msg_id: str, now: datetime) -> bool:
    """Record an inbound message ID; False if it was seen before."""
    stmt = insert_new(inbox, conn.dialect.name, "msg_id")
    return conn.execute(stmt, {"msg_id": msg_id, "received_at": now}).first() is not None
