"""summarize: the buy-till-you-die conventions, checked against the published CDNOW
summary and, property-style, against a plain-Python restatement of the conventions."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.clv import RFMSummary, summarize

from .conftest import CdnowSummary


def _summarize(rows: dict[str, list[Any]], calibration_end: Any, **kwargs: Any) -> RFMSummary:
    return summarize(
        rows,
        customer_col="customer",
        date_col="date",
        amount_col="amount",
        calibration_end=calibration_end,
        **kwargs,
    )


def test_cdnow_transactions_give_the_published_summary(
    cdnow_transactions: dict[str, list[Any]], cdnow: CdnowSummary
) -> None:
    """Days from the transactions, divided by 7, are the published weeks (rounded to
    two decimals); monetary value is the published mean repeat spend."""
    summary = _summarize(cdnow_transactions, "1997-09-30", freq="D")
    assert summary.customer.tolist() == cdnow.customer.astype(int).tolist()
    np.testing.assert_array_equal(summary.frequency, cdnow.frequency)
    np.testing.assert_allclose(summary.recency / 7, cdnow.recency, atol=0.005 + 1e-9)
    np.testing.assert_allclose(summary.T / 7, cdnow.T, atol=0.005 + 1e-9)
    np.testing.assert_allclose(summary.monetary_value, cdnow.monetary_value, atol=0.005 + 1e-9)


def test_one_purchase() -> None:
    summary = _summarize({"customer": [7], "date": ["2026-01-05"], "amount": [12.5]}, "2026-03-02")
    row = summary.to_rows()[0]
    assert row == {"customer": 7, "frequency": 0.0, "recency": 0.0, "T": 8.0, "monetary_value": 0.0}


def test_same_day_purchases_merge_into_one() -> None:
    rows = {
        "customer": ["a", "a", "a", "b", "b", "b"],
        "date": [
            "2026-01-05T08:00:00",
            "2026-01-05T12:30:00",
            "2026-01-05T23:59:59",
            "2026-01-05",
            "2026-01-07T09:00:00",
            "2026-01-07T17:00:00",
        ],
        "amount": [1, 2, 3, 10, 4, 6],
    }
    a, b = _summarize(rows, "2026-01-31", freq="D").to_rows()
    assert (a["frequency"], a["recency"], a["monetary_value"]) == (0.0, 0.0, 0.0)
    # b: first day, then one repeat day of 4 + 6.
    assert (b["frequency"], b["recency"], b["monetary_value"]) == (1.0, 2.0, 10.0)
    assert a["T"] == b["T"] == 26.0


def test_zero_spend_repeat_purchases_count_with_zero_value() -> None:
    rows = {"customer": [1, 1, 1], "date": ["2026-01-01", "2026-01-10", "2026-01-20"]}
    rows["amount"] = [Decimal("4.50"), Decimal("0"), Decimal("0.00")]
    row = _summarize(rows, "2026-01-31", freq="D").to_rows()[0]
    assert (row["frequency"], row["recency"], row["monetary_value"]) == (2.0, 19.0, 0.0)


def test_time_zones_are_read_in_utc() -> None:
    new_york = timezone(timedelta(hours=-5))
    rows = {
        "customer": [1, 1],
        "date": [datetime(2026, 1, 1, 22, 0, tzinfo=new_york), "2026-01-02T01:00:00+00:00"],
        "amount": [3, 4],
    }
    # 22:00 in New York is 03:00 UTC on 2 January: the same day as the second purchase.
    row = _summarize(rows, date(2026, 1, 31), freq="D").to_rows()[0]
    assert (row["frequency"], row["T"]) == (0.0, 29.0)


def test_calibration_end_bounds() -> None:
    rows = {"customer": [1, 1, 1], "date": ["2026-01-01", "2026-01-31T18:00:00", "2026-02-01"]}
    rows["amount"] = [1, 2, 3]
    whole_day = _summarize(rows, "2026-01-31", freq="D").to_rows()[0]
    assert (whole_day["frequency"], whole_day["monetary_value"]) == (1.0, 2.0)
    before_six = _summarize(rows, datetime(2026, 1, 31, 17, 59, tzinfo=UTC), freq="D")
    assert before_six.frequency.tolist() == [0.0]
    at_six = _summarize(rows, "2026-01-31T18:00:00+00:00", freq="D")
    assert at_six.frequency.tolist() == [1.0]


def test_weeks_start_on_monday_and_months_are_calendar_months() -> None:
    rows = {"customer": [1, 1, 1], "date": ["2026-01-04", "2026-01-05", "2026-01-11"]}
    rows["amount"] = [1, 1, 1]  # a Sunday, then Monday and Sunday of the next week
    weekly = _summarize(rows, "2026-01-12", freq="W").to_rows()[0]
    assert (weekly["frequency"], weekly["recency"], weekly["T"]) == (1.0, 1.0, 2.0)
    monthly = _summarize(
        {"customer": [1, 1], "date": ["2026-01-31", "2026-02-01"], "amount": [1, 1]},
        "2026-12-31",
        freq="M",
    ).to_rows()[0]
    assert (monthly["frequency"], monthly["recency"], monthly["T"]) == (1.0, 1.0, 11.0)


def test_holdout_period() -> None:
    rows = {
        "customer": [1, 1, 1, 1, 2, 3],
        "date": [
            "2026-01-01",
            "2026-01-20",
            "2026-02-03",
            "2026-02-03",
            "2026-01-15",
            "2026-02-05",
        ],
        "amount": [5, 7, 2, 4, 9, 8],
    }
    summary = _summarize(rows, "2026-01-31", observation_end="2026-02-28", freq="D")
    assert summary.customer.tolist() == [1, 2]  # customer 3 is new in the holdout
    assert summary.frequency_holdout is not None
    assert summary.monetary_value_holdout is not None
    assert summary.frequency_holdout.tolist() == [1.0, 0.0]
    assert summary.monetary_value_holdout.tolist() == [6.0, 0.0]
    assert summary.duration_holdout == 28.0
    assert set(summary.columns()) >= {"frequency_holdout", "duration_holdout"}


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        ({"customer": [], "date": [], "amount": []}, {}, "no transactions"),
        ({"customer": [1], "date": ["2027-01-01"], "amount": [1]}, {}, "on or before"),
        ({"customer": [1], "date": ["yesterday"], "amount": [1]}, {}, r"date\[0\]"),
        ({"customer": [1], "date": ["2026-01-01"], "amount": ["ten"]}, {}, "amounts must be"),
        ({"customer": [1], "date": ["2026-01-01"], "amount": [np.inf]}, {}, "finite"),
        ({"customer": [1, 2], "date": ["2026-01-01"], "amount": [1]}, {}, "same length"),
        ({"customer": [1], "date": ["2026-01-01"]}, {}, "no column 'amount'"),
        ({"customer": [1], "date": ["2026-01-01"], "amount": [1]}, {"freq": "Y"}, "freq"),
        (
            {"customer": [1], "date": ["2026-01-01"], "amount": [1]},
            {"observation_end": "2026-01-15"},
            "observation_end",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(
    rows: dict[str, list[Any]], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _summarize(rows, "2026-06-30", **kwargs)


def _period(day: date, freq: str) -> int:
    if freq == "D":
        return day.toordinal()
    if freq == "W":
        return (day.toordinal() - 1) // 7  # 0001-01-01 was a Monday
    return day.year * 12 + day.month


def _reference(
    transactions: list[tuple[int, date, int]], calibration_end: date, freq: str
) -> dict[int, tuple[float, float, float, float]]:
    """The conventions restated in plain Python: per customer, purchases merged per
    period; (repeat periods, last - first, end - first, mean repeat-period total)."""
    totals: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for customer, day, amount in transactions:
        if day <= calibration_end:
            totals[customer][_period(day, freq)] += amount
    out = {}
    for customer, by_period in totals.items():
        periods = sorted(by_period)
        repeat = [by_period[p] for p in periods[1:]]
        out[customer] = (
            float(len(repeat)),
            float(periods[-1] - periods[0]),
            float(_period(calibration_end, freq) - periods[0]),
            sum(repeat) / len(repeat) if repeat else 0.0,
        )
    return out


@settings(max_examples=150, deadline=None)
@given(
    transactions=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=6),
            st.dates(min_value=date(2024, 12, 1), max_value=date(2026, 2, 28)),
            st.integers(min_value=0, max_value=100_000),
        ),
        min_size=1,
        max_size=60,
    ),
    calibration_end=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 3, 31)),
    freq=st.sampled_from(["D", "W", "M"]),
)
def test_matches_the_conventions_restated(
    transactions: list[tuple[int, date, int]], calibration_end: date, freq: str
) -> None:
    columns = {
        "customer": [t[0] for t in transactions],
        "date": [t[1].isoformat() for t in transactions],
        "amount": [t[2] for t in transactions],
    }
    expected = _reference(transactions, calibration_end, freq)
    if not expected:
        with pytest.raises(ValueError, match="on or before"):
            _summarize(columns, calibration_end, freq=freq)
        return
    summary = _summarize(columns, calibration_end, freq=freq)
    assert summary.customer.tolist() == sorted(expected)
    for row in summary.to_rows():
        frequency, recency, age, monetary = expected[row["customer"]]
        assert (row["frequency"], row["recency"], row["T"]) == (frequency, recency, age)
        assert row["monetary_value"] == pytest.approx(monetary, rel=1e-12)
        assert 0 <= row["recency"] <= row["T"]
