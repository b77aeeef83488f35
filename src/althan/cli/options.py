"""What the `althan` commands that act on a DSP's data share: where the data is, and opening it.

Commands that only read (`list`, `report`, `devices`) refuse a data directory that holds no
store, rather than create one; commands that write (`users add`, `cpl add`) create it, with the
ZAZ1 test users, as `althan serve` would on its first start.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from althan.runtime.assemble import Assembly

DEFAULT_DATA_DIR = Path("althan-data")

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="ALTHAN_DATA_DIR",
        file_okay=False,
        help="The DSP's data directory (store and images).",
    ),
]
DbUrl = Annotated[
    str | None,
    typer.Option(
        "--db-url",
        envvar="ALTHAN_DB_URL",
        help="SQLAlchemy URL of the store (default: SQLite in the data directory).",
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, ``error: …``, and exit `code`."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def store_url(data_dir: Path, db_url: str | None, *, create: bool) -> str:
    """The store's URL; without `create`, a data directory with no store is an error."""
    from althan.store import sqlite_url

    if db_url:
        return db_url
    if not create and not (data_dir / "althan.db").is_file():
        fail(
            f"no althan store in {data_dir}: start `althan serve --data-dir {data_dir}` first, "
            "or give --data-dir / --db-url"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    return sqlite_url(data_dir)


def dsp_now(data_dir: Path) -> datetime:
    """The time the DSP acts at: the DCC time of a serve running on `data_dir` (sped up), else
    the real time."""
    from althan.runtime.live import dcc_now

    return dcc_now(data_dir) or datetime.now(UTC)


def open_assembly(data_dir: Path, db_url: str | None = None, *, create: bool) -> Assembly:
    """The DSP on the data directory, with the ZAZ1 test users registered (kept as they are)."""
    from althan.runtime.assemble import build_dsp, register_test_users

    url = store_url(data_dir, db_url, create=create)
    a = build_dsp(data_dir, db_url=url)
    register_test_users(a, datetime.now(UTC))
    return a
