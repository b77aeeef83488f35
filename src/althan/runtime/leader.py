"""Which of the processes serving one store runs its network: a lease held while it lives.

`althan serve --workers N` runs N processes on one store, and several `althan serve` may share
a PostgreSQL store from several machines. Every one of them answers DUIS and delivers users'
messages (the outbox's claims keep them apart), but only one may run the simulated network and
the DSP's housekeeping: two networks would each simulate every device. That one holds the
*network lease*:

- on PostgreSQL, a session-level advisory lock on a connection kept open for it (the server
  frees it when the process or its machine goes away);
- on SQLite, an exclusive ``flock`` on a file beside the database (the kernel frees it when the
  process dies, however it dies).

The others try again every few seconds, so when the holder dies another takes over, rebuilding
the network from the SMI as a restart does.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text

__all__ = ["NETWORK_LOCK_KEY", "FileLease", "Lease", "PgAdvisoryLease", "network_lease"]

NETWORK_LOCK_KEY = 0x616C_7468_616E_4E57
"""The advisory lock's key ("althanNW"), one per PostgreSQL database."""


class Lease(Protocol):
    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it (now or before)."""
        ...

    def release(self) -> None:
        """Give it up (idempotent)."""
        ...


class FileLease:
    """An exclusive ``flock`` on `path`, held by an open file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None


class PgAdvisoryLease:
    """``pg_try_advisory_lock`` on a connection of its own, kept open while the lease is held."""

    def __init__(self, engine: Engine, key: int = NETWORK_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key - (1 << 64) if key >= 1 << 63 else key
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return True
        conn = self.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None


def network_lease(engine: Engine, data_dir: Path) -> Lease:
    """The network lease of the store behind `engine`."""
    if engine.dialect.name == "postgresql":
        return PgAdvisoryLease(engine)
    database = engine.url.database
    path = Path(f"{database}.network-lock") if database else data_dir / "network.lock"
    return FileLease(path)
