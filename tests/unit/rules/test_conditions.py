"""Every condition kind, true and false, and the reasons given when false."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.unit.rules.factories import SUNDAY, event, fires, line, member, program, purchase, run


def test_event_type_and_custom_name() -> None:
    assert fires({"event": "purchase"}, purchase())
    assert not fires({"event": "purchase"}, event("signup"))
    assert fires({"event": ["signup", "purchase"]}, event("signup"))
    review = event("custom", name="left-review")
    assert fires({"event": "custom", "name": "left-review"}, review)
    assert not fires({"event": "custom", "name": ["survey"]}, review)


@pytest.mark.parametrize(
    ("cmp", "amount", "expected"),
    [
        ({"gte": "10.00"}, 1000, True),
        ({"gte": "10.00"}, 999, False),
        ({"gt": "10.00"}, 1000, False),
        ({"lt": "10.00"}, 999, True),
        ({"lte": "10.00"}, 1000, True),
        ({"lte": "10.00"}, 1001, False),
        ({"eq": "10.00"}, 1000, True),
        ({"ne": "10.00"}, 1000, False),
        ({"in": ["5.00", "10.00"]}, 1000, True),
        ({"not_in": ["5.00", "10.00"]}, 1000, False),
        ({"gte": "10", "lt": "20"}, 1999, True),
        ({"gte": "10", "lt": "20"}, 2000, False),
        ("10.00", 1000, True),  # bare value means eq
        (["1.00", "2.00"], 200, True),  # bare list means in
        ({"gte": 12.5}, 1250, True),  # unquoted YAML float, read exactly
    ],
)
def test_amount_comparisons_in_minor_units(cmp: object, amount: int, expected: bool) -> None:
    assert fires({"amount": cmp}, purchase(amount)) is expected


def test_amount_in_zero_decimal_currency() -> None:
    prog = program(
        {"id": "big", "when": {"amount": {"gte": "1000"}}, "effect": {"fixed": 5}}, currency="JPY"
    )
    assert run(prog, purchase(1000)).points == 5
    assert run(prog, purchase(999)).points == 0


def test_event_and_member_attribute_comparisons() -> None:
    ev = purchase(attributes={"source": "instagram", "score": 4.5, "meta": {"campaign": "xmas"}})
    mem = member(attributes={"city": "London", "age": 34})
    assert fires({"event.attributes.source": "instagram"}, ev)
    assert fires({"event.attributes.score": {"gte": "4.5"}}, ev)  # float attribute vs Decimal
    assert fires({"event.attributes.score": {"eq": 4.5}}, ev)
    assert not fires({"event.attributes.score": {"gt": 4.5}}, ev)
    assert fires({"event.attributes.meta.campaign": {"in": ["xmas", "easter"]}}, ev)
    assert fires({"member.attributes.city": ["London", "Leeds"]}, ev, mem)
    assert not fires({"member.attributes.city": {"not_in": ["London"]}}, ev, mem)
    assert fires({"member.attributes.age": {"gte": 18, "lt": 65}}, ev, mem)
    assert fires({"member.attributes.city": "London", "member.attributes.age": 34}, ev, mem)
    assert not fires({"member.attributes.city": "London", "member.attributes.age": 35}, ev, mem)


def test_missing_attribute_is_none() -> None:
    mem = member(attributes={"city": "London"})
    assert not fires({"member.attributes.vip": True}, purchase(), mem)
    assert fires({"member.attributes.vip": {"ne": True}}, purchase(), mem)
    assert fires({"member.attributes.vip": None}, purchase(), mem)
    assert not fires({"member.attributes.vip": {"gte": 1}}, purchase(), mem)  # no TypeError
    assert not fires({"member.attributes.city": {"gt": 3}}, purchase(), mem)  # str vs int


def test_channel_store_tier() -> None:
    ev = purchase(channel="app", store="soho")
    assert fires({"channel": ["app", "web"]}, ev)
    assert not fires({"channel": "web"}, ev)
    assert fires({"store": "soho"}, ev)
    assert not fires({"store": ["airport"]}, ev)
    assert not fires({"store": ["airport"]}, purchase())  # event without a store
    assert fires({"tier": ["gold"]}, ev, member(tier="gold"))
    assert not fires({"tier": ["gold"]}, ev, member())


def test_purchase_count_and_first_purchase() -> None:
    assert fires({"first_purchase": True}, purchase(), member(purchase_count=0))
    assert not fires({"first_purchase": True}, purchase(), member(purchase_count=1))
    assert not fires({"first_purchase": True}, event("signup"), member(purchase_count=0))
    assert fires({"first_purchase": False}, purchase(), member(purchase_count=3))
    assert fires({"purchase_count": {"gte": 9}}, purchase(), member(purchase_count=9))
    assert not fires({"purchase_count": {"gte": 9}}, purchase(), member(purchase_count=8))


def test_day_of_week_uses_program_timezone() -> None:
    # Sunday 23:30 UTC is Monday 08:30 in Tokyo.
    late_sunday = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    when = {"day_of_week": ["sat", "sun"]}
    london = program({"id": "w", "when": when, "effect": {"fixed": 1}})
    tokyo = program({"id": "w", "when": when, "effect": {"fixed": 1}}, timezone="Asia/Tokyo")
    assert run(london, purchase(at=late_sunday)).points == 1
    assert run(tokyo, purchase(at=late_sunday)).points == 0
    assert "needs Sat or Sun (Asia/Tokyo)" in run(tokyo, purchase(at=late_sunday)).skipped[0]


def test_day_of_week_across_daylight_saving() -> None:
    # 29 March 2026 (BST starts): 23:30 UTC Saturday 28th is still Saturday in London;
    # in summer 23:30 UTC Saturday is 00:30 Sunday London.
    summer_sat_night = datetime(2026, 6, 20, 23, 30, tzinfo=UTC)
    assert fires({"day_of_week": "sun"}, purchase(at=summer_sat_night))
    winter_sat_night = datetime(2026, 1, 17, 23, 30, tzinfo=UTC)
    assert fires({"day_of_week": "sat"}, purchase(at=winter_sat_night))


@pytest.mark.parametrize(
    ("window", "hh", "mm", "expected"),
    [
        ({"from": "07:00", "to": "10:00"}, 7, 0, True),
        ({"from": "07:00", "to": "10:00"}, 9, 59, True),
        ({"from": "07:00", "to": "10:00"}, 10, 0, False),  # end is exclusive
        ({"from": "07:00", "to": "10:00"}, 6, 59, False),
        ({"from": "22:00", "to": "02:00"}, 23, 15, True),  # wraps past midnight
        ({"from": "22:00", "to": "02:00"}, 1, 59, True),
        ({"from": "22:00", "to": "02:00"}, 2, 0, False),
        ({"from": "22:00", "to": "02:00"}, 12, 0, False),
        ({"from": "17:00", "to": "24:00"}, 23, 59, True),
    ],
)
def test_time_of_day_windows(window: dict[str, str], hh: int, mm: int, expected: bool) -> None:
    at = datetime(2026, 1, 14, hh, mm, tzinfo=UTC)  # January: London == UTC
    assert fires({"time_of_day": window}, purchase(at=at)) is expected


def test_time_of_day_is_local_time_and_several_windows() -> None:
    at = datetime(2026, 7, 14, 6, 30, tzinfo=UTC)  # 07:30 in London (BST)
    assert fires({"time_of_day": {"from": "07:00", "to": "08:00"}}, purchase(at=at))
    windows = [{"from": "12:00", "to": "14:00"}, {"from": "07:00", "to": "08:00"}]
    assert fires({"time_of_day": windows}, purchase(at=at))
    assert not fires({"time_of_day": windows[:1]}, purchase(at=at))


def test_naive_event_time_is_utc() -> None:
    naive = datetime(2026, 1, 14, 7, 30)
    assert fires({"time_of_day": {"from": "07:00", "to": "08:00"}}, purchase(at=naive))


def test_line_conditions() -> None:
    ev = purchase(
        1400,
        lines=(line("ESP", 2, 300, "coffee"), line("CROIS", 1, 250, "pastry"), line("MUG", 1, 550)),
    )
    assert fires({"lines": {"category": "pastry"}}, ev)
    assert not fires({"lines": {"category": "pastry", "min_quantity": 2}}, ev)
    assert fires({"lines": {"category": "coffee", "min_quantity": 2}}, ev)
    assert fires({"lines": {"sku": ["MUG"], "category": ["pastry"], "min_quantity": 2}}, ev)
    assert fires({"lines": {"category": "coffee", "min_amount": "6.00"}}, ev)
    assert not fires({"lines": {"category": "coffee", "min_amount": "6.01"}}, ev)
    assert not fires({"lines": {"sku": "TEA"}}, ev)
    assert not fires({"lines": {"sku": "TEA"}}, purchase())


def test_all_any_not() -> None:
    ev = purchase(2000, channel="app", store="soho")
    assert fires({"all": [{"channel": "app"}, {"amount": {"gte": "20"}}]}, ev)
    assert not fires({"all": [{"channel": "app"}, {"amount": {"gt": "20"}}]}, ev)
    assert fires({"any": [{"channel": "web"}, {"store": "soho"}]}, ev)
    assert not fires({"any": [{"channel": "web"}, {"store": "airport"}]}, ev)
    assert fires({"not": {"store": "airport"}}, ev)
    assert not fires({"not": {"store": "soho"}}, ev)
    nested = {
        "any": [{"not": {"channel": "app"}}, {"all": [{"store": "soho"}, {"channel": "app"}]}]
    }
    assert fires(nested, ev)
    assert fires({}, ev)  # an empty condition always holds


def test_skipped_reasons_name_the_rule_and_the_failed_condition() -> None:
    prog = program(
        {
            "id": "weekday-bonus",
            "when": {"event": "purchase", "day_of_week": ["mon", "tue"]},
            "effect": {"fixed": 5},
        },
        {"id": "big-spender", "when": {"amount": {"gte": "50.00"}}, "effect": {"fixed": 5}},
        {"id": "not-soho", "when": {"not": {"store": "soho"}}, "effect": {"fixed": 5}},
        {
            "id": "either",
            "when": {"any": [{"channel": "web"}, {"tier": "gold"}]},
            "effect": {"fixed": 5},
        },
    )
    result = run(prog, purchase(1000, store="soho"))
    assert result.effects == ()
    assert result.skipped == (
        "rule weekday-bonus: needs Mon or Tue (Europe/London)",
        "rule big-spender: needs amount at least 50.00 USD",
        "rule not-soho: excluded: store soho",
        "rule either: needs any of: channel web; tier gold",
    )


def test_attribute_operands_keep_decimal_not_float() -> None:
    prog = program(
        {"id": "r", "when": {"member.attributes.score": {"gte": 0.1}}, "effect": {"fixed": 1}}
    )
    rule = prog.rules[0]
    assert rule.when is not None and rule.when.member_attributes is not None
    assert rule.when.member_attributes["score"].gte == Decimal("0.1")
    assert run(prog, purchase(at=SUNDAY), member(attributes={"score": 0.1})).points == 1


def test_numbers_compare_as_numbers_strings_as_strings() -> None:
    mem = member(attributes={"age": "34", "zip": "01234", "joined": "2024-05-01"})
    assert fires({"member.attributes.age": {"gte": 18}}, purchase(), mem)
    assert fires({"member.attributes.age": 34}, purchase(), mem)
    assert fires({"member.attributes.age": {"in": [33, 34]}}, purchase(), mem)
    assert not fires({"member.attributes.zip": "1234"}, purchase(), mem)
    assert fires({"member.attributes.joined": {"lt": "2025-01-01"}}, purchase(), mem)
    assert not fires({"member.attributes.age": {"gte": "abc"}}, purchase(), mem)
