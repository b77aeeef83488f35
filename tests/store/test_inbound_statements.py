"""The inbound SM WAN path's set-based statements, on SQLite and PostgreSQL: the inbox records
many message IDs in one statement and says which were new; a delivery moves by one UPDATE
that admits exactly the states the transition table says."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select

from althan.dsp import inbox
from althan.dsp.firmware import (
    FINAL,
    TRANSITIONS,
    DeliveryEvent,
    DeliveryState,
    move_active,
    move_of_request,
)
from althan.model import EUI64
from althan.store import open_engine
from althan.store.tables import firmware_deliveries
from althan.store.tables import inbox as inbox_table

T0 = datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
RID = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"


def test_first_sights_says_which_ids_are_new_in_one_go(url: str) -> None:
    engine = open_engine(url)
    many = [f"m{i}" for i in range(inbox.CHUNK * 2 + 7)]  # more than one statement's worth
    with engine.begin() as conn:
        assert inbox.first_sights(conn, ["a", "b"], T0) == {"a", "b"}
    with engine.begin() as conn:
        # seen before, new, and one twice in the batch: recorded once
        assert inbox.first_sights(conn, ["a", "c", "c", *many, "b"], T1) == {"c", *many}
        assert inbox.first_sight(conn, "d", T1) is True
        assert inbox.first_sight(conn, "d", T1) is False
    with engine.connect() as conn:
        rows = dict(conn.execute(select(inbox_table.c.msg_id, inbox_table.c.received_at)).all())
    assert len(rows) == 4 + len(many)
    assert rows["a"] == rows["b"] == T0 and rows["c"] == rows["m0"] == T1  # kept the first
    with engine.begin() as conn:
        assert inbox.first_sights(conn, [], T1) == set()
    engine.dispose()


def test_a_rolled_back_batch_records_nothing(url: str) -> None:
    engine = open_engine(url)
    with engine.connect() as conn:
        with conn.begin() as tx:
            assert inbox.first_sights(conn, ["x", "y"], T0) == {"x", "y"}
            tx.rollback()
        with conn.begin():
            assert inbox.first_sights(conn, ["y", "x"], T0) == {"x", "y"}
    engine.dispose()


def test_two_transactions_recording_the_same_ids_see_them_new_once(pg_url: str) -> None:
    """PostgreSQL, the scale-out engine: a second transaction inserting the same IDs waits for
    the first and then does not see them as new (the exactly-once inbox under concurrency)."""
    engine = open_engine(pg_url)
    ids = [f"n{i}" for i in range(10)]
    got: dict[str, set[str]] = {}
    with engine.connect() as first:
        first.begin()
        got["first"] = inbox.first_sights(first, ids, T0)

        def second() -> None:
            with engine.begin() as conn:
                got["second"] = inbox.first_sights(conn, list(reversed(ids)), T0)

        t = threading.Thread(target=second)
        t.start()
        t.join(0.5)
        assert t.is_alive(), "the second did not wait for the first's uncommitted IDs"
        first.commit()
    t.join(30)
    assert not t.is_alive()
    assert got == {"first": set(ids), "second": set()}
    engine.dispose()


def _delivery(conn: Connection, device: int, state: DeliveryState) -> None:
    conn.execute(
        firmware_deliveries.insert().values(
            request_id=RID,
            device=EUI64(device),
            chf=EUI64(device + 1),
            region="North",
            image_sha256="0" * 64,
            firmware_version="00020000",
            status=state.value,
            active=0 if state in FINAL else 1,
            updated_at=T0,
            reason="",
        )
    )


def test_every_state_and_event_moves_as_the_table_says(url: str) -> None:
    engine = open_engine(url)
    pairs = list(itertools.product(DeliveryState, DeliveryEvent))
    with engine.begin() as conn:
        for i, (state, _event) in enumerate(pairs):
            _delivery(conn, 0x00DB_0000_0000_0000 + 2 * i, state)
    for i, (state, event) in enumerate(pairs):
        device = EUI64(0x00DB_0000_0000_0000 + 2 * i)
        for how in ("active", "of request"):
            with engine.begin() as conn:
                if how == "active":
                    d = move_active(conn, device, event, T1, "why")
                else:
                    d = move_of_request(conn, device, RID, event, T1, "why")
                row = conn.execute(
                    select(firmware_deliveries).where(firmware_deliveries.c.device == device)
                ).one()
                conn.rollback()  # each pair from its own starting state
            to = TRANSITIONS[state].get(event)
            where = f"{state} + {event.name} ({how})"
            if to is None:
                assert d is None, where
                assert (row.status, row.updated_at) == (state.value, T0), where
                continue
            assert d is not None, where
            assert (d.state, d.device, str(d.request_id)) == (to, device, RID), where
            assert row.status == to.value and row.active == (0 if to in FINAL else 1), where
            assert row.updated_at == T1 and getattr(row, f"{to.value.lower()}_at") == T1, where
            assert row.reason == ("why" if to is DeliveryState.FAILED else ""), where
    engine.dispose()


def test_a_device_without_a_delivery_or_another_request_moves_nothing(url: str) -> None:
    engine = open_engine(url)
    device = EUI64(0x00DB_0000_0000_0100)
    with engine.begin() as conn:
        _delivery(conn, device.value, DeliveryState.DISTRIBUTED)
        assert move_active(conn, EUI64(device.value + 2), DeliveryEvent.ACTIVATED, T1) is None
        assert move_of_request(conn, device, "other", DeliveryEvent.CH_DELIVERED, T1) is None
        status = conn.execute(select(firmware_deliveries.c.status)).scalar_one()
    assert status == DeliveryState.DISTRIBUTED.value
    engine.dispose()
