"""The inbox: IDs of the SM WAN messages the DSP has handled, so a redelivery changes nothing.

The ID is recorded in the same transaction as the message's effects: either both are kept or
neither, so a message is handled exactly once however often it arrives.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from althan.store.bulk import insert_new
from althan.store.prepared import Prepared
from althan.store.tables import inbox

_RECORD = {d: Prepared(insert_new(inbox, d, "msg_id")) for d in ("postgresql", "sqlite")}


def first_sight(conn: Connection, msg_id: str, now: datetime) -> bool:
    """Record an inbound message ID; False if it was seen before."""
    stmt = _RECORD[conn.dialect.name]
    return stmt.first(conn, {"msg_id": msg_id, "received_at": now}) is not None
