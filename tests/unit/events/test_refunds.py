"""Pure refund arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.core.errors import InvalidInput
from patron.events.refunds import RefundState, apply_refund, points_to_take_back


def state() -> RefundState:
    # 2 x LATTE at 3.00, 1 x CAKE at 4.00 = 10.00
    return RefundState(1000, [2, 1], [300, 400])


SKUS = ["LATTE", "CAKE"]


def test_partial_refund_by_line_then_full_refund_of_the_rest() -> None:
    s = state()
    amount, lines = apply_refund(s, SKUS, [("LATTE", 1)], None, "GBP")
    assert amount == 300
    assert lines == [{"sku": "LATTE", "quantity": 1, "line": 0}]
    amount, lines = apply_refund(s, SKUS, None, None, "GBP")
    assert amount == 700
    assert lines == [
        {"sku": "LATTE", "quantity": 1, "line": 0},
        {"sku": "CAKE", "quantity": 1, "line": 1},
    ]
    assert s.full


def test_refund_larger_than_bought_is_refused_naming_the_field() -> None:
    s = state()
    with pytest.raises(InvalidInput) as err:
        apply_refund(s, SKUS, [("CAKE", 2)], None, "GBP")
    assert err.value.field == "lines[0].quantity"
    with pytest.raises(InvalidInput) as err:
        apply_refund(s, SKUS, [("TEA", 1)], None, "GBP")
    assert err.value.field == "lines[0].sku"


def test_amount_refunds_only_for_purchases_without_lines() -> None:
    with pytest.raises(InvalidInput) as err:
        apply_refund(state(), SKUS, None, 100, "GBP")
    assert err.value.field == "lines"
    s = RefundState(1000, [], [])
    assert apply_refund(s, [], None, 400, "GBP")[0] == 400
    with pytest.raises(InvalidInput) as err:
        apply_refund(s, [], None, 601, "GBP")
    assert err.value.field == "amount"
    assert err.value.detail == "refund of 6.01 GBP exceeds the 6.00 GBP left to refund"


def test_fully_refunded_purchase_cannot_be_refunded_again() -> None:
    s = state()
    apply_refund(s, SKUS, None, None, "GBP")
    with pytest.raises(InvalidInput) as err:
        apply_refund(s, SKUS, None, None, "GBP")
    assert err.value.field == "refund_of"


def test_points_follow_the_refunded_lines_and_fixed_bonus_only_on_full_refund() -> None:
    awards = [(10, {"0": 600, "1": 400}), (6, {"0": 600}), (50, None)]
    s = state()
    apply_refund(s, SKUS, [("LATTE", 1)], None, "GBP")
    # base: 10 * 300/1000 = 3; coffee-only: 6 * 300/600 = 3; bonus kept
    assert points_to_take_back(awards, s) == 6
    apply_refund(s, SKUS, None, None, "GBP")
    assert points_to_take_back(awards, s) == 66


@given(st.lists(st.integers(1, 3), min_size=1, max_size=4), st.integers(1, 10_000))
def test_partial_refunds_add_up_to_the_full_refund(quantities, points) -> None:
    prices = [250] * len(quantities)
    total = sum(q * p for q, p in zip(quantities, prices, strict=False))
    skus = [f"S{i}" for i in range(len(quantities))]
    basis = {str(i): q * p for i, (q, p) in enumerate(zip(quantities, prices, strict=False))}
    awards = [(points, basis)]
    s = RefundState(total, list(quantities), prices)
    taken = 0
    for i, q in enumerate(quantities):
        for _ in range(q):
            before = points_to_take_back(awards, s)
            apply_refund(s, skus, [(skus[i], 1)], None, "GBP")
            step = points_to_take_back(awards, s) - before
            assert step >= 0
            taken += step
    assert taken == points
