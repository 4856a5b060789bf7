"""Referrals over HTTP: code and referrals of a member, code lookup at the till,
bad input and unknown members, scopes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from patron.core.clock import FrozenClock
from patron.core.db import Database
from tests.api.conftest import problem
from tests.integration.conftest import load_program
from tests.integration.test_referrals import buy, program, signup

H = dict[str, str]


@pytest.fixture
def shop(database: Database, clock: FrozenClock) -> Database:
    load_program(database, program(), clock)
    return database


def send(client: TestClient, headers: H, *rows: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/v1/events/batch", json={"events": list(rows)}, headers=headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def enrol(client: TestClient, headers: H, ext: str, **fields: Any) -> int:
    response = client.post("/v1/members", json={"external_id": ext, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    member_id: int = response.json()["id"]
    return member_id


def test_code_referrals_and_who_referred(
    client: TestClient, shop: Database, pos_headers: H, read_headers: H, admin_headers: H
) -> None:
    anna = enrol(client, admin_headers, "anna", first_name="Anna")
    first = client.get(f"/v1/members/{anna}/referrals", headers=read_headers).json()
    code = first["code"]
    assert len(code) == 9 and code[4] == "-" and first["referrals"] == []
    assert first["referred_by"] is None
    again = client.get(f"/v1/members/{anna}/referrals", headers=read_headers).json()
    assert again["code"] == code  # made once, then fixed
    owner = client.get(f"/v1/referrals/{code.lower()}", headers=pos_headers)
    assert owner.json() == {"code": code, "member_id": anna}
    [bob] = send(client, pos_headers, signup("s1", "bob", code))
    send(client, pos_headers, signup("s2", "carl", code))
    send(client, pos_headers, buy("o1", "25.00", "bob"), buy("o2", "5.00", "carl"))
    body = client.get(f"/v1/members/{anna}/referrals", headers=read_headers).json()
    made = [(r["referee_id"], r["status"], r["text"]) for r in body["referrals"]]
    assert made[1:] == [(bob["member_id"], "rewarded", "rewarded on 2026-03-02")]
    assert made[0][1:] == (
        "rejected",
        "rejected: first purchase 5.00 USD below the minimum 20.00 USD",
    )
    theirs = client.get(f"/v1/members/{bob['member_id']}/referrals", headers=read_headers).json()
    assert theirs["referred_by"]["referrer_id"] == anna
    assert theirs["referred_by"]["status"] == "rewarded"
    assert theirs["code"] != code


def test_pending_referral_says_what_is_needed_by_when(
    client: TestClient, shop: Database, pos_headers: H, read_headers: H, admin_headers: H
) -> None:
    anna = enrol(client, admin_headers, "anna")
    code = client.get(f"/v1/members/{anna}/referrals", headers=read_headers).json()["code"]
    [bob] = send(client, pos_headers, signup("s1", "bob", code))
    body = client.get(f"/v1/members/{bob['member_id']}/referrals", headers=read_headers).json()
    assert body["referred_by"]["text"] == (
        "pending: a first purchase of at least 20.00 USD by 2026-04-01 rewards both sides"
    )


def test_bad_input_and_unknown_members(
    client: TestClient, shop: Database, pos_headers: H, read_headers: H
) -> None:
    problem(client.get("/v1/members/999/referrals", headers=read_headers), 404, "member_id")
    problem(client.get("/v1/members/0/referrals", headers=read_headers), 422, "member_id")
    problem(client.get("/v1/referrals/ZZZZ-ZZZ", headers=pos_headers), 422, "code")
    problem(client.get("/v1/referrals/0000-0000", headers=pos_headers), 404, "code")
    rejected = send(client, pos_headers, signup("s1", "bob", {"code": "x"}))[0]
    assert rejected["status"] == "rejected"
    assert rejected["error"]["field"] == "attributes.referral_code"


def test_scopes(client: TestClient, shop: Database, read_headers: H) -> None:
    assert client.get("/v1/members/1/referrals").status_code == 401
    assert client.get("/v1/referrals/0000-0000", headers=read_headers).status_code == 403
