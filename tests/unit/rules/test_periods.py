from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.rules.periods import period_key


def test_keys() -> None:
    at = datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert period_key("day", at, "UTC") == "2026-11-22"
    assert period_key("week", at, "UTC") == "2026-W47"
    assert period_key("month", at, ZoneInfo("UTC")) == "2026-11"
    assert period_key("year", at, "UTC") == "2026"


def test_iso_week_year_differs_from_calendar_year() -> None:
    assert period_key("week", datetime(2027, 1, 1, tzinfo=UTC), "UTC") == "2026-W53"
    assert period_key("week", datetime(2025, 12, 29, tzinfo=UTC), "UTC") == "2026-W01"


def test_local_zone_and_naive_is_utc() -> None:
    at = datetime(2026, 12, 31, 23, 30)
    assert period_key("year", at, "UTC") == "2026"
    assert period_key("year", at, "Europe/Berlin") == "2027"
    assert period_key("day", at, "America/New_York") == "2026-12-31"


def test_unknown_period() -> None:
    with pytest.raises(ValueError, match="unknown cap period"):
        period_key("fortnight", datetime(2026, 1, 1, tzinfo=UTC), "UTC")


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
    )
)
def test_keys_nest(at: datetime) -> None:
    day = period_key("day", at, "Europe/London")
    assert day.startswith(period_key("month", at, "Europe/London") + "-")
    assert period_key("month", at, "Europe/London").startswith(
        period_key("year", at, "Europe/London")
    )
    week = period_key("week", at, "Europe/London")
    assert len(week) == 8 and week[4:6] == "-W"
