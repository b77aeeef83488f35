"""Helpers for the anomaly-detection tests: a DSP on a data directory (so the CLI can act on
it), a seeded fleet of commissioned bridges of one model with an assured image, what the DSP
queued for a user (every document checked against the DSP's signature), and the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from typer.testing import CliRunner

from althan.cli import app
from althan.dsp import cpl
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.duis.xmldsig import verify
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly
from althan.store.tables import firmware_deliveries, metadata, outbox
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
VERSION = 0x00020000
MANUFACTURER, IMAGE_TYPE, HW = 0x1234, 0x0084, 1


class FakeClock:
    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> datetime:
        self.t += timedelta(seconds=seconds)
        return self.t


def bridge(i: int) -> EUI64:
    return EUI64.parse(f"00-DB-12-34-56-B1-{i >> 8:02X}-{i & 0xFF:02X}")


def hub(i: int) -> EUI64:
    return EUI64.parse(f"00-DB-12-34-56-C0-{i >> 8:02X}-{i & 0xFF:02X}")


def seed_bridges(a: Assembly, now: datetime, n: int) -> tuple[bytes, list[EUI64]]:
    """`n` commissioned bridges of the test supplier (five per Comms Hub, regions in turn) and
    an image AltHANCo assured for their model: what a supplier's 11.4 can deliver."""
    image = build_test_image(
        MANUFACTURER, IMAGE_TYPE, VERSION, min_hw=HW, max_hw=HW, payload_size=512
    )
    regions = ("North", "Central", "South")
    rows: list[InventoryDevice] = []
    euis = [bridge(i) for i in range(n)]
    for h in range((n + 4) // 5):
        chf = hub(h)
        region = regions[h % 3]
        rows.append(InventoryDevice(chf, "CHF", "106C", "433100AC", "00009001", region, chf, None))
        for e in euis[h * 5 : h * 5 + 5]:
            rows.append(
                InventoryDevice(
                    e,
                    "PPMID",
                    f"{MANUFACTURER:04X}",
                    f"{IMAGE_TYPE:04X}{HW:04X}",
                    "00010000",
                    region,
                    chf,
                    TEST_SUPPLIER_EUI,
                )
            )
    with a.dsp.engine.begin() as conn:
        seed_inventory(conn, rows, now)
        cpl.add_entry(
            conn,
            by=ALTHANCO_DEFAULT_EUI,
            manufacturer=f"{MANUFACTURER:04X}",
            model=f"{IMAGE_TYPE:04X}",
            hw_min=HW,
            hw_max=HW,
            firmware_version=f"{VERSION:08X}",
            image_sha256=a.dsp.images.put(image),
            image_hash=parse_ota(image).image_hash,
            now=now,
        )
    return image, euis


@dataclass(frozen=True)
class Doc:
    """One signed document the DSP queued for a user, its signature checked."""

    xml: bytes
    root: etree._Element

    def text(self, path: str) -> str | None:
        return self.root.findtext(path)

    @property
    def alert_code(self) -> str | None:
        return self.text(f"{SR}Body/{SR}DCCAlertMessage/{SR}DCCAlertCode")

    @property
    def request_id(self) -> str | None:
        return self.text(f"{SR}Header/{SR}RequestID")

    @property
    def response_code(self) -> str | None:
        return self.text(f"{SR}Header/{SR}ResponseCode")


def queued(a: Assembly, user: EUI64 = TEST_SUPPLIER_EUI) -> list[Doc]:
    """Every DUIS document the DSP put in its outbox for `user`, oldest first."""
    with a.dsp.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.payload)
            .where(outbox.c.kind == "duis", outbox.c.destination == str(user))
            .order_by(outbox.c.id)
        ).all()
    return [Doc(bytes(r.payload), verify(bytes(r.payload), a.dsp_trust).root) for r in rows]


def alerts(a: Assembly, code: str, user: EUI64 = TEST_SUPPLIER_EUI) -> list[Doc]:
    return [d for d in queued(a, user) if d.alert_code == code]


def answers_to(a: Assembly, request_id: str, user: EUI64 = TEST_SUPPLIER_EUI) -> list[Doc]:
    """Asynchronous responses (not alerts) to `request_id`."""
    return [d for d in queued(a, user) if d.alert_code is None and d.request_id == request_id]


def smwan_rows(a: Assembly) -> int:
    with a.dsp.engine.connect() as conn:
        q = select(func.count()).select_from(outbox).where(outbox.c.kind == "smwan")
        return int(conn.execute(q).scalar_one())


def deliveries(a: Assembly) -> list[tuple[EUI64, str, int]]:
    """(device, status, active) of every firmware delivery."""
    with a.dsp.engine.connect() as conn:
        q = select(
            firmware_deliveries.c.device, firmware_deliveries.c.status, firmware_deliveries.c.active
        ).order_by(firmware_deliveries.c.id)
        return [(r.device, r.status, r.active) for r in conn.execute(q)]


def row_counts(a: Assembly) -> dict[str, int]:
    with a.dsp.engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def cli(data_dir: Path, *args: str, code: int = 0) -> str:
    """Run `althan ARGS --data-dir DATA_DIR`; assert its exit code; its stdout."""
    r = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)])
    assert r.exit_code == code, (args, r.exit_code, r.output)
    return r.stdout


def cli_error(data_dir: Path, *args: str, code: int = 1) -> str:
    """The stderr of a refused `althan ARGS --data-dir DATA_DIR` (exit `code`), with nothing on
    stdout."""
    r = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)])
    assert r.exit_code == code, (args, r.exit_code, r.output)
    assert r.stdout == ""
    return r.stderr


def cli_json(data_dir: Path, *args: str) -> Any:
    """The JSON value a `--json` command prints on its last line."""
    return json.loads(cli(data_dir, *args, "--json").strip().splitlines()[-1])


def write_all(tmp: Path, docs: Sequence[Doc], stem: str) -> list[Path]:
    files = []
    for i, d in enumerate(docs):
        f = tmp / f"{stem}-{i}.xml"
        f.write_bytes(d.xml)
        files.append(f)
    return files
