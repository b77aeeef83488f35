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

from althan.model import EUI64, Region
from althan.smwan import SmwanMessage
from althan.smwan.codec import encode
from althan.store.tables import outbox

SMWAN = "smwan"
DUIS = "duis"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message to send: an SM WAN message for a CSP region, or signed DUIS for a user.

    The row's destination is data (a region name, a user EUI), never a transport address:
    the runtime maps a region to its CSP and a user to the endpoint it registered.
    """

    id: int
    kind: str  # SMWAN | DUIS
    destination: str  # Region value | hyphenated user EUI
    payload: bytes
    attempts: int

    @property
    def region(self) -> Region:
        if self.kind != SMWAN:
            raise ValueError(f"outbox {self.id} is for a user, not a CSP region")
        return Region(self.destination)

    @property
    def user(self) -> EUI64:
        if self.kind != DUIS:
            raise ValueError(f"outbox {self.id} is for a CSP region, not a user")
        return EUI64.parse(self.destination)


_PUT = insert(outbox).values(
    kind=bindparam("kind"),
    destination=bindparam("destination"),
    payload=bindparam("payload"),
    created_at=bindparam("now"),
    not_before=bindparam("now"),
    attempts=0,
    alert_id=bindparam("alert_id"),
    request_id=bindparam("request_id"),
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
    def put_smwan(
        self, conn: Connection, rows: Sequence[tuple[Region, SmwanMessage]], now: datetime
    ) -> None:
        """SM WAN messages for CSP regions (a FirmwareDistribution without its image bytes:
        the image is stored once, by SHA-256, and put back when the row is sent)."""
        if rows:
            conn.execute(
                _PUT,
                [
                    {
                        "kind": SMWAN,
                        "destination": region.value,
                        "payload": encode(m, image_ref=True),
                        "now": now,
                        "alert_id": None,
                        "request_id": None,
                    }
                    for region, m in rows
                ],
            )

    def put_duis(
        self,
        conn: Connection,
        user: EUI64,
        xml: bytes,
        now: datetime,
        *,
        alert_id: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """Signed DUIS for `user`: a DCC alert (its `alerts` row) or the device response to
        a request (its RequestID), so the SSI can show the signed XML of either."""
        conn.execute(
            _PUT,
            {
                "kind": DUIS,
                "destination": str(user),
                "payload": xml,
                "now": now,
                "alert_id": alert_id,
                "request_id": request_id,
            },
        )

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
