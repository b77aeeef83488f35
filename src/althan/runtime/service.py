"""The service runtime: the DUIS HTTP gateway and the outbox dispatcher (`althan serve`).

- `create_app` is the DUIS web interface: ``POST /api/v1/service{D,S,T}`` with a signed
  ``application/xml`` body is handed to `Dsp.handle_duis` with the time read at the edge (the
  injected `clock`); the answer is the DSP's HTTP status and signed XML.
- `OutboxDispatcher` drains the DSP's outbox: every ``duis`` row (an asynchronous response or a
  DCC alert, already signed) is POSTed to its user's registered endpoint (``users.endpoint``);
  a 2xx marks the row sent, anything else (no endpoint, connection refused, non-2xx) puts it
  back with the DSP's back-off. Rows stay in the outbox until sent, so a restart loses nothing.
  ``smwan`` rows (for the CSPs) are left in the outbox unless a `smwan_sink` is attached (a
  network simulator on a real clock); without one they wait for a network to be attached.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from althan.dsp import users
from althan.dsp.intake_api import PREFIX, intake_router
from althan.dsp.outbox import DUIS, OutboxItem
from althan.dsp.service import Dsp
from althan.model import EUI64
from althan.runtime.assemble import Assembly

log = logging.getLogger("althan.service")

Clock = Callable[[], datetime]
XML = "application/xml"
SERVICES = ("D", "S", "T")


def utc_now() -> datetime:
    """The real clock (the only place the service runtime reads the time)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DispatchStats:
    """What one dispatcher pass did."""

    claimed: int
    sent: int
    retried: int


SmwanSink = Callable[[OutboxItem], bool]
"""Delivers one SM WAN outbox row to a CSP; True when it was accepted."""


class OutboxDispatcher:
    """Delivers the DSP's outbox over HTTP, retrying with back-off until a 2xx."""

    def __init__(
        self,
        dsp: Dsp,
        *,
        client: httpx.Client | None = None,
        backoff: Sequence[float] | None = None,
        batch: int = 200,
        timeout: float = 10.0,
        smwan_sink: SmwanSink | None = None,
    ) -> None:
        self.dsp = dsp
        self.client = client or httpx.Client(timeout=timeout)
        self.backoff = tuple(backoff if backoff is not None else dsp.settings.outbox_backoff)
        self.batch = batch
        self.smwan_sink = smwan_sink
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass (tests drive this with their own `now`)
    def run_once(self, now: datetime) -> DispatchStats:
        kind = None if self.smwan_sink is not None else DUIS
        items = self.dsp.outbox.claim(now, limit=self.batch, kind=kind)
        sent = retried = 0
        endpoints = self._endpoints({i.user for i in items if i.kind == DUIS})
        for item in items:
            if item.kind == DUIS:
                ok = self._post(item, endpoints.get(item.user))
            elif self.smwan_sink is not None:
                ok = self._smwan(item)
            else:  # pragma: no cover - claim() filtered them out
                continue
            if ok:
                self.dsp.outbox.mark_sent([item.id], now)
                sent += 1
            else:
                self.dsp.outbox.retry_later(item, now, self.backoff)
                retried += 1
        return DispatchStats(len(items), sent, retried)

    def _endpoints(self, destinations: set[EUI64]) -> dict[EUI64, str | None]:
        if not destinations:
            return {}
        with self.dsp.engine.connect() as conn:
            return users.endpoints(conn, destinations)

    def _post(self, item: OutboxItem, endpoint: str | None) -> bool:
        if not endpoint:
            log.info("outbox %d: user %s has no endpoint; kept", item.id, item.destination)
            return False
        try:
            r = self.client.post(endpoint, content=item.payload, headers={"content-type": XML})
        except httpx.HTTPError as exc:
            log.info("outbox %d -> %s: %s; will retry", item.id, endpoint, exc)
            return False
        if 200 <= r.status_code < 300:
            return True
        log.info("outbox %d -> %s: HTTP %d; will retry", item.id, endpoint, r.status_code)
        return False

    def _smwan(self, item: OutboxItem) -> bool:
        assert self.smwan_sink is not None
        try:
            return self.smwan_sink(item)
        except Exception:  # a sink failure must not kill the dispatcher; retry later
            log.exception("outbox %d -> %s failed", item.id, item.destination)
            return False

    # -- background thread (the serve runtime)
    def run_forever(self, clock: Clock = utc_now, idle: float = 1.0) -> None:
        while not self._stop.is_set():
            try:
                stats = self.run_once(clock())
            except Exception:  # database hiccup: log, wait, carry on
                log.exception("dispatcher pass failed")
                stats = DispatchStats(0, 0, 0)
            if stats.claimed < self.batch:
                self.wake.wait(idle)
                self.wake.clear()

    def start(self, clock: Clock = utc_now, idle: float = 1.0) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.run_forever, args=(clock, idle), name="althan-outbox", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def create_app(
    assembly: Assembly,
    *,
    clock: Clock = utc_now,
    dispatcher: OutboxDispatcher | None = None,
) -> FastAPI:
    """The DUIS web interface over `assembly`'s DSP.

    With a `dispatcher`, it runs in a background thread for the app's lifetime and is woken
    after every request.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if dispatcher is not None:
            dispatcher.start(clock)
        try:
            yield
        finally:
            if dispatcher is not None:
                dispatcher.stop()

    app = FastAPI(
        title="althan DUIS gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    dsp = assembly.dsp

    def route(service: str) -> Callable[[bytes], Response]:
        def handle(body: bytes) -> Response:
            reply = dsp.handle_duis(service, body, clock())
            if dispatcher is not None:
                dispatcher.wake.set()
            return Response(
                content=reply.body,
                status_code=reply.http_status,
                media_type=reply.media_type,
                headers={"X-DUIS-Response-Code": reply.response_code},
            )

        return handle

    for service in SERVICES:
        handle = route(service)

        async def endpoint(request: Request, _h: Callable[[bytes], Response] = handle) -> Response:
            body = await request.body()
            return await run_in_threadpool(_h, body)

        app.add_api_route(
            f"/api/v1/service{service}", endpoint, methods=["POST"], name=f"service{service}"
        )
    app.include_router(intake_router(dsp, clock), prefix=PREFIX)
    return app
