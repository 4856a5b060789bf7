"""Cancelling redemptions, coupons at the till, gift fulfilment, birthday rewards."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import Conflict, InvalidInput, NotFound
from patron.ledger.jobs import run_jobs
from patron.ledger.models import LedgerEntry, PointAccount, PointLot
from patron.ledger.service import adjust, get_balance
from patron.program.service import require_program
from patron.rewards import codes
from patron.rewards.birthdays import issue_birthday_rewards
from patron.rewards.catalogue import get_reward
from patron.rewards.coupons import find_coupon, use_coupon
from patron.rewards.errors import CouponCancelled, CouponExpired, CouponUsed
from patron.rewards.models import Redemption
from patron.rewards.service import cancel, redeem, set_fulfilment
from tests.integration.rewards_program import REWARDS, balance, enrol, load_rewards_program


@pytest.fixture
def shop(database: Database, clock: FrozenClock) -> Database:
    load_rewards_program(database, clock)
    return database


def _redeem(database: Database, clock: FrozenClock, member_id: int, reward: str) -> Redemption:
    with database.unit_of_work() as session:
        return redeem(
            session, member_id, reward, at=clock.now(), program=require_program(session)[1]
        )


def _cancel(database: Database, clock: FrozenClock, redemption_id: int) -> Redemption:
    with database.unit_of_work() as session:
        return cancel(session, redemption_id, at=clock.now(), program=require_program(session)[1])


def _use(
    database: Database, clock: FrozenClock, code: str, order: str, amount: str | None = None
) -> Redemption:
    with database.unit_of_work() as session:
        use = use_coupon(
            session,
            code,
            order,
            order_amount=None if amount is None else Decimal(amount),
            at=clock.now(),
        )
        return use.redemption


def _invariants(database: Database) -> None:
    with database.unit_of_work() as session:
        for account in session.scalars(select(PointAccount)):
            m = account.member_id
            entries = session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
                    LedgerEntry.member_id == m
                )
            )
            lots = session.scalar(
                select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                    PointLot.member_id == m
                )
            )
            assert account.balance == entries == lots - account.debt


def test_cancel_returns_points_and_stock_once(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 500)
    redemption = _redeem(shop, clock, member, "five-off")
    assert balance(shop, member) == 200
    cancelled = _cancel(shop, clock, redemption.id)
    assert cancelled.status == "cancelled" and cancelled.return_entry_id is not None
    assert balance(shop, member) == 500
    with shop.unit_of_work() as session:
        assert get_reward(session, "five-off").issued == 0
        entry = session.get(LedgerEntry, cancelled.return_entry_id)
        assert entry is not None and entry.kind == "reverse" and entry.points == 300
        assert "cancelled redemption of 5.00 off" in entry.explanation
        b = get_balance(session, member, clock.now(), require_program(session)[1])
    assert b.available == 500
    again = _cancel(shop, clock, redemption.id)  # a retry changes nothing
    assert again.status == "cancelled"
    assert balance(shop, member) == 500
    with shop.unit_of_work() as session:
        assert get_reward(session, "five-off").issued == 0
    with pytest.raises(NotFound) as missing:
        _cancel(shop, clock, 424242)
    assert missing.value.field == "redemption_id"
    _invariants(shop)


def test_points_whose_lots_expired_come_back_expired(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 60)  # lot A: expires 365 days from now
    clock.advance(days=200)
    with shop.unit_of_work() as session:  # lot B: expires 565 days from the start
        adjust(
            session,
            member,
            100,
            reason="b",
            actor="t",
            at=clock.now(),
            program=require_program(session)[1],
        )
    redemption = _redeem(shop, clock, member, "free-latte")  # takes 60 of A, 40 of B
    assert balance(shop, member) == 60
    clock.advance(days=200)  # A expired, B not yet
    with shop.unit_of_work() as session:
        run_jobs(session, clock.now(), require_program(session)[1])  # nothing left in A
    _cancel(shop, clock, redemption.id)
    with shop.unit_of_work() as session:
        b = get_balance(session, member, clock.now(), require_program(session)[1])
        kinds = session.execute(
            select(LedgerEntry.kind, LedgerEntry.points)
            .where(LedgerEntry.member_id == member)
            .order_by(LedgerEntry.id)
        ).all()
        stale = session.scalar(
            select(func.count())
            .select_from(PointLot)
            .where(PointLot.remaining > 0, PointLot.expires_at <= clock.now())
        )
    assert b.available == b.balance == 100  # 60 left of B + the 40 returned to it
    assert [tuple(k) for k in kinds][-2:] == [("reverse", 100), ("expire", -60)]
    assert stale == 0
    _invariants(shop)
    # The returned points keep lot B's expiry: spendable now, gone after it.
    clock.advance(days=170)
    with shop.unit_of_work() as session:
        assert get_balance(session, member, clock.now(), None).available == 0


def test_returned_points_repay_debt_first(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 300)
    redemption = _redeem(shop, clock, member, "five-off")
    with shop.unit_of_work() as session:
        account = session.get(PointAccount, member)
        assert account is not None
        account.debt, account.balance = 50, -50  # as a refund of spent points leaves it
    _cancel(shop, clock, redemption.id)
    with shop.unit_of_work() as session:
        account = session.get(PointAccount, member)
        assert account is not None and (account.balance, account.debt) == (250, 0)


def test_coupon_at_the_till(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 1000)
    five = _redeem(shop, clock, member, "five-off")
    shown = codes.display(five.code).lower()
    used = _use(shop, clock, shown, "order-1", "3.20")
    assert used.status == "used" and used.order_ref == "order-1"
    assert (used.order_amount, used.discount) == (320, 320)  # never more than the order
    again = _use(shop, clock, five.code, "order-1", "99.00")  # same order: same result
    assert (again.order_amount, again.discount, again.used_at) == (320, 320, used.used_at)
    with pytest.raises(CouponUsed) as other:
        _use(shop, clock, five.code, "order-2")
    assert other.value.field == "code" and "already used" in other.value.detail
    with pytest.raises(Conflict, match="used coupon cannot be cancelled"):
        _cancel(shop, clock, five.id)

    pct = _redeem(shop, clock, member, "ten-pct")  # 12.5 %, half up to the cent
    assert _use(shop, clock, pct.code, "order-3", "10.04").discount == 126

    typo = five.code[:3] + ("A" if five.code[3] != "A" else "B") + five.code[4:]
    with pytest.raises(InvalidInput, match="check character") as bad:
        _use(shop, clock, typo, "order-4")
    assert bad.value.field == "code"
    unknown = "0" * 15 + codes.check_character("0" * 15)
    with shop.unit_of_work() as session, pytest.raises(NotFound) as nf:
        find_coupon(session, unknown)
    assert nf.value.field == "code"


def test_expired_and_cancelled_coupons_are_refused(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 1000)
    old = _redeem(shop, clock, member, "five-off")  # valid 14 days
    gone = _redeem(shop, clock, member, "free-latte")
    _cancel(shop, clock, gone.id)
    with pytest.raises(CouponCancelled) as cancelled:
        _use(shop, clock, gone.code, "o1")
    assert cancelled.value.field == "code"
    clock.advance(days=14)
    with pytest.raises(CouponExpired) as expired:
        _use(shop, clock, old.code, "o2")
    assert expired.value.field == "code" and "expired on" in expired.value.detail
    with shop.unit_of_work() as session:
        assert session.get(Redemption, old.id).status == "issued"  # type: ignore[union-attr]


def test_gift_fulfilment(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 1000)
    tote = _redeem(shop, clock, member, "tote")
    latte = _redeem(shop, clock, member, "free-latte")
    assert tote.fulfilment == "pending" and latte.fulfilment is None

    def move(rid: int, status: str) -> Redemption:
        with shop.unit_of_work() as session:
            return set_fulfilment(
                session, rid, status, note="by post", at=clock.now(), program=None
            )

    with pytest.raises(Conflict, match="shipped, not used at a till"):
        _use(shop, clock, tote.code, "o1")
    with pytest.raises(Conflict, match="only gift"):
        move(latte.id, "shipped")
    assert move(tote.id, "shipped").fulfilment == "shipped"
    with pytest.raises(Conflict, match="already shipped"):
        _cancel(shop, clock, tote.id)
    with pytest.raises(Conflict, match="cannot go back") as back:
        move(tote.id, "pending")
    assert back.value.field == "status"
    delivered = move(tote.id, "delivered")
    assert (delivered.fulfilment, delivered.status) == ("delivered", "used")
    # Cancelling a pending gift gives the points back.
    load_rewards_program(
        shop, clock, rewards=[dict(r, stock=2) if r["id"] == "tote" else r for r in REWARDS]
    )
    second = _redeem(shop, clock, member, "tote")
    before = balance(shop, member)
    cancelled = move(second.id, "cancelled")
    assert (cancelled.fulfilment, cancelled.status) == ("cancelled", "cancelled")
    assert balance(shop, member) == before + 200


def test_birthday_rewards_once_a_year(shop: Database, clock: FrozenClock) -> None:
    march = enrol(shop, "ann", birthday=date(1990, 3, 14))
    enrol(shop, "bob", birthday=date(1985, 4, 2))
    enrol(shop, "cid")  # no birthday
    enrol(shop, "dan", birthday=date(1970, 3, 1), status="blocked")

    def run() -> int:
        with shop.unit_of_work() as session:
            return issue_birthday_rewards(session, clock.now(), require_program(session)[1]).issued

    assert run() == 1
    assert run() == 0  # already given this year
    clock.advance(days=20)  # still March
    assert run() == 0
    with shop.unit_of_work() as session:
        given = session.scalars(select(Redemption)).all()
        assert [(r.member_id, r.birthday_year, r.points) for r in given] == [(march, 2026, 0)]
        assert given[0].terms["sku"] == "CAKE" and given[0].spend_entry_id is None
        assert given[0].expires_at == datetime(2026, 3, 2, 12, tzinfo=UTC) + timedelta(days=31)
    clock.set(datetime(2026, 4, 10, tzinfo=UTC))
    assert run() == 1  # bob's month
    clock.set(datetime(2027, 3, 5, tzinfo=UTC))
    assert run() == 1  # ann again, a year later
    # Cancelling a birthday coupon returns no points and does not re-issue it.
    with shop.unit_of_work() as session:
        latest = session.scalars(select(Redemption).order_by(Redemption.id.desc())).first()
        assert latest is not None
    _cancel(shop, clock, latest.id)
    assert run() == 0
    assert balance(shop, march) == 0


def test_redeem_and_cancel_in_the_transaction_that_enrolled_and_earned(
    shop: Database, clock: FrozenClock
) -> None:
    """Ingestion and redemption write accounts with Core statements; a cancel in the
    same unit of work must not work from the enrolment's stale account object."""
    from patron.events.ingest import ingest
    from patron.members.schemas import MemberCreate
    from patron.members.service import create_member

    with shop.unit_of_work() as session:
        program = require_program(session)[1]
        member = create_member(session, MemberCreate(external_id="zoe")).id
        stale = session.get(PointAccount, member)  # kept alive: the session's own copy
        assert stale is not None and stale.balance == 0
        ingest(
            session,
            [
                {
                    "external_id": "z1",
                    "type": "purchase",
                    "member_external_id": "zoe",
                    "amount": "200.00",
                }
            ],
            at=clock.now(),
        )
        redemption = redeem(session, member, "free-latte", at=clock.now(), program=program)
        cancel(session, redemption.id, at=clock.now(), program=program)
        assert stale.balance == 250
    assert balance(shop, member) == 250  # 200 + 50 first visit, spent and returned
    _invariants(shop)
