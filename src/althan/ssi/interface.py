"""Pages: DUIS interface settings (as DCC Boxed's "Configure DUIS Interface"): where a user's
asynchronous responses and alerts go (its Receive Response address, `users.endpoint`), and a
"send test alert" button that sends a real signed DCC alert (N999) through the DSP's outbox.

A supplier or AltHANCo account sets its own DUIS user's address; a DCC operator any user's.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from althan.dsp import alerts as dsp_alerts
from althan.dsp import users
from althan.dsp.catalogue import N999
from althan.model import EUI64
from althan.ssi.web import PageRequest
from althan.store.tables import alerts, outbox

_URL = re.compile(r"^https?://[^\s/?#]+(:\d{1,5})?(/[^\s]*)?$")
MAX_URL = 500


def _user(pr: PageRequest, source: str) -> EUI64 | None:
    who = pr.principal
    if not who.is_dcc:
        return who.user
    text = source.strip()
    if not text:
        return None
    try:
        return EUI64.parse(text)
    except ValueError:
        return None


def interface_page(
    pr: PageRequest,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    user: EUI64 | None = None,
) -> Response:
    who = pr.principal
    eui = user or _user(pr, pr.param("user"))
    with pr.portal.engine.connect() as conn:
        all_users = users.all_users(conn) if who.is_dcc else []
        record = users.get(conn, eui) if eui is not None else None
        tests: list[Any] = []
        if record is not None:
            tests = list(
                conn.execute(
                    select(
                        alerts.c.id,
                        alerts.c.created_at,
                        alerts.c.detail,
                        outbox.c.id.label("message"),
                        outbox.c.sent_at,
                        outbox.c.attempts,
                    )
                    .select_from(alerts.outerjoin(outbox, outbox.c.alert_id == alerts.c.id))
                    .where(alerts.c.user_eui == record.eui, alerts.c.code == N999.code)
                    .order_by(alerts.c.id.desc())
                    .limit(10)
                ).all()
            )
    if who.is_dcc and pr.param("user") and record is None and error is None:
        error, status = f"No DUIS user {pr.param('user')[:40]!r}.", 404
    return pr.render(
        "interface.html.j2",
        status=status,
        record=record,
        all_users=all_users,
        tests=tests,
        error=error,
        notice=notice,
        code=N999.code,
    )


def show(pr: PageRequest) -> Response:
    return interface_page(pr)


def set_endpoint(pr: PageRequest) -> Response:
    eui = _user(pr, pr.form.get("user", ""))
    if eui is None:
        return interface_page(pr, status=400, error="Choose a DUIS user.")
    text = pr.form.get("endpoint", "").strip()
    if text and (len(text) > MAX_URL or not _URL.match(text)):
        return interface_page(
            pr,
            status=400,
            user=eui,
            error="The Receive Response address must be an http:// or https:// URL of at "
            f"most {MAX_URL} characters, e.g. http://host:8080/smartdcc/duis. Nothing changed.",
        )
    with pr.portal.engine.begin() as conn:
        found = users.set_endpoint(conn, eui, text or None)
    if not found:
        return interface_page(pr, status=404, user=eui, error=f"No DUIS user {eui}.")
    notice = (
        f"Receive Response address set to {text}." if text else "Receive Response address removed."
    )
    return interface_page(pr, user=eui, notice=notice)


def test_alert(pr: PageRequest) -> Response:
    eui = _user(pr, pr.form.get("user", ""))
    if eui is None:
        return interface_page(pr, status=400, error="Choose a DUIS user.")
    portal = pr.portal
    with portal.engine.begin() as conn:
        record = users.get(conn, eui)
        if record is None:
            return interface_page(pr, status=404, user=eui, error=f"No DUIS user {eui}.")
        alert_id = dsp_alerts.send_test(
            conn,
            portal.services.duis,
            portal.outbox,
            eui,
            portal.clock(),
            detail=f"test alert asked for in the SSI by {pr.principal.login}",
        )
    where = record.endpoint or "no address registered: it waits in the outbox until one is"
    return interface_page(
        pr, user=eui, notice=f"Test alert {N999.code} #{alert_id} queued for {where}."
    )
