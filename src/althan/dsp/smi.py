"""The Smart Metering Inventory: device records and the CHF device logs.

Every statement the DSP runs on `devices` and `chf_device_log` is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from althan.dsp import cpl, records
from althan.model import EUI64, TYPE1_DEVICE_TYPES, DeviceStatus, DeviceType, Region
from althan.store.bulk import insert_new, raw, select_where_in
from althan.store.prepared import Prepared
from althan.store.tables import chf_device_log, cpl_entries, devices
from althan.store.types import eui_from_db, eui_to_db

_DEVICE = Prepared(
    select(devices).where(devices.c.eui == bindparam("eui", type_=devices.c.eui.type))
)
_NEW_VERSION = Prepared(
    update(devices)
    .where(devices.c.eui == bindparam("eui", type_=devices.c.eui.type))
    .values(firmware_version=bindparam("version"), updated_at=bindparam("now"))
)
_TYPE1 = tuple(t.value for t in TYPE1_DEVICE_TYPES)


def get_device(conn: Connection, eui: EUI64) -> Any:
    """The SMI row of `eui`, or None."""
    return _DEVICE.first(conn, {"eui": eui})


_MODEL = func.upper(func.trim(devices.c.model))
_DEVICE_AND_CPL = Prepared(
    select(
        devices,
        cpl_entries.c.model.label("cpl_model"),
        cpl_entries.c.status.label("cpl_status"),
        cpl_entries.c.hw_min.label("cpl_hw_min"),
        cpl_entries.c.hw_max.label("cpl_hw_max"),
    )
    .outerjoin(
        cpl_entries,
        and_(
            cpl_entries.c.manufacturer == func.upper(devices.c.manufacturer),
            cpl_entries.c.firmware_version == func.upper(devices.c.firmware_version),
            or_(cpl_entries.c.model == func.substr(_MODEL, 1, 4), cpl_entries.c.model == _MODEL),
        ),
    )
    .where(devices.c.eui == bindparam("eui", type_=devices.c.eui.type))
    .order_by(cpl_entries.c.id)
)


def get_device_and_firmware_status(
    conn: Connection, eui: EUI64
) -> tuple[dict[str, Any], str | None] | None:
    """The SMI record of `eui` (as a dict) and the CPL status of the firmware it runs (8.2's
    DeviceFirmwareVersionStatus: the first entry, by id, for its manufacturer, model identifier
    and version whose hardware range holds the model's hardware version), in one round trip;
    None when the SMI has no such device."""
    rows = _DEVICE_AND_CPL.rows(conn, {"eui": eui})
    if not rows:
        return None
    first = rows[0]
    device = {k: v for k, v in first._asdict().items() if not k.startswith("cpl_")}
    if not first.firmware_version:
        return device, None
    model_id, hw = cpl.split_model(first.model)
    for r in rows:
        if r.cpl_status is None or r.cpl_model != model_id:
            continue  # no CPL entry (the outer join's empty side), or the other model form
        if hw is None or r.cpl_hw_min <= hw <= r.cpl_hw_max:
            return device, str(r.cpl_status)
    return device, None


def is_althan(row: Any) -> bool:
    """An Alt HAN P2P device: a PPMID carrying an AltHANDeviceVariant (SECMP0170 Option 1)."""
    return row is not None and row.device_type == DeviceType.PPMID.value and bool(row.variant)


def may_act(row: Any, user: EUI64) -> bool:
    """The responsible supplier may act on its devices."""
    return row is not None and row.supplier == user


REACHABLE = frozenset({DeviceStatus.COMMISSIONED.value})
"""The statuses in which the DSP sends a device commands (with a CHF to reach it by)."""


def is_commissioned(row: Any) -> bool:
    """Commissioned, and behind a known CHF: a device the DSP can reach."""
    return row.status in REACHABLE and row.chf is not None


# ------------------------------------------------------------------ changes to device records


def prenotify(
    conn: Connection, values: Mapping[str, Any], now: datetime, request_id: str | None = None
) -> bool:
    """Insert a pre-notified device (its declared firmware version recorded); False when the
    EUI is already in the SMI (also when another transaction inserts it at the same moment: the
    loser waits, then sees it)."""
    stmt = insert_new(devices, conn.dialect.name, "eui").values(**values)
    if conn.execute(stmt).first() is None:
        return False
    if values.get("firmware_version"):
        records.version_changed(
            conn,
            values["eui"],
            None,
            values["firmware_version"],
            now,
            records.Source.PRENOTIFICATION,
            request_id,
        )
    return True


def update_device(conn: Connection, eui: EUI64, values: Mapping[str, Any], now: datetime) -> None:
    conn.execute(update(devices).where(devices.c.eui == eui).values(**values, updated_at=now))


def set_firmware_version(
    conn: Connection,
    row: Any,
    version: str,
    now: datetime,
    source: records.Source,
    request_id: str | None = None,
) -> None:
    """The device of SMI `row` runs `version`: the SMI takes it, and the change (from the
    row's version, if it differs) is recorded with its source and request."""
    _NEW_VERSION.run(conn, {"eui": row.eui, "version": version, "now": now})
    records.version_changed(conn, row.eui, row.firmware_version, version, now, source, request_id)


def commission(conn: Connection, eui: EUI64, now: datetime) -> None:
    update_device(
        conn, eui, {"status": DeviceStatus.COMMISSIONED.value, "commissioned_at": now}, now
    )


# ------------------------------------------------------------------ CHF device logs


def type1_count(conn: Connection, chf: EUI64) -> int:
    q = (
        select(func.count())
        .select_from(chf_device_log.join(devices, devices.c.eui == chf_device_log.c.device))
        .where(chf_device_log.c.chf == chf, devices.c.device_type.in_(_TYPE1))
    )
    return int(conn.execute(q).scalar_one())


def in_device_log(conn: Connection, chf: EUI64, device: EUI64) -> bool:
    q = select(chf_device_log.c.device).where(
        chf_device_log.c.chf == chf, chf_device_log.c.device == device
    )
    return conn.execute(q).first() is not None


def add_to_device_log(conn: Connection, chf: EUI64, device: EUI64, now: datetime) -> None:
    """The CHF accepted `device` in its log (CCS01): the device is behind that CHF, in its
    region, and a Pending device becomes Whitelisted."""
    entry = {"chf": chf, "device": device, "added_at": now}
    conn.execute(insert_new(chf_device_log, conn.dialect.name), entry)  # kept if already there
    hub = get_device(conn, chf)
    dev = get_device(conn, device)
    values: dict[str, object] = {"chf": chf, "region": hub.region}
    if dev.status == DeviceStatus.PENDING.value:
        values["status"] = DeviceStatus.WHITELISTED.value
    update_device(conn, device, values, now)


def remove_from_device_log(conn: Connection, chf: EUI64, device: EUI64) -> None:
    conn.execute(
        chf_device_log.delete().where(
            chf_device_log.c.chf == chf, chf_device_log.c.device == device
        )
    )


def region_of(row: Any) -> Region:
    return Region(row.region)


# ------------------------------------------------------------------ views of the fleet

_ALTHAN = select(
    devices.c.eui, devices.c.variant, devices.c.firmware_version, devices.c.region, devices.c.status
).where(devices.c.variant.is_not(None))


def althan_devices(conn: Connection) -> list[Any]:
    """Every Alt HAN device: EUI, variant, firmware version, region, status."""
    return list(conn.execute(_ALTHAN))


def count_althan(conn: Connection, *, status: str | None = None, version: str | None = None) -> int:
    """How many Alt HAN devices (with that status / firmware version)."""
    q = select(func.count()).select_from(devices).where(devices.c.variant.is_not(None))
    if status is not None:
        q = q.where(devices.c.status == status)
    if version is not None:
        q = q.where(devices.c.firmware_version == version)
    return int(conn.execute(q).scalar_one())


def device_log_entries(conn: Connection) -> set[tuple[EUI64, EUI64]]:
    """Every (CHF, device) of the CHF device logs."""
    return {(r.chf, r.device) for r in conn.execute(select(chf_device_log))}


def firmware_versions(conn: Connection, euis: Sequence[EUI64]) -> dict[EUI64, str | None]:
    """The SMI firmware version of each of `euis` it knows."""
    stored = [eui_to_db(e) for e in euis]
    q = select(raw(devices.c.eui).label("eui"), devices.c.firmware_version)
    return {
        eui_from_db(r.eui): r.firmware_version
        for r in select_where_in(conn, q, devices.c.eui, stored)
    }


def known(conn: Connection, euis: Sequence[EUI64]) -> set[EUI64]:
    """Which of `euis` the SMI holds."""
    return set(firmware_versions(conn, euis))


_LISTED = (
    "eui",
    "device_type",
    "variant",
    "status",
    "firmware_version",
    "manufacturer",
    "model",
    "chf",
    "region",
    "supplier",
)


def listing(
    conn: Connection,
    *,
    device_type: str | None = None,
    variant: str | None = None,
    status: str | None = None,
    supplier: EUI64 | None = None,
) -> list[dict[str, str | None]]:
    """SMI records as text (EUIs hyphenated), filtered, in EUI order."""
    q = select(*(devices.c[c] for c in _LISTED)).order_by(devices.c.eui)
    for col, value in (("device_type", device_type), ("variant", variant), ("status", status)):
        if value is not None:
            q = q.where(devices.c[col] == value)
    if supplier is not None:
        q = q.where(devices.c.supplier == supplier)
    return [
        {c: (None if r[i] is None else str(r[i])) for i, c in enumerate(_LISTED)}
        for r in conn.execute(q)
    ]
