"""Tiers over HTTP: status and progress, history, bad input, unknown member, scopes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from patron.access.models import ApiKey
from patron.access.service import create_api_key
from patron.core.clock import FrozenClock
from patron.core.db import Database
from tests.api.conftest import problem
from tests.integration.conftest import CAFE, load_program
from tests.integration.test_tiers import buy, program

H = dict[str, str]


@pytest.fixture
def tiered(database: Database, clock: FrozenClock) -> Database:
    load_program(database, program(), clock)
    return database


def send(client: TestClient, headers: H, *rows: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/v1/events/batch", json={"events": list(rows)}, headers=headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_tier_status_and_history(
    client: TestClient, tiered: Database, clock: FrozenClock, pos_headers: H, read_headers: H
) -> None:
    member = send(client, pos_headers, buy("o1", "180.00"))[0]["member_id"]
    body = client.get(f"/v1/members/{member}/tier", headers=read_headers).json()
    assert body["tier"]["id"] == "silver" and body["tier"]["multiplier"] == "1.5"
    assert body["qualify_on"] == "spend" and body["window"] == "rolling:365"
    assert body["measure"] == {"value": 18000, "display": "180.00 USD"}
    assert body["next"] == {
        "tier": "gold",
        "name": "Gold",
        "needed": {"value": 12000, "display": "120.00 USD"},
        "by": "2027-03-02",
    }
    assert body["keep"]["needed"]["value"] == 10000 and body["keep"]["by"] == "2027-04-01"
    assert body["text"].startswith("Spend 120.00 USD more by 2027-03-02 to reach Gold")
    assert [lv["id"] for lv in body["levels"]] == ["silver", "gold", "platinum"]
    clock.advance(days=1)
    send(client, pos_headers, buy("o2", "150.00"))
    history = client.get(f"/v1/members/{member}/tier/history?limit=1", headers=read_headers)
    page = history.json()
    assert [(c["kind"], c["from_tier"], c["to_tier"]) for c in page["items"]] == [
        ("upgrade", "silver", "gold")
    ]
    rest = client.get(
        f"/v1/members/{member}/tier/history",
        params={"cursor": page["next_cursor"]},
        headers=read_headers,
    ).json()
    assert [c["to_tier"] for c in rest["items"]] == ["silver"] and rest["next_cursor"] is None
    assert "Reached Silver" in rest["items"][0]["explanation"]


def test_a_member_without_a_tier(client: TestClient, tiered: Database, pos_headers: H) -> None:
    member = send(client, pos_headers, buy("o1", "20.00"))[0]["member_id"]
    body = client.get(f"/v1/members/{member}/tier", headers=pos_headers).json()
    assert body["tier"] is None and body["keep"] is None and body["review_at"] is None
    assert body["text"] == "Spend 80.00 USD more by 2027-03-02 to reach Silver"


@pytest.mark.parametrize("path", ["", "/history"])
def test_unknown_member_and_bad_ids(
    client: TestClient, tiered: Database, read_headers: H, path: str
) -> None:
    problem(client.get(f"/v1/members/999/tier{path}", headers=read_headers), 404, "member_id")
    for bad in ("0", "abc", str(2**63)):
        problem(client.get(f"/v1/members/{bad}/tier{path}", headers=read_headers), 422, "member_id")


def test_bad_history_parameters(client: TestClient, tiered: Database, read_headers: H) -> None:
    url = "/v1/members/1/tier/history"
    problem(client.get(url, params={"limit": 0}, headers=read_headers), 422, "limit")
    problem(client.get(url, params={"cursor": "not a cursor"}, headers=read_headers), 422, "cursor")


def test_no_tiers_in_the_program(
    client: TestClient, database: Database, clock: FrozenClock, pos_headers: H, read_headers: H
) -> None:
    load_program(database, CAFE, clock)
    member = send(client, pos_headers, buy("o1", "20.00"))[0]["member_id"]
    problem(client.get(f"/v1/members/{member}/tier", headers=read_headers), 409, "program")


def test_scopes(client: TestClient, tiered: Database) -> None:
    assert client.get("/v1/members/1/tier").status_code == 401
    with tiered.unit_of_work() as session:
        row, secret = create_api_key(session, "narrowed", ["read"])
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(scopes=[]))
    for path in ("/v1/members/1/tier", "/v1/members/1/tier/history"):
        response = client.get(path, headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 403
        assert response.json()["required_scope"] == "read"


def test_simulate_uses_the_members_tier(
    client: TestClient, tiered: Database, pos_headers: H, read_headers: H
) -> None:
    member = send(client, pos_headers, buy("o1", "320.00"))[0]["member_id"]  # Gold
    event = {"type": "purchase", "lines": buy("x", "10.00")["lines"]}
    out = client.post(
        "/v1/program/simulate", json={"event": event, "member_id": member}, headers=read_headers
    ).json()
    gold = [a for a in out["awards"] if a["rule_id"] == "tier:gold"]
    assert [a["points"] for a in gold] == [10] and "x2 Gold tier" in gold[0]["explanation"]
    sketch = {"event": event, "member": {"attributes": {"tier": "silver"}}}
    out = client.post("/v1/program/simulate", json=sketch, headers=read_headers).json()
    assert [a["points"] for a in out["awards"] if a["rule_id"] == "tier:silver"] == [5]
