"""Points over HTTP: balance, statement pages, adjustments and debits (idempotent)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.idempotency_models import IdempotencyRecord
from patron.ledger.models import LedgerEntry, LotAllocation, PointAccount, PointLot
from tests.api.conftest import problem
from tests.integration.conftest import CAFE, count, load_program

H = dict[str, str]
HUGE = 99999999999999999999


def rows(database: Database) -> tuple[int, int, int, int]:
    """What a points write can touch: entries, lots, allocations, idempotency records."""
    return (
        count(database, LedgerEntry),
        count(database, PointLot),
        count(database, LotAllocation),
        count(database, IdempotencyRecord),
    )


def account(database: Database, member_id: int) -> tuple[int, int]:
    with database.unit_of_work() as session:
        row = session.get(PointAccount, member_id)
        assert row is not None
        return row.balance, row.debt


@pytest.fixture
def cafe(database: Database, clock: FrozenClock) -> Database:
    load_program(database, CAFE, clock)
    return database


@pytest.fixture
def member(client: TestClient, cafe: Database, pos_headers: H) -> int:
    """Alice, with 66 points from one purchase."""
    body = {
        "external_id": "o1",
        "type": "purchase",
        "member_external_id": "alice",
        "lines": [
            {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": "3.00"},
            {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": "4.00"},
        ],
    }
    response = client.post("/v1/events", json=body, headers=pos_headers)
    assert response.status_code == 201, response.text
    member_id: int = response.json()["member_id"]
    return member_id


def points_of(client: TestClient, member_id: int, headers: H) -> dict[str, Any]:
    response = client.get(f"/v1/members/{member_id}/points", headers=headers)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


# -- balance ---------------------------------------------------------------------
def test_balance(client: TestClient, member: int, read_headers: H) -> None:
    assert points_of(client, member, read_headers) == {
        "member_id": member,
        "balance": 66,
        "available": 66,
        "pending": 0,
        "expiring_soon": 0,
        "expiring_within_days": 30,
        "debt": 0,
    }


@pytest.mark.parametrize("suffix", ["", "/statement"])
@pytest.mark.parametrize(
    ("member_id", "status"),
    [("999", 404), ("0", 422), ("-1", 422), ("x", 422), (str(2**63), 422), (str(HUGE), 422)],
)
def test_reading_points_of_bad_member_ids(
    client: TestClient, cafe: Database, read_headers: H, suffix: str, member_id: str, status: int
) -> None:
    response = client.get(f"/v1/members/{member_id}/points{suffix}", headers=read_headers)
    problem(response, status, "member_id")


# -- statement -------------------------------------------------------------------
def test_statement_pages_newest_first_with_explanations(
    client: TestClient,
    member: int,
    admin_headers: H,
    pos_headers: H,
    read_headers: H,
    clock: FrozenClock,
) -> None:
    for i in range(3):
        clock.advance(hours=1)
        body = {"points": 10 + i, "reason": f"goodwill {i}"}
        client.post(f"/v1/members/{member}/points/adjust", json=body, headers=admin_headers)
    headers = {**pos_headers, "Idempotency-Key": "spend-1"}
    client.post(f"/v1/members/{member}/points/debit", json={"points": 5}, headers=headers)

    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = client.get(
            f"/v1/members/{member}/points/statement", params=params, headers=read_headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
    assert [e["kind"] for e in seen] == ["spend", "adjust", "adjust", "adjust", "earn"]
    assert [e["points"] for e in seen] == [-5, 12, 11, 10, 66]
    assert all(e["explanation"] for e in seen)
    earn = seen[-1]
    assert earn["event_external_id"] == "o1"
    assert {a["rule_id"] for a in earn["awards"]} == {"base-earn", "coffee-double", "first-visit"}
    assert all(a["explanation"] for a in earn["awards"])
    assert earn["expires_at"] == "2027-03-02T12:00:00Z"
    assert seen[1]["reason"] == "goodwill 2" and seen[1]["actor"] == "apikey:test-admin"
    assert seen[0]["explanation"] == "-5 pts: points debit"

    everything = client.get(f"/v1/members/{member}/points/statement", headers=read_headers)
    assert [e["id"] for e in everything.json()["items"]] == ids
    assert everything.json()["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=%25%25%25", "cursor"),
        ("cursor=bm90LWFuLWlk", "cursor"),  # "not-an-id"
        ("cursor=LTE", "cursor"),  # "-1"
        ("cursor=OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "cursor"),  # beyond any id
        ("cursor=" + "A" * 65, "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
    ],
)
def test_statement_bad_params(
    client: TestClient, member: int, read_headers: H, query: str, field: str
) -> None:
    response = client.get(f"/v1/members/{member}/points/statement?{query}", headers=read_headers)
    problem(response, 422, field)


# -- adjust ----------------------------------------------------------------------
def test_adjust_credits_and_records_who_and_why(
    client: TestClient, member: int, admin_headers: H, database: Database
) -> None:
    body = {"points": 25, "reason": "coffee was cold"}
    response = client.post(f"/v1/members/{member}/points/adjust", json=body, headers=admin_headers)
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["member_id"], out["kind"], out["points"]) == (member, "adjust", 25)
    assert out["explanation"] == "+25 pts: manual adjustment by apikey:test-admin: coffee was cold"
    assert (out["balance"]["balance"], out["balance"]["available"]) == (91, 91)
    with database.unit_of_work() as session:
        entry = session.get(LedgerEntry, out["entry_id"])
        assert entry is not None
        assert (entry.actor, entry.reason) == ("apikey:test-admin", "coffee was cold")
    assert account(database, member) == (91, 0)


def test_adjust_down_takes_points_and_refuses_more_than_held(
    client: TestClient, member: int, admin_headers: H, database: Database
) -> None:
    url = f"/v1/members/{member}/points/adjust"
    taken = client.post(url, json={"points": -16, "reason": "double scan"}, headers=admin_headers)
    assert taken.status_code == 201, taken.text
    assert taken.json()["balance"]["available"] == 50
    before = rows(database)
    body = problem(
        client.post(url, json={"points": -51, "reason": "too much"}, headers=admin_headers),
        409,
        "points",
    )
    assert body["available"] == 50
    assert rows(database) == before and account(database, member) == (50, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": 5}, "reason"),
        ({"points": 5, "reason": ""}, "reason"),
        ({"points": 5, "reason": "   "}, "reason"),
        ({"points": 0, "reason": "nothing"}, "points"),
        ({"points": "many", "reason": "x"}, "points"),
        ({"points": 1.5, "reason": "x"}, "points"),
        ({"reason": "x"}, "points"),
        ({"points": 5, "reason": "x", "actor": "someone else"}, "actor"),
    ],
)
def test_adjust_bad_input_writes_nothing(
    client: TestClient,
    member: int,
    admin_headers: H,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    before = rows(database)
    url = f"/v1/members/{member}/points/adjust"
    problem(client.post(url, json=body, headers=admin_headers), 422, field)
    assert rows(database) == before and account(database, member) == (66, 0)


def test_adjust_is_admin_only(
    client: TestClient, member: int, pos_headers: H, read_headers: H, database: Database
) -> None:
    before = rows(database)
    for headers in (pos_headers, read_headers):
        response = client.post(
            f"/v1/members/{member}/points/adjust",
            json={"points": 5, "reason": "x"},
            headers=headers,
        )
        assert response.status_code == 403, response.text
        assert response.json()["required_scope"] == "admin"
    assert rows(database) == before


def test_adjust_unknown_member(client: TestClient, cafe: Database, admin_headers: H) -> None:
    body = {"points": 5, "reason": "x"}
    problem(client.post("/v1/members/999/points/adjust", json=body, headers=admin_headers), 404,
            "member_id")  # fmt: skip
    response = client.post(f"/v1/members/{HUGE}/points/adjust", json=body, headers=admin_headers)
    problem(response, 422, "member_id")
    assert rows(cafe) == (0, 0, 0, 0)


def test_adjust_with_idempotency_key_replays(
    client: TestClient, member: int, admin_headers: H, database: Database, clock: FrozenClock
) -> None:
    url = f"/v1/members/{member}/points/adjust"
    headers = {**admin_headers, "Idempotency-Key": "care-ticket-17"}
    body = {"points": 30, "reason": "late order"}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.text
    before = rows(database)
    clock.advance(minutes=1)
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert rows(database) == before and account(database, member) == (96, 0)
    other = client.post(url, json={**body, "points": 31}, headers=headers)
    problem(other, 409, "Idempotency-Key")
    assert rows(database) == before


# -- debit -----------------------------------------------------------------------
def debit(
    client: TestClient, member_id: int | str, points: Any, headers: H, key: str | None = "k1"
) -> Any:
    with_key = {**headers, "Idempotency-Key": key} if key is not None else headers
    return client.post(
        f"/v1/members/{member_id}/points/debit", json={"points": points}, headers=with_key
    )


def test_debit_spends_once_however_often_it_is_retried(
    client: TestClient, member: int, pos_headers: H, database: Database
) -> None:
    first = debit(client, member, 40, pos_headers)
    assert first.status_code == 201, first.text
    out = first.json()
    assert (out["kind"], out["points"], out["balance"]["available"]) == ("spend", -40, 26)
    before = rows(database)
    for _ in range(3):
        again = debit(client, member, 40, pos_headers)
        assert again.status_code == 201
        assert again.json() == out
    assert rows(database) == before
    assert account(database, member) == (26, 0)
    with database.unit_of_work() as session:
        entry = session.get(LedgerEntry, out["entry_id"])
        assert entry is not None and entry.actor == "apikey:test-pos"


def test_debit_same_key_other_body_is_a_conflict(
    client: TestClient, member: int, pos_headers: H, database: Database
) -> None:
    debit(client, member, 10, pos_headers)
    before = rows(database)
    problem(debit(client, member, 11, pos_headers), 409, "Idempotency-Key")
    assert rows(database) == before and account(database, member) == (56, 0)


@pytest.mark.parametrize("key", [None, "", "k" * 201])
def test_debit_needs_an_idempotency_key(
    client: TestClient, member: int, pos_headers: H, database: Database, key: str | None
) -> None:
    before = rows(database)
    problem(debit(client, member, 10, pos_headers, key=key), 422, "Idempotency-Key")
    assert rows(database) == before and account(database, member) == (66, 0)


def test_debit_of_more_than_available_is_refused_with_the_amount_available(
    client: TestClient, member: int, pos_headers: H, database: Database
) -> None:
    before = rows(database)
    body = problem(debit(client, member, 67, pos_headers), 409, "points")
    assert body["available"] == 66
    assert body["type"] == "https://patron.dev/problems/insufficient-points"
    assert rows(database) == before
    # the refused attempt is not remembered: the same key works once points suffice
    assert debit(client, member, 66, pos_headers).status_code == 201
    assert account(database, member) == (0, 0)


@pytest.mark.parametrize(
    ("points", "field"), [(0, "points"), (-5, "points"), ("five", "points"), (None, "points")]
)
def test_debit_bad_points(
    client: TestClient, member: int, pos_headers: H, database: Database, points: Any, field: str
) -> None:
    before = rows(database)
    problem(debit(client, member, points, pos_headers), 422, field)
    assert rows(database) == before


def test_debit_unknown_member(client: TestClient, cafe: Database, pos_headers: H) -> None:
    problem(debit(client, 999, 5, pos_headers), 404, "member_id")
    problem(debit(client, HUGE, 5, pos_headers), 422, "member_id")
    assert rows(cafe) == (0, 0, 0, 0)


def test_debit_scope(client: TestClient, member: int, read_headers: H, admin_headers: H) -> None:
    response = debit(client, member, 5, read_headers)
    assert response.status_code == 403 and response.json()["required_scope"] == "pos"
    assert debit(client, member, 5, admin_headers).status_code == 201  # admin implies pos


# -- numbers no column can hold ----------------------------------------------------
@pytest.mark.parametrize(
    ("points", "status"),
    [(HUGE, 422), (2**63, 422), (-HUGE, 422)],  # beyond what any balance may hold
)
def test_adjust_of_an_unstorable_number_is_not_a_500(
    client: TestClient, member: int, admin_headers: H, database: Database, points: int, status: int
) -> None:
    before = rows(database)
    url = f"/v1/members/{member}/points/adjust"
    response = client.post(url, json={"points": points, "reason": "x"}, headers=admin_headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert rows(database) == before and account(database, member) == (66, 0)


def test_adjust_of_an_unstorable_number_names_points(
    client: TestClient,
    member: int,
    admin_headers: H,
    database: Database,
) -> None:
    url = f"/v1/members/{member}/points/adjust"
    response = client.post(url, json={"points": HUGE, "reason": "x"}, headers=admin_headers)
    problem(response, 422, "points")
