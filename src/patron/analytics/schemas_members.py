"""Member responses, as of a moment: RFM segments (:class:`RFMOut`), lifecycle stages
and the BG/NBD model behind them (:class:`LifecycleOut`), shopping profiles, loyalty
score bands and signals (:class:`LoyaltyOut`), and one member's scores
(:class:`MemberAnalyticsOut`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from patron.analytics.figures import mean_money, share
from patron.analytics.lifecycle import Lifecycle
from patron.analytics.loyalty import LOYALTY_SIGNALS, score_bands
from patron.analytics.rfm import SEGMENTS, RFMTable
from patron.analytics.schemas_periods import Rate
from patron.analytics.service_members import LoyaltyTable


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
