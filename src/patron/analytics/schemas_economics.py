"""Program economics responses: points flows (:class:`FlowsOut`), points outstanding
and liability month by month, incremental revenue against the members' own pre-join
baseline, and the whole (:class:`EconomicsOut`): breakage and redemption rates, cost
of rewards, till discounts, liability and ROI.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from patron.analytics.economics import MonthPoints, PointFlows, ProgramEconomics
from patron.analytics.figures import money
from patron.analytics.periods import Period
from patron.analytics.schemas_periods import PeriodOut, Rate


class FlowsOut(BaseModel):
    earned: int
    reversed: int
    net_earned: int
    spent: int
    expired: int
    adjusted: int

    @classmethod
    def of(cls, f: PointFlows) -> FlowsOut:
        return cls(
            earned=f.earned,
            reversed=f.reversed,
            net_earned=f.net_earned,
            spent=f.spent,
            expired=f.expired,
            adjusted=f.adjusted,
        )


class MonthOut(BaseModel):
    month: str
    flows: FlowsOut
    outstanding_points: int
    liability: Decimal


class IncrementalOut(BaseModel):
    method: str = "own pre-join baseline"
    window_days: int
    members: int
    before: Decimal
    after: Decimal
    incremental_revenue: Decimal | None
    lift: Rate


class EconomicsOut(BaseModel):
    period: PeriodOut
    currency: str
    value_per_point: Decimal
    flows: FlowsOut
    breakage_rate: Rate
    redemption_rate: Rate
    reward_cost: Decimal = Field(description="Points spent x value per point.")
    rewards_used: int = Field(description="Rewards used at the till in the period.")
    till_discounts: Decimal = Field(description="Money those rewards took off orders.")
    outstanding_points: int
    liability: Decimal
    incremental: IncrementalOut
    margin: Decimal
    roi: float | None
    months: list[MonthOut]

    @classmethod
    def of(cls, period: Period, e: ProgramEconomics) -> EconomicsOut:
        def month(m: MonthPoints) -> MonthOut:
            return MonthOut(
                month=m.month,
                flows=FlowsOut.of(m.flows),
                outstanding_points=m.outstanding,
                liability=e.liability(m.outstanding),
            )

        inc = e.incremental
        return cls(
            period=PeriodOut.of(period),
            currency=e.currency,
            value_per_point=e.value_per_point,
            flows=FlowsOut.of(e.flows),
            breakage_rate=e.breakage_rate,
            redemption_rate=e.redemption_rate,
            reward_cost=e.reward_cost,
            rewards_used=e.rewards_used,
            till_discounts=e.till_discounts,
            outstanding_points=e.outstanding_at_end,
            liability=e.liability_at_end,
            incremental=IncrementalOut(
                window_days=inc.window_days,
                members=inc.members,
                before=money(inc.before_minor, e.currency),
                after=money(inc.after_minor, e.currency),
                incremental_revenue=e.incremental_revenue,
                lift=inc.lift,
            ),
            margin=e.margin,
            roi=e.roi,
            months=[month(m) for m in e.months],
        )
