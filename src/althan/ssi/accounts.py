"""SSI accounts: who may sign in, as which role, for which DUIS user; and sign-in throttling.

Passwords are hashed with Argon2id (argon2-cffi). Each account has a `session_key`: a session
carries it, and changing it (a new password, removal) ends every session of that account.
Failed sign-ins are kept in the store, per login and per client address, so every process
serving the SSI on one store throttles alike.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from althan.model import EUI64
from althan.store.tables import ssi_accounts, ssi_secrets, ssi_signin_failures

LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password anyone has")


class Role(enum.StrEnum):
    SUPPLIER = "supplier"
    ALTHANCO = "althanco"
    DCC = "dcc"

    @property
    def label(self) -> str:
        return {"supplier": "Supplier", "althanco": "AltHANCo", "dcc": "DCC operator"}[self.value]


class AccountError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Account:
    login: str
    role: Role
    user: EUI64 | None
    session_key: str
    created_at: datetime


def _account(r: Any) -> Account:
    return Account(r.login, Role(r.role), r.user_eui, r.session_key, r.created_at)


def add(
    conn: Connection, login: str, role: Role, user: EUI64 | None, password: str, now: datetime
) -> Account:
    """A new account (AccountError: bad login, weak password, a supplier without its DUIS
    user, or the login taken)."""
    if not LOGIN_RE.match(login):
        raise AccountError(
            f"login {login!r}: 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
            "letter or digit"
        )
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if role is Role.SUPPLIER and user is None:
        raise AccountError("a supplier account belongs to one DUIS user: give its EUI")
    if role is Role.DCC and user is not None:
        raise AccountError("a DCC operator account acts for no DUIS user: give no EUI")
    values = {
        "login": login,
        "role": role.value,
        "user_eui": user,
        "password_hash": _HASHER.hash(password),
        "session_key": secrets.token_hex(16),
        "created_at": now,
    }
    try:
        with conn.begin_nested():
            conn.execute(insert(ssi_accounts).values(**values))
    except IntegrityError as exc:
        raise AccountError(f"login {login!r} is taken") from exc
    found = get(conn, login)
    assert found is not None
    return found


def get(conn: Connection, login: str) -> Account | None:
    r = conn.execute(select(ssi_accounts).where(ssi_accounts.c.login == login)).first()
    return None if r is None else _account(r)


def all_accounts(conn: Connection) -> list[Account]:
    return [_account(r) for r in conn.execute(select(ssi_accounts).order_by(ssi_accounts.c.login))]


def remove(conn: Connection, login: str) -> bool:
    """Remove an account (its sessions end with it); False: no such login."""
    return conn.execute(delete(ssi_accounts).where(ssi_accounts.c.login == login)).rowcount == 1


def set_password(conn: Connection, login: str, password: str) -> bool:
    """A new password; every session of the account ends."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    stmt = (
        update(ssi_accounts)
        .where(ssi_accounts.c.login == login)
        .values(password_hash=_HASHER.hash(password), session_key=secrets.token_hex(16))
    )
    return conn.execute(stmt).rowcount == 1


def authenticate(conn: Connection, login: str, password: str) -> Account | None:
    """The account when `password` is its password. An unknown login costs the same time."""
    r = conn.execute(select(ssi_accounts).where(ssi_accounts.c.login == login)).first()
    try:
        _HASHER.verify(r.password_hash if r is not None else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return None if r is None else _account(r)


# ------------------------------------------------------------------ throttling


@dataclass(frozen=True, slots=True)
class Throttle:
    window: timedelta
    per_login: int
    per_client: int


def refused_until(
    conn: Connection, t: Throttle, login: str, client: str, now: datetime
) -> datetime | None:
    """When sign-in may be tried again, if too many recent failures for `login` or from
    `client` (None: go ahead)."""
    since = now - t.window
    f = ssi_signin_failures.c
    for col, key, limit in ((f.login, login, t.per_login), (f.client, client, t.per_client)):
        q = select(func.count(), func.min(f.at)).where(col == key, f.at > since)
        n, first = conn.execute(q).one()
        if n >= limit and first is not None:
            retry: datetime = max(first + t.window, now + timedelta(seconds=1))
            return retry
    return None


def record_failure(conn: Connection, login: str, client: str, now: datetime, t: Throttle) -> None:
    conn.execute(insert(ssi_signin_failures).values(login=login[:64], client=client, at=now))
    conn.execute(delete(ssi_signin_failures).where(ssi_signin_failures.c.at < now - 4 * t.window))


def clear_failures(conn: Connection, login: str) -> None:
    conn.execute(delete(ssi_signin_failures).where(ssi_signin_failures.c.login == login))


# ------------------------------------------------------------------ the cookie-signing key


def session_secret(conn: Connection) -> str:
    """The store's session-signing key, made on first use (the first process to ask wins)."""
    q = select(ssi_secrets.c.value).where(ssi_secrets.c.name == "session")
    found = conn.execute(q).scalar_one_or_none()
    if found is not None:
        return str(found)
    try:
        with conn.begin_nested():
            conn.execute(insert(ssi_secrets).values(name="session", value=secrets.token_hex(32)))
    except IntegrityError:
        pass
    return str(conn.execute(q).scalar_one())
