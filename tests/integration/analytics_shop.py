"""A small shop whose analytics are worked out by hand, built through the real engine.

Four members, January to May 2026 (every event at noon UTC; amounts in USD):

- alice: created 2026-01-05 (London, vip), signed up 2026-01-02; buys 10.00 on 01-10
  (coupon), 20.00 on 02-10 at the same store, 30.00 on 04-10 in the app (discount);
  reviews twice, refers a friend, redeems 20 points on 05-01.
- bob: Leeds; buys 15.00 online on 01-20 (coupon null), 40.00 on 03-05 (refunded in
  full), 50.00 on 03-06 (10.00 refunded); answers a survey.
- carol: enrolled by her signup event on 02-01; buys 5.00 on 05-20 (empty coupon,
  zero discount).
- dave: created 2026-05-01; bought 10.00 on 03-15, before joining (imported on
  05-15), and 10.00 on 05-15 (discount true).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.events.ingest import ingest
from patron.ledger.service import debit
from patron.members.models import Member
from patron.members.schemas import MemberCreate
from patron.members.service import create_member
from patron.program.service import require_program
from tests.integration.conftest import CAFE, load_program


def noon(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def buy(ext: str, who: str, day: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": ext,
        "type": "purchase",
        "member_external_id": who,
        "occurred_at": noon(day).isoformat(),
        "amount": amount,
        **extra,
    }


def other(ext: str, who: str, day: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": ext,
        "type": kind,
        "member_external_id": who,
        "occurred_at": noon(day).isoformat(),
        **extra,
    }


TIMELINE: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "2026-01-10",
        [
            other("s-a", "alice", "2026-01-02", "signup"),  # sent late by the till
            buy(
                "a1",
                "alice",
                "2026-01-10",
                "10.00",
                channel="store",
                store="soho",
                attributes={"coupon": "WELCOME20"},
            ),
        ],
    ),
    (
        "2026-01-20",
        [buy("b1", "bob", "2026-01-20", "15.00", channel="online", attributes={"coupon": None})],
    ),
    ("2026-02-01", [other("s-c", "carol", "2026-02-01", "signup")]),
    ("2026-02-10", [buy("a2", "alice", "2026-02-10", "20.00", channel="store", store="soho")]),
    ("2026-02-11", [other("r1", "alice", "2026-02-11", "custom", name="review")]),
    ("2026-03-01", [other("f1", "alice", "2026-03-01", "custom", name="referral")]),
    (
        "2026-03-06",
        [
            buy("b2", "bob", "2026-03-05", "40.00", channel="online"),
            buy("b3", "bob", "2026-03-06", "50.00", channel="online"),
            other("rf2", "bob", "2026-03-06", "refund", refund_of="b2"),
            other("rf3", "bob", "2026-03-06", "refund", refund_of="b3", amount="10.00"),
        ],
    ),
    ("2026-03-10", [other("n1", "bob", "2026-03-10", "custom", name="survey_answer")]),
    (
        "2026-04-10",
        [buy("a3", "alice", "2026-04-10", "30.00", channel="app", attributes={"discount": 2.5})],
    ),
    ("2026-04-11", [other("r2", "alice", "2026-04-11", "custom", name="review")]),
    (
        "2026-05-15",
        [  # d1 comes from the till's history, imported once dave had joined
            buy("d1", "dave", "2026-03-15", "10.00", attributes={"discount": False}),
            buy("d2", "dave", "2026-05-15", "10.00", attributes={"discount": True}),
        ],
    ),
    (
        "2026-05-20",
        [buy("c1", "carol", "2026-05-20", "5.00", attributes={"coupon": "", "discount": 0})],
    ),
]


def build_shop(database: Database, clock: FrozenClock) -> dict[str, int]:
    """The shop above; returns member ids by name. The clock ends at 2026-06-01."""
    clock.set(noon("2025-12-01"))
    load_program(database, CAFE, clock)
    created = {
        "alice": ("2026-01-05", {"city": "London", "vip": True}),
        "bob": ("2026-01-01", {"city": "Leeds", "vip": False}),
        "dave": ("2026-05-01", {}),
    }
    ids: dict[str, int] = {}
    steps: dict[str, list[dict[str, Any]]] = {day: [] for day, _ in created.values()}
    steps["2026-05-01"] = []
    for day, events in TIMELINE:
        steps.setdefault(day, []).extend(events)
    for day, events in sorted(steps.items()):
        clock.set(noon(day) + timedelta(minutes=5))
        with database.unit_of_work() as session:
            for name, (when, attributes) in created.items():
                if when == day and name not in ids:
                    data = MemberCreate(external_id=name, attributes=attributes)
                    ids[name] = create_member(session, data).id
            if events:
                result = ingest(session, events)
                assert result.rejected == 0, [r for r in result.results if r.error]
            if day == "2026-05-01":
                _, program = require_program(session)
                debit(
                    session,
                    ids["alice"],
                    20,
                    reason="free drink",
                    actor="test",
                    at=clock.now(),
                    program=program,
                )
    clock.set(datetime(2026, 6, 1, tzinfo=UTC))
    with database.unit_of_work() as session:
        rows = session.execute(select(Member.external_id, Member.id)).all()
    return {str(ext): int(i) for ext, i in rows}
