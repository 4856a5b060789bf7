"""Bulk writes for the ingest hot path.

PostgreSQL gets ``COPY`` for large inserts; a small insert (an API request's
batch, or any inside a pipeline, where COPY cannot go) is one ``INSERT ...
SELECT FROM json_to_recordset()`` with the rows as a single JSON parameter,
one statement per table instead of one per row (measured: a third less server
time for four events, and 640-660 became 790-795 events/s over HTTP on one
worker). Updates are one ``UPDATE ... FROM unnest()`` of arrays. SQLite,
which runs in-process, gets the driver's ``executemany`` with values converted
here once per column type, skipping SQLAlchemy's per-value processing, which
costs more than SQLite's own work. Rows are dicts keyed by column name; every
row of one call has the same keys. Values are converted exactly as the column
types would convert them (see ``UTCDateTime``), so the ORM reads them back as
usual.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from patron.core import wire
from patron.core.db import UTCDateTime
from patron.core.driver import (
    array_literal,
    driver_errors,
    is_postgres,
    json_text,
    raw_connection,
    utc_iso,
)

# Up to this many events a batch's writes are pipelined; larger ones use COPY.
PIPELINE_LIMIT = 64


@contextmanager
def pipelined(session: Session, events: int) -> Iterator[None]:
    """Send the writes made inside the block without waiting for each answer.

    On PostgreSQL, for a small batch (an API request), a batch's inserts and
    updates travel together and cost one round trip instead of one each: on
    Patron's own connections through ``core.wire.deferring`` (each statement
    sent on libpq's pipeline as it is made, the answers read when the block
    ends, or before any other statement), on any other in psycopg's pipeline
    mode. Only for statements whose result nobody reads (``insert_rows``,
    ``update_rows``, updates without RETURNING; a budget claim reads its rows
    after the block). Inside the block ``insert_rows`` never uses COPY (it
    cannot be pipelined). A database error that arrives when the block ends is
    raised as SQLAlchemy's exception, as if the statement had raised it.
    """
    if events > PIPELINE_LIMIT or not is_postgres(session):
        yield
        return
    connection = raw_connection(session)
    if isinstance(connection, wire.WireConnection):
        # Patron's own connections: the writes go out on libpq's pipeline past
        # psycopg's cursors, their answers read when the block ends
        # (``core.wire.deferring``); a statement run otherwise reads them first.
        with driver_errors(session), wire.deferring(connection):
            yield
        return
    with driver_errors(session), connection.pipeline():
        yield


def _in_pipeline(session: Session) -> bool:
    """Inside :func:`pipelined` on PostgreSQL, where COPY cannot go."""
    connection = raw_connection(session)
    return bool(connection.pgconn.pipeline_status) or wire.deferring_now(connection)


def _json(value: Any) -> Any:
    """JSON text for a JSON column (``core.driver.json_text``)."""
    if value is None:
        return None
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    return json_text(value)


@functools.lru_cache(maxsize=8192)
def _sqlite_time(value: datetime | None) -> str | None:
    """The text ``UTCDateTime`` stores on SQLite (``SQLITE_DATETIME_FORMAT``), made fast.

    Remembered: an event's time is written three times (event, entry, lot), a
    batch's own time on every row; a repeat costs a twelfth of a conversion.
    Equal instants in different zones give the same UTC text, so sharing is safe.
    """
    if value is None:
        return None
    if value.tzinfo is UTC:
        return value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


@functools.lru_cache(maxsize=512)
def _conversions(
    table: Table, columns: tuple[str, ...], sqlite: bool
) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """(position, converter) of the columns whose values need converting; worked
    out once per table and column list (a small batch's writes call this a dozen times)."""
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(columns):
        col_type = table.c[name].type
        if isinstance(col_type, JSON):
            out.append((i, _json))
        elif sqlite and isinstance(col_type, UTCDateTime):
            out.append((i, _sqlite_time))
    return tuple(out)


def _tuples(
    table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]], sqlite: bool
) -> list[list[Any]]:
    convert = _conversions(table, tuple(columns), sqlite)
    values = operator.itemgetter(*columns)  # a row's values in column order, in C
    if len(columns) == 1:
        out = [[values(row)] for row in rows]
    else:
        out = [list(values(row)) for row in rows]
    for row_values in out:
        for i, f in convert:
            row_values[i] = f(row_values[i])
    return out


# Below this many rows COPY's set-up costs more than it saves (a single API event).
COPY_THRESHOLD = 20


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    if not is_postgres(session):
        marks = ", ".join("?" for _ in columns)
        with driver_errors(session):
            raw_connection(session).executemany(
                f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                _tuples(table, columns, rows, sqlite=True),
            )
        return
    if len(rows) < COPY_THRESHOLD or _in_pipeline(session):
        _write(session, _records_insert(table, tuple(columns)), {"rows": _records(rows)})
        return
    copying = f'COPY "{table.name}" ({names}) FROM STDIN'
    with (
        driver_errors(session),
        raw_connection(session).cursor() as cursor,
        cursor.copy(copying) as copy,
    ):
        for row in _tuples(table, columns, rows, sqlite=False):
            copy.write_row(row)


def _write(session: Session, sql: str, values: dict[str, Any]) -> None:
    """A write whose answer nobody reads: deferred when the connection defers
    (``pipelined``), else run now."""
    connection = raw_connection(session)
    if wire.defer(connection, sql, values) is None:
        with driver_errors(session), connection.cursor() as cursor:
            cursor.execute(sql, values)


@functools.lru_cache(maxsize=256)
def _records_insert(table: Table, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return (
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} '
        f"FROM json_to_recordset(%(rows)s::json) AS v({_record_type(table, columns)})"
    )


@functools.lru_cache(maxsize=512)
def _record_type(table: Table, columns: tuple[str, ...]) -> str:
    """``"col" type, ...`` for ``json_to_recordset``: each column's own PostgreSQL type."""
    return ", ".join(f'"{c}" {_pg_type(table, c)}' for c in columns)


@functools.lru_cache(maxsize=512)
def _pg_type(table: Table, column: str) -> str:
    """The column's PostgreSQL type, as its DDL names it (``VARCHAR(100)``, ``JSON``...)."""
    return str(table.c[column].type.compile(dialect=_POSTGRES))


_POSTGRES = postgresql.dialect()


def _records(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as one JSON array of objects, the single parameter of a small
    write on PostgreSQL (see :func:`insert_rows`)."""
    try:
        return orjson.dumps(
            rows, default=_plain, option=orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS
        ).decode()
    except (orjson.JSONEncodeError, TypeError):  # integers beyond 64 bits
        return _RECORDS_ENCODER.encode(rows)


def _plain(value: Any) -> Any:
    return utc_iso(value) if isinstance(value, datetime) else str(value)


_RECORDS_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_plain)


def update_rows(
    session: Session, table: Table, key: str | tuple[str, ...], rows: Sequence[dict[str, Any]]
) -> None:
    """``UPDATE table SET col = row[col] WHERE table.key = row[key]`` for every row;
    ``key`` is a column or the columns of a composite key."""
    if not rows:
        return
    keys = (key,) if isinstance(key, str) else key
    columns = [c for c in rows[0] if c not in keys]
    if not is_postgres(session):
        sets = ", ".join(f'"{c}" = ?' for c in columns)
        where = " AND ".join(f'"{k}" = ?' for k in keys)
        values = _tuples(table, [*columns, *keys], rows, sqlite=True)
        with driver_errors(session):
            raw_connection(session).executemany(
                f'UPDATE "{table.name}" SET {sets} WHERE {where}', values
            )
        return
    everything = (*keys, *columns)
    _write(
        session,
        _unnest_update(table, keys, everything),
        {c: array_literal([row[c] for row in rows]) for c in everything},
    )


@functools.lru_cache(maxsize=256)
def _unnest_update(table: Table, keys: tuple[str, ...], everything: tuple[str, ...]) -> str:
    """Arrays, not one JSON parameter as for inserts: with arrays the planner
    sees how many rows come and joins them to the key's index; from
    ``json_to_recordset`` it assumed a hundred and scanned the table (measured:
    2.8 ms for cap usage against well under 0.1 ms)."""
    sets = ", ".join(f'"{c}" = v."{c}"' for c in everything if c not in keys)
    unnest = ", ".join(f"CAST(%({c})s AS {_pg_type(table, c)}[])" for c in everything)
    names = ", ".join(f'"{c}"' for c in everything)
    where = " AND ".join(f't."{k}" = v."{k}"' for k in keys)
    return (
        f'UPDATE "{table.name}" AS t SET {sets} FROM unnest({unnest}) AS v({names}) WHERE {where}'
    )
