"""Pages: the device search (`/devices?q=…`) and a device's own page (`/devices/{EUI}`).

A device another supplier is responsible for answers 404, exactly as an unknown one does:
a supplier cannot learn that it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select
from starlette.responses import Response

from althan.dsp import smi
from althan.model import EUI64, AltHANVariant, DeviceStatus, DeviceType, Region
from althan.ssi import scope, search
from althan.ssi.accounts import Role
from althan.ssi.web import PageRequest
from althan.store.tables import (
    alerts,
    chf_device_log,
    device_commands,
    devices,
    firmware_deliveries,
    outbox,
    service_requests,
)

HISTORY_ROWS = 200
FIRMWARE_ALERTS = ("N39", "N42")


def search_page(pr: PageRequest) -> Response:
    who = pr.principal
    fields = {k: pr.param(k) for k in search.KEYS if pr.param(k)}
    query = search.parse(pr.param("q")[:500], fields)
    after_text = pr.param("after")
    after: EUI64 | None = None
    errors = list(query.errors)
    if after_text:
        try:
            after = EUI64.parse(after_text)
        except ValueError:
            errors.append(f"after {after_text!r} is not an EUI-64")
    page = search.SearchPage([], False)
    if not errors:
        with pr.portal.engine.connect() as conn:
            seen_eqs, seen_where = scope.device_filters(who)
            eqs, where = search.conditions(query)
            page = search.search(
                conn,
                [*seen_eqs, *eqs],
                [*seen_where, *where],
                after=after,
                limit=pr.portal.config.page_size,
            )
    missing = None
    if not errors and not page.rows and "eui" in query.filters and after is None:
        missing = query.filters["eui"]
    return pr.render(
        "devices.html.j2",
        q=pr.param("q")[:500],
        query=query,
        fields=fields,
        errors=errors,
        page=page,
        missing=missing,
        page_number=_int(pr.param("page"), 1),
        kind=scope.device_kind,
        choices={
            "type": [t.value for t in DeviceType if t is not DeviceType.IHD],
            "variant": [v.value for v in AltHANVariant],
            "status": [s.value for s in DeviceStatus],
            "region": [r.value for r in Region],
        },
    )


def _int(text: str, default: int) -> int:
    return int(text) if text.isdigit() and len(text) < 9 else default


def device_page(pr: PageRequest) -> Response:
    who = pr.principal
    text = pr.path_param("eui")
    try:
        eui = EUI64.parse(text)
    except ValueError:
        return pr.problem(404, "No such device", f"{text!r} is not an EUI-64.")
    with pr.portal.engine.connect() as conn:
        row = smi.get_device(conn, eui)
        if not scope.sees_device(who, row):
            return pr.problem(404, "No such device", f"No device {eui} that you may see.")
        facts = _facts(conn, row, who)
    return pr.render(
        "device.html.j2", d=row, kind=scope.device_kind(row.device_type, row.variant), **facts
    )


def _facts(conn: Connection, row: Any, who: Any) -> dict[str, Any]:
    eui = row.eui
    hub = smi.get_device(conn, row.chf) if row.chf is not None else None
    home: list[Any] = []
    hidden = 0
    log: Sequence[Any] = []
    if row.chf is not None:
        q = select(*search.COLUMNS).where(devices.c.chf == row.chf).order_by(devices.c.eui)
        for r in conn.execute(q.limit(50)):
            if scope.sees_device(who, r):
                home.append(r)
            else:
                hidden += 1
        log = conn.execute(
            select(chf_device_log.c.device, chf_device_log.c.added_at)
            .where(chf_device_log.c.chf == row.chf)
            .order_by(chf_device_log.c.added_at)
        ).all()
    seen = scope.traffic_seen(who, alerts.c.user_eui)
    alert_rows = conn.execute(
        select(alerts, outbox.c.id.label("message"))
        .select_from(alerts.outerjoin(outbox, outbox.c.alert_id == alerts.c.id))
        .where(alerts.c.device == eui, *seen)
        .order_by(alerts.c.id.desc())
        .limit(HISTORY_ROWS)
    ).all()
    mine: list[Any] = []
    if who.role is Role.SUPPLIER:  # a RequestID starts with its originator's EUI
        mine = [firmware_deliveries.c.request_id.startswith(f"{who.user}:")]
    deliveries = conn.execute(
        select(firmware_deliveries)
        .where(firmware_deliveries.c.device == eui, *mine)
        .order_by(firmware_deliveries.c.id.desc())
        .limit(HISTORY_ROWS)
    ).all()
    commands = conn.execute(
        select(
            device_commands.c.request_id,
            device_commands.c.srv,
            device_commands.c.created_at,
            device_commands.c.done_at,
            device_commands.c.user_eui,
            service_requests.c.response_code,
        )
        .select_from(
            device_commands.outerjoin(
                service_requests,
                service_requests.c.request_id == device_commands.c.request_id,
            )
        )
        .where(
            device_commands.c.device == eui, *scope.traffic_seen(who, device_commands.c.user_eui)
        )
        .order_by(device_commands.c.created_at.desc())
        .limit(HISTORY_ROWS)
    ).all()
    history = _firmware_history(row, deliveries, alert_rows)
    return {
        "hub": hub if scope.sees_device(who, hub) else None,
        "hub_eui": row.chf,
        "home": home,
        "hidden": hidden,
        "device_log": log,
        "alerts": alert_rows,
        "deliveries": deliveries,
        "commands": commands,
        "history": history,
    }


def _firmware_history(
    row: Any, deliveries: Sequence[Any], alert_rows: Sequence[Any]
) -> list[dict[str, Any]]:
    """Every firmware version change seen for the device, newest first: activations (N39) and
    read-back mismatches (N42) from its alerts, with the delivery that brought each."""
    by_version = {d.firmware_version: d for d in deliveries if d.status == "Activated"}
    out: list[dict[str, Any]] = []
    for a in alert_rows:
        if a.code not in FIRMWARE_ALERTS:
            continue
        version = a.detail if a.code == "N39" else None
        d = by_version.get(version or "")
        out.append(
            {
                "at": a.created_at,
                "version": version,
                "source": "activation (N39)" if a.code == "N39" else "11.2 read back (N42)",
                "request_id": d.request_id if d is not None else None,
            }
        )
    if row.commissioned_at is not None:
        out.append(
            {
                "at": row.commissioned_at,
                "version": None,
                "source": "commissioned",
                "request_id": None,
            }
        )
    return out
