"""The quarantine queue of anomaly detection: requests held until a DCC operator decides.

Each held request keeps its signed XML as received, under a QuarantineEventRef (`ref`, the
row's integer ID, which N48 tells the user). A request leaves Quarantined exactly once, by one
conditional UPDATE (`decide`) in the transaction that acts on the decision: Released (processed
then, as if it had just arrived), Rejected (never processed; the user is answered E48) or
Expired (no decision within `DspSettings.quarantine_expiry`; E48 too). A second decision on the
same ref finds it no longer Quarantined and changes nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from althan.dsp.rows import from_row
from althan.model import EUI64
from althan.store.tables import ad_quarantine
from althan.store.types import UTCDateTime


class Status(enum.StrEnum):
    QUARANTINED = "Quarantined"
    RELEASED = "Released"
    REJECTED = "Rejected"
    EXPIRED = "Expired"


class QuarantineError(ValueError):
    """No such ref, or it is no longer Quarantined: nothing changed."""


@dataclass(frozen=True, slots=True)
class Request:
    """What the queue keeps of a held request, besides its XML."""

    request_id: str
    user: EUI64
    srv: str
    service: str
    schema_version: str
    devices: int
    breach: str
    reason: str


@dataclass(frozen=True, slots=True)
class Held(Request):
    """A request to hold, as the gateway step found it."""

    xml: bytes


@dataclass(frozen=True, slots=True)
class Quarantined(Request):
    """One entry of the queue (without its XML)."""

    ref: int
    status: Status
    received_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    outcome: str | None

    def as_json(self) -> dict[str, Any]:
        def t(v: datetime | None) -> str | None:
            return None if v is None else v.isoformat().replace("+00:00", "Z")

        return {
            "ref": self.ref,
            "request_id": self.request_id,
            "user": str(self.user),
            "srv": self.srv,
            "devices": self.devices,
            "breach": self.breach,
            "reason": self.reason,
            "status": self.status.value,
            "received_at": t(self.received_at),
            "expires_at": t(self.expires_at),
            "decided_at": t(self.decided_at),
            "outcome": self.outcome,
        }


_q = ad_quarantine.c
_COLUMNS = [c for c in ad_quarantine.c if c.name != "request_xml"]


def _entry(r: Any) -> Quarantined:
    return from_row(Quarantined, r, user=r.user_eui, status=Status(r.status))


def hold(conn: Connection, held: Held, now: datetime, expires_at: datetime) -> int:
    """Put a request in quarantine; its QuarantineEventRef."""
    return int(
        conn.execute(
            insert(ad_quarantine)
            .values(
                request_id=held.request_id,
                user_eui=held.user,
                srv=held.srv,
                service=held.service,
                schema_version=held.schema_version,
                devices=held.devices,
                breach=held.breach,
                reason=held.reason[:300],
                status=Status.QUARANTINED.value,
                received_at=now,
                expires_at=expires_at,
                request_xml=held.xml,
            )
            .returning(_q.ref)
        ).scalar_one()
    )


def entries(conn: Connection, status: Status | None = None) -> list[Quarantined]:
    """The queue, oldest first (only `status` entries, if given)."""
    q = select(*_COLUMNS).order_by(_q.ref)
    if status is not None:
        q = q.where(_q.status == status.value)
    return [_entry(r) for r in conn.execute(q)]


def decided(conn: Connection, limit: int) -> list[Quarantined]:
    """The `limit` latest decided entries (released, rejected, expired), newest first."""
    q = (
        select(*_COLUMNS)
        .where(_q.decided_at.is_not(None))
        .order_by(_q.decided_at.desc(), _q.ref.desc())
        .limit(limit)
    )
    return [_entry(r) for r in conn.execute(q)]


def get(conn: Connection, ref: int) -> Quarantined:
    r = conn.execute(select(*_COLUMNS).where(_q.ref == ref)).first()
    if r is None:
        raise QuarantineError(f"no quarantined request with ref {ref}")
    return _entry(r)


def request_xml(conn: Connection, ref: int) -> bytes:
    """The held request's signed XML, as it was received."""
    return bytes(conn.execute(select(_q.request_xml).where(_q.ref == ref)).scalar_one())


_DECIDE = (
    update(ad_quarantine)
    .where(_q.ref == bindparam("the_ref"), _q.status == Status.QUARANTINED.value)
    .values(status=bindparam("new_status"), decided_at=bindparam("now"))
)


def decide(conn: Connection, ref: int, status: Status, now: datetime) -> Quarantined:
    """Take `ref` out of quarantine as `status`; QuarantineError when it is not (or no longer)
    Quarantined. On PostgreSQL a concurrent decision on the same ref waits for this
    transaction, then finds it decided."""
    n = conn.execute(_DECIDE, {"the_ref": ref, "new_status": status.value, "now": now}).rowcount
    entry = get(conn, ref)
    if n != 1:
        raise QuarantineError(
            f"quarantine {ref} ({entry.request_id}) is {entry.status.value}, not Quarantined"
        )
    return entry


def set_outcome(conn: Connection, ref: int, code: str) -> None:
    """The response code the request was finally answered with."""
    conn.execute(update(ad_quarantine).where(_q.ref == ref).values(outcome=code))


_DUE = (
    select(_q.ref)
    .where(
        _q.status == Status.QUARANTINED.value,
        _q.expires_at <= bindparam("now", type_=UTCDateTime()),
    )
    .order_by(_q.ref)
)
_NEXT_EXPIRY = select(func.min(_q.expires_at)).where(_q.status == Status.QUARANTINED.value)


def due(conn: Connection, now: datetime) -> list[int]:
    """The refs still Quarantined whose expiry has come."""
    return [int(r) for r in conn.execute(_DUE, {"now": now}).scalars()]


def next_expiry(conn: Connection) -> datetime | None:
    """When the first request still in quarantine expires (None: the queue is empty)."""
    value = conn.execute(_NEXT_EXPIRY).scalar_one_or_none()
    return None if value is None else UTCDateTime().process_result_value(value, conn.dialect)
