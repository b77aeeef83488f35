"""The outbox dispatcher: what the DSP must send leaves its store, sent until acknowledged.

Every ``duis`` row (an asynchronous response or a DCC alert, already signed) is POSTed to its
user's registered endpoint (``users.endpoint``); a 2xx marks the row sent, anything else (no
endpoint, connection refused, timeout, non-2xx) gives it back with the DSP's back-off, counted
per endpoint from the moment it failed. Rows stay in the outbox until sent, so a restart loses
nothing. ``smwan`` rows (for the CSPs) go to a `smwan_sink` (the network on a real clock,
`althan.runtime.live`); without one they wait.

Each destination's rows go out in order, one at a time; different destinations at the same
time, so an endpoint that hangs holds back only its own user's messages, for one timeout.
Any number of dispatchers may share one store: each claims rows under its own id for a short
lease that it renews while it lives (`althan.dsp.outbox`), so none delivers what another holds,
and the rows of one that dies are free again when its lease ends. Leases are counted on the
real clock, which all processes share, not on the DCC clock each runs sped up from its start.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby

import httpx

from althan.dsp import users
from althan.dsp.outbox import DUIS, SMWAN, OutboxItem
from althan.dsp.service import Dsp
from althan.runtime.background import BackgroundThread

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


def worker_id() -> str:
    """This dispatcher's claimant id: host, process, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OutboxDispatcher:
    """Delivers the DSP's outbox, each destination in order, the destinations concurrently."""

    def __init__(
        self,
        dsp: Dsp,
        *,
        client: httpx.Client | None = None,
        backoff: Sequence[float] | None = None,
        batch: int = 200,
        timeout: float = 10.0,
        smwan_sink: SmwanSink | None = None,
        lease: float = 5.0,
        time_scale: float = 1.0,
        threads: int = 32,
        me: str | None = None,
        lease_clock: Clock = utc_now,
    ) -> None:
        self.dsp = dsp
        self.client = client or httpx.Client(timeout=timeout)
        self.backoff = tuple(backoff if backoff is not None else dsp.settings.outbox_backoff)
        self.batch = batch
        self.smwan_sink = smwan_sink
        self.me = me or worker_id()
        self.lease = lease
        """Real seconds a claim lasts unless renewed (renewed every third of it)."""
        self.lease_clock = lease_clock
        """What leases are counted on: the real clock, which every process sharing the store
        agrees on (their DCC clocks, sped up from each one's start, do not)."""
        self.time_scale = time_scale
        """Store seconds per real second: the outbox is stamped with DCC time, sped up."""
        self._background = BackgroundThread("althan-outbox")
        self.wake = self._background.wake
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="althan-deliver")
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._failures: dict[str, int] = {}

    def _store_time(self, real_seconds: float) -> timedelta:
        return timedelta(seconds=real_seconds * self.time_scale)

    # -- one pass (tests drive this with their own clock)
    def run_once(self, now: datetime, clock: Clock | None = None) -> DispatchStats:
        """Claim what is due at `now` and deliver it all before returning."""
        claimed, jobs = self._dispatch(now, clock or (lambda: now))
        sent = retried = 0
        for job in jobs:
            s, r = job.result()
            sent += s
            retried += r
        return DispatchStats(claimed, sent, retried)

    def _dispatch(self, now: datetime, clock: Clock) -> tuple[int, list[Future[tuple[int, int]]]]:
        with self._lock:
            busy = set(self._busy)
        kind = None if self.smwan_sink is not None else DUIS
        items = self.dsp.outbox.claim(
            self.me,
            now,
            timedelta(seconds=self.lease),
            limit=self.batch,
            kind=kind,
            not_to=busy,
            held_at=self.lease_clock(),
        )
        jobs = []
        items.sort(key=lambda i: (i.kind, i.destination, i.id))
        for (k, dest), group in groupby(items, key=lambda i: (i.kind, i.destination)):
            rows = list(group)
            with self._lock:
                self._busy.add(dest)
            deliver = self._to_csp if k == SMWAN else self._to_user
            jobs.append(self._pool.submit(self._deliver, deliver, dest, rows, clock))
        return len(items), jobs

    def _deliver(
        self,
        deliver: Callable[[OutboxItem], bool],
        dest: str,
        rows: list[OutboxItem],
        clock: Clock,
    ) -> tuple[int, int]:
        """Send `rows` in order; at the first failure, give the rest back with back-off."""
        sent = 0
        try:
            for i, item in enumerate(rows):
                if not deliver(item):
                    failures = self._failures.get(dest, 0)
                    self._failures[dest] = failures + 1
                    delay = self.backoff[min(failures, len(self.backoff) - 1)]
                    not_before = clock() + self._store_time(delay)
                    self.dsp.outbox.retry_later(self.me, rows[i:], not_before)
                    return sent, len(rows) - i
                self._failures.pop(dest, None)
                sent += self.dsp.outbox.mark_sent(self.me, [item.id], clock())
            return sent, 0
        finally:
            with self._lock:
                self._busy.discard(dest)

    def _to_user(self, item: OutboxItem) -> bool:
        with self.dsp.engine.connect() as conn:
            endpoint = users.endpoints(conn, [item.user]).get(item.user)
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

    def _to_csp(self, item: OutboxItem) -> bool:
        assert self.smwan_sink is not None
        try:
            return self.smwan_sink(item)
        except Exception:  # a sink failure must not kill the dispatcher; retry later
            log.exception("outbox %d -> %s failed", item.id, item.destination)
            return False

    # -- background thread (the serve runtime)
    def run_forever(self, clock: Clock = utc_now, idle: float = 1.0) -> None:
        renewed = 0.0
        while not self._background.stopping.is_set():
            try:
                if time.monotonic() - renewed >= self.lease / 3:
                    lease = timedelta(seconds=self.lease)
                    self.dsp.outbox.renew(self.me, self.lease_clock(), lease)
                    renewed = time.monotonic()
                self._dispatch(clock(), clock)
            except Exception:  # database hiccup: log, wait, carry on
                log.exception("dispatcher pass failed")
            self._background.pause(min(idle, self.lease / 3))

    def start(self, clock: Clock = utc_now, idle: float = 1.0) -> None:
        self._background.start(self.run_forever, clock, idle)

    def stop(self, timeout: float = 5.0) -> None:
        self._background.stop(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
