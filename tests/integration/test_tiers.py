"""Tiers on a real database with a moved clock: upgrade at once, multiplier from the next
event, refunds lower the measure, downgrade only at review after grace and by one level."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import Conflict
from patron.members.models import Member
from patron.tiers.models import MemberTier, OutboxMessage, TierChange
from patron.tiers.review import review_tiers
from patron.tiers.service import tier_history, tier_status
from tests.integration.conftest import CAFE, load_program, one, send

TIERS: dict[str, Any] = {
    "qualify_on": "spend",
    "window": {"type": "rolling", "days": 365},
    "review": {"days": 365, "grace_days": 30, "max_down": 1},
    "levels": [
        {"id": "silver", "name": "Silver", "threshold": "100.00", "multiplier": "1.5"},
        {"id": "gold", "name": "Gold", "threshold": "300.00", "multiplier": "2"},
        {"id": "platinum", "name": "Platinum", "threshold": "600.00", "multiplier": "3"},
    ],
}


def program(**tiers: Any) -> dict[str, Any]:
    data = copy.deepcopy(CAFE)
    data["tiers"] = {**copy.deepcopy(TIERS), **tiers}
    return data


@pytest.fixture
def tiered(database: Database, clock: FrozenClock) -> Database:
    load_program(database, program(), clock)
    return database


def buy(ext: str, amount: str, member: str = "alice", **extra: Any) -> dict[str, Any]:
    line = {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": amount}
    return {
        "external_id": ext,
        "type": "purchase",
        "member_external_id": member,
        "lines": [line],
        **extra,
    }


def tier_of(database: Database, member_id: int) -> str | None:
    with database.unit_of_work() as session:
        tier = session.scalar(select(MemberTier.tier).where(MemberTier.member_id == member_id))
        attrs = session.scalar(select(Member.attributes).where(Member.id == member_id)) or {}
    assert attrs.get("tier") == tier  # the attribute rewards read mirrors the level
    return tier


def jobs(database: Database, clock: FrozenClock) -> tuple[int, int]:
    from patron.program.service import current_program

    with database.unit_of_work() as session:
        found = current_program(session)
        report = review_tiers(session, clock.now(), found[1] if found else None)
    return report.reviewed, report.downgraded


def test_upgrade_the_moment_the_threshold_is_crossed(tiered: Database, clock: FrozenClock) -> None:
    first = one(tiered, buy("o1", "60.00"))
    member = first.member_id or 0
    assert tier_of(tiered, member) is None
    clock.advance(days=1)
    one(tiered, buy("o2", "39.99"))
    assert tier_of(tiered, member) is None  # 99.99: one minor unit short
    clock.advance(days=1)
    crossing = one(tiered, buy("o3", "0.01"))
    assert tier_of(tiered, member) == "silver"
    # the crossing event earns at the level held before it
    assert not any(a.rule_id and a.rule_id.startswith("tier:") for a in crossing.awards)
    clock.advance(minutes=1)
    after = one(tiered, buy("o4", "10.00"))
    tier_awards = [a for a in after.awards if a.rule_id == "tier:silver"]
    assert [a.points for a in tier_awards] == [5]
    assert "x1.5 Silver tier" in tier_awards[0].explanation
    with tiered.unit_of_work() as session:
        changes = tier_history(session, member, limit=10)
        outbox = list(session.scalars(select(OutboxMessage)))
        row = session.get(MemberTier, member)
    assert [(c.kind, c.from_tier, c.to_tier, c.measure) for c in changes] == [
        ("upgrade", None, "silver", 10000)
    ]
    assert changes[0].event_id == crossing.event_id
    assert [(o.event_type, o.member_id, o.payload["to"]) for o in outbox] == [
        ("tier.upgraded", member, "silver")
    ]
    assert row is not None and row.since == crossing.occurred_at
    assert row.review_at == crossing.occurred_at + timedelta(days=365)


def test_several_levels_at_once_and_within_one_batch(tiered: Database, clock: FrozenClock) -> None:
    result = send(
        tiered,
        buy("a1", "150.00"),
        buy("a2", "10.00"),  # earns at Silver: upgraded by a1 in this same batch
        buy("a3", "500.00"),  # 660.00: Platinum, skipping Gold
    )
    member = result.results[0].member_id or 0
    assert [a.points for a in result.results[1].awards if a.rule_id == "tier:silver"] == [5]
    assert tier_of(tiered, member) == "platinum"
    with tiered.unit_of_work() as session:
        kinds = [(c.from_tier, c.to_tier) for c in tier_history(session, member, limit=10)]
    assert kinds == [("silver", "platinum"), (None, "silver")]


def test_refund_lowers_the_measure(tiered: Database, clock: FrozenClock) -> None:
    one(tiered, buy("r1", "90.00"))
    clock.advance(days=1)
    refund = {
        "external_id": "rf1",
        "type": "refund",
        "member_external_id": "alice",
        "refund_of": "r1",
        "lines": [{"sku": "CAKE", "quantity": 1}],
    }
    member = one(tiered, refund).member_id or 0
    clock.advance(days=1)
    one(tiered, buy("r2", "20.00"))  # 0 + 20.00 after the refund: no Silver
    assert tier_of(tiered, member) is None
    # in one batch: a purchase and its refund, then a purchase that would cross without it
    send(tiered, buy("r3", "70.00"), {**refund, "external_id": "rf3", "refund_of": "r3"})
    one(tiered, buy("r4", "30.00"))
    assert tier_of(tiered, member) is None
    one(tiered, buy("r5", "50.00"))  # 20 + 30 + 50 = 100.00
    assert tier_of(tiered, member) == "silver"


def test_window_forgets_old_spend(tiered: Database, clock: FrozenClock) -> None:
    first = one(tiered, buy("w1", "80.00"))
    clock.advance(days=366)
    one(tiered, buy("w2", "30.00"))  # w1 has left the 365-day window
    assert tier_of(tiered, first.member_id or 0) is None


def test_downgrade_only_at_review_after_grace_and_one_level(
    tiered: Database, clock: FrozenClock
) -> None:
    result = one(tiered, buy("d1", "700.00"))
    member = result.member_id or 0
    assert tier_of(tiered, member) == "platinum"
    clock.advance(days=364)
    assert jobs(tiered, clock) == (0, 0)
    clock.advance(days=2)  # past the review date (365 days) but inside the grace period
    assert jobs(tiered, clock) == (0, 0)
    assert tier_of(tiered, member) == "platinum"
    clock.advance(days=30)  # grace over; d1 has left the window: the measure is 0
    assert jobs(tiered, clock) == (1, 1)
    assert tier_of(tiered, member) == "gold"  # one level down, not to nothing
    with tiered.unit_of_work() as session:
        change = tier_history(session, member, limit=1)[0]
        row = session.get(MemberTier, member)
        kinds = [o.event_type for o in session.scalars(select(OutboxMessage))]
    assert (change.kind, change.from_tier, change.to_tier, change.measure) == (
        "downgrade",
        "platinum",
        "gold",
        0,
    )
    assert kinds == ["tier.upgraded", "tier.downgraded"]
    assert row is not None and row.review_at == clock.now() + timedelta(days=365)
    assert jobs(tiered, clock) == (0, 0)  # nothing due until the next review


def test_member_who_still_qualifies_keeps_the_level(tiered: Database, clock: FrozenClock) -> None:
    member = one(tiered, buy("k1", "120.00")).member_id or 0
    review = clock.now() + timedelta(days=365)
    clock.advance(days=300)
    one(tiered, buy("k2", "100.00"))  # still counted at the review
    clock.advance(days=100)
    assert jobs(tiered, clock) == (1, 0)
    assert tier_of(tiered, member) == "silver"
    with tiered.unit_of_work() as session:
        row = session.get(MemberTier, member)
    assert row is not None and row.review_at == review + timedelta(days=365)


def test_max_down_two_levels(database: Database, clock: FrozenClock) -> None:
    load_program(database, program(review={"days": 30, "grace_days": 0, "max_down": 2}), clock)
    member = one(database, buy("m1", "700.00")).member_id or 0
    clock.advance(days=400)
    assert jobs(database, clock) == (1, 1)
    assert tier_of(database, member) == "silver"


def test_progress_in_numbers_and_words(tiered: Database, clock: FrozenClock) -> None:
    member = one(tiered, buy("p1", "180.00")).member_id or 0
    from patron.program.service import current_program

    with tiered.unit_of_work() as session:
        found = current_program(session)
        status = tier_status(session, member, clock.now(), found[1] if found else None)
    shown = status.progress
    assert shown.level is not None and shown.level.id == "silver"
    assert shown.measure == 18000
    assert shown.next is not None and (shown.next.tier, shown.next.needed) == ("gold", 12000)
    assert shown.keep is not None and shown.keep.needed == 10000  # p1 is gone by the review
    assert shown.text == (
        "Spend 120.00 USD more by 2027-03-02 to reach Gold; "
        "keep Silver by spending 100.00 USD by 2027-04-01"
    )


def test_visits_and_calendar_year(database: Database, clock: FrozenClock) -> None:
    levels = [{"id": "regular", "name": "Regular", "threshold": 3}]
    load_program(
        database,
        program(qualify_on="visits", window={"type": "calendar_year"}, levels=levels),
        clock,
    )
    clock.set(clock.now().replace(month=12, day=31, hour=10))
    member = one(database, buy("v1", "1.00")).member_id or 0
    one(database, buy("v2", "1.00"))
    clock.advance(days=1)  # a new year: v1 and v2 no longer count
    one(database, buy("v3", "1.00"))
    one(database, buy("v4", "1.00"))
    assert tier_of(database, member) is None
    one(database, buy("v5", "1.00"))
    assert tier_of(database, member) == "regular"


def test_no_tiers_section_means_no_tier_work(cafe: Database, clock: FrozenClock) -> None:
    member = one(cafe, buy("n1", "500.00")).member_id or 0
    with cafe.unit_of_work() as session:
        assert session.scalars(select(MemberTier)).all() == []
        assert session.scalars(select(TierChange)).all() == []
        with pytest.raises(Conflict):
            tier_status(session, member, clock.now(), None)


def fee(ext: str, member: str = "alice") -> dict[str, Any]:
    return {
        "external_id": ext,
        "type": "custom",
        "name": "membership_fee",
        "member_external_id": member,
    }


def test_paid_membership_joins_renews_and_ends(database: Database, clock: FrozenClock) -> None:
    membership = {"tier": "gold", "event": "membership_fee", "days": 30}
    load_program(database, program(membership=membership, review={"days": 10}), clock)
    member = one(database, buy("f0", "10.00")).member_id or 0
    joined_at = one(database, fee("f1")).occurred_at
    assert joined_at is not None
    assert tier_of(database, member) == "gold"  # whatever the measure
    after = one(database, buy("f2", "10.00"))
    assert [a.points for a in after.awards if a.rule_id == "tier:gold"] == [10]
    clock.advance(days=20)
    one(database, fee("f3"))  # renewed: 30 more days from the end of the paid period
    with database.unit_of_work() as session:
        row = session.get(MemberTier, member)
        assert row is not None
        assert row.paid_until == joined_at + timedelta(days=60)
        status = tier_status(session, member, clock.now(), _program(session))
    assert status.paid_until == joined_at + timedelta(days=60)
    assert "Gold membership paid until 2026-05-01" in status.progress.text
    clock.advance(days=10)  # the review is due but a paid level holds while paid
    assert jobs(database, clock) == (1, 0)
    assert tier_of(database, member) == "gold"
    clock.advance(days=31)  # not renewed: the paid level ends
    jobs(database, clock)
    assert tier_of(database, member) is None  # 20.00 earns no level
    with database.unit_of_work() as session:
        change = tier_history(session, member, limit=1)[0]
        row = session.get(MemberTier, member)
    assert (change.reason, change.from_tier, change.to_tier) == ("membership_ended", "gold", None)
    assert row is not None and row.paid_until is None
    assert jobs(database, clock) == (0, 0)


def _program(session: Any) -> Any:
    from patron.program.service import current_program

    found = current_program(session)
    return found[1] if found else None


def test_concurrent_purchases_upgrade_once(tiered: Database, clock: FrozenClock) -> None:
    """Eight tills at once for one member: the member lock orders them, so exactly the
    seventh (105.00) upgrades, once, and only the eighth earns at Silver."""
    if not tiered.is_postgres:
        pytest.skip("concurrent writers are what is under test; SQLite serialises them")
    import threading
    from concurrent.futures import ThreadPoolExecutor

    send(tiered, {"external_id": "s", "type": "signup", "member_external_id": "alice"})
    barrier = threading.Barrier(8)

    def till(i: int) -> int:
        barrier.wait()
        return one(tiered, buy(f"c{i}", "15.00")).points or 0

    with ThreadPoolExecutor(max_workers=8) as pool:
        points = sorted(pool.map(till, range(8)))
    assert points == [15] * 6 + [22, 65]  # 15 + x1.5 bonus 7; 15 + the first-visit 50
    with tiered.unit_of_work() as session:
        changes = session.scalars(select(TierChange)).all()
        outbox = session.scalars(select(OutboxMessage)).all()
    assert [(c.to_tier, c.measure) for c in changes] == [("silver", 10500)]
    assert len(outbox) == 1


def test_rewards_for_a_tier_follow_the_level(database: Database, clock: FrozenClock) -> None:
    """A Gold-only reward opens the moment a purchase makes the member Gold, and early
    access follows the level too: no attribute set by hand."""
    from patron.rewards.errors import NotAvailable, NotEligible
    from patron.rewards.service import redeem

    data = program()
    data["rewards"] = [
        {"id": "gold-mug", "name": "Gold mug", "kind": "gift", "cost": 10,
         "eligible": {"tiers": ["gold", "platinum"]}},
        {"id": "preview", "name": "Preview night", "kind": "experience", "cost": 10,
         "valid_from": "2026-03-10", "early_access": {"tiers": ["gold"], "days": 14}},
    ]  # fmt: skip
    load_program(database, data, clock)
    gold = one(database, buy("g1", "320.00")).member_id or 0
    plain = one(database, buy("s1", "120.00", member="bob")).member_id or 0
    with database.unit_of_work() as session:
        current = _program(session)
        assert redeem(session, gold, "gold-mug", at=clock.now(), program=current).points == 10
        assert redeem(session, gold, "preview", at=clock.now(), program=current).points == 10
        with pytest.raises(NotEligible):
            redeem(session, plain, "gold-mug", at=clock.now(), program=current)
        with pytest.raises(NotAvailable):
            redeem(session, plain, "preview", at=clock.now(), program=current)
