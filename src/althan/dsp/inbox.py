"""The inbox: IDs of the SM WAN messages the DSP has handled, so a redelivery changes nothing.

The ID is recorded in the same transaction as the message's effects: either both are kept or
neither, so a message is handled exactly once however often it arrives.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from althan.store.tables import inbox

_SEEN = {
    "postgresql": pg_insert(inbox)
    .values(msg_id=bindparam("msg_id"), received_at=bindparam("now"))
    .on_conflict_do_nothing()
    .returning(inbox.c.msg_id),
    "sqlite": sqlite_insert(inbox)
    .values(msg_id=bindparam("msg_id"), received_at=bindparam("now"))
    .on_conflict_do_nothing()
    .returning(inbox.c.msg_id),
}


def first_sight(conn: Connection, msg_id: str, now: datetime) -> bool:
    """Record an inbound message ID; False if it was seen before."""
    stmt = _SEEN[conn.dialect.name]
    return conn.execute(stmt, {"msg_id": msg_id, "now": now}).first() is not None
