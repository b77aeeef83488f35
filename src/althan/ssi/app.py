"""The SSI's ASGI application, built from what it needs and the page table.

`create_ssi_app` is the one way in: give it the DSP's engine and services (the image store,
the DUIS signer and settings are in them) and a clock; mount the result where it should be
served (the DUIS gateway mounts it at ``/ssi``). Session cookies are signed (itsdangerous,
via Starlette's SessionMiddleware), HttpOnly and SameSite=Lax, and last
`SsiConfig.session_hours`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from althan.dsp.context import Services
from althan.dsp.outbox import Outbox
from althan.dsp.service import Dsp
from althan.ssi import accounts
from althan.ssi.config import SsiConfig
from althan.ssi.pages import PAGES
from althan.ssi.web import Clock, Page, Portal, routes_of
from althan.store import ImageStore

STATIC = Path(__file__).with_name("static")
COOKIE = "althan_ssi"


def real_time() -> datetime:
    return datetime.now(UTC)


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("althan.ssi", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda t: "" if t is None else t.strftime("%Y-%m-%d %H:%M:%SZ")
    env.filters["thousands"] = lambda n: f"{int(n or 0):,}"
    return env


def create_ssi_app(
    engine: Engine,
    services: Services,
    *,
    clock: Clock = real_time,
    config: SsiConfig | None = None,
    staging: Path | None = None,
    pages: Sequence[Page] = PAGES,
    wall: Clock = real_time,
    dsp: Dsp | None = None,
) -> Starlette:
    """The Self-Service Interface over the DSP's store.

    `clock` is the DSP's time (what test alerts and CPL entries are stamped with); `wall` the
    real time (sign-in throttling). Uploaded OTA files wait in `staging` (default: beside
    the DSP's image store) until registered. Given `dsp`, a DCC operator can release and
    reject quarantined requests from the operations page."""
    cfg = config or SsiConfig()
    with engine.begin() as conn:
        secret = cfg.secret_key or accounts.session_secret(conn)
    staging_root = staging or services.images.root.parent / "ssi-uploads"
    portal = Portal(
        engine=engine,
        services=services,
        outbox=Outbox(engine),
        config=cfg,
        templates=templates(),
        staging=ImageStore(staging_root),
        clock=clock,
        wall=wall,
        dsp=dsp,
    )
    routes = [
        *routes_of(pages, portal),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=COOKIE,
            max_age=int(cfg.session_hours * 3600),
            same_site="lax",
            https_only=cfg.https_only,
        )
    ]
    return Starlette(routes=routes, middleware=middleware)
