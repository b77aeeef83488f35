"""What the `althan` commands that act on a DSP's data share: where the data is, and opening it.

Commands that only read (`list`, `report`, `devices`) refuse a data directory that holds no
store, rather than create one; commands that write (`users add`, `cpl add`) create it, with the
ZAZ1 test users, as `althan serve` would on its first start.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from althan.model import EUI64

if TYPE_CHECKING:
    from sqlalchemy import Connection

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


def parse_eui(text: str, option: str) -> EUI64:
    """`text` as an EUI-64; bad input (exit 2) naming `option` when it is not one."""
    try:
        return EUI64.parse(text)
    except ValueError as exc:
        fail(f"{option} {text!r}: {exc}")


def print_json(value: Any, *, sort_keys: bool = True) -> None:
    """`value` as one JSON line, the last of stdout (what ``--json`` promises)."""
    sys.stdout.write(json.dumps(value, sort_keys=sort_keys) + "\n")


def print_table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[str]], *, width: int = 180
) -> None:
    """A Rich table of `rows` (text cells, one per column) on stdout."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*r)
    Console(width=width).print(t)


def print_rows(
    title: str,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    cells: Callable[[dict[str, Any]], Sequence[str]],
    *,
    as_json: bool,
    width: int = 180,
) -> None:
    """`rows` as one JSON array (``--json``), or as a table of each row's `cells`."""
    if as_json:
        print_json(rows)
    else:
        print_table(title, columns, map(cells, rows), width=width)


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


@contextmanager
def store_connection(
    data_dir: Path, db_url: str | None = None, *, write: bool = False
) -> Iterator[Connection]:
    """A connection to an existing store (one transaction when `write`); the engine is
    disposed when the block ends."""
    from althan.store import open_engine

    engine = open_engine(store_url(data_dir, db_url, create=False))
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
