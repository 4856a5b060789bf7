"""The period and the activity rules a figure was asked for, as echoed back in the
analytics responses, and :data:`Rate`, the type of every rate and share (a float
between 0 and 1, null when its denominator is 0).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from patron.analytics.periods import Period

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
