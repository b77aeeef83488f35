"""What must hold after every sim run, whatever the fault plan did (the VOPR's checkers).

:func:`observe` reads a finished :class:`~althan.runtime.scenario.Scenario` into a
:class:`RunState` (plain data: the DSP's store, the devices of the network, what the user's
endpoint received); :func:`check` returns the first invariant it breaks, with detail, or
None. The state is data so that a test can doctor it and show every checker can fail.

1. ``deliveries-final``: every device of every 11.4 ends Activated, or Failed with a reason
   (never in progress).
2. ``activates-once``: no device activates the same image twice for one request (on the
   device, and in the N39s its supplier got).
3. ``requests-answered``: no accepted DUIS request is lost: every request the user got a
   success reply for is in the store with that code, has a delivery per device it was
   accepted for, and its user got an alert naming each device with its outcome.
4. ``smi-version``: the SMI's firmware version of every device equals the device's own.
5. ``alerts-delivered``: every alert and response the DSP owes its users reached them (by
   ResponseID; a user's endpoint is idempotent, so a copy delivered twice counts once), none
   arrived that it does not owe, and every one verified.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select

from althan.duis.namespaces import SR
from althan.model import EUI64
from althan.runtime.scenario import Scenario
from althan.runtime.world import Received
from althan.store.tables import devices, firmware_deliveries, outbox, service_requests

__all__ = ["INVARIANTS", "Broken", "DeliveryRow", "RunState", "check", "observe"]

INVARIANTS = (
    "deliveries-final",
    "activates-once",
    "requests-answered",
    "smi-version",
    "alerts-delivered",
)
_FINAL = ("Activated", "Failed")
_ACCEPTED = ("I0", "I99")
_OUTCOME_ALERTS = {"Activated": ("N39",), "Failed": ("N39", "N55", "N56", "N57")}
_DEVICE_TAGS = (f"{SR}DeviceID", f"{SR}TargetDeviceID", f"{SR}OtherDeviceID")


@dataclass(frozen=True, slots=True)
class Broken:
    """An invariant a run broke, and how."""

    invariant: str  # one of INVARIANTS
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    request_id: str
    device: str  # hyphenated EUI-64
    state: str
    reason: str
    version: str  # the image's firmware version, 8 hex digits


@dataclass
class RunState:
    """What a finished run left, as plain data."""

    deliveries: list[DeliveryRow] = field(default_factory=list)
    device_versions: dict[str, str] = field(default_factory=dict)  # the devices' own
    smi_versions: dict[str, str | None] = field(default_factory=dict)
    activations: dict[str, list[str]] = field(default_factory=dict)  # device -> versions
    accepted: dict[str, str] = field(default_factory=dict)  # request ID -> reply code
    stored: dict[str, tuple[str, int]] = field(default_factory=dict)  # request -> code, devices
    owed: set[str] = field(default_factory=set)  # ResponseIDs of what the DSP queued
    received: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)
    """(ResponseID, alert code or "", devices named) of each document the user got."""
    bad_signatures: int = 0


def check(s: RunState) -> Broken | None:
    """The first invariant `s` breaks (in :data:`INVARIANTS` order), or None."""
    for checker in (_final, _once, _answered, _smi, _alerts):
        broken = checker(s)
        if broken is not None:
            return broken
    return None


def _final(s: RunState) -> Broken | None:
    for d in s.deliveries:
        if d.state not in _FINAL:
            return Broken("deliveries-final", f"{d.device} of {d.request_id} is {d.state}")
        if d.state == "Failed" and not d.reason:
            return Broken("deliveries-final", f"{d.device} of {d.request_id} failed, no reason")
    return None


def _once(s: RunState) -> Broken | None:
    requests: Counter[tuple[str, str]] = Counter((d.device, d.version) for d in s.deliveries)
    for dev, versions in sorted(s.activations.items()):
        for version, n in Counter(versions).items():
            if n > requests[(dev, version)]:
                return Broken(
                    "activates-once",
                    f"{dev} activated {version} {n} times for {requests[(dev, version)]} "
                    "request(s)",
                )
    n39: Counter[str] = Counter()
    seen: set[str] = set()
    for rid, code, devs in s.received:
        if code == "N39" and rid not in seen:  # a copy delivered twice is one alert
            seen.add(rid)
            n39.update(devs)
    per_device: Counter[str] = Counter(d.device for d in s.deliveries)
    for dev, n in sorted(n39.items()):
        if n > max(1, per_device[dev]):
            return Broken(
                "activates-once", f"{dev}: {n} N39 alerts for {per_device[dev]} request(s)"
            )
    return None


def _answered(s: RunState) -> Broken | None:
    by_request: dict[str, list[DeliveryRow]] = {}
    for d in s.deliveries:
        by_request.setdefault(d.request_id, []).append(d)
    told: dict[str, set[str]] = {}
    for _rid, code, devs in s.received:
        for dev in devs:
            told.setdefault(dev, set()).add(code)
    for rid, code in sorted(s.accepted.items()):
        stored = s.stored.get(rid)
        if stored is None:
            return Broken("requests-answered", f"{rid} was answered {code} and is not in the store")
        if stored[0] != code:
            return Broken("requests-answered", f"{rid} was answered {code}, stored {stored[0]}")
        mine = by_request.get(rid, [])
        if len(mine) < stored[1]:
            return Broken(
                "requests-answered", f"{rid} accepted {stored[1]} devices, {len(mine)} deliveries"
            )
        for d in mine:
            want = _OUTCOME_ALERTS.get(d.state, ())
            if not told.get(d.device, set()) & set(want):
                return Broken(
                    "requests-answered",
                    f"{rid}: {d.device} ended {d.state}; its user got none of {', '.join(want)}",
                )
    return None


def _smi(s: RunState) -> Broken | None:
    for dev, own in sorted(s.device_versions.items()):
        smi = s.smi_versions.get(dev)
        if smi is None or smi.upper() != own.upper():
            return Broken("smi-version", f"{dev} runs {own}, the SMI says {smi}")
    return None


def _alerts(s: RunState) -> Broken | None:
    if s.bad_signatures:
        return Broken("alerts-delivered", f"{s.bad_signatures} deliveries did not verify")
    got = {rid for rid, _c, _d in s.received}
    missing = sorted(s.owed - got)
    if missing:
        return Broken(
            "alerts-delivered", f"{len(missing)} owed never reached their user, first {missing[0]}"
        )
    extra = sorted(got - s.owed)
    if extra:
        return Broken("alerts-delivered", f"{len(extra)} reached a user unowed, first {extra[0]}")
    return None


# ---------------------------------------------------------------------- reading a run


def _response_id(xml: bytes) -> str:
    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, huge_tree=True))
    e = root.find(f"{SR}Header/{SR}ResponseID")
    if e is not None and e.text:
        return e.text
    r = root.find(f"{SR}Header/{SR}RequestID")
    return f"request:{r.text if r is not None else ''}"


def _received_id(d: Received) -> str:
    return d.response_id or f"request:{d.request_id or ''}"


def _devices_named(d: Received) -> frozenset[str]:
    body = d.root.find(f"{SR}Body")
    if body is None:
        return frozenset()
    named = {e.text for e in body.iter(*_DEVICE_TAGS) if e.text}
    for e in body.iter(f"{SR}MeterIDs"):  # a list: N57 names every device that timed out
        named.update(x.strip() for x in (e.text or "").split(",") if x.strip())
    return frozenset(named)


def _reply_request_id(body: bytes) -> str | None:
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        return None
    e = root.find(f"{SR}Header/{SR}RequestID")
    return e.text if e is not None else None


def _hex(version: int) -> str:
    return f"{version:08X}"


def observe(w: Scenario, devices_of_interest: Iterable[str] | None = None) -> RunState:
    """Read a finished run. The devices compared with the SMI are the bridges of the fleet
    (or `devices_of_interest`)."""
    s = RunState()
    with w.engine.connect() as conn:
        for r in conn.execute(
            select(
                firmware_deliveries.c.request_id,
                firmware_deliveries.c.device,
                firmware_deliveries.c.status,
                firmware_deliveries.c.reason,
                firmware_deliveries.c.firmware_version,
            ).order_by(firmware_deliveries.c.id)
        ):
            s.deliveries.append(
                DeliveryRow(
                    r.request_id, str(r.device), r.status, r.reason or "", r.firmware_version
                )
            )
        for q in conn.execute(
            select(
                service_requests.c.request_id,
                service_requests.c.response_code,
                service_requests.c.device_count,
            )
        ):
            s.stored[q.request_id] = (q.response_code, int(q.device_count or 0))
        users = {str(w.user.eui)}
        for o in conn.execute(
            select(outbox.c.destination, outbox.c.payload).where(outbox.c.kind == "duis")
        ):
            if o.destination in users:
                s.owed.add(_response_id(bytes(o.payload)))
        smi_rows = conn.execute(select(devices.c.eui, devices.c.firmware_version)).all()
    smi = {str(r.eui): r.firmware_version for r in smi_rows}
    wanted = (
        list(devices_of_interest)
        if devices_of_interest is not None
        else [str(b.eui) for _h, b in w.fleet.bridges()]
    )
    for dev in wanted:
        han = w.network.han_device(EUI64.parse(dev))
        s.device_versions[dev] = _hex(han.version)
        s.smi_versions[dev] = smi.get(dev)
        if han.activations:
            s.activations[dev] = [_hex(v) for v in han.activations]
    for reply in w.user.replies:
        rid = _reply_request_id(reply.body) if reply.http_status == 200 else None
        if rid is not None and reply.response_code in _ACCEPTED:
            s.accepted[rid] = reply.response_code
    for d in w.user.deliveries:
        s.received.append((_received_id(d), d.alert_code or "", _devices_named(d)))
    s.bad_signatures = w.user.bad_signatures
    return s
