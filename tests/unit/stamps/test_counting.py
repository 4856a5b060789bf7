"""Pure stamp arithmetic: per item vs per purchase, filters, minimum spend, caps, filling
cards with surplus carried over, owed stamps, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from patron.stamps.counting import (
    Fill,
    Line,
    expires_at,
    fill_cards,
    is_expired,
    remaining_lines,
    stamps_earned,
)
from patron.stamps.definition import StampCardDefinition

LATTE = Line("LATTE", "coffee", 2, 340)
CAKE = Line("CAKE", "bakery", 1, 260)


def card(**extra: Any) -> StampCardDefinition:
    base: dict[str, Any] = {"id": "coffee", "name": "Coffee card", "goal": 9, "reward": "x"}
    return StampCardDefinition.model_validate({**base, **extra})


def earned(
    definition: StampCardDefinition, lines: list[Line], amount: int, min_spend: int = 0
) -> int:
    return stamps_earned(definition, lines, amount, currency="GBP", min_spend=min_spend).stamps


def test_per_item_counts_matching_quantities() -> None:
    coffee = card(per="item", lines={"category": ["coffee"]})
    assert earned(coffee, [LATTE, CAKE], 940) == 2
    assert earned(coffee, [CAKE], 260) == 0
    assert earned(card(per="item"), [LATTE, CAKE], 940) == 3  # no filter: every item
    assert earned(card(per="item"), [], 500) == 0  # no lines, no items
    by_sku = card(per="item", lines={"sku": ["CAKE"]})
    assert earned(by_sku, [LATTE, CAKE], 940) == 1


def test_per_purchase_gives_one_stamp_when_something_matches() -> None:
    coffee = card(per="purchase", lines={"category": ["coffee"]})
    assert earned(coffee, [LATTE, CAKE], 940) == 1
    assert earned(coffee, [CAKE], 260) == 0
    assert earned(card(), [], 500) == 1  # amount-only purchase
    assert earned(card(), [], 0) == 0


def test_minimum_spend_counts_matching_lines_or_the_whole_purchase() -> None:
    coffee = card(per="item", lines={"category": ["coffee"]}, min_spend="7.00")
    assert earned(coffee, [LATTE, CAKE], 940, min_spend=700) == 0  # 6.80 of coffee
    assert earned(coffee, [Line("LATTE", "coffee", 3, 340)], 1020, min_spend=700) == 3
    whole = card(min_spend="9.00")
    assert earned(whole, [LATTE, CAKE], 940, min_spend=900) == 1
    result = stamps_earned(whole, [], 800, currency="GBP", min_spend=900)
    assert result.stamps == 0 and result.reason == "8.00 GBP spent, less than 9.00 GBP"


def test_at_most_max_per_purchase() -> None:
    capped = card(per="item", max_per_purchase=2)
    result = stamps_earned(capped, [Line("LATTE", "coffee", 5, 100)], 500, currency="GBP")
    assert result.stamps == 2 and "at most 2 per purchase" in result.reason
    huge = stamps_earned(card(per="item"), [Line("X", None, 10**9, 1)], 10**9, currency="GBP")
    assert huge.stamps == 1_000


def test_refunded_quantities_come_off_the_lines() -> None:
    assert remaining_lines([LATTE, CAKE], [1, 1]) == [Line("LATTE", "coffee", 1, 340)]
    assert remaining_lines([LATTE, CAKE], [2, 1]) == []


def test_filling_cards_carries_the_surplus() -> None:
    assert fill_cards(3, 9, 2) == [Fill(0, 2, 5, False)]
    assert fill_cards(8, 9, 3) == [Fill(0, 1, 9, True), Fill(1, 2, 2, False)]
    assert fill_cards(8, 9, 1) == [Fill(0, 1, 9, True)]  # no empty new card
    assert fill_cards(0, 3, 7) == [
        Fill(0, 3, 3, True),
        Fill(1, 3, 3, True),
        Fill(2, 1, 1, False),
    ]


def test_owed_stamps_are_repaid_first() -> None:
    assert fill_cards(-2, 9, 3) == [Fill(0, 3, 1, False)]
    assert fill_cards(-2, 9, 1) == [Fill(0, 1, -1, False)]


@given(st.integers(-20, 20), st.integers(1, 30), st.integers(0, 200))
def test_filling_keeps_every_stamp(count: int, goal: int, stamps: int) -> None:
    count = min(count, goal - 1)
    fills = fill_cards(count, goal, stamps)
    assert sum(f.added for f in fills) == stamps
    assert all(f.complete == (f.count == goal) for f in fills)
    completed = sum(f.complete for f in fills)
    assert completed == max(0, count + stamps) // goal if count + stamps >= goal else completed == 0
    last = fills[-1].count if fills and not fills[-1].complete else 0 if fills else count
    assert (count + stamps - completed * goal) == (last if fills else count)


def test_expiry_from_the_first_stamp() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    assert expires_at(card(), start) is None
    end = expires_at(card(expires_after_days=30), start)
    assert end == start + timedelta(days=30)
    assert not is_expired(end, start + timedelta(days=29))
    assert is_expired(end, end)
    assert not is_expired(None, start + timedelta(days=10_000))
