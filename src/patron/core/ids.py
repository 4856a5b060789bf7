"""Reserving primary keys for bulk inserts.

Bulk inserts that need the new ids (an event's id for its ledger entry, an
entry's id for its lot) reserve them up front instead of asking the database
to return them row by row: PostgreSQL hands out a block from the table's
sequence; on SQLite the transaction already holds the write lock
(``BEGIN IMMEDIATE``), so the next ids after the current maximum are ours.
"""

from __future__ import annotations

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from patron.core.driver import is_postgres
from patron.core.raw import Ask, Loading, gather


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    if count <= 0:
        return []
    (reserved,) = gather(session, reserving_ids(session, {table: count}))
    return reserved[table]


def reserving_ids(session: Session, counts: dict[Table, int]) -> Loading[dict[Table, list[int]]]:
    """Ids for several tables, as a loader: one round trip on PostgreSQL, beside
    the other reads of a step (core.raw.gather).

    Ids reserved and not used are simply never seen: a sequence has gaps anyway
    (every rolled-back insert leaves one), and nothing reads meaning into them.
    """
    wanted = {table: n for table, n in counts.items() if n > 0}
    out: dict[Table, list[int]] = {table: [] for table in counts}
    if not wanted:
        return out
    if not is_postgres(session):  # the write lock is ours: the ids after the maximum
        for table, n in wanted.items():
            start = session.scalar(select(func.max(table.c.id))) or 0
            out[table] = list(range(start + 1, start + n + 1))
        return out
    tables = list(wanted)
    # The sequence's name in a scalar subquery, looked up once per statement: as a
    # plain argument of nextval() it was looked up for every id (1,000 ids: 2.4 ms
    # on the server against 0.75 ms).
    sql = " UNION ALL ".join(
        f"SELECT {i} AS t, nextval((SELECT pg_get_serial_sequence(%(t{i})s, 'id'))::regclass) "
        f"FROM generate_series(1, %(n{i})s)"
        for i in range(len(tables))
    )
    params: dict[str, object] = {}
    for i, table in enumerate(tables):
        params[f"t{i}"], params[f"n{i}"] = table.name, wanted[table]
    (rows,) = yield [Ask(sql, params)]
    for i, new_id in rows:
        out[tables[i]].append(int(new_id))
    return out
