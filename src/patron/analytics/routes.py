"""HTTP: ``GET /v1/analytics/...``, read-only figures as JSON (scope ``read``).

Every endpoint takes the period as ``start`` and ``end`` dates (UTC midnight; ``end``
excluded; defaults: the 365 days through today). "As of" figures (RFM, lifecycle,
profiles, loyalty, one member's scores) are taken at ``end`` or now, if sooner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

import numpy as np
from fastapi import APIRouter, Depends, Path, Query

from patron.analytics import service
from patron.analytics.figures import money
from patron.analytics.lifecycle import STAGES
from patron.analytics.periods import ActivityRules, Period
from patron.analytics.rfm import SEGMENTS
from patron.analytics.schemas import (
    CohortsOut,
    EconomicsOut,
    LifecycleOut,
    LifetimeValueOut,
    LoyaltyOut,
    MemberAnalyticsOut,
    ProfilesOut,
    RFMOut,
    SummaryOut,
)
from patron.api.deps import Caller, require
from patron.core.clock import now
from patron.core.errors import NotFound
from patron.core.pagination import MAX_ID

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@dataclass(frozen=True)
class Asked:
    period: Period
    rules: ActivityRules


def asked(
    start: date | None = Query(None, description="First day (UTC), included."),
    end: date | None = Query(None, description="Day after the last (UTC), excluded."),
    active_days: int = Query(90, ge=1, le=3650, description="Active: bought in these days."),
    churn: Literal["days", "cycle"] = Query("days", description="Inactivity rule."),
    churn_days: int = Query(90, ge=1, le=3650, description="Churned after these days."),
    cycle_multiple: float = Query(
        3.0, gt=0, le=100, description="cycle: churned after this many own mean gaps."
    ),
) -> Asked:
    period = Period.of(start, end, now=now())
    rules = ActivityRules(active_days, churn, churn_days, cycle_multiple)
    return Asked(period, rules)


@router.get("/summary", response_model=SummaryOut)
def summary(
    by: str | None = Query(
        None,
        max_length=120,
        description=(
            "Split by 'status', 'tier', 'segment' (RFM segment at the start of the period), "
            "'membership' or 'attribute:<key>'."
        ),
    ),
    q: Asked = Depends(asked),
    caller: Caller = Depends(require("read")),
) -> SummaryOut:
    """Retention, churn, repeat purchases, frequency, order value, time between purchases."""
    if by is not None:
        service.check_dimension(by)
    with service.open_shop(caller.db, q.period.end) as data:
        figures = service.period_summary(data, q.period, q.rules)
        groups = None if by is None else service.period_summary_by(data, q.period, q.rules, by)
        return SummaryOut.of(q.period, data.currency, q.rules, figures, by, groups)


@router.get("/cohorts", response_model=CohortsOut)
def cohorts(q: Asked = Depends(asked), caller: Caller = Depends(require("read"))) -> CohortsOut:
    """Acquisition month x months since the first purchase: counts and rates."""
    with service.open_shop(caller.db, q.period.end) as data:
        return CohortsOut.of(q.period, service.cohort_table(data, q.period))


@router.get("/rfm", response_model=RFMOut)
def rfm(q: Asked = Depends(asked), caller: Caller = Depends(require("read"))) -> RFMOut:
    """RFM segments: how many customers in each, and their mean R, F and M."""
    with service.open_shop(caller.db, q.period.end) as data:
        return RFMOut.of(data.as_of, service.rfm_scores(data), data.currency)


@router.get("/lifecycle", response_model=LifecycleOut)
def lifecycle(q: Asked = Depends(asked), caller: Caller = Depends(require("read"))) -> LifecycleOut:
    """Members per lifecycle stage, and the BG/NBD model behind it when one was fitted."""
    with service.open_shop(caller.db, q.period.end) as data:
        return LifecycleOut.of(data.as_of, service.member_stages(data, q.rules))


@router.get("/profiles", response_model=ProfilesOut)
def profiles(q: Asked = Depends(asked), caller: Caller = Depends(require("read"))) -> ProfilesOut:
    """How many customers are price-driven, convenience-driven (and its three signs)."""
    with service.open_shop(caller.db, q.period.end) as data:
        return ProfilesOut(as_of=data.as_of, counts=service.member_profiles(data).counts())


@router.get("/loyalty", response_model=LoyaltyOut)
def loyalty(q: Asked = Depends(asked), caller: Caller = Depends(require("read"))) -> LoyaltyOut:
    """Loyalty scores (0-100): mean, bands, and the signals and weights behind them."""
    with service.open_shop(caller.db, q.period.end) as data:
        return LoyaltyOut.of(data.as_of, service.loyalty_table(data))


@router.get("/economics", response_model=EconomicsOut)
def economics(
    window_days: int = Query(90, ge=7, le=730, description="Incremental revenue window."),
    margin: Decimal = Query(
        Decimal(1), ge=0, le=1, max_digits=6, description="Gross margin share, for ROI."
    ),
    q: Asked = Depends(asked),
    caller: Caller = Depends(require("read")),
) -> EconomicsOut:
    """Points liability month by month, breakage, redemptions, reward cost, ROI."""
    with service.open_shop(caller.db, q.period.end) as data:
        e = service.program_figures(data, q.period, window_days=window_days, margin=margin)
        return EconomicsOut.of(q.period, e)


@router.get("/members/{member_id}", response_model=MemberAnalyticsOut)
def member(
    member_id: int = Path(ge=1, le=MAX_ID, description="The member's id."),
    q: Asked = Depends(asked),
    caller: Caller = Depends(require("read")),
) -> MemberAnalyticsOut:
    """One member's RFM, segment, lifecycle stage, profile and loyalty score. Scores are
    relative to all customers, so this computes them for everyone (seconds, at scale)."""
    with service.open_shop(caller.db, q.period.end) as data:
        s = service.member_scores(data, q.rules)
        currency, as_of = data.currency, data.as_of
    row = int(np.searchsorted(s.member, member_id))
    if row >= s.member.size or s.member[row] != member_id:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    bought = bool(s.purchases[row] > 0)

    def number(value: float) -> float | None:
        return None if np.isnan(value) else float(value)

    return MemberAnalyticsOut(
        member_id=member_id,
        as_of=as_of,
        purchases=int(s.purchases[row]),
        spent=money(int(s.spent_minor[row]), currency),
        recency_days=number(s.recency_days[row]),
        rfm=f"{s.r[row]}{s.f[row]}{s.m[row]}" if bought else None,
        segment=SEGMENTS[s.segment[row]] if bought else None,
        stage=STAGES[s.stage[row]],
        p_alive=number(s.p_alive[row]),
        discount_share=number(s.discount_share[row]),
        place_share=number(s.place_share[row]),
        price_driven=bool(s.price_driven[row]),
        convenience_driven=bool(s.convenience_driven[row]),
        loyalty_score=int(s.loyalty[row]),
    )


@router.get("/clv", response_model=LifetimeValueOut)
def lifetime_value(
    model: Literal["bgnbd", "pareto"] = Query("bgnbd", description="Purchase model."),
    freq: Literal["D", "W", "M"] = Query("W", description="Time unit: days, weeks, months."),
    calibration_end: date | None = Query(
        None, description="Last day of data the models see (default: today, program time)."
    ),
    horizon: int = Query(12, ge=1, le=120, description="CLV horizon in months."),
    discount_rate: Decimal = Query(
        Decimal("0.01"), ge=0, lt=1, max_digits=8, description="Discount rate per month."
    ),
    top: int = Query(10, ge=0, le=1000, description="How many of the most valuable to list."),
    caller: Caller = Depends(require("read")),
) -> LifetimeValueOut:
    """Customer lifetime value from the program's purchases: a BG/NBD (or Pareto/NBD)
    purchase model and the Gamma-Gamma spend model, fitted by maximum likelihood, and
    P(alive), expected purchases and discounted CLV per customer."""
    from patron.analytics.lifetime_value import fit_value, program_transactions

    with caller.db.unit_of_work() as session:
        columns, currency, today = program_transactions(session)
    end = calibration_end.isoformat() if calibration_end else today
    fit = fit_value(
        columns,
        calibration_end=end,
        freq=freq,
        model=model,
        horizon=horizon,
        discount_rate=float(discount_rate),
        source_field="calibration_end",
    )
    return LifetimeValueOut.of(
        fit, currency, end, model=model, horizon=horizon, discount_rate=discount_rate, top=top
    )
