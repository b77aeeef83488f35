"""Device status and firmware (the idea of the DCC's RSMI_002): the SMI counted by device
type and variant, status, firmware version and region, for the devices a reader may see.

One GROUP BY over the SMI; the reader's scope comes in as WHERE conditions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.sql.elements import ColumnElement

from althan.store.tables import devices


@dataclass(frozen=True)
class StatusReport:
    rows: list[dict[str, Any]]  # device_type, variant, status, firmware_version, region, devices
    by_status: dict[str, int]
    by_type: dict[str, dict[str, int]]  # kind (type or Alt HAN variant) -> status -> devices
    devices: int


def device_status(conn: Connection, where: Sequence[ColumnElement[bool]] = ()) -> StatusReport:
    c = devices.c
    cols = (c.device_type, c.variant, c.status, c.firmware_version, c.region)
    q = select(*cols, func.count().label("n")).where(*where).group_by(*cols).order_by(*cols)
    rows: list[dict[str, Any]] = []
    by_status: dict[str, int] = {}
    by_type: dict[str, dict[str, int]] = {}
    total = 0
    for r in conn.execute(q):
        n = int(r.n)
        rows.append(
            {
                "device_type": r.device_type,
                "variant": r.variant or "",
                "status": r.status,
                "firmware_version": r.firmware_version or "",
                "region": r.region or "",
                "devices": n,
            }
        )
        by_status[r.status] = by_status.get(r.status, 0) + n
        kind = f"Alt HAN {r.variant}" if r.variant else r.device_type
        row = by_type.setdefault(kind, {})
        row[r.status] = row.get(r.status, 0) + n
        total += n
    return StatusReport(rows, dict(sorted(by_status.items())), dict(sorted(by_type.items())), total)
