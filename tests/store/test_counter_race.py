"""The DUIS counter race on PostgreSQL (docs/benchmarks.md, proposal 1): two threads send
requests of one user with the same counters at the same moment; for each counter exactly one
request is served, the other is refused E12, and nothing is lost.

The two threads read the firmware version (11.2) of different devices, so their RequestIDs
differ: only the counter claim (one conditional UPDATE of ``users.last_counter``) can tell
them apart. With the check and the claim apart (SELECT, then UPDATE) both would win.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.dsp.service import DuisReply
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import build_dsp, register_test_users
from althan.store.tables import service_requests, users
from althan.supplier.client import DuisClient, SignedRequest

T0 = datetime(2026, 12, 1, tzinfo=UTC)
COUNTERS = 40
DEVICES = (EUI64.parse("00-DB-12-34-56-78-90-A4"), EUI64.parse("00-DB-12-34-56-78-90-A5"))


def test_two_connections_racing_on_one_users_counters(tmp_path: Path, pg_url: str) -> None:
    a = build_dsp(tmp_path / "d", db_url=pg_url)
    assert a.dsp.engine.dialect.name == "postgresql"
    register_test_users(a, T0)
    with a.dsp.engine.begin() as c:
        seed_inventory(
            c,
            [
                InventoryDevice(d, "PPMID", "121D", "00840001", "1", "North", d, TEST_SUPPLIER_EUI)
                for d in DEVICES
            ],
            T0,
        )
    cert, key = a.zaz1[TEST_SUPPLIER_EUI]
    # two clients of the same user, each numbering its requests 1, 2, 3, ...
    streams: list[list[SignedRequest]] = []
    for device in DEVICES:
        client = DuisClient(TEST_SUPPLIER_EUI, key, cert, counter=0)
        streams.append([client.read_firmware_version(device) for _ in range(COUNTERS)])
    for a_req, b_req in zip(*streams, strict=True):
        assert a_req.request_id.rsplit(":", 1)[1] == b_req.request_id.rsplit(":", 1)[1]
        assert a_req.request_id != b_req.request_id

    start = threading.Barrier(2)
    replies: list[list[DuisReply]] = [[], []]
    errors: list[BaseException] = []

    def send(i: int) -> None:
        try:
            for req in streams[i]:
                start.wait(timeout=60)  # both requests of one counter leave together
                replies[i].append(a.dsp.handle_duis(req.service, req.xml, T0))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert [len(r) for r in replies] == [COUNTERS, COUNTERS]

    wins: list[str] = []
    for n, (ra, rb) in enumerate(zip(*replies, strict=True), start=1):
        assert sorted((ra.response_code, rb.response_code)) == ["E12", "I99"], (n, ra, rb)
        winner = streams[0][n - 1] if ra.response_code == "I99" else streams[1][n - 1]
        wins.append(winner.request_id)
    # nothing lost: each counter recorded once, by the request that won it
    with a.dsp.engine.connect() as c:
        recorded = c.execute(
            select(service_requests.c.request_id, service_requests.c.counter).where(
                service_requests.c.user_eui == TEST_SUPPLIER_EUI
            )
        ).all()
        last = c.execute(
            select(users.c.last_counter).where(users.c.eui == TEST_SUPPLIER_EUI)
        ).scalar_one()
        total = c.execute(select(func.count()).select_from(service_requests)).scalar_one()
    assert sorted(r.request_id for r in recorded) == sorted(wins)
    assert Counter(r.counter for r in recorded) == Counter(range(1, COUNTERS + 1))
    assert (last, total) == (COUNTERS, COUNTERS)
