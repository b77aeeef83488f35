"""Pages: the request audit and the alerts sent (the RSAT_002 idea), and the signed XML of
every message the DSP sent a user, to read or to download.

A request's page lists what it named and what the DSP sent back asynchronously (device
responses, each signed); an alert's page shows it as it was signed. A message is the `outbox`
row that carried it: the signed bytes exactly as they went (or will go) to the endpoint.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, or_, select
from starlette.responses import Response

from althan.ssi import scope
from althan.ssi.web import PageRequest, Principal
from althan.store.tables import (
    alerts,
    device_commands,
    firmware_deliveries,
    outbox,
    service_requests,
)

sr = service_requests.c


def _keyset(conn: Connection, q: Any, before: str) -> Any:
    if not before:
        return q
    cut = conn.execute(select(sr.received_at).where(sr.request_id == before)).scalar_one_or_none()
    if cut is None:
        return q
    return q.where(or_(sr.received_at < cut, and_(sr.received_at == cut, sr.request_id < before)))


def requests_page(pr: PageRequest) -> Response:
    who = pr.principal
    limit = pr.portal.config.page_size
    srv = pr.param("srv").strip()[:12]
    code = pr.param("code").strip()[:10]
    with pr.portal.engine.connect() as conn:
        q = select(service_requests).where(*scope.traffic_seen(who, sr.user_eui))
        if srv:
            q = q.where(sr.srv == srv)
        if code:
            q = q.where(sr.response_code == code)
        q = _keyset(conn, q, pr.param("before"))
        rows = conn.execute(
            q.order_by(sr.received_at.desc(), sr.request_id.desc()).limit(limit + 1)
        ).all()
        alert_rows = _alerts(conn, who, pr.param("alerts_before"), limit)
    return pr.render(
        "requests.html.j2",
        rows=rows[:limit],
        more=len(rows) > limit,
        srv=srv,
        code=code,
        alerts=alert_rows[:limit],
        more_alerts=len(alert_rows) > limit,
    )


def _alerts(conn: Connection, who: Principal, before: str, limit: int) -> list[Any]:
    q = (
        select(alerts, outbox.c.id.label("message"), outbox.c.sent_at)
        .select_from(alerts.outerjoin(outbox, outbox.c.alert_id == alerts.c.id))
        .where(*scope.traffic_seen(who, alerts.c.user_eui))
    )
    if before.isdigit():
        q = q.where(alerts.c.id < int(before))
    return list(conn.execute(q.order_by(alerts.c.id.desc()).limit(limit + 1)).all())


def request_page(pr: PageRequest) -> Response:
    who = pr.principal
    rid = pr.path_param("request_id")
    with pr.portal.engine.connect() as conn:
        req = conn.execute(select(service_requests).where(sr.request_id == rid)).first()
        if req is None or not scope.sees_traffic_of(who, req.user_eui):
            return pr.problem(404, "No such request", f"No request {rid!r} that you may see.")
        messages = conn.execute(
            select(outbox.c.id, outbox.c.created_at, outbox.c.sent_at, outbox.c.attempts)
            .where(outbox.c.request_id == rid)
            .order_by(outbox.c.id)
        ).all()
        commands = conn.execute(
            select(device_commands).where(device_commands.c.request_id == rid).limit(100)
        ).all()
        delivered = conn.execute(
            select(firmware_deliveries.c.device).where(firmware_deliveries.c.request_id == rid)
        ).first()
    return pr.render(
        "request.html.j2",
        req=req,
        messages=messages,
        commands=commands,
        deployment=delivered is not None or req.srv == "11.4",
    )


def _message(pr: PageRequest) -> Any:
    """The signed DUIS message of the path's ``message_id``, if the reader may see it (else
    None): a DCC operator sees every one, a user those sent to it."""
    message_id, who = pr.path_param("message_id"), pr.principal
    if not message_id.isdigit() or len(message_id) > 12:
        return None
    with pr.portal.engine.connect() as conn:
        r = conn.execute(
            select(outbox, alerts.c.code)
            .select_from(outbox.outerjoin(alerts, alerts.c.id == outbox.c.alert_id))
            .where(outbox.c.id == int(message_id), outbox.c.kind == "duis")
        ).first()
    if r is None or not (who.is_dcc or (who.user is not None and r.destination == str(who.user))):
        return None
    return r


def _no_message(pr: PageRequest) -> Response:
    mid = pr.path_param("message_id")
    return pr.problem(404, "No such message", f"No message {mid!r} that you may see.")


def message_page(pr: PageRequest) -> Response:
    m = _message(pr)
    if m is None:
        return _no_message(pr)
    xml = bytes(m.payload).decode("utf-8", "replace")
    return pr.render("message.html.j2", m=m, xml=xml)


def message_download(pr: PageRequest) -> Response:
    m = _message(pr)
    if m is None:
        return _no_message(pr)
    name = f"althan-{m.code or 'response'}-{m.id}.xml"
    return Response(
        bytes(m.payload),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
