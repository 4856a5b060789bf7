"""The columnar shop: shapes, dtypes, volume, and agreement with the dict shop."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from patron.demo import catalog
from patron.demo.generator import (
    generate_member_columns,
    generate_purchase_columns,
    generate_shop,
)
from patron.demo.personas import PERSONAS, SHARES

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
MEMBERS = 20_000

DTYPES = {
    "member": np.int32,
    "occurred_at": np.dtype("datetime64[s]"),
    "amount_minor": np.int64,
    "channel": np.int8,
    "store": np.int8,
    "discount": np.bool_,
    "coupon": np.int8,
    "payment": np.int8,
    "line_count": np.int16,
    "items": np.int32,
    "refund": np.int8,
    "refunded_minor": np.int64,
    "persona": np.int8,
}


@pytest.fixture(scope="module")
def columns() -> dict[str, np.ndarray]:
    return generate_purchase_columns(MEMBERS, 5, START, END)


def test_columns_have_the_documented_names_dtypes_and_one_length(
    columns: dict[str, np.ndarray],
) -> None:
    assert {name: col.dtype for name, col in columns.items()} == {
        name: np.dtype(dtype) for name, dtype in DTYPES.items()
    }
    assert len({col.shape for col in columns.values()}) == 1


def test_volume_is_about_eleven_purchases_per_member_over_two_years(
    columns: dict[str, np.ndarray],
) -> None:
    per_member = columns["member"].size / MEMBERS
    assert 8 < per_member < 14
    assert 1.3 < columns["line_count"].mean() < 2.0
    assert 600 < columns["amount_minor"].mean() < 1200  # an 8.50 average ticket


def test_rows_are_grouped_by_member_in_time_order(columns: dict[str, np.ndarray]) -> None:
    member, at = columns["member"], columns["occurred_at"]
    assert np.all(np.diff(member) >= 0)
    same = member[1:] == member[:-1]
    assert np.all(at[1:][same] >= at[:-1][same])
    assert at.min() >= np.datetime64("2024-01-01") and at.max() < np.datetime64("2026-01-01")


def test_codes_are_in_range_and_consistent(columns: dict[str, np.ndarray]) -> None:
    online = columns["channel"] == catalog.ONLINE_CHANNEL
    assert np.all((columns["store"] == -1) == online)
    assert columns["store"].max() == len(catalog.STORES) - 1
    assert np.array_equal(columns["discount"], columns["coupon"] > 0)
    assert np.all(columns["items"] >= columns["line_count"]) and columns["line_count"].min() == 1
    refunded = columns["refund"] > 0
    assert 0.01 < refunded.mean() < 0.05
    assert np.all(columns["refunded_minor"][~refunded] == 0)
    partial = columns["refund"] == catalog.REFUND_PARTIAL
    full = columns["refund"] == catalog.REFUND_FULL
    assert np.all(columns["refunded_minor"][partial] < columns["amount_minor"][partial])
    assert np.array_equal(columns["refunded_minor"][full], columns["amount_minor"][full])


def test_members_match_the_purchase_columns(columns: dict[str, np.ndarray]) -> None:
    members = generate_member_columns(MEMBERS, 5, START, END)
    joined = members["joined_at"]
    assert joined.shape == (MEMBERS,) and np.all(np.diff(joined) >= np.timedelta64(0, "s"))
    assert np.all(columns["occurred_at"] >= joined[columns["member"]])
    assert np.array_equal(members["persona"][columns["member"]], columns["persona"])
    shares = np.bincount(members["persona"], minlength=len(PERSONAS)) / MEMBERS
    assert np.allclose(shares, SHARES, atol=0.02)


def test_same_seed_same_columns_as_the_dict_shop() -> None:
    columns = generate_purchase_columns(400, 9, START, END)
    again = generate_purchase_columns(400, 9, START, END)
    assert all(np.array_equal(columns[name], again[name]) for name in columns)
    shop = generate_shop(members=400, seed=9, start=START, end=END)
    purchases = [e for e in shop.events if e["type"] == "purchase"]
    assert len(purchases) == columns["member"].size
    assert sorted(int(Decimal(p["amount"]) * 100) for p in purchases) == sorted(
        columns["amount_minor"].tolist()
    )
    per_member = Counter(p["member_external_id"] for p in purchases)
    assert per_member == Counter(f"cust-{m + 1:06d}" for m in columns["member"].tolist())
    refunds = sum(e["type"] == "refund" for e in shop.events)
    assert refunds == int((columns["refund"] > 0).sum())
