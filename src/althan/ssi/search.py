"""Device search: what a search box means, and one page of the SMI in EUI order.

A query is words: ``key:value`` (``eui``, ``chf``, ``type``, ``variant``, ``status``,
``region``, ``fw``), or a bare word that says what it is (a whole EUI, the start of one such
as ``00-DB-12``, ``B2``, ``PPMID``, ``Commissioned``, ``North``). Anything else is reported,
never run. Pages are keyset-paginated in EUI order (hex order, as people read EUIs): each
page is one or two index range scans (`ix_devices_<column>_eui`), however deep the page, so a
search of a 1,000,000-device SMI costs about the same on page 1 and page 20,000.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from althan.model import EUI64, AltHANVariant, DeviceStatus, DeviceType, FirmwareVersion, Region
from althan.store.bulk import raw
from althan.store.tables import devices
from althan.store.types import signed64

TOP = 1 << 63
KEYS = ("eui", "chf", "type", "variant", "status", "region", "fw")
ALIASES = {"firmware": "fw", "version": "fw", "device_type": "type", "hub": "chf"}
_PREFIX = re.compile(r"^[0-9A-Fa-f]{2}(-?[0-9A-Fa-f]{2}){0,6}-?$|^[0-9A-Fa-f]{1,15}$")
_TYPES = {t.value.upper(): t.value for t in DeviceType}
_VARIANTS = {v.value.upper(): v.value for v in AltHANVariant}
_STATUSES = {s.value.upper(): s.value for s in DeviceStatus}
_REGIONS = {r.value.upper(): r.value for r in Region}
COLUMNS = (
    devices.c.eui,
    devices.c.device_type,
    devices.c.variant,
    devices.c.status,
    devices.c.region,
    devices.c.firmware_version,
    devices.c.chf,
    devices.c.supplier,
    devices.c.manufacturer,
    devices.c.model,
)


@dataclass(frozen=True)
class Query:
    """A parsed search: the filters, and what could not be understood (never run)."""

    filters: dict[str, str] = field(default_factory=dict)
    prefix: tuple[int, int] | None = None  # unsigned EUI range [lo, hi)
    errors: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        words = [f"{k}:{v}" for k, v in self.filters.items()]
        return " ".join(words)


def _value(key: str, value: str) -> tuple[str | None, str | None]:
    """(normalised value, error)."""
    v = value.strip()
    u = v.upper()
    choices = {"type": _TYPES, "variant": _VARIANTS, "status": _STATUSES, "region": _REGIONS}
    if key in choices:
        known = choices[key]
        if u in known:
            return known[u], None
        return None, f"{key} {v!r} is not one of {', '.join(known.values())}"
    if key in ("eui", "chf"):
        try:
            return str(EUI64.parse(v)), None
        except ValueError:
            return (
                None,
                f"{key} {v!r} is not an EUI-64 (16 hex digits, e.g. 00-DB-12-34-56-78-90-A4)",
            )
    try:
        return str(FirmwareVersion.parse(v)), None
    except ValueError:
        return None, f"fw {v!r} is not a firmware version (up to 8 hex digits)"


def _bare(word: str) -> tuple[str, str] | None:
    u = word.upper()
    for key, known in (
        ("variant", _VARIANTS),
        ("type", _TYPES),
        ("status", _STATUSES),
        ("region", _REGIONS),
    ):
        if u in known:
            return key, known[u]
    try:
        return "eui", str(EUI64.parse(word))
    except ValueError:
        return None


def _prefix(word: str) -> tuple[int, int] | None:
    if not _PREFIX.match(word):
        return None
    digits = word.replace("-", "")
    shift = 4 * (16 - len(digits))
    lo = int(digits, 16) << shift
    return lo, lo + (1 << shift)


def parse(q: str, fields: Mapping[str, str] | None = None) -> Query:
    """The search `q` (box text) together with the search form's own fields."""
    filters: dict[str, str] = {}
    errors: list[str] = []
    prefix: tuple[int, int] | None = None
    words = [(w, None) for w in q.split()] + [
        (v, k) for k, v in (fields or {}).items() if k in KEYS and v.strip()
    ]
    for word, given_key in words:
        if given_key is not None:
            key, value = given_key, word
        elif ":" in word or "=" in word:
            key, _, value = word.replace("=", ":", 1).partition(":")
            key = ALIASES.get(key.lower(), key.lower())
            if key not in KEYS:
                errors.append(f"{key!r} is not something to search by ({', '.join(KEYS)})")
                continue
        else:
            bare = _bare(word)
            if bare is not None:
                key, value = bare
            elif (p := _prefix(word)) is not None:
                prefix = p
                continue
            else:
                errors.append(f"{word!r} is not understood")
                continue
        norm, err = _value(key, value)
        if err is not None:
            errors.append(err)
        elif norm is not None:
            filters[key] = norm
    return Query(filters, prefix, tuple(errors))


Eq = tuple[ColumnElement[Any], Any]
"""An equality filter on `devices`: (column as stored, stored value)."""
PROBE = 5_000


def conditions(query: Query) -> tuple[list[Eq], list[ColumnElement[bool]]]:
    """The query as equality filters (each has its ``(column, eui)`` index) and the other
    conditions (an exact EUI, an EUI prefix range)."""
    c = devices.c
    eqs: list[Eq] = []
    where: list[ColumnElement[bool]] = []
    f = query.filters
    if "eui" in f:
        where.append(raw(c.eui) == signed64(EUI64.parse(f["eui"]).value))
    if "chf" in f:
        eqs.append((raw(c.chf), signed64(EUI64.parse(f["chf"]).value)))
    for key, col in (
        ("type", c.device_type),
        ("variant", c.variant),
        ("status", c.status),
        ("region", c.region),
        ("fw", c.firmware_version),
    ):
        if key in f:
            eqs.append((col, f[key]))
    if query.prefix is not None:
        lo, hi = query.prefix
        where.append(raw(c.eui) >= signed64(lo))
        where.append(raw(c.eui) <= signed64(hi - 1))
    return eqs, where


def _unindexed(col: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    """``col = value`` written so that SQLite does not drive the scan by col's index."""
    bare: ColumnElement[Any] = col + 0 if isinstance(value, int) else col.concat("")
    cond: ColumnElement[bool] = bare == value
    return cond


def planned(conn: Connection, eqs: Sequence[Eq]) -> list[ColumnElement[bool]]:
    """The equality filters as conditions. SQLite keeps no statistics of how values are
    spread (a status of 0.5 % of the devices looks as common as one of 99 %), so with more
    than one filter it is told which index to drive by: the filter with the fewest matching
    rows, counted on its index up to `PROBE` (each probe reads at most that many index
    entries). PostgreSQL's planner has its statistics and is given the plain filters."""
    if conn.dialect.name != "sqlite" or len(eqs) < 2:
        return [col == value for col, value in eqs]
    sizes = []
    for col, value in eqs:
        probe = select(literal(1)).select_from(devices).where(col == value).limit(PROBE)
        sizes.append(conn.execute(select(func.count()).select_from(probe.subquery())).scalar_one())
    best = sizes.index(min(sizes))
    return [
        col == value if i == best else _unindexed(col, value) for i, (col, value) in enumerate(eqs)
    ]


@dataclass(frozen=True)
class SearchPage:
    rows: list[Any]
    more: bool
    """Another page follows (ask with `after` = the last row's EUI)."""


def search(
    conn: Connection,
    eqs: Sequence[Eq],
    where: Sequence[ColumnElement[bool]],
    *,
    after: EUI64 | None,
    limit: int,
) -> SearchPage:
    """One page of the devices matching the equality filters `eqs` and `where`, in EUI (hex)
    order, after `after`.

    Stored EUIs are signed: hex order is the non-negative ones (00…–7F…) then the negative
    ones (80…–FF…), each an index range scan."""
    where = [*planned(conn, eqs), *where]
    eui = raw(devices.c.eui)
    cursor = after.value if after is not None else -1
    rows: list[Any] = []
    if cursor < TOP:
        q = select(*COLUMNS).where(*where, eui >= 0, eui > cursor)
        rows += conn.execute(q.order_by(eui).limit(limit + 1)).all()
    if len(rows) <= limit:
        q = select(*COLUMNS).where(*where, eui < 0)
        if cursor >= TOP:
            q = q.where(eui > signed64(cursor))
        rows += conn.execute(q.order_by(eui).limit(limit + 1 - len(rows))).all()
    return SearchPage(rows[:limit], len(rows) > limit)
