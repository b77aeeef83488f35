"""DCC users: who may send what (roles), their signing certificates, counters and endpoints.

A user's RequestID counter only moves forward: one conditional UPDATE both checks and claims
it (on PostgreSQL a concurrent request of the same user waits on the row, then fails).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection, String, bindparam, insert, select, text, update

from althan.model import EUI64, UserRole
from althan.store.prepared import Prepared
from althan.store.tables import users
from althan.store.types import eui_to_db


@dataclass(frozen=True, slots=True)
class UserRecord:
    eui: EUI64
    name: str
    roles: frozenset[UserRole]
    cert_pem: str | None
    cert_serial: str | None
    endpoint: str | None
    althanco: bool
    last_counter: int | None


def _roles(text: str) -> frozenset[UserRole]:
    return frozenset(UserRole(x) for x in text.split(",") if x)


def _record(r: Any) -> UserRecord:
    return UserRecord(
        r.eui,
        r.name,
        _roles(r.roles),
        r.cert_pem,
        r.cert_serial,
        r.endpoint,
        bool(r.is_althanco),
        r.last_counter,
    )


_ROLES = Prepared(
    select(users.c.roles, users.c.last_counter).where(users.c.eui == bindparam("eui"))
)
_CLAIM = (
    "UPDATE users SET last_counter = :counter WHERE eui = :eui"
    " AND (last_counter IS NULL OR last_counter < :counter)"
)
_CLAIM_COUNTER = Prepared(text(_CLAIM))
_CLAIM_COUNTER_ROLES = Prepared(text(f"{_CLAIM} RETURNING roles").columns(roles=String))


def claim_counter_roles(conn: Connection, eui: EUI64, counter: int) -> frozenset[UserRole] | None:
    """Move a registered user's counter to `counter` and give the user's roles, in one round
    trip; None when the user is unknown or `counter` is not greater (`roles_of` tells which)."""
    r = _CLAIM_COUNTER_ROLES.first(conn, {"eui": eui_to_db(eui), "counter": counter})
    return None if r is None else _roles(r.roles)


def roles_of(conn: Connection, eui: EUI64) -> tuple[frozenset[UserRole], int | None] | None:
    """(roles, last counter) of a registered user, or None (the request path: one row)."""
    r = _ROLES.first(conn, {"eui": eui_to_db(eui)})
    if r is None:
        return None
    return _roles(r.roles), r.last_counter


def claim_counter(conn: Connection, eui: EUI64, counter: int) -> bool:
    """Move the user's counter to `counter`; False when it is not greater (a replay)."""
    return _CLAIM_COUNTER.run(conn, {"eui": eui_to_db(eui), "counter": counter}) == 1


def get(conn: Connection, eui: EUI64) -> UserRecord | None:
    r = conn.execute(select(users).where(users.c.eui == eui)).first()
    return None if r is None else _record(r)


def all_users(conn: Connection) -> list[UserRecord]:
    return [_record(r) for r in conn.execute(select(users).order_by(users.c.eui))]


def endpoints(conn: Connection, euis: Iterable[EUI64]) -> dict[EUI64, str | None]:
    """The registered endpoint of each of `euis` (absent: not a user)."""
    wanted = list(set(euis))
    if not wanted:
        return {}
    q = select(users.c.eui, users.c.endpoint).where(users.c.eui.in_(wanted))
    return {r.eui: r.endpoint for r in conn.execute(q)}


def certificates(conn: Connection) -> list[tuple[EUI64, x509.Certificate]]:
    """Every registered user's XML-signing certificate (what the DUIS gateway trusts)."""
    q = select(users.c.eui, users.c.cert_pem).where(users.c.cert_pem.is_not(None))
    return [(r.eui, x509.load_pem_x509_certificate(r.cert_pem.encode())) for r in conn.execute(q)]


def register_user(
    conn: Connection,
    eui: EUI64,
    name: str,
    roles: Iterable[UserRole],
    now: datetime,
    *,
    cert: x509.Certificate | None = None,
    endpoint: str | None = None,
    althanco: bool | None = None,
) -> None:
    """Add a DCC user, or update one. What is not given (`cert`, `endpoint`, `althanco`) is
    kept."""
    values: dict[str, object] = {
        "name": name,
        "roles": ",".join(sorted(r.value for r in roles)),
    }
    if althanco is not None:
        values["is_althanco"] = 1 if althanco else 0
    if cert is not None:
        values |= {
            "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
            "cert_issuer": cert.issuer.rfc4514_string(),
            "cert_serial": str(cert.serial_number),
        }
    if endpoint is not None:
        values["endpoint"] = endpoint
    if conn.execute(select(users.c.eui).where(users.c.eui == eui)).first() is None:
        values.setdefault("is_althanco", 0)
        conn.execute(insert(users).values(eui=eui, created_at=now, last_counter=None, **values))
    else:
        conn.execute(update(users).where(users.c.eui == eui).values(**values))


def set_endpoint(conn: Connection, eui: EUI64, endpoint: str | None) -> bool:
    """Change where the user's asynchronous responses and alerts go; False: not a user."""
    return (
        conn.execute(update(users).where(users.c.eui == eui).values(endpoint=endpoint)).rowcount
        == 1
    )
