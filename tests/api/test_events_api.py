"""Events over HTTP: scoring, retries, refunds, batches, and bad input that writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.events.models import Event
from patron.ledger.models import LedgerEntry, PointLot
from patron.members.models import Member
from tests.api.conftest import problem
from tests.integration.conftest import CAFE, count, load_program

H = dict[str, str]


@pytest.fixture
def cafe(database: Database, clock: FrozenClock) -> Database:
    load_program(database, CAFE, clock)
    return database


def purchase(ext: str, member: str = "alice", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": ext,
        "type": "purchase",
        "member_external_id": member,
        "lines": [
            {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": "3.00"},
            {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": "4.00"},
        ],
    }
    body.update(extra)
    return body


def refund(ext: str, of: str, member: str = "alice", **extra: Any) -> dict[str, Any]:
    body = {"external_id": ext, "type": "refund", "member_external_id": member, "refund_of": of}
    body.update(extra)
    return body


def rows(database: Database) -> tuple[int, int, int, int]:
    """What an event can write: events, ledger entries, point lots, members."""
    return (
        count(database, Event),
        count(database, LedgerEntry),
        count(database, PointLot),
        count(database, Member),
    )


def test_purchase_is_scored_with_awards_and_explanations(
    client: TestClient, cafe: Database, pos_headers: H, clock: FrozenClock
) -> None:
    response = client.post("/v1/events", json=purchase("o1"), headers=pos_headers)
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["status"] == "accepted" and out["external_id"] == "o1"
    # 10 pts base on 10.00, +6 for coffee (x2 on 6.00), +50 first purchase
    assert out["points"] == 66
    assert {a["rule_id"]: a["points"] for a in out["awards"]} == {
        "base-earn": 10,
        "coffee-double": 6,
        "first-visit": 50,
    }
    by_rule = {a["rule_id"]: a["explanation"] for a in out["awards"]}
    assert by_rule["base-earn"].startswith("10 pts") and "base-earn" in by_rule["base-earn"]
    assert "first-visit" in by_rule["first-visit"]
    assert out["program_version"] == 1
    assert out["occurred_at"] == "2026-03-02T12:00:00Z"
    assert out["error"] is None
    assert rows(cafe) == (1, 1, 1, 1)  # enrolled alice; one entry and one lot for the event


def test_retry_returns_the_first_result_with_200(
    client: TestClient, cafe: Database, pos_headers: H, clock: FrozenClock
) -> None:
    first = client.post("/v1/events", json=purchase("o1"), headers=pos_headers)
    assert first.status_code == 201
    before = rows(cafe)
    clock.advance(minutes=3)
    again = client.post("/v1/events", json=purchase("o1"), headers=pos_headers)
    assert again.status_code == 200, again.text
    replay = again.json()
    assert replay["status"] == "duplicate"
    for key in ("event_id", "member_id", "points", "awards", "program_version", "occurred_at"):
        assert replay[key] == first.json()[key], key
    assert rows(cafe) == before


def test_same_external_id_with_another_payload_is_a_conflict(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    client.post("/v1/events", json=purchase("o1"), headers=pos_headers)
    before = rows(cafe)
    other = client.post("/v1/events", json=purchase("o1", channel="web"), headers=pos_headers)
    body = problem(other, 409, "external_id")
    assert "different payload" in body["detail"]
    assert rows(cafe) == before


def test_purchase_then_refund_by_line(
    client: TestClient, cafe: Database, pos_headers: H, read_headers: H
) -> None:
    bought = client.post("/v1/events", json=purchase("o1"), headers=pos_headers).json()
    member = bought["member_id"]
    one_latte = refund("r1", "o1", lines=[{"sku": "LATTE", "quantity": 1}])
    response = client.post("/v1/events", json=one_latte, headers=pos_headers)
    assert response.status_code == 201, response.text
    out = response.json()
    # one latte of 3.00: 3 of the 10 base points and 3 of the 6 coffee points
    assert out["points"] == -6
    assert out["awards"][0]["points"] == -6 and "1 x LATTE" in out["awards"][0]["explanation"]
    points = client.get(f"/v1/members/{member}/points", headers=read_headers).json()
    assert (points["balance"], points["available"]) == (60, 60)

    stored = client.get(f"/v1/events/{out['event_id']}", headers=read_headers).json()
    assert stored["type"] == "refund" and stored["refund_of_id"] == bought["event_id"]
    assert stored["amount"] == 300 and stored["points"] == -6


@pytest.mark.parametrize("quantity", [2, 3])
def test_refund_of_more_than_was_bought_names_the_line(
    client: TestClient, cafe: Database, pos_headers: H, quantity: int
) -> None:
    client.post("/v1/events", json=purchase("o1"), headers=pos_headers)
    client.post(
        "/v1/events",
        json=refund("r1", "o1", lines=[{"sku": "LATTE", "quantity": 1}]),
        headers=pos_headers,
    )
    before = rows(cafe)
    too_many = refund("r2", "o1", lines=[{"sku": "LATTE", "quantity": quantity}])
    problem(client.post("/v1/events", json=too_many, headers=pos_headers), 422, "lines[0].quantity")
    assert rows(cafe) == before


def test_refund_of_an_unknown_purchase_names_refund_of(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    client.post("/v1/events", json=purchase("o1"), headers=pos_headers)
    before = rows(cafe)
    response = client.post("/v1/events", json=refund("r1", "o9"), headers=pos_headers)
    problem(response, 404, "refund_of")
    assert rows(cafe) == before


def test_a_refund_naming_what_is_no_purchase_says_what_it_names(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    """A refund of a refund (or of a signup) is a 422 saying what the id is, not
    "no purchase with external_id ..." about an id that exists."""
    client.post("/v1/events", json=purchase("o1"), headers=pos_headers)
    assert (
        client.post("/v1/events", json=refund("r1", "o1"), headers=pos_headers).status_code == 201
    )
    before = rows(cafe)
    response = client.post("/v1/events", json=refund("r2", "r1"), headers=pos_headers)
    detail = problem(response, 422, "refund_of")["detail"]
    assert detail == "r1 is a refund event, not a purchase: only purchases are refunded"
    assert rows(cafe) == before


def test_unknown_member_id_is_404(client: TestClient, cafe: Database, pos_headers: H) -> None:
    body = {"external_id": "o1", "type": "purchase", "member_id": 999, "amount": "5.00"}
    problem(client.post("/v1/events", json=body, headers=pos_headers), 404, "member_id")
    assert rows(cafe) == (0, 0, 0, 0)


def with_line(**line: Any) -> dict[str, Any]:
    return purchase("o1", lines=[{"sku": "LATTE", **line}])


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


BAD_EVENTS = [
    (purchase("o1", amount="-5.00"), 422, "amount"),
    (purchase("o1", amount="1.001"), 422, "amount"),
    (purchase("o1", amount="ten"), 422, "amount"),
    (purchase("o1", member_id="abc"), 422, "member_id"),
    (purchase("o1", member_id=0), 422, "member_id"),
    (with_line(quantity="two", unit_price="3"), 422, "lines[0].quantity"),
    (with_line(quantity=0, unit_price="3"), 422, "lines[0].quantity"),
    (with_line(quantity=1, unit_price="-3"), 422, "lines[0].unit_price"),
    (with_line(quantity=1), 422, "lines[0].unit_price"),
    (with_line(quantity=1, unit_price="3", size="L"), 422, "lines[0].size"),
    (purchase("o1", lines="LATTE"), 422, "lines"),
    (purchase("o1", colour="blue"), 422, "colour"),
    (_without(purchase("o1"), "type"), 422, "type"),
    (_without(purchase("o1"), "external_id"), 422, "external_id"),
    (purchase("o1", type="gift"), 422, "type"),
    (purchase("o1", occurred_at="2026-03-03T12:00:00Z"), 422, "occurred_at"),
    (purchase("o1", occurred_at="2026-03-01T12:00:00"), 422, "occurred_at"),  # no zone
    (purchase("o1", occurred_at="yesterday"), 422, "occurred_at"),
    (purchase("o1", currency="EUR"), 422, "currency"),
    (purchase("o1", currency="EURO"), 422, "currency"),
    ({"external_id": "o1", "type": "purchase", "amount": "5.00"}, 422, "member_id"),
    ({"external_id": "s1", "type": "custom", "member_external_id": "alice"}, 422, "name"),
    (refund("r1", "o-none"), 404, "member_external_id"),  # refunds never enrol
]


@pytest.mark.parametrize(("body", "status", "field"), BAD_EVENTS)
def test_bad_event_names_the_field_and_writes_nothing(
    client: TestClient,
    cafe: Database,
    pos_headers: H,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    problem(client.post("/v1/events", json=body, headers=pos_headers), status, field)
    assert rows(cafe) == (0, 0, 0, 0)


def test_a_time_without_a_zone_is_refused_saying_how_to_give_one(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    naive = purchase("o1", occurred_at="2026-03-01T12:00:00")
    said = (
        "occurred_at: Input should have timezone info: "
        "end the time with Z (UTC) or an offset such as +01:00"
    )
    single = problem(client.post("/v1/events", json=naive, headers=pos_headers), 422, "occurred_at")
    assert single["detail"] == said
    batch = client.post("/v1/events/batch", json={"events": [naive]}, headers=pos_headers)
    assert batch.json()["results"][0]["error"]["detail"] == said
    assert rows(cafe) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"external_id": "o1", "type": ',
        b"[1, 2]",
        b'"purchase"',
        b"",
        b"\xa5",  # not UTF-8
        b'{"a": "\xff"}',
        b'{"attributes": ' * 100_000 + b"1" + b"}" * 100_000,  # past the parser's depth
    ],
)
def test_malformed_body_is_422_naming_body(
    client: TestClient, cafe: Database, pos_headers: H, raw: bytes
) -> None:
    headers = {**pos_headers, "Content-Type": "application/json"}
    problem(client.post("/v1/events", content=raw, headers=headers), 422, "body")
    assert rows(cafe) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.till+json"]
)
def test_a_json_body_is_taken_under_any_json_content_type(
    client: TestClient, cafe: Database, pos_headers: H, content_type: str
) -> None:
    body = json.dumps(purchase("o1")).encode()
    response = client.post(
        "/v1/events", content=body, headers={**pos_headers, "Content-Type": content_type}
    )
    assert response.status_code == 201, response.text
    assert response.json()["points"] == 66  # as with application/json
    assert rows(cafe) == (1, 1, 1, 1)


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "text/plain"}])
def test_a_body_not_sent_as_json_is_422_naming_body(
    client: TestClient, cafe: Database, pos_headers: H, headers: H
) -> None:
    body = json.dumps(purchase("o1")).encode()
    answer = problem(
        client.post("/v1/events", content=body, headers={**pos_headers, **headers}), 422, "body"
    )
    assert (
        answer["detail"]
        == "body: Input should be a valid dictionary or object to extract fields from"
    )
    assert rows(cafe) == (0, 0, 0, 0)


def test_a_json_body_in_utf16_is_read_as_json_loads_reads_it(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    body = json.dumps(purchase("o1")).encode("utf-16")
    headers = {**pos_headers, "Content-Type": "application/json"}
    assert client.post("/v1/events", content=body, headers=headers).status_code == 201


def test_the_key_is_checked_before_the_body_is_read(client: TestClient, cafe: Database) -> None:
    headers = {"Content-Type": "application/json"}
    problem(client.post("/v1/events", content=b'{"type": ', headers=headers), 401, "Authorization")


def test_a_number_for_an_amount_hashes_as_through_the_batch_route(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    """The single route reads JSON as the batch route does (a number through float),
    so the same event sent to each is a retry, not a conflict."""
    event = purchase("o1", amount=10.10, lines=[])
    batch = client.post("/v1/events/batch", json={"events": [event]}, headers=pos_headers)
    assert batch.json()["accepted"] == 1, batch.text
    retry = client.post("/v1/events", json=event, headers=pos_headers)
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "duplicate"


def test_batch_lands_good_rows_and_reports_bad_ones(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    batch = [
        purchase("o1"),
        purchase("o2", amount="-1"),
        {"type": "purchase", "member_external_id": "bob", "amount": "3.00"},
        purchase("o3", member="bob", currency="EUR"),
        purchase("o4", member="bob"),
        {"external_id": "o5", "type": "purchase", "member_external_id": "bob", "amount": {}},
        refund("r1", "o1", lines=[{"sku": "CAKE", "quantity": 2}]),
        refund("r2", "o1", lines=[{"sku": "CAKE", "quantity": 1}]),
    ]
    response = client.post("/v1/events/batch", json={"events": batch}, headers=pos_headers)
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["accepted"], out["duplicates"], out["rejected"]) == (3, 0, 5)
    results = out["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    assert [r["status"] for r in results] == [
        "accepted", "rejected", "rejected", "rejected", "accepted", "rejected", "rejected",
        "accepted",
    ]  # fmt: skip
    fields = {r["index"]: r["error"]["field"] for r in results if r["status"] == "rejected"}
    assert fields == {
        1: "amount",
        2: "external_id",
        3: "currency",
        5: "amount",
        6: "lines[0].quantity",
    }
    assert results[1]["external_id"] == "o2"
    assert all(r["error"]["detail"] for r in results if r["error"])
    assert results[7]["points"] == -4  # the cake: 4 base points; the refund saw o1 in the batch
    assert rows(cafe) == (3, 3, 2, 2)  # two purchases and their lots; a refund and its reversal


def test_same_batch_twice_changes_nothing(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    batch = [
        purchase("o1"),
        purchase("o2", member="bob"),
        purchase("o3", amount="-1"),
        refund("r1", "o1", lines=[{"sku": "LATTE", "quantity": 1}]),
        purchase("o1"),  # a repeat inside the batch answers like the first
    ]
    first = client.post("/v1/events/batch", json={"events": batch}, headers=pos_headers).json()
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (3, 1, 1)
    assert first["results"][4]["event_id"] == first["results"][0]["event_id"]
    before = rows(cafe)
    again = client.post("/v1/events/batch", json={"events": batch}, headers=pos_headers).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 4, 1)
    for a, b in zip(first["results"], again["results"], strict=True):
        assert [a[k] for k in ("event_id", "points", "awards")] == [
            b[k] for k in ("event_id", "points", "awards")
        ]
    assert again["results"][2]["error"]["field"] == "amount"
    assert rows(cafe) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": {"external_id": "o1"}}, "events"),
        ({}, "events"),
        ({"events": [purchase("o1")], "dry_run": True}, "dry_run"),
        ({"events": [purchase("o1"), "not an event"]}, "events[1]"),
    ],
)
def test_batch_body_errors(
    client: TestClient, cafe: Database, pos_headers: H, body: dict[str, Any], field: str
) -> None:
    problem(client.post("/v1/events/batch", json=body, headers=pos_headers), 422, field)
    assert rows(cafe) == (0, 0, 0, 0)


def test_get_event_returns_what_was_stored(
    client: TestClient, cafe: Database, pos_headers: H, read_headers: H
) -> None:
    sent = client.post("/v1/events", json=purchase("o1", store="soho"), headers=pos_headers)
    event_id = sent.json()["event_id"]
    response = client.get(f"/v1/events/{event_id}", headers=read_headers)
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["id"], out["external_id"], out["type"]) == (event_id, "o1", "purchase")
    assert (out["amount"], out["currency"], out["points"]) == (1000, "USD", 66)
    assert out["store"] == "soho" and out["member_id"] == sent.json()["member_id"]
    assert [li["sku"] for li in out["lines"]] == ["LATTE", "CAKE"]
    assert out["lines"][0]["unit_price"] == 300
    assert "payload_hash" not in out


@pytest.mark.parametrize(
    ("path", "status"),
    [("999", 404), ("0", 422), ("abc", 422), (str(2**63), 422), ("99999999999999999999", 422)],
)
def test_get_event_bad_ids(client: TestClient, read_headers: H, path: str, status: int) -> None:
    problem(client.get(f"/v1/events/{path}", headers=read_headers), status, "event_id")


def test_scopes(client: TestClient, cafe: Database, read_headers: H, pos_headers: H) -> None:
    for path, body in (("/v1/events", purchase("o1")), ("/v1/events/batch", {"events": []})):
        response = client.post(path, json=body, headers=read_headers)
        assert response.status_code == 403, response.text
        assert response.json()["required_scope"] == "pos"
        assert client.post(path, json=body).status_code == 401
    assert rows(cafe) == (0, 0, 0, 0)
    client.post("/v1/events", json=purchase("o1"), headers=pos_headers)
    assert client.get("/v1/events/1", headers=read_headers).status_code == 200


def test_no_program_yet_is_a_conflict(
    client: TestClient, database: Database, pos_headers: H
) -> None:
    problem(client.post("/v1/events", json=purchase("o1"), headers=pos_headers), 409, "program")
    assert rows(database) == (0, 0, 0, 0)


# -- values no column can hold: a 422, never a 500, and nothing written ------------
HUGE = 10**20

UNSTORABLE = {
    "member_id": {"external_id": "o1", "type": "purchase", "member_id": HUGE, "amount": "5.00"},
    "line total": purchase(
        "o1", lines=[{"sku": "X", "quantity": 1_000_000, "unit_price": "999999999999999.99"}]
    ),
}


@pytest.mark.parametrize("case", sorted(UNSTORABLE))
def test_unstorable_values_are_422_not_500(
    client: TestClient, cafe: Database, pos_headers: H, case: str
) -> None:
    response = client.post("/v1/events", json=UNSTORABLE[case], headers=pos_headers)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "https://patron.dev/problems/invalid-input"
    assert rows(cafe) == (0, 0, 0, 0)


# -- service bugs found here (events/schemas.py, events/validation.py) ---------------
def _batch_with(client: TestClient, headers: H, bad: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/v1/events/batch", json={"events": [purchase("good"), bad]}, headers=headers
    )
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def test_batch_row_with_an_out_of_range_member_id_is_rejected_alone(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    out = _batch_with(client, pos_headers, UNSTORABLE["member_id"] | {"external_id": "bad"})
    assert [r["status"] for r in out["results"]] == ["accepted", "rejected"]
    assert out["results"][1]["error"]["field"] == "member_id"


def test_batch_row_whose_total_overflows_is_rejected_alone(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    out = _batch_with(client, pos_headers, UNSTORABLE["line total"] | {"external_id": "bad"})
    assert [r["status"] for r in out["results"]] == ["accepted", "rejected"]
    assert out["results"][1]["error"]["field"] in ("amount", "lines", "lines[0].quantity")


def test_batch_row_with_a_date_before_year_one_is_rejected_alone(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    early = purchase("bad", occurred_at="0001-01-01T00:00:00+05:00")
    out = _batch_with(client, pos_headers, early)
    assert [r["status"] for r in out["results"]] == ["accepted", "rejected"]
    assert out["results"][1]["error"]["field"] == "occurred_at"


def test_batch_row_with_a_nul_character_is_rejected_alone(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    out = _batch_with(client, pos_headers, purchase("bad", store="so\x00ho"))
    assert [r["status"] for r in out["results"]] == ["accepted", "rejected"]
    assert out["results"][1]["error"]["field"] == "store"


@pytest.mark.parametrize(
    ("fields", "place"),
    [
        ({"store": "so\x00ho"}, "store"),
        ({"attributes": {"tags": ["ok", "b\x00d"]}}, "attributes.tags[1]"),
        (
            {
                "lines": [
                    {"sku": "A", "quantity": 1, "unit_price": "1.00"},
                    {"sku": "B", "category": "c\x00", "quantity": 1, "unit_price": "1.00"},
                ]
            },
            "lines[1].category",
        ),
    ],
)
def test_a_nul_character_in_one_event_is_a_422_naming_its_exact_place(
    client: TestClient, cafe: Database, pos_headers: H, fields: dict[str, Any], place: str
) -> None:
    response = client.post("/v1/events", json=purchase("bad", **fields), headers=pos_headers)
    body = problem(response, 422, place)
    assert "NUL character" in body["detail"]
    assert rows(cafe) == (0, 0, 0, 0)


FEE_RULE = {
    "id": "fee",
    "when": {"event": "custom", "name": ["membership_fee"], "amount": {"gte": "20.00"}},
    "effect": {"points_per": {"points": 2, "per": "1.00"}},
}


def test_a_custom_event_with_an_amount_is_scored_and_stored_with_it(
    client: TestClient, database: Database, clock: FrozenClock, pos_headers: H
) -> None:
    """A membership fee carries money: a rule compares on it and earns per unit of it
    (it used to be read as 0: no rule on a custom event's amount could ever match)."""
    load_program(database, {**CAFE, "rules": [*CAFE["rules"], FEE_RULE]}, clock)

    def fee(ext: str, amount: str) -> dict[str, Any]:
        body = {"external_id": ext, "type": "custom", "name": "membership_fee", "amount": amount}
        return {**body, "member_external_id": "alice"}

    paid = client.post("/v1/events", json=fee("f1", "49.00"), headers=pos_headers)
    assert paid.status_code == 201, paid.text
    assert paid.json()["points"] == 98
    assert (
        paid.json()["awards"][0]["explanation"]
        == "98 pts: 2 pts per 1.00 USD on 49.00 USD, rule fee"
    )
    small = client.post("/v1/events", json=fee("f2", "10.00"), headers=pos_headers)
    assert small.status_code == 201, small.text
    assert small.json()["points"] == 0
    with database.unit_of_work() as session:
        stored = session.execute(select(Event.external_id, Event.amount).order_by(Event.id))
        assert stored.all() == [("f1", 4900), ("f2", 1000)]
    problem(client.post("/v1/events", json=fee("f3", "1.001"), headers=pos_headers), 422, "amount")


def test_a_signup_with_an_amount_is_refused(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    body = {"external_id": "s1", "type": "signup", "member_external_id": "bob", "amount": "5"}
    response = client.post("/v1/events", json=body, headers=pos_headers)
    assert problem(response, 422, "amount")["detail"] == "a signup event has no amount"
    assert rows(cafe) == (0, 0, 0, 0)


def _nested(levels: int, opening: str, closing: str) -> str:
    return opening * levels + closing * levels


@pytest.mark.parametrize(
    ("attributes", "place"),
    [
        # Past ~250 levels the payload hash's serializer refused: a 500.
        (_nested(300, '{"a":', "}")[:-300] + "{}" + "}" * 300, "attributes" + ".a" * 32),
        ('{"tags":' + _nested(600, "[", "]") + "}", "attributes.tags" + "[0]" * 31),
    ],
)
def test_attributes_nested_past_the_limit_are_a_422_naming_the_place(
    client: TestClient, cafe: Database, pos_headers: H, attributes: str, place: str
) -> None:
    raw = (
        '{"external_id": "deep", "type": "purchase", "member_external_id": "a", '
        f'"amount": "1", "attributes": {attributes}}}'
    )
    headers = {**pos_headers, "Content-Type": "application/json"}
    body = problem(client.post("/v1/events", content=raw, headers=headers), 422, place)
    assert "nested more than 32 levels deep" in body["detail"]
    batch = client.post("/v1/events/batch", content=f'{{"events": [{raw}]}}', headers=headers)
    assert batch.status_code == 200, batch.text
    assert batch.json()["results"][0]["error"]["field"] == place
    assert rows(cafe) == (0, 0, 0, 0)


def test_attributes_nested_to_the_limit_are_stored_as_sent(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    deep: dict[str, Any] = {"leaf": "x"}
    for _ in range(31):  # 32 objects, the attributes the outermost
        deep = {"a": deep}
    response = client.post(
        "/v1/events", json=purchase("deep", attributes=deep), headers=pos_headers
    )
    assert response.status_code == 201, response.text
    with cafe.unit_of_work() as session:
        assert session.scalars(select(Event.attributes)).one() == deep


def test_a_body_python_cannot_parse_is_a_400_naming_the_body(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    """A member body nested past Python's recursion limit: FastAPI's own parsing
    gives up (the events routes parse with orjson, which refuses past 1,024)."""
    raw = '{"external_id": "m", "attributes": ' + _nested(1000, '{"a":', "}")[:-1000] + "{}"
    raw += "}" * 1000 + "}"
    headers = {**pos_headers, "Content-Type": "application/json"}
    problem(client.post("/v1/members", content=raw, headers=headers), 400, "body")
    assert count(cafe, Member) == 0


def test_batch_row_with_a_nan_attribute_is_rejected_alone(
    client: TestClient, cafe: Database, pos_headers: H
) -> None:
    good = '{"external_id": "good", "type": "purchase", "member_external_id": "a", "amount": "1"}'
    bad = '{"external_id": "bad", "type": "purchase", "member_external_id": "a", "amount": "1",'
    raw = f'{{"events": [{good}, {bad} "attributes": {{"score": NaN}}}}]}}'
    headers = {**pos_headers, "Content-Type": "application/json"}
    response = client.post("/v1/events/batch", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    out = response.json()
    assert [r["status"] for r in out["results"]] == ["accepted", "rejected"]
    assert out["results"][1]["error"]["field"] == "attributes.score"


def test_large_amount_in_a_currency_of_small_units(
    client: TestClient,
    database: Database,
    clock: FrozenClock,
    pos_headers: H,
) -> None:
    """Rp 25,000,000.00 (about 1,500 USD) is 2.5 billion minor units."""
    load_program(database, {**CAFE, "currency": "IDR"}, clock)
    body = {"external_id": "o1", "type": "purchase", "member_external_id": "a",
            "amount": "25000000.00"}  # fmt: skip
    response = client.post("/v1/events", json=body, headers=pos_headers)
    assert response.status_code == 201, response.text
    assert client.get("/v1/events/1", headers=pos_headers).json()["amount"] == 2_500_000_000


def test_the_openapi_document_describes_the_event_body(client: TestClient) -> None:
    """POST /v1/events reads its body itself (api.body); the document still shows it."""
    schema = client.get("/openapi.json").json()
    post_event = schema["paths"]["/v1/events"]["post"]
    body = post_event["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].removeprefix("#/components/schemas/")
    assert {"external_id", "type", "member_id", "amount", "lines"} <= set(
        schema["components"]["schemas"][name]["properties"]
    )
    assert post_event["requestBody"]["required"] is True
    assert "problem" in post_event["responses"]["422"]["description"]
    answer = post_event["responses"]["201"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/EventResult"}
