"""Property test: any sequence of earns, redemptions, cancellations, coupon uses,
refunds, expiry runs and clock moves keeps the ledger and the stock consistent.

balance = sum of entries = sum of remaining lots - debt (and the ledger
property test's other checks); for every reward, issued = redemptions not
cancelled and remaining + issued = the initial stock, never below zero.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import tests.integration.test_ledger_properties as ledger_props
from patron.core import clock as clock_module
from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import PatronError
from patron.events.ingest import ingest
from patron.ledger.jobs import run_jobs
from patron.members.models import Member
from patron.program.service import require_program
from patron.rewards.coupons import use_coupon
from patron.rewards.models import Redemption, Reward
from patron.rewards.service import cancel, redeem
from tests.conftest import BACKENDS
from tests.integration.conftest import load_program

STOCK = {"cheap": 5, "dear": 2, "free": None}
PROGRAM = {
    **ledger_props.PROGRAM,
    "rewards": [
        {"id": "cheap", "name": "Cheap", "kind": "experience", "cost": 20, "stock": 5},
        {
            "id": "dear",
            "name": "Dear",
            "kind": "discount",
            "discount": {"amount": "2.50"},
            "cost": 150,
            "stock": 2,
            "coupon_days": 5,
        },
        {
            "id": "free",
            "name": "Free",
            "kind": "free_item",
            "sku": "X",
            "cost": 10,
            "limit": {"count": 3, "per": "week"},
        },
    ],
}
MEMBERS = ["ann", "ann", "bob"]

ops = st.one_of(
    st.tuples(st.just("earn"), st.sampled_from(MEMBERS), st.integers(100, 30_000)),
    st.tuples(st.just("redeem"), st.sampled_from(MEMBERS), st.sampled_from(sorted(STOCK))),
    st.tuples(st.just("redeem"), st.sampled_from(MEMBERS), st.sampled_from(sorted(STOCK))),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("use"), st.integers(0, 30), st.integers(0, 2)),
    st.tuples(st.just("refund"), st.integers(0, 30)),
    st.tuples(st.just("expire")),
    st.tuples(st.just("move"), st.integers(1, 12)),
    st.tuples(st.just("move"), st.floats(0.1, 40).map(lambda d: round(d, 2))),
)


@pytest.fixture(params=BACKENDS, scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def check_stock(database: Database) -> None:
    with database.unit_of_work() as session:
        for row in session.scalars(select(Reward)):
            live = session.scalar(
                select(func.count())
                .select_from(Redemption)
                .where(Redemption.reward_id == row.id, Redemption.status != "cancelled")
            )
            assert row.issued == live
            initial = STOCK[row.key]
            assert row.stock == initial
            if initial is not None:
                remaining = row.stock - row.issued
                assert remaining >= 0 and remaining + row.issued == initial


def apply(
    database: Database, clock: FrozenClock, op: tuple[Any, ...], seen: dict[str, list[Any]]
) -> None:
    kind = op[0]
    with database.unit_of_work() as session:
        program = require_program(session)[1]
        try:
            with session.begin_nested():
                if kind == "earn":
                    ext = f"p{len(seen['purchases'])}"
                    cents = op[2]
                    ingest(
                        session,
                        [
                            {
                                "external_id": ext,
                                "type": "purchase",
                                "member_external_id": op[1],
                                "amount": f"{cents // 100}.{cents % 100:02d}",
                            }
                        ],
                        at=clock.now(),
                    )
                    seen["purchases"].append((ext, op[1]))
                elif kind == "redeem":
                    member_id = session.scalar(select(Member.id).where(Member.external_id == op[1]))
                    if member_id is not None:
                        r = redeem(session, member_id, op[2], at=clock.now(), program=program)
                        seen["redemptions"].append((r.id, r.code))
                elif kind == "cancel" and seen["redemptions"]:
                    rid, _ = seen["redemptions"][op[1] % len(seen["redemptions"])]
                    cancel(session, rid, at=clock.now(), program=program)
                elif kind == "use" and seen["redemptions"]:
                    _, code = seen["redemptions"][op[1] % len(seen["redemptions"])]
                    use_coupon(
                        session, code, f"o{op[2]}", order_amount=Decimal("9.99"), at=clock.now()
                    )
                elif kind == "refund" and seen["purchases"]:
                    ext, owner = seen["purchases"][op[1] % len(seen["purchases"])]
                    body = {
                        "external_id": f"r{ext}-{clock.now().timestamp()}",
                        "type": "refund",
                        "refund_of": ext,
                        "member_external_id": owner,
                    }
                    ingest(session, [body], at=clock.now())
                elif kind == "expire":
                    run_jobs(session, clock.now(), program)
                elif kind == "move":
                    clock.advance(days=op[1])
            event(f"{kind}: done")
        except PatronError as exc:
            event(
                f"{kind}: {exc.code}"
            )  # refused (not enough points, out of stock, used coupon...): changes nothing


@example(
    steps=[  # redeem, let the lot expire, cancel: the points come back expired
        ("earn", "ann", 20_000),
        ("move", 4),
        ("redeem", "ann", "dear"),
        ("redeem", "ann", "dear"),
        ("redeem", "bob", "dear"),
        ("move", 31),
        ("cancel", 0),
        ("refund", 0),
        ("redeem", "ann", "cheap"),
        ("expire",),
    ]
)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(ops, min_size=8, max_size=40))
def test_ledger_and_stock_stay_consistent(
    backend: str, request: pytest.FixtureRequest, steps: list[tuple[Any, ...]]
) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    previous = clock_module.set_clock(clock)
    try:
        with ledger_props.fresh_database(backend, request) as database:
            load_program(database, PROGRAM, clock)
            seen: dict[str, list[Any]] = {"purchases": [], "redemptions": []}
            for op in steps:
                apply(database, clock, op, seen)
                ledger_props.check_invariants(database, clock)
                check_stock(database)
    finally:
        clock_module.set_clock(previous)
