"""SRV 11.4's fan-out in the store (`althan.dsp.fanout`), through signed DUIS into the DSP, on
SQLite and PostgreSQL: every warning list holds exactly its devices, in the request's order, a
device failing several checks lands in the first one's list (classify's order), and exactly
the devices that proceed get a delivery and a place in their region's FirmwareDistribution.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select, update

from althan.dsp import cpl
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.model import (
    ALTHANCO_DEFAULT_EUI,
    EUI64,
    TEST_SUPPLIER_EUI,
    FirmwareVersion,
    Region,
)
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.smwan import FirmwareDistribution
from althan.smwan.codec import decode, encode, encode_distribution_ref
from althan.store.tables import devices, firmware_deliveries, outbox
from althan.supplier.client import DuisClient
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image
from fleet_world import warning_lists

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
MFR, TYPE, OTHER_TYPE, HW_MIN, HW_MAX = 0x1234, 0x0084, 0x0085, 2, 5
OLD, NEW = 0x00010000, 0x00020000
IMAGE = build_test_image(MFR, TYPE, NEW, min_hw=1, max_hw=20, payload_size=500)
SUPPLIER_B = EUI64.parse("00-DB-00-00-00-00-0B-0B")
INVALID = "InvalidDeviceIDList"
NOT_COMMISSIONED = "NotCommissionedDeviceIDList"
NOT_APPLICABLE = "NotApplicableFirmwareDeviceIDList"
IN_PROGRESS = "OtherRequestInProgressList"
OLD_GBCS = "InvalidGBCSVersionList"


@dataclass(frozen=True)
class Dev:
    """One device of the fixture fleet and the list it must land in (None: it proceeds)."""

    name: str
    expect: str | None
    device_type: str = "PPMID"
    status: str = "Commissioned"
    supplier: EUI64 | None = TEST_SUPPLIER_EUI
    model_type: int = TYPE
    hw: int = 3
    manufacturer: str = f"{MFR:04X}"
    has_chf: bool = True
    gbcs: str | None = None
    busy: bool = False
    known: bool = True


FLEET = [
    Dev("plain", None),
    Dev("hcalcs", None, device_type="HCALCS"),
    Dev("gbcs 2.0", None, gbcs="2.0"),
    Dev("gbcs 4.1", None, gbcs="4.1"),
    Dev("hw at the entry's bounds", None, hw=HW_MIN),
    Dev("hw max", None, hw=HW_MAX),
    Dev("unknown", INVALID, known=False),
    Dev("an ESME", INVALID, device_type="ESME"),
    Dev("a CHF", INVALID, device_type="CHF"),
    Dev("supplier B's", INVALID, supplier=SUPPLIER_B),
    Dev("nobody's", INVALID, supplier=None),
    Dev("supplier B's, not commissioned", INVALID, supplier=SUPPLIER_B, status="Whitelisted"),
    Dev("whitelisted", NOT_COMMISSIONED, status="Whitelisted"),
    Dev("decommissioned", NOT_COMMISSIONED, status="Decommissioned"),
    Dev("no CHF", NOT_COMMISSIONED, has_chf=False),
    Dev("not commissioned, wrong model", NOT_COMMISSIONED, status="Pending", model_type=OTHER_TYPE),
    Dev("wrong model", NOT_APPLICABLE, model_type=OTHER_TYPE),
    Dev("wrong manufacturer", NOT_APPLICABLE, manufacturer="ABCD"),
    Dev("hw below the entry", NOT_APPLICABLE, hw=HW_MIN - 1),
    Dev("hw above the entry", NOT_APPLICABLE, hw=HW_MAX + 1),
    Dev(
        "wrong model, busy, gbcs 1.0", NOT_APPLICABLE, model_type=OTHER_TYPE, busy=True, gbcs="1.0"
    ),
    Dev("busy", IN_PROGRESS, busy=True),
    Dev("busy, gbcs 1.0", IN_PROGRESS, busy=True, gbcs="1.0"),
    Dev("gbcs 1.0", OLD_GBCS, gbcs="1.0"),
    Dev("gbcs 1.99", OLD_GBCS, gbcs="1.99"),
    Dev("gbcs 10.0 (compared as text, as classify does)", OLD_GBCS, gbcs="10.0"),
]


def _euis(n: int, base: int) -> list[EUI64]:
    return [EUI64(base + i) for i in range(n)]


def _seed(a: Assembly, fleet: list[Dev], copies: int) -> dict[EUI64, Dev]:
    """`copies` devices of each kind, over the three regions; the busy ones get an 11.4 of
    their own first. The CPL entry covers hardware HW_MIN..HW_MAX of (MFR, TYPE)."""
    regions = [r.value for r in Region]
    rows, of, gbcs, unknown = [], {}, {}, []
    n = len(fleet) * copies
    # the top bit set on some: stored as negative BIGINTs
    euis = _euis(n // 2, 0x00DB_CD00_0000_0000) + _euis(n - n // 2, 0xF0DB_CD00_0000_0000)
    chfs = _euis(n, 0x00DB_AB00_0000_0000)
    for i, eui in enumerate(euis):
        d = fleet[i % len(fleet)]
        of[eui] = d
        if not d.known:
            unknown.append(eui)
            continue
        region = regions[i % 3]
        rows.append(InventoryDevice(chfs[i], "CHF", "ABCD", "0001", "00000001", region, None, None))
        rows.append(
            InventoryDevice(
                eui,
                d.device_type,
                d.manufacturer,
                f"{d.model_type:04X}{d.hw:04X}",
                f"{OLD:08X}",
                region,
                chfs[i] if d.has_chf else None,
                d.supplier,
                status=d.status,
                in_device_log=d.has_chf,
            )
        )
        gbcs[eui] = d.gbcs
    img = parse_ota(IMAGE)
    sha = a.dsp.images.put(IMAGE)
    with a.dsp.engine.begin() as conn:
        seed_inventory(conn, rows, NOW)
        for eui, v in gbcs.items():
            conn.execute(update(devices).where(devices.c.eui == eui).values(gbcs_version=v))
        cpl.add_entry(
            conn,
            by=ALTHANCO_DEFAULT_EUI,
            manufacturer=f"{MFR:04X}",
            model=f"{TYPE:04X}",
            hw_min=HW_MIN,
            hw_max=HW_MAX,
            firmware_version=f"{NEW:08X}",
            image_sha256=sha,
            image_hash=img.image_hash,
            now=NOW,
        )
    return of


def _client(a: Assembly) -> DuisClient:
    cert, key = a.zaz1[TEST_SUPPLIER_EUI]
    return DuisClient(TEST_SUPPLIER_EUI, key, cert)


def _update(a: Assembly, client: DuisClient, euis: list[EUI64]) -> tuple[str, dict[str, list[str]]]:
    xml = client.update_ppmid_firmware(IMAGE, FirmwareVersion(NEW), euis).xml
    reply = a.dsp.handle_duis("D", xml, NOW)
    assert reply.response_code in ("I0", "W110401"), reply.detail
    return reply.response_code, warning_lists(etree.fromstring(reply.body))


def _distributions(a: Assembly) -> list[tuple[str, FirmwareDistribution]]:
    with a.dsp.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.destination, outbox.c.payload)
            .where(outbox.c.kind == "smwan")
            .order_by(outbox.c.id)
        ).all()
    out = []
    for dest, payload in rows:
        msg = decode(bytes(payload), image=a.dsp.images.get)
        assert isinstance(msg, FirmwareDistribution)
        out.append((dest, msg))
    return out


def _check(a: Assembly, copies: int, seed: int) -> None:
    of = _seed(a, FLEET, copies)
    client = _client(a)
    with a.dsp.engine.begin() as conn:  # the busy ones: a delivery in progress already
        for e, d in of.items():
            if d.busy:
                conn.execute(
                    firmware_deliveries.insert().values(
                        request_id="elsewhere",
                        device=e,
                        chf=e,
                        region="North",
                        image_sha256="0" * 64,
                        firmware_version="00000000",
                        status="Delivered",
                        active=1,
                        updated_at=NOW,
                    )
                )
    sent_before = len(_distributions(a))

    requested = list(of)
    random.Random(seed).shuffle(requested)
    named = requested + requested[: len(requested) // 3]  # some named twice: counted once
    code, lists = _update(a, client, named)

    want: dict[str, list[str]] = {}
    for e in requested:
        if of[e].expect is not None:
            want.setdefault(of[e].expect or "", []).append(str(e))
    assert code == "W110401"
    assert lists == want  # each list exactly, in the request's order
    assert set(want) == {INVALID, NOT_COMMISSIONED, NOT_APPLICABLE, IN_PROGRESS, OLD_GBCS}

    proceeding = [e for e in requested if of[e].expect is None]
    with a.dsp.engine.connect() as conn:
        started = conn.execute(
            select(firmware_deliveries.c.device)
            .where(firmware_deliveries.c.request_id != "elsewhere")
            .order_by(firmware_deliveries.c.id)
        ).scalars()
        assert list(started) == proceeding  # in the request's order

    sent = _distributions(a)[sent_before:]
    assert [dest for dest, _m in sent] == sorted({dest for dest, _m in sent})
    with a.dsp.engine.connect() as conn:
        region_of = dict(conn.execute(select(devices.c.eui, devices.c.region)).all())
        chf_of = dict(conn.execute(select(devices.c.eui, devices.c.chf)).all())
    for dest, msg in sent:
        assert msg.image == IMAGE
        want_targets = [e for e in proceeding if region_of[e] == dest]
        assert [t.device for t in msg.targets] == want_targets
        assert [t.chf for t in msg.targets] == [chf_of[e] for e in want_targets]
        # the bulk encoding is the codec's own, byte for byte
        assert encode(msg, image_ref=True) == encode_distribution_ref(
            msg.msg_id,
            msg.distribution_id,
            msg.image_sha256,
            [(str(t.chf), str(t.device)) for t in msg.targets],
        )
    assert sorted(t.device for _d, m in sent for t in m.targets) == sorted(proceeding)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_every_warning_list_and_the_proceeding_set_on_both_engines(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url") if engine == "postgresql" else None
    a = build_dsp(tmp_path / "data", db_url=url)
    try:
        register_test_users(a, NOW)
        _check(a, copies=7, seed=11)
    finally:
        a.dsp.engine.dispose()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_all_proceed_and_none_proceed(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url") if engine == "postgresql" else None
    a = build_dsp(tmp_path / "data", db_url=url)
    try:
        register_test_users(a, NOW)
        of = _seed(a, [Dev("plain", None), Dev("wrong model", NOT_APPLICABLE, model_type=9)], 40)
        client = _client(a)
        ok = [e for e, d in of.items() if d.expect is None]
        bad = [e for e, d in of.items() if d.expect is not None]
        assert _update(a, client, ok) == ("I0", {})
        assert _update(a, client, bad) == ("W110401", {NOT_APPLICABLE: [str(e) for e in bad]})
        # again: every one of the first now has a delivery in progress
        assert _update(a, client, ok) == ("W110401", {IN_PROGRESS: [str(e) for e in ok]})
        assert sum(len(m.targets) for _d, m in _distributions(a)) == len(ok)
    finally:
        a.dsp.engine.dispose()
