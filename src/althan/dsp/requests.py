"""The request log: every Service Request the DSP processed, with its answer.

A request is recorded in the transaction that processed it, so a refused request (rolled
back) leaves no row, and a RequestID can be recorded only once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert

from althan.duis.envelope import RequestId
from althan.store.prepared import Prepared
from althan.store.tables import service_requests

_RECORD = Prepared(
    insert(service_requests),
    keys=(
        "request_id",
        "user_eui",
        "counter",
        "srv",
        "received_at",
        "response_code",
        "device_count",
    ),
)


def record(
    conn: Connection, request_id: RequestId, srv: str, now: datetime, code: str, devices: int
) -> None:
    """Raises `IntegrityError` when the RequestID was recorded before."""
    _RECORD.run(
        conn,
        {
            "request_id": str(request_id),
            "user_eui": request_id.originator,
            "counter": request_id.counter,
            "srv": srv,
            "received_at": now,
            "response_code": code,
            "device_count": devices,
        },
    )
