"""Pages: reports. Device status and firmware (RSMI_002's idea) for the devices the reader
may see, and AltHANCo's deployed-versions report (by variant, model, version, region and CPL
status) — `althan.reports.deployed`, the very function `althan report` prints — each with a
chart and a CSV download.
"""

from __future__ import annotations

from starlette.responses import Response

from althan.reports.deployed import deployed
from althan.reports.rollout import versions_csv
from althan.reports.status import device_status
from althan.ssi import charts, scope
from althan.ssi.accounts import Role
from althan.ssi.web import PageRequest

VARIANTS = ("B1", "B2", "B3", "B4")


def reports_page(pr: PageRequest) -> Response:
    who = pr.principal
    with pr.portal.engine.connect() as conn:
        status = device_status(conn, scope.devices_seen(who))
        rep = deployed(conn) if who.role is not Role.SUPPLIER else None
    status_chart = charts.stacked(
        {k: v for k, v in status.by_type.items()}, sorted(status.by_status)
    )
    deployed_chart = charts.stacked(rep.by_region_variant, VARIANTS) if rep is not None else None
    return pr.render(
        "reports.html.j2",
        rsmi=status,
        status_chart=status_chart,
        rep=rep,
        deployed_chart=deployed_chart,
    )


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def status_csv(pr: PageRequest) -> Response:
    with pr.portal.engine.connect() as conn:
        status = device_status(conn, scope.devices_seen(pr.principal))
    return _csv(versions_csv(status.rows), "device-status-firmware.csv")


def deployed_csv(pr: PageRequest) -> Response:
    with pr.portal.engine.connect() as conn:
        rep = deployed(conn)
    return _csv(versions_csv(rep.versions), "deployed-firmware.csv")
