"""API fixtures: the app on the test database, a client, one key per scope; and
``problem``, the assertion every bad-input test makes of an error response."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from patron.access.service import create_api_key
from patron.api.app import create_app
from patron.core.db import Database


@pytest.fixture
def app(database: Database) -> FastAPI:
    return create_app(database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _key_headers(database: Database, scope: str) -> dict[str, str]:
    with database.unit_of_work() as session:
        _, secret = create_api_key(session, f"test-{scope}", [scope])
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_headers(database: Database) -> dict[str, str]:
    return _key_headers(database, "admin")


@pytest.fixture
def pos_headers(database: Database) -> dict[str, str]:
    return _key_headers(database, "pos")


@pytest.fixture
def read_headers(database: Database) -> dict[str, str]:
    return _key_headers(database, "read")


def problem(response: Any, status: int, field: str | None) -> dict[str, Any]:
    """Assert ``response`` is an RFC 7807 problem with this status naming this field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].startswith("https://patron.dev/problems/"), body
    assert body["status"] == status
    assert body.get("field") == field, body
    return body
