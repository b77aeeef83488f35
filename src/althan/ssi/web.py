"""How an SSI page is served: the table entry (`Page`), what its handler is given
(`PageRequest`), and the one wrapper every page goes through.

The wrapper signs the visitor in from the session cookie (the account is read from the store
on every request, so a removed account or a new password ends its sessions at once), refuses a
role the page is not for (403), reads a POSTed form within a size bound while it streams in
(an upload beyond `SsiConfig.max_upload_bytes` is refused and nothing of it is kept) and
refuses it without its CSRF token (403), then runs the handler in a worker thread (handlers
use the store synchronously). Every response carries a strict Content-Security-Policy.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from jinja2 import Environment
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import FormParser, MultiPartParser
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from althan.dsp.context import Services
from althan.dsp.outbox import Outbox
from althan.dsp.service import Dsp
from althan.model import EUI64
from althan.ssi import accounts
from althan.ssi.accounts import Role
from althan.ssi.config import SsiConfig
from althan.store import ImageStore

Clock = Callable[[], datetime]
ALL_ROLES: frozenset[Role] = frozenset(Role)
FORM_LIMIT = 64 * 1024
"""The largest form that is not an upload."""
DRAIN_LIMIT = 64 * 1024 * 1024
"""An over-size body is read (and thrown away) up to this much, so that the browser sees the
answer rather than a reset connection; beyond it the connection is simply answered."""
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Portal:
    """What every page handler may use: the store, the DSP's services, the clocks."""

    engine: Engine
    services: Services
    outbox: Outbox
    config: SsiConfig
    templates: Environment
    staging: ImageStore
    """Uploaded OTA files awaiting registration (never read by the DSP)."""
    clock: Clock
    """The DSP's time (what alerts and records are stamped with; sped up under serve)."""
    wall: Clock
    """The real time (sign-in throttling)."""
    dsp: Dsp | None = None
    """The DSP itself, for what only it may do (an operator's quarantine decisions: the
    released request goes through the gateway steps); None: those actions are not offered."""

    @property
    def throttle(self) -> accounts.Throttle:
        return accounts.Throttle(
            window=timedelta(minutes=self.config.signin_window_minutes),
            per_login=self.config.max_failures_per_login,
            per_client=self.config.max_failures_per_client,
        )


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is signed in."""

    login: str
    role: Role
    user: EUI64 | None

    @property
    def is_dcc(self) -> bool:
        return self.role is Role.DCC


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    data: bytes


@dataclass
class PageRequest:
    """One request to a page, as its handler sees it."""

    request: Request
    portal: Portal
    who: Principal | None
    csrf: str
    form: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, Upload] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """Where the SSI is mounted ("/ssi" under the gateway)."""
        return str(self.request.scope.get("root_path", "")).rstrip("/")

    @property
    def principal(self) -> Principal:
        assert self.who is not None, "the page table lets only signed-in visitors here"
        return self.who

    def param(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        t = self.portal.templates.get_template(template)
        html = t.render(
            base=self.base, who=self.who, csrf=self.csrf, path=self.request.url.path, **context
        )
        return HTMLResponse(html, status_code=status)

    def redirect(self, path: str) -> RedirectResponse:
        return RedirectResponse(self.base + path, status_code=303)

    def problem(self, status: int, title: str, message: str) -> HTMLResponse:
        return self.render("problem.html.j2", status=status, title=title, message=message)


PageHandler = Callable[[PageRequest], Response]


@dataclass(frozen=True, slots=True)
class Page:
    """One entry of the SSI's page table."""

    path: str
    handler: PageHandler
    methods: tuple[str, ...] = ("GET",)
    roles: frozenset[Role] | None = ALL_ROLES
    """Who may use it; None: anyone, signed in or not (the sign-in page)."""
    upload: bool = False
    """Its POST is a multipart form carrying a file (bounded by `max_upload_bytes`)."""


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit:,} bytes")
        self.limit = limit


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_LIMIT:
        raise BodyTooLarge(limit)
    buf = bytearray()
    over = False
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if over or seen > limit:
            over = True  # keep reading (and dropping) so the browser gets the answer
            buf.clear()
            if seen > DRAIN_LIMIT:
                break
            continue
        buf += chunk
    if over:
        raise BodyTooLarge(limit)
    return bytes(buf)


async def _replay(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def read_form(request: Request, *, upload: bool, limit: int) -> tuple[FormData, bytes]:
    body = await _bounded_body(request, limit + FORM_LIMIT if upload else FORM_LIMIT)
    headers = Headers(scope=request.scope)
    ctype = headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        parser: MultiPartParser | FormParser = MultiPartParser(
            headers, _replay(body), max_files=1, max_fields=20, max_part_size=FORM_LIMIT
        )
    else:
        parser = FormParser(headers, _replay(body))
    return await parser.parse(), body


async def _fields(form: FormData) -> tuple[dict[str, str], dict[str, Upload]]:
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            files[key] = Upload(value.filename or "", await value.read())
            await value.close()
        else:
            fields[key] = value
    return fields, files


def _principal(portal: Portal, session: dict[str, Any]) -> Principal | None:
    login = session.get("login")
    if not isinstance(login, str):
        return None
    with portal.engine.connect() as conn:
        acc = accounts.get(conn, login)
    if acc is None or not secrets.compare_digest(acc.session_key, str(session.get("key", ""))):
        session.pop("login", None)
        session.pop("key", None)
        return None
    return Principal(acc.login, acc.role, acc.user)


def endpoint(page: Page, portal: Portal) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of `page`: sign-in, role, form, CSRF, then the handler."""

    async def serve(request: Request) -> Response:
        session: dict[str, Any] = request.session
        csrf = session.get("csrf")
        if not isinstance(csrf, str):
            csrf = session["csrf"] = secrets.token_urlsafe(24)
        who = await run_in_threadpool(_principal, portal, session)
        pr = PageRequest(request, portal, who, csrf)
        response = await _checked(page, pr)
        response.headers.update(HEADERS)
        return response

    return serve


async def _checked(page: Page, pr: PageRequest) -> Response:
    request = pr.request
    if page.roles is not None:
        if pr.who is None:
            if request.method == "GET" and "hx-request" not in request.headers:
                target = quote(request.url.path.removeprefix(pr.base) or "/", safe="/")
                return pr.redirect(f"/login?next={target}")
            return pr.problem(401, "Signed out", "Sign in again to do this.")
        if pr.who.role not in page.roles:
            return pr.problem(
                403, "Not for your role", f"A {pr.who.role.label} account may not use this page."
            )
    if request.method == "POST":
        limit = pr.portal.config.max_upload_bytes
        try:
            form, _body = await read_form(request, upload=page.upload, limit=limit)
        except BodyTooLarge as exc:
            what = "file" if page.upload else "form"
            return pr.problem(
                413,
                "Too large",
                f"The {what} sent is larger than {exc.limit:,} bytes: it was refused and "
                "nothing of it was kept.",
            )
        fields, files = await _fields(form)
        if not secrets.compare_digest(fields.get("csrf_token", ""), pr.csrf):
            return pr.problem(
                403,
                "Form refused",
                "The form was sent without its security token (CSRF), or from an old page: "
                "nothing was done. Reload the page and try again.",
            )
        pr.form, pr.files = fields, files
    return await run_in_threadpool(page.handler, pr)


def safe_next(target: str, default: str = "/devices") -> str:
    """A path inside the SSI to go to after sign-in (never another site)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def routes_of(pages: Sequence[Page], portal: Portal) -> list[Route]:
    return [Route(p.path, endpoint(p, portal), methods=list(p.methods)) for p in pages]
