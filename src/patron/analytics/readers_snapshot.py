"""The read-only :class:`Snapshot` every analytics read goes through (one raw
connection, one transaction), the :class:`BatchSizes` it reads with, and the column
decoding shared by the readers: integer columns by binary ``COPY`` (PostgreSQL) or
in fetched chunks, events packed into one value per range of ids (``string_agg`` of
``int8send`` bytes, or ``group_concat`` text on SQLite), and epoch seconds of a
timestamp column in either dialect. Snapshots are opened by ``readers.snapshot``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

import numpy as np

from patron.analytics.history import Ints
from patron.core.db import SQLITE_DATETIME_FORMAT

_PG_PARAM = re.compile(r"(?<!:):(\w+)")


@dataclass(frozen=True)
class BatchSizes:
    """How much a snapshot reads at a time: ``chunk`` rows per fetch (SQLite),
    ``venue_sample`` latest purchases to name venues from, at most ``max_venues``
    venues told apart, and ``id_chunk`` ids per batch of a scan in pieces."""

    chunk: int
    venue_sample: int
    max_venues: int
    id_chunk: int


class Snapshot:
    """One read-only connection and transaction for a batch of analytics queries."""

    def __init__(self, connection: Any, dialect: str, sizes: BatchSizes) -> None:
        self.connection = connection
        self.is_postgres = dialect == "postgresql"
        self.sizes = sizes

    def export(self) -> str | None:
        """PostgreSQL: an id other transactions can adopt to read this very snapshot."""
        if not self.is_postgres:
            return None
        return str(self.rows("SELECT pg_export_snapshot()")[0][0])

    def param(self, moment: datetime) -> Any:
        return moment if self.is_postgres else moment.strftime(SQLITE_DATETIME_FORMAT)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self._sql(sql), params or {})
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def int_columns(self, sql: str, params: dict[str, Any], width: int) -> list[Ints]:
        """``width`` non-null integer columns of a query, as int64 arrays."""
        if self.is_postgres:
            return self._copy_binary(sql, params, width)
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            parts = []
            while chunk := cursor.fetchmany(self.sizes.chunk):
                flat = np.fromiter(chain.from_iterable(chunk), np.int64, len(chunk) * width)
                parts.append(flat.reshape(-1, width))
        finally:
            cursor.close()
        table = np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)
        return [np.ascontiguousarray(table[:, i]) for i in range(width)]

    def _copy_binary(self, sql: str, params: dict[str, Any], width: int) -> list[Ints]:
        """PostgreSQL binary COPY: a row is a 16-bit field count, then per field a
        32-bit length and 8 bytes of big-endian int8 (every column is cast to bigint
        and never null, so rows have a fixed size)."""
        buffer = bytearray()
        query = f"COPY ({self._sql(sql)}) TO STDOUT (FORMAT binary)"
        with self.connection.cursor() as cursor, cursor.copy(query, params) as copy:
            for block in copy:
                buffer += block
        header = 19 + int.from_bytes(buffer[15:19], "big")  # signature, flags, extension
        fields = [("count", ">i2")]
        for i in range(width):
            fields += [(f"length{i}", ">i4"), (f"value{i}", ">i8")]
        row = np.dtype(fields)
        n = (len(buffer) - header - 2) // row.itemsize
        table = np.frombuffer(buffer, dtype=row, count=n, offset=header)
        for i in range(width):
            if n and not (table[f"length{i}"] == 8).all():
                raise ValueError(f"column {i} of a COPY is not a non-null bigint: {sql}")
        return [table[f"value{i}"].astype(np.int64) for i in range(width)]

    def _sql(self, sql: str) -> str:
        return _PG_PARAM.sub(r"%(\1)s", sql) if self.is_postgres else sql


def epoch(s: Snapshot, column: str) -> str:
    """Epoch seconds of a timestamp column (SQLite: to the millisecond, then down)."""
    if s.is_postgres:
        return f"floor(date_part('epoch', {column}))::bigint"
    if sqlite3.sqlite_version_info >= (3, 38, 0):
        return f"unixepoch({column})"
    return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"


def batched_columns(
    s: Snapshot,
    columns: list[str],
    where: str,
    params: dict[str, Any],
    ids: tuple[int, int] | None,
) -> list[Ints]:
    """Integer columns of events, assembled by the database into one value per range
    of ``ID_CHUNK`` ids that numpy decodes at once, instead of a Python object per
    value: PostgreSQL concatenates big-endian ``int8send`` bytes (``string_agg``),
    SQLite comma-separated text (``group_concat``)."""
    first, last = ids if ids is not None else (0, last_event_id(s))
    if s.is_postgres:
        row = " || ".join(f"int8send(({c})::bigint)" for c in columns)
        batch = f"string_agg({row}, ''::bytea)"
        source = "events"
    else:
        batch = "group_concat({})".format(" || ',' || ".join(f"({c})" for c in columns))
        source = "events NOT INDEXED"
    sql = f"SELECT {batch} FROM {source} WHERE id BETWEEN :first_id AND :last_id AND {where}"
    pieces = []
    chunk = s.sizes.id_chunk
    for low in range(first, last + 1, chunk):
        bounds = {"first_id": low, "last_id": min(low + chunk - 1, last)}
        value = s.rows(sql, {**params, **bounds})[0][0]
        if not value:
            continue
        if s.is_postgres:
            pieces.append(np.frombuffer(value, dtype=">i8").astype(np.int64))
        else:
            pieces.append(np.fromstring(value, dtype=np.int64, sep=","))
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    table = flat.reshape(-1, len(columns))
    return [np.ascontiguousarray(table[:, i]) for i in range(len(columns))]


def sqlite_texts(
    s: Snapshot,
    columns: list[str],
    where: str,
    params: dict[str, Any],
    table: str = "events",
    by_ids: bool = True,
) -> list[Ints]:
    """Integer columns read as comma-separated text (``group_concat``) that numpy
    parses: a Python object per batch instead of one per value, a third faster than
    fetching rows. ``by_ids``: one text per range of ``ID_CHUNK`` ids (a full scan in
    pieces); else one text for the whole (indexed) selection."""
    row = " || ',' || ".join(f"({c})" for c in columns)
    texts = []
    if by_ids:
        last = int(s.rows(f"SELECT coalesce(max(id), 0) FROM {table}")[0][0])
        sql = (
            f"SELECT group_concat({row}) FROM {table} NOT INDEXED "
            f"WHERE id BETWEEN :first_id AND :last_id AND {where}"
        )
        chunk = s.sizes.id_chunk
        for first in range(0, last + 1, chunk):
            bounds = {"first_id": first, "last_id": first + chunk - 1}
            texts.append(s.rows(sql, {**params, **bounds})[0][0])
    else:
        texts.append(s.rows(f"SELECT group_concat({row}) FROM {table} WHERE {where}", params)[0][0])
    pieces = [np.fromstring(t, dtype=np.int64, sep=",") for t in texts if t]
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    values = flat.reshape(-1, len(columns))
    return [np.ascontiguousarray(values[:, i]) for i in range(len(columns))]


def last_event_id(s: Snapshot) -> int:
    return int(s.rows("SELECT coalesce(max(id), 0) FROM events")[0][0])
