"""Periods of analysis, calendar months, and the rules that say who is a customer.

A period is ``[start, end)`` in UTC: ``start`` included, ``end`` excluded. Dates
stand for midnight UTC, so ``start=2026-01-01, end=2027-01-01`` is the year 2026.
Months are calendar months in UTC, numbered from January 1970 (``month_number``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import numpy as np

from patron.analytics.history import DAY, Ints
from patron.core.errors import InvalidInput

DEFAULT_DAYS = 365
ChurnRule = Literal["days", "cycle"]


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def start_s(self) -> int:
        return int(self.start.timestamp())

    @property
    def end_s(self) -> int:
        return int(self.end.timestamp())

    @property
    def days(self) -> float:
        return (self.end_s - self.start_s) / DAY

    @classmethod
    def of(
        cls,
        start: date | datetime | None,
        end: date | datetime | None,
        *,
        now: datetime,
        start_field: str = "start",
        end_field: str = "end",
    ) -> Period:
        """The period from the caller's bounds. Without ``end``: through today (UTC);
        without ``start``: the ``DEFAULT_DAYS`` days before ``end``."""
        end_at = as_utc(end) if end is not None else as_utc(as_utc(now).date()) + timedelta(days=1)
        start_at = as_utc(start) if start is not None else end_at - timedelta(days=DEFAULT_DAYS)
        if end_at <= start_at:
            raise InvalidInput(
                f"{end_field} ({end_at:%Y-%m-%d %H:%M}) must be after {start_field} "
                f"({start_at:%Y-%m-%d %H:%M})",
                field=end_field,
            )
        return cls(start_at, end_at)


def as_utc(moment: date | datetime) -> datetime:
    """A date is its midnight UTC; a naive datetime is taken as UTC."""
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class ActivityRules:
    """Who counts as a customer at a moment, and who has churned.

    - *Active customer at t*: made a counted purchase in ``[t - active_days, t)``.
    - *Churned at t* (``churn="days"``): no purchase in ``[t - churn_days, t)``.
    - *Churned at t* (``churn="cycle"``): the time since their last purchase exceeds
      ``cycle_multiple`` x their own mean time between purchases (at least a day);
      customers with a single purchase have no cycle and fall back to ``churn_days``.
    """

    active_days: int = 90
    churn: ChurnRule = "days"
    churn_days: int = 90
    cycle_multiple: float = 3.0

    def __post_init__(self) -> None:
        if not 1 <= self.active_days <= 3650:
            raise InvalidInput("active_days must be between 1 and 3650", field="active_days")
        if not 1 <= self.churn_days <= 3650:
            raise InvalidInput("churn_days must be between 1 and 3650", field="churn_days")
        if not 0 < self.cycle_multiple <= 100:
            raise InvalidInput(
                "cycle_multiple must be above 0 and at most 100", field="cycle_multiple"
            )


def month_number(epoch_seconds: Ints) -> Ints:
    """Calendar month (UTC) of each moment: 0 is January 1970."""
    months = epoch_seconds.astype("datetime64[s]").astype("datetime64[M]")
    return np.asarray(months.astype(np.int64), dtype=np.int64)


def month_of(moment: datetime) -> int:
    moment = as_utc(moment)
    return (moment.year - 1970) * 12 + moment.month - 1


def month_label(number: int) -> str:
    """``2026-03`` for a month number."""
    year, month = divmod(int(number), 12)
    return f"{1970 + year:04d}-{month + 1:02d}"


def month_start(number: int) -> datetime:
    year, month = divmod(int(number), 12)
    return datetime(1970 + year, month + 1, 1, tzinfo=UTC)
