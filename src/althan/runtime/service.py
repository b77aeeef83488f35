"""The service runtime (`althan serve`): the DUIS gateway, the outbox dispatcher, the network.

`create_app` puts the ASGI application together as Starlette's own `applications.py` does:
the routes and mounts are passed in explicitly (the DUIS web services of `duis_http`, and
whatever else is served beside them), and the background workers (the outbox dispatcher, the
network on a real clock) run for the application's lifetime. In front of the Starlette app, the
lean path (`fast_path`) takes the DUIS POSTs straight to their services: they are most of the
traffic, and Starlette's middleware, routing and Request/Response objects cost each one
about 9 µs of CPU more than the services' own ASGI handling (3 µs, measured in process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Router

from althan.runtime.assemble import Assembly
from althan.runtime.dispatcher import Clock, OutboxDispatcher, utc_now
from althan.runtime.duis_http import duis_routes, duis_services
from althan.runtime.fast_path import FastPath
from althan.runtime.intake_http import intake_routes

__all__ = ["Background", "create_app"]


class Background(Protocol):
    """What runs beside the gateway for the app's lifetime (the network, `althan.runtime.live`,
    or this process's part in it, `althan.runtime.served.NetworkRole`)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def create_app(
    assembly: Assembly,
    *,
    clock: Clock = utc_now,
    dispatcher: OutboxDispatcher | None = None,
    network: Background | None = None,
    routes: Sequence[BaseRoute] = (),
) -> FastPath:
    """The DUIS web interface over `assembly`'s DSP, AltHANCo's intake of suppliers' upgrade
    outcomes, and `routes` beside them (the Starlette app is the answer's `app`).

    With a `dispatcher` (woken after every request) and a `network`, both run in background
    threads for the app's lifetime.
    """

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if network is not None:
            network.start()
        if dispatcher is not None:
            dispatcher.start(clock)
        try:
            yield
        finally:
            if dispatcher is not None:
                dispatcher.stop()
            if network is not None:
                network.stop()

    wake = dispatcher.wake.set if dispatcher is not None else (lambda: None)
    duis = duis_services(assembly.dsp, clock, after_request=wake)
    app = Starlette(
        routes=[
            *duis_routes(duis),  # first: the POSTs FastPath takes are theirs here too
            *intake_routes(assembly.dsp, clock),
            *routes,
        ],
        lifespan=lifespan,
    )
    router = app.router
    assert isinstance(router, Router)
    router.redirect_slashes = False  # a redirect would echo the client's Host header
    return FastPath(app, duis)
