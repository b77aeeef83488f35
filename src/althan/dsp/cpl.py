"""The Central Product List: firmware AltHANCo (or a manufacturer) has assured.

Keys: manufacturer (4 hex digits, the ZigBee manufacturer code), model (4 hex digits, the model
identifier = the OTA image type), hardware version range and firmware version; each entry holds
the image's SHA-256 and its manufacturer-image hash. A device's DUIS DeviceModel is 8 hex digits:
model identifier then hardware version (our reading of the GB CPL convention).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from althan.dsp.rows import from_row
from althan.model import EUI64
from althan.store.tables import cpl_entries, cpl_history, users


class CplStatus(enum.StrEnum):
    ACTIVE = "Active"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"
    WITHDRAWN = "Withdrawn"


class CplError(Exception):
    pass


class NotAuthorised(CplError):
    pass


@dataclass(frozen=True, slots=True)
class CplEntry:
    id: int
    manufacturer: str
    model: str
    hw_min: int
    hw_max: int
    firmware_version: str
    image_sha256: str
    image_hash: str
    status: str
    assured_by: EUI64
    assured_at: datetime


def split_model(device_model: str) -> tuple[str, int | None]:
    """DUIS DeviceModel -> (model identifier, hardware version or None)."""
    m = device_model.strip().upper()
    if len(m) == 8:
        try:
            return m[:4], int(m[4:], 16)
        except ValueError:
            return m, None
    return m, None


def _entry(r: Any) -> CplEntry:
    return from_row(CplEntry, r)


def add_entry(
    conn: Connection,
    *,
    by: EUI64,
    manufacturer: str,
    model: str,
    hw_min: int,
    hw_max: int,
    firmware_version: str,
    image_sha256: str,
    image_hash: str,
    now: datetime,
    althan_models: bool = True,
) -> CplEntry:
    """Assure an image. Only AltHANCo may add entries for Alt HAN models."""
    u = conn.execute(select(users).where(users.c.eui == by)).first()
    if u is None:
        raise NotAuthorised(f"{by} is not a registered user")
    if althan_models and not u.is_althanco:
        raise NotAuthorised(f"{by} is not AltHANCo: only AltHANCo assures Alt HAN firmware")
    if hw_min > hw_max:
        raise CplError(f"hardware range {hw_min}..{hw_max} is empty")
    row = conn.execute(
        insert(cpl_entries)
        .values(
            manufacturer=manufacturer.upper(),
            model=model.upper(),
            hw_min=hw_min,
            hw_max=hw_max,
            firmware_version=firmware_version.upper(),
            image_sha256=image_sha256,
            image_hash=image_hash,
            status=CplStatus.ACTIVE.value,
            assured_by=by,
            assured_at=now,
        )
        .returning(cpl_entries.c.id)
    ).scalar_one()
    conn.execute(
        insert(cpl_history).values(
            entry_id=row, status=CplStatus.ACTIVE.value, by_user=by, at=now, note="assured"
        )
    )
    r = conn.execute(select(cpl_entries).where(cpl_entries.c.id == row)).one()
    return _entry(r)


def set_status(
    conn: Connection, entry_id: int, status: CplStatus, by: EUI64, now: datetime, note: str = ""
) -> CplEntry:
    r = conn.execute(select(cpl_entries).where(cpl_entries.c.id == entry_id)).first()
    if r is None:
        raise CplError(f"no CPL entry {entry_id}")
    u = conn.execute(select(users).where(users.c.eui == by)).first()
    if u is None or not u.is_althanco:
        raise NotAuthorised(f"{by} may not change CPL entries")
    if r.status != CplStatus.ACTIVE.value:
        raise CplError(
            f"CPL entry {entry_id} is {r.status}: only an Active entry can change status "
            "(assure the image again as a new entry)"
        )
    if status is CplStatus.ACTIVE:
        raise CplError(f"CPL entry {entry_id} is already Active")
    conn.execute(update(cpl_entries).where(cpl_entries.c.id == entry_id).values(status=status))
    conn.execute(
        insert(cpl_history).values(
            entry_id=entry_id, status=status.value, by_user=by, at=now, note=note
        )
    )
    return _entry(conn.execute(select(cpl_entries).where(cpl_entries.c.id == entry_id)).one())


def entries(conn: Connection) -> list[CplEntry]:
    return [_entry(r) for r in conn.execute(select(cpl_entries).order_by(cpl_entries.c.id))]


def active_for_image(conn: Connection, image_sha256: str) -> list[CplEntry]:
    q = select(cpl_entries).where(
        cpl_entries.c.image_sha256 == image_sha256,
        cpl_entries.c.status == CplStatus.ACTIVE.value,
    )
    return [_entry(r) for r in conn.execute(q)]
