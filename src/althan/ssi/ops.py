"""Page: DCC operations. The outbox backlog and delivery failures per endpoint (from the
outbox itself), the load on each CSP region over time (SM WAN messages the DSP sent each
region, by hour, and the deliveries in progress per region), and the anomaly-detection
quarantine (`althan.ssi.held`: release or reject each held request).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement
from starlette.responses import Response

from althan.dsp import users
from althan.ssi import charts, held
from althan.ssi.web import PageRequest
from althan.store.tables import firmware_deliveries, outbox

HOURS = 48
o = outbox.c


def hour_of(col: Any, dialect: str) -> ColumnElement[str]:
    """The hour a stored UTC time falls in, as text ``YYYY-MM-DD HH:00``."""
    if dialect == "postgresql":
        return func.to_char(
            func.date_trunc("hour", func.timezone("UTC", col)),
            literal_column("'YYYY-MM-DD HH24:00'"),
        )
    return func.strftime("%Y-%m-%d %H:00", col)


def ops_page(pr: PageRequest) -> Response:
    now = pr.portal.clock()
    with pr.portal.engine.connect() as conn:
        backlog = conn.execute(
            select(
                o.kind,
                o.destination,
                func.count().label("n"),
                func.min(o.created_at).label("oldest"),
                func.max(o.attempts).label("attempts"),
            )
            .where(o.sent_at.is_(None))
            .group_by(o.kind, o.destination)
            .order_by(o.kind, o.destination)
        ).all()
        failing = conn.execute(
            select(
                o.destination,
                func.count().label("messages"),
                func.sum(o.attempts).label("attempts"),
                func.sum(case((o.sent_at.is_(None), 1), else_=0)).label("unsent"),
                func.max(o.created_at).label("latest"),
            )
            .where(o.kind == "duis", o.attempts > 0)
            .group_by(o.destination)
            .order_by(func.sum(o.attempts).desc())
        ).all()
        endpoints = {str(u.eui): u.endpoint for u in users.all_users(conn)}
        hour = hour_of(o.created_at, conn.dialect.name)
        load = conn.execute(
            select(
                hour.label("hour"),
                o.destination,
                func.count().label("n"),
                func.sum(func.length(o.payload)).label("bytes"),
            )
            .where(o.kind == "smwan", o.created_at >= now - timedelta(hours=HOURS))
            .group_by(hour, o.destination)
            .order_by(hour)
        ).all()
        in_progress = conn.execute(
            select(
                firmware_deliveries.c.region, firmware_deliveries.c.status, func.count().label("n")
            )
            .where(firmware_deliveries.c.active == 1)
            .group_by(firmware_deliveries.c.region, firmware_deliveries.c.status)
        ).all()
        queue = held.queue(conn)
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for r in load:
        table[str(r.hour)[11:]][r.destination] = int(r.n)
    regions: dict[str, dict[str, int]] = defaultdict(dict)
    for r in in_progress:
        regions[r.region][r.status] = int(r.n)
    return pr.render(
        "ops.html.j2",
        backlog=backlog,
        failing=failing,
        endpoints=endpoints,
        load=load,
        load_chart=charts.stacked(dict(table), ("North", "Central", "South")) if table else None,
        regions=dict(sorted(regions.items())),
        hours=HOURS,
        now=now,
        queue=queue,
        can_decide=pr.portal.dsp is not None,
        notice=held.notice(pr.param("notice")),
    )
