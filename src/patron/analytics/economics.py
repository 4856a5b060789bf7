"""What the program costs and earns: points liability, breakage, redemptions, ROI.

From the ledger (``ledger_entries``, summed per UTC day and kind, so ledger figures
go by whole UTC days):

- *outstanding points* at a moment: the sum of every entry before it, i.e. all
  members' balances (pending points included, debts netted); *liability* =
  outstanding x the program's ``value_per_point`` (the program in force now).
  Points past their expiry date stay outstanding until the expiry job books them.
- over a period: *earned* = ``earn`` entries; *reversed* = points taken back by
  refunds (``reverse``); *net earned* = earned - reversed; *spent* (``spend``),
  *expired* (``expire``) and *adjusted* (``adjust``, net) as positive flows.
- *breakage rate* = expired / net earned; *redemption rate* = spent / net earned
  (flows in the same period, not a cohort's eventual fate).
- *cost of rewards* = points spent x value per point (what the points were worth);
  beside it, *till discounts*: the money rewards took off orders when used at the
  till in the period (``redemptions.discount`` of rewards used), which gifts and
  unused coupons do not have.
- *incremental revenue* (own pre-join baseline): for every member who joined in the
  period, had bought in the ``window_days`` before joining, and has ``window_days``
  of history after it: net spend in the window after joining minus net spend in the
  window before. Summed over those members; ``lift`` = after / before - 1. It ignores
  seasonality and, by selecting customers who were buying before, leans
  conservative. In Patron every purchase belongs to a member, so the members' own
  purchases before joining are the only "non-member" comparison there is.
- *ROI* = (incremental revenue x ``margin`` - cost of rewards) / cost of rewards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import numpy as np

from patron.analytics.figures import money, points_value, share
from patron.analytics.history import DAY, Ints, PurchaseHistory, positions
from patron.analytics.periods import Period, month_label, month_of

LEDGER_KINDS = ("earn", "spend", "expire", "reverse", "adjust")
EARN, SPEND, EXPIRE, REVERSE, ADJUST = range(5)


@dataclass(frozen=True)
class LedgerFlows:
    """Points per UTC day (days since 1970-01-01) and entry kind, signed as booked."""

    day: Ints
    kind: Ints  # index into LEDGER_KINDS
    points: Ints


@dataclass(frozen=True)
class PointFlows:
    earned: int
    reversed: int
    spent: int
    expired: int
    adjusted: int

    @property
    def net_earned(self) -> int:
        return self.earned - self.reversed


@dataclass(frozen=True)
class MonthPoints:
    month: str
    flows: PointFlows
    outstanding: int  # at the end of the month (or of the period, if sooner)


@dataclass(frozen=True)
class IncrementalRevenue:
    window_days: int
    members: int
    before_minor: int
    after_minor: int

    @property
    def incremental_minor(self) -> int:
        return self.after_minor - self.before_minor

    @property
    def lift(self) -> float | None:
        ratio = share(self.after_minor, self.before_minor)
        return None if ratio is None else ratio - 1.0


@dataclass(frozen=True)
class ProgramEconomics:
    currency: str
    value_per_point: Decimal
    flows: PointFlows
    outstanding_at_end: int
    months: list[MonthPoints]
    incremental: IncrementalRevenue
    margin: Decimal
    rewards_used: int = 0
    till_discounts_minor: int = 0

    @property
    def till_discounts(self) -> Decimal:
        return money(self.till_discounts_minor, self.currency)

    @property
    def breakage_rate(self) -> float | None:
        return share(self.flows.expired, self.flows.net_earned)

    @property
    def redemption_rate(self) -> float | None:
        return share(self.flows.spent, self.flows.net_earned)

    @property
    def reward_cost(self) -> Decimal:
        return points_value(self.flows.spent, self.value_per_point, self.currency)

    @property
    def liability_at_end(self) -> Decimal:
        return points_value(self.outstanding_at_end, self.value_per_point, self.currency)

    def liability(self, outstanding: int) -> Decimal:
        return points_value(outstanding, self.value_per_point, self.currency)

    @property
    def incremental_revenue(self) -> Decimal | None:
        if not self.incremental.members:
            return None
        return money(self.incremental.incremental_minor, self.currency)

    @property
    def roi(self) -> float | None:
        gain = self.incremental_revenue
        cost = self.reward_cost
        if gain is None or not cost:
            return None
        return float((gain * self.margin - cost) / cost)


def point_flows(flows: LedgerFlows, mask: np.ndarray) -> PointFlows:
    sums = np.zeros(len(LEDGER_KINDS), dtype=np.int64)
    np.add.at(sums, flows.kind[mask], flows.points[mask])
    total = [int(v) for v in sums]
    return PointFlows(
        earned=total[EARN],
        reversed=-total[REVERSE],
        spent=-total[SPEND],
        expired=-total[EXPIRE],
        adjusted=total[ADJUST],
    )


def monthly_points(flows: LedgerFlows, period: Period) -> list[MonthPoints]:
    """Each calendar month overlapping the period: its flows within the period, and
    the points outstanding at its end."""
    start_day, end_day = period.start_s // DAY, -(-period.end_s // DAY)
    months = []
    first, last = month_of(period.start), month_of(period.end - timedelta(seconds=1))
    for number in range(first, last + 1):
        lo = max(_month_first_day(number), start_day)
        hi = min(_month_first_day(number + 1), end_day)
        inside = (flows.day >= lo) & (flows.day < hi)
        outstanding = int(flows.points[flows.day < hi].sum())
        months.append(MonthPoints(month_label(number), point_flows(flows, inside), outstanding))
    return months


def incremental_revenue(
    history: PurchaseHistory, member_ids: Ints, joined_at: Ints, period: Period, window_days: int
) -> IncrementalRevenue:
    window = window_days * DAY
    joined_in = (joined_at >= period.start_s) & (joined_at + window <= period.end_s)
    where, found = positions(member_ids, history.member)
    join = np.where(found, joined_at[where] if joined_at.size else 0, 0)
    eligible_buyer = found & (joined_in[where] if joined_at.size else found)
    before = eligible_buyer & (history.at >= join - window) & (history.at < join)
    after = eligible_buyer & (history.at >= join) & (history.at < join + window)
    had_before = np.zeros(member_ids.size, dtype=np.bool_)
    had_before[where[before]] = True
    counted = had_before[where] & eligible_buyer
    return IncrementalRevenue(
        window_days=window_days,
        members=int(had_before.sum()),
        before_minor=int(history.net[before & counted].sum()),
        after_minor=int(history.net[after & counted].sum()),
    )


def program_economics(
    flows: LedgerFlows,
    period: Period,
    value_per_point: Decimal,
    currency: str,
    incremental: IncrementalRevenue,
    margin: Decimal = Decimal(1),
    rewards_used: tuple[int, int] = (0, 0),
) -> ProgramEconomics:
    """``rewards_used``: rewards used at the till in the period, and the money they
    took off those orders (minor units)."""
    start_day, end_day = period.start_s // DAY, -(-period.end_s // DAY)
    inside = (flows.day >= start_day) & (flows.day < end_day)
    return ProgramEconomics(
        currency=currency,
        value_per_point=value_per_point,
        flows=point_flows(flows, inside),
        outstanding_at_end=int(flows.points[flows.day < end_day].sum()),
        months=monthly_points(flows, period),
        incremental=incremental,
        margin=margin,
        rewards_used=rewards_used[0],
        till_discounts_minor=rewards_used[1],
    )


def _month_first_day(number: int) -> int:
    year, month = divmod(number, 12)
    return int(np.datetime64(f"{1970 + year:04d}-{month + 1:02d}-01", "D").astype(np.int64))
