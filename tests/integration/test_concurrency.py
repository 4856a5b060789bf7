"""Concurrent debits on one member never overspend (real threads, PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import InsufficientPoints
from patron.events.ingest import ingest
from patron.ledger.models import LedgerEntry, PointAccount, PointLot
from patron.ledger.service import debit
from patron.members.models import Member


@pytest.mark.parametrize("threads", [16])
def test_concurrent_debits_never_overspend(
    cafe: Database, clock: FrozenClock, threads: int
) -> None:
    if not cafe.is_postgres:
        pytest.skip("row locking is what is under test; SQLite serialises all writers")
    with cafe.unit_of_work() as session:
        # 10 purchases of 10.00 with a first-visit bonus: 100 + 6*10 + 50 = 210 points
        ingest(
            session,
            [
                {
                    "external_id": f"o{i}",
                    "type": "purchase",
                    "member_external_id": "alice",
                    "lines": [
                        {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": "3.00"},
                        {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": "4.00"},
                    ],
                    "occurred_at": (clock.now() - timedelta(days=1)).isoformat(),
                }
                for i in range(10)
            ],
        )
        member_id = session.scalar(select(PointAccount.member_id))
        start = session.scalar(select(PointAccount.balance))
    assert member_id is not None and start == 210

    def attempt(_: int) -> bool:
        try:
            with cafe.unit_of_work() as session:
                debit(
                    session,
                    member_id,
                    7,
                    reason="coffee",
                    actor="till",
                    at=clock.now(),
                    program=None,
                )
            return True
        except InsufficientPoints:
            return False

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = list(pool.map(attempt, range(64)))

    assert sum(outcomes) == 210 // 7  # exactly as many as the points allow: 30
    with cafe.unit_of_work() as session:
        balance = session.scalar(select(PointAccount.balance))
        entries = session.scalar(select(func.sum(LedgerEntry.points)))
        remaining = session.scalar(select(func.sum(PointLot.remaining)))
        spends = session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "spend")
        )
    assert balance == entries == remaining == 0
    assert spends == 30


def test_concurrent_batches_never_exceed_a_rule_budget(
    database: Database, clock: FrozenClock
) -> None:
    if not database.is_postgres:
        pytest.skip("concurrency under test needs PostgreSQL")
    from tests.integration.conftest import CAFE, load_program

    load_program(
        database,
        {
            **CAFE,
            "rules": [
                {
                    "id": "launch",
                    "when": {"event": "purchase"},
                    "effect": {"fixed": 7},
                    "budget": 500,
                }
            ],
        },
        clock,
    )

    def send(i: int) -> int:
        with database.unit_of_work() as session:
            result = ingest(
                session,
                [
                    {
                        "external_id": f"o{i}-{k}",
                        "type": "purchase",
                        "member_external_id": f"m{i}-{k}",
                        "amount": "5.00",
                    }
                    for k in range(5)
                ],
            )
        return sum(r.points for r in result.results)

    with ThreadPoolExecutor(max_workers=8) as pool:
        given = sum(pool.map(send, range(40)))  # 200 purchases x 7 = 1,400 wanted
    with database.unit_of_work() as session:
        from patron.ledger.models import RuleBudget

        awarded = session.scalar(select(RuleBudget.awarded))
        entries = session.scalar(select(func.sum(LedgerEntry.points)))
    assert given == awarded == entries == 500


def test_concurrent_purchases_of_one_member_see_each_other(
    cafe: Database, clock: FrozenClock
) -> None:
    """Eight tills score eight purchases of one member at once: one first-visit bonus,
    a purchase count of eight, and every point accounted for."""
    if not cafe.is_postgres:
        pytest.skip("concurrent writers are what is under test; SQLite serialises them")
    with cafe.unit_of_work() as session:
        ingest(session, [{"external_id": "s", "type": "signup", "member_external_id": "alice"}])
    barrier = threading.Barrier(8)

    def till(i: int) -> int:
        barrier.wait()
        with cafe.unit_of_work() as session:
            result = ingest(
                session,
                [
                    {
                        "external_id": f"o{i}",
                        "type": "purchase",
                        "member_external_id": "alice",
                        "amount": "10.00",
                    }
                ],  # fmt: skip
            ).results[0]
        assert result.status == "accepted", result.error
        return result.points

    with ThreadPoolExecutor(max_workers=8) as pool:
        points = list(pool.map(till, range(8)))

    assert sorted(points) == [10] * 7 + [60]  # 10.00 each; the first-visit 50 once
    with cafe.unit_of_work() as session:
        count = session.scalar(select(Member.purchase_count))
        balance = session.scalar(select(PointAccount.balance))
        entries = session.scalar(select(func.sum(LedgerEntry.points)))
    assert count == 8
    assert balance == entries == 100 + sum(points)  # the signup's welcome 100 as well
