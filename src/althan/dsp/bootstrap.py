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
from althan.store.tables import chf_device_log, devices


@dataclass(frozen=True, slots=True)
class InventoryDevice:
    """A device the DCC knows from its own processes, as the SMI holds it."""

    eui: EUI64
    device_type: str
    manufacturer: str
    model: str
    firmware_version: str
    region: str
    chf: EUI64 | None
    supplier: EUI64 | None
    status: str = DeviceStatus.COMMISSIONED.value
    variant: str | None = None
    """The Alt HAN Device Variant of a bridge (a PPMID, SECMP0170)."""
    hardware_version: int | None = None
    in_device_log: bool = False
    """Already in its CHF's device log (an installed Type 1 device)."""
    smets_version: str | None = None

    def row(self, now: datetime) -> dict[str, object]:
        return {
            "eui": self.eui,
            "device_type": self.device_type,
            "status": self.status,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "hardware_version": self.hardware_version,
            "firmware_version": self.firmware_version,
            "variant": self.variant,
            "region": self.region,
            "chf": self.chf,
            "supplier": self.supplier,
            "gbcs_version": "4.0",
            "smets_version": self.smets_version
            or ("CHTS V1.4" if self.device_type == "CHF" else "SMETS V5.0"),
            "commissioned_at": now,
            "updated_at": now,
        }


BATCH = 10_000


def seed_inventory(conn: Connection, rows: Sequence[InventoryDevice], now: datetime) -> int:
    """Insert `rows` (and the device-log entries of those in one), set-based, in batches."""
    for i in range(0, len(rows), BATCH):
        batch = rows[i : i + BATCH]
        conn.execute(insert(devices), [r.row(now) for r in batch])
        logged = [
            {"chf": r.chf, "device": r.eui, "added_at": now}
            for r in batch
            if r.in_device_log and r.chf is not None
        ]
        if logged:
            conn.execute(insert(chf_device_log), logged)
    records.versions_given(
        conn, ((r.eui, r.firmware_version) for r in rows), now, records.Source.SEED
    )
    return len(rows)
