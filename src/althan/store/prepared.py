"""Statements compiled once and run on the driver's cursor, for the hot paths.

The DSP's inbound SM WAN path runs about 13 small statements per bridge of a rollout, and the
gateway 4 or 5 per request. SQLAlchemy spends about 45 µs of Python on each execution beyond
the driver's own work (building an execution context, processing parameters and results);
for these few statements that is most of their cost. A `Prepared` statement is still written
as SQLAlchemy Core and compiled by SQLAlchemy, once per dialect, with its columns' types'
own bind and result processors; a run binds the values through them, executes on the DBAPI
cursor of the caller's connection (in its transaction) and reads rows as named tuples.

What this gives up is said here once: no ``before/after_cursor_execute`` events, no
expanding or literal-execute parameters (refused when the statement is compiled). Like any
statement, a run begins the connection's transaction if none is (SQLAlchemy's autobegin), so
what the cursor wrote is committed or rolled back with the rest. A driver error is raised as
SQLAlchemy raises it (`sqlalchemy.exc.DBAPIError` and its subclasses), and a connection the
driver reports lost is invalidated, as SQLAlchemy does.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement

__all__ = ["Prepared"]

_Proc = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """One statement compiled for one dialect."""

    sql: str
    positional: bool
    names: tuple[str, ...]  # the bound names, in placeholder order when positional
    unique: tuple[str, ...]  # each bound name once
    defaults: Mapping[str, Any]  # values the statement binds itself (``claimed_by=None``)
    procs: Mapping[str, _Proc]
    row: Any  # a namedtuple class for the result columns; None: no result rows
    results: tuple[_Proc, ...]


def _row_class(keys: Sequence[str]) -> Any:
    """A named tuple of `keys`, with ``_mapping`` as SQLAlchemy's rows have it (a column
    without a usable name, ``count(*)``, is reached by position)."""
    base = namedtuple("Row", [str(k) for k in keys], rename=True)  # type: ignore[misc]
    return type("Row", (base,), {"__slots__": (), "_mapping": property(base._asdict)})


class Prepared:
    """One Core statement, compiled per dialect on first use (`keys`: the columns an INSERT
    without ``values()`` binds, by name)."""

    def __init__(self, stmt: ClauseElement, *, keys: Sequence[str] | None = None) -> None:
        self.stmt = stmt
        self._keys = list(keys) if keys is not None else None
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = self._compile(dialect)
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        c: Any = self.stmt.compile(dialect=dialect, column_keys=self._keys)
        if c.literal_execute_params or c.post_compile_params:
            raise ValueError(f"cannot prepare a statement with expanding parameters: {c}")
        positional = c.positiontup is not None
        binds = {name: b for b, name in c.bind_names.items()}
        names = tuple(c.positiontup) if positional else tuple(binds)
        defaults = {k: b.value for k, b in binds.items() if not b.required and b.callable is None}
        procs = {k: b.type.dialect_impl(dialect).bind_processor(dialect) for k, b in binds.items()}
        columns = list(getattr(self.stmt, "exported_columns", ()))
        row = _row_class([col.key for col in columns]) if columns else None
        results = tuple(
            col.type.dialect_impl(dialect).result_processor(dialect, None) for col in columns
        )
        unique = tuple(dict.fromkeys(names))
        return _Plan(c.string, positional, names, unique, defaults, procs, row, results)

    def _bind(self, plan: _Plan, params: Mapping[str, Any]) -> Any:
        out: dict[str, Any] = {}
        for k in plan.unique:
            v = params[k] if k in params else plan.defaults[k]
            proc = plan.procs[k]
            out[k] = proc(v) if proc is not None and v is not None else v
        return [out[k] for k in plan.names] if plan.positional else out

    def _go(self, conn: Connection, params: Any, read: Callable[[_Plan, Any], Any]) -> Any:
        """Bind and execute on a cursor of `conn`'s driver connection (one set of `params`,
        or many: executemany), then `read(plan, cursor)`; the cursor closed after, a driver
        error raised as SQLAlchemy raises it. (Plain code, not a context manager: this runs
        some twenty times per bridge of a rollout.)"""
        plan = self._plan(conn.dialect)
        if not conn.in_transaction():
            conn.begin()  # as SQLAlchemy's autobegin does: `conn.commit()` keeps what it wrote
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if isinstance(params, Mapping):
                cur.execute(plan.sql, self._bind(plan, params))
            else:
                cur.executemany(plan.sql, [self._bind(plan, p) for p in params])
            return read(plan, cur)
        except conn.dialect.loaded_dbapi.Error as e:
            raise self._error(conn, plan, params, e, cur) from e
        finally:
            cur.close()

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Run with `params`; the result rows (named tuples, values as SQLAlchemy reads them)."""
        return self._go(conn, params, _read_rows)  # type: ignore[no-any-return]

    def tuples(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run with `params`; the result rows as the driver returns them (plain tuples), for a
        bulk path reading many rows whose columns need no conversion (integers and text as
        stored). A statement with a column its type converts on reading is refused."""
        plan = self._plan(conn.dialect)
        if any(p is not None for p in plan.results):
            raise ValueError(f"its columns are converted on reading; use rows(): {plan.sql}")
        return self._go(conn, params, _read_tuples)  # type: ignore[no-any-return]

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first result row, or None."""
        found = self.rows(conn, params)
        return found[0] if found else None

    def run(self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> int:
        """Run with one set of `params`, or many (executemany); the rows it changed."""
        return self._go(conn, params, _read_count)  # type: ignore[no-any-return]

    def _error(self, conn: Connection, plan: _Plan, params: Any, e: Any, cur: Any) -> Any:
        dbapi_conn = conn.connection.dbapi_connection
        lost = conn.dialect.is_disconnect(e, dbapi_conn, cur)
        if lost and not conn.invalidated:
            conn.invalidate(e)
        return exc.DBAPIError.instance(
            plan.sql,
            params,
            e,
            conn.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=conn.dialect,
        )


def _read_rows(plan: _Plan, cur: Any) -> list[Any]:
    if plan.row is None:
        return []
    make, procs = plan.row._make, plan.results
    if not any(procs):
        return [make(r) for r in cur.fetchall()]
    return [
        make(v if p is None or v is None else p(v) for p, v in zip(procs, r, strict=True))
        for r in cur.fetchall()
    ]


def _read_tuples(plan: _Plan, cur: Any) -> list[tuple[Any, ...]]:
    return list(cur.fetchall()) if cur.description is not None else []


def _read_count(plan: _Plan, cur: Any) -> int:
    return int(cur.rowcount)
