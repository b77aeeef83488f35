"""Set-based helpers for the bulk paths (an 11.4 naming 50,000 devices, a national fleet).

EUIs travel as stored (signed 64-bit integers): no per-row EUI64 objects on the hot path.
PostgreSQL gets one array parameter (``= ANY``) instead of thousands of ``IN`` parameters,
and ``COPY`` for bulk inserts; SQLite gets chunked ``IN`` lists and executemany.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Select, Table, any_, bindparam, insert
from sqlalchemy import type_coerce as _coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

CHUNK = 5_000


def raw(col: Column[Any]) -> ColumnElement[int]:
    """An EUI column as its stored integer (no EUI64 conversion)."""
    return _coerce(col, BigInteger)


def select_where_in(
    conn: Connection, stmt: Select[Any], col: Column[Any], ids: Sequence[int]
) -> Iterator[Any]:
    """Rows of `stmt` whose `col` (stored integer) is in `ids`."""
    if not ids:
        return
    if conn.dialect.name == "postgresql":
        q = stmt.where(raw(col) == any_(bindparam("ids", type_=ARRAY(BigInteger))))
        yield from conn.execute(q, {"ids": list(ids)})
        return
    for i in range(0, len(ids), CHUNK):
        yield from conn.execute(stmt.where(raw(col).in_(list(ids[i : i + CHUNK]))))


@functools.cache
def insert_new(table: Table, dialect: str, returning: str | None = None) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` into `table` on `dialect` ("postgresql" or "sqlite"),
    built once: a row whose key is there already is left as it is, also when another transaction
    inserts it at the same moment (the loser waits, then sees it). With `returning`, the new
    row's column of that name (no row: it was there)."""
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table).on_conflict_do_nothing()
    return stmt if returning is None else stmt.returning(table.c[returning])


def bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert `rows` (tuples in `columns` order, values already as stored); COPY on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        dbapi = conn.connection.driver_connection
        n = 0
        cols = ", ".join(columns)
        with dbapi.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as cp:  # type: ignore[union-attr]
            for r in rows:
                cp.write_row(r)
                n += 1
        return n
    batch = [dict(zip(columns, r, strict=True)) for r in rows]
    if batch:
        stmt = insert(table).values({c: bindparam(c, type_=_plain(table, c)) for c in columns})
        conn.execute(stmt, batch)
    return len(batch)


def _plain(table: Table, name: str) -> Any:
    t = table.c[name].type
    return BigInteger() if isinstance(t, BigInteger) or "EUI" in type(t).__name__ else t


# ------------------------------------------------------------------ a list as ONE text parameter
# (an 11.4's 50,000 devices: one bound string expanded in SQL, not 50,000 parameters or rows)


def id_text(ids: Iterable[int]) -> str:
    """Stored EUIs (signed 64-bit integers) as one comma-separated text parameter for
    `id_rows`."""
    return ",".join(map(str, ids))


def id_rows(dialect: str, param: str) -> str:
    """A FROM item, aliased ``req``, of the ids in text parameter `param` (`id_text`): columns
    ``eui`` (the stored integer) and ``ord`` (its 1-based position in the list)."""
    if dialect == "postgresql":
        return (
            f"unnest(CAST(string_to_array(:{param}, ',') AS BIGINT[])) "
            "WITH ORDINALITY AS req(eui, ord)"
        )
    return (
        f"(SELECT CAST(value AS INTEGER) AS eui, key + 1 AS ord "
        f"FROM json_each('[' || :{param} || ']')) AS req"
    )


def pair_rows(dialect: str, param: str) -> str:
    """A subquery of the string pairs in text parameter `param`, a JSON array of two-string
    arrays (``json.dumps([[a, b], …])``): for ``(x, y) IN (…)``."""
    if dialect == "postgresql":
        return f"SELECT p ->> 0, p ->> 1 FROM json_array_elements(CAST(:{param} AS JSON)) AS p"
    return (
        f"SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:{param})"
    )
