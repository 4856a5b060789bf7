"""Economics use case: what the program costs and earns over a period, from the
points ledger, the rewards used at the till and the members' purchases before and
after joining (points flows, breakage and redemption rates, cost of rewards,
liability, incremental revenue and ROI; see ``economics``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from patron.analytics import readers
from patron.analytics.economics import ProgramEconomics, incremental_revenue, program_economics
from patron.analytics.periods import Period

if TYPE_CHECKING:
    from patron.analytics.service import ShopData


def program_figures(
    data: ShopData, period: Period, *, window_days: int = 90, margin: Decimal = Decimal(1)
) -> ProgramEconomics:
    currency, value_per_point = data.terms
    ids, joined = data.members
    incremental = incremental_revenue(data.purchases, ids, joined, period, window_days)
    used = readers.rewards_used(data.snap, period.start, period.end)
    return program_economics(
        data.ledger, period, value_per_point, currency, incremental, margin, used
    )
