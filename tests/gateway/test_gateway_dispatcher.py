"""The outbox dispatcher: signed responses and alerts reach users' endpoints over HTTP,
retried with back-off until a 2xx, marked sent exactly once, never lost."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from althan.dsp.outbox import OutboxItem
from althan.duis.envelope import RequestId
from althan.duis.xmldsig import verify
from althan.model import TEST_SUPPLIER_EUI, Region
from althan.runtime.assemble import NETWORK_OPERATOR_EUI, Assembly, build_dsp
from althan.runtime.dispatcher import OutboxDispatcher
from althan.runtime.service import create_app
from althan.store.tables import outbox, users
from althan.supplier.client import DuisClient
from gateway_support import ESME, PPMID, FakeClock, seed_meter, send


class Endpoint:
    """A user's HTTP endpoint on 127.0.0.1: answers `fail_first` 500s, then 200s."""

    def __init__(self, fail_first: int = 1) -> None:
        self.bodies: list[bytes] = []
        self.content_types: list[str] = []
        self.fail_first = fail_first
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("content-length", "0"))
                outer.bodies.append(self.rfile.read(n))
                outer.content_types.append(self.headers.get("content-type", ""))
                status = 500 if len(outer.bodies) <= outer.fail_first else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/duis"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint(fail_first=1)
    yield e
    e.close()


def _dead_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/duis"


def _set_endpoint(a: Assembly, url: str | None) -> None:
    with a.dsp.engine.begin() as conn:
        conn.execute(update(users).where(users.c.eui == TEST_SUPPLIER_EUI).values(endpoint=url))


def _queue_response(a: Assembly, clock: FakeClock, counter: int = 7) -> bytes:
    """A signed asynchronous response for the test supplier, queued as the DSP does."""
    xml = a.dsp.duis.response(
        request_id=RequestId.parse(f"{TEST_SUPPLIER_EUI}:00-DB-12-34-56-78-B3-01:{counter}"),
        response_id=RequestId.parse(f"00-DB-12-34-56-78-B3-01:{TEST_SUPPLIER_EUI}:{counter}"),
        code="I0",
        when=clock(),
        service_reference="11.2",
        service_reference_variant="11.2",
    )
    with a.dsp.engine.begin() as conn:
        a.dsp.outbox.put_duis(conn, TEST_SUPPLIER_EUI, xml, clock())
    return xml


def _rows(a: Assembly) -> list[tuple[str, int, object]]:
    with a.dsp.engine.connect() as conn:
        return [
            (r.kind, r.attempts, r.sent_at)
            for r in conn.execute(select(outbox).order_by(outbox.c.id)).all()
        ]


def test_delivered_after_a_retry_and_marked_sent_once(
    assembly: Assembly, clock: FakeClock, endpoint: Endpoint
) -> None:
    _set_endpoint(assembly, endpoint.url)
    xml = _queue_response(assembly, clock)
    d = OutboxDispatcher(assembly.dsp, backoff=(5.0,))
    s1 = d.run_once(clock())
    assert (s1.claimed, s1.sent, s1.retried) == (1, 0, 1)  # the endpoint answered 500
    assert _rows(assembly) == [("duis", 1, None)]
    assert d.run_once(clock.advance(2)).claimed == 0  # backing off
    s2 = d.run_once(clock.advance(4))
    assert (s2.claimed, s2.sent) == (1, 1)
    assert d.run_once(clock.advance(60)).claimed == 0  # sent exactly once
    [(kind, attempts, sent_at)] = _rows(assembly)
    assert (kind, attempts, sent_at) == ("duis", 1, clock() - timedelta(seconds=60))
    assert endpoint.bodies == [xml, xml]
    assert endpoint.content_types[-1] == "application/xml"
    verify(endpoint.bodies[-1], assembly.dsp_trust)
    assert assembly.dsp.outbox.pending() == 0


def test_endpoint_down_or_missing_keeps_the_row_and_a_restart_delivers_it(
    assembly: Assembly, clock: FakeClock, tmp_path: Path
) -> None:
    _set_endpoint(assembly, _dead_url())
    xml = _queue_response(assembly, clock)
    d = OutboxDispatcher(assembly.dsp, backoff=(1.0, 2.0), timeout=2.0)
    for _ in range(3):
        assert d.run_once(clock.advance(10)).retried == 1
    _set_endpoint(assembly, None)  # no endpoint registered: kept as well
    assert d.run_once(clock.advance(10)).retried == 1
    assert _rows(assembly) == [("duis", 4, None)]
    assert assembly.dsp.outbox.pending() == 1

    # "restart": a new process on the same database delivers what was left
    e = Endpoint(fail_first=0)
    try:
        _set_endpoint(assembly, e.url)
        again = build_dsp(tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'dsp.db'}")
        s = OutboxDispatcher(again.dsp).run_once(clock.advance(10))
        assert (s.claimed, s.sent) == (1, 1)
        assert e.bodies == [xml]
        assert again.dsp.outbox.pending() == 0
    finally:
        e.close()


def test_smwan_rows_stay_in_the_outbox_without_a_network(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> None:
    seed_meter(assembly, clock())
    send(client, assembly, supplier.prenotify(PPMID, manufacturer="1234", model="0084000A"))
    assert send(client, assembly, supplier.join_non_critical(ESME, PPMID))[0] == "I99"
    kinds = [k for k, _a, _s in _rows(assembly)]
    assert "smwan" in kinds
    d = OutboxDispatcher(assembly.dsp)
    assert d.run_once(clock.advance(1)).claimed == 0
    assert assembly.dsp.outbox.pending() == len(kinds)

    delivered: list[Region] = []

    def network(item: OutboxItem) -> bool:
        delivered.append(item.region)
        return True

    sink = OutboxDispatcher(assembly.dsp, smwan_sink=network)
    assert sink.run_once(clock.advance(1)).sent == len(kinds)
    assert delivered == [Region.CENTRAL]  # the ESME's Comms Hub is in Central


def test_app_runs_the_dispatcher_in_the_background(
    assembly: Assembly, clock: FakeClock, endpoint: Endpoint
) -> None:
    _set_endpoint(assembly, endpoint.url)
    xml = _queue_response(assembly, clock)
    d = OutboxDispatcher(assembly.dsp, backoff=(0.0,))
    with TestClient(create_app(assembly, clock=clock, dispatcher=d)):
        deadline = time.monotonic() + 10
        while assembly.dsp.outbox.pending() and time.monotonic() < deadline:
            d.wake.set()
            time.sleep(0.05)
    assert assembly.dsp.outbox.pending() == 0
    assert endpoint.bodies == [xml, xml]


def test_request_counter_is_per_user(
    client: TestClient, assembly: Assembly, clock: FakeClock
) -> None:
    """Two users with the same counter do not collide (replay protection is per user)."""
    seed_meter(assembly, clock())
    cert, key = assembly.zaz1[NETWORK_OPERATOR_EUI]
    no = DuisClient(NETWORK_OPERATOR_EUI, key, cert, counter=1_000)
    cert, key = assembly.zaz1[TEST_SUPPLIER_EUI]
    sup = DuisClient(TEST_SUPPLIER_EUI, key, cert, counter=1_000)
    a, b = sup.read_inventory(ESME), no.read_inventory(ESME)
    assert a.request_id.rsplit(":", 1)[1] == b.request_id.rsplit(":", 1)[1] == "1001"
    # each user's first use of the counter is served; each one's replay of it is E12
    assert [send(client, assembly, r)[0] for r in (a, b, a, b)] == ["I0", "I0", "E12", "E12"]
