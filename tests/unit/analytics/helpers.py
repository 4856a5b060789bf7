"""Hand-made purchase histories for the analytics tests: times in days from 2026-01-01."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from patron.analytics.history import DAY, PurchaseHistory
from patron.analytics.periods import Period

ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
T0 = int(ORIGIN.timestamp())


def day(n: float) -> int:
    """Epoch seconds ``n`` days after 2026-01-01."""
    return T0 + int(n * DAY)


def period(start_day: float, end_day: float) -> Period:
    return Period(ORIGIN + timedelta(days=start_day), ORIGIN + timedelta(days=end_day))


def history(
    rows: list[tuple[int, float, int]],
    discounted: list[bool] | None = None,
    channel: list[int] | None = None,
    store: list[int] | None = None,
) -> PurchaseHistory:
    """``rows`` of (member, day, net minor units), in any order."""
    return PurchaseHistory.build(
        [r[0] for r in rows],
        [day(r[1]) for r in rows],
        [r[2] for r in rows],
        discounted,
        channel,
        store,
    )
