"""The bulk writes of the ingest hot path, on both backends and every route
they take: a few rows, a pipelined block, COPY; and their errors, which must
reach callers as SQLAlchemy's exceptions (the API turns IntegrityError into 409)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from patron.core import wire
from patron.core.bulk import COPY_THRESHOLD, PIPELINE_LIMIT, insert_rows, pipelined, update_rows
from patron.core.db import Database, table_of
from patron.core.driver import raw_connection
from patron.members.models import Member

MEMBERS = table_of(Member)
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _members(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "external_id": f"m{i}",
            "status": "active",
            "consents": {"email": True},
            "attributes": {"city": "Leeds", "n": i},
            "enrolled_at": AT,
            "updated_at": AT,
            "purchase_count": 0,
        }
        for i in range(first, first + count)
    ]


def _stored(database: Database) -> dict[int, tuple[Any, ...]]:
    with database.unit_of_work() as session:
        return {
            m.id: (m.external_id, m.attributes, m.enrolled_at, m.purchase_count)
            for m in session.scalars(select(Member))
        }


@pytest.mark.parametrize("count", [1, COPY_THRESHOLD + 5], ids=["executemany", "copy"])
def test_inserted_rows_read_back_as_written(database: Database, count: int) -> None:
    with database.unit_of_work() as session:
        insert_rows(session, MEMBERS, _members(1, count))
    stored = _stored(database)
    assert sorted(stored) == list(range(1, count + 1))
    assert stored[1] == ("m1", {"city": "Leeds", "n": 1}, AT, 0)


def test_a_small_insert_keeps_every_value_exact(database: Database) -> None:
    """One JSON parameter on PostgreSQL: integers past 64 bits inside a JSON column
    (the standard encoder's fallback), text with quotes and accents, a naive time as UTC."""
    row = _members(1, 1)[0]
    row["attributes"] = {"big": 2**70, "note": 'say "hé"\n', "nested": [1, {"a": None}]}
    row["enrolled_at"] = AT.replace(tzinfo=None)
    with database.unit_of_work() as session:
        insert_rows(session, MEMBERS, [row])
    assert _stored(database)[1] == ("m1", row["attributes"], AT, 0)


def test_writes_in_a_pipelined_block_all_land(database: Database) -> None:
    with database.unit_of_work() as session:
        insert_rows(session, MEMBERS, _members(1, 3))
    with database.unit_of_work() as session, pipelined(session, events=3):
        insert_rows(session, MEMBERS, _members(4, COPY_THRESHOLD + 1))  # no COPY in a pipeline
        update_rows(
            session,
            MEMBERS,
            "id",
            [{"id": 2, "purchase_count": 7, "last_activity_at": AT}],
        )
    stored = _stored(database)
    assert len(stored) == COPY_THRESHOLD + 4
    assert stored[2][3] == 7
    assert stored[COPY_THRESHOLD + 4][0] == f"m{COPY_THRESHOLD + 4}"


def test_rows_are_updated_by_a_composite_key(database: Database) -> None:
    """Only the row matching every key column changes (cap usage: rule, member, period)."""
    from patron.ledger.models import RuleUsage

    usage = table_of(RuleUsage)
    with database.unit_of_work() as session:
        insert_rows(session, MEMBERS, _members(1, 2))
        insert_rows(
            session,
            usage,
            [
                {"rule_id": r, "member_id": m, "period_key": k, "points": 1}
                for r in ("a", "b")
                for m in (1, 2)
                for k in ("2026-03", "2026-04")
            ],
        )
    with database.unit_of_work() as session, pipelined(session, events=1):
        update_rows(
            session,
            usage,
            ("rule_id", "member_id", "period_key"),
            [
                {"rule_id": "a", "member_id": 2, "period_key": "2026-03", "points": 40},
                {"rule_id": "b", "member_id": 1, "period_key": "2026-04", "points": 50},
            ],
        )
    with database.unit_of_work() as session:
        stored = {
            (u.rule_id, u.member_id, u.period_key): u.points
            for u in session.scalars(select(RuleUsage))
        }
    assert stored.pop(("a", 2, "2026-03")) == 40
    assert stored.pop(("b", 1, "2026-04")) == 50
    assert set(stored.values()) == {1} and len(stored) == 6


@pytest.mark.parametrize("events", [1, PIPELINE_LIMIT + 1], ids=["pipelined", "not-pipelined"])
def test_a_duplicate_key_is_an_integrity_error_and_nothing_lands(
    database: Database, events: int
) -> None:
    with database.unit_of_work() as session:
        insert_rows(session, MEMBERS, _members(1, 1))
    with (
        pytest.raises(IntegrityError),
        database.unit_of_work() as session,
        pipelined(session, events=events),
    ):
        insert_rows(session, MEMBERS, _members(2, 1))
        insert_rows(session, MEMBERS, _members(1, 1))  # id 1 is taken
    assert sorted(_stored(database)) == [1]  # the transaction was rolled back whole


def test_a_duplicate_key_in_a_copy_is_an_integrity_error(database: Database) -> None:
    with database.unit_of_work() as session:
        insert_rows(session, MEMBERS, _members(COPY_THRESHOLD, 1))
    with pytest.raises(IntegrityError), database.unit_of_work() as session:
        insert_rows(session, MEMBERS, _members(1, COPY_THRESHOLD + 1))
    assert sorted(_stored(database)) == [COPY_THRESHOLD]


def test_none_is_written_as_null(database: Database) -> None:
    """SQLite binds None through a registered adapter (core.db._bind_none_fast)."""
    rows = _members(1, 3)
    for row in rows:
        row["email"], row["phone"] = None, None
    rows[1]["email"] = "b@example.com"
    with database.unit_of_work() as session:
        insert_rows(session, MEMBERS, rows)
    with database.engine.connect() as conn:
        nulls = conn.exec_driver_sql(
            "SELECT id FROM members WHERE email IS NULL AND phone IS NULL ORDER BY id"
        ).scalars()
        assert list(nulls) == [1, 3]
    if not database.is_postgres:
        import sqlite3

        assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters


def _postgres_only(database: Database) -> None:
    if not database.is_postgres:
        pytest.skip("SQLite writes at once: nothing is deferred")


def test_a_pipelined_blocks_writes_are_sent_as_they_come_and_answered_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgres_only(database)
    answered: list[int] = []
    real = wire._exchange

    def counting(connection: Any, commands: Any, wanted: int, entered: bool = False) -> Any:
        answered.append(wanted)
        return real(connection, commands, wanted, entered)

    monkeypatch.setattr(wire, "_exchange", counting)
    with database.unit_of_work() as session, pipelined(session, events=1):
        insert_rows(session, MEMBERS, _members(1, 2))
        update_rows(session, MEMBERS, "id", [{"id": 2, "purchase_count": 3}])
        connection = raw_connection(session)
        assert connection.pgconn.pipeline_status  # sent, in libpq's pipeline
        assert answered == []  # no answer read yet
    assert len(answered) == 1
    assert _stored(database)[2][3] == 3


def test_a_statement_run_otherwise_inside_the_block_follows_the_deferred_writes(
    database: Database,
) -> None:
    """SQLAlchemy's own statements (an ORM update, a query) go through a cursor,
    which sends what was deferred first: the order of the writes is kept."""
    _postgres_only(database)
    with database.unit_of_work() as session, pipelined(session, events=1):
        insert_rows(session, MEMBERS, _members(1, 1))
        session.execute(update(Member).where(Member.id == 1).values(purchase_count=5))
        counted = session.scalar(select(func.count()).select_from(Member))
        insert_rows(session, MEMBERS, _members(2, 1))
    assert counted == 1
    stored = _stored(database)
    assert sorted(stored) == [1, 2] and stored[1][3] == 5


def test_an_error_inside_the_block_sends_nothing_it_deferred(database: Database) -> None:
    _postgres_only(database)
    with pytest.raises(ZeroDivisionError), database.unit_of_work() as session:
        with pipelined(session, events=1):
            insert_rows(session, MEMBERS, _members(1, 1))
            1 / 0  # noqa: B018
        assert not wire.deferring_now(raw_connection(session))
    assert _stored(database) == {}
