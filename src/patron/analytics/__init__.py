"""Retention analytics: are members coming back, who is drifting away, what is each
member worth, and what does the program cost and earn. Analytics only reads.

From Python::

    from patron.analytics import ActivityRules, Period, open_shop, period_summary
    period = Period.of(date(2026, 1, 1), date(2027, 1, 1), now=datetime.now(UTC))
    with open_shop(database, period.end) as data:
        figures = period_summary(data, period, ActivityRules())
        print(figures.retention_rate, figures.average_order_value(data.currency))

The pure metrics take numpy columns (``PurchaseHistory``) and need no database:
``retention``, ``cohorts``, ``rfm``, ``lifecycle``, ``profiles``, ``loyalty``,
``economics``; customer lifetime value models live in ``patron.analytics.clv``.
"""

from patron.analytics.history import PurchaseHistory
from patron.analytics.periods import ActivityRules, Period
from patron.analytics.service import (
    MemberScores,
    Report,
    ShopData,
    cohort_table,
    full_report,
    loyalty_table,
    member_profiles,
    member_scores,
    member_stages,
    open_shop,
    period_summary,
    period_summary_by,
    program_figures,
    rfm_scores,
)

__all__ = [
    "ActivityRules",
    "MemberScores",
    "Period",
    "PurchaseHistory",
    "Report",
    "ShopData",
    "cohort_table",
    "full_report",
    "loyalty_table",
    "member_profiles",
    "member_scores",
    "member_stages",
    "open_shop",
    "period_summary",
    "period_summary_by",
    "program_figures",
    "rfm_scores",
]
