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

This module opens snapshots and holds the batch sizes; every snapshot takes them from
here when it is opened, so setting them here tunes the reads of every snapshot
opened afterwards. The rest lives by topic and is importable from here:
``readers_snapshot`` (the snapshot and the column decoding), ``readers_purchases``
(counted purchases and their venues), ``readers_members`` (join times, member
labels), ``readers_engagement`` (the loyalty score's engagement counts) and
``readers_economics`` (the points ledger, rewards used, the program's terms).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from patron.analytics.readers_economics import ledger_days, program_terms, rewards_used
from patron.analytics.readers_engagement import (
    custom_event_counts,
    program_referral_counts,
    redemption_counts,
    stamp_card_counts,
)
from patron.analytics.readers_members import member_join_times, member_labels
from patron.analytics.readers_purchases import Venue, purchase_columns, venues
from patron.analytics.readers_snapshot import (
    BatchSizes,
    Snapshot,
    batched_columns,
    epoch,
    last_event_id,
    sqlite_texts,
)
from patron.core.db import Database

__all__ = [
    "CHUNK",
    "ID_CHUNK",
    "MAX_VENUES",
    "VENUE_SAMPLE",
    "BatchSizes",
    "Snapshot",
    "Venue",
    "batched_columns",
    "custom_event_counts",
    "epoch",
    "last_event_id",
    "ledger_days",
    "member_join_times",
    "member_labels",
    "program_referral_counts",
    "program_terms",
    "purchase_columns",
    "redemption_counts",
    "rewards_used",
    "snapshot",
    "sqlite_texts",
    "stamp_card_counts",
    "venues",
]

CHUNK = 200_000
VENUE_SAMPLE = 100_000
MAX_VENUES = 30_000
ID_CHUNK = 100_000


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
            sizes = BatchSizes(CHUNK, VENUE_SAMPLE, MAX_VENUES, ID_CHUNK)
            yield Snapshot(connection, database.engine.dialect.name, sizes)
        finally:
            if database.is_postgres:
                connection.rollback()
            else:
                connection.execute("ROLLBACK")
    finally:
        raw.close()
