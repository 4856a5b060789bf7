"""Hot-path reads: Core statements compiled once, sent straight to the driver.

An API request is a batch of a few events, and its cost was a dozen small
statements, each its own round trip. Through SQLAlchemy each one costs about
250 µs of Python over the driver's own 80 µs (measured on this project's
2-core machine: building the statement, its cache key, expanding IN lists,
result processing), which made up half the CPU of a batch. Statements run
with :func:`gather` are built once, at import, with named parameters; on
PostgreSQL each is compiled once and run on the session's psycopg connection
(same transaction), and a key list is one array parameter
(``col = ANY(%(keys)s)``), so the statement text never changes and psycopg
prepares it on the server after a few uses. On SQLite,
in-process and without round trips, they run through the session as usual,
compiled once too: a key list is one JSON text parameter read by
``json_each``, where SQLAlchemy's own IN list is one parameter per key,
rendered and processed again on every execution (for an import batch's
thousand keys that cost more than SQLite's look-ups). SQLite still probes the
column's index once per key (EXPLAIN QUERY PLAN: ``SEARCH ... USING INDEX``).

Values come back as the driver gives them, except ``UTCDateTime`` columns,
which are UTC-aware on both backends as the column type makes them (on
PostgreSQL, whose sessions are in UTC, as the driver gives them).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeVar

import orjson
from sqlalchemy import Boolean, ColumnElement, String, bindparam, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select, TextClause
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from patron.core import wire
from patron.core.clock import ensure_utc
from patron.core.db import UTCDateTime
from patron.core.driver import array_literal, driver_errors, is_postgres, raw_connection

T = TypeVar("T")


class KeysIn(ColumnElement[bool]):
    """``column IN (:name)`` where the parameter ``name`` is a list of ints or strings."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: Any, name: str) -> None:
        self.column = column
        self.name = name

    def self_group(self, against: Any = None) -> KeysIn:
        # Already a comparison: without this, SQLAlchemy would wrap it as a
        # boolean value, ``(col IN (...)) = 1`` on SQLite, which no index serves.
        return self


def keys_in(column: Any, name: str) -> ColumnElement[bool]:
    return KeysIn(column, name)


@compiles(KeysIn)
def _keys_in_json(element: KeysIn, compiler: SQLCompiler, **kw: Any) -> str:
    listed: Select[*tuple[Any, ...]] = select(literal_column("value")).select_from(
        func.json_each(bindparam(element.name, type_=String))
    )
    return compiler.process(element.column.in_(listed), **kw)


@compiles(KeysIn, "postgresql")
def _keys_in_array(element: KeysIn, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column == func.any(bindparam(element.name)), **kw)


class Unindexed(ColumnElement[Any]):
    """A column SQLite must not pick an index for (``+column``); itself elsewhere."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


def unindexed(column: Any) -> ColumnElement[Any]:
    """For a query SQLite, which plans without statistics, would send through the
    wrong index: the unary ``+`` is SQLite's documented way to rule one out."""
    return Unindexed(column)


@compiles(Unindexed)
def _as_is(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(Unindexed, "sqlite")
def _unary_plus(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


_compiled: dict[int, tuple[Select[*tuple[Any, ...]], str, dict[str, Any], list[int]]] = {}


def _postgres_sql(
    session: Session, statement: Select[*tuple[Any, ...]]
) -> tuple[str, dict[str, Any], list[int]]:
    """The statement's SQL for psycopg, the values it carries, its UTCDateTime columns."""
    found = _compiled.get(id(statement))
    if found is not None and found[0] is statement:
        return found[1], found[2], found[3]
    compiled = statement.compile(dialect=session.get_bind().dialect)
    expanding = [b.key for b in compiled.binds.values() if b.expanding]
    if expanding:  # rendered per execution: this path sends the SQL text as compiled
        raise TypeError(f"a list parameter ({', '.join(expanding)}) needs keys_in(), not in_()")
    sql = str(compiled)
    # Values the statement carries itself (a LIMIT, a literal in a condition).
    fixed = {k: v for k, v in compiled.params.items() if v is not None}
    times = [i for i, c in enumerate(statement.selected_columns) if isinstance(c.type, UTCDateTime)]
    _compiled[id(statement)] = (statement, sql, fixed, times)  # keeps the statement alive
    return sql, fixed, times


def _for_driver(
    session: Session,
    statement: Select[*tuple[Any, ...]] | str,
    params: Mapping[str, Any],
    keys: Iterable[str],
) -> tuple[str, dict[str, Any], list[int]]:
    """SQL, parameter values and UTCDateTime columns, as psycopg takes them."""
    if isinstance(statement, str):
        return statement, dict(params), []
    sql, fixed, times = _postgres_sql(session, statement)
    values = {**fixed, **params}
    for name in keys:
        values[name] = array_literal(values[name])  # one array parameter
    return sql, values, times


def _utc(rows: list[Any], times: list[int]) -> list[Any]:
    """Rows with their ``UTCDateTime`` columns (at ``times``) in UTC."""
    if not times:
        return rows
    out = []
    for row in rows:
        utc = list(row)
        for i in times:
            if utc[i] is not None:
                utc[i] = ensure_utc(utc[i])
        out.append(utc)
    return out


@dataclass(frozen=True, slots=True)
class Ask:
    """One read for :func:`gather`.

    ``statement`` is a statement built once, with named parameters;
    hand-written PostgreSQL (psycopg ``%(name)s`` parameters) as a string; or a
    ``text()`` statement, run through the session (SQLite's own SQL). ``keys``
    names the parameters that are key lists (see :func:`keys_in`).
    ``prepare=False`` keeps psycopg from preparing the statement on the server,
    for a query whose best plan depends on the values (a prepared statement
    may fall back on one generic plan for all of them).
    """

    statement: Select[*tuple[Any, ...]] | TextClause | str
    params: Mapping[str, Any]
    keys: tuple[str, ...] = ()
    prepare: bool | None = None


Rows = Sequence[Sequence[Any]]
# A loader: yields the reads it needs next, is sent their rows, returns what it built.
Loading = Generator[list[Ask], list[Rows], T]


def gather(session: Session, *loadings: Loading[Any]) -> list[Any]:
    """Run loaders side by side and return what each built, in order.

    At every step each loader names the reads it needs next; on PostgreSQL all
    the reads of a step travel in one psycopg pipeline, one round trip instead
    of one each, and run in the order asked: a read asked after a locking one
    runs once the lock is held, and sees what the lock's previous holder
    committed. Between steps a loader may use the session as usual.
    """
    built: list[Any] = [None] * len(loadings)
    asked: dict[int, list[Ask]] = {}

    def advance(i: int, rows: list[Rows] | None) -> None:
        try:
            asked[i] = next(loadings[i]) if rows is None else loadings[i].send(rows)
        except StopIteration as done:
            asked.pop(i, None)
            built[i] = done.value

    for i in range(len(loadings)):
        advance(i, None)
    while asked:
        order = [(i, ask) for i, asks in asked.items() for ask in asks]
        results = _run_all(session, [ask for _, ask in order])
        per_loader: dict[int, list[Rows]] = {i: [] for i in asked}
        for (i, _), rows in zip(order, results, strict=True):
            per_loader[i].append(rows)
        for i, rows_of_i in per_loader.items():
            advance(i, rows_of_i)
    return built


def _run_all(session: Session, asks: list[Ask]) -> list[Rows]:
    if not is_postgres(session) or any(isinstance(a.statement, TextClause) for a in asks):
        if session.autoflush:  # what the ORM would do before its own queries
            session.flush()
        connection = session.connection()
        return [_through_connection(connection, ask) for ask in asks]
    connection = raw_connection(session)
    # Sessions are in UTC (core.db): times arrive as datetime.UTC, unconverted.
    in_utc = connection.info.timezone is UTC
    reads: list[wire.Read] = []
    times_of: list[list[int]] = []
    for ask in asks:
        assert not isinstance(ask.statement, TextClause)  # those go through the session
        sql, values, times = _for_driver(session, ask.statement, ask.params, ask.keys)
        reads.append((sql, values, ask.prepare))
        times_of.append(times)
    with driver_errors(session):
        if wire.can_send(connection):
            got = wire.read_all(connection, reads)
        else:  # inside a pipeline of psycopg's own: the reads join it
            got = _through_cursors(connection, reads)
    return [rows if in_utc else _utc(rows, t) for rows, t in zip(got, times_of, strict=True)]


def _through_cursors(connection: Any, reads: list[wire.Read]) -> list[list[Any]]:
    cursors = []
    for sql, values, prepare in reads:
        cursor = connection.cursor()
        cursor.execute(sql, values, prepare=prepare)
        cursors.append(cursor)
    out = []
    for cursor in cursors:
        out.append(cursor.fetchall())
        cursor.close()
    return out


def _through_connection(connection: Connection, ask: Ask) -> Rows:
    """SQLite (or a ``text()`` statement): SQLAlchemy Core runs it on the session's
    connection (the ORM's result machinery cost a third of a members read); key
    lists as JSON text."""
    if isinstance(ask.statement, str):
        raise TypeError("hand-written PostgreSQL cannot run here")
    values = dict(ask.params)
    for name in ask.keys:
        values[name] = orjson.dumps(list(values[name])).decode()  # ids and names
    return connection.execute(ask.statement, values).all()
