"""The outbox: what the DSP must send, written in the same transaction as the state change.

Dispatchers claim due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of workers
can share one database), deliver them, and mark them sent; a failed delivery is retried later
with back-off. A crash between delivery and marking re-delivers: receivers are idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from althan.model import EUI64
from althan.smwan import SmwanMessage
from althan.smwan.codec import encode
from althan.store.tables import inbox, outbox


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: str  # "smwan" | "duis"
    destination: str  # "csp:<Region>" | user EUI
    payload: bytes
    attempts: int


_PUT = insert(outbox).values(
    kind=bindparam("kind"),
    destination=bindparam("destination"),
    payload=bindparam("payload"),
    created_at=bindparam("now"),
    not_before=bindparam("now"),
    attempts=0,
)
_SEEN_PG = (
    pg_insert(inbox)
    .values(msg_id=bindparam("msg_id"), received_at=bindparam("now"))
    .on_conflict_do_nothing()
    .returning(inbox.c.msg_id)
)
_SEEN_SQLITE = (
    sqlite_insert(inbox)
    .values(msg_id=bindparam("msg_id"), received_at=bindparam("now"))
    .on_conflict_do_nothing()
    .returning(inbox.c.msg_id)
)
_DUE = (
    select(outbox.c.id, outbox.c.kind, outbox.c.destination, outbox.c.payload, outbox.c.attempts)
    .where(outbox.c.sent_at.is_(None), outbox.c.not_before <= bindparam("now"))
    .order_by(outbox.c.id)
    .limit(bindparam("limit"))
)
_SENT = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(sent_at=bindparam("now"))
)


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing (inside a handler's transaction)
    def put_smwan(self, conn: Connection, region: str, msg: SmwanMessage, now: datetime) -> None:
        conn.execute(
            insert(outbox).values(
                kind="smwan",
                destination=f"csp:{region}",
                payload=encode(msg, image_ref=True),
                created_at=now,
                not_before=now,
                attempts=0,
            )
        )

    def put_smwan_many(
        self, conn: Connection, rows: Sequence[tuple[str, SmwanMessage]], now: datetime
    ) -> None:
        if rows:
            conn.execute(
                insert(outbox),
                [
                    {
                        "kind": "smwan",
                        "destination": f"csp:{region}",
                        "payload": encode(m, image_ref=True),
                        "created_at": now,
                        "not_before": now,
                        "attempts": 0,
                    }
                    for region, m in rows
                ],
            )

    def put_duis(self, conn: Connection, user: EUI64, xml: bytes, now: datetime) -> None:
        conn.execute(_PUT, {"kind": "duis", "destination": str(user), "payload": xml, "now": now})

    def first_sight(self, conn: Connection, msg_id: str, now: datetime) -> bool:
        """Record an inbound message ID; False if it was seen before."""
        stmt = _SEEN_PG if conn.dialect.name == "postgresql" else _SEEN_SQLITE
        return conn.execute(stmt, {"msg_id": msg_id, "now": now}).first() is not None

    # -- dispatching
    def claim(self, now: datetime, limit: int = 500, kind: str | None = None) -> list[OutboxItem]:
        """Due, unsent rows, oldest first. On PostgreSQL rows locked by others are skipped."""
        with self.engine.begin() as conn:
            q = _DUE
            if kind is not None:
                q = q.where(outbox.c.kind == kind)
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = conn.execute(q, {"now": now, "limit": limit}).all()
            items = [
                OutboxItem(r.id, r.kind, r.destination, bytes(r.payload), r.attempts) for r in rows
            ]
            if items and conn.dialect.name == "postgresql":
                # lease: push not_before so another worker does not take them meanwhile
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([i.id for i in items]))
                    .values(not_before=now + timedelta(seconds=30))
                )
            return items

    def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        if ids:
            with self.engine.begin() as conn:
                conn.execute(_SENT, {"ids": list(ids), "now": now})

    def retry_later(self, item: OutboxItem, now: datetime, backoff: Sequence[float]) -> None:
        delay = backoff[min(item.attempts, len(backoff) - 1)]
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == item.id)
                .values(attempts=item.attempts + 1, not_before=now + timedelta(seconds=delay))
            )

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
                ).scalar_one()
            )
