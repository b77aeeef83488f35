"""The GBCS commands the DSP has sent for a Service Request, awaiting the device's response.

Each row links the SM WAN `GbcsCommand` (by its msg_id) to the request it answers, so the
response can be routed back to the user and to the SRV's own response handling. A critical
request's Transform also records here the SHA-256 of the pre-command it issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update

from althan.dsp.rows import from_row
from althan.duis.envelope import RequestId
from althan.model import EUI64
from althan.store.tables import device_commands
from althan.store.types import UTCDateTime

_NS = UUID("5b1f2a9e-9d0e-4a55-9a52-6b1d7c1f0a11")


@dataclass(frozen=True, slots=True)
class CommandRecord:
    msg_id: str
    request_id: RequestId
    user: EUI64
    srv: str
    device: EUI64
    chf: EUI64
    detail: str
    done: bool


def command_id(request_id: RequestId, device: EUI64) -> str:
    """A stable SM WAN message ID for the command a request sends to a device."""
    return f"cmd-{uuid5(_NS, f'{request_id}/{device}')}"


def record(
    conn: Connection,
    msg_id: str,
    *,
    request_id: RequestId,
    user: EUI64,
    srv: str,
    device: EUI64,
    chf: EUI64,
    detail: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> None:
    """`expires_at`: when the device's silence is answered instead (None: never, for the
    records of pre-commands, which await the user, not a device)."""
    conn.execute(
        insert(device_commands).values(
            msg_id=msg_id,
            request_id=str(request_id),
            user_eui=user,
            srv=srv,
            device=device,
            chf=chf,
            detail=detail,
            created_at=now,
            expires_at=expires_at,
        )
    )


_FIND = select(device_commands).where(device_commands.c.msg_id == bindparam("command"))
_DONE = (
    update(device_commands)
    .where(device_commands.c.msg_id == bindparam("command"))
    .values(done_at=bindparam("now", type_=UTCDateTime()))
)


def find(conn: Connection, msg_id: str) -> CommandRecord | None:
    r = conn.execute(_FIND, {"command": msg_id}).first()
    return None if r is None else _record(r)


def _record(r: Row[Any]) -> CommandRecord:
    return from_row(
        CommandRecord,
        r,
        request_id=RequestId.parse(r.request_id),
        user=r.user_eui,
        done=r.done_at is not None,
    )


def mark_done(conn: Connection, msg_id: str, now: datetime) -> None:
    conn.execute(_DONE, {"command": msg_id, "now": now})


_OPEN = device_commands.c.done_at.is_(None) & device_commands.c.expires_at.is_not(None)
_DUE = (
    select(device_commands)
    .where(_OPEN & (device_commands.c.expires_at <= bindparam("now", type_=UTCDateTime())))
    .order_by(device_commands.c.expires_at, device_commands.c.msg_id)
)
_NEXT = select(func.min(device_commands.c.expires_at)).where(_OPEN)


def expire(conn: Connection, now: datetime) -> list[CommandRecord]:
    """Close every command whose device has not answered by its expiry; what was closed (a
    response arriving later finds it done and is dropped)."""
    due = [_record(r) for r in conn.execute(_DUE, {"now": now})]
    for c in due:
        mark_done(conn, c.msg_id, now)
    return due


def next_expiry(conn: Connection) -> datetime | None:
    """When `expire` next has work (None: no command awaits a device)."""
    value = conn.execute(_NEXT).scalar_one_or_none()
    return None if value is None else UTCDateTime().process_result_value(value, conn.dialect)
