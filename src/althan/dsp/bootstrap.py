"""What the DCC knows before any user speaks: registered users, Comms Hubs and meters.

The CHF and meter records come from the DCC's own processes (CH pre-notification by the CSPs,
SMETS2 installs), not from the Alt HAN flow; seeding them is set-based.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection, insert, select, update

from althan.model import EUI64, DeviceStatus, UserRole
from althan.store.tables import devices, users


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


def register_user(
    conn: Connection,
    eui: EUI64,
    name: str,
    roles: Iterable[UserRole],
    now: datetime,
    *,
    cert: x509.Certificate | None = None,
    endpoint: str | None = None,
    althanco: bool = False,
) -> None:
    """Add (or update) a DCC user; idempotent."""
    values = {
        "name": name,
        "roles": ",".join(sorted(r.value for r in roles)),
        "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode() if cert else None,
        "cert_issuer": cert.issuer.rfc4514_string() if cert else None,
        "cert_serial": str(cert.serial_number) if cert else None,
        "endpoint": endpoint,
        "is_althanco": 1 if althanco else 0,
    }
    if conn.execute(select(users.c.eui).where(users.c.eui == eui)).first() is None:
        conn.execute(insert(users).values(eui=eui, created_at=now, last_counter=None, **values))
    else:
        conn.execute(update(users).where(users.c.eui == eui).values(**values))


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
    return len(rows)
