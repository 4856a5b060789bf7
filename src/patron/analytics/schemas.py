"""Analytics responses. Money is a decimal string in the program currency; rates and
shares are floats between 0 and 1 (null when their denominator is 0); counts are
integers; days are floats.

The response models live by topic in ``schemas_periods`` (the period and rules
asked about, ``Rate``), ``schemas_retention`` (period figures, summary, cohorts),
``schemas_members`` (RFM, lifecycle, profiles, loyalty, one member's scores),
``schemas_economics`` (program economics) and ``schemas_lifetime_value`` (CLV
fits); every one of them is importable from here.
"""

from __future__ import annotations

from patron.analytics.schemas_economics import EconomicsOut, FlowsOut, IncrementalOut, MonthOut
from patron.analytics.schemas_lifetime_value import (
    CustomerValueOut,
    FittedModelOut,
    LifetimeValueOut,
)
from patron.analytics.schemas_members import (
    LifecycleOut,
    LoyaltyOut,
    MemberAnalyticsOut,
    ModelOut,
    ProfilesOut,
    RFMOut,
    SegmentOut,
    SignalOut,
)
from patron.analytics.schemas_periods import PeriodOut, Rate, RulesOut
from patron.analytics.schemas_retention import CohortsOut, FiguresOut, GroupOut, SummaryOut

__all__ = [
    "CohortsOut",
    "CustomerValueOut",
    "EconomicsOut",
    "FiguresOut",
    "FittedModelOut",
    "FlowsOut",
    "GroupOut",
    "IncrementalOut",
    "LifecycleOut",
    "LifetimeValueOut",
    "LoyaltyOut",
    "MemberAnalyticsOut",
    "ModelOut",
    "MonthOut",
    "PeriodOut",
    "ProfilesOut",
    "RFMOut",
    "Rate",
    "RulesOut",
    "SegmentOut",
    "SignalOut",
    "SummaryOut",
]
