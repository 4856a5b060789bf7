"""Retention use cases: the figures of a period (who was active at its start and end,
who came back, who churned, how often and how much they bought), the same figures
split by a member dimension (status, tier, RFM segment at the start of the period,
membership or a member attribute), and the monthly cohort matrix.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from patron.analytics import readers
from patron.analytics.cohorts import CohortMatrix, cohort_matrix
from patron.analytics.periods import ActivityRules, Period
from patron.analytics.retention import PeriodFigures, period_figures
from patron.analytics.rfm import SEGMENTS, rfm_table
from patron.analytics.splits import (
    NONE_LABEL,
    member_dimension_codes,
    membership_codes,
    split_history,
)
from patron.core.errors import InvalidInput

if TYPE_CHECKING:
    from patron.analytics.service import ShopData

MAX_COHORT_MONTHS = 120
# Customers without a purchase before the period, split by segment.
NEW_IN_PERIOD = "(no purchase before the period)"
DIMENSION = re.compile(r"^(status|tier|segment|membership|attribute:[A-Za-z0-9_\-. ]{1,100})$")


def period_summary(data: ShopData, period: Period, rules: ActivityRules) -> PeriodFigures:
    return period_figures(data.purchases, period, rules)


def check_dimension(dimension: str) -> str:
    if not DIMENSION.match(dimension):
        raise InvalidInput(
            "split by 'status', 'tier', 'segment', 'membership' or 'attribute:<key>' "
            f"(key: letters, digits, space, _ - .), not '{dimension}'",
            field="by",
        )
    return dimension


def period_summary_by(
    data: ShopData, period: Period, rules: ActivityRules, dimension: str
) -> list[tuple[str, PeriodFigures]]:
    """The period figures per group of a dimension (see ``splits``). A new member
    dimension only needs a reader of member labels."""
    history = data.purchases
    if check_dimension(dimension) == "membership":
        codes, names = membership_codes(history, *data.members)
    elif dimension == "segment":
        # The RFM segment each customer was in when the period began: how did the
        # champions of January do over the year? (Segmenting by the segment at the
        # end would be circular: recency at the end is part of what is measured.)
        rfm = rfm_table(history, period.start_s)
        segments = [SEGMENTS[s] for s in rfm.segment.tolist()]
        codes, names = member_dimension_codes(history, rfm.member, segments)
        names = [NEW_IN_PERIOD if n == NONE_LABEL else n for n in names]
    else:
        ids, labels = readers.member_labels(data.snap, dimension)
        codes, names = member_dimension_codes(history, ids, labels)
    return [
        (label, period_figures(group, period, rules))
        for label, group in split_history(history, codes, names)
    ]


def cohort_table(data: ShopData, period: Period) -> CohortMatrix:
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
    if months > MAX_COHORT_MONTHS:
        raise InvalidInput(
            f"a cohort matrix covers at most {MAX_COHORT_MONTHS} months; shorten the period",
            field="start",
        )
    return cohort_matrix(data.purchases, period)
