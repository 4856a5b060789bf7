"""Redeeming rewards on SQLite and PostgreSQL: points, stock, limits, windows, eligibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import Conflict, InsufficientPoints, NotFound
from patron.ledger.models import LedgerEntry, LotAllocation, PointLot
from patron.ledger.service import get_balance
from patron.members.models import Member
from patron.program.service import require_program
from patron.rewards import codes
from patron.rewards.catalogue import get_reward
from patron.rewards.errors import LimitReached, NotAvailable, NotEligible, OutOfStock
from patron.rewards.models import Redemption, Reward
from patron.rewards.service import cancel, redeem
from tests.integration.conftest import count
from tests.integration.rewards_program import (
    PROGRAM,
    REWARDS,
    balance,
    enrol,
    load_rewards_program,
)


@pytest.fixture
def shop(database: Database, clock: FrozenClock) -> Database:
    load_rewards_program(database, clock)
    return database


def _redeem(database: Database, clock: FrozenClock, member_id: int, reward: str) -> Redemption:
    with database.unit_of_work() as session:
        return redeem(
            session,
            member_id,
            reward,
            at=clock.now(),
            program=require_program(session)[1],
            actor="test",
        )


def _stock(database: Database, key: str) -> tuple[int | None, int]:
    with database.unit_of_work() as session:
        row = get_reward(session, key)
        return row.stock, row.issued


def test_saving_the_program_syncs_the_catalogue(shop: Database, clock: FrozenClock) -> None:
    with shop.unit_of_work() as session:
        rows = {r.key: r for r in session.scalars(select(Reward))}
    assert set(rows) == {r["id"] for r in REWARDS}
    assert rows["five-off"].stock == 3 and rows["five-off"].issued == 0
    assert rows["free-latte"].stock is None and rows["birthday-cake"].birthday
    member = enrol(shop, "ann", 1000)
    _redeem(shop, clock, member, "five-off")
    # A new version: five-off restocked to 5, tote dropped; the counter is kept.
    rewards = [dict(r, stock=5) if r["id"] == "five-off" else r for r in REWARDS]
    load_rewards_program(shop, clock, rewards=[r for r in rewards if r["id"] != "tote"])
    assert _stock(shop, "five-off") == (5, 1)
    with shop.unit_of_work() as session:
        assert not get_reward(session, "tote").active
    with pytest.raises(NotFound) as gone:
        _redeem(shop, clock, member, "tote")
    assert gone.value.field == "reward"


def test_redeeming_spends_first_to_expire_and_issues_a_coupon(
    shop: Database, clock: FrozenClock
) -> None:
    member = enrol(shop, "ann", 80)  # expires in 365 days
    clock.advance(days=100)
    with shop.unit_of_work() as session:
        from patron.ledger.service import adjust

        adjust(session, member, 500, reason="later", actor="t", at=clock.now(), program=None)
    # The later grant never expires (program=None), so the 80 expiring ones go first.
    redemption = _redeem(shop, clock, member, "five-off")
    assert redemption.points == 300 and redemption.status == "issued"
    assert codes.is_valid(redemption.code)
    assert redemption.expires_at == clock.now() + timedelta(days=14)
    assert redemption.terms["discount_amount"] == 500 and redemption.terms["currency"] == "USD"
    with shop.unit_of_work() as session:
        entry = session.get(LedgerEntry, redemption.spend_entry_id)
        assert entry is not None
        assert entry.kind == "spend" and entry.points == -300
        assert entry.explanation == "-300 pts: Redeemed 5.00 off"
        assert (entry.reason, entry.created_at) == ("Redeemed 5.00 off", clock.now())
        member_row = session.get(Member, member)
        assert member_row is not None and member_row.last_activity_at == clock.now()
        lots = session.scalars(
            select(PointLot.remaining).where(PointLot.member_id == member).order_by(PointLot.id)
        ).all()
        assert list(lots) == [0, 280]
        taken = session.execute(
            select(PointLot.points, LotAllocation.points)
            .join(PointLot, PointLot.id == LotAllocation.lot_id)
            .where(LotAllocation.entry_id == entry.id)
            .order_by(LotAllocation.id)
        ).all()
    assert [tuple(t) for t in taken] == [(80, 80), (500, 220)]
    assert balance(shop, member) == 280
    assert _stock(shop, "five-off") == (3, 1)


def test_refusals_name_the_field_and_write_nothing(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 120)
    before = (count(shop, LedgerEntry), count(shop, Redemption))
    with pytest.raises(InsufficientPoints) as poor:
        _redeem(shop, clock, member, "five-off")
    assert poor.value.field == "reward" and poor.value.extra["available"] == 120
    assert "costs 300 points" in poor.value.detail
    with pytest.raises(NotFound) as unknown:
        _redeem(shop, clock, member, "no-such-thing")
    assert unknown.value.field == "reward"
    with pytest.raises(NotFound) as nobody:
        _redeem(shop, clock, 999_999, "free-latte")
    assert nobody.value.field == "member_id"
    with pytest.raises(Conflict, match="birthday reward"):
        _redeem(shop, clock, member, "birthday-cake")
    assert (count(shop, LedgerEntry), count(shop, Redemption)) == before
    assert balance(shop, member) == 120
    assert _stock(shop, "five-off") == (3, 0)


def test_out_of_stock_spends_nothing(shop: Database, clock: FrozenClock) -> None:
    ann, bob = enrol(shop, "ann", 500), enrol(shop, "bob", 500)
    _redeem(shop, clock, ann, "tote")
    with pytest.raises(OutOfStock) as out:
        _redeem(shop, clock, bob, "tote")
    assert out.value.field == "reward" and out.value.status_code == 409
    assert balance(shop, bob) == 500
    assert _stock(shop, "tote") == (1, 1)


def test_the_stock_counter_alone_stops_an_oversell(shop: Database, clock: FrozenClock) -> None:
    """Even when the early check reads a stale counter, the conditional UPDATE refuses."""
    from patron.rewards import service

    ann, bob = enrol(shop, "ann", 500), enrol(shop, "bob", 500)
    _redeem(shop, clock, ann, "tote")
    real = service.looks_sold_out
    service.looks_sold_out = lambda stock, issued: False  # type: ignore[assignment]
    try:
        with pytest.raises(OutOfStock):
            _redeem(shop, clock, bob, "tote")
    finally:
        service.looks_sold_out = real
    assert balance(shop, bob) == 500
    assert count(shop, Redemption) == 1


def test_per_member_limit_per_month(shop: Database, clock: FrozenClock) -> None:
    ann, bob = enrol(shop, "ann", 1000), enrol(shop, "bob", 1000)
    first = _redeem(shop, clock, ann, "free-latte")
    _redeem(shop, clock, ann, "free-latte")
    with pytest.raises(LimitReached) as limit:
        _redeem(shop, clock, ann, "free-latte")
    assert limit.value.field == "reward" and "2 times per month" in limit.value.detail
    _redeem(shop, clock, bob, "free-latte")  # another member is not limited by ann
    with shop.unit_of_work() as session:  # a cancelled redemption does not count
        cancel(session, first.id, at=clock.now(), program=require_program(session)[1])
    _redeem(shop, clock, ann, "free-latte")
    with pytest.raises(LimitReached):
        _redeem(shop, clock, ann, "free-latte")
    clock.set(datetime(2026, 4, 1, 0, 1, tzinfo=UTC))  # next month (program zone UTC)
    _redeem(shop, clock, ann, "free-latte")
    assert balance(shop, ann) == 1000 - 3 * 100  # four redeemed, one cancelled


def test_validity_window_and_early_access(shop: Database, clock: FrozenClock) -> None:
    gold = enrol(shop, "gold", 500, attributes={"tier": "gold"})
    plain = enrol(shop, "plain", 500)
    clock.set(datetime(2026, 3, 20, 12, tzinfo=UTC))  # before early access opens (Mar 22)
    with pytest.raises(NotAvailable) as early:
        _redeem(shop, clock, gold, "spring-box")
    assert early.value.field == "reward" and "opens on 2026-03-22" in early.value.detail
    clock.set(datetime(2026, 3, 25, 12, tzinfo=UTC))  # gold's early access, not yet for others
    _redeem(shop, clock, gold, "spring-box")
    with pytest.raises(NotAvailable) as closed:
        _redeem(shop, clock, plain, "spring-box")
    assert "opens on 2026-04-01" in closed.value.detail and "gold members" in closed.value.detail
    clock.set(datetime(2026, 4, 30, 23, 59, tzinfo=UTC))  # valid_until includes the whole day
    _redeem(shop, clock, plain, "spring-box")
    clock.set(datetime(2026, 5, 1, 0, 0, tzinfo=UTC))
    with pytest.raises(NotAvailable, match="ended on 2026-05-01"):
        _redeem(shop, clock, plain, "spring-box")


def test_eligibility_by_tier_and_segment(shop: Database, clock: FrozenClock) -> None:
    plain = enrol(shop, "plain", 500)
    gold = enrol(shop, "gold", 500, attributes={"tier": "gold", "segments": ["vip", "new"]})
    silver = enrol(shop, "silver", 500, attributes={"tier": "silver", "segments": "vip"})
    with pytest.raises(NotEligible) as no_tier:
        _redeem(shop, clock, plain, "gold-tasting")
    assert no_tier.value.field == "reward" and "no tier" in no_tier.value.detail
    with pytest.raises(NotEligible, match="tier silver"):
        _redeem(shop, clock, silver, "gold-tasting")
    _redeem(shop, clock, gold, "gold-tasting")
    _redeem(shop, clock, gold, "vip-mug")
    _redeem(shop, clock, silver, "vip-mug")
    with pytest.raises(NotEligible, match="segment vip"):
        _redeem(shop, clock, plain, "vip-mug")
    assert balance(shop, plain) == 500


def test_a_blocked_member_cannot_redeem(shop: Database, clock: FrozenClock) -> None:
    member = enrol(shop, "ann", 500, status="blocked")
    with pytest.raises(Conflict, match="blocked") as blocked:
        _redeem(shop, clock, member, "free-latte")
    assert blocked.value.field == "member_id"


def test_without_a_program_nothing_can_be_redeemed(database: Database, clock: FrozenClock) -> None:
    with database.unit_of_work() as session, pytest.raises(Conflict) as none:
        redeem(session, 1, "free-latte", at=clock.now(), program=None)
    assert none.value.field == "program"


def test_balance_is_the_sum_of_entries_after_redemptions(
    shop: Database, clock: FrozenClock
) -> None:
    member = enrol(shop, "ann", 1000)
    for reward in ("free-latte", "five-off", "ten-pct", "tote"):
        _redeem(shop, clock, member, reward)
    with shop.unit_of_work() as session:
        entries = session.scalar(
            select(func.sum(LedgerEntry.points)).where(LedgerEntry.member_id == member)
        )
        b = get_balance(session, member, clock.now(), require_program(session)[1])
    assert entries == b.balance == b.available == 1000 - 100 - 300 - 50 - 200
    assert PROGRAM["rewards"] is REWARDS


def test_the_redemption_spend_writes_what_a_plain_debit_writes(
    shop: Database, clock: FrozenClock
) -> None:
    """Twins with the same lots: one redeems, one is debited by the ledger service."""
    from patron.ledger.service import adjust, debit

    twins = [enrol(shop, "ann", 120), enrol(shop, "bob", 120)]
    clock.advance(days=3)
    with shop.unit_of_work() as session:
        for twin in twins:
            adjust(session, twin, 400, reason="more", actor="t", at=clock.now(), program=None)
    clock.advance(days=1)
    _redeem(shop, clock, twins[0], "five-off")
    with shop.unit_of_work() as session:
        program = require_program(session)[1]
        debit(
            session,
            twins[1],
            300,
            reason="Redeemed 5.00 off",
            actor=None,
            at=clock.now(),
            program=program,
        )

    def ledger(member_id: int) -> tuple[Any, ...]:
        with shop.unit_of_work() as session:
            spend = session.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.member_id == member_id, LedgerEntry.kind == "spend"
                )
            ).one()
            taken = session.execute(
                select(PointLot.points, LotAllocation.points)
                .join(PointLot, PointLot.id == LotAllocation.lot_id)
                .where(LotAllocation.entry_id == spend.id)
                .order_by(LotAllocation.id)
            ).all()
            lots = session.scalars(
                select(PointLot.remaining)
                .where(PointLot.member_id == member_id)
                .order_by(PointLot.id)
            ).all()
            member_row = session.get(Member, member_id)
            b = get_balance(session, member_id, clock.now(), program)
            assert member_row is not None
            return (
                (spend.kind, spend.points, spend.explanation, spend.reason, spend.created_at),
                [tuple(t) for t in taken],
                list(lots),
                member_row.last_activity_at,
                (b.balance, b.available, b.debt),
            )

    assert ledger(twins[0]) == ledger(twins[1])
