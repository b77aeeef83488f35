"""The store on SQLite and PostgreSQL: same code, same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, insert, inspect, select
from sqlalchemy.dialects import sqlite

from althan.dsp import inbox
from althan.dsp.outbox import Outbox
from althan.han.topology import generate_fleet
from althan.model import EUI64
from althan.runtime.demo import run_demo
from althan.store import ImageStore, open_engine, sqlite_url
from althan.store.db import alembic_config, migrate
from althan.store.tables import devices, metadata
from althan.store.types import UTCDateTime

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_eui_with_top_bit_round_trips(url: str) -> None:
    e = open_engine(url)
    euis = [
        EUI64.parse("90-B3-D5-1F-30-01-00-00"),
        EUI64.parse("00-DB-12-34-56-78-90-A0"),
        EUI64(2**64 - 1),
        EUI64(0),
    ]
    with e.begin() as c:
        for x in euis:
            c.execute(
                insert(devices).values(
                    eui=x,
                    device_type="PPMID",
                    status="Pending",
                    manufacturer="121D",
                    model="00840001",
                    updated_at=T0,
                )
            )
    with e.connect() as c:
        got = sorted(r.eui for r in c.execute(select(devices.c.eui)))
        when = c.execute(select(devices.c.updated_at)).scalars().first()
    assert got == sorted(euis)
    assert when == T0
    open_engine(url)  # migrating again is a no-op


def test_outbox_claims_with_leases_fenced_by_the_claimant_and_inbox_dedupes(url: str) -> None:
    e = open_engine(url)
    ob = Outbox(e)
    lease = timedelta(seconds=5)
    with e.begin() as c:
        for i in range(3):
            ob.put_duis(c, EUI64(i + 1), f"<x>{i}</x>".encode(), T0)
        assert inbox.first_sight(c, "m1", T0) is True
        assert inbox.first_sight(c, "m1", T0) is False
    items = ob.claim("a", T0, lease)
    assert [i.payload for i in items] == [b"<x>0</x>", b"<x>1</x>", b"<x>2</x>"]
    assert ob.claim("b", T0, lease) == []  # held by a
    # a renews while it works: b still gets nothing after a's first lease would have ended
    assert ob.renew("a", T0 + timedelta(seconds=4), lease) == 3
    assert ob.claim("b", T0 + timedelta(seconds=6), lease) == []
    ob.retry_later("a", items[:1], T0 + timedelta(seconds=10))
    assert ob.mark_sent("b", [items[1].id], T0) == 0  # fenced: b does not hold it
    assert ob.mark_sent("a", [items[1].id, items[2].id], T0) == 2
    assert ob.claim("b", T0 + timedelta(seconds=8), lease) == []  # backing off
    later = ob.claim("b", T0 + timedelta(seconds=11), lease)
    assert [i.payload for i in later] == [b"<x>0</x>"]
    assert later[0].attempts == 1
    # b dies holding it: its row is free once b's lease has run out, not before
    assert ob.claim("c", T0 + timedelta(seconds=15), lease) == []
    assert [i.id for i in ob.claim("c", T0 + timedelta(seconds=17), lease)] == [later[0].id]
    assert ob.mark_sent("b", [later[0].id], T0) == 0
    assert ob.pending() == 1


def test_image_store_keeps_one_copy(tmp_path: Path) -> None:
    s = ImageStore(tmp_path)
    a = s.put(b"image")
    assert s.put(b"image") == a
    assert s.get(a) == b"image" and s.count() == 1


def test_whole_flow_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    result = run_demo(homes=5, seed=2, data_dir=tmp_path, db_url=pg_url)
    assert result.failed == 0 and result.updated == result.devices
    assert result.n39_alerts == result.devices


def test_fleet_is_what_the_store_holds(tmp_path: Path) -> None:
    run_demo(homes=3, seed=9, data_dir=tmp_path)
    e = open_engine(sqlite_url(tmp_path))
    with e.connect() as c:
        stored = {
            r.eui: r.variant
            for r in c.execute(
                select(devices.c.eui, devices.c.variant).where(devices.c.variant.is_not(None))
            )
        }
    assert stored == {b.eui: b.variant.value for _h, b in generate_fleet(3, 9).bridges()}


def test_replayed_request_refused_on_both_engines(url: str, tmp_path: Path) -> None:
    """The counter claim (one conditional UPDATE) behaves the same on SQLite and PostgreSQL."""
    from althan.dsp.bootstrap import InventoryDevice, seed_inventory
    from althan.model import TEST_SUPPLIER_EUI
    from althan.runtime.assemble import build_dsp, register_test_users
    from althan.supplier.client import DuisClient

    a = build_dsp(tmp_path / "d", db_url=url)
    register_test_users(a, T0)
    dev = EUI64.parse("00-DB-12-34-56-78-90-A4")
    with a.dsp.engine.begin() as c:
        seed_inventory(
            c,
            [
                InventoryDevice(
                    dev, "PPMID", "121D", "00840001", "1", "North", dev, TEST_SUPPLIER_EUI
                )
            ],
            T0,
        )
    cert, key = a.zaz1[TEST_SUPPLIER_EUI]
    client = DuisClient(TEST_SUPPLIER_EUI, key, cert)
    first, second = client.read_inventory(dev), client.read_inventory(dev)
    assert a.dsp.handle_duis("D", first.xml, T0).response_code == "I0"
    assert a.dsp.handle_duis("D", first.xml, T0).response_code == "E12"
    assert a.dsp.handle_duis("D", second.xml, T0).response_code == "I0"
    assert a.dsp.handle_duis("D", first.xml, T0).response_code == "E12"


def test_migrations_build_the_declared_tables_and_undo_them(url: str) -> None:
    """Up to head: the schema `tables.py` declares (no difference autogenerate would see);
    down to base: no table left but Alembic's own; up again: the same schema."""
    engine = open_engine(url)

    def differences() -> list[object]:
        with engine.connect() as c:
            ctx = MigrationContext.configure(c, opts={"compare_type": True})
            return list(compare_metadata(ctx, metadata))

    assert differences() == []
    with engine.begin() as c:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = c
        command.downgrade(cfg, "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    migrate(engine)
    assert differences() == []
    engine.dispose()


ZONES = [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=9, minutes=30))]


_SQLITE_BIND = UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1, 1, 1, 14, 0),  # any instant whose UTC date is still a datetime
        max_value=datetime(9999, 12, 31, 9, 0),
        timezones=st.sampled_from(ZONES),
    )
)
def test_sqlite_stores_a_timestamp_as_sqlalchemys_own_datetime_does(when: datetime) -> None:
    """UTCDateTime formats SQLite's text itself: the same text SQLAlchemy's DATETIME writes
    (so SQL over it, the SSI's strftime and ordering, reads what it always read)."""
    dialect = sqlite.dialect()
    ours = _SQLITE_BIND  # one processor for every example: it keeps the last instant's text
    theirs = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None
    assert ours(when) == theirs(when.astimezone(UTC))
    assert ours(when) == theirs(when.astimezone(UTC))  # the same instant again: kept text
    assert ours(None) is None


def test_sqlite_refuses_a_naive_timestamp_as_before() -> None:
    dialect = sqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    with pytest.raises(ValueError, match="naive datetime"):
        process(datetime(2026, 12, 4, 1, 0))
