"""Records of firmware (business requirement 5): every version change of every device, and the
deployment record of every 11.4.

A device's firmware version changes in the SMI in five ways, each recorded here in the
transaction that makes it, with its time, its source and the request that caused it:

- ``seed``: the DCC's own inventory (Comms Hubs and meters, `althan.dsp.bootstrap`);
- ``pre-notification``: the version a 12.2 declared when the supplier pre-notified it;
- ``8.4``: a supplier's 8.4 Update Inventory giving a FirmwareVersion;
- ``N39``: the device's own signed CS09 activation (0x8F8B) — the request is the 11.4 whose
  delivery it closed, if any;
- ``11.2 mismatch``: an 11.2 read back another version than the SMI held (N42).

The deployment record of an 11.4 is its rows of `firmware_deliveries`: one per device, with the
time it reached each stage (Distributed, Delivered, Transferred, Activated or Failed) and its
outcome (`althan.dsp.firmware`). Both export set-based, newest last.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from althan.model import EUI64
from althan.store.prepared import Prepared
from althan.store.tables import firmware_deliveries, firmware_history, service_requests


class Source(enum.StrEnum):
    """What made a device's firmware version change (`firmware_history.source`)."""

    SEED = "seed"
    PRENOTIFICATION = "pre-notification"
    INVENTORY_UPDATE = "8.4"
    N39 = "N39"
    READ_BACK = "11.2 mismatch"


_INSERT = insert(firmware_history)
_RECORD = Prepared(
    _INSERT,
    keys=("device", "previous_version", "firmware_version", "at", "source", "request_id"),
)


def version_changed(
    conn: Connection,
    device: EUI64,
    previous: str | None,
    version: str,
    now: datetime,
    source: Source,
    request_id: str | None = None,
) -> bool:
    """Record that `device` went from `previous` to `version`; False (nothing recorded) when
    the version did not change."""
    if previous == version:
        return False
    _RECORD.run(
        conn,
        {
            "device": device,
            "previous_version": previous,
            "firmware_version": version,
            "at": now,
            "source": source.value,
            "request_id": request_id,
        },
    )
    return True


def versions_given(
    conn: Connection, rows: Iterable[tuple[EUI64, str | None]], now: datetime, source: Source
) -> int:
    """Record the first version of many devices at once (seeded records): one insert."""
    batch = [
        {
            "device": eui,
            "previous_version": None,
            "firmware_version": version,
            "at": now,
            "source": source.value,
            "request_id": None,
        }
        for eui, version in rows
        if version
    ]
    if batch:
        conn.execute(_INSERT, batch)  # insertmanyvalues: many rows per statement
    return len(batch)


# ------------------------------------------------------------------ export


@dataclass(frozen=True, slots=True)
class VersionChange:
    at: datetime
    device: EUI64
    previous_version: str | None
    firmware_version: str
    source: str
    request_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "device": str(self.device),
            "previous_version": self.previous_version,
            "firmware_version": self.firmware_version,
            "source": self.source,
            "request_id": self.request_id,
        }


VERSION_FIELDS: tuple[str, ...] = (
    "at",
    "device",
    "previous_version",
    "firmware_version",
    "source",
    "request_id",
)


def iso(t: datetime | None) -> str | None:
    """A UTC time as the records print it (``2026-12-01T09:00:00.000000Z``: one width, so the
    text sorts as the time does)."""
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_changes(
    conn: Connection, since: datetime, device: EUI64 | None = None
) -> list[VersionChange]:
    """Every version change at or after `since` (of `device` only, if given), oldest first."""
    h = firmware_history.c
    q = select(firmware_history).where(h.at >= since).order_by(h.at, h.id)
    if device is not None:
        q = q.where(h.device == device)
    return [
        VersionChange(
            r.at, r.device, r.previous_version, r.firmware_version, r.source, r.request_id
        )
        for r in conn.execute(q)
    ]


STAGES = ("distributed", "delivered", "transferred", "activated", "failed")


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """One device of one 11.4: who asked, when, which version, each stage's time, outcome."""

    request_id: str
    user: EUI64
    requested_at: datetime
    device: EUI64
    firmware_version: str
    image_sha256: str
    stages: tuple[datetime | None, ...]  # in STAGES order
    status: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "user": str(self.user),
            "requested_at": iso(self.requested_at),
            "device": str(self.device),
            "firmware_version": self.firmware_version,
            "image_sha256": self.image_sha256,
            **{f"{s}_at": iso(t) for s, t in zip(STAGES, self.stages, strict=True)},
            "status": self.status,
            "reason": self.reason,
        }


DEPLOYMENT_FIELDS: tuple[str, ...] = (
    "request_id",
    "user",
    "requested_at",
    "device",
    "firmware_version",
    "image_sha256",
    *(f"{s}_at" for s in STAGES),
    "status",
    "reason",
)


def deployments(
    conn: Connection, since: datetime, device: EUI64 | None = None
) -> list[DeploymentRecord]:
    """The deployment records of the 11.4s received at or after `since`, by request then
    device."""
    d, sr = firmware_deliveries.c, service_requests.c
    q = (
        select(
            firmware_deliveries,
            sr.user_eui,
            sr.received_at,
        )
        .join(service_requests, sr.request_id == d.request_id)
        .where(sr.received_at >= since)
        .order_by(sr.received_at, d.request_id, d.id)
    )
    if device is not None:
        q = q.where(d.device == device)
    return [
        DeploymentRecord(
            r.request_id,
            r.user_eui,
            r.received_at,
            r.device,
            r.firmware_version,
            r.image_sha256,
            tuple(getattr(r, f"{s}_at") for s in STAGES),
            r.status,
            r.reason,
        )
        for r in conn.execute(q)
    ]
