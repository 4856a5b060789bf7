"""API keys: who may call what."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from patron.access.service import create_api_key, revoke_api_key
from patron.core.db import Database
from patron.members.models import Member

H = dict[str, str]


def member_count(database: Database) -> int:
    with database.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Member)) or 0


def test_health_is_open(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer ptr_deadbeef_unknownsecret"},
        {"X-API-Key": "ptr_deadbeef_unknownsecret"},
    ],
)
def test_missing_malformed_or_unknown_key_is_401(
    client: TestClient, database: Database, headers: H
) -> None:
    for method, path in (("get", "/v1/members"), ("post", "/v1/members")):
        response = client.request(method, path, json={}, headers=headers)
        assert response.status_code == 401, (method, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"] == "Authorization"
    assert member_count(database) == 0


def test_wrong_secret_for_a_real_prefix_is_401(client: TestClient, read_headers: H) -> None:
    forged = read_headers["Authorization"][:-4] + "AAAA"
    response = client.get("/v1/members", headers={"Authorization": forged})
    assert response.status_code == 401


def test_revoked_key_is_401(client: TestClient, database: Database) -> None:
    with database.unit_of_work() as session:
        row, secret = create_api_key(session, "old till", ["pos"])
        revoke_api_key(session, row.prefix)
    response = client.get("/v1/members", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_x_api_key_header_works(client: TestClient, read_headers: H) -> None:
    key = read_headers["Authorization"].removeprefix("Bearer ")
    assert client.get("/v1/members", headers={"X-API-Key": key}).status_code == 200


def test_read_key_cannot_enrol(client: TestClient, read_headers: H, database: Database) -> None:
    response = client.post("/v1/members", json={"email": "a@example.com"}, headers=read_headers)
    assert response.status_code == 403
    assert response.json()["required_scope"] == "pos"
    assert member_count(database) == 0


def test_scopes_per_endpoint(
    client: TestClient, admin_headers: H, pos_headers: H, read_headers: H
) -> None:
    created = client.post("/v1/members", json={}, headers=pos_headers)
    assert created.status_code == 201
    member_id = created.json()["id"]
    for headers in (read_headers, pos_headers, admin_headers):
        assert client.get("/v1/members", headers=headers).status_code == 200
        assert client.get(f"/v1/members/{member_id}", headers=headers).status_code == 200
    patch = f"/v1/members/{member_id}"
    assert client.patch(patch, json={"first_name": "A"}, headers=read_headers).status_code == 403
    assert client.patch(patch, json={"first_name": "A"}, headers=pos_headers).status_code == 403
    assert client.patch(patch, json={"first_name": "A"}, headers=admin_headers).status_code == 200
    assert client.post("/v1/members", json={}, headers=admin_headers).status_code == 201


def test_the_openapi_document_names_both_ways_to_present_a_key(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <key>`",
        },
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    assert schema["security"] == [{"bearer": []}, {"apiKey": []}]
    assert schema["paths"]["/health"]["get"]["security"] == []
    post_event = schema["paths"]["/v1/events"]["post"]
    assert "security" not in post_event  # the document's own applies
    headers = [p["name"].lower() for p in post_event.get("parameters", [])]
    assert "authorization" not in headers and "x-api-key" not in headers
