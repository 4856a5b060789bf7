"""Referrals through ingestion on a real database: pending -> rewarded on the first
purchase, every rejection reason, the weekly limit with a moved clock, refunds taking
both rewards back, and retries that never reward twice."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.ledger.models import LedgerEntry, PointAccount
from patron.members.schemas import MemberCreate
from patron.members.service import create_member
from patron.referrals.codes import display
from patron.referrals.models import Referral
from patron.referrals.service import referral_code
from patron.rewards.models import Redemption
from tests.integration.conftest import CAFE, count, load_program, one, send

REFERRALS: dict[str, Any] = {
    "min_amount": "20.00",
    "within_days": 30,
    "max_per_week": 2,
    "referrer_reward": {"points": 200},
    "referee_reward": {"reward": "free-latte"},
}
LATTE = {"id": "free-latte", "name": "Free latte", "kind": "free_item", "sku": "LATTE", "cost": 100}


def program(**referrals: Any) -> dict[str, Any]:
    data = copy.deepcopy(CAFE)
    data["rewards"] = [dict(LATTE)]
    data["referrals"] = {**copy.deepcopy(REFERRALS), **referrals}
    return data


@pytest.fixture
def shop(database: Database, clock: FrozenClock) -> Database:
    load_program(database, program(), clock)
    return database


def member(database: Database, ext: str, **fields: Any) -> tuple[int, str]:
    """A member enrolled through the API, and their referral code."""
    with database.unit_of_work() as session:
        m = create_member(session, MemberCreate(external_id=ext, **fields))
        return m.id, referral_code(session, m.id, m.enrolled_at)


def signup(ext: str, who: str, code: Any, **attributes: Any) -> dict[str, Any]:
    return {
        "external_id": ext,
        "type": "signup",
        "member_external_id": who,
        "attributes": {"referral_code": code, **attributes},
    }


def buy(ext: str, amount: str, who: str, **attributes: Any) -> dict[str, Any]:
    return {
        "external_id": ext,
        "type": "purchase",
        "member_external_id": who,
        "amount": amount,
        "attributes": attributes,
    }


def referrals(database: Database) -> list[Referral]:
    with database.unit_of_work() as session:
        found = list(session.scalars(select(Referral).order_by(Referral.id)))
        session.expunge_all()
    return found


def balance(database: Database, member_id: int) -> int:
    with database.unit_of_work() as session:
        return (
            session.scalar(select(PointAccount.balance).where(PointAccount.member_id == member_id))
            or 0
        )


def referral_entries(database: Database, member_id: int) -> list[tuple[int, str]]:
    with database.unit_of_work() as session:
        return [
            (e.points, e.explanation)
            for e in session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.member_id == member_id, LedgerEntry.rule_id == "referral")
                .order_by(LedgerEntry.id)
            )
        ]


def coupons(database: Database, member_id: int) -> list[tuple[str, int, str]]:
    with database.unit_of_work() as session:
        return [
            (r.status, r.points, r.terms["reward"])
            for r in session.scalars(select(Redemption).where(Redemption.member_id == member_id))
        ]


def test_first_qualifying_purchase_rewards_both_sides(shop: Database, clock: FrozenClock) -> None:
    anna, code = member(shop, "anna", first_name="Anna", email="anna@example.com")
    bob, _ = member(shop, "bob", first_name="Bob")  # enrolled by the shop, then signs up
    one(shop, signup("s1", "bob", display(code).lower()))  # typed loosely: still the code
    [ref] = referrals(shop)
    assert (ref.referrer_id, ref.referee_id, ref.status, ref.reason) == (anna, bob, "pending", None)
    assert ref.code == code
    clock.advance(days=3)
    before = balance(shop, bob)
    purchase = one(shop, buy("o1", "20.00", "bob"))  # exactly the minimum counts
    [ref] = referrals(shop)
    assert ref.status == "rewarded" and ref.qualifying_event_id == purchase.event_id
    assert ref.rewarded_at == clock.now() and ref.qualified_at == purchase.occurred_at
    assert referral_entries(shop, anna) == [
        (200, "+200 pts: referral bonus: Bob joined with your code")
    ]
    assert balance(shop, anna) == 200
    # the referee's reward is a free coupon: no points spent for it
    assert coupons(shop, bob) == [("issued", 0, "free-latte")]
    assert balance(shop, bob) == before + purchase.points
    # the purchase itself answers exactly what the rules gave (the bonus is not part of it)
    assert all(a.rule_id != "referral" for a in purchase.awards)


def test_signup_and_first_purchase_in_one_batch(shop: Database) -> None:
    anna, code = member(shop, "anna")
    result = send(shop, signup("s1", "bob", code), buy("o1", "30.00", "bob"))
    assert result.accepted == 2
    [ref] = referrals(shop)
    assert ref.status == "rewarded" and ref.referrer_id == anna
    assert [p for p, _ in referral_entries(shop, anna)] == [200]


def test_retries_never_reward_twice(shop: Database, clock: FrozenClock) -> None:
    anna, code = member(shop, "anna")
    one(shop, signup("s1", "bob", code))
    one(shop, buy("o1", "25.00", "bob"))
    again = send(shop, signup("s1", "bob", code), buy("o1", "25.00", "bob"))
    assert again.duplicates == 2
    assert len(referrals(shop)) == 1
    assert [p for p, _ in referral_entries(shop, anna)] == [200]
    assert balance(shop, anna) == 200
    # a later purchase does not qualify anything again
    one(shop, buy("o2", "50.00", "bob"))
    assert [p for p, _ in referral_entries(shop, anna)] == [200]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("ZZZZ-ZZZ", "'ZZZZ-ZZZ' is not a valid referral code (a character is probably mistyped)"),
        ("0000-0000", "no member has the referral code 0000-0000"),
    ],
)
def test_a_bad_code_rejects_the_referral_not_the_signup(
    shop: Database, typed: str, reason: str
) -> None:
    result = one(shop, signup("s1", "bob", typed))
    assert result.points == 100  # the welcome rule still pays
    [ref] = referrals(shop)
    assert (ref.status, ref.reason, ref.referrer_id) == ("rejected", reason, None)
    assert ref.signup_event_id == result.event_id


def test_self_referral_own_code_email_phone_and_card(shop: Database, clock: FrozenClock) -> None:
    anna, code = member(shop, "anna", email="anna@example.com", phone="+4915123456789")
    one(shop, signup("s0", "anna", code))
    one(shop, signup("s1", "bob", code, email="ANNA@example.com"))
    one(shop, signup("s2", "carl", code, phone="+49 151 2345 6789"))
    clock.advance(days=8)  # out of the weekly limit's way
    one(shop, buy("a1", "10.00", "anna", payment_fingerprint="card-42"))
    one(shop, signup("s3", "dora", code))
    one(shop, buy("d1", "40.00", "dora", payment_fingerprint="card-42"))
    reasons = [(r.status, r.reason) for r in referrals(shop)]
    assert reasons == [
        ("rejected", "self-referral: members cannot use their own referral code"),
        ("rejected", "self-referral: the referee has the referrer's email address"),
        ("rejected", "self-referral: the referee has the referrer's phone number"),
        (
            "rejected",
            "self-referral: the first purchase was paid with a payment method the referrer uses",
        ),
    ]
    assert referral_entries(shop, anna) == []


def test_referee_already_known(shop: Database, clock: FrozenClock) -> None:
    _, code = member(shop, "anna")
    _, other = member(shop, "zoe")
    one(shop, buy("o1", "30.00", "bob"))  # a customer already
    one(shop, signup("s1", "bob", code))
    one(shop, {"external_id": "s2", "type": "signup", "member_external_id": "carl"})  # no code
    one(shop, signup("s3", "carl", code))
    one(shop, signup("s4", "dora", code))
    one(shop, signup("s5", "dora", other))  # a second code for the same referee
    reasons = [r.reason for r in referrals(shop)]
    assert reasons == [
        "referee already known: they had made purchases before signing up",
        "referee already known: they had signed up before",
        None,
        "referee already known: they were referred before",
    ]


def test_weekly_limit_per_referrer(shop: Database, clock: FrozenClock) -> None:
    _, code = member(shop, "anna")
    one(shop, signup("s1", "m1", code))
    clock.advance(days=3)
    one(shop, signup("s2", "m2", code))
    clock.advance(days=3)
    one(shop, signup("s3", "m3", code))  # third within 7 days: over max_per_week 2
    clock.advance(days=2)  # s1 is now 8 days old: one slot free
    one(shop, signup("s4", "m4", code))
    states = [(r.status, r.reason) for r in referrals(shop)]
    assert states == [
        ("pending", None),
        ("pending", None),
        (
            "rejected",
            "the referrer already referred 2 members in the 7 days before (at most 2 a week)",
        ),
        ("pending", None),
    ]


def test_only_the_first_purchase_counts(shop: Database, clock: FrozenClock) -> None:
    anna, code = member(shop, "anna")
    one(shop, signup("s1", "bob", code))
    one(shop, buy("o1", "19.99", "bob"))
    one(shop, buy("o2", "50.00", "bob"))  # too late: the first purchase decided
    one(shop, signup("s2", "carl", code))
    clock.advance(days=31)
    one(shop, buy("o3", "50.00", "carl"))
    reasons = [(r.status, r.reason) for r in referrals(shop)]
    assert reasons == [
        ("rejected", "first purchase 19.99 USD below the minimum 20.00 USD"),
        ("rejected", "first purchase 31 days after signing up, later than the 30 allowed"),
    ]
    assert referral_entries(shop, anna) == []


def test_refund_of_the_qualifying_purchase_takes_both_rewards_back(
    shop: Database, clock: FrozenClock
) -> None:
    anna, code = member(shop, "anna", first_name="Anna")
    bob, _ = member(shop, "bob", first_name="Bob")
    one(shop, signup("s1", "bob", code))
    one(shop, buy("o1", "50.00", "bob"))
    clock.advance(days=1)
    partial = {"external_id": "r1", "type": "refund", "member_external_id": "bob"}
    one(shop, partial | {"refund_of": "o1", "amount": "30.00"})  # 20.00 left: still qualifies
    assert referrals(shop)[0].status == "rewarded"
    one(shop, partial | {"external_id": "r2", "refund_of": "o1", "amount": "0.01"})
    [ref] = referrals(shop)
    assert ref.status == "rejected"
    assert (
        ref.reason == "qualifying purchase refunded down to 19.99 USD, below the minimum 20.00 USD"
    )
    assert referral_entries(shop, anna) == [
        (200, "+200 pts: referral bonus: Bob joined with your code"),
        (-200, "-200 pts: referral bonus taken back: Bob's qualifying purchase o1 was refunded"),
    ]
    assert balance(shop, anna) == 0
    assert coupons(shop, bob) == [("cancelled", 0, "free-latte")]


def test_an_imported_refund_takes_the_bonus_back_from_its_lot_past_that_lots_expiry(
    shop: Database, clock: FrozenClock
) -> None:
    """History imported a year late: the referrer's bonus lot is past its expiry date
    today but was live when the refund, ten minutes after the purchase, happened.
    The bonus comes back out of it: no debt, and nothing left for the expiry job to
    take a second time."""
    from patron.ledger.jobs import run_jobs
    from patron.program.service import require_program

    anna, code = member(shop, "anna", first_name="Anna")
    member(shop, "bob", first_name="Bob")
    then = clock.now() - timedelta(days=400)
    one(shop, signup("s1", "bob", code) | {"occurred_at": then.isoformat()})
    one(shop, buy("o1", "50.00", "bob") | {"occurred_at": (then + timedelta(hours=1)).isoformat()})
    refund = {"external_id": "r1", "type": "refund", "member_external_id": "bob"}
    back = then + timedelta(hours=1, minutes=10)
    one(shop, refund | {"refund_of": "o1", "occurred_at": back.isoformat()})
    assert [p for p, _ in referral_entries(shop, anna)] == [200, -200]
    with shop.unit_of_work() as session:
        debt = session.scalar(select(PointAccount.debt).where(PointAccount.member_id == anna))
        assert debt == 0
        run_jobs(session, clock.now(), require_program(session)[1])
    assert balance(shop, anna) == 0


def test_points_already_spent_become_debt_and_a_used_coupon_stays(
    database: Database, clock: FrozenClock
) -> None:
    load_program(
        database,
        program(referee_reward={"points": 50}, referrer_reward={"reward": "free-latte"}),
        clock,
    )
    anna, code = member(database, "anna")
    bob, _ = member(database, "bob")
    one(database, signup("s1", "bob", code))
    one(database, buy("o1", "20.00", "bob"))
    with database.unit_of_work() as session:
        session.execute(
            Redemption.__table__.update()  # type: ignore[attr-defined]
            .where(Redemption.member_id == anna)
            .values(status="used", used_at=clock.now())
        )
    held = balance(database, bob)
    one(
        database,
        {"external_id": "r1", "type": "refund", "member_external_id": "bob", "refund_of": "o1"},
    )
    [ref] = referrals(database)
    assert ref.status == "rejected"
    assert ref.reason == (
        "qualifying purchase refunded; the referrer's coupon was already used, so it stays"
    )
    assert coupons(database, anna) == [("used", 0, "free-latte")]
    assert [p for p, _ in referral_entries(database, bob)] == [50, -50]
    assert balance(database, bob) < held


def test_bad_attribute_rejects_the_event_and_writes_nothing(shop: Database) -> None:
    result = send(shop, signup("s1", "bob", 12345)).results[0]
    assert result.status == "rejected"
    assert result.error is not None and result.error["field"] == "attributes.referral_code"
    bad_card = send(shop, buy("o1", "5.00", "carl", payment_fingerprint=["x"])).results[0]
    assert bad_card.error is not None
    assert bad_card.error["field"] == "attributes.payment_fingerprint"
    assert count(shop, Referral) == 0
    assert count(shop, LedgerEntry) == 0


def test_without_a_referrals_section_codes_are_ignored(
    database: Database, clock: FrozenClock
) -> None:
    data = program()
    del data["referrals"]
    load_program(database, data, clock)
    _, code = member(database, "anna")
    one(database, signup("s1", "bob", code))
    one(database, buy("o1", "50.00", "bob"))
    assert count(database, Referral) == 0


def test_the_weekly_limit_holds_for_concurrent_signups(shop: Database) -> None:
    """Each batch counts the referrer's week only once it holds the referrer's account
    lock, so signups racing with one code cannot all pass the limit (PostgreSQL)."""
    if not shop.is_postgres:
        pytest.skip("row locking is what is under test; SQLite serialises all writers")
    _, code = member(shop, "anna")
    start = threading.Barrier(8)

    def sign_up(i: int) -> str:
        start.wait()
        return one(shop, signup(f"s{i}", f"m{i}", code)).status

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(sign_up, range(8))) == ["accepted"] * 8
    states = [r.status for r in referrals(shop)]
    assert sorted(states) == ["pending"] * 2 + ["rejected"] * 6  # max_per_week 2


def test_the_jobs_close_referrals_whose_window_passed(shop: Database, clock: FrozenClock) -> None:
    from patron.program.service import require_program
    from patron.referrals.service import lapse_referrals

    anna, code = member(shop, "anna")
    one(shop, signup("s1", "m1", code))
    clock.advance(days=20)
    one(shop, signup("s2", "m2", code))
    clock.advance(days=11)  # s1 is 31 days old (within_days 30), s2 is 11 days old

    def lapse() -> int:
        with shop.unit_of_work() as session:
            return lapse_referrals(session, clock.now(), require_program(session)[1])

    assert lapse() == 1
    assert lapse() == 0  # done once
    states = [(r.status, r.reason) for r in referrals(shop)]
    assert states == [
        ("rejected", "no purchase within 30 days of signing up"),
        ("pending", None),
    ]
    one(shop, buy("p1", "25.00", "m1"))  # too late: the referral stays closed, unpaid
    assert [r.status for r in referrals(shop)] == ["rejected", "pending"]
    assert referral_entries(shop, anna) == []
