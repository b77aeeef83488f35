"""Pages: the Central Product List. Everyone reads it; AltHANCo uploads an OTA file, sees it
inspected (header, hardware range, sub-elements or GBCS signature), registers it Active for
its model and a hardware range, and withdraws entries — all through `althan.dsp.assurance`
and `althan.dsp.cpl`, as `althan cpl` does.

An uploaded file waits in the SSI's staging area (never read by the DSP) until it is
registered or discarded; a file that is not an OTA upgrade file is refused and not kept.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from althan.dsp import assurance, cpl
from althan.ssi.accounts import Role
from althan.ssi.web import PageRequest
from althan.store import ImageNotFound
from althan.store.tables import cpl_history

_SHA = re.compile(r"^[0-9a-f]{64}$")


def _page(pr: PageRequest, status: int = 200, **extra: Any) -> Response:
    with pr.portal.engine.connect() as conn:
        entries = cpl.entries(conn)
        history = conn.execute(
            select(cpl_history).order_by(cpl_history.c.id.desc()).limit(100)
        ).all()
    return pr.render(
        "cpl.html.j2",
        status=status,
        entries=entries,
        history=history,
        can_manage=pr.principal.role is Role.ALTHANCO,
        limit=pr.portal.config.max_upload_bytes,
        notice=_notice(pr.param("notice")),
        **extra,
    )


_NOTICES = {
    "registered": "Entry {} registered Active.",
    "withdrawn": "Entry {} withdrawn.",
    "discarded": "The upload was discarded.",
}


def _notice(text: str) -> str | None:
    """The message a redirect asked for (`kind` or `kind:id`): fixed texts, never echoed."""
    kind, _, n = text.partition(":")
    if kind in _NOTICES and (n.isdigit() or not n) and len(n) < 12:
        return _NOTICES[kind].format(n)
    return None


def cpl_page(pr: PageRequest) -> Response:
    return _page(pr)


def upload(pr: PageRequest) -> Response:
    f = pr.files.get("image")
    if f is None or not f.data:
        return _page(pr, 400, error="Choose an OTA upgrade file to upload: nothing was sent.")
    try:
        facts = assurance.inspect(f.data)
    except assurance.OtaRejected as exc:
        return _page(pr, 400, error=f"{f.filename or 'The file'}: {exc}. Nothing was kept.")
    pr.portal.staging.put(f.data)
    return pr.redirect(f"/cpl/uploads/{facts.sha256}")


def _staged(pr: PageRequest) -> tuple[str, bytes] | None:
    sha = pr.path_param("sha256")
    if not _SHA.match(sha):
        return None
    try:
        return sha, pr.portal.staging.get(sha)
    except ImageNotFound:
        return None


def _inspect_page(
    pr: PageRequest, sha: str, data: bytes, status: int = 200, **extra: Any
) -> Response:
    facts = assurance.inspect(data)
    return pr.render("cpl_upload.html.j2", status=status, sha=sha, f=facts, **extra)


def uploaded(pr: PageRequest) -> Response:
    staged = _staged(pr)
    if staged is None:
        return pr.problem(
            404, "No such upload", "That upload is not waiting (registered or discarded)."
        )
    return _inspect_page(pr, *staged)


def _hw(text: str, name: str) -> int:
    t = text.strip()
    if not t.isdigit() or int(t) > 0xFFFF:
        raise cpl.CplError(f"{name} {text!r} is not a hardware version (0 to 65535)")
    return int(t)


def register(pr: PageRequest) -> Response:
    staged = _staged(pr)
    if staged is None:
        return pr.problem(
            404, "No such upload", "That upload is not waiting (registered or discarded)."
        )
    sha, data = staged
    who = pr.principal
    if who.user is None:
        return _inspect_page(pr, sha, data, 403, error="This account acts for no DUIS user.")
    try:
        lo = _hw(pr.form.get("hw_min", ""), "lowest hardware version")
        hi = _hw(pr.form.get("hw_max", ""), "highest hardware version")
        with pr.portal.engine.begin() as conn:
            entry = assurance.assure(
                conn,
                pr.portal.services.images,
                data,
                by=who.user,
                hw_min=lo,
                hw_max=hi,
                now=pr.portal.clock(),
            )
    except cpl.CplError as exc:
        return _inspect_page(
            pr,
            sha,
            data,
            400,
            error=str(exc),
            hw_min=pr.form.get("hw_min"),
            hw_max=pr.form.get("hw_max"),
        )
    pr.portal.staging.remove(sha)
    return pr.redirect(f"/cpl?notice=registered:{entry.id}#entry-{entry.id}")


def discard(pr: PageRequest) -> Response:
    staged = _staged(pr)
    if staged is not None:
        pr.portal.staging.remove(staged[0])
    return pr.redirect("/cpl?notice=discarded")


def withdraw(pr: PageRequest) -> Response:
    text = pr.path_param("entry_id")
    who = pr.principal
    reason = pr.form.get("reason", "").strip()
    if not text.isdigit():
        return _page(pr, 404, error=f"No CPL entry {text!r}.")
    if len(reason) > 200:
        return _page(pr, 400, error=f"The reason has {len(reason)} characters; at most 200.")
    if who.user is None:
        return _page(pr, 403, error="This account acts for no DUIS user.")
    try:
        with pr.portal.engine.begin() as conn:
            cpl.set_status(
                conn,
                int(text),
                cpl.CplStatus.WITHDRAWN,
                who.user,
                pr.portal.clock(),
                note=reason or "withdrawn",
            )
    except cpl.CplError as exc:
        return _page(pr, 400, error=str(exc))
    return pr.redirect(f"/cpl?notice=withdrawn:{text}#entry-{text}")
