"""Two `althan serve` processes on one PostgreSQL store (issue 12, defects 4 and 5).

Both processes run the outbox dispatcher on the same database, and both are started with the
network on: only the one holding the network lease (a PostgreSQL advisory lock,
`althan.runtime.leader`) runs it — two live networks on one store would each simulate every
device, each answering the SM WAN rows its process claimed. DCC alerts
(N999, queued in the store as the SSI's "send test alert" queues them) go to three users:

* a slow endpoint (each POST answered after a pause, so one batch outlasts the 5 s claim
  lease several times over): every alert arrives exactly once, by its ResponseID, although
  both processes claim from the same outbox the whole time;
* a hung endpoint (accepts, never answers): it holds back only its own user — the other
  user's alerts, queued while the hung POST is open, all arrive before the dispatcher gives
  that POST up (its timeout); ordering, not a stopwatch.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import create_engine, func, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from althan.cli.options import open_assembly
from althan.dsp import alerts as dsp_alerts
from althan.duis.namespaces import SR
from althan.duis.xmldsig import verify
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import NETWORK_OPERATOR_EUI, OTHER_USER_EUI
from althan.runtime.leader import NETWORK_LOCK_KEY
from althan.store.tables import outbox
from live_support import Served, althan, dsp_trust, free_port

SLOW = 150
"""Alerts for the slow endpoint: at 0.1 s each, one claim batch takes about 15 s (3 leases)."""


class Log:
    """What the endpoints saw, in the order they saw it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def add(self, kind: str, what: str) -> None:
        with self.lock:
            self.events.append((kind, what))

    def index(self, kind: str) -> int:
        with self.lock:
            return next((i for i, (k, _) in enumerate(self.events) if k == kind), -1)

    def of(self, kind: str) -> list[str]:
        with self.lock:
            return [w for k, w in self.events if k == kind]


def _response_id(body: bytes) -> str:
    root = verify(body, dsp_trust()).root
    return root.findtext(f"{SR}Header/{SR}ResponseID") or "?"


@contextmanager
def _endpoints(log: Log, delay: float = 0.1) -> Iterator[dict[str, str]]:
    """slow, hung and fast user endpoints on one local server; their URLs."""

    async def slow(request: Request) -> Response:
        body = await request.body()
        await asyncio.sleep(delay)
        log.add("slow", _response_id(body))
        return Response(status_code=200)

    async def fast(request: Request) -> Response:
        log.add("fast", _response_id(await request.body()))
        return Response(status_code=200)

    async def hung(request: Request) -> Response:
        await request.body()
        log.add("hang-start", "")
        while not await request.is_disconnected():
            await asyncio.sleep(0.05)
        log.add("hang-end", "")
        return Response(status_code=200)

    port = free_port()
    app = Starlette(
        routes=[
            Route("/slow", slow, methods=["POST"]),
            Route("/fast", fast, methods=["POST"]),
            Route("/hung", hung, methods=["POST"]),
        ]
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "endpoints did not start"
        time.sleep(0.02)
    try:
        base = f"http://127.0.0.1:{port}"
        yield {"slow": f"{base}/slow", "fast": f"{base}/fast", "hung": f"{base}/hung"}
    finally:
        server.should_exit = True
        t.join(5)


def _wait(what: str, done: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(done) or not done():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.1)


def _queue(data: Path, db_url: str, user: EUI64, n: int) -> list[int]:
    """N999 test alerts for `user`, written to the shared store; their IDs."""
    a = open_assembly(data, db_url, create=False)
    dsp = a.dsp
    with dsp.engine.begin() as conn:
        ids = [
            dsp_alerts.send_test(
                conn, dsp.services.duis, dsp.outbox, user, datetime.now(UTC), detail="two servers"
            )
            for _ in range(n)
        ]
    dsp.engine.dispose()
    return ids


@pytest.mark.slow(3)
def test_two_servers_deliver_each_alert_once_and_a_hung_endpoint_holds_back_only_its_user(
    tmp_path: Path, pg_url: str
) -> None:
    log = Log()
    data_a, data_b = tmp_path / "a", tmp_path / "b"
    common = ("--db-url", pg_url, "--fleet", "2", "--speed", "60")
    with _endpoints(log) as urls:
        for eui, url in (
            (TEST_SUPPLIER_EUI, urls["slow"]),
            (NETWORK_OPERATOR_EUI, urls["hung"]),
            (OTHER_USER_EUI, urls["fast"]),
        ):
            roles = (
                "IS,GS"
                if eui == TEST_SUPPLIER_EUI
                else "ED"
                if eui == NETWORK_OPERATOR_EUI
                else "OU"
            )
            althan("users", "add", "--eui", str(eui), "--roles", roles, "--endpoint", url,
                   "--data-dir", str(data_a), "--db-url", pg_url)  # fmt: skip
        a = Served(data_a, *common).start()
        try:
            b = Served(data_b, *common).start()
            try:
                assert _network_leases(pg_url) == 1, "one network for the two processes"
                slow_ids = _queue(data_a, pg_url, TEST_SUPPLIER_EUI, SLOW)
                _queue(data_a, pg_url, NETWORK_OPERATOR_EUI, 3)
                _wait("the hung endpoint's first POST", lambda: log.index("hang-start") >= 0)
                fast_ids = _queue(data_a, pg_url, OTHER_USER_EUI, 20)
                _wait("the other user's alerts", lambda: len(log.of("fast")) >= len(fast_ids))
                fast_done = len(log.events)
                _wait("the slow user's alerts", lambda: len(log.of("slow")) >= SLOW)
                time.sleep(3)  # a duplicate would arrive now
            finally:
                b.stop()
        finally:
            a.stop()

    hang_end = log.index("hang-end")
    assert hang_end == -1 or hang_end >= fast_done, (
        "the hung POST was given up before the other user's alerts all arrived"
    )
    got = Counter(log.of("slow"))
    assert {k: v for k, v in got.items() if v > 1} == {}, "an alert delivered twice"
    assert len(got) == SLOW == len(slow_ids)
    assert {rid.rsplit(":", 1)[1] for rid in got} == {str(i) for i in slow_ids}
    fast = Counter(log.of("fast"))
    assert set(fast.values()) == {1} and len(fast) == len(fast_ids)
    a_log, b_log = a.log.read_text(), b.log.read_text()
    assert "Traceback" not in a_log + b_log, (a_log + b_log)[-3000:]

    engine = open_assembly(data_a, pg_url, create=False).dsp.engine
    with engine.connect() as conn:
        unsent_slow = conn.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.destination == str(TEST_SUPPLIER_EUI), outbox.c.sent_at.is_(None))
        ).scalar_one()
    engine.dispose()
    assert unsent_slow == 0


def _network_leases(db_url: str) -> int:
    """How many sessions hold the network lease on `db_url`'s database."""
    key = NETWORK_LOCK_KEY
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
                " AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1"
            ),
            {"hi": key >> 32, "lo": key & 0xFFFF_FFFF},
        ).scalar_one()
    engine.dispose()
    return int(n)


def _holder(data: Path, db_url: str) -> set[int]:
    """The process ids of the dispatchers holding unsent rows (claimed_by is host:pid:...)."""
    engine = open_assembly(data, db_url, create=False).dsp.engine
    with engine.connect() as conn:
        claimed = conn.execute(
            select(outbox.c.claimed_by).where(
                outbox.c.sent_at.is_(None), outbox.c.claimed_by.is_not(None)
            )
        ).scalars()
        pids = {int(c.split(":")[1]) for c in claimed}
    engine.dispose()
    return pids


@pytest.mark.slow(3)
def test_kill_9_of_the_delivering_server_the_other_delivers_the_rest(
    tmp_path: Path, pg_url: str
) -> None:
    """The process delivering a slow user's alerts is killed (-9) mid-batch; the other one
    delivers the rest once its short lease on them ends. Every alert arrives; the only
    duplicate allowed is the one in flight at the kill (delivered, not yet marked sent)."""
    log = Log()
    data_a, data_b = tmp_path / "a", tmp_path / "b"
    common = ("--db-url", pg_url, "--fleet", "2", "--speed", "60")
    n = 60
    with _endpoints(log, delay=0.3) as urls:
        althan("users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS,GS",
               "--endpoint", urls["slow"], "--data-dir", str(data_a),
               "--db-url", pg_url)  # fmt: skip
        servers = [Served(data_a, *common).start()]
        try:
            servers.append(Served(data_b, *common, "--no-network").start())
            ids = _queue(data_a, pg_url, TEST_SUPPLIER_EUI, n)
            _wait("the first deliveries", lambda: len(log.of("slow")) >= 5)
            holders = _holder(data_a, pg_url)
            victim = next(s for s in servers if s.proc is not None and s.proc.pid in holders)
            victim.kill()
            killed_at = time.monotonic()
            at_kill = len(log.of("slow"))
            survivor = next(s for s in servers if s is not victim)
            _wait("the rest, from the survivor", lambda: len(set(log.of("slow"))) >= n)
            rest_after = time.monotonic() - killed_at
            time.sleep(2)  # a duplicate would arrive now
        finally:
            for s in servers:
                s.stop()
    got = Counter(log.of("slow"))
    print(f"\nkilled after {at_kill} of {n}; the survivor finished {rest_after:.1f} s later")
    assert {rid.rsplit(":", 1)[1] for rid in got} == {str(i) for i in ids}
    twice = {k: v for k, v in got.items() if v > 1}
    assert len(twice) <= 1 and set(twice.values()) <= {2}, twice
    assert at_kill < n, "killed after the batch ended: not mid-batch"
    assert "Traceback" not in survivor.log.read_text()
