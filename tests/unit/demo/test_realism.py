"""The synthetic shop behaves like a shop: churn, seasons, habits, growth."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from patron.demo.generator import Shop, generate_shop

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def shop() -> Shop:
    return generate_shop(members=5000, seed=11, start=START, end=END)


@pytest.fixture(scope="module")
def purchases(shop: Shop) -> list[dict[str, Any]]:
    return [e for e in shop.events if e["type"] == "purchase"]


def when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def test_some_members_churn_and_some_stay(shop: Shop, purchases: list[dict[str, Any]]) -> None:
    joined = {e["member_external_id"]: when(e) for e in shop.events if e["type"] == "signup"}
    old = {m for m, at in joined.items() if at < END - timedelta(days=365)}
    recent = {p["member_external_id"] for p in purchases if when(p) >= END - timedelta(days=90)}
    lapsed = len(old - recent) / len(old)
    assert 0.35 < lapsed < 0.85  # many go quiet, a good share keeps coming


def test_a_few_regulars_make_much_of_the_trade(purchases: list[dict[str, Any]]) -> None:
    counts = sorted(Counter(p["member_external_id"] for p in purchases).values(), reverse=True)
    top_tenth = sum(counts[: len(counts) // 10])
    assert top_tenth / sum(counts) > 0.4
    assert counts[0] > 60 and counts[-1] == 1


def test_december_peaks_and_summer_dips(purchases: list[dict[str, Any]]) -> None:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for p in purchases:
        revenue[p["occurred_at"][:7]] += Decimal(p["amount"])

    def year(month: int) -> Decimal:
        return sum((v for k, v in revenue.items() if k.endswith(f"-{month:02d}")), Decimal())

    assert year(12) > year(7) * Decimal("1.2")
    # Against the trend (the member base keeps growing): compare with the neighbours.
    assert revenue["2024-12"] > Decimal("1.1") * (revenue["2024-11"] + revenue["2025-01"]) / 2
    assert revenue["2025-08"] < Decimal("0.95") * (revenue["2025-06"] + revenue["2025-10"]) / 2


def test_members_join_over_time_at_a_growing_pace(shop: Shop) -> None:
    months = Counter(when(e).strftime("%Y-%m") for e in shop.events if e["type"] == "signup")
    assert months["2024-01"] > months["2024-02"]  # the launch wave
    first_half = sum(months[f"2024-{m:02d}"] for m in range(2, 8))
    last_half = sum(months[f"2025-{m:02d}"] for m in range(7, 13))
    assert last_half > 1.3 * first_half


def test_weekday_mornings_are_the_coffee_rush(purchases: list[dict[str, Any]]) -> None:
    hours = Counter(when(p).hour for p in purchases if when(p).weekday() < 5)
    assert hours.most_common(1)[0][0] in (7, 8, 9)
    assert hours[3] == 0  # stores are closed, and so is almost everyone
    morning = [p for p in purchases if when(p).hour < 10 and when(p).weekday() < 5]
    coffee = Counter(line["category"] for p in morning for line in p["lines"])
    assert coffee.most_common(1)[0][0] == "coffee"


def test_weekend_baskets_are_bigger_with_more_bakery(purchases: list[dict[str, Any]]) -> None:
    def lines(weekend: bool) -> list[dict[str, Any]]:
        chosen = [p for p in purchases if (when(p).weekday() >= 5) == weekend]
        return [line for p in chosen for line in p["lines"]]

    def units_per_purchase(weekend: bool) -> float:
        chosen = [p for p in purchases if (when(p).weekday() >= 5) == weekend]
        return sum(line["quantity"] for p in chosen for line in p["lines"]) / len(chosen)

    def bakery_share(rows: list[dict[str, Any]]) -> float:
        return sum(r["quantity"] for r in rows if r["category"] == "bakery") / sum(
            r["quantity"] for r in rows
        )

    assert units_per_purchase(True) > 1.3 * units_per_purchase(False)
    assert bakery_share(lines(True)) > bakery_share(lines(False))


def test_online_orders_are_beans_and_gear(purchases: list[dict[str, Any]]) -> None:
    online = [line for p in purchases if p["channel"] == "online" for line in p["lines"]]
    in_store = [line for p in purchases if p["channel"] == "store" for line in p["lines"]]
    retail = {"beans", "merchandise"}
    assert sum(line["category"] in retail for line in online) / len(online) > 0.9
    assert sum(line["category"] in retail for line in in_store) / len(in_store) < 0.1


def test_people_mostly_visit_their_favourite_store(
    shop: Shop, purchases: list[dict[str, Any]]
) -> None:
    favourite = {p["external_id"]: p["attributes"]["favourite_store"] for p in shop.profiles}
    visits = [p for p in purchases if p["store"] is not None]
    at_home = sum(p["store"] == favourite[p["member_external_id"]] for p in visits)
    assert at_home / len(visits) > 0.7
    assert len({p["store"] for p in visits}) == 6
