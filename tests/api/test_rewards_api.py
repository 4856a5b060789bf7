"""Rewards, redemptions and coupons over HTTP: scopes, idempotency, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.idempotency_models import IdempotencyRecord
from patron.ledger.models import LedgerEntry
from patron.rewards import codes
from patron.rewards.models import Redemption
from tests.api.conftest import problem
from tests.integration.conftest import count
from tests.integration.rewards_program import PROGRAM, balance, enrol, load_rewards_program

H = dict[str, str]


@pytest.fixture
def shop(database: Database, clock: FrozenClock) -> Database:
    load_rewards_program(database, clock)
    return database


@pytest.fixture
def ann(shop: Database) -> int:
    return enrol(shop, "ann", 1000)


def redeem(client: TestClient, member: int, reward: str, headers: H, key: str = "k1") -> Any:
    return client.post(
        f"/v1/members/{member}/redemptions",
        json={"reward": reward},
        headers={**headers, "Idempotency-Key": key},
    )


def writes(database: Database) -> tuple[int, int, int]:
    return (
        count(database, LedgerEntry),
        count(database, Redemption),
        count(database, IdempotencyRecord),
    )


def test_catalogue(client: TestClient, shop: Database, read_headers: H) -> None:
    response = client.get("/v1/rewards", headers=read_headers)
    assert response.status_code == 200, response.text
    by_id = {r["id"]: r for r in response.json()}
    assert set(by_id) == {r["id"] for r in PROGRAM["rewards"]}
    five = by_id["five-off"]
    assert (five["cost"], five["stock"], five["issued"], five["remaining"]) == (300, 3, 0, 3)
    assert five["discount"] == {"amount": "5.00", "percent": None}
    assert by_id["free-latte"]["remaining"] is None
    assert by_id["birthday-cake"]["birthday"] is True
    one = client.get("/v1/rewards/spring-box", headers=read_headers).json()
    assert one["early_access"] == {"tiers": ["gold"], "days": 10}
    problem(client.get("/v1/rewards/nope", headers=read_headers), 404, "reward_id")
    assert client.get("/v1/rewards").status_code == 401


def test_redeem_and_replay(
    client: TestClient, shop: Database, ann: int, pos_headers: H, read_headers: H
) -> None:
    first = redeem(client, ann, "five-off", pos_headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "issued" and body["points"] == 300
    assert body["discount_amount"] == "5.00" and body["currency"] == "USD"
    assert codes.is_valid(codes.normalize(body["code"]))
    assert first.headers["Location"] == f"/v1/redemptions/{body['id']}"
    again = redeem(client, ann, "five-off", pos_headers)
    assert again.status_code == 201 and again.json() == body
    assert balance(shop, ann) == 700
    clash = redeem(client, ann, "free-latte", pos_headers)  # same key, other body
    problem(clash, 409, "Idempotency-Key")
    listed = client.get(f"/v1/members/{ann}/redemptions", headers=read_headers).json()
    assert [r["id"] for r in listed["items"]] == [body["id"]] and listed["next_cursor"] is None
    got = client.get(f"/v1/redemptions/{body['id']}", headers=read_headers)
    assert got.json()["code"] == body["code"]
    problem(client.get("/v1/redemptions/999", headers=read_headers), 404, "redemption_id")


def test_redeem_needs_pos_and_a_key(
    client: TestClient, shop: Database, ann: int, read_headers: H, pos_headers: H
) -> None:
    assert redeem(client, ann, "free-latte", read_headers).status_code == 403
    response = client.post(
        f"/v1/members/{ann}/redemptions", json={"reward": "free-latte"}, headers=pos_headers
    )
    problem(response, 422, "Idempotency-Key")
    assert writes(shop)[1] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reward"),
        ({"reward": ""}, "reward"),
        ({"reward": 5}, "reward"),
        ({"reward": "x" * 65}, "reward"),
        ({"reward": "a\x00b"}, "reward"),
        ({"reward": "free-latte", "points": 1}, "points"),
    ],
)
def test_redeem_bad_bodies(
    client: TestClient, shop: Database, ann: int, pos_headers: H, body: Any, field: str
) -> None:
    before = writes(shop)
    response = client.post(
        f"/v1/members/{ann}/redemptions", json=body, headers={**pos_headers, "Idempotency-Key": "b"}
    )
    problem(response, 422, field)
    assert writes(shop) == before


@pytest.mark.parametrize(
    ("member", "reward", "status", "field", "kind"),
    [
        (None, "no-such", 404, "reward", "not-found"),
        (999, "free-latte", 404, "member_id", "not-found"),
        (None, "gold-tasting", 409, "reward", "not-eligible"),
        (None, "spring-box", 409, "reward", "not-available"),
        (None, "birthday-cake", 409, "reward", "conflict"),
    ],
)
def test_redeem_refusals(
    client: TestClient,
    shop: Database,
    ann: int,
    pos_headers: H,
    member: int | None,
    reward: str,
    status: int,
    field: str,
    kind: str,
) -> None:
    before = writes(shop)
    body = problem(redeem(client, member or ann, reward, pos_headers), status, field)
    assert body["type"].endswith("/" + kind)
    assert writes(shop) == before


def test_insufficient_points_and_out_of_stock(
    client: TestClient, shop: Database, pos_headers: H
) -> None:
    poor, rich, late = enrol(shop, "poor", 10), enrol(shop, "rich", 900), enrol(shop, "late", 900)
    body = problem(redeem(client, poor, "five-off", pos_headers, "a"), 409, "reward")
    assert body["type"].endswith("/insufficient-points") and body["available"] == 10
    assert redeem(client, rich, "tote", pos_headers, "b").status_code == 201
    body = problem(redeem(client, late, "tote", pos_headers, "c"), 409, "reward")
    assert body["type"].endswith("/out-of-stock") and "out of stock" in body["detail"]
    assert balance(shop, late) == 900 and balance(shop, poor) == 10


def test_limit_reached(client: TestClient, shop: Database, ann: int, pos_headers: H) -> None:
    for key in ("a", "b"):
        assert redeem(client, ann, "free-latte", pos_headers, key).status_code == 201
    body = problem(redeem(client, ann, "free-latte", pos_headers, "c"), 409, "reward")
    assert body["type"].endswith("/limit-reached")


def test_coupons_at_the_till(
    client: TestClient, shop: Database, ann: int, pos_headers: H, read_headers: H
) -> None:
    code = redeem(client, ann, "five-off", pos_headers).json()["code"]
    checked = client.get(f"/v1/coupons/{code.lower()}", headers=pos_headers)
    assert checked.status_code == 200, checked.text
    assert checked.json()["usable"] is True and checked.json()["status"] == "issued"
    assert client.get(f"/v1/coupons/{code}", headers=read_headers).status_code == 403
    use = {"order_ref": "order-7", "order_amount": "12.00"}
    first = client.post(f"/v1/coupons/{code}/redeem", json=use, headers=pos_headers)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["discount"]) == ("used", "5.00")
    again = client.post(f"/v1/coupons/{code}/redeem", json=use, headers=pos_headers)
    assert again.status_code == 200 and again.json() == first.json()
    other = client.post(
        f"/v1/coupons/{code}/redeem", json={"order_ref": "order-8"}, headers=pos_headers
    )
    assert problem(other, 409, "code")["type"].endswith("/coupon-used")
    after = client.get(f"/v1/coupons/{code}", headers=pos_headers).json()
    assert (after["usable"], after["status"], after["order_ref"]) == (False, "used", "order-7")
    cancel = client.post(f"/v1/redemptions/{after['id']}/cancel", headers=pos_headers)
    assert problem(cancel, 409, "redemption_id")["type"].endswith("/coupon-used")


def test_bad_codes_and_orders(client: TestClient, shop: Database, ann: int, pos_headers: H) -> None:
    code = redeem(client, ann, "five-off", pos_headers).json()["code"]
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    body = problem(client.get(f"/v1/coupons/{typo}", headers=pos_headers), 422, "code")
    assert "check character" in body["detail"]
    problem(client.get("/v1/coupons/ABC", headers=pos_headers), 422, "code")
    problem(client.get("/v1/coupons/" + "U" * 16, headers=pos_headers), 422, "code")
    unknown = "1" * 15 + codes.check_character("1" * 15)
    problem(client.get(f"/v1/coupons/{unknown}", headers=pos_headers), 404, "code")
    for use, field in [
        ({}, "order_ref"),
        ({"order_ref": ""}, "order_ref"),
        ({"order_ref": "a\x00"}, "order_ref"),
        ({"order_ref": "o", "order_amount": "-1"}, "order_amount"),
        ({"order_ref": "o", "order_amount": "1.001"}, "order_amount"),
        ({"order_ref": "o", "order_amount": "x"}, "order_amount"),
        ({"order_ref": "o", "extra": 1}, "extra"),
    ]:
        response = client.post(f"/v1/coupons/{code}/redeem", json=use, headers=pos_headers)
        problem(response, 422, field)
    assert client.get(f"/v1/coupons/{code}", headers=pos_headers).json()["status"] == "issued"


def test_cancel_and_expired_coupons(
    client: TestClient, shop: Database, ann: int, pos_headers: H, clock: FrozenClock
) -> None:
    made = redeem(client, ann, "free-latte", pos_headers, "a").json()
    kept = redeem(client, ann, "five-off", pos_headers, "b").json()
    cancelled = client.post(f"/v1/redemptions/{made['id']}/cancel", headers=pos_headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert balance(shop, ann) == 700
    use = {"order_ref": "o1"}
    response = client.post(f"/v1/coupons/{made['code']}/redeem", json=use, headers=pos_headers)
    assert problem(response, 409, "code")["type"].endswith("/coupon-cancelled")
    clock.advance(days=15)
    response = client.post(f"/v1/coupons/{kept['code']}/redeem", json=use, headers=pos_headers)
    assert problem(response, 409, "code")["type"].endswith("/coupon-expired")
    assert client.get(f"/v1/coupons/{kept['code']}", headers=pos_headers).json()["status"] == (
        "expired"
    )
    problem(client.post("/v1/redemptions/0/cancel", headers=pos_headers), 422, "redemption_id")


def test_gift_fulfilment_needs_admin(
    client: TestClient, shop: Database, ann: int, pos_headers: H, admin_headers: H
) -> None:
    gift = redeem(client, ann, "tote", pos_headers).json()
    assert gift["fulfilment"] == "pending"
    url = f"/v1/redemptions/{gift['id']}/fulfilment"
    assert client.patch(url, json={"status": "shipped"}, headers=pos_headers).status_code == 403
    problem(client.patch(url, json={"status": "lost"}, headers=admin_headers), 422, "status")
    shipped = client.patch(url, json={"status": "shipped", "note": "DHL"}, headers=admin_headers)
    assert shipped.status_code == 200 and shipped.json()["fulfilment_note"] == "DHL"


@pytest.mark.parametrize(
    ("reward", "field"),
    [
        ({"cost": -5}, "rewards[0].cost"),
        ({"cost": 0}, "rewards[0].cost"),
        ({"kind": "voucher"}, "rewards[0].kind"),
        ({"stock": -1}, "rewards[0].stock"),
        ({"discount": {"amount": "1.001"}, "kind": "discount"}, "rewards[0].discount.amount"),
        ({"valid_from": "2026-05-01", "valid_until": "2026-04-01"}, "rewards[0].valid_until"),
        ({"limit": {"count": 1, "per": "decade"}}, "rewards[0].limit.per"),
    ],
)
def test_bad_rewards_in_the_program(
    client: TestClient, shop: Database, admin_headers: H, reward: dict[str, Any], field: str
) -> None:
    base = {"id": "r", "name": "R", "kind": "experience", "cost": 10}
    program = {**PROGRAM, "rewards": [{**base, **reward}]}
    response = client.put("/v1/program", json=program, headers=admin_headers)
    problem(response, 422, field)


def test_what_a_member_can_redeem(
    client: TestClient, shop: Database, pos_headers: H, read_headers: H
) -> None:
    member = enrol(shop, "bea", 150, attributes={"segments": ["vip"]})
    for key in ("a", "b"):
        assert redeem(client, member, "ten-pct", pos_headers, key).status_code == 201
    response = client.get(f"/v1/members/{member}/rewards", headers=read_headers)
    assert response.status_code == 200, response.text
    offers = {o["id"]: o for o in response.json()}
    assert "birthday-cake" not in offers  # given, not redeemed
    assert offers["ten-pct"]["can_redeem"] is True  # 50 pts left, costs 50
    assert offers["vip-mug"]["can_redeem"] is True
    assert offers["free-latte"]["reason"] == "costs 100 points; 50 available"
    assert "tier gold, platinum members" in offers["gold-tasting"]["reason"]
    assert "opens on 2026-04-01" in offers["spring-box"]["reason"]
    problem(client.get("/v1/members/999/rewards", headers=read_headers), 404, "member_id")
    assert client.get(f"/v1/members/{member}/rewards").status_code == 401
