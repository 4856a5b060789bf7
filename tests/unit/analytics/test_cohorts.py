"""The cohort matrix on customers whose months are known."""

from __future__ import annotations

from datetime import UTC, datetime

from patron.analytics.cohorts import cohort_matrix
from patron.analytics.history import PurchaseHistory
from patron.analytics.periods import Period


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


SHOP = PurchaseHistory.build(
    [1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5],
    [
        at("2026-01-05"),
        at("2026-01-20"),
        at("2026-03-03"),  # customer 1: January cohort, back in month 2
        at("2026-01-10"),
        at("2026-02-01"),  # customer 2: January cohort, back in month 1
        at("2026-02-14"),
        at("2026-03-01"),
        at("2026-03-02"),  # customer 3: February cohort, twice in month 1 (counts once)
        at("2025-12-31T23:59:59"),
        at("2026-01-02"),  # customer 4: December cohort, before the period
        at("2026-04-01"),  # customer 5: after the period
    ],
    [100] * 11,
)


def test_counts_and_rates_by_cohort_month() -> None:
    m = cohort_matrix(
        SHOP, Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    )
    assert m.months == ["2026-01", "2026-02", "2026-03"]
    assert m.sizes == [2, 1, 0]
    assert m.counts == [[2, 1, 1], [1, 1, None], [0, None, None]]
    assert m.rates == [[1.0, 0.5, 0.5], [1.0, 1.0, None], [None, None, None]]


def test_a_partial_last_month_counts_up_to_the_end() -> None:
    m = cohort_matrix(
        SHOP, Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
    )
    assert m.months == ["2026-01", "2026-02", "2026-03"]
    # 2026-03-02 00:00 is excluded: customer 1's 03-03 is out, customer 3's 03-01 is in.
    assert m.counts == [[2, 1, 0], [1, 1, None], [0, None, None]]


def test_empty_history() -> None:
    m = cohort_matrix(
        PurchaseHistory.build([], [], []),
        Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
    )
    assert m.months == ["2026-01"] and m.counts == [[0]] and m.rates == [[None]]
