"""Time one signed SRV 11.4 naming N commissioned Alt HAN bridges (DESIGN §6: 50,000, 1 MB, ≤ 3 s).

    .venv/bin/python bench/bench_11_4.py [--devices N] [--image-bytes B] [--db sqlite|postgres|both]
                                         [--reps R] [--profile] [--pg-url URL] [--json]

A DSP is built on a fresh store (SQLite WAL in a temp directory; PostgreSQL in a database created
for the run and dropped after it). N commissioned PPMID bridges (one CHF each, with its CHF device
log, round-robin over the three CSP regions, responsible supplier = the ZAZ1 test supplier) are
seeded set-based, and AltHANCo adds an Active CPL entry for a test OTA image of B payload bytes.
The 11.4 naming all N devices is signed once (not timed); the process's collector is settled as
a serving process's is (`althan.runtime.heap`); then `Dsp.handle_duis` is timed R times,
each on a store reset to "no deliveries yet" (firmware_deliveries, the outbox and the request log
emptied) with a fresh counter. Each run must answer I0 with N delivery rows and one
FirmwareDistribution per region in the outbox.

The floor is `DuisIO.accept` of the same signed request (parse, schema, XMLDSig verify: what
any DUIS request costs before its handler runs), timed R times too. ``--json`` ends with one
JSON line: ``fanout_11_4_s`` (the median handle_duis time, the slower engine's with
``--db both``), ``fanout_11_4_floor_s`` (the median floor) and both per engine
(``fanout_11_4_sqlite_s``, ``fanout_11_4_sqlite_floor_s``, ``fanout_11_4_postgresql_s``, …),
and ``fanout_11_4_<engine>_cpu_s``: this process's CPU time in handle_duis (on a loaded machine
less noisy than the wall time; on SQLite all of the DSP's work, on PostgreSQL not the server's).

Memory: peak traced Python allocation (tracemalloc, one extra run) and the process's peak RSS.
``--profile`` adds one cProfile run and prints the functions with the most time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pgtemp import postgres_db
from sqlalchemy import delete, func, insert, select, text

from althan.dsp import cpl
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.dsp.service import DuisReply
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion, Region
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.runtime.heap import settle
from althan.store.tables import chf_device_log, firmware_deliveries, outbox, service_requests
from althan.supplier.client import DuisClient
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image

MFR, IMAGE_TYPE, HW = 0x1234, 0x0101, 1
OLD, NEW = 0x00010000, 0x00020000
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CHF_BASE = 0x00DB_AB00_0000_0000
PPMID_BASE = 0x00DB_CD00_0000_0000


def seed(a: Assembly, n: int, image: bytes) -> list[EUI64]:
    """N commissioned bridges with their CHFs and CHF logs, and the CPL entry for `image`."""
    regions = [r.value for r in Region]
    model = f"{IMAGE_TYPE:04X}{HW:04X}"
    chfs = [EUI64(CHF_BASE + i) for i in range(n)]
    bridges = [EUI64(PPMID_BASE + i) for i in range(n)]
    rows = []
    for i in range(n):
        region = regions[i % len(regions)]
        rows.append(InventoryDevice(chfs[i], "CHF", "ABCD", "0001", "00000001", region, None, None))
        rows.append(
            InventoryDevice(
                bridges[i],
                "PPMID",
                f"{MFR:04X}",
                model,
                f"{OLD:08X}",
                region,
                chfs[i],
                TEST_SUPPLIER_EUI,
            )
        )
    img = parse_ota(image)
    sha = a.dsp.images.put(image)
    with a.dsp.engine.begin() as conn:
        for i in range(0, len(rows), 20_000):
            seed_inventory(conn, rows[i : i + 20_000], NOW)
        log = [{"chf": c, "device": b, "added_at": NOW} for c, b in zip(chfs, bridges, strict=True)]
        for i in range(0, n, 20_000):
            conn.execute(insert(chf_device_log), log[i : i + 20_000])
        cpl.add_entry(
            conn,
            by=ALTHANCO_DEFAULT_EUI,
            manufacturer=f"{MFR:04X}",
            model=f"{IMAGE_TYPE:04X}",
            hw_min=HW,
            hw_max=HW,
            firmware_version=f"{NEW:08X}",
            image_sha256=sha,
            image_hash=img.image_hash,
            now=NOW,
        )
    return bridges


def reset(a: Assembly) -> None:
    with a.dsp.engine.begin() as conn:
        conn.execute(delete(firmware_deliveries))
        conn.execute(delete(outbox))
        conn.execute(delete(service_requests))
    if a.dsp.engine.dialect.name == "postgresql":
        with a.dsp.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))


def check(a: Assembly, code: str, n: int) -> None:
    with a.dsp.engine.connect() as conn:
        delivered = conn.execute(select(func.count()).select_from(firmware_deliveries)).scalar()
        payloads = conn.execute(select(outbox.c.payload).where(outbox.c.kind == "smwan")).scalars()
        kinds = [json.loads(p)["type"] for p in payloads]
    ok = code == "I0" and delivered == n and kinds == ["FirmwareDistribution"] * 3
    if not ok:
        raise SystemExit(f"11.4 check failed: code {code}, {delivered} deliveries, outbox {kinds}")


def run(label: str, db_url: str | None, args: argparse.Namespace) -> tuple[float, float, float]:
    """Print the figures of one engine; (median handle_duis s, median floor s, median CPU s of
    this process in handle_duis)."""
    with tempfile.TemporaryDirectory(prefix="althan-bench-11-4-") as tmp:
        t0 = time.perf_counter()
        a = build_dsp(Path(tmp), db_url=db_url)
        register_test_users(a, NOW)
        image = build_test_image(
            MFR, IMAGE_TYPE, NEW, min_hw=HW, max_hw=HW, payload_size=args.image_bytes
        )
        bridges = seed(a, args.devices, image)
        cert, key = a.zaz1[TEST_SUPPLIER_EUI]
        client = DuisClient(TEST_SUPPLIER_EUI, key, cert)
        seeded = time.perf_counter() - t0
        settle()  # as a serving process does once built (`althan.runtime.heap`)

        def signed() -> bytes:
            return client.update_ppmid_firmware(image, FirmwareVersion(NEW), bridges).xml

        def once(wrap: Callable[[Callable[[], object]], object] | None = None) -> float:
            reset(a)
            body = signed()
            t, cpu0 = time.perf_counter(), time.process_time()
            if wrap is None:
                reply = a.dsp.handle_duis("D", body, NOW)
            else:
                box: list[DuisReply] = []
                wrap(lambda: box.append(a.dsp.handle_duis("D", body, NOW)))
                reply = box[0]
            dt = time.perf_counter() - t
            cpu.append(time.process_time() - cpu0)
            check(a, reply.response_code, args.devices)
            return dt

        request_bytes = len(signed())
        cpu: list[float] = []
        times = [once() for _ in range(args.reps)]
        cpu_median = statistics.median(cpu)
        floors = []
        for _ in range(args.reps):
            body = signed()
            t = time.perf_counter()
            a.dsp.duis.accept(body)
            floors.append(time.perf_counter() - t)

        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        once()
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        print(
            f"{label}: 11.4 with {args.devices:,} devices, {args.image_bytes:,}-byte image "
            f"(signed request {request_bytes / 1e6:.2f} MB); seeding {seeded:.1f} s"
        )
        print(
            f"  handle_duis: best {min(times):.3f} s, median {statistics.median(times):.3f} s "
            f"over {len(times)} runs ({', '.join(f'{t:.3f}' for t in times)}); "
            f"floor (DuisIO.accept) median {statistics.median(floors):.3f} s"
        )
        print(
            f"  this process's CPU in handle_duis: median {cpu_median:.3f} s "
            "(all of the DSP's work on SQLite; PostgreSQL's server works in its own processes)"
        )
        print(
            f"  peak traced allocation during one run: {peak / 1e6:.0f} MB; "
            f"process peak RSS {rss:.0f} MB"
        )
        if args.profile:
            prof = cProfile.Profile()
            total = once(lambda f: prof.runcall(f))
            out = io.StringIO()
            st = pstats.Stats(prof, stream=out)
            st.sort_stats("tottime").print_stats(args.top)
            print(f"  cProfile run: {total:.3f} s (profiled); top {args.top} by own time:")
            print("\n".join("    " + line for line in out.getvalue().splitlines()[6:]))
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(
                r"althan|sqlalchemy/engine/base.py.*\(execute\)|lxml|base64"
            )
            print("  by cumulative time (althan functions):")
            print("\n".join("    " + line for line in out.getvalue().splitlines()[6:40]))
        a.dsp.engine.dispose()
        return statistics.median(times), statistics.median(floors), cpu_median


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--devices", type=int, default=50_000)
    p.add_argument("--image-bytes", type=int, default=1_000_000)
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    p.add_argument("--pg-url", default=PG_DEFAULT, help="admin URL of a PostgreSQL server")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = p.parse_args(argv)
    figures: dict[str, tuple[float, float, float]] = {}
    if args.db in ("sqlite", "both"):
        figures["sqlite"] = run("SQLite (WAL)", None, args)
    if args.db in ("postgres", "both"):
        with postgres_db(args.pg_url) as url:
            figures["postgresql"] = run("PostgreSQL", url, args)
    if args.json:
        line = {
            "fanout_11_4_s": round(max(t for t, _f, _c in figures.values()), 4),
            "fanout_11_4_floor_s": round(statistics.median(f for _t, f, _c in figures.values()), 4),
        }
        for name, (t, f, c) in figures.items():
            line[f"fanout_11_4_{name}_s"] = round(t, 4)
            line[f"fanout_11_4_{name}_floor_s"] = round(f, 4)
            line[f"fanout_11_4_{name}_cpu_s"] = round(c, 4)
        print(json.dumps(line, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
