"""Request bodies over ``PATRON_MAX_BODY_BYTES`` are refused with a 413 problem,
whether they declare their length or arrive in chunks; nothing is written."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from patron.api.app import create_app
from patron.core.clock import FrozenClock
from patron.core.config import get_settings
from patron.core.db import Database
from patron.events.models import Event
from tests.api.conftest import problem
from tests.integration.conftest import CAFE, count, load_program

LIMIT = 2_000
H = dict[str, str]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def small(
    database: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app with a 2,000-byte cap, on the café program."""
    load_program(database, CAFE, clock)
    monkeypatch.setenv("PATRON_MAX_BODY_BYTES", str(LIMIT))
    get_settings.cache_clear()
    try:
        with TestClient(create_app(database)) as client:
            yield client
    finally:
        get_settings.cache_clear()


def batch(n: int, prefix: str = "o") -> bytes:
    events = [
        {"external_id": f"{prefix}{i}", "type": "purchase", "member_external_id": "a",
         "amount": "5.00"}
        for i in range(n)
    ]  # fmt: skip
    return json.dumps({"events": events}).encode()


def in_chunks(body: bytes, size: int = 500) -> Iterator[bytes]:
    """The body as a client streams it: no Content-Length, chunked."""
    for i in range(0, len(body), size):
        yield body[i : i + size]


def test_a_body_declared_over_the_cap_is_refused_unread(
    small: TestClient, database: Database, pos_headers: H
) -> None:
    body = batch(40)
    assert len(body) > LIMIT
    response = small.post("/v1/events/batch", content=body, headers={**pos_headers, **JSON})
    answer = problem(response, 413, "Content-Length")
    assert answer["detail"] == "a request body is at most 2,000 bytes (PATRON_MAX_BODY_BYTES)"
    assert response.headers["connection"] == "close"
    assert count(database, Event) == 0


ONE_LARGE_EVENT = json.dumps(
    {"external_id": "o1", "type": "purchase", "member_external_id": "a", "amount": "5.00",
     "attributes": {"note": "x" * 3_000}}
).encode()  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body"), [("/v1/events/batch", batch(40)), ("/v1/events", ONE_LARGE_EVENT)]
)
def test_a_chunked_body_is_refused_once_past_the_cap(
    small: TestClient, database: Database, pos_headers: H, path: str, body: bytes
) -> None:
    """FastAPI's body parameter (the batch) and the route's own read (one event) alike."""
    assert len(body) > LIMIT
    response = small.post(path, content=in_chunks(body), headers={**pos_headers, **JSON})
    problem(response, 413, "body")
    assert count(database, Event) == 0


def test_bodies_within_the_cap_are_served_either_way(
    small: TestClient, database: Database, pos_headers: H
) -> None:
    headers = {**pos_headers, **JSON}
    declared = small.post("/v1/events/batch", content=batch(5), headers=headers)
    assert declared.status_code == 200, declared.text
    streamed = small.post("/v1/events/batch", content=in_chunks(batch(5, "c")), headers=headers)
    assert streamed.status_code == 200, streamed.text
    assert declared.json()["accepted"] == streamed.json()["accepted"] == 5
    assert count(database, Event) == 10
