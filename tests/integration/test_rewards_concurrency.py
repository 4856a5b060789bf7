"""Redemptions and coupons under real concurrency (threads, one session each, PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import PatronError
from patron.ledger.models import LedgerEntry, PointAccount
from patron.program.service import require_program
from patron.rewards.catalogue import get_reward
from patron.rewards.coupons import use_coupon
from patron.rewards.errors import CouponUsed, OutOfStock
from patron.rewards.models import Redemption
from patron.rewards.service import cancel, redeem
from tests.integration.rewards_program import REWARDS, enrol, load_rewards_program

LIMITED = {"id": "golden-ticket", "name": "Golden ticket", "kind": "experience", "cost": 100}


@pytest.fixture
def shop(database: Database, clock: FrozenClock) -> Database:
    if not database.is_postgres:
        pytest.skip("row locking is what is under test; SQLite serialises all writers")
    load_rewards_program(database, clock, rewards=[*REWARDS, {**LIMITED, "stock": 10}])
    return database


def test_fifty_redemptions_of_a_stock_of_ten(shop: Database, clock: FrozenClock) -> None:
    members = [enrol(shop, f"m{i}", 150) for i in range(50)]
    start = threading.Barrier(50)

    def attempt(member_id: int) -> str:
        start.wait()
        try:
            with shop.unit_of_work() as session:
                redeem(
                    session,
                    member_id,
                    "golden-ticket",
                    at=clock.now(),
                    program=require_program(session)[1],
                )
            return "coupon"
        except OutOfStock as exc:
            assert exc.field == "reward" and "out of stock" in exc.detail
            return "out of stock"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, members))

    assert outcomes.count("coupon") == 10 and outcomes.count("out of stock") == 40
    with shop.unit_of_work() as session:
        row = get_reward(session, "golden-ticket")
        assert (row.stock, row.issued) == (10, 10)
        winners = set(session.scalars(select(Redemption.member_id)))
        balances = dict(session.execute(select(PointAccount.member_id, PointAccount.balance)).all())
        spends = session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "spend")
        )
        codes = session.scalar(select(func.count(func.distinct(Redemption.code))))
    assert len(winners) == 10 and spends == 10 and codes == 10
    for member_id in members:  # only the ten winners paid
        assert balances[member_id] == (50 if member_id in winners else 150)


def test_one_member_racing_for_the_last_points(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 250)  # enough for two golden tickets, not three

    def attempt(_: int) -> str:
        try:
            with shop.unit_of_work() as session:
                redeem(
                    session,
                    member,
                    "golden-ticket",
                    at=clock.now(),
                    program=require_program(session)[1],
                )
            return "ok"
        except PatronError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("ok") == 2
    assert set(outcomes) == {"ok", "insufficient-points"}
    with shop.unit_of_work() as session:
        assert session.get(PointAccount, member).balance == 50  # type: ignore[union-attr]
        assert get_reward(session, "golden-ticket").issued == 2


def test_a_per_member_limit_holds_under_concurrency(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 10_000)  # free-latte: at most 2 a month
    start = threading.Barrier(8)

    def attempt(_: int) -> str:
        start.wait()
        try:
            with shop.unit_of_work() as session:
                redeem(
                    session,
                    member,
                    "free-latte",
                    at=clock.now(),
                    program=require_program(session)[1],
                )
            return "ok"
        except PatronError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("ok") == 2 and outcomes.count("limit-reached") == 6
    with shop.unit_of_work() as session:
        assert session.get(PointAccount, member).balance == 10_000 - 200  # type: ignore[union-attr]


def test_one_coupon_used_at_many_tills_at_once(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 500)
    with shop.unit_of_work() as session:
        code = redeem(
            session, member, "five-off", at=clock.now(), program=require_program(session)[1]
        ).code
    start = threading.Barrier(20)

    def till(i: int) -> str:
        start.wait()
        try:
            with shop.unit_of_work() as session:
                use_coupon(session, code, f"order-{i}", order_amount=Decimal("20"), at=clock.now())
            return f"order-{i}"
        except CouponUsed as exc:
            assert exc.field == "code"
            return "used"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(till, range(20)))
    winners = [o for o in outcomes if o != "used"]
    assert len(winners) == 1 and outcomes.count("used") == 19
    with shop.unit_of_work() as session:
        row = session.scalar(select(Redemption))
        assert row is not None and (row.status, row.order_ref) == ("used", winners[0])


def _race_cancel_and_use(shop: Database, clock: FrozenClock, member: int) -> tuple[bool, bool]:
    with shop.unit_of_work() as session:
        redemption = redeem(
            session, member, "free-latte", at=clock.now(), program=require_program(session)[1]
        )
    start = threading.Barrier(2)

    def use() -> bool:
        start.wait()
        try:
            with shop.unit_of_work() as session:
                use_coupon(session, redemption.code, "o", order_amount=None, at=clock.now())
            return True
        except PatronError:
            return False

    def undo() -> bool:
        start.wait()
        try:
            with shop.unit_of_work() as session:
                cancel(session, redemption.id, at=clock.now(), program=None)
            return True
        except PatronError:
            return False

    with ThreadPoolExecutor(max_workers=2) as pool:
        used, cancelled = pool.submit(use), pool.submit(undo)
        return used.result(), cancelled.result()


def test_cancel_racing_use_at_the_till(shop: Database, clock: FrozenClock) -> None:
    """Either the till uses the coupon or the cancel returns the points, never both."""
    for round_ in range(10):
        member = enrol(shop, f"r{round_}", 100)
        used, cancelled = _race_cancel_and_use(shop, clock, member)
        assert used != cancelled
        with shop.unit_of_work() as session:
            balance = session.get(PointAccount, member).balance  # type: ignore[union-attr]
        assert balance == (100 if cancelled else 0)
