"""End-to-end DUIS gateway over HTTP on loopback (DESIGN §6: ≥ 2,000 signed requests/s on 2 cores,
p99 ≤ 20 ms).

    .venv/bin/python bench/bench_gateway_http.py [--requests N] [--concurrency C] [--workers 1 2]
        [--db sqlite postgres] [--mix 8.2 8.2+12.2] [--duration S] [--no-dispatcher]
        [--server factory|althan|granian] [--load wrk|httpx] [--profile] [--summary-json]
        [--pg-url URL]

For every combination asked for, a fresh store is set up (SQLite WAL in a temp directory, or a
PostgreSQL database created for the run and dropped after it): the ZAZ1 test users, one bench user
per concurrency slot (an IS/GS user with its own P-256 XML-signing certificate: DUIS counters must
strictly increase per user, so one user per in-flight stream) and one seeded CHF + PPMID. Then
N requests are signed ahead of time (signing is the users' cost, not the DSP's) and the gateway
is started on 127.0.0.1 on a free port:

- ``--server factory`` (default): ``uvicorn --factory bench_gateway_http:make_app --workers W``,
  the app built exactly as ``althan serve`` builds it (`build_dsp`, `DuisIO.learn_certificates`,
  `create_app` with an `OutboxDispatcher` unless ``--no-dispatcher``, the collector settled),
  without access logging;
- ``--server althan``: ``althan serve --workers W --no-access-log --no-network`` itself;
- ``--server granian``: the same factory app under granian (Rust HTTP, ASGI interface)
  instead of uvicorn, to choose the server by measurement (docs/benchmarks.md, 2026-12-04).

The load (``--load wrk``, the default) is Debian's wrk with a Lua script (`wrk_load`): one
thread and one connection per slot, each sending its user's presigned requests in order, first
flat out (saturation), then paced at half the saturation rate (p99 there). ``--load httpx`` is
the older asyncio load process (it costs more CPU than the server). Reported: requests/s,
latency percentiles, the X-DUIS-Response-Code mix, the server's and the load generator's CPU
per request (from /proc), and the floor measured in the same run (parse + schema-validate +
verify the same signed request and sign it, in-process, best of 5) with the server's CPU per
request as a multiple of it. ``--summary-json`` ends with one JSON line for run_all.py.
``--profile`` samples the server processes with py-spy during the measured phase and prints the
functions with the most samples.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import wrk_load
from pgtemp import postgres_db

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
WARMUP_PER_SLOT = 5
ENV_DATA = "ALTHAN_BENCH_DATA_DIR"
ENV_DB = "ALTHAN_BENCH_DB_URL"
ENV_DISPATCH = "ALTHAN_BENCH_DISPATCHER"
BENCH_USER_BASE = 0x90B3_D51F_3100_0000
BRIDGE = 0x00DB_1234_0000_0001
CHF = 0x00DB_1234_0000_00FF
NEW_DEVICE_BASE = 0x00DB_5678_0000_0000


# ----------------------------------------------------------------------------- the server side


def make_app() -> Any:
    """uvicorn factory: the app `althan serve` runs, over the store named in the environment."""
    from althan.runtime.assemble import build_dsp
    from althan.runtime.dispatcher import OutboxDispatcher
    from althan.runtime.heap import settle
    from althan.runtime.service import create_app

    assembly = build_dsp(Path(os.environ[ENV_DATA]), db_url=os.environ.get(ENV_DB) or None)
    assembly.dsp.duis.learn_certificates()
    dispatcher = OutboxDispatcher(assembly.dsp) if os.environ.get(ENV_DISPATCH) == "1" else None
    app = create_app(assembly, dispatcher=dispatcher)
    settle()  # as each `althan serve` process does once built
    return app


# ----------------------------------------------------------------------------- setup


def _self_signed(eui: Any) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"althan bench user {eui}")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def prepare(data_dir: Path, db_url: str | None, slots: int) -> list[Any]:
    """Store with test users, one bench user per slot and a seeded bridge; the bench clients."""
    from althan.dsp.bootstrap import InventoryDevice, seed_inventory
    from althan.dsp.users import register_user
    from althan.model import EUI64, UserRole
    from althan.runtime.assemble import build_dsp, register_test_users
    from althan.supplier.client import DuisClient

    now = datetime.now(UTC)
    a = build_dsp(data_dir, db_url=db_url)
    register_test_users(a, now)
    clients = []
    with a.dsp.engine.begin() as conn:
        for i in range(slots):
            eui = EUI64(BENCH_USER_BASE + i)
            key, cert = _self_signed(eui)
            register_user(conn, eui, f"bench {i}", [UserRole.IS, UserRole.GS], now, cert=cert)
            clients.append(DuisClient(eui, key, cert))
        seed_inventory(
            conn,
            [
                InventoryDevice(EUI64(CHF), "CHF", "ABCD", "0001", "00000001", "North", None, None),
                InventoryDevice(
                    EUI64(BRIDGE),
                    "PPMID",
                    "1234",
                    "01010001",
                    "00010000",
                    "North",
                    EUI64(CHF),
                    clients[0].user,
                ),
            ],
            now,
        )
    a.dsp.engine.dispose()
    return clients


def presign(clients: list[Any], n: int, mix: str) -> list[list[tuple[str, bytes]]]:
    """Per slot, its in-order list of (service, signed XML); slot i gets requests i, i+C, ..."""
    from althan.model import EUI64, FirmwareVersion

    per_slot: list[list[tuple[str, bytes]]] = [[] for _ in clients]
    bridge = EUI64(BRIDGE)
    total = n + WARMUP_PER_SLOT * len(clients)
    for k in range(total):
        s = k % len(clients)
        c = clients[s]
        if mix == "8.2+12.2" and k % 2:
            req = c.prenotify(
                EUI64(NEW_DEVICE_BASE + k),
                manufacturer="1234",
                model="01010001",
                firmware=FirmwareVersion(0x00010000),
                variant="B1",
            )
        else:
            req = c.read_inventory(bridge)
        per_slot[s].append((req.service, req.xml))
    return per_slot


# ----------------------------------------------------------------------------- the load process


async def _drive(
    url: str, per_slot: list[list[tuple[str, bytes]]], duration: float
) -> dict[str, Any]:
    import httpx

    c = len(per_slot)
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    lat: list[float] = []
    codes: collections.Counter[str] = collections.Counter()
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0) as client:

        async def stream(reqs: list[tuple[str, bytes]], record: bool, deadline: float) -> None:
            for service, xml in reqs:
                if time.perf_counter() > deadline:
                    return
                t = time.perf_counter()
                r = await client.post(
                    f"/api/v1/service{service}",
                    content=xml,
                    headers={"content-type": "application/xml"},
                )
                if record:
                    lat.append(time.perf_counter() - t)
                    codes[f"{r.status_code}/{r.headers.get('x-duis-response-code', '-')}"] += 1

        warm = [r[:WARMUP_PER_SLOT] for r in per_slot]
        rest = [r[WARMUP_PER_SLOT:] for r in per_slot]
        await asyncio.gather(*(stream(w, False, float("inf")) for w in warm))
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        deadline = t0 + duration
        await asyncio.gather(*(stream(r, True, deadline) for r in rest))
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3 if lat else float("nan")

    return {
        "requests": len(lat),
        "wall": wall,
        "rps": len(lat) / wall if wall else 0.0,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": lat[-1] * 1e3 if lat else float("nan"),
        "codes": dict(codes),
        "client_cpu": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
    }


def load_main(path: str, url: str, duration: float) -> None:
    with open(path, "rb") as f:
        per_slot = pickle.load(f)
    out = asyncio.run(_drive(url, per_slot, duration))
    print(json.dumps(out))


# ----------------------------------------------------------------------------- orchestration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for k in kids:
        out += _tree(int(k))
    return out


def _cpu(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx

    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            httpx.get(url + "/", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("server did not come up")


def summarise_pyspy(path: Path, top: int = 20) -> str:
    """Top functions by own and by inclusive samples from py-spy's collapsed-stack output."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        k = int(n)
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].split("/")[-1] + ")"
            if " (" in f
            else f
            for f in stack.split(";")
        ]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += k
        own[frames[-1]] += k
        for f in set(frames):
            incl[f] += k
    if not total:
        return "  (no samples)"
    lines = [f"  {total} samples; by own time:"]
    lines += [f"    {100 * k / total:5.1f}%  {f}" for f, k in own.most_common(top)]
    lines.append("  by inclusive time (althan, sqlalchemy, starlette, lxml, cryptography):")
    keep = (
        "althan",
        "sqlalchemy",
        "starlette",
        "lxml",
        "cryptography",
        "xmldsig",
        "schema",
        "handle",
        "execute",
        "anyio",
        "uvicorn",
        "h11",
    )
    inc = [(f, k) for f, k in incl.most_common() if any(w in f for w in keep)]
    lines += [f"    {100 * k / total:5.1f}%  {f}" for f, k in inc[: top + 10]]
    return "\n".join(lines)


@contextmanager
def serving(
    args: argparse.Namespace, data_dir: Path, db_url: str | None, workers: int
) -> Iterator[tuple[str, list[int]]]:
    """The gateway on a free loopback port, until the block ends: (its URL, its processes)."""
    py = sys.executable
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        **{
            ENV_DATA: str(data_dir),
            ENV_DB: db_url or "",
            ENV_DISPATCH: "0" if args.no_dispatcher else "1",
        },
    )
    if args.server == "althan":
        cmd = [
            str(Path(py).with_name("althan")),
            "serve",
            "--port",
            str(port),
            "--smki-port",
            "0",
            "--no-network",
            "--no-access-log",
            "--workers",
            str(workers),
            "--data-dir",
            str(data_dir),
        ] + (["--db-url", db_url] if db_url else [])
    else:
        # the factory app under an ASGI server: where it listens, how many processes, quietly
        listen = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        quiet = ["--log-level", "warning"]
        app = "bench_gateway_http:make_app"
        if args.server == "granian":
            cmd = [py, "-m", "granian", "--interface", "asgi", "--factory"]
            cmd += ["--working-dir", str(HERE), *listen, "--no-ws", *quiet, app]
        else:
            cmd = [py, "-m", "uvicorn", "--factory", app]
            cmd += ["--app-dir", str(HERE), *listen, "--no-access-log", *quiet]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(url, server)
        time.sleep(1.5 if workers > 1 else 0.3)  # let every worker come up
        yield url, _tree(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, err = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
        if server.returncode not in (0, -signal.SIGINT):
            print(err.decode()[-2000:], file=sys.stderr)


def _pyspy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--format",
            "raw",
            "--rate",
            "200",
            "--subprocesses",
            "--gil",
            "--nonblocking",
            "-o",
            str(out),
            "--pid",
            str(pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def run_one(args: argparse.Namespace, db: str, workers: int, mix: str) -> dict[str, Any]:
    """One server configuration under load: saturation (and, with wrk, half that rate)."""
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="althan-bench-gw-") as tmp, _db(db, args) as db_url:
        data_dir = Path(tmp) / "data"
        clients = prepare(data_dir, db_url, args.concurrency)
        n_half = args.requests // 2 if args.load == "wrk" else 0
        t = time.perf_counter()
        per_slot = presign(clients, args.requests + n_half, mix)
        sign_s = time.perf_counter() - t
        floor = floor_ms(clients[0], per_slot[0][0][1], data_dir, db_url)
        res: dict[str, Any] = {"sign_s": sign_s, "floor_ms": floor}
        with serving(args, data_dir, db_url, workers) as (url, pids):
            spy: subprocess.Popen[bytes] | None = None
            spy_out = Path(tmp) / "pyspy.txt"
            if args.load == "wrk":
                cut = WARMUP_PER_SLOT + args.requests // len(per_slot)
                first = Path(tmp) / "streams-1"
                second = Path(tmp) / "streams-2"
                wrk_load.write_streams(first, [r[:cut] for r in per_slot])
                wrk_load.write_streams(second, [r[cut:] for r in per_slot])
                cpu0 = _cpu(pids)
                if args.profile:
                    spy = _pyspy(pids[0], spy_out)
                sat = wrk_load.run_wrk(url, first, len(per_slot), args.duration)
                cpu1 = _cpu(pids)
                res.update(_wrk_figures(sat))
                res["server_cpu"] = cpu1 - cpu0
                half_rate = sat.rps / 2
                span = min(args.duration, 0.8 * n_half / half_rate) if half_rate else 0
                if span >= 2:
                    half = wrk_load.run_wrk(url, second, len(per_slot), span, rate=half_rate)
                    res["half"] = _wrk_figures(half)
            else:
                reqs_path = Path(tmp) / "requests.pickle"
                reqs_path.write_bytes(pickle.dumps(per_slot))
                load = subprocess.Popen(
                    [py, __file__, "--load-process", str(reqs_path), url, str(args.duration)],
                    stdout=subprocess.PIPE,
                )
                cpu0 = _cpu(pids)
                if args.profile:
                    spy = _pyspy(pids[0], spy_out)
                out, _ = load.communicate()
                cpu1 = _cpu(pids)
                if load.returncode:
                    raise SystemExit(f"load process failed ({load.returncode})")
                res.update(json.loads(out))
                res["server_cpu"] = cpu1 - cpu0
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                _, err = spy.communicate(timeout=60)
                res["profile"] = (
                    summarise_pyspy(spy_out) if spy_out.exists() else "  py-spy: " + err.decode()
                )
    return res


def _wrk_figures(r: wrk_load.WrkResult) -> dict[str, Any]:
    return {
        "requests": r.requests,
        "wall": r.wall,
        "rps": r.rps,
        "p50": r.p50,
        "p90": r.p90,
        "p99": r.p99,
        "max": r.max,
        "codes": r.codes,
        "errors": r.errors,
        "exhausted": r.exhausted,
        "client_cpu": r.load_cpu,
    }


def floor_ms(client: Any, xml: bytes, data_dir: Path, db_url: str | None, n: int = 300) -> float:
    """The floor of one request, measured here and now: parse + schema-validate + verify the
    signed request, and sign a document of its size (the answer), with the DSP's own objects;
    best of 5 rounds of `n`, ms."""
    from althan.duis.xmldsig import sign, verify
    from althan.duis.xmlsafe import parse_xml
    from althan.runtime.assemble import build_dsp

    a = build_dsp(data_dir, db_url=db_url)
    duis = a.dsp.duis
    duis.learn_certificates()
    try:

        def once() -> None:
            root = parse_xml(xml)
            duis.schemas.validate(root)
            verify(root, duis.trust, dcc_eui=duis.dcc_eui)
            sign(root, duis.key, duis.cert)

        once()
        best = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(n):
                once()
            best = min(best, (time.process_time() - t0) / n)
    finally:
        a.dsp.engine.dispose()
    return best * 1e3


def run_direct(args: argparse.Namespace, db: str, mix: str) -> tuple[float, float]:
    """The DSP alone: `Dsp.handle_duis` in one thread, no HTTP; (CPU ms, wall ms) per request."""
    from althan.runtime.assemble import build_dsp

    with tempfile.TemporaryDirectory(prefix="althan-bench-gw-") as tmp, _db(db, args) as db_url:
        data_dir = Path(tmp) / "data"
        clients = prepare(data_dir, db_url, 1)
        reqs = presign(clients, args.requests, mix)[0]
        a = build_dsp(data_dir, db_url=db_url)
        a.dsp.duis.learn_certificates()
        now = datetime.now(UTC)
        warm, rest = reqs[: WARMUP_PER_SLOT * 20], reqs[WARMUP_PER_SLOT * 20 :]
        for service, xml in warm:
            a.dsp.handle_duis(service, xml, now)
        c0, t0 = time.process_time(), time.perf_counter()
        for service, xml in rest:
            reply = a.dsp.handle_duis(service, xml, now)
            if reply.response_code != "I0":
                raise SystemExit(f"direct run: {reply.response_code} {reply.detail}")
        c1, t1 = time.process_time(), time.perf_counter()
        a.dsp.engine.dispose()
    return 1e3 * (c1 - c0) / len(rest), 1e3 * (t1 - t0) / len(rest)


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures run_all.py reads: the first plain-8.2 run's server CPU and floor, and each
    configuration's rate, p99 at half of it and CPU per request."""
    first = next((r for r in results if r["mix"] == "8.2"), results[0])
    return {
        "gateway_cpu_ms": round(first["server_cpu_ms"], 3),
        "gateway_floor_ms": round(first["floor_ms"], 3),
        "gateway": [
            {
                "db": r["db"],
                "mix": r["mix"],
                "workers": r["workers"],
                "rps": round(r["rps"], 1),
                "cpu_ms": round(r["server_cpu_ms"], 3),
                "floor_ms": round(r["floor_ms"], 3),
                "load_cpu_ms": round(1e3 * r["client_cpu"] / r["requests"], 3),
                "ran_out": r.get("exhausted", 0),  # streams out of requests: rps is a lower bound
                "p99_half_rate_ms": r["half"]["p99"] if "half" in r else None,
            }
            for r in results
        ],
    }


@contextmanager
def _db(db: str, args: argparse.Namespace) -> Iterator[str | None]:
    if db == "postgres":
        with postgres_db(args.pg_url) as url:
            yield url
    else:
        yield None


def main(argv: list[str]) -> int:
    if argv[:1] == ["--load-process"]:
        load_main(argv[1], argv[2], float(argv[3]))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--requests",
        type=int,
        default=12_000,
        help="presigned for the saturation phase (half as many more for the half-rate one): "
        "enough that no stream runs out within --duration, or the rate is only a lower bound",
    )
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--db", nargs="+", choices=("sqlite", "postgres"), default=["sqlite"])
    p.add_argument("--mix", nargs="+", choices=("8.2", "8.2+12.2"), default=["8.2"])
    p.add_argument("--duration", type=float, default=6.0, help="cap on the measured phase (s)")
    p.add_argument("--no-dispatcher", action="store_true")
    p.add_argument("--server", choices=("factory", "althan", "granian"), default="factory")
    p.add_argument("--profile", action="store_true", help="py-spy the server (needs ptrace)")
    p.add_argument(
        "--load",
        choices=("wrk", "httpx"),
        default="wrk",
        help="the load generator: wrk (C, one thread per stream) or an httpx asyncio process",
    )
    p.add_argument("--pg-url", default=PG_DEFAULT)
    p.add_argument("--json", action="store_true", help="also print each result as JSON")
    p.add_argument(
        "--summary-json",
        action="store_true",
        help="end with one JSON line: gateway_cpu_ms and gateway_floor_ms (the first 8.2 run), "
        "and per configuration",
    )
    p.add_argument(
        "--direct",
        action="store_true",
        help="also time Dsp.handle_duis in-process (no HTTP), one thread",
    )
    args = p.parse_args(argv)
    ok = True
    if args.direct:
        for db in args.db:
            for mix in args.mix:
                cpu, wall = run_direct(args, db, mix)
                print(
                    f"{db:8} {mix:8} in-process: {cpu:.2f} ms CPU, {wall:.2f} ms wall "
                    f"per request (= {1e3 / cpu:,.0f} requests/s per core)",
                    flush=True,
                )
    print(
        f"{args.requests:,} presigned requests, concurrency {args.concurrency}, "
        f"server={args.server}, load={args.load}"
        + (f" {wrk_load.wrk_version()}" if args.load == "wrk" else "")
        + f", dispatcher={'off' if args.no_dispatcher else 'on'}, {os.cpu_count()} CPUs"
    )
    results = []
    for db in args.db:
        for mix in args.mix:
            for w in args.workers:
                r = run_one(args, db, w, mix)
                good = r["codes"].get("200/I0", 0)
                ok &= good == r["requests"] and not r.get("errors")
                cpu_ms = 1e3 * r["server_cpu"] / r["requests"]
                print(
                    f"{db:8} {mix:8} workers={w}: {r['rps']:7.0f} req/s, "
                    f"p50 {r['p50']:5.1f} ms, p99 {r['p99']:5.1f} ms, max {r['max']:6.1f} ms; "
                    f"{r['requests']:,} in {r['wall']:.1f} s; codes {r['codes']}; "
                    f"server CPU {cpu_ms:.2f} ms/req = {cpu_ms / r['floor_ms']:.2f}x the floor "
                    f"({r['floor_ms']:.2f} ms); load CPU "
                    f"{1e3 * r['client_cpu'] / r['requests']:.2f} ms/req"
                    + (
                        f"; RAN OUT in {r['exhausted']} streams (the rate is a lower bound, and "
                        "the next phase ran at half of it: give more --requests)"
                        if r.get("exhausted")
                        else ""
                    ),
                    flush=True,
                )
                if "half" in r:
                    h = r["half"]
                    print(
                        f"{'':17} at half that rate ({h['rps']:.0f} req/s): p50 {h['p50']:.1f} "
                        f"ms, p90 {h['p90']:.1f} ms, p99 {h['p99']:.1f} ms, max {h['max']:.1f} ms",
                        flush=True,
                    )
                if "profile" in r:
                    print(r["profile"])
                row = {"db": db, "mix": mix, "workers": w, "server_cpu_ms": cpu_ms}
                row.update({k: v for k, v in r.items() if k != "profile"})
                results.append(row)
                if args.json:
                    print(json.dumps(row))
    if args.summary_json:
        print(json.dumps(summary(results)))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
