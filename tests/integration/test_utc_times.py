"""``UTCDateTime`` columns read back as UTC-aware ``datetime.UTC`` times on both
backends, whichever way they are read (ORM, Core, the batch reads), and SQLite's
stored text in any of the shapes it may hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from patron.core.db import Database, _from_sqlite_text
from patron.members.bulk import enrol_many
from patron.members.models import Member

AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def test_times_read_back_exactly_and_in_utc(database: Database) -> None:
    elsewhere = AT.astimezone(timezone(timedelta(hours=-5)))
    with database.unit_of_work() as session:
        enrol_many(session, {"a": elsewhere, "b": AT.replace(microsecond=0)}, AT)
    with database.unit_of_work() as session:
        by_orm = {m.external_id: m.enrolled_at for m in session.scalars(select(Member))}
        by_core = dict(
            session.connection().execute(select(Member.external_id, Member.enrolled_at)).all()
        )
    for read in (by_orm, by_core):
        assert read == {"a": AT, "b": AT.replace(microsecond=0)}
        assert all(t.tzinfo is UTC for t in read.values())
    if not database.is_postgres:  # the text itself: UTC, fixed width
        with database.engine.connect() as conn:
            stored = conn.execute(text("SELECT enrolled_at FROM members ORDER BY id")).scalars()
            assert list(stored) == ["2026-03-01 09:30:15.123456", "2026-03-01 09:30:15.000000"]


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("2026-03-01 09:30:15.123456", AT),
        ("2026-03-01 09:30:15", AT.replace(microsecond=0)),  # SQLite's CURRENT_TIMESTAMP
        ("2026-03-01T09:30:15.123456", AT),
        ("2026-03-01 09:30:15.123456+05:00", AT),  # not Patron's: the offset is replaced
    ],
)
def test_sqlite_text_in_any_shape_reads_as_utc(stored: str, read: datetime) -> None:
    value = _from_sqlite_text(stored)
    assert value == read and value.tzinfo is UTC
