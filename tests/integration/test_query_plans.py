"""The reads use the indexes they were written for.

SQLite plans without statistics; two statements once read far more than they
needed: the tier measure went through the (type, occurred_at) index, reading
every purchase of the window of every member, and key lists built as a custom
comparison were rendered ``(col IN (...)) = 1``, which no index serves.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.sql import Select

from patron.core.db import Database
from patron.core.migrate import upgrade
from patron.events.reads import _MEMBERS_BY_EXTERNAL_ID, _STORED
from patron.program.loader import load_program_file
from patron.tiers.measuring import batch_measure_query, measure_members

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "program.yaml"


def _sqlite_plan(database: Database, statement: Select, params: dict[str, object]) -> str:  # type: ignore[type-arg]
    with database.engine.connect() as conn:
        compiled = statement.compile(dialect=conn.dialect)
        values = compiled.construct_params(params)
        ordered = [
            json.dumps(values[name]) if isinstance(values[name], list) else values[name]
            for name in compiled.positiontup or []
        ]
        raw = conn.connection.dbapi_connection
        assert raw is not None
        rows = raw.execute(f"EXPLAIN QUERY PLAN {compiled}", ordered).fetchall()
    return " | ".join(str(row[-1]) for row in rows)


@pytest.fixture
def sqlite_db(database: Database) -> Database:
    if database.is_postgres:
        pytest.skip("the plans checked here are SQLite's (PostgreSQL has statistics)")
    upgrade(database)
    return database


def test_the_tier_measure_reads_through_the_member_index(sqlite_db: Database) -> None:
    tiers = load_program_file(EXAMPLE).tiers
    assert tiers is not None
    moment = datetime(2026, 1, 1, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    plan = _sqlite_plan(
        sqlite_db,
        batch_measure_query(tiers),
        {"keys": [1, 2, 3], "first": moment, "last": moment},
    )
    assert "USING INDEX ix_events_member_occurred (member_id=? AND occurred_at>?)" in plan, plan
    assert "ix_events_type_occurred" not in plan, plan


@pytest.mark.parametrize(
    ("statement", "table"), [(_STORED, "events"), (_MEMBERS_BY_EXTERNAL_ID, "members")]
)
def test_key_lists_are_looked_up_in_the_unique_index(
    sqlite_db: Database,
    statement: Select,  # type: ignore[type-arg]
    table: str,
) -> None:
    plan = _sqlite_plan(sqlite_db, statement, {"keys": ["a", "b"]})
    # One probe of the external_id index per key, not a scan of the table.
    assert re.search(rf"SEARCH {table} USING (COVERING )?INDEX \S+ \(external_id=\?\)", plan), plan
    assert f"SCAN {table}" not in plan, plan


def test_a_members_tier_status_reads_through_the_member_index(sqlite_db: Database) -> None:
    """``measure_members`` (tier status, the review job) once read every purchase
    of the window, of every member, to measure one: 19 ms at 30,000 events."""
    program = load_program_file(EXAMPLE)
    statements: list[tuple[str, object]] = []

    def capture(*args: object) -> None:
        statements.append((str(args[2]), args[3]))

    event.listen(sqlite_db.engine, "before_cursor_execute", capture)
    try:
        with sqlite_db.unit_of_work() as session:
            measure_members(session, program, [1, 2], datetime(2026, 6, 1, tzinfo=UTC))
            sql, params = statements[-1]
            raw = session.connection().connection.dbapi_connection
            assert raw is not None
            plan = " | ".join(str(r[-1]) for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    finally:
        event.remove(sqlite_db.engine, "before_cursor_execute", capture)
    assert "USING INDEX ix_events_member_occurred (member_id=? AND occurred_at>?)" in plan, plan
