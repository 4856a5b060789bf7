"""Program economics on a hand-made ledger and purchase history."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from patron.analytics.economics import (
    ADJUST,
    EARN,
    EXPIRE,
    REVERSE,
    SPEND,
    IncrementalRevenue,
    LedgerFlows,
    incremental_revenue,
    program_economics,
)
from patron.analytics.history import DAY
from patron.analytics.periods import Period
from tests.unit.analytics.helpers import history


def d(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


FLOWS = LedgerFlows(
    day=np.array(
        [
            d(x) // DAY
            for x in (
                "2026-01-10",
                "2026-01-20",
                "2026-02-05",
                "2026-02-06",
                "2026-02-07",
                "2026-03-01",
            )
        ]
    ),
    kind=np.array([EARN, SPEND, EXPIRE, REVERSE, ADJUST, EARN]),
    points=np.array([1000, -300, -100, -50, 20, 500]),
)
Q1 = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
NOTHING = IncrementalRevenue(30, 0, 0, 0)


def test_flows_rates_liability_and_cost() -> None:
    e = program_economics(FLOWS, Q1, Decimal("0.01"), "USD", NOTHING)
    f = e.flows
    assert (f.earned, f.reversed, f.net_earned, f.spent, f.expired, f.adjusted) == (
        1000,
        50,
        950,
        300,
        100,
        20,
    )
    assert e.breakage_rate == pytest.approx(100 / 950)
    assert e.redemption_rate == pytest.approx(300 / 950)
    assert e.outstanding_at_end == 570  # the March earn is after the period
    assert e.liability_at_end == Decimal("5.70")
    assert e.reward_cost == Decimal("3.00")
    assert [m.month for m in e.months] == ["2026-01", "2026-02"]
    assert [m.outstanding for m in e.months] == [700, 570]
    assert e.months[1].flows.expired == 100 and e.months[0].flows.spent == 300
    assert e.incremental_revenue is None and e.roi is None
    assert (e.rewards_used, e.till_discounts) == (0, Decimal("0.00"))
    used = program_economics(FLOWS, Q1, Decimal("0.01"), "USD", NOTHING, rewards_used=(3, 1050))
    assert (used.rewards_used, used.till_discounts) == (3, Decimal("10.50"))


def test_liability_rounds_to_the_minor_unit() -> None:
    e = program_economics(FLOWS, Q1, Decimal("0.0125"), "USD", NOTHING)
    assert e.liability_at_end == Decimal("7.12")  # 570 x 0.0125 = 7.125, half-even
    assert e.liability(3) == Decimal("0.04")


def test_incremental_revenue_over_the_own_pre_join_baseline() -> None:
    period = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    joined = {
        1: d("2026-01-15"),  # baseline Dec 16 - Jan 15, after Jan 15 - Feb 14
        2: d("2026-01-15"),  # no purchase before joining: not comparable
        3: d("2026-05-20"),  # too recent for a full window after joining
        4: d("2025-12-01"),  # joined before the period
    }
    h = history([])
    rows = [
        (1, d("2025-12-20"), 1000),
        (1, d("2025-11-01"), 7777),  # before the baseline window
        (1, d("2026-01-20"), 2000),
        (1, d("2026-02-10"), 500),
        (1, d("2026-03-01"), 9999),  # after the window
        (2, d("2026-01-20"), 4000),
        (3, d("2026-05-01"), 100),
        (3, d("2026-05-25"), 100),
        (4, d("2025-11-20"), 100),
        (4, d("2025-12-20"), 100),
    ]
    h = type(h).build([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    ids = np.array(sorted(joined))
    inc = incremental_revenue(h, ids, np.array([joined[i] for i in ids]), period, 30)
    assert (inc.members, inc.before_minor, inc.after_minor) == (1, 1000, 2500)
    assert inc.incremental_minor == 1500
    assert inc.lift == pytest.approx(1.5)
    e = program_economics(FLOWS, period, Decimal("0.01"), "USD", inc, margin=Decimal("0.5"))
    assert e.incremental_revenue == Decimal("15.00")
    assert e.reward_cost == Decimal("3.00")
    assert e.roi == pytest.approx((15.0 * 0.5 - 3.0) / 3.0)
