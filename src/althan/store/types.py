"""How the store holds values: EUI-64s as signed 64-bit integers, times as UTC.

The DCC's own EUIs (90-B3-…) have the top bit set, which a signed BIGINT cannot hold as an
unsigned value: `EUIType` is the one conversion (`signed64` / `eui_from_db`), and the bulk paths
use the same functions on plain integers. `UTCDateTime` takes and gives aware UTC datetimes on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, TypeDecorator
from sqlalchemy.engine import Dialect

from althan.model import EUI64

_TOP = 1 << 63
_HYPHENS = range(2, 23, 3)  # where an EUI-64's hyphens are in its 23 characters


def signed64(value: int) -> int:
    """An unsigned 64-bit EUI value as the signed BIGINT the store holds."""
    return value - (1 << 64) if value >= _TOP else value


def eui_to_db(e: EUI64) -> int:
    """The stored integer of an EUI (for set-based statements that bypass the type)."""
    return signed64(e.value)


def eui_from_db(stored: int) -> EUI64:
    """The EUI of a stored signed BIGINT."""
    return EUI64(stored + (1 << 64) if stored < 0 else stored)


def eui_texts_from_db(stored: Sequence[int]) -> list[str]:
    """The hyphenated text of each stored signed BIGINT (``str(eui_from_db(x))``, without the
    EUI64s: for a bulk path that writes 100,000 of them)."""
    h = struct.pack(f">{len(stored)}q", *stored).hex("-").upper()
    return [h[i : i + 23] for i in range(0, len(h), 24)]


def euis_to_db(listed: str) -> list[int]:
    """The stored integers of a comma-separated list of EUIs (a DUIS DeviceIDList), in its
    order. The list DUIS's schema pattern admits (``XX-XX-XX-XX-XX-XX-XX-XX`` joined by
    commas) is read in one pass; any other (a user's own schema) item by item."""
    n = (len(listed) + 1) // 24
    if (
        n
        and len(listed) == 24 * n - 1
        and all(set(listed[o::24]) == {"-"} for o in _HYPHENS)
        and (n == 1 or set(listed[23::24]) == {","})
    ):
        data = bytes.fromhex(listed.replace("-", "").replace(",", ""))
        return list(struct.unpack(f">{n}q", data))
    return [signed64(int(x.replace("-", ""), 16)) for x in listed.split(",") if x]


class EUIType(TypeDecorator[EUI64]):
    """EUI64 <-> signed BIGINT: the one conversion, `signed64` / `eui_from_db`."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return signed64(value.value if isinstance(value, EUI64) else int(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> EUI64 | None:
        return None if value is None else eui_from_db(int(value))


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the text SQLAlchemy's own DATETIME stores (``YYYY-MM-DD
        HH:MM:SS.ffffff``, UTC) made in one step: its formatting is most of the cost of a
        timestamp on the hot paths."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        check = self.process_bind_param
        last: list[tuple[Any, str | None]] = [(None, None)]  # one (value, text), read whole

        def process(value: Any) -> str | None:
            seen, text = last[0]
            if value is seen and value is not None:  # the same instant again (a batch's `now`)
                return text
            utc = check(value, dialect)
            text = None if utc is None else utc.replace(tzinfo=None).isoformat(" ", "microseconds")
            last[0] = (value, text)
            return text

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
