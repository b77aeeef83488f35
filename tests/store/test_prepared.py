"""`althan.store.prepared`: a statement compiled once and run on the driver's cursor reads and
writes exactly what SQLAlchemy's own execution does, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from althan.dsp.outbox import Outbox
from althan.model import EUI64
from althan.store import open_engine, sqlite_url
from althan.store.prepared import Prepared
from althan.store.tables import alerts

T0 = datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=UTC)
DCC = EUI64.parse("90-B3-D5-1F-30-01-00-00")  # top bit set: stored negative
DEV = EUI64.parse("00-DB-12-34-56-78-90-A0")
KEYS = ("code", "device", "user_eui", "created_at", "detail")
RECORD = Prepared(insert(alerts).returning(alerts.c.id, alerts.c.created_at), keys=KEYS)
ONE = Prepared(select(alerts).where(alerts.c.id == bindparam("id")))


def test_rows_are_what_sqlalchemy_reads(url: str) -> None:
    engine = open_engine(url)
    params = {"code": "N55", "device": DEV, "user_eui": DCC, "created_at": T0, "detail": "d"}
    with engine.begin() as conn:
        (new_id, at) = RECORD.first(conn, params)
        assert at == T0
        mine = ONE.first(conn, {"id": new_id})
        theirs = conn.execute(select(alerts).where(alerts.c.id == new_id)).one()
    assert tuple(mine) == tuple(theirs)
    assert (mine.device, mine.user_eui, mine.created_at) == (DEV, DCC, T0)
    assert mine._mapping == theirs._asdict()
    with engine.begin() as conn:
        assert ONE.first(conn, {"id": new_id + 1000}) is None
    engine.dispose()


def test_executemany_and_rowcount(url: str) -> None:
    engine = open_engine(url)
    rename = Prepared(
        update(alerts).where(alerts.c.code == bindparam("old")).values(code=bindparam("new"))
    )
    rows = [
        {"code": "N56", "device": None, "user_eui": DCC, "created_at": T0, "detail": str(i)}
        for i in range(5)
    ]
    with engine.begin() as conn:
        Prepared(insert(alerts), keys=KEYS).run(conn, rows)
        assert rename.run(conn, {"old": "N56", "new": "N39"}) == 5
    with engine.connect() as conn:
        got = conn.execute(select(alerts.c.code, alerts.c.device).order_by(alerts.c.id)).all()
    assert got == [("N39", None)] * 5  # committed with the transaction
    engine.dispose()


def test_a_driver_error_is_sqlalchemys_and_the_transaction_rolls_back(url: str) -> None:
    engine = open_engine(url)
    with_id = Prepared(insert(alerts), keys=("id", *KEYS))
    row = {"id": 7, "code": "N55", "device": DEV, "user_eui": DCC, "created_at": T0, "detail": ""}
    with engine.begin() as conn:
        with_id.run(conn, row)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        with_id.run(conn, {**row, "id": 8})
        with_id.run(conn, row)  # the same key again
    with engine.connect() as conn:
        assert [r.id for r in conn.execute(select(alerts.c.id))] == [7]
    engine.dispose()


def test_outside_a_transaction_it_begins_one_as_sqlalchemy_does(tmp_path: Path) -> None:
    engine = open_engine(sqlite_url(tmp_path))
    add = Prepared(insert(alerts), keys=KEYS)
    row = {"code": "N55", "device": DEV, "user_eui": DCC, "created_at": T0, "detail": ""}
    with engine.connect() as conn:
        add.run(conn, row)
        assert conn.in_transaction()  # not committed: rolled back when the connection closes
    with engine.connect() as conn:
        add.run(conn, {**row, "code": "N56"})
        conn.commit()
    with engine.connect() as conn:
        assert [r.code for r in conn.execute(select(alerts.c.code))] == ["N56"]
    engine.dispose()


def test_tuples_are_the_drivers_rows_and_converted_columns_are_refused(url: str) -> None:
    engine = open_engine(url)
    raw = Prepared(
        text("SELECT id, code, device FROM alerts WHERE code = :code ORDER BY id").bindparams(
            bindparam("code")
        )
    )
    rows = [
        {"code": c, "device": DEV, "user_eui": DCC, "created_at": T0, "detail": ""}
        for c in ("N55", "N56", "N55")
    ]
    with engine.begin() as conn:
        Prepared(insert(alerts), keys=KEYS).run(conn, rows)
        got = raw.tuples(conn, {"code": "N55"})
        stored = conn.execute(text("SELECT id, code, device FROM alerts WHERE code = 'N55'"))
        assert got == [tuple(r) for r in stored.all()]
        assert [type(r) for r in got] == [tuple, tuple]  # no Row objects, no EUI64s
        assert got[0][2] == got[1][2] != DEV  # the stored signed integer, as read raw
        with pytest.raises(ValueError, match="converted on reading"):
            ONE.tuples(conn, {"id": got[0][0]})  # alerts' EUI and time columns convert
    engine.dispose()


def test_refuses_expanding_parameters(tmp_path: Path) -> None:
    engine = open_engine(sqlite_url(tmp_path))
    stmt = Prepared(select(alerts).where(alerts.c.id.in_(bindparam("ids", expanding=True))))
    with engine.begin() as conn, pytest.raises(ValueError, match="expanding"):
        stmt.rows(conn, {"ids": [1, 2]})
    engine.dispose()


def test_take_returns_what_was_put_in_order_at_most_its_limit(url: str) -> None:
    engine = open_engine(url)
    box = Outbox(engine)
    with engine.begin() as conn:
        for i in range(3):
            box.put_duis(conn, DCC, f"<x{i}/>".encode(), T0, alert_id=i)
    first = box.take("sim", T0, limit=2)  # at most the limit (PostgreSQL too)
    taken = first + box.take("sim", T0, limit=2)
    assert len(first) == 2
    assert [(t.kind, t.user, t.payload) for t in taken] == [
        ("duis", DCC, f"<x{i}/>".encode()) for i in range(3)
    ]
    assert box.take("sim", T0) == [] and box.pending() == 0
    engine.dispose()
