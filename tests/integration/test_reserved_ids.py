"""Ids reserved up front for bulk inserts (``core.ids``): distinct, above what the
table holds, usable at once, and never handed out again afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from patron.core.bulk import insert_rows
from patron.core.db import Database, table_of
from patron.core.ids import reserve_ids, reserving_ids
from patron.core.raw import gather
from patron.events.models import Event
from patron.members.bulk import enrol_many
from patron.members.models import Member

MEMBERS, EVENTS = table_of(Member), table_of(Event)
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_reserved_ids_are_new_usable_and_never_given_again(database: Database) -> None:
    with database.unit_of_work() as session:
        enrol_many(session, {"before": AT}, AT)
    with database.unit_of_work() as session:
        highest = session.scalar(select(func.max(Member.id)))
        (both,) = gather(session, reserving_ids(session, {MEMBERS: 3, EVENTS: 2}))
        members, events = both[MEMBERS], both[EVENTS]
        assert len(set(members)) == 3 and len(set(events)) == 2
        assert members == sorted(members) and min(members) > highest
        insert_rows(
            session,
            MEMBERS,
            [
                {
                    "id": mid,
                    "external_id": f"r{mid}",
                    "status": "active",
                    "consents": {},
                    "attributes": {},
                    "enrolled_at": AT,
                    "updated_at": AT,
                    "purchase_count": 0,
                }
                for mid in members
            ],
        )
    with database.unit_of_work() as session:
        after = enrol_many(session, {"after": AT}, AT)["after"]  # the table's own default
        assert after not in members and after > highest
        assert reserve_ids(session, MEMBERS, 0) == []
        more = reserve_ids(session, MEMBERS, 2)
        assert not set(more) & {*members, after}
