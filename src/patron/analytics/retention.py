"""Are customers coming back? Retention, churn and buying habits over a period.

Definitions (period ``[start, end)``; "customer" and "churned" per ``ActivityRules``):

- ``S`` customers at the start: active customers at ``start``;
  ``E`` customers at the end: active customers at ``end``.
- ``new_customers``: first purchase ever inside the period. ``N`` in the standard
  formula is the new customers still active at the end (``new_at_end``), so that
  ``E - N`` is exactly the customers at the end who had bought before the period:
  retained ones and won-back ones.
- ``end_over_start`` = E / S; ``retention_rate`` = (E - N) / S, the standard customer
  retention rate that leaves newcomers out; ``retained`` = customers in both S and E,
  and ``retained_share`` = retained / S, the strict version (no win-backs).
- ``churned``: customers in S who are churned at ``end``; ``churn_rate`` = churned / S.
  With ``churn_days == active_days`` (the default) it is 1 - retained_share.
- ``buyers``: customers with a purchase in the period; ``repeat_purchase_rate`` =
  buyers with two or more purchases in it / buyers; ``purchase_frequency`` =
  purchases / buyers; ``average_order_value`` = net revenue / purchases (Decimal in
  the program currency, rounded half-even to the minor unit).
- Time between purchases: for every purchase in the period that is not the
  customer's first ever, the days since their previous purchase; mean and median.

Rates are floats (None when the denominator is 0); money is integer minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from patron.analytics.figures import mean_money, share
from patron.analytics.history import DAY, Bools, Customers, PurchaseHistory
from patron.analytics.periods import ActivityRules, Period


@dataclass(frozen=True)
class PeriodFigures:
    customers_at_start: int
    customers_at_end: int
    new_customers: int
    new_at_end: int
    retained: int
    churned: int
    buyers: int
    repeat_buyers: int
    purchases: int
    revenue_minor: int
    intervals: int
    mean_days_between: float | None
    median_days_between: float | None

    @property
    def end_over_start(self) -> float | None:
        return share(self.customers_at_end, self.customers_at_start)

    @property
    def retention_rate(self) -> float | None:
        returning = self.customers_at_end - self.new_at_end
        return share(returning, self.customers_at_start)

    @property
    def retained_share(self) -> float | None:
        return share(self.retained, self.customers_at_start)

    @property
    def churn_rate(self) -> float | None:
        return share(self.churned, self.customers_at_start)

    @property
    def repeat_purchase_rate(self) -> float | None:
        return share(self.repeat_buyers, self.buyers)

    @property
    def purchase_frequency(self) -> float | None:
        return share(self.purchases, self.buyers)

    def average_order_value(self, currency: str) -> Decimal | None:
        return mean_money(self.revenue_minor, self.purchases, currency)


def active_at(history: PurchaseHistory, moment: int, days: int) -> Bools:
    """Per customer: a purchase in ``[moment - days, moment)``."""
    customers = history.customers
    window = (history.at >= moment - days * DAY) & (history.at < moment)
    return np.bincount(customers.code[window], minlength=len(customers)) > 0


def churned_at(history: PurchaseHistory, moment: int, rules: ActivityRules) -> Bools:
    """Per customer: churned at ``moment`` (only purchases before it are looked at)."""
    customers = history.customers
    last = history.at[customers.last]
    silent = moment - last
    by_days = silent > rules.churn_days * DAY
    if rules.churn == "days":
        return np.asarray(by_days, dtype=np.bool_)
    return np.asarray(np.where(customers.count >= 2, silent > cycle_limit(history, rules), by_days))


def cycle_limit(history: PurchaseHistory, rules: ActivityRules) -> np.ndarray:
    """Per customer: ``cycle_multiple`` x mean seconds between purchases (at least a day);
    infinite for single-purchase customers."""
    customers = history.customers
    span = (history.at[customers.last] - history.at[customers.first]).astype(np.float64)
    gaps = np.maximum(customers.count - 1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_gap = np.where(gaps > 0, np.maximum(span / np.maximum(gaps, 1), DAY), np.inf)
    return rules.cycle_multiple * mean_gap


def period_figures(history: PurchaseHistory, period: Period, rules: ActivityRules) -> PeriodFigures:
    """Retention, churn and habits over ``period`` (see the module docstring)."""
    start, end = period.start_s, period.end_s
    history = history.before(end)
    customers = history.customers
    at_start = active_at(history, start, rules.active_days)
    at_end = active_at(history, end, rules.active_days)
    first_at = history.at[customers.first]
    new = first_at >= start
    churned = churned_at(history, end, rules) & at_start

    in_period = history.at >= start
    per_customer = np.bincount(customers.code[in_period], minlength=len(customers))
    days = _days_between(history, customers, in_period)
    return PeriodFigures(
        customers_at_start=int(at_start.sum()),
        customers_at_end=int(at_end.sum()),
        new_customers=int(new.sum()),
        new_at_end=int((new & at_end).sum()),
        retained=int((at_start & at_end).sum()),
        churned=int(churned.sum()),
        buyers=int((per_customer > 0).sum()),
        repeat_buyers=int((per_customer >= 2).sum()),
        purchases=int(in_period.sum()),
        revenue_minor=int(history.net[in_period].sum()),
        intervals=int(days.size),
        mean_days_between=float(days.mean()) if days.size else None,
        median_days_between=float(np.median(days)) if days.size else None,
    )


def _days_between(history: PurchaseHistory, customers: Customers, in_period: Bools) -> np.ndarray:
    """Days since the previous purchase, for each purchase in the period that has one."""
    code = customers.code
    later = np.zeros(code.size, dtype=np.bool_)
    later[1:] = (code[1:] == code[:-1]) & in_period[1:]
    index = np.flatnonzero(later)
    return np.asarray((history.at[index] - history.at[index - 1]) / DAY, dtype=np.float64)
