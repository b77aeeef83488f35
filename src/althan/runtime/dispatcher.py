"""The outbox dispatcher: what the DSP must send leaves its store, and is sent once it is acknowledged.

Every ``duis`` row (an asynchronous response or a DCC alert, already signed) is POSTed to its
user's registered endpoint (``users.endpoint``); a 2xx marks the row sent, anything else (no
endpoint, connection refused, non-2xx) puts it back with the DSP's back-off. Rows stay in the
outbox until sent, so a restart loses nothing. ``smwan`` rows (for the CSPs) go to a
`smwan_sink` (the network on a real clock, `althan.runtime.live`); without one they wait.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from althan.dsp import users
from althan.dsp.outbox import DUIS, OutboxItem
from althan.dsp.service import Dsp
from althan.model import EUI64

log = logging.getLogger("althan.dispatcher")

Clock = Callable[[], datetime]
XML = "application/xml"


def utc_now() -> datetime:
    """The real clock."""
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
