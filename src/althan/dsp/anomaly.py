"""Anomaly detection (DESIGN §2 step 5): volume thresholds on Service Requests, and the gateway
step that quarantines a request that would breach one.

A threshold limits, for one SRV and a rolling window (``30m``, ``24h``, ``7d``), the number of
requests and/or the number of devices they name — either of one user (its
``ADUserThresholdBreach``) or of all users together, DCC-wide (``ADDCCThresholdBreach``). Alt HAN
devices are PPMIDs (MP170-AS02): they count with PPMIDs, under the same 11.4 thresholds.

Counting is set-based: per request, one indexed query finds the thresholds that apply to its
user and SRV, then one indexed aggregate per threshold over `service_requests` (the requests
the DSP processed in the window; a refused or quarantined request was not processed and does not
count). The request itself counts with every device it names (an 11.4's or 11.1's DeviceIDList,
distinct; any other request: one), so a request is quarantined exactly when processing it would
take the window's volume over the threshold.

A quarantined request is answered I99 (accepted, the response follows); nothing else happens
to it (no device is touched, nothing goes to the CSPs) and its user gets DCC alert N48 carrying
`QuarantinedRequest`. A DCC operator then releases or rejects it (`althan.dsp.service.Dsp`,
`althan.dsp.quarantine`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from lxml import etree
from sqlalchemy import BigInteger, Connection, bindparam, delete, func, insert, or_, select, update

from althan.dsp import catalogue as C
from althan.dsp import quarantine, users
from althan.dsp.bodies import QuarantinedRequest
from althan.dsp.context import Handled
from althan.dsp.rows import from_row
from althan.duis.namespaces import sr_text
from althan.duis.srv import SrvMatrix
from althan.model import EUI64
from althan.store.prepared import Prepared
from althan.store.tables import ad_thresholds, service_requests
from althan.store.types import UTCDateTime, eui_to_db

if TYPE_CHECKING:
    from althan.dsp.gateway import Call, Next

USER_BREACH = "ADUserThresholdBreach"
DCC_BREACH = "ADDCCThresholdBreach"
DEVICE_LIST = "DeviceIDList"
"""The body element by which an 11.4 (UpdatePPMIDFirmware) or 11.1 (UpdateFirmware) names its
devices."""

_WINDOW = re.compile(r"^\s*([0-9]{1,7})\s*([mhd])\s*$")
_UNIT = {"m": 60, "h": 3_600, "d": 86_400}
MAX_WINDOW = timedelta(days=366)


class ThresholdError(ValueError):
    """A threshold that cannot be: nothing is stored."""


def parse_window(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d`` -> the window (ThresholdError otherwise)."""
    m = _WINDOW.match(text)
    if m is None:
        raise ThresholdError(f"window {text!r}: give minutes, hours or days, e.g. 30m, 24h, 7d")
    window = timedelta(seconds=int(m.group(1)) * _UNIT[m.group(2)])
    if window <= timedelta(0):
        raise ThresholdError(f"window {text!r} must be longer than zero")
    if window > MAX_WINDOW:
        raise ThresholdError(f"window {text!r} is longer than {MAX_WINDOW.days} days")
    return window


def format_window(window: timedelta) -> str:
    """The shortest of ``<n>d``, ``<n>h``, ``<n>m`` that says `window` exactly."""
    s = int(window.total_seconds())
    for unit in ("d", "h", "m"):
        if s % _UNIT[unit] == 0:
            return f"{s // _UNIT[unit]}{unit}"
    return f"{s}s"  # pragma: no cover - parse_window makes whole minutes


@dataclass(frozen=True, slots=True)
class Threshold:
    id: int
    user: EUI64 | None
    """The user whose requests it limits; None: every user's together (DCC-wide)."""
    srv: str
    max_requests: int | None
    max_devices: int | None
    window: timedelta
    updated_at: datetime

    @property
    def breach(self) -> str:
        """The sr:QuarantinedRequest choice a breach of this threshold is reported with."""
        return USER_BREACH if self.user is not None else DCC_BREACH

    @property
    def scope(self) -> str:
        return str(self.user) if self.user is not None else "all-users"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": "user" if self.user is not None else "dcc",
            "user": str(self.user) if self.user is not None else None,
            "srv": self.srv,
            "max_requests": self.max_requests,
            "max_devices": self.max_devices,
            "window": format_window(self.window),
            "window_seconds": int(self.window.total_seconds()),
            "updated_at": self.updated_at.isoformat().replace("+00:00", "Z"),
        }


def _threshold(r: Any) -> Threshold:
    return from_row(Threshold, r, user=r.user_eui, window=timedelta(seconds=r.window_s))


def _positive(name: str, value: int | None) -> None:
    if value is not None and value <= 0:
        raise ThresholdError(f"{name} {value}: a threshold must be a whole number above zero")


def _scope(user: EUI64 | None) -> Any:
    c = ad_thresholds.c.user_eui
    return c.is_(None) if user is None else c == user


def set_threshold(
    conn: Connection,
    srvs: SrvMatrix,
    *,
    user: EUI64 | None,
    srv: str,
    max_requests: int | None,
    max_devices: int | None,
    window: timedelta,
    now: datetime,
) -> Threshold:
    """Set the threshold of `user` (None: DCC-wide) for `srv`, replacing any it had."""
    if srv not in srvs:
        raise ThresholdError(f"unknown SRV {srv!r}: not a Service Reference Variant of DUIS")
    if max_requests is None and max_devices is None:
        raise ThresholdError("give --max-requests, --max-devices or both")
    _positive("max-requests", max_requests)
    _positive("max-devices", max_devices)
    if window <= timedelta(0) or window > MAX_WINDOW:
        raise ThresholdError(f"window {window} must be above zero and at most {MAX_WINDOW}")
    if user is not None and users.roles_of(conn, user) is None:
        raise ThresholdError(f"user {user} is not a registered DCC user")
    values = {
        "max_requests": max_requests,
        "max_devices": max_devices,
        "window_s": int(window.total_seconds()),
        "updated_at": now,
    }
    where = (ad_thresholds.c.srv == srv, _scope(user))
    found = conn.execute(select(ad_thresholds.c.id).where(*where)).scalar_one_or_none()
    if found is None:
        found = conn.execute(
            insert(ad_thresholds)
            .values(user_eui=user, srv=srv, **values)
            .returning(ad_thresholds.c.id)
        ).scalar_one()
    else:
        conn.execute(update(ad_thresholds).where(ad_thresholds.c.id == found).values(**values))
    row = conn.execute(select(ad_thresholds).where(ad_thresholds.c.id == found)).one()
    return _threshold(row)


def remove_threshold(conn: Connection, *, user: EUI64 | None, srv: str) -> bool:
    """Remove the threshold of `user` (None: DCC-wide) for `srv`; False: there was none."""
    q = delete(ad_thresholds).where(ad_thresholds.c.srv == srv, _scope(user))
    return conn.execute(q).rowcount > 0


def list_thresholds(conn: Connection) -> list[Threshold]:
    """Every threshold: DCC-wide first, then by user; by SRV."""
    t = ad_thresholds.c
    q = select(ad_thresholds).order_by(t.user_eui.is_not(None), t.user_eui, t.srv, t.id)
    return [_threshold(r) for r in conn.execute(q)]


# ------------------------------------------------------------------ counting

_APPLICABLE = Prepared(
    select(ad_thresholds)
    .where(
        ad_thresholds.c.srv == bindparam("srv"),
        or_(
            ad_thresholds.c.user_eui == bindparam("user", type_=BigInteger()),
            ad_thresholds.c.user_eui.is_(None),
        ),
    )
    .order_by(ad_thresholds.c.user_eui.is_(None), ad_thresholds.c.id)
)
_sr = service_requests.c
_VOLUME = (func.count(), func.coalesce(func.sum(_sr.device_count), 0))
_SINCE = bindparam("since", type_=UTCDateTime())
_USER_VOLUME = Prepared(
    select(*_VOLUME).where(
        _sr.user_eui == bindparam("user", type_=BigInteger()),
        _sr.srv == bindparam("srv"),
        _sr.received_at > _SINCE,
    )
)
_DCC_VOLUME = Prepared(
    select(*_VOLUME).where(_sr.srv == bindparam("srv"), _sr.received_at > _SINCE)
)


@dataclass(frozen=True, slots=True)
class Breach:
    """What processing the request would do to a threshold's window."""

    threshold: Threshold
    requests: int  # in the window, before this request
    devices: int
    named: int  # devices this request names

    @property
    def reason(self) -> str:
        t = self.threshold
        who = f"user {t.user}" if t.user is not None else "all users"
        window = format_window(t.window)
        if t.max_requests is not None and self.requests + 1 > t.max_requests:
            return (
                f"{who}: {t.srv} at most {t.max_requests} requests per {window}; "
                f"{self.requests} in the window, this one would be {self.requests + 1}"
            )
        return (
            f"{who}: {t.srv} at most {t.max_devices} devices per {window}; "
            f"{self.devices} in the window, this request names {self.named}"
        )


def _breached(t: Threshold, requests: int, devices: int, named: int) -> bool:
    return (t.max_requests is not None and requests + 1 > t.max_requests) or (
        t.max_devices is not None and devices + named > t.max_devices
    )


def check(conn: Connection, user: EUI64, srv: str, named: int, now: datetime) -> Breach | None:
    """The first threshold (the user's before the DCC-wide ones) that processing one more
    `srv` request of `user` naming `named` devices would breach, or None."""
    stored_user = eui_to_db(user)
    for row in _APPLICABLE.rows(conn, {"srv": srv, "user": stored_user}):
        t = _threshold(row)
        params = {"srv": srv, "since": now - t.window, "user": stored_user}
        volume = _USER_VOLUME if t.user is not None else _DCC_VOLUME
        ((requests, devices),) = volume.rows(conn, params)
        if _breached(t, int(requests), int(devices), named):
            return Breach(t, int(requests), int(devices), named)
    return None


def named_devices(body: etree._Element) -> int:
    """The devices a request names: its DeviceIDList's distinct EUIs, or one."""
    ids = sr_text(body, DEVICE_LIST)
    if ids is None:
        return 1
    # the schema's pattern: hyphenated EUIs joined by commas, nothing else
    return len(set(ids.upper().split(",")))


# ------------------------------------------------------------------ the gateway step


def anomaly_detection(call: Call, call_next: Next) -> Handled:
    """Quarantine the request if processing it would breach a threshold (I99, N48); else go
    on. A Signed Pre-Command (CV 5/6/7) was counted as its CV 4 Transform."""
    if call.reuses_request_id:
        return call_next(call)
    req = call.req
    named = named_devices(req.body)
    breach = check(call.conn, req.originator, call.srv.variant, named, call.now)
    if breach is None:
        return call_next(call)
    ref = quarantine.hold(
        call.conn,
        quarantine.Held(
            request_id=str(req.request_id),
            user=req.originator,
            srv=call.srv.variant,
            service=call.service,
            schema_version=req.schema_version,
            devices=named,
            breach=breach.threshold.breach,
            reason=breach.reason,
            xml=call.raw,
        ),
        call.now,
        call.now + call.services.settings.quarantine_expiry,
    )
    body = QuarantinedRequest(breach.threshold.breach, str(req.request_id), ref)
    call.effects.alert(req.originator, body, detail=f"quarantine {ref}: {breach.reason}"[:200])
    return Handled(C.I99)


__all__: Sequence[str] = (
    "DCC_BREACH",
    "USER_BREACH",
    "Breach",
    "Threshold",
    "ThresholdError",
    "anomaly_detection",
    "check",
    "format_window",
    "list_thresholds",
    "named_devices",
    "parse_window",
    "remove_threshold",
    "set_threshold",
)
