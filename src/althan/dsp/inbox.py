"""The inbox: IDs of the SM WAN messages the DSP has handled, so a redelivery changes nothing.

The ID is recorded in the same transaction as the message's effects: either both are kept or
neither, so a message is handled exactly once however often it arrives. Many IDs are recorded
in one statement (`first_sights`) when the messages of one instant share a transaction; the
statement is ``INSERT … ON CONFLICT DO NOTHING RETURNING``, so on PostgreSQL a concurrent
transaction recording the same ID waits for this one and then does not see it as new.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam

from althan.store.bulk import insert_new
from althan.store.prepared import Prepared
from althan.store.tables import inbox
from althan.store.types import UTCDateTime

CHUNK = 64
"""IDs recorded by one statement at most (a statement is compiled once per count up to it)."""


@functools.cache
def _record(dialect: str, n: int) -> Prepared:
    """Record `n` IDs (``id0`` … ``id{n-1}``) received at ``now``; the new ones returned."""
    now = bindparam("now", type_=UTCDateTime())
    rows = [
        {"msg_id": bindparam(f"id{i}", type_=inbox.c.msg_id.type), "received_at": now}
        for i in range(n)
    ]
    return Prepared(insert_new(inbox, dialect, "msg_id").values(rows))


def first_sight(conn: Connection, msg_id: str, now: datetime) -> bool:
    """Record an inbound message ID; False if it was seen before."""
    return msg_id in first_sights(conn, [msg_id], now)


def first_sights(conn: Connection, msg_ids: Sequence[str], now: datetime) -> set[str]:
    """Record inbound message IDs; the ones not seen before (an ID twice in `msg_ids` is
    recorded once: the caller handles its first occurrence)."""
    fresh: set[str] = set()
    unique = list(dict.fromkeys(msg_ids))
    for start in range(0, len(unique), CHUNK):
        part = unique[start : start + CHUNK]
        stmt = _record(conn.dialect.name, len(part))
        params: dict[str, object] = {f"id{i}": m for i, m in enumerate(part)}
        params["now"] = now
        fresh.update(r.msg_id for r in stmt.rows(conn, params))
    return fresh
