"""Pure lot arithmetic: FIFO by expiry, pending, reversal order, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.core.errors import InsufficientPoints
from patron.ledger.lots import (
    OpenLot,
    available_points,
    spend_order,
    take_expired,
    take_for_reversal,
    take_for_spend,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def lot(i: int, n: int, avail_days: int = 0, exp_days: int | None = 365, event: int | None = None):
    return OpenLot(
        i,
        n,
        T0 + timedelta(days=avail_days),
        None if exp_days is None else T0 + timedelta(days=exp_days),
        event,
    )


def test_spend_takes_first_to_expire_first_and_never_expiring_last() -> None:
    lots = [lot(1, 50, exp_days=None), lot(2, 30, exp_days=200), lot(3, 40, exp_days=100)]
    allocations = take_for_spend(lots, 90, T0 + timedelta(days=1))
    assert allocations == [(3, 40), (2, 30), (1, 20)]
    assert [x.remaining for x in lots] == [30, 0, 0]


def test_pending_and_expired_lots_are_not_spendable() -> None:
    lots = [lot(1, 10, avail_days=10), lot(2, 20, exp_days=5), lot(3, 5)]
    at = T0 + timedelta(days=6)
    assert available_points(lots, at) == 5
    with pytest.raises(InsufficientPoints) as err:
        take_for_spend(lots, 6, at)
    assert err.value.extra["available"] == 5
    assert [x.remaining for x in lots] == [10, 20, 5]  # refused spends change nothing


def test_debt_reduces_what_can_be_spent() -> None:
    lots = [lot(1, 100)]
    with pytest.raises(InsufficientPoints):
        take_for_spend(lots, 80, T0, debt=30)
    assert take_for_spend(lots, 70, T0, debt=30) == [(1, 70)]


def test_reversal_takes_own_lot_then_pending_then_spendable() -> None:
    lots = [
        lot(1, 10, event=7),
        lot(2, 30, avail_days=20),
        lot(3, 50, exp_days=50),
        lot(4, 50, exp_days=40),
    ]
    allocations, short = take_for_reversal(lots, 60, T0 + timedelta(days=1), event_id=7)
    assert allocations == [(1, 10), (2, 30), (4, 20)]
    assert short == 0


def test_reversal_shortfall_becomes_debt() -> None:
    lots = [lot(1, 5, event=7), lot(2, 10, exp_days=0)]  # lot 2 already expired
    allocations, short = take_for_reversal(lots, 40, T0 + timedelta(days=1), event_id=7)
    assert allocations == [(1, 5)]
    assert short == 35


def test_take_expired_empties_only_expired_lots() -> None:
    lots = [lot(1, 5, exp_days=10), lot(2, 7, exp_days=30), lot(3, 9, exp_days=None)]
    assert take_expired(lots, T0 + timedelta(days=10)) == [(1, 5)]
    assert [x.remaining for x in lots] == [0, 7, 9]


@given(
    st.lists(
        st.tuples(
            st.integers(1, 500), st.integers(0, 30), st.one_of(st.none(), st.integers(1, 400))
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 400),
    st.integers(1, 3000),
)
def test_spend_never_overdraws_and_conserves_points(specs, day, want) -> None:
    lots = [lot(i, n, a, e) for i, (n, a, e) in enumerate(specs)]
    at = T0 + timedelta(days=day)
    before = [x.remaining for x in lots]
    have = available_points(lots, at)
    if want > have:
        with pytest.raises(InsufficientPoints):
            take_for_spend(lots, want, at)
        assert [x.remaining for x in lots] == before
        return
    allocations = take_for_spend(lots, want, at)
    assert sum(n for _, n in allocations) == want
    assert all(x.remaining >= 0 for x in lots)
    spent_ids = {i for i, _ in allocations}
    for x in lots:
        if x.id in spent_ids:
            assert x.spendable(at)  # never pending or expired points
    # first-to-expire first: every lot left with points expires no earlier than any emptied one
    order = spend_order([lot(i, n, a, e) for i, (n, a, e) in enumerate(specs)], at)
    emptied_positions = [k for k, x in enumerate(order) if lots[x.id].remaining == 0]
    kept_positions = [k for k, x in enumerate(order) if lots[x.id].remaining > 0]
    if emptied_positions and kept_positions:
        assert max(emptied_positions) < min(kept_positions)
