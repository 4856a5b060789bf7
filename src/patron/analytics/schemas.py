"""Analytics responses. Money is a decimal string in the program currency; rates and
shares are floats between 0 and 1 (null when their denominator is 0); counts are
integers; days are floats."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

from patron.analytics.cohorts import CohortMatrix
from patron.analytics.economics import MonthPoints, PointFlows, ProgramEconomics
from patron.analytics.figures import mean_money, money, share
from patron.analytics.lifecycle import Lifecycle
from patron.analytics.loyalty import LOYALTY_SIGNALS, score_bands
from patron.analytics.periods import ActivityRules, Period
from patron.analytics.retention import PeriodFigures
from patron.analytics.rfm import SEGMENTS, RFMTable
from patron.analytics.service import LoyaltyTable

if TYPE_CHECKING:
    from patron.analytics.lifetime_value import ValueFit

Rate = float | None


class PeriodOut(BaseModel):
    start: datetime
    end: datetime = Field(description="Excluded.")

    @classmethod
    def of(cls, period: Period) -> PeriodOut:
        return cls(start=period.start, end=period.end)


class RulesOut(BaseModel):
    active_days: int
    churn: str
    churn_days: int
    cycle_multiple: float


class FiguresOut(BaseModel):
    customers_at_start: int = Field(description="S: active customers at the start.")
    customers_at_end: int = Field(description="E: active customers at the end.")
    new_customers: int = Field(description="First purchase ever inside the period.")
    new_at_end: int = Field(description="N: new customers still active at the end.")
    retained: int = Field(description="Customers active at both the start and the end.")
    churned: int = Field(description="Customers of S churned at the end.")
    end_over_start: Rate = Field(description="E / S.")
    retention_rate: Rate = Field(description="(E - N) / S.")
    retained_share: Rate = Field(description="retained / S.")
    churn_rate: Rate = Field(description="churned / S.")
    buyers: int
    repeat_buyers: int
    repeat_purchase_rate: Rate
    purchases: int
    purchase_frequency: float | None = Field(description="Purchases per buyer.")
    revenue: Decimal = Field(description="Net of refunds.")
    average_order_value: Decimal | None
    mean_days_between_purchases: float | None
    median_days_between_purchases: float | None

    @classmethod
    def of(cls, f: PeriodFigures, currency: str) -> FiguresOut:
        return cls(
            customers_at_start=f.customers_at_start,
            customers_at_end=f.customers_at_end,
            new_customers=f.new_customers,
            new_at_end=f.new_at_end,
            retained=f.retained,
            churned=f.churned,
            end_over_start=f.end_over_start,
            retention_rate=f.retention_rate,
            retained_share=f.retained_share,
            churn_rate=f.churn_rate,
            buyers=f.buyers,
            repeat_buyers=f.repeat_buyers,
            repeat_purchase_rate=f.repeat_purchase_rate,
            purchases=f.purchases,
            purchase_frequency=f.purchase_frequency,
            revenue=money(f.revenue_minor, currency),
            average_order_value=f.average_order_value(currency),
            mean_days_between_purchases=f.mean_days_between,
            median_days_between_purchases=f.median_days_between,
        )


class GroupOut(BaseModel):
    label: str
    figures: FiguresOut


class SummaryOut(BaseModel):
    period: PeriodOut
    currency: str
    rules: RulesOut
    figures: FiguresOut
    by: str | None = None
    groups: list[GroupOut] | None = None

    @classmethod
    def of(
        cls,
        period: Period,
        currency: str,
        rules: ActivityRules,
        figures: PeriodFigures,
        by: str | None = None,
        groups: list[tuple[str, PeriodFigures]] | None = None,
    ) -> SummaryOut:
        return cls(
            period=PeriodOut.of(period),
            currency=currency,
            rules=RulesOut(
                active_days=rules.active_days,
                churn=rules.churn,
                churn_days=rules.churn_days,
                cycle_multiple=rules.cycle_multiple,
            ),
            figures=FiguresOut.of(figures, currency),
            by=by,
            groups=None
            if groups is None
            else [GroupOut(label=k, figures=FiguresOut.of(v, currency)) for k, v in groups],
        )


class CohortsOut(BaseModel):
    period: PeriodOut
    months: list[str] = Field(description="Cohort: month of the first purchase (UTC).")
    sizes: list[int]
    counts: list[list[int | None]] = Field(description="[cohort][months since], null: unseen.")
    rates: list[list[float | None]]

    @classmethod
    def of(cls, period: Period, m: CohortMatrix) -> CohortsOut:
        return cls(
            period=PeriodOut.of(period),
            months=m.months,
            sizes=m.sizes,
            counts=m.counts,
            rates=m.rates,
        )


class SegmentOut(BaseModel):
    segment: str
    customers: int
    share: Rate
    mean_recency_days: float | None
    mean_frequency: float | None
    mean_monetary: Decimal | None


class RFMOut(BaseModel):
    as_of: datetime
    customers: int
    segments: list[SegmentOut]

    @classmethod
    def of(cls, as_of: datetime, t: RFMTable, currency: str) -> RFMOut:
        segments = []
        for i, name in enumerate(SEGMENTS):
            mine = t.segment == i
            n = int(mine.sum())
            segments.append(
                SegmentOut(
                    segment=name,
                    customers=n,
                    share=share(n, len(t)),
                    mean_recency_days=float(t.recency_days[mine].mean()) if n else None,
                    mean_frequency=float(t.frequency[mine].mean()) if n else None,
                    mean_monetary=mean_money(int(t.monetary_minor[mine].sum()), n, currency),
                )
            )
        return cls(as_of=as_of, customers=len(t), segments=segments)


class ModelOut(BaseModel):
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers_fitted: float


class LifecycleOut(BaseModel):
    as_of: datetime
    method: str = Field(description="bgnbd: P(alive) of a fitted BG/NBD; recency: rules.")
    model: ModelOut | None
    stages: dict[str, int]

    @classmethod
    def of(cls, as_of: datetime, life: Lifecycle) -> LifecycleOut:
        m = life.model
        model = (
            None
            if m is None
            else ModelOut(
                r=m.r,
                alpha=m.alpha,
                a=m.a,
                b=m.b,
                log_likelihood=m.log_likelihood,
                customers_fitted=m.n_customers,
            )
        )
        return cls(as_of=as_of, method=life.method, model=model, stages=life.stage_counts())


class ProfilesOut(BaseModel):
    as_of: datetime
    counts: dict[str, int]


class SignalOut(BaseModel):
    signal: str
    cap: int
    weight: int


class LoyaltyOut(BaseModel):
    as_of: datetime
    members: int
    mean_score: float | None
    bands: dict[str, int]
    signals: list[SignalOut]

    @classmethod
    def of(cls, as_of: datetime, table: LoyaltyTable) -> LoyaltyOut:
        return cls(
            as_of=as_of,
            members=int(table.scores.size),
            mean_score=table.mean(),
            bands=score_bands(table.scores),
            signals=[SignalOut(signal=s.name, cap=s.cap, weight=s.weight) for s in LOYALTY_SIGNALS],
        )


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


class MemberAnalyticsOut(BaseModel):
    member_id: int
    as_of: datetime
    purchases: int
    spent: Decimal
    recency_days: float | None
    rfm: str | None = Field(description="R, F and M scores, e.g. '545'; null before buying.")
    segment: str | None
    stage: str
    p_alive: float | None
    discount_share: float | None
    place_share: float | None
    price_driven: bool
    convenience_driven: bool
    loyalty_score: int


class FittedModelOut(BaseModel):
    params: dict[str, float]
    log_likelihood: float = Field(description="The full log-likelihood, in the data's units.")
    customers_fitted: float
    converged: bool


class CustomerValueOut(BaseModel):
    member_id: int
    probability_alive: float
    expected_purchases: float
    expected_spend: Decimal | None = Field(description="Per purchase; null if unbounded.")
    clv: Decimal | None


class LifetimeValueOut(BaseModel):
    """Fitted models and their predictions. Model inputs and outputs are float64
    statistical estimates; amounts are rounded to the minor unit for reading, not
    for booking."""

    currency: str
    calibration_end: str
    freq: str
    model: str
    customers: int
    purchase_model: FittedModelOut
    spend_model: FittedModelOut
    repeat_buyers_without_spend: int
    horizon_months: int
    discount_rate: float
    mean_probability_alive: float | None
    expected_purchases: float
    clv_total: Decimal
    clv_mean: Decimal | None
    top: list[CustomerValueOut] = Field(description="The customers of highest CLV.")

    @classmethod
    def of(
        cls,
        fit: ValueFit,
        currency: str,
        calibration_end: str,
        *,
        model: str,
        horizon: int,
        discount_rate: Decimal,
        top: int,
    ) -> LifetimeValueOut:
        from patron.analytics.lifetime_value import PARAMETER_NAMES, SPEND_PARAMETERS

        unit = money(1, currency)

        def amount(x: float) -> Decimal | None:
            return Decimal(repr(float(x))).quantize(unit) if np.isfinite(x) else None

        def fitted(names: tuple[str, ...], m: Any) -> FittedModelOut:
            return FittedModelOut(
                params=dict(zip(names, (float(v) for v in m.params), strict=True)),
                log_likelihood=float(m.log_likelihood),
                customers_fitted=float(m.n_customers),
                converged=bool(m.converged),
            )

        value, customers = fit.value, fit.summary.customer
        finite = value.clv[np.isfinite(value.clv)]
        best = np.argsort(-np.nan_to_num(value.clv, nan=-np.inf), kind="stable")[:top]
        return cls(
            currency=currency,
            calibration_end=calibration_end,
            freq=fit.summary.freq,
            model=model,
            customers=int(customers.size),
            purchase_model=fitted(PARAMETER_NAMES[model], fit.purchases),
            spend_model=fitted(SPEND_PARAMETERS, fit.spend),
            repeat_buyers_without_spend=fit.zero_spend,
            horizon_months=horizon,
            discount_rate=float(discount_rate),
            mean_probability_alive=(
                float(value.probability_alive.mean()) if customers.size else None
            ),
            expected_purchases=float(value.expected_purchases.sum()),
            clv_total=amount(float(finite.sum())) or unit * 0,
            clv_mean=amount(float(finite.mean())) if finite.size else None,
            top=[
                CustomerValueOut(
                    member_id=int(customers[i]),
                    probability_alive=float(value.probability_alive[i]),
                    expected_purchases=float(value.expected_purchases[i]),
                    expected_spend=amount(float(value.expected_spend[i])),
                    clv=amount(float(value.clv[i])),
                )
                for i in best.tolist()
            ],
        )
