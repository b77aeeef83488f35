"""Time the SSI's device search on a store of N devices (issue 13: 1,000,000, well under 1 s).

    .venv/bin/python bench/bench_ssi_search.py [--devices N] [--db sqlite|postgres|both]
                                               [--reps R] [--pg-url URL]

A store migrated to head (so with the search indexes of migration 0003) is filled set-based
with N devices: 40 % Alt HAN bridges (PPMID + variant B1..B4), 20 % each of CHF, ESME and GSME;
statuses 99 % Commissioned, the rest Pending / Whitelisted; three regions; five firmware
versions plus one held by 100 devices; four responsible suppliers; random 64-bit EUIs (both
signs stored). Then each search below runs R times through `althan.ssi.search` — the very
query builder the /ssi/devices page uses, with the role's scope conditions — and the page
itself is fetched R times through the SSI app (sign-in once; HTTP in process, rendering
included). Printed: median and worst time per search, rows found.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgtemp import postgres_db

from althan.model import EUI64
from althan.ssi import accounts, scope, search
from althan.ssi.web import Principal
from althan.store import open_engine
from althan.store.bulk import bulk_insert
from althan.store.tables import devices
from althan.store.types import signed64

NOW = datetime(2026, 12, 1, tzinfo=UTC)
SUPPLIERS = [EUI64.parse(f"90-B3-D5-1F-30-01-00-0{i}") for i in range(4)]
VERSIONS = ["00010000", "00010002", "00020000", "00020001", "01000000"]
RARE = "00099999"
COLUMNS = (
    "eui", "device_type", "status", "manufacturer", "model", "hardware_version",
    "firmware_version", "variant", "region", "chf", "supplier", "updated_at",
)  # fmt: skip


def fill(engine: Engine, n: int, seed: int = 13) -> dict[str, Any]:
    rnd = random.Random(seed)
    facts: dict[str, Any] = {}
    seen: set[int] = set()
    chfs: list[int] = []

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            e = rnd.getrandbits(64)
            while e in seen:
                e = rnd.getrandbits(64)
            seen.add(e)
            k = i % 5
            kind, variant = (
                (("CHF", None), ("ESME", None), ("GSME", None))[k]
                if k < 3
                else ("PPMID", f"B{1 + rnd.getrandbits(2)}")
            )
            if kind == "CHF":
                chfs.append(signed64(e))
            chf = chfs[-1] if chfs else None
            r = rnd.random()
            status = "Commissioned" if r < 0.99 else ("Pending" if r < 0.995 else "Whitelisted")
            version = RARE if i % (n // 100 or 1) == 7 else VERSIONS[rnd.randrange(5)]
            if i == n // 2:
                facts["middle"] = EUI64(e)
                facts["chf"] = chf
            yield (
                signed64(e), kind, status, "1A1C", "0B020002", 2, version, variant,
                ("North", "Central", "South")[rnd.randrange(3)], chf,
                signed64(SUPPLIERS[rnd.getrandbits(2)].value), NOW,
            )  # fmt: skip

    gen = rows()
    with engine.begin() as conn:
        while chunk := list(islice(gen, 100_000)):
            bulk_insert(conn, devices, COLUMNS, chunk)
    return facts


SUPPLIER = Principal("s", accounts.Role.SUPPLIER, SUPPLIERS[1])
ALTHANCO = Principal("a", accounts.Role.ALTHANCO, None)
DCC = Principal("d", accounts.Role.DCC, None)


def cases(facts: dict[str, Any]) -> list[tuple[str, Principal, str, EUI64 | None]]:
    middle: EUI64 = facts["middle"]
    chf = EUI64(facts["chf"] + (1 << 64) if facts["chf"] < 0 else facts["chf"])
    return [
        ("DCC, everything, page 1", DCC, "", None),
        ("DCC, everything, page at the middle EUI", DCC, "", middle),
        ("DCC, one EUI", DCC, str(middle), None),
        ("DCC, EUI prefix (2 bytes)", DCC, str(middle)[:5], None),
        ("DCC, chf:", DCC, f"chf:{chf}", None),
        ("DCC, status Pending (0.5 %)", DCC, "Pending", None),
        ("DCC, fw rare (100 devices)", DCC, f"fw:{RARE}", None),
        ("DCC, fw nobody has", DCC, "fw:DEADBEEF", None),
        ("DCC, North B4 Commissioned", DCC, "North B4 Commissioned", None),
        ("supplier, its devices, page 1", SUPPLIER, "", None),
        ("supplier, B2", SUPPLIER, "B2", None),
        ("supplier, fw rare", SUPPLIER, f"fw:{RARE}", None),
        ("supplier, Whitelisted South", SUPPLIER, "Whitelisted South", None),
        ("supplier, Pending North B4", SUPPLIER, "Pending North B4", None),
        ("DCC, CHF in North (large sets, any order)", DCC, "CHF North", None),
        ("AltHANCo, Alt HAN devices, page 1", ALTHANCO, "", None),
        ("AltHANCo, B3 fw 00020000", ALTHANCO, "B3 fw:00020000", None),
    ]


def timed(fn: Any, reps: int) -> tuple[float, float, Any]:
    times = []
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times), out


def run(url: str, n: int, reps: int, label: str) -> None:
    engine = open_engine(url)
    t0 = time.perf_counter()
    facts = fill(engine, n)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE devices")
    print(f"\n{label}: {n:,} devices stored in {time.perf_counter() - t0:.0f} s")
    print(f"{'search':44} {'median':>9} {'worst':>9} {'rows':>5}")
    worst = 0.0
    for name, who, q, after in cases(facts):
        query = search.parse(q)
        assert not query.errors, query.errors
        seen_eqs, seen_where = scope.device_filters(who)
        eqs, where = search.conditions(query)
        eqs, where = [*seen_eqs, *eqs], [*seen_where, *where]

        def once(eqs: Any = eqs, where: Any = where, after: EUI64 | None = after) -> Any:
            with engine.connect() as conn:
                return search.search(conn, eqs, where, after=after, limit=50)

        med, top, page = timed(once, reps)
        worst = max(worst, top)
        print(f"{name:44} {med * 1000:7.2f} ms {top * 1000:7.2f} ms {len(page.rows):5}")
    print(f"worst single search: {worst * 1000:.1f} ms")
    page_times(engine, facts, reps)
    engine.dispose()


def page_times(engine: Engine, facts: dict[str, Any], reps: int) -> None:
    """The /devices page through the SSI app (TestClient in process), signed in as the DCC."""
    from starlette.testclient import TestClient

    from althan.runtime.assemble import build_dsp, register_test_users
    from althan.ssi import create_ssi_app

    with tempfile.TemporaryDirectory() as d:
        a = build_dsp(Path(d), db_url=str(engine.url.render_as_string(hide_password=False)))
        register_test_users(a, NOW)
        with a.dsp.engine.begin() as conn:
            accounts.add(conn, "bench", accounts.Role.DCC, None, "bench password", NOW)
        c = TestClient(create_ssi_app(a.dsp.engine, a.dsp.services))
        tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert tok
        c.post(
            "/login", data={"login": "bench", "password": "bench password", "csrf_token": tok[1]}
        )
        for q in ("", "B2 North", f"fw:{RARE}", str(facts["middle"])):
            med, top, r = timed(lambda q=q: c.get("/devices", params={"q": q}), reps)
            assert r.status_code == 200
            print(f"{'page /devices?q=' + q:44} {med * 1000:7.2f} ms {top * 1000:7.2f} ms")


@contextmanager
def sqlite_store() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as d:
        yield f"sqlite:///{d}/bench.db"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--devices", type=int, default=1_000_000)
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args()
    if args.db in ("sqlite", "both"):
        with sqlite_store() as url:
            run(url, args.devices, args.reps, "SQLite")
    if args.db in ("postgres", "both"):
        with postgres_db(args.pg_url) as url:
            run(url, args.devices, args.reps, "PostgreSQL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
