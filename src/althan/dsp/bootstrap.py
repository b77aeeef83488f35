"""What the DCC knows before any user speaks: Comms Hubs and meters (users: `althan.dsp.users`).

The CHF and meter records come from the DCC's own processes (CH pre-notification by the CSPs,
SMETS2 installs), not from the Alt HAN flow; seeding them is set-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert

from althan.dsp import records
from althan.model import EUI64, DeviceStatus
from althan.store.tables import devices


@dataclass(frozen=True, slots=True)
class InventoryDevice:
    eui: EUI64
    device_type: str
    manufacturer: str
    model: str
    firmware_version: str
    region: str
    chf: EUI64 | None
    supplier: EUI64 | None
    status: str = DeviceStatus.COMMISSIONED.value


def seed_inventory(conn: Connection, rows: Sequence[InventoryDevice], now: datetime) -> int:
    if not rows:
        return 0
    conn.execute(
        insert(devices),
        [
            {
                "eui": r.eui,
                "device_type": r.device_type,
                "status": r.status,
                "manufacturer": r.manufacturer,
                "model": r.model,
                "firmware_version": r.firmware_version,
                "region": r.region,
                "chf": r.chf,
                "supplier": r.supplier,
                "gbcs_version": "4.0",
                "smets_version": "CHTS V1.4" if r.device_type == "CHF" else "SMETS V5.0",
                "commissioned_at": now,
                "updated_at": now,
            }
            for r in rows
        ],
    )
    records.versions_given(
        conn, ((r.eui, r.firmware_version) for r in rows), now, records.Source.SEED
    )
    return len(rows)
