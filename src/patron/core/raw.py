"""Hot-path reads: Core statements compiled once, sent straight to the driver.

An API request is a batch of a few events, and its cost is a dozen small
statements. Through SQLAlchemy each one costs about 250 µs of Python over the
driver's own 80 µs (measured on this project's 2-core machine: building the
statement, its cache key, expanding IN lists, result processing), which made
up half the CPU of a batch. Statements run with :func:`fetch` are built once,
at import, with named parameters; on PostgreSQL each is compiled once and run
on the session's psycopg connection (same transaction), and a key list is
one array parameter (``col = ANY(%(keys)s)``), so the statement text never
changes and psycopg prepares it on the server after a few uses. On SQLite,
in-process and without round trips, they run through the session as usual,
compiled once too: a key list is one JSON text parameter read by
``json_each``, where SQLAlchemy's own IN list is one parameter per key,
rendered and processed again on every execution (for an import batch's
thousand keys that cost more than SQLite's look-ups). SQLite still probes the
column's index once per key (EXPLAIN QUERY PLAN: ``SEARCH ... USING INDEX``).

Values come back as the driver gives them, except ``UTCDateTime`` columns,
which are UTC-aware on both backends as the column type makes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, bindparam, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from patron.core.bulk import driver_errors, is_postgres, raw_connection
from patron.core.clock import ensure_utc
from patron.core.db import UTCDateTime


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
    sql = str(compiled)
    # Values the statement carries itself (a LIMIT, a literal in a condition).
    fixed = {k: v for k, v in compiled.params.items() if v is not None}
    times = [i for i, c in enumerate(statement.selected_columns) if isinstance(c.type, UTCDateTime)]
    _compiled[id(statement)] = (statement, sql, fixed, times)  # keeps the statement alive
    return sql, fixed, times


def fetch(
    session: Session,
    statement: Select[*tuple[Any, ...]],
    params: Mapping[str, Any],
    *,
    keys: Iterable[str] = (),
    prepare: bool | None = None,
) -> Sequence[Sequence[Any]]:
    """Run ``statement`` (built once, named parameters) and return its rows as tuples.

    ``keys`` names the parameters that are key lists (used with :func:`keys_in`).
    ``prepare=False`` keeps psycopg from preparing the statement on the server:
    for a query whose best plan depends on the values (a prepared statement may
    fall back on one generic plan for all of them).
    """
    if not is_postgres(session):
        values = dict(params)
        for name in keys:
            values[name] = json.dumps(list(values[name]))
        return session.execute(statement, values).all()
    sql, fixed, times = _postgres_sql(session, statement)
    values = {**fixed, **params}
    for name in keys:
        values[name] = list(values[name])
    with driver_errors(session), raw_connection(session).cursor() as cursor:
        cursor.execute(sql, values, prepare=prepare)
        rows = cursor.fetchall()
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


def fetch_postgres(session: Session, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """Hand-written PostgreSQL (psycopg's ``%(name)s`` parameters), through the driver."""
    with driver_errors(session), raw_connection(session).cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
