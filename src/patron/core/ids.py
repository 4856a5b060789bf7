"""Reserving primary keys for bulk inserts.

Bulk inserts that need the new ids (an event's id for its ledger entry, an
entry's id for its lot) reserve them up front instead of asking the database
to return them row by row: PostgreSQL hands out a block from the table's
sequence; on SQLite the transaction already holds the write lock
(``BEGIN IMMEDIATE``), so the next ids after the current maximum are ours.
"""

from __future__ import annotations

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": count},
        )
        return [int(i) for i in rows.scalars()]
    start = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(start + 1, start + count + 1))
