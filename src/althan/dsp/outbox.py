"""The outbox: what the DSP must send, written in the same transaction as the state change.

Dispatchers claim due rows for a short lease, under their own id (``FOR UPDATE SKIP LOCKED``
on PostgreSQL, so any number of workers on any number of machines can share one database),
renew the lease while they work, deliver, and mark the rows sent; a failed delivery is given
back to be retried later. Marking and giving back are fenced by the claimant's id, and a live
claimant's lease never runs out, so no row is delivered twice while nothing crashes; when a
claimant dies, its rows are free again when its short lease ends. A crash between delivery and
marking re-delivers (the only duplicate, and receivers are idempotent by ResponseID).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Update, bindparam, func, insert, or_, select, update

from althan.model import EUI64, Region
from althan.smwan import SmwanMessage
from althan.smwan.codec import encode
from althan.store.prepared import Prepared
from althan.store.tables import outbox
from althan.store.types import UTCDateTime

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


_PUT = Prepared(
    insert(outbox).values(
        kind=bindparam("kind"),
        destination=bindparam("destination"),
        payload=bindparam("payload"),
        created_at=bindparam("now"),
        not_before=bindparam("now"),
        attempts=0,
        alert_id=bindparam("alert_id"),
        request_id=bindparam("request_id"),
    )
)
_CLAIMABLE = (
    outbox.c.sent_at.is_(None),
    outbox.c.not_before <= bindparam("now"),
    or_(outbox.c.claim_until.is_(None), outbox.c.claim_until < bindparam("held_at")),
)
_MINE = (outbox.c.claimed_by == bindparam("me"), outbox.c.sent_at.is_(None))


def _take(*, skip_locked: bool) -> Update:
    """Mark the oldest due rows (at most :limit) sent and return them: one statement, built
    once (`Outbox.take` runs after every message the sim's DSP handles). On PostgreSQL the due
    rows are a CTE, evaluated once: as a subquery of ``IN`` its ``FOR UPDATE`` would follow the
    rows this UPDATE changes, find them sent, and take the next ones too, past the limit."""
    due = select(outbox.c.id).where(*_CLAIMABLE).order_by(outbox.c.id).limit(bindparam("limit"))
    sent = update(outbox).values(sent_at=bindparam("now"), claimed_by=None, claim_until=None)
    if skip_locked:
        rows = due.with_for_update(skip_locked=True).cte("due")
        sent = sent.where(outbox.c.id == rows.c.id)
    else:
        sent = sent.where(outbox.c.id.in_(due.scalar_subquery()), *_CLAIMABLE)
    return sent.returning(
        outbox.c.id, outbox.c.kind, outbox.c.destination, outbox.c.payload, outbox.c.attempts
    )


_TAKE = Prepared(_take(skip_locked=False))
_TAKE_PG = Prepared(_take(skip_locked=True))


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.puts = 0
        """Rows put so far by this process (committed or not): the gateway wakes the
        dispatcher only when a request queued something."""

    # -- writing (inside a handler's transaction)
    def put_smwan(
        self, conn: Connection, rows: Sequence[tuple[Region, SmwanMessage]], now: datetime
    ) -> None:
        """SM WAN messages for CSP regions (a FirmwareDistribution without its image bytes:
        the image is stored once, by SHA-256, and put back when the row is sent)."""
        self.put_smwan_encoded(
            conn, [(region, encode(m, image_ref=True)) for region, m in rows], now
        )

    def put_smwan_encoded(
        self, conn: Connection, rows: Sequence[tuple[Region, bytes]], now: datetime
    ) -> None:
        """SM WAN messages for CSP regions already in their byte form (`althan.smwan.codec`;
        a FirmwareDistribution as `encode_distribution_ref` writes it, image by SHA-256)."""
        if rows:
            self.puts += len(rows)
            _PUT.run(
                conn,
                [
                    {
                        "kind": SMWAN,
                        "destination": region.value,
                        "payload": payload,
                        "now": now,
                        "alert_id": None,
                        "request_id": None,
                    }
                    for region, payload in rows
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
        self.puts += 1
        _PUT.run(
            conn,
            {
                "kind": DUIS,
                "destination": str(user),
                "payload": xml,
                "now": now,
                "alert_id": alert_id,
                "request_id": request_id,
            },
        )

    # -- dispatching: claim, deliver, mark (each fenced by the claimant's id)
    def claim(
        self,
        me: str,
        now: datetime,
        lease: timedelta,
        *,
        limit: int = 500,
        kind: str | None = None,
        not_to: Collection[str] = (),
        held_at: datetime | None = None,
    ) -> list[OutboxItem]:
        """Take rows due at `now` that nobody holds (or whose holder's lease ran out), oldest
        first, for `lease`; rows for the destinations in `not_to` are left alone. On
        PostgreSQL the candidates are locked with SKIP LOCKED, so concurrent claimants never
        take the same row; the lease keeps it from others until the claimant marks, releases
        or renews it.

        Leases are counted on `held_at` (default `now`): claimants that share a store must
        share that clock. `now` is the DCC's time, which each served process runs sped up
        from its own start, so processes disagree on it by minutes; the dispatcher counts
        leases on the real clock instead (issue 12: a process whose DCC clock ran ahead of
        another's by more than a lease took the other's rows and delivered them again)."""
        held = now if held_at is None else held_at
        with self.engine.begin() as conn:
            q = select(outbox.c.id).where(*_CLAIMABLE).order_by(outbox.c.id).limit(limit)
            if kind is not None:
                q = q.where(outbox.c.kind == kind)
            if not_to:
                q = q.where(outbox.c.destination.not_in(list(not_to)))
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            ids = list(conn.execute(q, {"now": now, "held_at": held}).scalars())
            if not ids:
                return []
            rows = conn.execute(
                update(outbox)  # claimable still: another claimant may have come first
                .where(outbox.c.id.in_(ids), *_CLAIMABLE)
                .values(claimed_by=me, claim_until=held + lease)
                .returning(
                    outbox.c.id,
                    outbox.c.kind,
                    outbox.c.destination,
                    outbox.c.payload,
                    outbox.c.attempts,
                ),
                {"now": now, "held_at": held},
            ).all()
        return sorted(
            (OutboxItem(r.id, r.kind, r.destination, bytes(r.payload), r.attempts) for r in rows),
            key=lambda i: i.id,
        )

    def take(
        self, me: str, now: datetime, *, limit: int = 5_000, conn: Connection | None = None
    ) -> list[OutboxItem]:
        """Claim what is due and mark it sent at once: for a runtime that hands it over in the
        same step (the sim, a test), where nothing can fail between the two. One statement:
        the due rows (locked with SKIP LOCKED on PostgreSQL) are marked sent and returned; in
        `conn`'s transaction when given (the one that just put them), else in its own."""
        del me  # nothing is held: the rows are sent in the statement that takes them
        if conn is None:
            with self.engine.begin() as own:
                return self.take("", now, limit=limit, conn=own)
        stmt = _TAKE_PG if conn.dialect.name == "postgresql" else _TAKE
        rows = stmt.rows(conn, {"now": now, "held_at": now, "limit": limit})
        return sorted(
            (OutboxItem(r.id, r.kind, r.destination, bytes(r.payload), r.attempts) for r in rows),
            key=lambda i: i.id,
        )

    def renew(self, me: str, now: datetime, lease: timedelta) -> int:
        """Extend the lease of every unsent row `me` holds, to `now` + `lease` (`now` on the
        clock its claims count leases on); how many."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(outbox).where(*_MINE).values(claim_until=now + lease),
                {"me": me},
            ).rowcount

    def mark_sent(self, me: str, ids: Sequence[int], now: datetime) -> int:
        """Mark rows `me` holds as sent; how many it still held."""
        if not ids:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(ids)), *_MINE)
                .values(sent_at=now, claimed_by=None, claim_until=None),
                {"me": me},
            ).rowcount

    def retry_later(self, me: str, items: Sequence[OutboxItem], not_before: datetime) -> None:
        """Give rows `me` holds back, to be tried again from `not_before`."""
        with self.engine.begin() as conn:
            for item in items:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == item.id, *_MINE)
                    .values(
                        attempts=item.attempts + 1,
                        not_before=not_before,
                        claimed_by=None,
                        claim_until=None,
                    ),
                    {"me": me},
                )

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
                ).scalar_one()
            )


_LATEST = select(func.max(outbox.c.created_at))


def latest(conn: Connection) -> datetime | None:
    """When the last message was written to the outbox (every effect the DSP has is one)."""
    value = conn.execute(_LATEST).scalar_one_or_none()
    return None if value is None else UTCDateTime().process_result_value(value, conn.dialect)
