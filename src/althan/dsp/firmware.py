"""Firmware deliveries: one state machine per (11.4 request, device), and what moves it.

A delivery starts Distributed when an 11.4 hands the image to the CSPs; the CSP's
`CSPFirmwareDeliveryStatus` makes it Delivered (image on the Comms Hub, N55), the hub's CCS08
alert Transferred (image on the device, N56), the device's own signed CS09 Activated (N39).
Any step may fail instead, with a reason; a delivery still without an outcome at its deadline
fails with reason "timeout" (`expire`), so no device stays in progress for ever.
`TRANSITIONS` is the one table of what may happen in each state (in the style of h11's
``_state.py``): `next_state` raises `IllegalTransition` for an event a state does not list,
and the store's moves (`move_active`, `move_of_request`) are built from the same table: their
UPDATE admits only the states that list the event, so a refused event changes nothing.
Activated and Failed are final, so a device is "in progress" exactly while its delivery is in
a state that is not final.

The table admits the device's own word out of order: a CS09 is believed whenever it verifies
(the CH's CCS08 or the CSP's status may be lost or late), and a CCS08 may come before the
CSP's status. An event that arrives after its delivery moved past it (a late or repeated
message) is refused by the table and changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from althan.duis.envelope import RequestId
from althan.model import EUI64
from althan.store import ImageStore
from althan.store.bulk import bulk_insert
from althan.store.prepared import Prepared
from althan.store.tables import firmware_deliveries, firmware_images, firmware_warnings
from althan.store.types import UTCDateTime, eui_to_db
from althan.zigbee.ota import OtaImage


class DeliveryState(enum.StrEnum):
    DISTRIBUTED = "Distributed"
    DELIVERED = "Delivered"
    TRANSFERRED = "Transferred"
    ACTIVATED = "Activated"
    FAILED = "Failed"


class DeliveryEvent(enum.StrEnum):
    CH_DELIVERED = "the CSP delivered the image to the CH"
    CH_DELIVERY_FAILED = "the CSP could not deliver the image to the CH"
    TRANSFERRED = "the CH transferred the image to the device (CCS08 0x8F8A)"
    TRANSFER_FAILED = "the CH's transfer to the device failed (CCS08 0x8F89)"
    ACTIVATED = "the device activated the image (CS09 0x8F8B success)"
    ACTIVATION_FAILED = "the device could not activate the image (CS09 failure)"
    TIMED_OUT = "no outcome before the delivery's deadline"


S, E = DeliveryState, DeliveryEvent
_DEVICE_SPEAKS: Final = {
    E.ACTIVATED: S.ACTIVATED,
    E.ACTIVATION_FAILED: S.FAILED,
    E.TIMED_OUT: S.FAILED,
}
TRANSITIONS: Final[dict[DeliveryState, dict[DeliveryEvent, DeliveryState]]] = {
    S.DISTRIBUTED: {
        E.CH_DELIVERED: S.DELIVERED,
        E.CH_DELIVERY_FAILED: S.FAILED,
        E.TRANSFERRED: S.TRANSFERRED,
        E.TRANSFER_FAILED: S.FAILED,
        **_DEVICE_SPEAKS,
    },
    S.DELIVERED: {E.TRANSFERRED: S.TRANSFERRED, E.TRANSFER_FAILED: S.FAILED, **_DEVICE_SPEAKS},
    S.TRANSFERRED: dict(_DEVICE_SPEAKS),
    S.ACTIVATED: {},
    S.FAILED: {},
}
"""state -> {event: next state}; every state is a key, and the final ones admit nothing."""
del S, E

FINAL: Final = frozenset(s for s, events in TRANSITIONS.items() if not events)


class IllegalTransition(ValueError):
    """`event` cannot happen to a delivery in `state`."""

    def __init__(self, state: DeliveryState, event: DeliveryEvent) -> None:
        super().__init__(f"a {state.value} delivery cannot see: {event.value}")
        self.state = state
        self.event = event


def next_state(state: DeliveryState, event: DeliveryEvent) -> DeliveryState:
    try:
        return TRANSITIONS[state][event]
    except KeyError:
        raise IllegalTransition(state, event) from None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the inbound handlers need of a delivery record (the rest stays in the row)."""

    id: int
    request_id: RequestId
    device: EUI64
    firmware_version: str
    state: DeliveryState

    @property
    def requester(self) -> EUI64:
        return self.request_id.originator


_DELIVERY = (
    firmware_deliveries.c.id,
    firmware_deliveries.c.request_id,
    firmware_deliveries.c.device,
    firmware_deliveries.c.firmware_version,
    firmware_deliveries.c.status,
)
"""The columns a `Delivery` is made of (the row's seven timestamps are not read here)."""


def _delivery(r: Any) -> Delivery:
    return Delivery(
        r.id, RequestId.parse(r.request_id), r.device, r.firmware_version, DeliveryState(r.status)
    )


# ------------------------------------------------------------------ starting (11.4)
# (the deliveries are checked and inserted in one statement: `althan.dsp.fanout`)

TIMEOUT_REASON = "timeout"


def record_warnings(
    conn: Connection, request_id: RequestId, lists: Mapping[str, Sequence[int]]
) -> None:
    """Keep the devices an 11.4's synchronous warning listed (stored EUIs, by list name)."""
    rid = str(request_id)
    rows = ((rid, dev, name) for name, devs in lists.items() for dev in devs)
    bulk_insert(conn, firmware_warnings, ("request_id", "device", "list"), rows)


def warnings_of(conn: Connection, request_id: str) -> dict[str, list[EUI64]]:
    """The warning lists an 11.4 answered with, by list name (empty lists left out)."""
    q = (
        select(firmware_warnings.c.list, firmware_warnings.c.device)
        .where(firmware_warnings.c.request_id == request_id)
        .order_by(firmware_warnings.c.list, firmware_warnings.c.device)
    )
    out: dict[str, list[EUI64]] = {}
    for r in conn.execute(q):
        out.setdefault(r.list, []).append(r.device)
    return out


def keep_image(
    conn: Connection, images: ImageStore, data: bytes, img: OtaImage, now: datetime
) -> str:
    """Store the image once (by SHA-256) with its header facts; its SHA-256."""
    sha = images.put(data)
    if conn.execute(
        select(firmware_images.c.sha256).where(firmware_images.c.sha256 == sha)
    ).first():
        return sha
    h = img.header
    conn.execute(
        insert(firmware_images).values(
            sha256=sha,
            size=len(data),
            manufacturer_code=h.manufacturer_code,
            image_type=h.image_type,
            file_version=h.file_version,
            form=img.form,
            image_hash=img.image_hash,
            first_seen=now,
        )
    )
    return sha


# ------------------------------------------------------------------ moving

TARGET: Final[Mapping[DeliveryEvent, DeliveryState]] = {
    e: t for moves in TRANSITIONS.values() for e, t in moves.items()
}
"""Where each event takes a delivery: from every state that admits it, the same state."""
SOURCES: Final[Mapping[DeliveryEvent, tuple[DeliveryState, ...]]] = {
    e: tuple(s for s in DeliveryState if e in TRANSITIONS[s]) for e in DeliveryEvent
}
"""The states that admit each event (`TRANSITIONS` read by event)."""
assert all(TRANSITIONS[s][e] is TARGET[e] for e, states in SOURCES.items() for s in states), (
    "an event takes a delivery to one state, whatever state admits it (one UPDATE per event)"
)

_ACTIVE_ID = (
    select(firmware_deliveries.c.id)
    .where(
        firmware_deliveries.c.device == bindparam("device", type_=BigInteger()),
        firmware_deliveries.c.active == 1,
    )
    .order_by(firmware_deliveries.c.id.desc())
    .limit(1)
)
_OF_REQUEST_ID = select(firmware_deliveries.c.id).where(
    firmware_deliveries.c.device == bindparam("device", type_=BigInteger()),
    firmware_deliveries.c.request_id == bindparam("request_id"),
)


def _move(event: DeliveryEvent, which: Select[tuple[int]]) -> Prepared:
    """The delivery `which` names moved by `event` if its state admits it, returned as it is
    after the move: one statement (the transition table's sources in its WHERE)."""
    state = TARGET[event]
    admits = or_(
        *(firmware_deliveries.c.status == literal_column(f"'{s.value}'") for s in SOURCES[event])
    )
    return Prepared(
        update(firmware_deliveries)
        .where(firmware_deliveries.c.id == which.scalar_subquery(), admits)
        .values(
            {
                "status": state.value,
                "active": 0 if state in FINAL else 1,
                "reason": bindparam("new_reason"),
                "updated_at": bindparam("now", type_=UTCDateTime()),
                f"{state.value.lower()}_at": bindparam("now", type_=UTCDateTime()),
            }
        )
        .returning(*_DELIVERY)
    )


_MOVE_ACTIVE: Final = {e: _move(e, _ACTIVE_ID) for e in DeliveryEvent if SOURCES[e]}
_MOVE_OF_REQUEST: Final = {e: _move(e, _OF_REQUEST_ID) for e in DeliveryEvent if SOURCES[e]}


def _reason(event: DeliveryEvent, reason: str) -> str:
    return reason if TARGET[event] is DeliveryState.FAILED else ""


def move_active(
    conn: Connection, device: EUI64, event: DeliveryEvent, now: datetime, reason: str = ""
) -> Delivery | None:
    """Apply `event` to the device's delivery in progress; the delivery after it, or None (and
    nothing changed) when the device has none in progress or its state does not admit it."""
    r = _MOVE_ACTIVE[event].first(
        conn, {"device": eui_to_db(device), "new_reason": _reason(event, reason), "now": now}
    )
    return None if r is None else _delivery(r)


def move_of_request(
    conn: Connection,
    device: EUI64,
    request_id: str,
    event: DeliveryEvent,
    now: datetime,
    reason: str = "",
) -> Delivery | None:
    """Apply `event` to the delivery the 11.4 `request_id` made for `device`; the delivery
    after it, or None (nothing changed) when there is none or its state does not admit it."""
    params = {"device": eui_to_db(device), "request_id": request_id, "now": now}
    r = _MOVE_OF_REQUEST[event].first(conn, {**params, "new_reason": _reason(event, reason)})
    return None if r is None else _delivery(r)


# ------------------------------------------------------------------ deadlines

assert all(DeliveryEvent.TIMED_OUT in TRANSITIONS[s] for s in DeliveryState if s not in FINAL), (
    "every delivery in progress can time out"
)

_NEXT_DEADLINE = select(func.min(firmware_deliveries.c.deadline)).where(
    firmware_deliveries.c.active == 1
)
_EXPIRED = (
    select(*_DELIVERY)
    .where(
        firmware_deliveries.c.active == 1,
        firmware_deliveries.c.deadline <= bindparam("now", type_=UTCDateTime()),
    )
    .order_by(firmware_deliveries.c.request_id, firmware_deliveries.c.id)
)
_EXPIRE = (
    update(firmware_deliveries)
    .where(
        firmware_deliveries.c.active == 1,
        firmware_deliveries.c.deadline <= bindparam("now", type_=UTCDateTime()),
    )
    .values(
        status=DeliveryState.FAILED.value,
        active=0,
        reason=TIMEOUT_REASON,
        updated_at=bindparam("now", type_=UTCDateTime()),
        failed_at=bindparam("now", type_=UTCDateTime()),
    )
)


def next_deadline(conn: Connection) -> datetime | None:
    """When the first delivery in progress times out (None: none in progress)."""
    value = conn.execute(_NEXT_DEADLINE).scalar_one_or_none()
    return None if value is None else UTCDateTime().process_result_value(value, conn.dialect)


def expire(conn: Connection, now: datetime) -> list[Delivery]:
    """Fail, set-based, every delivery in progress whose deadline has passed; what failed."""
    expired = [_delivery(r) for r in conn.execute(_EXPIRED, {"now": now})]
    if expired:
        conn.execute(_EXPIRE, {"now": now})
    return expired
