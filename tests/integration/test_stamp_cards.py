"""Stamp cards through ingestion, on SQLite and PostgreSQL: stamps, a full card issues its
coupon in the event's transaction, surplus carries over, expiry, refunds (stamp removed,
unused coupon cancelled and the card reopened, used coupon kept with stamps owed), retries."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.events.ingest import ingest
from patron.members.models import Member
from patron.rewards.models import Redemption, Reward
from patron.stamps.models import Stamp, StampCard
from tests.integration.conftest import CAFE, load_program, one, send

FREE_COFFEE = {
    "id": "free-coffee",
    "name": "Free coffee",
    "kind": "free_item",
    "sku": "LATTE",
    "cost": 300,
    "coupon_days": 30,
}
COFFEE_CARD: dict[str, Any] = {
    "id": "coffee",
    "name": "Coffee card",
    "goal": 3,
    "per": "item",
    "lines": {"category": ["coffee"]},
    "reward": "free-coffee",
}


def program(**card: Any) -> dict[str, Any]:
    data = copy.deepcopy(CAFE)
    data["rewards"] = [dict(FREE_COFFEE)]
    data["stamp_cards"] = [{**COFFEE_CARD, **card}]
    return data


@pytest.fixture
def stamped(database: Database, clock: FrozenClock) -> Database:
    load_program(database, program(), clock)
    return database


def coffee(ext: str, quantity: int = 1, member: str = "alice", **extra: Any) -> dict[str, Any]:
    lines = [
        {"sku": "LATTE", "category": "coffee", "quantity": quantity, "unit_price": "3.00"},
        {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": "2.00"},
    ]
    return {
        "external_id": ext,
        "type": "purchase",
        "member_external_id": member,
        "lines": lines,
        **extra,
    }


def refund(ext: str, of: str, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": ext,
        "type": "refund",
        "member_external_id": "alice",
        "refund_of": of,
        **extra,
    }


def cards(database: Database) -> list[tuple[str, int, int, int | None]]:
    """(status, stamps, goal, redemption id) of every card, oldest first."""
    with database.unit_of_work() as session:
        return [
            (c.status, c.stamps, c.goal, c.redemption_id)
            for c in session.scalars(select(StampCard).order_by(StampCard.id))
        ]


def coupons(database: Database) -> list[tuple[str, int, str | None]]:
    with database.unit_of_work() as session:
        return [
            (r.status, r.points, r.actor)
            for r in session.scalars(select(Redemption).order_by(Redemption.id))
        ]


def issued_count(database: Database) -> int:
    with database.unit_of_work() as session:
        return int(session.scalar(select(Reward.issued).where(Reward.key == "free-coffee")) or 0)


def test_a_stamp_per_matching_item_with_explanations(stamped: Database) -> None:
    result = one(stamped, coffee("o1", quantity=2))
    assert result.stamp_cards == ["2 stamps on Coffee card: 2 of 3; 2 matching items"]
    assert cards(stamped) == [("open", 2, 3, None)]
    with stamped.unit_of_work() as session:
        stamp = session.scalars(select(Stamp)).one()
        assert (stamp.kind, stamp.count, stamp.event_id) == ("stamp", 2, result.event_id)
        assert stamp.purchase_id == result.event_id


def test_completing_issues_a_free_coupon_and_carries_the_surplus(stamped: Database) -> None:
    one(stamped, coffee("o1", quantity=2))
    result = one(stamped, coffee("o2", quantity=3))
    assert cards(stamped)[0][:3] == ("complete", 3, 3)
    assert cards(stamped)[1] == ("open", 2, 3, None)
    assert coupons(stamped) == [("issued", 0, "stamp_card:coffee")]  # no points spent
    assert issued_count(stamped) == 1
    complete = [t for t in result.stamp_cards if "complete" in t]
    assert len(complete) == 1 and complete[0].startswith("Coffee card complete: Free coffee coupon")
    assert "(carried over): 2 of 3" in result.stamp_cards[-1]
    with stamped.unit_of_work() as session:
        card = session.scalars(select(StampCard).order_by(StampCard.id)).first()
        assert card is not None and card.redemption_id is not None
        coupon = session.get(Redemption, card.redemption_id)
        assert coupon is not None and coupon.code.replace("-", "") in complete[0].replace("-", "")


def test_a_big_purchase_fills_several_cards(stamped: Database) -> None:
    one(stamped, coffee("o1", quantity=7))
    assert [c[:2] for c in cards(stamped)] == [("complete", 3), ("complete", 3), ("open", 1)]
    assert len(coupons(stamped)) == 2


def test_a_failed_batch_leaves_no_stamps_and_no_coupon(stamped: Database) -> None:
    with pytest.raises(RuntimeError), stamped.unit_of_work() as session:
        ingest(session, [coffee("o1", quantity=3)])
        raise RuntimeError("the caller's transaction fails after ingestion")
    assert cards(stamped) == [] and coupons(stamped) == []


def test_per_purchase_and_minimum_spend(database: Database, clock: FrozenClock) -> None:
    load_program(database, program(per="purchase", min_spend="6.00"), clock)
    assert one(database, coffee("o1", quantity=1)).stamp_cards == []  # 3.00 of coffee < 6.00
    assert one(database, coffee("o2", quantity=4)).stamp_cards == [
        "1 stamp on Coffee card: 1 of 3; a purchase of 12.00 USD"
    ]


def test_non_matching_purchases_and_blocked_members_get_no_stamps(stamped: Database) -> None:
    cake = {
        "external_id": "o1",
        "type": "purchase",
        "member_external_id": "alice",
        "lines": [{"sku": "CAKE", "category": "bakery", "quantity": 2, "unit_price": "2.00"}],
    }
    one(stamped, cake)
    one(stamped, coffee("o2", member="bob"))
    with stamped.unit_of_work() as session:
        bob = session.scalars(select(Member).where(Member.external_id == "bob")).one()
        bob.status = "blocked"
    one(stamped, coffee("o3", member="bob"))
    assert [c[:2] for c in cards(stamped)] == [("open", 1)]  # bob's first stamp only


def test_a_retry_does_not_stamp_twice_and_answers_the_same(stamped: Database) -> None:
    first = one(stamped, coffee("o1", quantity=2))
    again = send(stamped, coffee("o1", quantity=2)).results[0]
    assert again.status == "duplicate"
    assert again.stamp_cards == first.stamp_cards
    assert cards(stamped) == [("open", 2, 3, None)]
    twice = send(stamped, coffee("o2"), coffee("o2")).results
    assert [r.status for r in twice] == ["accepted", "duplicate"]
    assert twice[1].stamp_cards == twice[0].stamp_cards
    assert cards(stamped)[0][:2] == ("complete", 3)


def test_cards_expire_and_a_new_one_starts(database: Database, clock: FrozenClock) -> None:
    load_program(database, program(expires_after_days=30), clock)
    one(database, coffee("o1", quantity=2))
    clock.advance(days=31)
    result = one(database, coffee("o2"))
    assert result.stamp_cards[0].startswith("Coffee card expired on ")
    assert "with 2 of 3 stamps; a new card starts" in result.stamp_cards[0]
    assert [c[:2] for c in cards(database)] == [("expired", 2), ("open", 1)]


def test_stamps_only_for_purchases_inside_the_cards_dates(
    database: Database, clock: FrozenClock
) -> None:
    """valid_from counts from the start of its day, valid_until to the end of its day,
    in the program's time zone; the purchase's own time decides, not when it arrives."""
    clock.set(datetime(2026, 3, 25, 12, 0, tzinfo=UTC))
    load_program(database, program(valid_from="2026-03-10", valid_until="2026-03-20"), clock)
    moments = {
        "before": "2026-03-09T23:59:59+00:00",
        "first": "2026-03-10T00:00:00+00:00",
        "last": "2026-03-20T23:59:59+00:00",
        "after": "2026-03-21T00:00:00+00:00",
    }
    stamped = {
        name: one(database, coffee(name, occurred_at=at)).stamp_cards
        for name, at in moments.items()
    }
    assert stamped == {
        "before": [],
        "first": ["1 stamp on Coffee card: 1 of 3; 1 matching item"],
        "last": ["1 stamp on Coffee card: 2 of 3; 1 matching item"],
        "after": [],
    }
    assert cards(database) == [("open", 2, 3, None)]


def test_refunding_a_stamped_purchase_removes_its_stamps(stamped: Database) -> None:
    one(stamped, coffee("o1", quantity=2))
    partial = one(stamped, refund("r1", "o1", lines=[{"sku": "LATTE", "quantity": 1}]))
    assert partial.stamp_cards == ["-1 stamp on Coffee card: refund of o1; 1 of 3"]
    cake_only = one(stamped, refund("r2", "o1", lines=[{"sku": "CAKE", "quantity": 1}]))
    assert cake_only.stamp_cards == []  # the cake gave no stamp
    assert cards(stamped) == [("open", 1, 3, None)]
    one(stamped, refund("r3", "o1"))
    assert cards(stamped) == [("open", 0, 3, None)]


def test_refunding_the_completing_purchase_cancels_the_unused_coupon(stamped: Database) -> None:
    one(stamped, coffee("o1", quantity=2))
    one(stamped, coffee("o2", quantity=2))  # completes (3 of 3), 1 carried over
    assert issued_count(stamped) == 1
    result = one(stamped, refund("r1", "o2"))
    assert cards(stamped) == [("open", 2, 3, cards(stamped)[0][3])]  # reopened, merged
    assert coupons(stamped) == [("cancelled", 0, "stamp_card:coffee")]
    assert issued_count(stamped) == 0
    assert any("reopened" in t and "cancelled" in t for t in result.stamp_cards)
    one(stamped, coffee("o3"))  # completes again with a fresh coupon
    assert [c[0] for c in coupons(stamped)] == ["cancelled", "issued"]


def test_a_refund_takes_stamps_from_the_open_card_when_it_has_enough(stamped: Database) -> None:
    one(stamped, coffee("o1", quantity=2))
    one(stamped, coffee("o2", quantity=1))  # completes
    one(stamped, coffee("o3", quantity=2))  # 2 on the new card
    one(stamped, refund("r1", "o2"))
    assert [c[:2] for c in cards(stamped)] == [("complete", 3), ("open", 1)]
    assert coupons(stamped)[0][0] == "issued"  # the coupon stands


def test_a_used_coupon_is_kept_and_the_next_card_owes_the_stamp(stamped: Database) -> None:
    from patron.rewards.coupons import use_coupon

    one(stamped, coffee("o1", quantity=2))
    one(stamped, coffee("o2", quantity=1))  # completes
    with stamped.unit_of_work() as session:
        code = session.scalars(select(Redemption.code)).one()
        use_coupon(session, code, "till-1", order_amount=None, at=stamped_now(session))
    result = one(stamped, refund("r1", "o2"))
    assert "owed" in result.stamp_cards[0] and "already used" in result.stamp_cards[0]
    assert [c[:2] for c in cards(stamped)] == [("complete", 3), ("open", -1)]
    assert coupons(stamped)[0][0] == "used"
    one(stamped, coffee("o3", quantity=2))  # repays the stamp, then 1 of 3
    assert cards(stamped)[1][:2] == ("open", 1)


def stamped_now(session: Any) -> Any:
    from patron.core.clock import now

    return now()


def test_refund_in_the_same_batch_as_the_completing_purchase(stamped: Database) -> None:
    result = send(stamped, coffee("o1", quantity=3), refund("r1", "o1"))
    assert [r.status for r in result.results] == ["accepted", "accepted"]
    assert [c[:2] for c in cards(stamped)] == [("open", 0)]
    assert coupons(stamped) == [("cancelled", 0, "stamp_card:coffee")]
    assert issued_count(stamped) == 0


def test_the_program_names_a_missing_reward() -> None:
    from patron.core.errors import InvalidInput
    from patron.program.loader import program_from_dict

    with pytest.raises(InvalidInput) as caught:
        program_from_dict(program(reward="nope"))
    assert "stamp_cards[0].reward: no reward 'nope' in rewards" in caught.value.detail


def test_concurrent_batches_of_one_member_each_stamp_once(stamped: Database) -> None:
    """Real threads on PostgreSQL: the member's account lock serialises the batches, and the
    open card each batch reads is the one the previous batch left."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    if not stamped.is_postgres:
        pytest.skip("row locking is what is under test; SQLite serialises all writers")
    one(stamped, coffee("o0"))  # alice exists: every batch locks her account
    start = threading.Barrier(8)

    def batch(i: int) -> str:
        start.wait()
        return send(stamped, coffee(f"c{i}", quantity=1)).results[0].status

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(batch, range(8))) == ["accepted"] * 8
    # 9 stamps on a goal of 3: three complete cards, three coupons, no open card left over
    assert [c[:2] for c in cards(stamped)] == [("complete", 3)] * 3
    assert len(coupons(stamped)) == 3 and issued_count(stamped) == 3
