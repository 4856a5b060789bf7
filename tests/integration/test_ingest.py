"""Events through the real engine into the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import Conflict
from patron.events.ingest import ingest
from patron.events.models import Event
from patron.ledger.models import LedgerEntry, PointLot
from patron.ledger.service import get_balance, get_statement
from tests.integration.conftest import CAFE, count, load_program, send


def purchase(ext: str, member: str = "alice", **extra: Any) -> dict[str, Any]:
    body = {
        "external_id": ext,
        "type": "purchase",
        "member_external_id": member,
        "lines": [
            {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": "3.00"},
            {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": "4.00"},
        ],
    }
    body.update(extra)
    return body


def balance(database: Database, member_id: int, clock: FrozenClock):  # type: ignore[no-untyped-def]
    with database.unit_of_work() as session:
        return get_balance(session, member_id, clock.now())


def test_purchase_earns_points_with_explanations(cafe: Database, clock: FrozenClock) -> None:
    result = send(cafe, purchase("o1")).results[0]
    assert result.status == "accepted"
    # 10 pts base on 10.00, +6 for coffee (x2 on 6.00), +50 first purchase
    assert result.points == 66
    by_rule = {a.rule_id: a.points for a in result.awards}
    assert by_rule == {"base-earn": 10, "coffee-double": 6, "first-visit": 50}
    assert all(a.explanation for a in result.awards)
    assert result.program_version == 1
    b = balance(cafe, result.member_id or 0, clock)
    assert (b.available, b.pending, b.balance) == (66, 0, 66)
    with cafe.unit_of_work() as session:
        lines = get_statement(session, result.member_id or 0)
    assert [line.points for line in lines] == [66]  # one entry per event ...
    assert {
        a["rule_id"]: a["points"] for a in lines[0].awards or []
    } == by_rule  # ... of its awards
    assert "base-earn" in lines[0].explanation and "first-visit" in lines[0].explanation


def test_second_purchase_gets_no_first_visit_bonus(cafe: Database) -> None:
    first, second = send(cafe, purchase("o1"), purchase("o2")).results
    assert first.points == 66 and second.points == 16


def test_same_batch_twice_changes_nothing(cafe: Database, clock: FrozenClock) -> None:
    rows = [purchase(f"o{i}", member=f"m{i % 3}") for i in range(9)]
    first = send(cafe, *rows)
    assert first.accepted == 9
    before = (count(cafe, Event), count(cafe, LedgerEntry), count(cafe, PointLot))
    second = send(cafe, *rows)
    assert (second.accepted, second.duplicates) == (0, 9)
    assert [r.points for r in second.results] == [r.points for r in first.results]
    assert [r.event_id for r in second.results] == [r.event_id for r in first.results]
    assert (count(cafe, Event), count(cafe, LedgerEntry), count(cafe, PointLot)) == before


def test_same_external_id_with_other_payload_is_a_conflict(cafe: Database) -> None:
    send(cafe, purchase("o1"))
    other = purchase("o1", channel="online")
    result = send(cafe, other).results[0]
    assert result.status == "rejected"
    assert result.error and result.error["status"] == Conflict.status_code
    assert result.error["field"] == "external_id"
    assert count(cafe, Event) == 1


def test_bad_rows_are_rejected_and_good_rows_land(cafe: Database) -> None:
    bad_amount = purchase("o2", amount="-5")
    bad_price = purchase("o3")
    bad_price["lines"][0]["unit_price"] = "1.234"
    result = send(cafe, purchase("o1"), bad_amount, bad_price, {"type": "purchase"}, purchase("o4"))
    assert [r.status for r in result.results] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert result.results[1].error["field"] == "amount"
    assert result.results[2].error["field"] == "lines[0].unit_price"
    assert result.results[3].error["field"] == "external_id"
    assert count(cafe, Event) == 2


def test_unknown_members_are_rejected_when_the_program_says_so(
    database: Database, clock: FrozenClock
) -> None:
    load_program(database, {**CAFE, "unknown_members": "reject"}, clock)
    result = send(database, purchase("o1", member="stranger")).results[0]
    assert result.status == "rejected"
    assert result.error["field"] == "member_external_id"
    signup = send(
        database, {"external_id": "s1", "type": "signup", "member_external_id": "stranger"}
    ).results[0]
    assert signup.status == "accepted" and signup.points == 100
    assert send(database, purchase("o1", member="stranger")).results[0].status == "accepted"


def test_partial_refund_takes_back_points_of_refunded_lines(
    cafe: Database, clock: FrozenClock
) -> None:
    bought = send(cafe, purchase("o1")).results[0]
    refund = send(
        cafe,
        {
            "external_id": "r1",
            "type": "refund",
            "member_external_id": "alice",
            "refund_of": "o1",
            "lines": [{"sku": "LATTE", "quantity": 1}],
        },
    ).results[0]
    # one latte of 3.00: base 3 of 10, coffee bonus 3 of 6; first-visit bonus stays
    assert refund.status == "accepted" and refund.points == -6
    too_much = send(
        cafe,
        {
            "external_id": "r2",
            "type": "refund",
            "member_external_id": "alice",
            "refund_of": "o1",
            "lines": [{"sku": "LATTE", "quantity": 2}],
        },
    )
    assert too_much.results[0].error["field"] == "lines[0].quantity"
    rest = send(
        cafe,
        {"external_id": "r3", "type": "refund", "member_external_id": "alice", "refund_of": "o1"},
    ).results[0]
    assert rest.points == -60
    assert balance(cafe, bought.member_id or 0, clock).balance == 0
    again = send(
        cafe,
        {"external_id": "r4", "type": "refund", "member_external_id": "alice", "refund_of": "o1"},
    ).results[0]
    assert again.error["field"] == "refund_of"


def test_refunds_in_the_batch_of_their_purchase_count_as_in_batches_of_their_own(
    cafe: Database, clock: FrozenClock
) -> None:
    def refund(ext: str, **extra: Any) -> dict[str, Any]:
        return {
            "external_id": ext,
            "type": "refund",
            "member_external_id": "alice",
            "refund_of": "o1",
            **extra,
        }

    one_latte = {"lines": [{"sku": "LATTE", "quantity": 1}]}
    two_lattes = {"lines": [{"sku": "LATTE", "quantity": 2}]}
    together = send(
        cafe,
        refund("r0"),  # before its purchase: not known yet
        purchase("o1"),
        refund("r1", **one_latte),
        refund("r2", **two_lattes),  # one latte is left
        refund("r3"),
    ).results
    assert together[0].error["field"] == "refund_of"
    assert [r.status for r in together[1:]] == ["accepted", "accepted", "rejected", "accepted"]
    assert together[3].error["field"] == "lines[0].quantity"
    # The same events one batch each (another member, same shop): the same points.
    alone = [
        send(
            cafe, {**row, "external_id": row["external_id"] + "-b", "member_external_id": "bob"}
        ).results[0]
        for row in (
            purchase("o2"),
            {**refund("r1", **one_latte), "refund_of": "o2-b"},
            {**refund("r3"), "refund_of": "o2-b"},
        )
    ]
    assert [r.points for r in alone] == [together[1].points, together[2].points, together[4].points]
    assert together[2].points == -6 and together[4].points == -60


def test_refund_of_spent_points_leaves_debt_repaid_by_later_earnings(
    cafe: Database, clock: FrozenClock
) -> None:
    from patron.ledger.service import debit

    member = send(cafe, purchase("o1")).results[0].member_id or 0
    with cafe.unit_of_work() as session:
        debit(session, member, 60, reason="reward", actor="test", at=clock.now(), program=None)
    send(
        cafe,
        {"external_id": "r1", "type": "refund", "member_external_id": "alice", "refund_of": "o1"},
    )
    b = balance(cafe, member, clock)
    assert (b.balance, b.available, b.debt) == (-60, -60, 60)
    send(cafe, purchase("o2"))  # earns 16
    b = balance(cafe, member, clock)
    assert (b.balance, b.available, b.debt) == (-44, -44, 44)


@pytest.mark.parametrize("together", [True, False], ids=["one-batch", "two-batches"])
def test_an_imported_refund_takes_back_its_purchase_lot_past_that_lots_expiry(
    cafe: Database, clock: FrozenClock, together: bool
) -> None:
    """A year-old purchase refunded ten minutes after it, imported today: its lot
    is past its expiry date (365 days) but was live when the refund happened. The
    refund takes it back; it used to become debt, and the expiry job then took
    the same 66 points again (balance -66 for a purchase that was refunded)."""
    from patron.ledger.jobs import run_jobs
    from patron.program.service import require_program

    bought = clock.now() - timedelta(days=400)
    sale = purchase("o1", occurred_at=bought.isoformat())
    back = {
        "external_id": "r1",
        "type": "refund",
        "member_external_id": "alice",
        "refund_of": "o1",
        "occurred_at": (bought + timedelta(minutes=10)).isoformat(),
    }
    results = (
        send(cafe, sale, back).results
        if together
        else [*send(cafe, sale).results, *send(cafe, back).results]
    )
    assert [r.points for r in results] == [66, -66]
    member = results[0].member_id or 0
    b = balance(cafe, member, clock)
    assert (b.balance, b.debt) == (0, 0)
    with cafe.unit_of_work() as session:
        assert session.scalars(select(PointLot.remaining)).all() == [0]
        report = run_jobs(session, clock.now(), require_program(session)[1])
    assert report.expired_points == 0
    assert (balance(cafe, member, clock).balance, balance(cafe, member, clock).debt) == (0, 0)


IDLE_120 = {**CAFE, "points": {"pending_days": 0, "expiry": {"policy": "inactivity", "days": 120}}}


def test_points_expired_by_inactivity_stay_expired_when_the_member_comes_back(
    database: Database, clock: FrozenClock
) -> None:
    """Away 130 days under a 120-day inactivity policy, back before the expiry job
    ran: the 66 points expired on day 120. They used to come back, spendable,
    with the new purchase's 16 (the policy's date is worked out from the last
    activity, which the purchase moved), and the job then found nothing to expire."""
    from patron.ledger.jobs import run_jobs
    from patron.program.service import require_program

    load_program(database, IDLE_120, clock)
    member = send(database, purchase("o1")).results[0].member_id or 0
    clock.advance(days=130)
    assert send(database, purchase("o2")).results[0].points == 16
    b = balance(database, member, clock)
    assert (b.available, b.balance) == (16, 82)  # the 66 are expired, the job not yet run
    with database.unit_of_work() as session:
        report = run_jobs(session, clock.now(), require_program(session)[1])
    assert report.expired_points == 66
    b = balance(database, member, clock)
    assert (b.available, b.balance) == (16, 16)


def test_a_goodwill_grant_to_a_lapsed_member_is_not_expired_on_arrival(
    database: Database, clock: FrozenClock
) -> None:
    """Points granted to a member idle past the policy's days count their own 120
    days (they used to take the member's old date: expired as they were given)."""
    from patron.ledger.jobs import run_jobs
    from patron.ledger.service import adjust
    from patron.program.service import require_program

    load_program(database, IDLE_120, clock)
    member = send(database, purchase("o1")).results[0].member_id or 0
    clock.advance(days=130)
    with database.unit_of_work() as session:
        program = require_program(session)[1]
        adjust(
            session, member, 50, reason="we miss you", actor="t", at=clock.now(), program=program
        )
        report = run_jobs(session, clock.now(), program)
    assert report.expired_points == 66
    assert (
        balance(database, member, clock).available,
        balance(database, member, clock).balance,
    ) == (50, 50)
    clock.advance(days=121)
    with database.unit_of_work() as session:
        assert run_jobs(session, clock.now(), require_program(session)[1]).expired_points == 50


def test_an_imported_history_expires_what_inactivity_expired_between_its_events(
    database: Database, clock: FrozenClock
) -> None:
    """The same two purchases in one batch, dated 130 days apart: the same outcome
    as if the job had run every day between them."""
    from patron.ledger.jobs import run_jobs
    from patron.program.service import require_program

    load_program(database, IDLE_120, clock)
    first = clock.now() - timedelta(days=140)
    results = send(
        database,
        purchase("o1", occurred_at=first.isoformat()),
        purchase("o2", occurred_at=(first + timedelta(days=130)).isoformat()),
    ).results
    member = results[0].member_id or 0
    with database.unit_of_work() as session:
        report = run_jobs(session, clock.now(), require_program(session)[1])
    assert report.expired_points == 66
    assert balance(database, member, clock).balance == 16


def test_pending_points_wait_and_then_expire(database: Database, clock: FrozenClock) -> None:
    load_program(
        database,
        {**CAFE, "points": {"pending_days": 14, "expiry": {"policy": "rolling", "days": 100}}},
        clock,
    )
    from patron.core.errors import InsufficientPoints
    from patron.ledger.jobs import run_jobs
    from patron.ledger.service import debit
    from patron.program.service import require_program

    member = send(database, purchase("o1")).results[0].member_id or 0
    b = balance(database, member, clock)
    assert (b.available, b.pending) == (0, 66)
    with pytest.raises(InsufficientPoints), database.unit_of_work() as session:
        debit(session, member, 10, reason="too early", actor="t", at=clock.now(), program=None)
    clock.advance(days=14)
    b = balance(database, member, clock)
    assert (b.available, b.pending, b.expiring_soon) == (66, 0, 0)
    clock.advance(days=80)
    assert balance(database, member, clock).expiring_soon == 66
    clock.advance(days=6)
    assert balance(database, member, clock).available == 0  # expired, even before the job
    with database.unit_of_work() as session:
        report = run_jobs(session, clock.now(), require_program(session)[1])
    assert report.expired_points == 66
    b = balance(database, member, clock)
    assert (b.balance, b.available) == (0, 0)


def test_blocked_members_earn_nothing(cafe: Database) -> None:
    from patron.members.models import Member

    member = send(cafe, purchase("o1")).results[0].member_id
    with cafe.unit_of_work() as session:
        row = session.get(Member, member)
        assert row is not None
        row.status = "blocked"
    result = send(cafe, purchase("o2")).results[0]
    assert result.status == "accepted" and result.points == 0


def test_each_event_records_the_program_version_that_scored_it(
    cafe: Database, clock: FrozenClock
) -> None:
    assert send(cafe, purchase("o1")).results[0].program_version == 1
    load_program(cafe, {**CAFE, "rules": CAFE["rules"][:1]}, clock)
    second = send(cafe, purchase("o2")).results[0]
    assert second.program_version == 2 and second.points == 10


BUDGETED = {
    **CAFE,
    "rules": [
        {"id": "launch", "when": {"event": "purchase"}, "effect": {"fixed": 30}, "budget": 100},
    ],
}


def test_a_rule_budget_is_never_exceeded(database: Database, clock: FrozenClock) -> None:
    load_program(database, BUDGETED, clock)
    first = send(database, *[purchase(f"o{i}", member=f"m{i}") for i in range(3)])
    assert [r.points for r in first.results] == [30, 30, 30]
    rest = send(database, purchase("o3", member="m3"), purchase("o4", member="m4"))
    assert [r.points for r in rest.results] == [10, 0]
    assert "budget" in rest.results[0].awards[0].explanation


def test_spendable_points_in_bulk_agrees_with_each_balance(
    cafe: Database, clock: FrozenClock
) -> None:
    from patron.ledger.service import debit, spendable_points

    ids = [
        r.member_id or 0
        for r in send(cafe, *[purchase(f"o{i}", member=f"m{i % 4}") for i in range(10)]).results
    ]
    with cafe.unit_of_work() as session:
        debit(session, ids[0], 30, reason="t", actor="t", at=clock.now(), program=None)
    clock.advance(days=400)  # everything expired for all but the member who earns now
    send(cafe, purchase("late", member="m1"))
    members = sorted(set(ids))
    with cafe.unit_of_work() as session:
        bulk = spendable_points(session, members, clock.now())
        each = {m: get_balance(session, m, clock.now()).available for m in members}
    assert bulk == {m: n for m, n in each.items() if n > 0}
    assert list(bulk) == [ids[1]]


def test_a_cap_per_member_per_day_holds_across_batches(
    database: Database, clock: FrozenClock
) -> None:
    capped = {**CAFE, "rules": [{**CAFE["rules"][0], "cap": {"points": 12, "per": "day"}}]}
    load_program(database, capped, clock)
    today = clock.now().replace(hour=9, minute=0, second=0, microsecond=0)
    at = [today.isoformat(), (today.replace(hour=10)).isoformat()]
    plain = {"lines": [], "amount": "10.00"}
    first = send(database, purchase("o1", occurred_at=at[0], **plain)).results[0]
    # Each batch reads what earlier batches used of the cap on that member and day.
    second = send(database, purchase("o2", occurred_at=at[1], **plain)).results[0]
    third = send(
        database,
        purchase("o3", occurred_at=at[1], **plain),
        purchase("b1", member="bob", occurred_at=at[1], **plain),
    ).results
    assert (first.points, second.points) == (10, 2)
    assert [r.points for r in third] == [0, 10]  # alice's cap is used up, not bob's
    clock.advance(days=1)
    tomorrow = send(database, purchase("o4", occurred_at=clock.now().isoformat(), **plain))
    assert tomorrow.results[0].points == 10


def test_a_locked_account_reads_what_bulk_writes_wrote_in_the_same_transaction(
    cafe: Database,
) -> None:
    from patron.ledger.service import lock_account

    member_id = send(cafe, purchase("o1")).results[0].member_id or 0
    with cafe.unit_of_work() as session:
        account = lock_account(session, member_id)  # an ORM object, held in the session
        before = account.balance
        earned = ingest(session, [purchase("o2")]).results[0].points  # Core writes the account
        assert lock_account(session, member_id).balance == before + earned
