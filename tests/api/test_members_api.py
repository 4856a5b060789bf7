"""Members over HTTP: happy paths, bad input (problem+json naming the field), idempotency."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.idempotency_models import IdempotencyRecord
from patron.ledger.models import PointAccount
from patron.members.models import Member
from tests.api.conftest import problem

H = dict[str, str]
ANN = {
    "external_id": "shop-1",
    "email": "Ann@Example.COM",
    "phone": "+49 151 12345678",
    "first_name": "Ann",
    "birthday": "1990-05-17",
    "consents": {"email": True},
    "attributes": {"store": "Berlin", "tags": ["vip", 2]},
}


def count(database: Database, model: Any = Member) -> int:
    with database.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def ann(client: TestClient, pos_headers: H, clock: FrozenClock) -> dict[str, Any]:
    response = client.post("/v1/members", json=ANN, headers=pos_headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_normalises_and_opens_a_point_account(
    ann: dict[str, Any], database: Database
) -> None:
    assert ann["email"] == "ann@example.com"
    assert ann["phone"] == "+4915112345678"
    assert ann["birthday"] == "1990-05-17"
    assert ann["status"] == "active"
    assert ann["consents"]["email"] == {"granted": True, "at": "2026-03-02T12:00:00Z"}
    assert ann["consents"]["sms"]["granted"] is False
    assert ann["attributes"] == {"store": "Berlin", "tags": ["vip", 2]}
    assert ann["enrolled_at"] == ann["updated_at"] == "2026-03-02T12:00:00Z"
    with database.unit_of_work() as session:
        account = session.get(PointAccount, ann["id"])
        assert account is not None and (account.balance, account.debt) == (0, 0)


def test_create_minimal_member(client: TestClient, pos_headers: H) -> None:
    response = client.post("/v1/members", json={}, headers=pos_headers)
    assert response.status_code == 201
    assert response.headers["location"] == f"/v1/members/{response.json()['id']}"


def test_get_and_lookup(client: TestClient, ann: dict[str, Any], read_headers: H) -> None:
    assert client.get(f"/v1/members/{ann['id']}", headers=read_headers).json() == ann
    for query in (
        "external_id=shop-1",
        "email=%20ANN@example.com",
        "phone=%2B4915112345678",
        "phone=%2B49%20151%201234%205678",
    ):
        response = client.get(f"/v1/members/lookup?{query}", headers=read_headers)
        assert response.status_code == 200, query
        assert response.json()["id"] == ann["id"]


@pytest.mark.parametrize("query", ["", "?email=a@b.co&phone=%2B4915112345678"])
def test_lookup_needs_exactly_one_param(client: TestClient, read_headers: H, query: str) -> None:
    body = problem(
        client.get(f"/v1/members/lookup{query}", headers=read_headers),
        422,
        "external_id|email|phone",
    )
    assert "external_id, email or phone" in body["detail"]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("email=nobody@example.com", 404, "email"),
        ("external_id=nope", 404, "external_id"),
        ("phone=%2B4915199999999", 404, "phone"),
        ("email=not-an-email", 422, "email"),
        ("phone=12345", 422, "phone"),
    ],
)
def test_lookup_misses_and_bad_values(
    client: TestClient, read_headers: H, query: str, status: int, field: str
) -> None:
    problem(client.get(f"/v1/members/lookup?{query}", headers=read_headers), status, field)


def test_list_pages_and_filters(client: TestClient, pos_headers: H, admin_headers: H) -> None:
    ids = [client.post("/v1/members", json={}, headers=pos_headers).json()["id"] for _ in range(5)]
    client.patch(f"/v1/members/{ids[1]}", json={"status": "blocked"}, headers=admin_headers)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/members", params=params, headers=pos_headers).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    blocked = client.get("/v1/members?status=blocked", headers=pos_headers).json()
    assert [m["id"] for m in blocked["items"]] == [ids[1]]
    assert blocked["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=%%%", "cursor"),
        ("cursor=bm90LWFuLWlk", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("status=gone", "status"),
    ],
)
def test_list_bad_params(client: TestClient, read_headers: H, query: str, field: str) -> None:
    problem(client.get(f"/v1/members?{query}", headers=read_headers), 422, field)


def test_patch_changes_only_what_is_sent(
    client: TestClient, ann: dict[str, Any], admin_headers: H, clock: FrozenClock
) -> None:
    clock.advance(days=1)
    body = {
        "last_name": "Lee",
        "birthday": None,
        "consents": {"sms": True, "email": True},
        "attributes": {"tags": None, "tier_hint": 3.5},
    }
    response = client.patch(f"/v1/members/{ann['id']}", json=body, headers=admin_headers)
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["first_name"], out["last_name"], out["birthday"]) == ("Ann", "Lee", None)
    assert out["email"] == ann["email"] and out["external_id"] == "shop-1"
    assert out["consents"]["sms"] == {"granted": True, "at": "2026-03-03T12:00:00Z"}
    assert out["consents"]["email"] == ann["consents"]["email"]  # unchanged, time kept
    assert out["attributes"] == {"store": "Berlin", "tier_hint": 3.5}
    assert out["updated_at"] == "2026-03-03T12:00:00Z"
    assert out["enrolled_at"] == ann["enrolled_at"]


def test_patch_unknown_member(client: TestClient, admin_headers: H) -> None:
    problem(client.patch("/v1/members/999", json={}, headers=admin_headers), 404, "member_id")
    problem(client.get("/v1/members/999", headers=admin_headers), 404, "member_id")
    problem(client.get("/v1/members/abc", headers=admin_headers), 422, "member_id")
    problem(client.get(f"/v1/members/{2**63}", headers=admin_headers), 422, "member_id")


BAD_CREATES = [
    ({"email": "not-an-email"}, "email"),
    ({"email": 42}, "email"),
    ({"phone": "030 1234567"}, "phone"),
    ({"phone": "+49 1"}, "phone"),
    ({"birthday": "2026-03-03"}, "birthday"),
    ({"birthday": "yesterday"}, "birthday"),
    ({"consents": {"fax": True}}, "consents.fax"),
    ({"consents": {"email": "yes"}}, "consents.email"),
    ({"attributes": {"nested": {"a": 1}}}, "attributes.nested"),
    ({"attributes": ["a"]}, "attributes"),
    ({"status": "gold"}, "status"),
    ({"first_name": ""}, "first_name"),
    ({"external_id": ""}, "external_id"),
    ({"nickname": "Annie"}, "nickname"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CREATES)
def test_create_bad_input_writes_nothing(
    client: TestClient,
    pos_headers: H,
    database: Database,
    clock: FrozenClock,
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.post("/v1/members", json=body, headers=pos_headers)
    assert problem(response, 422, field)["field"].split(".")[0] in body
    assert count(database) == 0 and count(database, PointAccount) == 0


def test_a_validator_message_reads_as_written(
    client: TestClient, pos_headers: H, clock: FrozenClock
) -> None:
    """Not "birthday: Value error, a birthday ...": pydantic's prefix names a
    Python exception, nothing the caller did."""
    body = {"external_id": "ann", "birthday": "2026-03-03"}
    detail = problem(client.post("/v1/members", json=body, headers=pos_headers), 422, "birthday")
    assert detail["detail"] == "birthday: a birthday cannot be in the future"
    assert detail["errors"] == [
        {"field": "birthday", "message": "a birthday cannot be in the future"}
    ]


@pytest.mark.parametrize("raw", [b"{bad json", b"[1, 2]", b'"x"'])
def test_create_malformed_body(
    client: TestClient, pos_headers: H, database: Database, raw: bytes
) -> None:
    headers = {**pos_headers, "Content-Type": "application/json"}
    problem(client.post("/v1/members", content=raw, headers=headers), 422, "body")
    assert count(database) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": "shop-1"}, "external_id"),
        ({"email": "ANN@example.com"}, "email"),
        ({"phone": "+4915112345678"}, "phone"),
    ],
)
def test_create_duplicate_names_the_field(
    client: TestClient,
    ann: dict[str, Any],
    pos_headers: H,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    problem(client.post("/v1/members", json=body, headers=pos_headers), 409, field)
    assert count(database) == 1 and count(database, PointAccount) == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"email": "ann@example.com"}, 409, "email"),
        ({"external_id": "shop-1"}, 409, "external_id"),
        ({"phone": "+4915112345678"}, 409, "phone"),
        ({"email": "bad"}, 422, "email"),
        ({"birthday": "2030-01-01"}, 422, "birthday"),
        ({"status": None}, 422, "status"),
        ({"consents": {"letter": True}}, 422, "consents.letter"),
        ({"id": 5}, 422, "id"),
    ],
)
def test_patch_bad_input_changes_nothing(
    client: TestClient,
    ann: dict[str, Any],
    pos_headers: H,
    admin_headers: H,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    other = client.post("/v1/members", json={}, headers=pos_headers).json()
    response = client.patch(f"/v1/members/{other['id']}", json=body, headers=admin_headers)
    problem(response, status, field)
    assert client.get(f"/v1/members/{other['id']}", headers=admin_headers).json() == other


def test_idempotent_create_replays_the_first_result(
    client: TestClient, pos_headers: H, database: Database, clock: FrozenClock
) -> None:
    headers = {**pos_headers, "Idempotency-Key": "till-7-0001"}
    first = client.post("/v1/members", json=ANN, headers=headers)
    clock.advance(minutes=5)
    again = client.post("/v1/members", json=ANN, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert count(database) == 1 and count(database, IdempotencyRecord) == 1

    other = client.post("/v1/members", json={**ANN, "first_name": "Bob"}, headers=headers)
    problem(other, 409, "Idempotency-Key")
    assert count(database) == 1


def test_failed_idempotent_create_is_not_remembered(
    client: TestClient, ann: dict[str, Any], pos_headers: H, database: Database
) -> None:
    headers = {**pos_headers, "Idempotency-Key": "k1"}
    problem(client.post("/v1/members", json=ANN, headers=headers), 409, "external_id")
    assert count(database, IdempotencyRecord) == 0
    fixed = client.post("/v1/members", json={"email": "new@example.com"}, headers=headers)
    assert fixed.status_code == 201


def test_empty_idempotency_key_is_refused(client: TestClient, pos_headers: H) -> None:
    response = client.post("/v1/members", json={}, headers={**pos_headers, "Idempotency-Key": ""})
    problem(response, 422, "idempotency-key")
