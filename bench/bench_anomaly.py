"""What anomaly detection costs the DUIS gateway (DESIGN §2 step 5).

    .venv/bin/python bench/bench_anomaly.py [--requests N] [--window-rows 0 1000 10000 100000]
                                            [--db sqlite|postgres|both] [--pg-url URL]

A DSP on a fresh store (SQLite WAL in a temp directory; PostgreSQL in a database created for
the run and dropped after it), the ZAZ1 test supplier, one commissioned device. Signed 8.2
Read Inventory requests (signed ahead, not timed) go through `Dsp.handle_duis` in one thread,
in alternating batches through two DSPs on the same store: one with the gateway steps without
anomaly detection (the floor), one with them. CPU time (of this process: on PostgreSQL the
server's work is not in it) and wall time per request are the medians over the batches. Cases:

- ``none``: no threshold applies to 8.2 (the step's one lookup query);
- ``W in window``: a threshold of the user and a DCC-wide one on 8.2, 24 h window, with W
  processed 8.2 requests of that user already in the window (two indexed aggregates).

Also: counting the devices an 11.4 names (50,000 EUIs in its DeviceIDList).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pgtemp import postgres_db
from sqlalchemy import insert

from althan.dsp import anomaly
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.dsp.gateway import STEPS
from althan.dsp.service import Dsp
from althan.duis.namespaces import sr_element
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.store.tables import service_requests
from althan.supplier.client import DuisClient

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DEVICE = EUI64.parse("00-DB-12-34-56-78-A0-01")
CHF = EUI64.parse("00-DB-12-34-56-78-C0-01")
BATCH = 25


def _setup(url: str | None, tmp: Path) -> tuple[Assembly, Dsp, DuisClient]:
    a = build_dsp(tmp / "data", db_url=url)
    register_test_users(a, NOW)
    with a.dsp.engine.begin() as conn:
        seed_inventory(
            conn,
            [
                InventoryDevice(CHF, "CHF", "106C", "433100AC", "00009001", "Central", CHF, None),
                InventoryDevice(
                    DEVICE,
                    "PPMID",
                    "1234",
                    "00840001",
                    "00010000",
                    "Central",
                    CHF,
                    TEST_SUPPLIER_EUI,
                ),
            ],
            NOW,
        )
    floor = Dsp(
        a.dsp.engine,
        a.dsp.services,
        routes=a.dsp.routes,
        steps=tuple(s for s in STEPS if s is not anomaly.anomaly_detection),
    )
    cert, key = a.zaz1[TEST_SUPPLIER_EUI]
    return a, floor, DuisClient(TEST_SUPPLIER_EUI, key, cert)


def _fill_window(a: Assembly, rows: int, start: int) -> None:
    """`rows` processed 8.2s of the test supplier in the last 24 h (set-based)."""
    if rows <= 0:
        return
    span = timedelta(hours=23).total_seconds()
    batch = [
        {
            "request_id": f"{TEST_SUPPLIER_EUI}:90-B3-D5-1F-30-00-00-02:{start + i}",
            "user_eui": TEST_SUPPLIER_EUI,
            "counter": start + i,
            "srv": "8.2",
            "received_at": NOW - timedelta(seconds=span * (i + 1) / rows),
            "response_code": "I0",
            "device_count": 1,
        }
        for i in range(rows)
    ]
    with a.dsp.engine.begin() as conn:
        for i in range(0, rows, 10_000):
            conn.execute(insert(service_requests), batch[i : i + 10_000])


def _thresholds(a: Assembly) -> None:
    with a.dsp.engine.begin() as conn:
        for user in (TEST_SUPPLIER_EUI, None):
            anomaly.set_threshold(
                conn,
                a.dsp.services.srvs,
                user=user,
                srv="8.2",
                max_requests=10_000_000,
                max_devices=None,
                window=timedelta(hours=24),
                now=NOW,
            )


Timing = tuple[float, float, float, float]
"""ms per request: (CPU without the step, CPU with it, wall without, wall with)."""


def _measure(a: Assembly, floor: Dsp, sup: DuisClient, n: int) -> Timing:
    """Median ms per request, alternating batches between the two DSPs."""
    reqs = [sup.read_inventory(DEVICE) for _ in range(2 * n)]
    runs: dict[str, list[tuple[float, float]]] = {"floor": [], "ad": []}
    dsps: dict[str, Dsp] = {"floor": floor, "ad": a.dsp}
    i = 0
    while i < len(reqs):
        for name in ("floor", "ad"):
            batch = reqs[i : i + BATCH]
            i += len(batch)
            if not batch:
                continue
            c0, w0 = time.process_time(), time.perf_counter()
            for r in batch:
                reply = dsps[name].handle_duis("D", r.xml, NOW)
                assert reply.response_code == "I0", reply.response_code
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            runs[name].append((cpu * 1000 / len(batch), wall * 1000 / len(batch)))

    def med(name: str, k: int) -> float:
        return statistics.median(x[k] for x in runs[name])

    return med("floor", 0), med("ad", 0), med("floor", 1), med("ad", 1)


def _row(db: str, case: str, t: Timing) -> str:
    cpu0, cpu1, wall0, wall1 = t
    return (
        f"| {db} | {case} | {cpu0:.3f} ms | {cpu1:.3f} ms | {cpu1 - cpu0:+.3f} ms "
        f"| {wall0:.3f} ms | {wall1:.3f} ms | {wall1 - wall0:+.3f} ms |"
    )


def _named(n: int) -> float:
    body = sr_element(
        "UpdatePPMIDFirmware",
        None,
        sr_element(
            "DeviceIDList", ",".join(str(EUI64(0x00DB_0000_0000_0000 + i)) for i in range(n))
        ),
    )
    t0 = time.perf_counter()
    reps = 20
    for _ in range(reps):
        assert anomaly.named_devices(body) == n
    return (time.perf_counter() - t0) * 1000 / reps


def run(db: str, url: str | None, n: int, windows: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="althan-bench-ad-") as tmp:
        a, floor, sup = _setup(url, Path(tmp))
        print(_row(db, "none apply", _measure(a, floor, sup, n)))
        _thresholds(a)
        filled = 0
        for w in windows:
            _fill_window(a, w - filled, 10_000_000 + filled)
            filled = w
            print(_row(db, f"{w:,} in window", _measure(a, floor, sup, n)))
            sys.stdout.flush()
        a.dsp.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=300, help="per DSP and case")
    p.add_argument("--window-rows", type=int, nargs="+", default=[0, 1_000, 10_000, 100_000])
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    p.add_argument("--pg-url", default=PG_DEFAULT)
    args = p.parse_args(argv)
    print(f"8.2 through Dsp.handle_duis, per request, median of batches of {BATCH}")
    print(
        "| store | thresholds on 8.2 | CPU without the step | with it | cost "
        "| wall without | with it | cost |"
    )
    print("|---|---|---|---|---|---|---|---|")
    runners: list[tuple[str, Callable[[], None]]] = []
    if args.db in ("sqlite", "both"):
        runners.append(("SQLite", lambda: run("SQLite", None, args.requests, args.window_rows)))
    if args.db in ("postgres", "both"):

        def pg() -> None:
            with postgres_db(args.pg_url) as url:
                run("PostgreSQL", url, args.requests, args.window_rows)

        runners.append(("PostgreSQL", pg))
    for _name, fn in runners:
        fn()
    print(f"11.4 naming 50,000 devices: counting them {_named(50_000):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
