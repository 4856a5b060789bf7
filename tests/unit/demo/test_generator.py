"""The synthetic shop: well-formed, consistent, deterministic API-shaped events."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from patron.core.money import to_minor
from patron.demo.generator import Shop, generate_shop
from patron.events.refunds import RefundState, apply_refund
from patron.events.validation import check_shape, parse_row
from patron.members.schemas import MemberCreate, normalize_phone

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)


def parse(stamp: str) -> datetime:
    assert stamp.endswith("Z") and len(stamp) == 20
    return datetime.fromisoformat(stamp)


@pytest.fixture(scope="module")
def shop() -> Shop:
    return generate_shop(members=1500, seed=7, start=START, end=END)


def by_type(shop: Shop, kind: str) -> list[dict[str, Any]]:
    return [e for e in shop.events if e["type"] == kind]


def test_same_seed_gives_the_same_shop_and_another_seed_another(shop: Shop) -> None:
    again = generate_shop(members=1500, seed=7, start=START, end=END)
    assert again.events == shop.events
    assert again.profiles == shop.profiles
    other = generate_shop(members=1500, seed=8, start=START, end=END)
    assert other.events != shop.events


def test_every_kind_of_event_is_there(shop: Shop) -> None:
    kinds = Counter(e["type"] if e["type"] != "custom" else e["name"] for e in shop.events)
    assert kinds["signup"] == 1500
    assert kinds["purchase"] > 5 * 1500
    assert 0.01 < kinds["refund"] / kinds["purchase"] < 0.05
    assert kinds["review"] > 0 and kinds["survey_answer"] > 0
    assert 0 < kinds["membership_fee"] < 0.1 * 1500  # some regulars pay for Gold
    purchases = by_type(shop, "purchase")
    assert (
        0.01 < sum(p["attributes"]["coupon"] is not None for p in purchases) / len(purchases) < 0.1
    )
    assert {p["channel"] for p in purchases} == {"store", "online", "app"}
    assert all((p["store"] is None) == (p["channel"] == "online") for p in purchases)


def test_amount_is_exactly_the_sum_of_the_lines(shop: Shop) -> None:
    for purchase in by_type(shop, "purchase"):
        assert isinstance(purchase["amount"], str)
        total = sum(Decimal(line["unit_price"]) * line["quantity"] for line in purchase["lines"])
        assert Decimal(purchase["amount"]) == total > 0
        skus = [line["sku"] for line in purchase["lines"]]
        assert len(skus) == len(set(skus))
        assert purchase["currency"] == "USD"


def test_events_are_in_time_order_within_the_period(shop: Shop) -> None:
    stamps = [parse(e["occurred_at"]) for e in shop.events]
    assert stamps == sorted(stamps)
    assert stamps[0] >= START and stamps[-1] < END


def test_members_act_only_after_signing_up(shop: Shop) -> None:
    joined: dict[str, str] = {}
    for event in shop.events:
        member = event["member_external_id"]
        if event["type"] == "signup":
            assert member not in joined
            joined[member] = event["occurred_at"]
        else:
            assert member in joined and event["occurred_at"] >= joined[member]


def test_refunds_never_exceed_the_purchase_and_fall_between_it_and_the_end(shop: Shop) -> None:
    purchases = {p["external_id"]: p for p in by_type(shop, "purchase")}
    refunds = by_type(shop, "refund")
    assert any("lines" in r for r in refunds) and any("lines" not in r for r in refunds)
    seen = set()
    for refund in refunds:
        bought = purchases[refund["refund_of"]]
        assert refund["refund_of"] not in seen
        seen.add(refund["refund_of"])
        assert refund["member_external_id"] == bought["member_external_id"]
        delay = parse(refund["occurred_at"]) - parse(bought["occurred_at"])
        assert timedelta(0) < delay <= timedelta(days=14)
        skus = [line["sku"] for line in bought["lines"]]
        state = RefundState(
            to_minor(bought["amount"], "USD"),
            [line["quantity"] for line in bought["lines"]],
            [to_minor(line["unit_price"], "USD") for line in bought["lines"]],
        )
        lines = [(line["sku"], line["quantity"]) for line in refund.get("lines", [])]
        refunded, _ = apply_refund(state, skus, lines or None, None, "USD")  # raises if too much
        assert 0 < refunded <= state.amount
        if lines:  # a partial refund leaves something unrefunded
            assert refunded < state.amount


def test_ids_emails_and_phones_are_unique_and_valid(shop: Shop) -> None:
    event_ids = [e["external_id"] for e in shop.events]
    assert len(event_ids) == len(set(event_ids))
    members = [p["external_id"] for p in shop.profiles]
    assert members[:2] == ["cust-000001", "cust-000002"] and len(set(members)) == 1500
    emails = [p["email"] for p in shop.profiles]
    assert len(set(emails)) == len(emails)
    phones = [p["phone"] for p in shop.profiles if p["phone"] is not None]
    assert len(set(phones)) == len(phones) and 0.5 < len(phones) / 1500 < 0.9
    assert all(normalize_phone(phone) == phone for phone in phones[:300])
    assert all(not p["consents"]["sms"] for p in shop.profiles if p["phone"] is None)


def test_profiles_and_events_pass_the_api_validation(shop: Shop) -> None:
    for profile in shop.profiles[:300]:
        MemberCreate.model_validate(profile)
    for event in shop.events[:4000] + by_type(shop, "refund"):
        check_shape(parse_row(event), "USD", END)


def test_other_currencies_use_their_minor_units() -> None:
    yen = generate_shop(members=40, seed=3, start=START, end=END, currency="jpy")
    purchases = by_type(yen, "purchase")
    assert purchases and all(p["currency"] == "JPY" for p in purchases)
    assert all("." not in p["amount"] for p in purchases)
    for event in purchases:
        check_shape(parse_row(event), "JPY", END)


def test_reviews_and_surveys_have_sensible_scores(shop: Shop) -> None:
    custom = by_type(shop, "custom")
    ratings = [e["attributes"]["rating"] for e in custom if e["name"] == "review"]
    scores = [e["attributes"]["nps"] for e in custom if e["name"] == "survey_answer"]
    assert set(ratings) <= set(range(1, 6)) and sum(ratings) / len(ratings) > 3.5
    assert set(scores) <= set(range(11)) and len(set(scores)) > 5


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        generate_shop(members=10, seed=1, start=END, end=START)
    with pytest.raises(ValueError):
        generate_shop(members=10, seed=1, start=START.replace(tzinfo=None), end=END)
    empty = generate_shop(members=0, seed=1, start=START, end=END)
    assert empty.profiles == [] and empty.events == []


@pytest.mark.parametrize("length", [timedelta(minutes=5), timedelta(hours=1), timedelta(days=1)])
def test_short_windows_keep_everything_inside(length: timedelta) -> None:
    start = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)  # the small hours: stores are closed
    small = generate_shop(members=200, seed=4, start=start, end=start + length)
    stamps = [parse(e["occurred_at"]) for e in small.events]
    assert stamps == sorted(stamps) and start <= stamps[0] and stamps[-1] < start + length
    assert sum(e["type"] == "signup" for e in small.events) == 200
    closed = [
        e for e in small.events if e["type"] == "purchase" and parse(e["occurred_at"]).hour < 6
    ]
    assert all(e["channel"] == "online" for e in closed)
