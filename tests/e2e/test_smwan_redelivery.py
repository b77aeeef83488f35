"""Every SM WAN message the network sends the DSP, delivered twice, changes nothing the second
time (DESIGN §4: inbound messages carry an ID and handlers are idempotent).

A small fleet runs the whole flow in the sim runtime (12.2, 8.11 and join, 11.4, OTA, 11.2),
once with every WAN transfer delivered and one bridge receiving a corrupted block, once with
every WAN transfer failing. Each message reaching `Dsp.handle_smwan_many` is handled, the whole
store read, the same message handled again and the store read again: the second read must
equal the first, and the first must differ from the store before (the message did something).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, select

from althan import gbcs
from althan.han import NetworkConfig, generate_fleet
from althan.runtime.faults import FaultPlan
from althan.runtime.scenario import Scenario
from althan.smwan import CSPFirmwareDeliveryStatus, GbcsAlert, GbcsResponse, SmwanMessage
from althan.store.tables import inbox, metadata

FLEET = generate_fleet(3, seed=11)


def _store(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (the inbox of seen message IDs apart), as `conn` sees them."""
    return {
        t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
        for t in metadata.sorted_tables
        if t is not inbox
    }


def _kind(msg: SmwanMessage) -> str:
    if isinstance(msg, CSPFirmwareDeliveryStatus):
        return f"CSPFirmwareDeliveryStatus {msg.outcome.value}"
    if isinstance(msg, GbcsAlert | GbcsResponse):
        m = gbcs.decode(msg.payload)
        code = getattr(m.payload, "alert_code", None)
        return f"{type(msg).__name__} {m.use_case}" + ("" if code is None else f" {code:#06X}")
    return type(msg).__name__


def _run_twice_each(tmp_path: Path, faults: FaultPlan) -> Counter[str]:
    config = NetworkConfig(preloaded_device_logs=False)
    w = Scenario(FLEET, tmp_path, seed=11, network=config, faults=faults)
    seen: Counter[str] = Counter()
    # the sim's DSP handles SM WAN messages in its own transaction (several to one)
    handle = w.dsp.handle_smwan_many

    def twice(
        conn: Connection,
        msgs: Sequence[SmwanMessage],
        now: datetime,
        after: Callable[[SmwanMessage], None] | None = None,
    ) -> None:
        for msg in msgs:
            before = _store(conn)
            handle(conn, [msg], now, after)
            once = _store(conn)
            handle(conn, [msg], now)
            kind = _kind(msg)
            assert _store(conn) == once, f"{kind} {msg.msg_id}: the second delivery changed it"
            assert once != before, f"{kind} {msg.msg_id}: the first delivery changed nothing"
            seen[kind] += 1

    w.dsp.handle_smwan_many = twice  # type: ignore[method-assign]
    bridges = list(FLEET.bridges())
    w.install(bridges)
    images = w.assure(bridges, 0x00020000, 2048)
    w.update_firmware(bridges, images, 0x00020000)
    for _h, b in bridges:
        w.send(w.supplier.read_firmware_version(b.eui))
    w.run()
    return seen


def test_every_inbound_message_type_is_idempotent(tmp_path: Path) -> None:
    bridges = [b for _h, b in FLEET.bridges()]
    corrupt = bridges[0].eui
    ok = _run_twice_each(
        tmp_path / "ok",
        FaultPlan(seed=11, corrupt_devices=frozenset({corrupt})),
    )
    n = len(bridges)
    statuses = len({(b.manufacturer_code, b.image_type, h.chf) for h, b in FLEET.bridges()})
    assert ok == {
        "GbcsResponse CCS01": n,
        "HanJoinNotice": n,
        "CSPFirmwareDeliveryStatus Delivered": statuses,
        "GbcsAlert CCS08 0X8F8A": n - 1,
        "GbcsAlert CCS08 0X8F89": 1,
        "GbcsAlert CS09 0X8F8B": n - 1,
        "GbcsResponse CS08": n,
    }
    failed = _run_twice_each(
        tmp_path / "wan-down",
        FaultPlan(seed=11, wan_transfer_failure=1.0),
    )
    assert failed == {
        "GbcsResponse CCS01": n,
        "HanJoinNotice": n,
        "CSPFirmwareDeliveryStatus Failed": statuses,
        "GbcsResponse CS08": n,
    }
