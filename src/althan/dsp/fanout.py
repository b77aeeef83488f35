"""SRV 11.4's fan-out in the store: the per-device checks, and the deliveries, in one statement.

An 11.4 names up to 50,000 devices. Instead of reading every device's SMI row and delivery
state into Python, checking each there and inserting the deliveries back, `start` runs ONE
``INSERT INTO firmware_deliveries … SELECT … RETURNING``: the requested list travels as one
text parameter expanded in SQL (`althan.store.bulk.id_rows`), and the checks of
`althan.dsp.srv_11.classify` are its WHERE clause, in SQL:

- a known Type 1 device whose responsible supplier is the user (else InvalidDeviceIDList);
- Commissioned, behind a CHF (else NotCommissionedDeviceIDList);
- its (manufacturer, model) one of `fitting`, the pairs an Active CPL entry for the image fits
  (else NotApplicableFirmwareDeviceIDList) — decided in Python per distinct pair (`models`
  lists the few there are), passed as one parameter, and left out of the statement when
  every pair found fits;
- no delivery in progress (else OtherRequestInProgressList);
- GBCS 2.0 or later, or not recorded (else InvalidGBCSVersionList).

The devices that proceed come back from RETURNING; only the others are read back (`rows_of`)
for `classify` to put each in its warning list, so the lists are exactly those `classify`
builds from all the rows, in the same order.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, TextClause, bindparam, text

from althan.model import TYPE1_DEVICE_TYPES, DeviceStatus
from althan.store.bulk import id_rows, pair_rows
from althan.store.prepared import Prepared
from althan.store.types import UTCDateTime

__all__ = [
    "COMMISSIONED",
    "MIN_GBCS_VERSION",
    "TYPES",
    "models",
    "rows_of",
    "start",
]

TYPES = frozenset(t.value for t in TYPE1_DEVICE_TYPES)
COMMISSIONED = DeviceStatus.COMMISSIONED.value
MIN_GBCS_VERSION = "2.0"
_DISTRIBUTED = "Distributed"  # firmware.DeliveryState.DISTRIBUTED (firmware imports nothing here)


def _ours(dialect: str) -> str:
    """The first two checks (the device's own SMI row), on ``d`` joined to ``req``."""
    types = ", ".join(f"'{t}'" for t in sorted(TYPES))
    return (
        f"FROM {id_rows(dialect, 'ids')} JOIN devices AS d ON d.eui = req.eui "
        f"WHERE d.device_type IN ({types}) AND d.supplier = :user "
        f"AND d.status = '{COMMISSIONED}' AND d.chf IS NOT NULL"
    )


@functools.cache
def _models(dialect: str) -> TextClause:
    return text(f"SELECT DISTINCT d.manufacturer, d.model {_ours(dialect)}")


@functools.cache
def _start(dialect: str, *, every_model_fits: bool) -> Prepared:
    # string order as Python's (code points): PostgreSQL compares in the database's collation
    c = ' COLLATE "C"' if dialect == "postgresql" else ""
    # when every (manufacturer, model) `models` found fits, the fit check is true of every
    # device that passes the first two checks: the statement leaves it out
    fit = (
        ""
        if every_model_fits
        else f"AND (d.manufacturer, d.model) IN ({pair_rows(dialect, 'fits')}) "
    )
    stmt = text(
        "INSERT INTO firmware_deliveries (deadline, request_id, device, chf, region, "
        "image_sha256, firmware_version, status, active, updated_at, distributed_at) "
        f"SELECT :deadline, :rid, d.eui, d.chf, d.region, :sha, :version, '{_DISTRIBUTED}', 1, "
        f":now, :now {_ours(dialect)} "
        f"{fit}"
        "AND NOT EXISTS (SELECT 1 FROM firmware_deliveries AS f "
        "WHERE f.device = d.eui AND f.active = 1) "
        f"AND (d.gbcs_version IS NULL OR d.gbcs_version{c} >= '{MIN_GBCS_VERSION}') "
        "ORDER BY req.ord "
        "RETURNING id, device, chf, region"
    ).bindparams(bindparam("deadline", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()))
    return Prepared(stmt)


@functools.cache
def _rows_of(dialect: str) -> TextClause:
    return text(
        "SELECT d.eui, d.device_type, d.status, d.manufacturer, d.model, d.chf, d.region, "
        "d.supplier, d.gbcs_version, EXISTS (SELECT 1 FROM firmware_deliveries AS f "
        "WHERE f.device = d.eui AND f.active = 1) AS busy "
        f"FROM {id_rows(dialect, 'ids')} JOIN devices AS d ON d.eui = req.eui"
    )


def models(conn: Connection, ids: str, user: int) -> list[tuple[str, str]]:
    """The distinct (manufacturer, model) of the devices in `ids` (`bulk.id_text`) that pass
    the first two checks: the only ones whose fit with the image is asked."""
    return [
        (r[0], r[1]) for r in conn.execute(_models(conn.dialect.name), {"ids": ids, "user": user})
    ]


def start(
    conn: Connection,
    *,
    request_id: str,
    ids: str,
    user: int,
    fitting: Sequence[tuple[str, str]],
    every_model_fits: bool,
    image_sha256: str,
    version: str,
    now: datetime,
    deadline: datetime,
) -> list[tuple[int, int, int, str]]:
    """One Distributed delivery for each device in `ids` (`bulk.id_text`, the request's order)
    that passes every check; those deliveries (``id, device, chf, region``, EUIs as stored), in
    that order. `fitting`: the pairs of `models` that fit the image; `every_model_fits`: all
    of them do."""
    params = {
        "ids": ids,
        "user": user,
        "rid": request_id,
        "sha": image_sha256,
        "version": version,
        "now": now,
        "deadline": deadline,
    }
    if not every_model_fits:
        params["fits"] = json.dumps([list(p) for p in fitting])
    rows = _start(conn.dialect.name, every_model_fits=every_model_fits).tuples(conn, params)
    rows.sort()  # ids follow the SELECT's order; RETURNING's own order is not promised
    return rows


def rows_of(conn: Connection, ids: str) -> tuple[dict[int, Any], set[int]]:
    """The SMI rows (stored EUIs, by EUI) of the known devices in `ids`, and which of them have
    a delivery in progress: what `srv_11.classify` reads."""
    rows: dict[int, Any] = {}
    busy: set[int] = set()
    for r in conn.execute(_rows_of(conn.dialect.name), {"ids": ids}):
        rows[r.eui] = r
        if r.busy:
            busy.add(r.eui)
    return rows, busy
