"""Reading what analytics needs from the database, as numpy arrays, fast.

Analytics only reads, and reads a lot, so it does not go through a unit of work: a
:class:`Snapshot` holds one raw connection in a read-only transaction, which gives
one consistent view of the data and, on SQLite, never takes the write lock (the
engine's ``BEGIN IMMEDIATE`` would keep every till waiting for a long report).
Rows come back as integer columns: PostgreSQL streams them with binary ``COPY``,
decoded by numpy in one pass; SQLite builds comma-separated texts (``group_concat``,
one per range of ids) that numpy parses, or hands rows over in chunks. Times are
epoch seconds (SQLite: to the millisecond first, so a purchase at 23:59:59.9996
counts at midnight).

Conventions fixed here:

- a purchase is *counted* unless refunded in full (``refunded_amount > 0`` and
  ``>= amount``); its net amount is ``amount - refunded_amount``;
- a purchase is *discounted* when ``attributes.coupon`` is set to anything but null,
  false or "" (the demo shop's tills send ``{"coupon": "WELCOME20"}``), or
  ``attributes.discount`` is a number above zero or true;
- a member *joined* at the earlier of ``members.enrolled_at`` and their first
  ``signup`` event (a member record can be created after the signup it records);
- ledger flows are dated by ``ledger_entries.created_at`` (when they were booked).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from itertools import chain
from typing import Any

import numpy as np

from patron.analytics.history import Ints
from patron.core.db import SQLITE_DATETIME_FORMAT, Database
from patron.program.loader import program_from_dict

CHUNK = 200_000
VENUE_SAMPLE = 100_000
MAX_VENUES = 30_000
ID_CHUNK = 100_000
_PG_PARAM = re.compile(r"(?<!:):(\w+)")


class Snapshot:
    """One read-only connection and transaction for a batch of analytics queries."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.is_postgres = dialect == "postgresql"

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
            while chunk := cursor.fetchmany(CHUNK):
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


@contextmanager
def snapshot(database: Database, *, shared: str | None = None) -> Iterator[Snapshot]:
    """A read-only transaction on a connection of its own, rolled back at the end.

    ``shared``: on PostgreSQL, a snapshot id from :meth:`Snapshot.export` to see exactly
    what that other transaction sees (parallel readers of one report). SQLite has no
    such thing: each reader sees the database as of its own first read.
    """
    raw = database.engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        if database.is_postgres:  # psycopg opens the transaction; these must come first
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if shared is not None:
                connection.execute(f"SET TRANSACTION SNAPSHOT '{shared}'")
        else:
            connection.execute("BEGIN")  # deferred: a WAL read snapshot, no write lock
        try:
            yield Snapshot(connection, database.engine.dialect.name)
        finally:
            if database.is_postgres:
                connection.rollback()
            else:
                connection.execute("ROLLBACK")
    finally:
        raw.close()


# -- purchases ------------------------------------------------------------------------

_COUNTED = (
    "type = 'purchase' AND occurred_at < :end AND (refunded_amount = 0 OR refunded_amount < amount)"
)
_SQLITE_DISCOUNTED = (  # one JSON parse settles the usual case: neither is set
    "CASE WHEN json_extract(attributes, '$.coupon', '$.discount') = '[null,null]' THEN 0 "
    "WHEN coalesce(json_extract(attributes, '$.coupon'), '') NOT IN ('', 0) "
    "OR coalesce(json_extract(attributes, '$.discount'), 0) NOT IN (0, '') THEN 1 ELSE 0 END"
)
_PG_DISCOUNTED = (
    "CASE WHEN coalesce(attributes->>'coupon', '') NOT IN ('', 'false') "
    "OR (coalesce(attributes->>'discount', '') NOT IN ('', 'false') "
    "AND attributes->>'discount' !~ '^[-+]?[0.]+$') THEN 1 ELSE 0 END"
)


def _epoch(s: Snapshot, column: str) -> str:
    """Epoch seconds of a timestamp column (SQLite: to the millisecond, then down)."""
    if s.is_postgres:
        return f"floor(date_part('epoch', {column}))::bigint"
    if sqlite3.sqlite_version_info >= (3, 38, 0):
        return f"unixepoch({column})"
    return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"


Venue = tuple[str, str]  # (channel, store); "" for none


def venues(s: Snapshot, end: datetime, *, everything: bool = False) -> list[Venue]:
    """The venues (channel, store) of counted purchases: those of the latest
    ``VENUE_SAMPLE`` purchases (an index range: cheap), or of all of them."""
    source = (
        "SELECT coalesce(channel, '') AS channel, coalesce(store, '') AS store "
        f"FROM events WHERE {_COUNTED}"
    )
    if not everything:
        source += f" ORDER BY occurred_at DESC LIMIT {VENUE_SAMPLE}"
    sql = f"SELECT DISTINCT channel, store FROM ({source}) AS recent ORDER BY channel, store"
    return [(str(r[0]), str(r[1])) for r in s.rows(sql, {"end": s.param(end)})]


def _venue_code(names: list[Venue], params: dict[str, Any]) -> str:
    """SQL for a purchase's index in ``names`` (-1 if absent): by channel, then store."""
    by_channel: dict[str, list[tuple[str, int]]] = {}
    for i, (channel, store) in enumerate(names):
        by_channel.setdefault(channel, []).append((store, i))
    outer = []
    for j, (channel, stores) in enumerate(by_channel.items()):
        params[f"c{j}"] = channel
        inner = []
        for store, i in stores:
            params[f"s{i}"] = store
            inner.append(f"WHEN :s{i} THEN {i}")
        outer.append(f"WHEN :c{j} THEN CASE coalesce(store, '') {' '.join(inner)} ELSE -1 END")
    return f"CASE coalesce(channel, '') {' '.join(outer)} ELSE -1 END" if outer else "-1"


def purchase_columns(
    s: Snapshot, end: datetime, names: list[Venue], ids: tuple[int, int] | None = None
) -> list[Ints]:
    """member, epoch seconds, net minor units, discounted (0/1) and venue (index in
    ``names``, -1 for others; at most ``MAX_VENUES`` are told apart) of every counted
    purchase (with ``ids``: of the events with ids in that closed range)."""
    params: dict[str, Any] = {"end": s.param(end)}
    # Fewer values to hand to Python: the time, the venue and the discount travel as
    # one number, seconds << 16 | (venue + 1) << 1 | discounted (seconds < 2^47).
    venue = _venue_code(names[:MAX_VENUES], params)
    discounted = _PG_DISCOUNTED if s.is_postgres else _SQLITE_DISCOUNTED
    packed = f"({_epoch(s, 'occurred_at')} << 16) | ((({venue}) + 1) << 1) | ({discounted})"
    columns = ["member_id", packed, "amount - refunded_amount"]
    member, packed_values, net = _batched_columns(s, columns, _COUNTED, params, ids)
    flags = packed_values & 0xFFFF
    return [member, packed_values >> 16, net, flags & 1, (flags >> 1) - 1]


def _batched_columns(
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
    for low in range(first, last + 1, ID_CHUNK):
        bounds = {"first_id": low, "last_id": min(low + ID_CHUNK - 1, last)}
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


def _sqlite_texts(
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
        for first in range(0, last + 1, ID_CHUNK):
            bounds = {"first_id": first, "last_id": first + ID_CHUNK - 1}
            texts.append(s.rows(sql, {**params, **bounds})[0][0])
    else:
        texts.append(s.rows(f"SELECT group_concat({row}) FROM {table} WHERE {where}", params)[0][0])
    pieces = [np.fromstring(t, dtype=np.int64, sep=",") for t in texts if t]
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    values = flat.reshape(-1, len(columns))
    return [np.ascontiguousarray(values[:, i]) for i in range(len(columns))]


def last_event_id(s: Snapshot) -> int:
    return int(s.rows("SELECT coalesce(max(id), 0) FROM events")[0][0])


# -- members --------------------------------------------------------------------------


def member_join_times(s: Snapshot) -> tuple[Ints, Ints]:
    """Every member id (ascending) and when they joined, epoch seconds."""
    if s.is_postgres:
        ids, enrolled = s.int_columns(
            f"SELECT id, {_epoch(s, 'enrolled_at')} FROM members ORDER BY id", {}, 2
        )
        signup_ids, signed_up = s.int_columns(
            f"SELECT member_id, {_epoch(s, 'min(occurred_at)')} FROM events "
            "WHERE type = 'signup' GROUP BY member_id",
            {},
            2,
        )
    else:
        ids, enrolled = _sqlite_texts(
            s, ["id", _epoch(s, "enrolled_at")], "1 = 1", {}, table="members"
        )
        order = np.argsort(ids)
        ids, enrolled = ids[order], enrolled[order]
        signup_ids, signed_up = _sqlite_texts(  # by the type index
            s, ["member_id", _epoch(s, "occurred_at")], "type = 'signup'", {}, by_ids=False
        )
    joined = enrolled.copy()
    where = np.searchsorted(ids, signup_ids)
    ok = (where < ids.size) & (ids[np.minimum(where, max(ids.size - 1, 0))] == signup_ids)
    np.minimum.at(joined, where[ok], signed_up[ok])
    return ids, joined


def member_labels(s: Snapshot, dimension: str) -> tuple[Ints, list[str | None]]:
    """Member ids (ascending) and their label in a member dimension: ``status``,
    ``tier`` or ``attribute:<key>`` (booleans read ``true``/``false``, numbers as
    written)."""
    if dimension == "status":
        rows = s.rows("SELECT id, status FROM members ORDER BY id")
    elif dimension == "tier":  # the level held now (none: below the first level)
        rows = s.rows(
            "SELECT m.id, t.tier FROM members m "
            "LEFT JOIN member_tiers t ON t.member_id = m.id ORDER BY m.id"
        )
    else:
        key = dimension.removeprefix("attribute:")
        if s.is_postgres:
            sql = "SELECT id, attributes->>:key FROM members ORDER BY id"
            rows = s.rows(sql, {"key": key})
        else:
            sql = (
                "SELECT id, CASE json_type(attributes, :path) WHEN 'true' THEN 'true' "
                "WHEN 'false' THEN 'false' ELSE json_extract(attributes, :path) END "
                "FROM members ORDER BY id"
            )
            rows = s.rows(sql, {"path": f'$."{key}"'})
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, [None if r[1] is None else str(r[1]) for r in rows]


# -- engagement and the ledger --------------------------------------------------------


def custom_event_counts(
    s: Snapshot, names: Sequence[str], end: datetime
) -> dict[str, tuple[Ints, Ints]]:
    """Per custom event name: member ids and how many such events each sent."""
    marks = ", ".join(f":n{i}" for i in range(len(names)))
    params: dict[str, Any] = {f"n{i}": name for i, name in enumerate(names)}
    params["end"] = s.param(end)
    rows = s.rows(
        "SELECT name, member_id, count(*) FROM events WHERE type = 'custom' "
        f"AND name IN ({marks}) AND occurred_at < :end GROUP BY name, member_id",
        params,
    )
    out: dict[str, tuple[Ints, Ints]] = {}
    for name in names:
        mine = [(r[1], r[2]) for r in rows if r[0] == name]
        out[name] = (
            np.array([m for m, _ in mine], dtype=np.int64),
            np.array([c for _, c in mine], dtype=np.int64),
        )
    return out


def redemption_counts(s: Snapshot, end: datetime) -> tuple[Ints, Ints]:
    """Member ids and how many ``spend`` entries (redemptions) each has."""
    table = "ledger_entries" if s.is_postgres else "ledger_entries NOT INDEXED"
    return tuple(  # type: ignore[return-value]
        s.int_columns(
            f"SELECT member_id, count(*) FROM {table} "
            "WHERE kind = 'spend' AND created_at < :end GROUP BY member_id",
            {"end": s.param(end)},
            2,
        )
    )


def program_referral_counts(s: Snapshot, end: datetime) -> tuple[Ints, Ints]:
    """Referrer ids and how many of their referrals qualified (or were rewarded)."""
    return tuple(  # type: ignore[return-value]
        s.int_columns(
            "SELECT referrer_id, count(*) FROM referrals WHERE referrer_id IS NOT NULL "
            "AND status IN ('qualified', 'rewarded') AND referred_at < :end "
            "GROUP BY referrer_id",
            {"end": s.param(end)},
            2,
        )
    )


def stamp_card_counts(s: Snapshot, end: datetime) -> tuple[Ints, Ints]:
    """Member ids and how many stamp cards each has started."""
    return tuple(  # type: ignore[return-value]
        s.int_columns(
            "SELECT member_id, count(*) FROM stamp_cards WHERE started_at < :end "
            "GROUP BY member_id",
            {"end": s.param(end)},
            2,
        )
    )


def ledger_days(s: Snapshot, kinds: Sequence[str]) -> tuple[Ints, Ints, Ints]:
    """Points booked per UTC day (days since 1970-01-01) and kind (index in ``kinds``)."""
    kind = "CASE kind " + " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(kinds))
    if s.is_postgres:
        day = "((created_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01')::bigint"
        sql = (
            f"SELECT {day}, ({kind} ELSE -1 END)::bigint, sum(points)::bigint "
            "FROM ledger_entries GROUP BY 1, 2"
        )
        days, codes, points = s.int_columns(sql, {}, 3)
    else:  # many small sorts, one per range of ids, beat one big one by half
        key = f"{_epoch(s, 'created_at')} / 86400 * 8 + ({kind} ELSE 7 END)"
        sql = (
            f"SELECT {key} AS k, sum(points) FROM ledger_entries NOT INDEXED "
            "WHERE id BETWEEN :first_id AND :last_id GROUP BY k"
        )
        last = int(s.rows("SELECT coalesce(max(id), 0) FROM ledger_entries")[0][0])
        sums: dict[int, int] = {}
        for first in range(0, last + 1, ID_CHUNK):
            for k, v in s.rows(sql, {"first_id": first, "last_id": first + ID_CHUNK - 1}):
                sums[k] = sums.get(k, 0) + v
        keys = np.array(sorted(sums), dtype=np.int64)
        days, codes = keys // 8, keys % 8
        points = np.array([sums[k] for k in keys.tolist()], dtype=np.int64)
        codes = np.where(codes == 7, -1, codes)
    known = codes >= 0
    return days[known], codes[known], points[known]


def rewards_used(s: Snapshot, start: datetime, end: datetime) -> tuple[int, int]:
    """How many rewards were used at the till in ``[start, end)``, and the money they
    took off those orders (minor units)."""
    rows = s.rows(
        "SELECT count(*), coalesce(sum(discount), 0) FROM redemptions "
        "WHERE status = 'used' AND used_at >= :start AND used_at < :end",
        {"start": s.param(start), "end": s.param(end)},
    )
    return int(rows[0][0]), int(rows[0][1])


def program_terms(s: Snapshot) -> tuple[str, Decimal] | None:
    """The currency and value per point of the program in force, if one is loaded."""
    rows = s.rows("SELECT definition FROM program_versions ORDER BY version DESC LIMIT 1")
    if not rows:
        return None
    definition = rows[0][0]
    if isinstance(definition, str):
        definition = json.loads(definition)
    program = program_from_dict(definition, "the program in force")
    return program.currency, program.points.value_per_point
