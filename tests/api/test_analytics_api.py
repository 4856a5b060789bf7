"""Analytics over HTTP: figures as JSON, validated query parameters, scopes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from patron.access.models import ApiKey
from patron.access.service import create_api_key
from patron.core.clock import FrozenClock
from patron.core.db import Database
from tests.integration.analytics_shop import build_shop

H = dict[str, str]
SPRING = {"start": "2026-03-01", "end": "2026-06-01"}
WHOLE = {"start": "2026-01-01", "end": "2026-06-01"}


@pytest.fixture
def shop(database: Database, clock: FrozenClock) -> dict[str, int]:
    return build_shop(database, clock)


def get(client: TestClient, path: str, headers: H, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/analytics/{path}", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_summary(client: TestClient, shop: dict[str, int], read_headers: H) -> None:
    body = get(client, "summary", read_headers, **WHOLE)
    f = body["figures"]
    assert body["currency"] == "USD"
    assert body["period"]["start"].startswith("2026-01-01")
    assert (f["purchases"], f["revenue"], f["average_order_value"]) == (8, "140.00", "17.50")
    assert (f["buyers"], f["repeat_buyers"], f["repeat_purchase_rate"]) == (4, 3, 0.75)
    assert f["median_days_between_purchases"] == 52.0
    spring = get(client, "summary", read_headers, **SPRING)["figures"]
    assert (spring["customers_at_start"], spring["customers_at_end"]) == (2, 4)
    assert spring["retention_rate"] == 1.0 and spring["churn_rate"] == 0.0


def test_summary_split_by_an_attribute(
    client: TestClient, shop: dict[str, int], read_headers: H
) -> None:
    body = get(client, "summary", read_headers, by="attribute:city", **WHOLE)
    assert body["by"] == "attribute:city"
    assert {g["label"]: g["figures"]["revenue"] for g in body["groups"]} == {
        "London": "60.00",
        "Leeds": "55.00",
        "(none)": "25.00",
    }
    joined = get(client, "summary", read_headers, by="membership", **WHOLE)
    assert [g["label"] for g in joined["groups"]] == ["member", "before joining"]
    segments = get(client, "summary", read_headers, by="segment", **SPRING)
    assert {g["label"]: g["figures"]["revenue"] for g in segments["groups"]} == {
        "potential_loyalists": "30.00",
        "lost": "40.00",
        "(no purchase before the period)": "25.00",
    }


def test_cohorts_rfm_lifecycle_profiles_loyalty_economics(
    client: TestClient, shop: dict[str, int], read_headers: H
) -> None:
    cohorts = get(client, "cohorts", read_headers, **WHOLE)
    assert cohorts["months"][0] == "2026-01" and cohorts["counts"][0] == [2, 1, 1, 1, 0]
    assert cohorts["rates"][0][1] == 0.5
    rfm = get(client, "rfm", read_headers, **WHOLE)
    assert rfm["customers"] == 4
    assert sum(s["customers"] for s in rfm["segments"]) == 4
    assert len(rfm["segments"]) == 8
    life = get(client, "lifecycle", read_headers, **WHOLE)
    assert life["method"] == "recency" and life["model"] is None  # four customers: no fit
    assert sum(life["stages"].values()) == 4 and life["stages"]["new"] >= 1
    profiles = get(client, "profiles", read_headers, **WHOLE)
    assert profiles["counts"]["customers"] == 4 and profiles["counts"]["price_driven"] == 1
    loyalty = get(client, "loyalty", read_headers, **WHOLE)
    assert loyalty["members"] == 4 and sum(loyalty["bands"].values()) == 4
    assert sum(s["weight"] for s in loyalty["signals"]) == 100
    money = get(client, "economics", read_headers, **WHOLE)
    assert money["flows"]["spent"] == 20 and money["reward_cost"] == "0.20"
    assert money["value_per_point"] == "0.01"
    assert [m["month"] for m in money["months"]] == [f"2026-0{i}" for i in range(1, 6)]
    assert money["liability"] == money["months"][-1]["liability"]


def test_one_member(client: TestClient, shop: dict[str, int], read_headers: H) -> None:
    alice = get(client, f"members/{shop['alice']}", read_headers, **WHOLE)
    assert alice["purchases"] == 3 and alice["spent"] == "60.00"
    assert alice["loyalty_score"] == 31 and alice["price_driven"] is True
    assert len(alice["rfm"]) == 3 and alice["segment"] is not None
    missing = client.get("/v1/analytics/members/999", headers=read_headers)
    assert missing.status_code == 404 and missing.json()["field"] == "member_id"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-13-01"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"start": "2026-06-01", "end": "2026-01-01"}, "end"),
        ({"active_days": "0"}, "active_days"),
        ({"churn": "weekly"}, "churn"),
        ({"cycle_multiple": "-1"}, "cycle_multiple"),
        ({"by": "tier; drop table members"}, "by"),
        ({"by": "attribute:"}, "by"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    client: TestClient, database: Database, read_headers: H, params: dict[str, str], field: str
) -> None:
    response = client.get("/v1/analytics/summary", headers=read_headers, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field


def test_economics_parameters_and_long_cohorts_are_checked(
    client: TestClient, database: Database, read_headers: H
) -> None:
    for path, params, field in (
        ("economics", {"margin": "1.5"}, "margin"),
        ("economics", {"window_days": "1"}, "window_days"),
        ("cohorts", {"start": "2000-01-01", "end": "2026-01-01"}, "start"),
        ("members/0", {}, "member_id"),
    ):
        response = client.get(f"/v1/analytics/{path}", headers=read_headers, params=params)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field


def test_an_empty_shop_answers_with_nulls(
    client: TestClient, database: Database, read_headers: H
) -> None:
    f = get(client, "summary", read_headers)["figures"]
    assert f["purchases"] == 0 and f["retention_rate"] is None and f["revenue"] == "0.00"
    assert get(client, "economics", read_headers)["roi"] is None


def test_keys_and_scopes(client: TestClient, database: Database) -> None:
    assert client.get("/v1/analytics/summary").status_code == 401
    with database.unit_of_work() as session:
        row, secret = create_api_key(session, "narrowed", ["read"])
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(scopes=[]))
    response = client.get("/v1/analytics/summary", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert response.json()["required_scope"] == "read"
