"""Two suppliers pre-notify the same new device at the same moment (issue 12, defect 1).

Against a real `althan serve` on PostgreSQL, over HTTP: 40 rounds, each a new EUI that two
suppliers (the ZAZ1 test supplier and a second one registered with its own certificate)
send a 12.2 for at once (a barrier releases both threads together). Each round answers one I0
and one E120201, both signed DUIS (HTTP 200, verified against the DSP's certificate) — never
a 500 or plain text. The loser's request is refused like any other: rolled back, so it leaves
no request record and claims no counter (the user's counter stays at its last accepted
request, and its next request, one counter on, is accepted).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from althan.cli.options import open_assembly
from althan.duis.namespaces import SR
from althan.duis.service_requests import RequestBuilder, SignedRequest
from althan.duis.xmldsig import verify
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.store.tables import service_requests, users
from live_support import Served, althan, dsp_trust, supplier_requests

ROUNDS = 40
SECOND = EUI64.parse("00-DB-12-34-56-78-5E-02")


def _second_supplier(tmp: Path) -> tuple[RequestBuilder, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"supplier {SECOND}")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    pem = tmp / "second.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return RequestBuilder(SECOND, key, cert, counter=5_000), pem


def _race(served: Served, a: SignedRequest, b: SignedRequest) -> list[tuple[int, str, bytes]]:
    barrier = threading.Barrier(2)
    out: list[tuple[int, str, bytes]] = [(0, "", b"")] * 2

    def go(i: int, req: SignedRequest) -> None:
        barrier.wait()
        out[i] = served.send(req)

    threads = [threading.Thread(target=go, args=(i, r)) for i, r in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


@pytest.mark.slow(2)
def test_concurrent_prenotify_by_two_suppliers_answers_i0_and_e120201_signed(
    tmp_path: Path, pg_url: str
) -> None:
    data = tmp_path / "data"
    second, pem = _second_supplier(tmp_path)
    althan("users", "add", "--eui", str(SECOND), "--roles", "IS", "--cert", str(pem),
           "--data-dir", str(data), "--db-url", pg_url)  # fmt: skip
    first = supplier_requests()
    trust = dsp_trust()
    winners: Counter[str] = Counter()
    last_accepted = {TEST_SUPPLIER_EUI: 0, SECOND: 0}
    with Served(data, "--db-url", pg_url, "--fleet", "0", "--no-network") as served:
        for n in range(ROUNDS):
            eui = EUI64.parse(f"00-DB-12-34-56-79-{n // 256:02X}-{n % 256:02X}")
            reqs = [
                rb.prenotify(eui, manufacturer="1234", model="0084000A", variant="B3")
                for rb in (first, second)
            ]
            answers = _race(served, *reqs)
            codes = []
            for (status, code, body), req in zip(answers, reqs, strict=True):
                assert status == 200, (n, status, body[:300])
                root = verify(body, trust).root  # signed DUIS, not plain text
                assert root.findtext(f"{SR}Header/{SR}ResponseCode") == code
                assert root.findtext(f"{SR}Header/{SR}RequestID") == req.request_id
                codes.append(code)
                if code == "I0":
                    originator, _dcc, count = str(req.request_id).split(":")
                    winners[originator] += 1
                    last_accepted[EUI64.parse(originator)] = int(count)
            assert sorted(codes) == ["E120201", "I0"], (n, codes)
        # the losers' counters were not claimed: each user's counter is its last I0's
        engine = open_assembly(data, pg_url, create=False).dsp.engine
        with engine.connect() as conn:
            rows = conn.execute(select(users.c.eui, users.c.last_counter)).all()
            counters = {r.eui: r.last_counter for r in rows}
            recorded = conn.execute(select(func.count()).select_from(service_requests)).scalar_one()
        engine.dispose()
        for user, counter in last_accepted.items():
            if counter:
                assert counters[user] == counter, (user, counters[user], counter)
        assert recorded == ROUNDS, "one request record per round: the winner's"
        # and the next request of either supplier, one counter on, is accepted
        for i, rb in enumerate((first, second)):
            fresh = EUI64.parse(f"00-DB-12-34-56-7A-00-{i:02X}")
            req = rb.prenotify(fresh, manufacturer="1234", model="0084000A", variant="B3")
            assert served.send(req)[:2] == (200, "I0")
    print(f"\nwinners over {ROUNDS} rounds: {dict(winners)}")
