#!/usr/bin/env python3
"""Structural fuzzer of the DUIS gateway over HTTP: mutated requests, re-signed, so that they
pass the signature and reach the SRV handlers.

    python fuzz/fuzz_http.py --count 1000000 [--seed S] [--reference DIR] [--report-every N]
    python fuzz/fuzz_http.py --count 1000000 --shards 20 --jobs 2 --results DIR [--resume]

Seeds: the DCC's 297 request templates (``duis/templates`` of --reference, else
$ALTHAN_REFERENCE_DIR, else ../shared/reference) and althan's own request builder
(`althan.duis.service_requests.RequestBuilder`). Each input is a seed with 1-3 structural
mutations — an element's value (a value the same element has in another template, an EUI of
the store's inventory or a random one, counters, edge integers, dates, empty and long
strings), an element removed, duplicated or swapped with its sibling, the SRV or
CommandVariant swapped, another template's body, another RequestID target — then given a
fresh counter of a ZAZ1 user and signed with that user's ZAZ1 key (now and then the counter
replays or the key is another user's), and POSTed, in process, through the DUIS ASGI app
(`althan.runtime.service.create_app`) to the web service its CommandVariant picks (now and
then another). The DSP runs on a SQLite store seeded with the served inventory (`althan serve
--fleet 2`: the devices the templates address, two Alt HAN homes, AltHANCo's CPL).

Checked for every input: no HTTP 5xx (nor an exception out of the app); a refused request
(any ResponseCode but I0, I99 and the W-codes) changes no store row — counted by SQLite
triggers on every table, so a change rolled back does not count. Printed: inputs, rate,
response codes, the fraction that reached an SRV handler. Exits 1 when a check failed (the
first few inputs that failed are written to --out).

A long run is split into shards: `--shards K` runs seeds S..S+K-1, --count/K inputs each, in
`--jobs` processes side by side (each its own store), and merges their reports. With
`--results DIR` each shard's report is written to DIR/seed-<s>-<n>.json as it finishes, and
`--resume` skips the shards already there: a million inputs can be gathered over several
sittings, each shard reproducible from its seed alone.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import copy
import dataclasses
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from sqlalchemy import Engine, select, text

from althan.dsp.context import Ctx, Handled, Route
from althan.dsp.routes import Routes
from althan.duis.namespaces import SR
from althan.duis.schema import find_tool_jar
from althan.duis.service_requests import RequestBuilder
from althan.duis.srv import SERVICE_FOR_CV, SrvMatrix, service_reference_of
from althan.duis.xmldsig import sign
from althan.model import DCC_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.assemble import (
    NETWORK_OPERATOR_EUI,
    OTHER_USER_EUI,
    Assembly,
    build_dsp,
    register_test_users,
)
from althan.runtime.fast_path import FastPath
from althan.runtime.inventory import FleetSpec, seed_store, served_fleet
from althan.runtime.service import create_app
from althan.smki.zaz1 import load_zaz1
from althan.store.tables import devices, metadata

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DS = "{http://www.w3.org/2000/09/xmldsig#}"
USERS = (TEST_SUPPLIER_EUI, NETWORK_OPERATOR_EUI, OTHER_USER_EUI)
ACCEPTED = ("I0", "I99")
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
_EDGE_INTS = ("0", "1", "-1", "2", "255", "256", "65535", "4294967295", "4294967296",
              "9223372036854775807", "99999999999999999999", "00", "+1", "1.5")  # fmt: skip
_DATES = ("1970-01-01T00:00:00Z", "2099-12-31T23:59:59Z", "2026-02-30T00:00:00Z",
          "0001-01-01T00:00:00Z", "2026-12-01")  # fmt: skip
_STRINGS = ("", " ", "x", "A" * 300, "&lt;", "true", "false", "NaN", "\u00e9")


def default_reference() -> Path:
    return Path(os.environ.get("ALTHAN_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))


def _strip(root: etree._Element) -> etree._Element:
    for sig in root.findall(f"{DS}Signature"):
        root.remove(sig)
    return root


def template_seeds(reference: Path) -> list[tuple[str, etree._Element]]:
    folder = reference / "duis" / "templates"
    return [
        (p.name, _strip(etree.fromstring(p.read_bytes(), _SAFE)))
        for p in sorted(folder.glob("*.XML")) + sorted(folder.glob("*.xml"))
    ]


def built_seeds(inventory: list[EUI64]) -> list[tuple[str, etree._Element]]:
    """althan's own requests (unsigned trees: the fuzzer signs what it sends)."""
    cert, key = _throwaway()
    rb = RequestBuilder(TEST_SUPPLIER_EUI, key, cert)
    dev = inventory[0] if inventory else DCC_EUI
    other = inventory[-1] if inventory else DCC_EUI
    reqs = [
        rb.prenotify(dev, manufacturer="1234", model="0084000A", variant="B3"),
        rb.prenotify(EUI64(0x00DB123456785F01), manufacturer="1234", model="0084000A"),
        rb.read_inventory(dev),
        rb.update_inventory_variant(dev, "B1"),
        rb.update_inventory_firmware(dev, FirmwareVersion(0x01000500)),
        rb.whitelist(other, dev, bytes(range(16))),
        rb.update_ppmid_firmware(b"\x1e\xf1\xee\x0b" + bytes(60), FirmwareVersion(2), [dev]),
        rb.read_firmware_version(dev),
        rb.join_non_critical(dev, other),
        rb.unjoin_non_critical(dev, other),
    ]
    return [(f"built:{i}", _strip(etree.fromstring(r.xml, _SAFE))) for i, r in enumerate(reqs)]


def _throwaway() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    return load_zaz1(find_tool_jar())[TEST_SUPPLIER_EUI]


# ---------------------------------------------------------------------------- the target


_TRIGGERS = "fuzz_changes"


def _count_changes(engine: Engine) -> None:
    """A row counter bumped by triggers on every table (rolled back with the transaction)."""
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {_TRIGGERS} (n INTEGER NOT NULL)"))
        conn.execute(text(f"INSERT INTO {_TRIGGERS} VALUES (0)"))
        for t in metadata.sorted_tables:
            for op in ("INSERT", "UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER fuzz_{t.name}_{op.lower()} AFTER {op} ON {t.name} "
                        f"BEGIN UPDATE {_TRIGGERS} SET n = n + 1; END"
                    )
                )


@dataclass
class Target:
    """The DSP on a seeded SQLite store, its ASGI app, and what reached its handlers."""

    assembly: Assembly
    app: FastPath
    inventory: list[EUI64]
    handled: Counter[str] = field(default_factory=Counter)
    now: datetime = T0

    @classmethod
    def open(cls, data_dir: Path) -> Target:
        a = build_dsp(data_dir)
        register_test_users(a, T0)
        served = served_fleet(FleetSpec(2, 1))
        with a.dsp.engine.begin() as conn:
            seed_store(conn, a.dsp.images, served, T0)
            inventory = sorted(conn.execute(select(devices.c.eui)).scalars())
        _count_changes(a.dsp.engine)
        target = cls(a, create_app(a, clock=lambda: target.now), inventory)
        target._count_handlers()
        return target

    def _count_handlers(self) -> None:
        dsp = self.assembly.dsp

        def counted(route: Route) -> Route:
            def handle(ctx: Ctx) -> Handled:
                self.handled[route.variant] += 1
                return route.handle(ctx)

            return dataclasses.replace(route, handle=handle)

        dsp.routes = Routes([counted(dsp.routes[v]) for v in dsp.routes])

    def changes(self) -> int:
        with self.assembly.dsp.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT n FROM {_TRIGGERS}")).scalar_one())

    async def post(self, client: httpx.AsyncClient, service: str, xml: bytes) -> tuple[int, str]:
        self.now += timedelta(seconds=2)
        r = await client.post(
            f"/api/v1/service{service}", content=xml, headers={"content-type": "application/xml"}
        )
        return r.status_code, r.headers.get("x-duis-response-code", "")


# ---------------------------------------------------------------------------- mutations


@dataclass
class Mutator:
    rng: random.Random
    seeds: list[tuple[str, etree._Element]]
    inventory: list[EUI64]
    srvs: list[str]
    routed: list[str]
    matrix: SrvMatrix
    values: dict[str, list[str]] = field(default_factory=dict)
    counters: dict[EUI64, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pool: dict[str, set[str]] = {}
        for _n, root in self.seeds:
            for e in root.iter():
                if isinstance(e.tag, str) and len(e) == 0 and e.text and e.text.strip():
                    pool.setdefault(e.tag, set()).add(e.text.strip())
        self.values = {k: sorted(v) for k, v in pool.items()}
        self.counters = {u: 1_000 for u in USERS}
        self.handled_seeds = [s for s in self.seeds if _srv(s[1]) in self.routed]

    def _seed(self) -> tuple[str, etree._Element]:
        if self.handled_seeds and self.rng.random() < 0.85:
            return self.rng.choice(self.handled_seeds)
        return self.rng.choice(self.seeds)

    def _eui(self) -> str:
        r = self.rng.random()
        if r < 0.6 and self.inventory:
            return str(self.rng.choice(self.inventory))
        if r < 0.7:
            return str(DCC_EUI)
        if r < 0.8:
            return str(self.rng.choice(USERS))
        if r < 0.9:
            return str(EUI64(self.rng.getrandbits(64)))
        return self.rng.choice(("", "00-00-00-00-00-00-00-00", "FF-FF-FF-FF-FF-FF-FF-FF",
                                "0011223344556677", "00-DB-12"))  # fmt: skip

    def _date(self) -> str:
        r = self.rng.random()
        if r < 0.7:
            d = T0 + timedelta(seconds=self.rng.randint(-400 * 86400, 400 * 86400))
            return d.strftime("%Y-%m-%dT%H:%M:%S") + self.rng.choice(("Z", ".000Z", "+01:00", ""))
        return self.rng.choice(_DATES)

    def _value(self, e: etree._Element) -> str:
        old = (e.text or "").strip()
        tag = str(e.tag)
        r = self.rng.random()
        if r < 0.45 and tag in self.values:
            return self.rng.choice(self.values[tag])
        if r < 0.55 and ("ID" in tag or old.count("-") == 7):
            return self._eui()
        if r < 0.65 and ("Date" in tag or "Time" in tag or "T" in old[10:11]):
            return self._date()
        if r < 0.8:
            return self.rng.choice(_EDGE_INTS)
        if r < 0.9 and old:
            i = self.rng.randrange(len(old))
            return old[:i] + self.rng.choice("0123456789ABCDEF-: x") + old[i + 1 :]
        return self.rng.choice(_STRINGS)

    def _elements(self, root: etree._Element) -> list[etree._Element]:
        return [e for e in root.iter() if isinstance(e.tag, str) and e is not root]

    def gentle(self, root: etree._Element) -> None:
        """A value the element has in some template, an inventory EUI, or another target:
        what stays schema-valid, so that it reaches the handlers' own rules."""
        header = root.find(f"{SR}Header")
        body = root.find(f"{SR}Body")
        within = self._elements(body) if body is not None else []
        leaves = [e for e in within if len(e) == 0 and str(e.tag) in self.values]
        if header is not None and (not leaves or self.rng.random() < 0.2):
            rid = (header.findtext(f"{SR}RequestID") or "::").split(":")
            target = str(self.rng.choice(self.inventory)) if self.inventory else str(DCC_EUI)
            _set(header, "RequestID", f"{rid[0]}:{target}:{rid[-1]}")
            return
        if not leaves:
            return
        e = self.rng.choice(leaves)
        old = (e.text or "").strip()
        if old.count("-") == 7 and self.inventory and self.rng.random() < 0.5:
            e.text = str(self.rng.choice(self.inventory))
        else:
            e.text = self.rng.choice(self.values[str(e.tag)])

    def mutate(self, root: etree._Element) -> None:
        header = root.find(f"{SR}Header")
        kind = self.rng.random()
        elements = self._elements(root)
        if not elements:
            return
        if kind < 0.45:
            leaves = [e for e in elements if len(e) == 0] or elements
            e = self.rng.choice(leaves)
            e.text = self._value(e)
        elif kind < 0.55:
            e = self.rng.choice(elements)
            parent = e.getparent()
            if parent is not None:
                parent.remove(e)
        elif kind < 0.65:
            e = self.rng.choice(elements)
            e.addnext(copy.deepcopy(e))
        elif kind < 0.7:
            e = self.rng.choice(elements)
            nxt = e.getnext()
            if nxt is not None:
                nxt.addnext(e)
        elif kind < 0.8 and header is not None:
            srv = self.rng.choice(self.routed if self.rng.random() < 0.7 else self.srvs)
            _set(header, "ServiceReferenceVariant", srv)
            if self.rng.random() < 0.8:
                _set(header, "ServiceReference", service_reference_of(srv))
            info = self.matrix.get(srv)
            if info is not None and self.rng.random() < 0.7:
                cvs = sorted(info.allowed_command_variants())
                _set(header, "CommandVariant", str(self.rng.choice(cvs)))
        elif kind < 0.88 and header is not None:
            _set(header, "CommandVariant", str(self.rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 0, 9))))
        elif kind < 0.94:
            body = root.find(f"{SR}Body")
            _name, other = self._seed()
            theirs = other.find(f"{SR}Body")
            if body is not None and theirs is not None:
                body.getparent().replace(body, copy.deepcopy(theirs))  # type: ignore[union-attr]
        elif header is not None:
            rid = (header.findtext(f"{SR}RequestID") or "::").split(":")
            _set(header, "RequestID", f"{rid[0]}:{self._eui()}:{rid[-1]}")

    def input(self) -> tuple[str, etree._Element, EUI64, str]:
        """(seed name, the request to sign, the user to sign it as, the service to POST to)."""
        name, seed = self._seed()
        root = copy.deepcopy(seed)
        if self.rng.random() < 0.4:
            for _ in range(self.rng.choice((1, 1, 2))):
                self.gentle(root)
        else:
            for _ in range(self.rng.choice((1, 1, 1, 2, 2, 3))):
                self.mutate(root)
        header = root.find(f"{SR}Header")
        user = self.rng.choice(USERS) if self.rng.random() < 0.15 else None
        signer = user or TEST_SUPPLIER_EUI
        if header is not None:
            rid = (header.findtext(f"{SR}RequestID") or "").split(":")
            try:
                originator = EUI64.parse(rid[0])
            except ValueError:
                originator = TEST_SUPPLIER_EUI
            if user is not None or originator not in self.counters:
                originator = signer
            signer = originator
            target = rid[1] if len(rid) == 3 else str(DCC_EUI)
            self.counters[originator] += 1
            counter = self.counters[originator]
            r = self.rng.random()
            if r < 0.02:
                counter -= self.rng.choice((1, 5))  # a replay
            elif r < 0.03:
                counter = self.rng.choice((0, 2**64, -1))
            _set(header, "RequestID", f"{originator}:{target}:{counter}")
        if self.rng.random() < 0.02:
            signer = self.rng.choice(USERS)  # signed by another user than the originator
        cv = (root.findtext(f"{SR}Header/{SR}CommandVariant") or "").strip()
        service = SERVICE_FOR_CV.get(int(cv) if cv.isdigit() else 0, "D")
        if self.rng.random() < 0.03:
            service = self.rng.choice("DST")
        return name, root, signer, service


def _srv(root: etree._Element) -> str:
    return (root.findtext(f"{SR}Header/{SR}ServiceReferenceVariant") or "").strip()


def _set(header: etree._Element, name: str, value: str) -> None:
    e = header.find(f"{SR}{name}")
    if e is None:
        e = etree.SubElement(header, f"{SR}{name}")
    e.text = value


# ---------------------------------------------------------------------------- the run


@dataclass
class Report:
    inputs: int = 0
    seconds: float = 0.0
    codes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    reached: int = 0
    handled: Counter[str] = field(default_factory=Counter)
    seeds: int = 0
    defects: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0

    def merge(self, other: Report) -> None:
        """Add a shard's report to this one (seconds add up: the rate is per process)."""
        self.inputs += other.inputs
        self.seconds += other.seconds
        self.codes.update(other.codes)
        self.statuses.update(other.statuses)
        self.reached += other.reached
        self.handled.update(other.handled)
        self.seeds = max(self.seeds, other.seeds)
        self.defects += other.defects

    def to_json(self) -> dict[str, object]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: dict(v) if isinstance(v, Counter) else v for k, v in values.items()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Report:
        return cls(
            inputs=int(d["inputs"]),
            seconds=float(d["seconds"]),
            codes=Counter(d["codes"]),
            statuses=Counter({int(k): int(v) for k, v in d["statuses"].items()}),
            reached=int(d["reached"]),
            handled=Counter(d["handled"]),
            seeds=int(d["seeds"]),
            defects=[str(x) for x in d["defects"]],
        )

    def summary(self) -> dict[str, object]:
        return {
            "inputs": self.inputs,
            "seconds": round(self.seconds, 1),
            "rate": round(self.rate, 1),
            "reached_handler": round(self.reached / max(self.inputs, 1), 4),
            "codes": dict(self.codes.most_common()),
            "statuses": dict(sorted(self.statuses.items())),
            "handled_by_srv": dict(sorted(self.handled.items())),
            "defects": len(self.defects),
        }


def run(
    count: int,
    seed: int,
    reference: Path,
    data_dir: Path,
    *,
    out: Path | None = None,
    report_every: int = 0,
    say: Callable[[str], None] = print,
) -> Report:
    target = Target.open(data_dir)
    keys = target.assembly.zaz1
    seeds = template_seeds(reference) + built_seeds(target.inventory)
    matrix = SrvMatrix.load()
    srvs = sorted(matrix)
    routed = sorted(target.assembly.dsp.routes)
    m = Mutator(random.Random(seed), seeds, target.inventory, srvs, routed, matrix)
    report = Report(seeds=len(seeds))
    changes = [target.changes()]  # the store's change count, read once per input
    start = time.monotonic()

    async def go() -> None:
        transport = httpx.ASGITransport(app=target.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://althan") as client:
            for i in range(count):
                await one(client)
                if report_every and (i + 1) % report_every == 0:
                    report.seconds = time.monotonic() - start
                    report.handled = Counter(target.handled)
                    say(f"fuzz_http: {json.dumps(report.summary())}")

    async def one(client: httpx.AsyncClient) -> None:
        name, root, signer, service = m.input()
        cert, key = keys[signer]
        try:
            xml = sign(root, key, cert)
        except Exception:  # a mutation the signer cannot canonicalise: not an input
            return
        before_handled = sum(target.handled.values())
        before = changes[0]
        try:
            status, code = await target.post(client, service, xml)
        except Exception:
            status, code = 599, "exception"
            _defect(report, out, name, xml, traceback.format_exc())
        report.inputs += 1
        report.statuses[status] += 1
        report.codes[code or f"HTTP{status}"] += 1
        report.reached += sum(target.handled.values()) > before_handled
        if status >= 500 and code != "exception":
            _defect(report, out, name, xml, f"HTTP {status} {code}")
        refused = not (code in ACCEPTED or code.startswith("W"))
        changes[0] = target.changes()  # also the count before the next input
        if refused and changes[0] != before:
            _defect(report, out, name, xml, f"refused {code} but the store changed")

    asyncio.run(go())
    report.seconds = time.monotonic() - start
    report.handled = Counter(target.handled)
    return report


def _defect(report: Report, out: Path | None, name: str, xml: bytes, what: str) -> None:
    last = what.strip().splitlines()[-1]
    report.defects.append(f"{name}: {last}")
    print(f"fuzz_http: DEFECT from {name}: {last}", file=sys.stderr, flush=True)
    if out is not None and len(report.defects) <= 50:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"defect-{len(report.defects):03d}.xml").write_bytes(xml)
        (out / f"defect-{len(report.defects):03d}.txt").write_text(f"{name}\n{what}\n")


def _shard(count: int, seed: int, reference: Path, out: Path, report_every: int) -> Report:
    with tempfile.TemporaryDirectory(prefix=f"fuzz-http-{seed}-") as tmp:
        return run(
            count, seed, reference, Path(tmp), out=out / f"seed-{seed}", report_every=report_every
        )


def _commit() -> str:
    """The commit of althan that a shard fuzzed (kept with its report)."""
    git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "src"], cwd=ROOT).returncode
    return git.stdout.strip() + ("+changes" if dirty else "") if git.returncode == 0 else ""


def run_shards(args: argparse.Namespace, reference: Path) -> Report:
    """--shards seeds, --jobs at a time (processes: the DSP holds the GIL), merged."""
    per = -(-args.count // args.shards)
    seeds = range(args.seed, args.seed + args.shards)
    results: Path | None = args.results
    merged = Report()
    todo = []
    commits: Counter[str] = Counter()
    for s in seeds:
        kept = results / f"seed-{s}-{per}.json" if results is not None else None
        if args.resume and kept is not None and kept.is_file():
            d = json.loads(kept.read_text())
            merged.merge(Report.from_json(d))
            commits[d.get("commit", "")] += 1
        else:
            todo.append(s)
    commit = _commit()
    start = time.monotonic()
    with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
        futures = {
            pool.submit(_shard, per, s, reference, args.out, args.report_every): s for s in todo
        }
        for f in concurrent.futures.as_completed(futures):
            s, r = futures[f], f.result()
            if results is not None:
                results.mkdir(parents=True, exist_ok=True)
                record = {"seed": s, "commit": commit, **r.to_json()}
                (results / f"seed-{s}-{per}.json").write_text(json.dumps(record) + "\n")
            merged.merge(r)
            commits[commit] += 1
            print(f"fuzz_http: seed {s} done: {json.dumps(r.summary())}", flush=True)
    wall = time.monotonic() - start
    print(f"fuzz_http: {len(todo)} shards run in {wall:.0f} s of wall time, {args.jobs} at a time")
    print(f"fuzz_http: shards by commit fuzzed: {dict(commits)}")
    return merged


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("fuzz-http-defects"))
    ap.add_argument("--report-every", type=int, default=10_000)
    ap.add_argument("--shards", type=int, default=1, help="seeds --seed.. each --count/K inputs")
    ap.add_argument("--jobs", type=int, default=1, help="shards run side by side")
    ap.add_argument("--results", type=Path, default=None, help="keep each shard's report here")
    ap.add_argument("--resume", action="store_true", help="skip shards --results already has")
    args = ap.parse_args(argv)
    ref = args.reference or default_reference()
    if not (ref / "duis" / "templates").is_dir():
        print(f"fuzz_http: no DUIS templates in {ref}", file=sys.stderr)
        return 2
    if args.shards > 1 or args.results is not None:
        report = run_shards(args, ref)
    else:
        with tempfile.TemporaryDirectory(prefix="fuzz-http-") as tmp:
            report = run(
                args.count, args.seed, ref, Path(tmp), out=args.out, report_every=args.report_every
            )
    print(f"fuzz_http: seeds {report.seeds}; " + json.dumps(report.summary()), flush=True)
    for d in report.defects[:20]:
        print(f"  {d}")
    return 1 if report.defects else 0


if __name__ == "__main__":
    sys.exit(main())
