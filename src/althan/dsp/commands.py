"""The GBCS commands the DSP has sent for a Service Request, awaiting the device's response.

Each row links the SM WAN `GbcsCommand` (by its msg_id) to the request it answers, so the
response can be routed back to the user and to the SRV's own response handling. A critical
request's Transform also records here the SHA-256 of the pre-command it issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from sqlalchemy import Connection, bindparam, insert, select, update

from althan.duis.envelope import RequestId
from althan.model import EUI64
from althan.store.tables import device_commands

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
) -> None:
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
        )
    )


_FIND = select(device_commands).where(device_commands.c.msg_id == bindparam("command"))
_DONE = (
    update(device_commands)
    .where(device_commands.c.msg_id == bindparam("command"))
    .values(done_at=bindparam("now"))
)


def find(conn: Connection, msg_id: str) -> CommandRecord | None:
    r = conn.execute(_FIND, {"command": msg_id}).first()
    if r is None:
        return None
    return CommandRecord(
        r.msg_id,
        RequestId.parse(r.request_id),
        r.user_eui,
        r.srv,
        r.device,
        r.chf,
        r.detail,
        r.done_at is not None,
    )


def mark_done(conn: Connection, msg_id: str, now: datetime) -> None:
    conn.execute(_DONE, {"command": msg_id, "now": now})
