"""Pages: signing in and out.

The form posts ``login``, ``password`` and ``csrf_token`` to ``/login``. Failed attempts are
counted per login and per client address (`althan.ssi.accounts`): past the limit, sign-in is
refused (429) until the window has passed, whatever the password. A successful sign-in
starts a new session (new CSRF token) carrying the account's session key.
"""

from __future__ import annotations

import secrets

from starlette.responses import Response

from althan.ssi import accounts
from althan.ssi.web import PageRequest, safe_next


def login_page(pr: PageRequest) -> Response:
    if pr.request.method == "GET":
        return pr.render("login.html.j2", next=safe_next(pr.param("next")))
    login = pr.form.get("login", "").strip()[:64]
    password = pr.form.get("password", "")[:1024]
    target = safe_next(pr.form.get("next", ""))
    client = (pr.request.client.host if pr.request.client else "unknown")[:64]
    portal = pr.portal
    now = portal.wall()
    with portal.engine.begin() as conn:
        until = accounts.refused_until(conn, portal.throttle, login, client, now)
    if until is not None:
        wait = max(1, round((until - now).total_seconds() / 60))
        return pr.render(
            "login.html.j2",
            status=429,
            next=target,
            login=login,
            error=f"Too many failed sign-ins for this login or from your address: try again "
            f"in about {wait} minute{'s' if wait != 1 else ''}.",
        )
    with portal.engine.begin() as conn:
        acc = accounts.authenticate(conn, login, password) if login and password else None
        if acc is None:
            accounts.record_failure(conn, login, client, now, portal.throttle)
        else:
            accounts.clear_failures(conn, login)
    if acc is None:
        return pr.render(
            "login.html.j2",
            status=401,
            next=target,
            login=login,
            error="Wrong login or password.",
        )
    session = pr.request.session
    session.clear()
    session.update(login=acc.login, key=acc.session_key, csrf=secrets.token_urlsafe(24))
    return pr.redirect(target)


def logout(pr: PageRequest) -> Response:
    pr.request.session.clear()
    return pr.redirect("/login")
