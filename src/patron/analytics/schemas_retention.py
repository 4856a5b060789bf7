"""Retention responses: the figures of a period (:class:`FiguresOut`), the summary with
its rules and optional groups of a split (:class:`SummaryOut`), and the monthly cohort
matrix (:class:`CohortsOut`).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from patron.analytics.cohorts import CohortMatrix
from patron.analytics.figures import money
from patron.analytics.periods import ActivityRules, Period
from patron.analytics.retention import PeriodFigures
from patron.analytics.schemas_periods import PeriodOut, Rate, RulesOut


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
