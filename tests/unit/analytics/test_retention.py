"""Retention, churn and buying habits on a hand-made history with known answers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patron.analytics.periods import ActivityRules
from patron.analytics.retention import period_figures
from tests.unit.analytics.helpers import history, period

# Period [day 100, day 200), customers active within the 90 days before a moment.
#   A (1): bought before and during the period: retained
#   B (2): active at the start, silent since day 95: churned
#   C (3): first purchase in the period, still active at the end
#   D (4): new in the period but silent for the last 92 days
#   E (5): bought on day 5, then again on day 150: won back
#   F (6): only after the period: ignored
SHOP = history(
    [
        (1, 20, 999),
        (1, 50, 999),
        (1, 150, 1000),
        (1, 160, 2000),
        (2, 95, 999),
        (3, 120, 500),
        (4, 105, 300),
        (4, 108, 700),
        (5, 5, 999),
        (5, 150, 1500),
        (6, 250, 999),
    ]
)


def test_retention_counts_and_rates() -> None:
    f = period_figures(SHOP, period(100, 200), ActivityRules())
    assert (f.customers_at_start, f.customers_at_end) == (2, 3)  # {A, B}; {A, C, E}
    assert (f.new_customers, f.new_at_end) == (2, 1)  # {C, D}; {C}
    assert f.retained == 1  # A
    assert f.end_over_start == 1.5
    assert f.retention_rate == 1.0  # (E - N) / S = (3 - 1) / 2: A and the won-back E
    assert f.retained_share == 0.5
    assert f.churned == 1  # B
    assert f.churn_rate == 0.5


def test_buying_habits_in_the_period() -> None:
    f = period_figures(SHOP, period(100, 200), ActivityRules())
    assert f.buyers == 4  # A, C, D, E
    assert f.repeat_buyers == 2  # A, D
    assert f.repeat_purchase_rate == 0.5
    assert f.purchases == 6
    assert f.purchase_frequency == 1.5
    assert f.revenue_minor == 6000
    assert f.average_order_value("USD") == Decimal("10.00")
    # Days since the previous purchase: A 100 and 10, D 3, E 145; C's is its first.
    assert f.intervals == 4
    assert f.mean_days_between == pytest.approx(64.5)
    assert f.median_days_between == pytest.approx(55.0)


def test_average_order_value_rounds_half_even_to_the_minor_unit() -> None:
    h = history([(1, 1, 100), (1, 2, 100), (2, 3, 101), (3, 4, 0)])
    f = period_figures(h, period(0, 10), ActivityRules())
    assert f.average_order_value("USD") == Decimal("0.75")  # 301 / 4 = 75.25 cents
    assert f.average_order_value("JPY") == Decimal("75")


def test_churn_by_a_fixed_number_of_days_or_by_the_members_own_cycle() -> None:
    # At day 200: G bought every 10 days until day 80 (silent 120 days, 12 cycles);
    # H bought on days 0 and 90 (cycle 90 days, silent 110); J once, on day 100.
    h = history([(7, 60, 1), (7, 70, 1), (7, 80, 1), (8, 0, 1), (8, 90, 1), (9, 100, 1)])
    rules = ActivityRules(active_days=150, churn_days=90)
    by_days = period_figures(h, period(150, 200), rules)
    assert by_days.customers_at_start == 3
    assert by_days.churned == 3
    by_cycle = period_figures(
        h, period(150, 200), ActivityRules(active_days=150, churn="cycle", cycle_multiple=3)
    )
    assert by_cycle.churned == 2  # G (120 > 3 x 10) and J (one purchase: 100 > 90 days)
    lenient = ActivityRules(active_days=150, churn="cycle", churn_days=101, cycle_multiple=13)
    assert period_figures(h, period(150, 200), lenient).churned == 0


def test_churn_boundary_is_inclusive_of_the_window() -> None:
    h = history([(1, 110, 1), (2, 109.5, 1)])
    f = period_figures(h, period(150, 200), ActivityRules(active_days=90, churn_days=90))
    # At day 200 the window is [110, 200): member 1 is still active, member 2 is not.
    assert (f.customers_at_start, f.customers_at_end, f.churned) == (2, 1, 1)


def test_empty_period_gives_none_rates() -> None:
    f = period_figures(history([]), period(0, 10), ActivityRules())
    assert f.customers_at_start == 0
    assert f.retention_rate is None and f.churn_rate is None
    assert f.average_order_value("USD") is None
    assert f.mean_days_between is None
