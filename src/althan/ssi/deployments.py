"""Pages: firmware deployments (each 11.4), and one deployment with its live progress.

A deployment's stages are its deliveries' states (`althan.dsp.firmware`): Distributed,
Delivered to the CH, Transferred, Activated, Failed by reason. Its warning lists are the ones
its synchronous answer carried (kept by the DSP in `firmware_warnings`). The progress chart
plots, over time, the N55 (delivered to the CH) and N56 (transferred) alerts the requester
received for the deployment's devices, and the times its deliveries activated or failed; the
page refreshes it in place (htmx) while any delivery is still in progress.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select
from starlette.responses import Response

from althan.dsp import firmware
from althan.dsp.firmware import DeliveryState
from althan.model import EUI64
from althan.ssi import charts
from althan.ssi.accounts import Role
from althan.ssi.web import PageRequest, Principal
from althan.store.tables import alerts, devices, firmware_deliveries, service_requests

SRV = "11.4"
STAGES = ("Distributed", "Delivered", "Transferred", "Activated", "Failed")
STAGE_NAMES = {"Delivered": "Delivered to CH"}
TRANSFER_FAILED = "CH firmware transfer failed"
fd = firmware_deliveries.c


def _requests_seen(who: Principal) -> list[Any]:
    if who.role is Role.SUPPLIER:
        return [service_requests.c.user_eui == who.user]
    return []  # AltHANCo and the DCC see every 11.4


def _request(conn: Connection, who: Principal, rid: str) -> Any:
    return conn.execute(
        select(service_requests).where(
            service_requests.c.request_id == rid,
            service_requests.c.srv == SRV,
            *_requests_seen(who),
        )
    ).first()


def list_page(pr: PageRequest) -> Response:
    who = pr.principal
    limit = pr.portal.config.page_size
    with pr.portal.engine.connect() as conn:
        q = (
            select(service_requests)
            .where(service_requests.c.srv == SRV, *_requests_seen(who))
            .order_by(service_requests.c.received_at.desc(), service_requests.c.request_id.desc())
        )
        before = pr.param("before")
        if before:
            cut = conn.execute(
                select(service_requests.c.received_at).where(
                    service_requests.c.request_id == before
                )
            ).scalar_one_or_none()
            if cut is not None:
                q = q.where(
                    or_(
                        service_requests.c.received_at < cut,
                        and_(
                            service_requests.c.received_at == cut,
                            service_requests.c.request_id < before,
                        ),
                    )
                )
        rows = conn.execute(q.limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        counts = _counts(conn, [r.request_id for r in rows])
    return pr.render("deployments.html.j2", rows=rows, more=more, counts=counts, stages=STAGES)


def _counts(conn: Connection, rids: list[str]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {rid: Counter() for rid in rids}
    if rids:
        q = (
            select(fd.request_id, fd.status, func.count().label("n"))
            .where(fd.request_id.in_(rids))
            .group_by(fd.request_id, fd.status)
        )
        for r in conn.execute(q):
            out[r.request_id][r.status] = int(r.n)
    return out


def _progress(conn: Connection, req: Any, now: datetime) -> dict[str, Any]:
    rid = req.request_id
    stage: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for r in conn.execute(
        select(fd.status, fd.reason, func.count().label("n"))
        .where(fd.request_id == rid)
        .group_by(fd.status, fd.reason)
    ):
        stage[r.status] += int(r.n)
        if r.status == DeliveryState.FAILED.value:
            reasons[r.reason or "unknown"] += int(r.n)
    total = sum(stage.values())
    series: dict[str, list[datetime]] = {
        "Delivered to CH": [],
        "Transferred": [],
        "Activated": [],
        "Failed": [],
    }
    joined = alerts.join(
        firmware_deliveries, and_(fd.device == alerts.c.device, fd.request_id == rid)
    )
    for r in conn.execute(
        select(alerts.c.code, alerts.c.created_at, alerts.c.detail, fd.reason)
        .select_from(joined)
        .where(
            alerts.c.user_eui == req.user_eui,
            alerts.c.created_at >= req.received_at,
            alerts.c.code.in_(("N55", "N56")),
        )
    ):
        if r.code == "N55" and r.detail == "delivered":
            series["Delivered to CH"].append(r.created_at)
        elif r.code == "N56" and r.reason != TRANSFER_FAILED:
            series["Transferred"].append(r.created_at)
    for r in conn.execute(
        select(fd.status, fd.updated_at).where(
            fd.request_id == rid,
            fd.status.in_((DeliveryState.ACTIVATED.value, DeliveryState.FAILED.value)),
        )
    ):
        series[r.status].append(r.updated_at)
    last = max([req.received_at, *(t for ts in series.values() for t in ts)])
    running = total - stage[DeliveryState.ACTIVATED.value] - stage[DeliveryState.FAILED.value]
    end = max(now, last) if running else last
    return {
        "total": total,
        "stage": stage,
        "reasons": sorted(reasons.items()),
        "running": running,
        "chart": charts.progress(series, total, req.received_at, end),
        "series": {k: len(v) for k, v in series.items()},
        "as_of": now,
    }


def detail_page(pr: PageRequest) -> Response:
    who = pr.principal
    rid = pr.path_param("request_id")
    limit = pr.portal.config.page_size
    after = pr.param("after")
    with pr.portal.engine.connect() as conn:
        req = _request(conn, who, rid)
        if req is None:
            return pr.problem(404, "No such deployment", f"No 11.4 {rid!r} that you may see.")
        progress = _progress(conn, req, pr.portal.clock())
        warnings = firmware.warnings_of(conn, rid)
        q = (
            select(
                fd.device,
                fd.chf,
                fd.region,
                fd.status,
                fd.reason,
                fd.firmware_version,
                fd.updated_at,
                fd.deadline,
                devices.c.variant,
            )
            .select_from(firmware_deliveries.outerjoin(devices, devices.c.eui == fd.device))
            .where(fd.request_id == rid)
            .order_by(fd.device)
        )
        if who.role is Role.ALTHANCO:
            q = q.where(devices.c.variant.is_not(None))
        state = pr.param("state")
        if state in STAGES:
            q = q.where(fd.status == state)
        if after:
            try:
                q = q.where(fd.device > EUI64.parse(after))
            except ValueError:
                return pr.problem(400, "Bad page", f"after {after!r} is not an EUI-64.")
        rows = conn.execute(q.limit(limit + 1)).all()
    return pr.render(
        "deployment.html.j2",
        req=req,
        p=progress,
        warnings=warnings,
        rows=rows[:limit],
        more=len(rows) > limit,
        state=state,
        stages=STAGES,
        stage_names=STAGE_NAMES,
        poll=pr.portal.config.poll_seconds,
    )


def progress_fragment(pr: PageRequest) -> Response:
    """The counts and the chart alone: what the deployment page swaps in every few seconds."""
    rid = pr.path_param("request_id")
    with pr.portal.engine.connect() as conn:
        req = _request(conn, pr.principal, rid)
        if req is None:
            return pr.problem(404, "No such deployment", f"No 11.4 {rid!r} that you may see.")
        progress = _progress(conn, req, pr.portal.clock())
    return pr.render(
        "deployment_progress.html.j2",
        req=req,
        p=progress,
        stages=STAGES,
        stage_names=STAGE_NAMES,
        poll=pr.portal.config.poll_seconds,
    )
