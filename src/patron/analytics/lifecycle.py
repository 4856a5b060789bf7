"""Lifecycle stage of every member: new, active, at risk, lapsed, churned.

As of a moment ``as_of``, looking at counted purchases before it:

1. ``new``: first purchase within the last ``new_days`` (members who have not bought
   yet are ``new`` while they joined within ``new_days``, then ``no_purchase``).
2. Repeat customers, when a BG/NBD model could be fitted (at least ``min_customers``
   customers of whom ``min_repeat`` bought again): by the model's probability that the
   customer is still alive (``patron.analytics.clv``): ``active`` if P(alive) >= 0.7,
   ``at_risk`` >= 0.4, ``lapsed`` >= 0.15, else ``churned``. The model works in weeks
   on purchase *days* (same-day purchases merged); it is fitted on a random sample of
   at most ``fit_sample`` customers (the parameters describe the population; a sample
   of that size pins them down), then applied to everyone.
3. Everyone else (one-time buyers, whom the BG/NBD always deems alive, and every
   customer when no model is fitted) by days since their last purchase ``d`` against
   ``active_days`` ``A``: ``active`` if d <= A, ``at_risk`` if d <= 2A, ``lapsed`` if
   d <= 4A, else ``churned``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from patron.analytics.history import DAY, Floats, Ints, PurchaseHistory, positions

if TYPE_CHECKING:  # scipy loads only when a model is fitted: the CLI starts fast
    from patron.analytics.clv import BGNBDModel

STAGES = ("new", "active", "at_risk", "lapsed", "churned", "no_purchase")
NEW, ACTIVE, AT_RISK, LAPSED, CHURNED, NO_PURCHASE = range(6)
WEEK_DAYS = 7.0


@dataclass(frozen=True)
class LifecycleRules:
    new_days: int = 30
    active_days: int = 90
    alive_active: float = 0.7
    alive_at_risk: float = 0.4
    alive_lapsed: float = 0.15
    min_customers: int = 200
    min_repeat: int = 50
    fit_sample: int = 200_000
    seed: int = 0


@dataclass(frozen=True)
class PurchaseDays:
    """Per customer, in weeks: repeat purchase days ``x``, ``t_x`` and age ``T``."""

    member: Ints
    x: Floats
    t_x: Floats
    T: Floats


@dataclass(frozen=True)
class Lifecycle:
    member: Ints  # every member, ascending
    stage: Ints  # index into STAGES
    p_alive: Floats  # NaN where no model applies
    model: BGNBDModel | None

    @property
    def method(self) -> str:
        return "bgnbd" if self.model is not None else "recency"

    def stage_counts(self) -> dict[str, int]:
        counts = np.bincount(self.stage, minlength=len(STAGES))
        return {name: int(counts[i]) for i, name in enumerate(STAGES)}


def purchase_days(history: PurchaseHistory, as_of: int) -> PurchaseDays:
    history = history.before(as_of)
    customers = history.customers
    day = history.at // DAY
    new_day = np.ones(day.size, dtype=np.bool_)
    if day.size:
        new_day[1:] = (customers.code[1:] != customers.code[:-1]) | (day[1:] != day[:-1])
    distinct = np.bincount(customers.code[new_day], minlength=len(customers))
    first, last = day[customers.first], day[customers.last]
    return PurchaseDays(
        member=customers.ids,
        x=(distinct - 1).astype(np.float64),
        t_x=(last - first) / WEEK_DAYS,
        T=np.maximum(as_of / DAY - first, last - first) / WEEK_DAYS,
    )


def fit_alive_model(days: PurchaseDays, rules: LifecycleRules) -> BGNBDModel | None:
    """A BG/NBD fit when there is enough data, else None."""
    n = days.member.size
    if n < rules.min_customers or int((days.x > 0).sum()) < rules.min_repeat:
        return None
    pick = np.arange(n)
    if n > rules.fit_sample:
        rng = np.random.default_rng(rules.seed)
        pick = np.sort(rng.choice(n, size=rules.fit_sample, replace=False))
    try:
        from patron.analytics.clv import fit_bgnbd

        model = fit_bgnbd(days.x[pick], days.t_x[pick], days.T[pick])
    except (ValueError, FloatingPointError):
        return None
    return model if model.converged else None


def lifecycle_stages(
    history: PurchaseHistory,
    member_ids: Ints,
    joined_at: Ints,
    as_of: int,
    rules: LifecycleRules | None = None,
    *,
    model: BGNBDModel | None = None,
    fit: bool = True,
) -> Lifecycle:
    """Stages of the members ``member_ids`` (sorted; ``joined_at`` aligned to them).

    ``model``: a BG/NBD model to use as it is; without one it is fitted when ``fit``
    and the data allow, else the recency rules apply to everyone.
    """
    rules = rules or LifecycleRules()
    history = history.before(as_of)
    customers = history.customers
    days = purchase_days(history, as_of)
    if model is None and fit:
        model = fit_alive_model(days, rules)

    since_last = (as_of - history.at[customers.last]) / DAY
    since_first = (as_of - history.at[customers.first]) / DAY
    a = rules.active_days
    stage = np.select(
        [since_last <= a, since_last <= 2 * a, since_last <= 4 * a],
        [ACTIVE, AT_RISK, LAPSED],
        CHURNED,
    ).astype(np.int64)
    p_alive = np.full(len(customers), np.nan)
    if model is not None:
        p_alive = model.probability_alive(days.x, days.t_x, days.T)
        repeat = days.x > 0
        thresholds = (rules.alive_active, rules.alive_at_risk, rules.alive_lapsed)
        by_model = np.select([p_alive >= t for t in thresholds], [ACTIVE, AT_RISK, LAPSED], CHURNED)
        stage = np.where(repeat, by_model, stage)
    stage = np.where(since_first <= rules.new_days, NEW, stage)

    where, bought = positions(customers.ids, member_ids)
    joined_recently = (as_of - joined_at) / DAY <= rules.new_days
    out_stage = np.where(joined_recently, NEW, NO_PURCHASE).astype(np.int64)
    out_alive = np.full(member_ids.size, np.nan)
    if len(customers):
        out_stage = np.where(bought, stage[where], out_stage)
        out_alive = np.where(bought, p_alive[where], np.nan)
    return Lifecycle(member_ids, out_stage, out_alive, model)
