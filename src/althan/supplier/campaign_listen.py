"""A campaign's response endpoint: where the DSP POSTs its signed responses and alerts
(DCC Boxed's ``/smartdcc/duis`` path), for every campaign of one store.

Each document's XML signature is checked against the DSP's certificate; one that does not
verify is refused (HTTP 400) and moves nothing. A believed one is recorded with the device
states it moves in one transaction, and only then answered 200 — so the DSP, which retries
until answered, never loses an outcome to a crash, and a document redelivered after one
counts once (by its SHA-256).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from althan.duis.xmldsig import TrustStore
from althan.supplier.campaign_events import NotBelieved, read_events
from althan.supplier.campaign_store import CampaignStore

__all__ = ["DUIS_PATH", "ResponseEndpoint", "parse_listen"]

DUIS_PATH = "/smartdcc/duis"
MAX_BODY = 16_000_000
log = logging.getLogger(__name__)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``:PORT`` for 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {text!r}: HOST:PORT, e.g. 127.0.0.1:8181")
    return host or "127.0.0.1", int(port)


class ResponseEndpoint:
    """The Starlette app, and a thread running it with uvicorn."""

    def __init__(
        self,
        store: CampaignStore,
        trust: TrustStore,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.trust = trust
        self.now = now
        self.received = 0
        self.refused = 0

    def receive(self, body: bytes) -> tuple[int, str]:
        """One POSTed document: (HTTP status, what was done)."""
        if len(body) > MAX_BODY:
            self.refused += 1
            return 413, "too large"
        try:
            code, events, late = read_events(body, self.trust)
        except NotBelieved as exc:
            self.refused += 1
            log.warning("refused a document: %s", exc)
            return 400, f"not believed: {exc}"
        sha = hashlib.sha256(body).hexdigest()
        moved = self.store.apply(sha, code, events, self.now(), late)
        self.received += 1
        return 200, f"{code}: {moved} device(s) moved"

    async def _post(self, request: Request) -> Response:
        body = await request.body()
        status, text = await run_in_threadpool(self.receive, body)
        return PlainTextResponse(text, status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route(DUIS_PATH, self._post, methods=["POST"])])

    @contextmanager
    def serving(self, host: str, port: int) -> Iterator[ResponseEndpoint]:
        config = uvicorn.Config(self.app(), host=host, port=port, log_level="warning")
        server = uvicorn.Server(config)
        failed: list[BaseException] = []

        def run() -> None:
            try:
                server.run()
            except BaseException as exc:
                failed.append(exc)

        t = threading.Thread(target=run, name="campaign-endpoint", daemon=True)
        t.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not t.is_alive() or time.monotonic() > deadline:
                raise OSError(f"cannot listen on {host}:{port} (in use?)")
            time.sleep(0.02)
        try:
            yield self
        finally:
            server.should_exit = True
            t.join(10)
