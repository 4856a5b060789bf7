"""The main figures of a period together in one :class:`Report`: retention, the
splits by status and by RFM segment, cohorts, RFM segments, lifecycle stages,
profiles, loyalty and the program's economics, all read from one snapshot at once.
This is what ``patron report`` prints, ``patron analytics export`` writes and the
bench times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from patron.analytics.cohorts import CohortMatrix
from patron.analytics.economics import ProgramEconomics
from patron.analytics.lifecycle import Lifecycle
from patron.analytics.loyalty import score_bands
from patron.analytics.periods import ActivityRules, Period
from patron.analytics.retention import PeriodFigures
from patron.analytics.service_economics import program_figures
from patron.analytics.service_members import (
    loyalty_table,
    member_profiles,
    member_stages,
    rfm_scores,
)
from patron.analytics.service_retention import cohort_table, period_summary, period_summary_by

if TYPE_CHECKING:
    from patron.analytics.service import ShopData


@dataclass(frozen=True)
class Report:
    """The main figures together: what ``patron report`` prints and the bench times."""

    period: Period
    as_of: datetime
    currency: str
    summary: PeriodFigures
    by_status: list[tuple[str, PeriodFigures]]
    by_segment: list[tuple[str, PeriodFigures]]  # RFM segment at the start of the period
    cohorts: CohortMatrix
    rfm_segments: dict[str, int]
    lifecycle: Lifecycle
    profiles: dict[str, int]
    loyalty_mean: float | None
    loyalty_bands: dict[str, int]
    economics: ProgramEconomics


def full_report(data: ShopData, period: Period, rules: ActivityRules) -> Report:
    data.preload()
    scores = loyalty_table(data)
    return Report(
        period=period,
        as_of=data.as_of,
        currency=data.currency,
        summary=period_summary(data, period, rules),
        by_status=period_summary_by(data, period, rules, "status"),
        by_segment=period_summary_by(data, period, rules, "segment"),
        cohorts=cohort_table(data, period),
        rfm_segments=rfm_scores(data).segment_counts(),
        lifecycle=member_stages(data, rules),
        profiles=member_profiles(data).counts(),
        loyalty_mean=scores.mean(),
        loyalty_bands=score_bands(scores.scores),
        economics=program_figures(data, period),
    )
