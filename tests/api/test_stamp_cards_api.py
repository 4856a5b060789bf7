"""Stamp cards over HTTP: events answer with their stamps, the member's cards with coupon
codes and history, unknown member and bad ids, scopes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from patron.core.clock import FrozenClock
from patron.core.db import Database
from tests.api.conftest import problem
from tests.integration.conftest import load_program
from tests.integration.test_stamp_cards import coffee, program, refund

H = dict[str, str]


@pytest.fixture
def stamped(database: Database, clock: FrozenClock) -> Database:
    load_program(database, program(expires_after_days=30), clock)
    return database


def send(client: TestClient, headers: H, *rows: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/v1/events/batch", json={"events": list(rows)}, headers=headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_events_and_the_members_cards(
    client: TestClient, stamped: Database, pos_headers: H, read_headers: H
) -> None:
    single = client.post("/v1/events", json=coffee("o1", quantity=2), headers=pos_headers)
    assert single.status_code == 201
    assert single.json()["stamp_cards"] == ["2 stamps on Coffee card: 2 of 3; 2 matching items"]
    member = single.json()["member_id"]
    body = client.get(f"/v1/members/{member}/stamp-cards", headers=read_headers).json()
    assert body["member_id"] == member
    (card,) = body["cards"]
    assert (card["status"], card["stamps"], card["goal"], card["owed"]) == ("open", 2, 3, 0)
    assert card["name"] == "Coffee card" and card["coupon"] is None
    assert card["text"].startswith("2 of 3 stamps, until ")
    assert [h["count"] for h in card["history"]] == [2]
    send(client, pos_headers, coffee("o2", quantity=2))
    cards = client.get(f"/v1/members/{member}/stamp-cards", headers=read_headers).json()["cards"]
    assert [(c["status"], c["stamps"]) for c in cards] == [("open", 1), ("complete", 3)]
    coupon = cards[1]["coupon"]
    assert coupon["status"] == "issued" and len(coupon["code"]) == 19
    assert coupon["code"] in cards[1]["history"][-1]["explanation"]
    till = client.get(f"/v1/coupons/{coupon['code']}", headers=pos_headers)
    assert till.status_code == 200, till.text  # a till takes it like any other coupon
    send(client, pos_headers, refund("r1", "o2"))
    cards = client.get(f"/v1/members/{member}/stamp-cards", headers=read_headers).json()["cards"]
    assert [(c["status"], c["stamps"]) for c in cards] == [("open", 2)]
    assert any(h["kind"] == "reopen" for h in cards[0]["history"])
    assert (
        client.get(f"/v1/members/{member}/stamp-cards?ended=0", headers=read_headers).status_code
        == 200
    )


def test_an_open_card_past_its_expiry_reads_as_expired(
    client: TestClient, stamped: Database, clock: FrozenClock, pos_headers: H, read_headers: H
) -> None:
    member = send(client, pos_headers, coffee("o1"))[0]["member_id"]
    clock.advance(days=31)
    (card,) = client.get(f"/v1/members/{member}/stamp-cards", headers=read_headers).json()["cards"]
    assert card["status"] == "expired" and card["text"] == "expired with 1 of 3 stamps"


def test_unknown_member_and_bad_input(
    client: TestClient, stamped: Database, read_headers: H
) -> None:
    problem(client.get("/v1/members/999/stamp-cards", headers=read_headers), 404, "member_id")
    for bad in ("0", "abc", str(2**63)):
        problem(
            client.get(f"/v1/members/{bad}/stamp-cards", headers=read_headers), 422, "member_id"
        )
    problem(client.get("/v1/members/1/stamp-cards?ended=-1", headers=read_headers), 422, "ended")


def test_scopes(client: TestClient, stamped: Database) -> None:
    assert client.get("/v1/members/1/stamp-cards").status_code == 401


def test_a_program_with_a_bad_card_is_refused_naming_the_path(
    client: TestClient, database: Database, clock: FrozenClock
) -> None:
    from tests.api.conftest import _key_headers

    admin = _key_headers(database, "admin")
    bad = program(reward="nope", min_spend="1.005")
    response = client.put("/v1/program", json=bad, headers=admin)
    assert response.status_code == 422, response.text
    text = response.text
    assert "stamp_cards[0].reward" in text and "no reward 'nope' in rewards" in text
    assert "stamp_cards[0].min_spend" in text


def _simulate(client: TestClient, headers: H, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/program/simulate", json=body, headers=headers)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def test_simulate_says_what_a_purchase_would_do_to_the_cards_and_writes_nothing(
    client: TestClient, stamped: Database, pos_headers: H, read_headers: H
) -> None:
    purchase = {k: v for k, v in coffee("x", quantity=2).items() if k != "member_external_id"}
    # A new member would start a card.
    fresh = _simulate(client, read_headers, event=purchase)
    assert fresh["stamp_cards"] == ["2 stamps on Coffee card: 2 of 3; 2 matching items"]
    blocked = _simulate(client, read_headers, event=purchase, member={"status": "blocked"})
    assert blocked["stamp_cards"] == []

    # A member holding 2 of 3: the card completes, the coupon is named without a
    # code (it has none until it is given), and the surplus starts a new card.
    member = send(client, pos_headers, coffee("o1", quantity=2))[0]["member_id"]
    before = client.get(f"/v1/members/{member}/stamp-cards", headers=read_headers).json()
    out = _simulate(client, read_headers, event=purchase, member_id=member)
    assert out["stamp_cards"] == [
        "1 stamp on Coffee card: 3 of 3; 2 matching items",
        "Coffee card complete: Free coffee coupon",
        "1 stamp on Coffee card (carried over): 1 of 3; 2 matching items",
    ]
    # The real purchase does what the simulation said, with a code for the coupon.
    after_sim = client.get(f"/v1/members/{member}/stamp-cards", headers=read_headers).json()
    assert after_sim == before
    real = send(client, pos_headers, coffee("o2", quantity=2))[0]["stamp_cards"]
    assert real[0] == out["stamp_cards"][0] and real[2] == out["stamp_cards"][2]
    assert real[1].startswith("Coffee card complete: Free coffee coupon ")


def test_simulate_of_other_events_has_no_stamps(
    client: TestClient, stamped: Database, read_headers: H
) -> None:
    signup = {"type": "signup"}
    assert _simulate(client, read_headers, event=signup)["stamp_cards"] == []
