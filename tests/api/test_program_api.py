"""The program over HTTP: read, replace (YAML or JSON), versions, and simulation."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.events.models import Event
from patron.ledger.models import LedgerEntry, PointLot, RuleBudget, RuleUsage
from patron.members.models import Member
from patron.program.models import ProgramVersion
from tests.api.conftest import problem
from tests.integration.conftest import CAFE, count, load_program

H = dict[str, str]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "program.yaml"
YAML = {"Content-Type": "application/yaml"}


def versions(database: Database) -> int:
    return count(database, ProgramVersion)


def state(database: Database) -> tuple[int, ...]:
    """Everything a simulation must leave alone."""
    models = (Event, LedgerEntry, PointLot, Member, RuleUsage, RuleBudget, ProgramVersion)
    return tuple(count(database, m) for m in models)


@pytest.fixture
def cafe(database: Database, clock: FrozenClock) -> Database:
    load_program(database, CAFE, clock)
    return database


# -- read and replace --------------------------------------------------------------
def test_no_program_yet(client: TestClient, database: Database, read_headers: H) -> None:
    problem(client.get("/v1/program", headers=read_headers), 404, "program")
    assert client.get("/v1/program/versions", headers=read_headers).json() == []


def test_put_yaml_then_json_makes_versions(
    client: TestClient, database: Database, admin_headers: H, read_headers: H, clock: FrozenClock
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    first = client.put("/v1/program", content=text.encode(), headers={**admin_headers, **YAML})
    assert first.status_code == 201, first.text
    out = first.json()
    assert (out["version"], out["name"], out["created_by"]) == (
        1,
        "Bean There Café",
        "apikey:test-admin",
    )
    assert out["definition"]["currency"] == "GBP"
    assert out["definition"]["rules"][0]["id"] == "base-earn"
    assert len(out["definition"]["rules"]) == 12

    current = client.get("/v1/program", headers=read_headers).json()
    assert current["version"] == 1 and current["definition"] == out["definition"]

    clock.advance(hours=1)
    second = client.put("/v1/program", json=CAFE, headers=admin_headers)
    assert second.status_code == 201, second.text
    assert (second.json()["version"], second.json()["name"]) == (2, "Test Café")
    again = client.put("/v1/program", json=CAFE, headers=admin_headers)
    assert again.json()["version"] == 3  # every PUT is a new version, even an unchanged one
    assert client.get("/v1/program", headers=read_headers).json()["version"] == 3

    listed = client.get("/v1/program/versions", headers=read_headers).json()
    assert [v["version"] for v in listed] == [3, 2, 1]
    assert [v["name"] for v in listed] == ["Test Café", "Test Café", "Bean There Café"]
    assert {v["created_by"] for v in listed} == {"apikey:test-admin"}
    assert listed[2]["created_at"] == "2026-03-02T12:00:00Z"
    assert listed[1]["created_at"] == "2026-03-02T13:00:00Z"


def test_new_version_scores_new_events(
    client: TestClient, cafe: Database, admin_headers: H, pos_headers: H
) -> None:
    only_base = {**CAFE, "rules": CAFE["rules"][:1]}
    assert client.put("/v1/program", json=only_base, headers=admin_headers).status_code == 201
    event = {"external_id": "o1", "type": "purchase", "member_external_id": "a", "amount": "7.00"}
    out = client.post("/v1/events", json=event, headers=pos_headers).json()
    assert (out["program_version"], out["points"]) == (2, 7)


def test_the_currency_is_kept_once_events_are_recorded_in_it(
    client: TestClient, cafe: Database, admin_headers: H, pos_headers: H
) -> None:
    """Amounts are stored in minor units of the program's currency: cents, then yen."""
    in_yen = {**CAFE, "currency": "JPY"}
    assert client.put("/v1/program", json=in_yen, headers=admin_headers).status_code == 201
    back = client.put("/v1/program", json=CAFE, headers=admin_headers)  # no events yet
    assert back.status_code == 201, back.text
    event = {"external_id": "o1", "type": "purchase", "member_external_id": "a", "amount": "7.00"}
    assert client.post("/v1/events", json=event, headers=pos_headers).status_code == 201
    refused = client.put("/v1/program", json=in_yen, headers=admin_headers)
    body = problem(refused, 409, "currency")
    assert body["detail"] == (
        "the program's currency is USD and events are recorded in it; "
        "a program in JPY needs a database of its own"
    )
    assert versions(cafe) == 3
    same = client.put("/v1/program", json={**CAFE, "name": "Renamed"}, headers=admin_headers)
    assert same.status_code == 201, same.text  # other changes still make versions


def _rule(**changes: Any) -> dict[str, Any]:
    program = copy.deepcopy(CAFE)
    program["rules"][0].update(changes)
    return program


BAD_JSON_PROGRAMS = [
    (_rule(effect={}), "rules[0].effect"),
    (_rule(effect={"fixed": 5, "multiplier": "2"}), "rules[0].effect"),
    (_rule(effect={"fixed": 0}), "rules[0].effect.fixed"),
    (_rule(id="Base Earn"), "rules[0].id"),
    (_rule(when={"evnt": "purchase"}), "rules[0].when.evnt"),
    (_rule(when={"amount": {"gte": "ten"}}), "rules[0].when.amount.gte"),
    (_rule(colour="red"), "rules[0].colour"),
    ({k: v for k, v in CAFE.items() if k != "currency"}, "currency"),
    ({**CAFE, "currency": "USX"}, "currency"),  # not an ISO 4217 code
    ({**CAFE, "timezone": "Mars/Olympus"}, "timezone"),
    ({**CAFE, "unknown_members": "maybe"}, "unknown_members"),
]


@pytest.mark.parametrize(("program", "field"), BAD_JSON_PROGRAMS)
def test_invalid_json_program_names_the_path_and_keeps_the_version(
    client: TestClient, cafe: Database, admin_headers: H, program: dict[str, Any], field: str
) -> None:
    body = problem(client.put("/v1/program", json=program, headers=admin_headers), 422, field)
    assert body["errors"][0]["path"] == field and body["errors"][0]["message"]
    assert versions(cafe) == 1


def test_invalid_yaml_program_names_the_path(
    client: TestClient, cafe: Database, admin_headers: H
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "effect: {fixed: 50}", "effect: {fixed: 50, bonus: 3}"
    )
    response = client.put("/v1/program", content=text.encode(), headers={**admin_headers, **YAML})
    body = problem(response, 422, "rules[2].effect.bonus")
    assert "request body" in body["detail"]
    assert versions(cafe) == 1


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b'{"name": "x", ', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b"name: caf\xe9", "application/yaml"),  # Latin-1, not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # past the parser's depth
    ],
)
def test_unreadable_body(
    client: TestClient, cafe: Database, admin_headers: H, raw: bytes, content_type: str
) -> None:
    headers = {**admin_headers, "Content-Type": content_type}
    problem(client.put("/v1/program", content=raw, headers=headers), 422, "body")
    assert versions(cafe) == 1


def test_only_admin_replaces_the_program(
    client: TestClient, cafe: Database, pos_headers: H, read_headers: H
) -> None:
    for headers in (pos_headers, read_headers):
        response = client.put("/v1/program", json=CAFE, headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["required_scope"] == "admin"
    assert client.put("/v1/program", json=CAFE).status_code == 401
    assert versions(cafe) == 1
    assert client.get("/v1/program", headers=pos_headers).status_code == 200


# -- simulate -----------------------------------------------------------------------
LATTE_AND_CAKE = {
    "type": "purchase",
    "lines": [
        {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": "3.00"},
        {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": "4.00"},
    ],
}


def test_simulate_explains_awards_and_skipped_rules_and_writes_nothing(
    client: TestClient, cafe: Database, read_headers: H
) -> None:
    before = state(cafe)
    response = client.post(
        "/v1/program/simulate", json={"event": LATTE_AND_CAKE}, headers=read_headers
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["program_version"] == 1 and out["points"] == 66
    assert {a["rule_id"]: a["points"] for a in out["awards"]} == {
        "base-earn": 10,
        "coffee-double": 6,
        "first-visit": 50,
    }
    assert all(a["explanation"] for a in out["awards"])
    assert out["skipped"] == ["rule welcome: needs a signup event"]
    assert out["available_at"] == "2026-03-02T12:00:00Z"
    assert out["expires_at"] == "2027-03-02T12:00:00Z"
    assert state(cafe) == before


def bought(client: TestClient, pos_headers: H, external_id: str, member: str) -> int:
    """Post a latte-and-cake purchase by ``member`` (enrolled by it); their id."""
    event = {"external_id": external_id, "type": "purchase", "member_external_id": member}
    posted = client.post("/v1/events", json={**event, **LATTE_AND_CAKE}, headers=pos_headers)
    assert posted.status_code == 201, posted.text
    return int(posted.json()["member_id"])


def test_simulate_with_a_member_uses_their_state(
    client: TestClient, cafe: Database, pos_headers: H, read_headers: H
) -> None:
    member = bought(client, pos_headers, "o1", "a")
    before = state(cafe)
    body = {"event": LATTE_AND_CAKE, "member_id": member}
    out = client.post("/v1/program/simulate", json=body, headers=read_headers).json()
    assert out["points"] == 16  # no first-visit bonus: this member has bought before
    assert any(s.startswith("rule first-visit") for s in out["skipped"])
    sketch = {"event": LATTE_AND_CAKE, "member": {"purchase_count": 0}}
    assert (
        client.post("/v1/program/simulate", json=sketch, headers=read_headers).json()["points"]
        == 66
    )
    assert state(cafe) == before


def test_simulate_uses_the_member_the_event_names(
    client: TestClient, cafe: Database, pos_headers: H, read_headers: H
) -> None:
    member = bought(client, pos_headers, "o1", "a")
    before = state(cafe)

    def points(body: dict[str, Any]) -> int:
        response = client.post("/v1/program/simulate", json=body, headers=read_headers)
        assert response.status_code == 200, response.text
        return int(response.json()["points"])

    # No first-visit bonus: the member the event names has bought before.
    assert points({"event": {**LATTE_AND_CAKE, "member_external_id": "a"}}) == 16
    assert points({"event": {**LATTE_AND_CAKE, "member_id": member}}) == 16
    assert points({"event": {**LATTE_AND_CAKE, "member_id": member}, "member_id": member}) == 16
    # Someone not enrolled yet is simulated as the new member ingestion would enrol.
    assert points({"event": {**LATTE_AND_CAKE, "member_external_id": "new"}}) == 66
    # A member described outright is what the question is about.
    sketch = {"purchase_count": 0}
    assert points({"event": {**LATTE_AND_CAKE, "member_id": member}, "member": sketch}) == 66
    assert state(cafe) == before


REFUND_OF_O1 = {"external_id": "r1", "type": "refund", "member_external_id": "a", "refund_of": "o1"}


@pytest.mark.parametrize(
    ("base", "event", "top", "status", "field"),
    [
        (LATTE_AND_CAKE, {"member_id": 999}, {}, 404, "event.member_id"),
        (LATTE_AND_CAKE, {"member_external_id": "a"}, {"member_id": 999}, 404, "member_id"),
        (LATTE_AND_CAKE, {"member_id": 1, "member_external_id": "b"}, {}, 422, "event.member_id"),
        (LATTE_AND_CAKE, {"member_external_id": "b"}, {"member_id": 1}, 422, "event.member_id"),
        # a refund it cannot make: no such purchase, more than was bought, a described
        # member (a refund needs the purchase's), someone not enrolled
        (REFUND_OF_O1, {"refund_of": "nope"}, {}, 404, "event.refund_of"),
        (REFUND_OF_O1, {"lines": [{"sku": "LATTE", "quantity": 3}]}, {}, 422,
         "event.lines[0].quantity"),
        (REFUND_OF_O1, {}, {"member": {"purchase_count": 3}}, 422, "member"),
        (REFUND_OF_O1, {"member_external_id": "stranger"}, {}, 404, "event.member_external_id"),
    ],
)  # fmt: skip
def test_simulate_refuses_what_it_cannot_answer(
    client: TestClient,
    cafe: Database,
    pos_headers: H,
    read_headers: H,
    base: dict[str, Any],
    event: dict[str, Any],
    top: dict[str, Any],
    status: int,
    field: str,
) -> None:
    assert [bought(client, pos_headers, "o1", "a"), bought(client, pos_headers, "o2", "b")] == [
        1,
        2,
    ]
    before = state(cafe)
    body = {"event": {**base, **event}, **top}
    problem(client.post("/v1/program/simulate", json=body, headers=read_headers), status, field)
    assert state(cafe) == before


@pytest.mark.parametrize(
    "part",
    [
        {},
        {"lines": [{"sku": "LATTE", "quantity": 1}]},
        {"lines": [{"sku": "LATTE", "quantity": 2}, {"sku": "CAKE", "quantity": 1}]},
    ],
    ids=["in-full", "a-latte", "every-line"],
)
def test_simulate_a_refund_shows_what_it_would_take_back(
    client: TestClient, cafe: Database, pos_headers: H, read_headers: H, part: dict[str, Any]
) -> None:
    """A refund earns nothing but costs the member points: simulate says how many, as
    ingestion then takes them (it used to answer 0 points, no explanation)."""
    bought(client, pos_headers, "o1", "a")
    before = state(cafe)
    simulated = client.post(
        "/v1/program/simulate", json={"event": {**REFUND_OF_O1, **part}}, headers=read_headers
    )
    assert simulated.status_code == 200, simulated.text
    assert state(cafe) == before
    posted = client.post("/v1/events", json={**REFUND_OF_O1, **part}, headers=pos_headers)
    assert posted.status_code == 201, posted.text
    out, real = simulated.json(), posted.json()
    assert out["points"] == real["points"] < 0
    assert out["awards"] == real["awards"]
    assert out["awards"][0]["explanation"].endswith(" of o1")


def test_simulate_respects_caps_already_used(
    client: TestClient, database: Database, clock: FrozenClock, pos_headers: H, read_headers: H
) -> None:
    capped = copy.deepcopy(CAFE)
    capped["rules"][0]["cap"] = {"points": 12, "per": "day"}
    load_program(database, capped, clock)
    event = {"external_id": "o1", "type": "purchase", "member_external_id": "a", "amount": "10"}
    member = client.post("/v1/events", json=event, headers=pos_headers).json()["member_id"]
    sim = {"event": {"type": "purchase", "amount": "10.00"}, "member_id": member}
    out = client.post("/v1/program/simulate", json=sim, headers=read_headers).json()
    assert {a["rule_id"]: a["points"] for a in out["awards"]} == {"base-earn": 2}
    fresh = client.post("/v1/program/simulate", json={"event": sim["event"]}, headers=read_headers)
    assert {a["rule_id"]: a["points"] for a in fresh.json()["awards"]}["base-earn"] == 10


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"event": {**LATTE_AND_CAKE, "amount": "-1"}}, 422, "event.amount"),
        ({"event": {**LATTE_AND_CAKE, "currency": "EUR"}}, 422, "event.currency"),
        ({"event": {"type": "gift"}}, 422, "event.type"),
        ({"event": {**LATTE_AND_CAKE, "occurred_at": "2027-01-01T00:00:00Z"}}, 422,
         "event.occurred_at"),
        ({"event": "purchase"}, 422, "event"),
        ({}, 422, "event"),
        ({"event": LATTE_AND_CAKE, "member_id": 999}, 404, "member_id"),
        ({"event": LATTE_AND_CAKE, "member_id": 0}, 422, "member_id"),
        ({"event": LATTE_AND_CAKE, "member_id": 99999999999999999999}, 422, "member_id"),
        ({"event": LATTE_AND_CAKE, "member": {"status": "gold"}}, 422, "member.status"),
        ({"event": LATTE_AND_CAKE, "dry": True}, 422, "dry"),
    ],
)  # fmt: skip
def test_simulate_bad_input(
    client: TestClient,
    cafe: Database,
    read_headers: H,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = state(cafe)
    problem(client.post("/v1/program/simulate", json=body, headers=read_headers), status, field)
    assert state(cafe) == before


def test_simulate_without_a_program(
    client: TestClient, database: Database, read_headers: H
) -> None:
    response = client.post(
        "/v1/program/simulate", json={"event": LATTE_AND_CAKE}, headers=read_headers
    )
    problem(response, 409, "program")


def test_simulate_needs_a_key(client: TestClient, cafe: Database) -> None:
    response = client.post("/v1/program/simulate", json={"event": LATTE_AND_CAKE})
    assert response.status_code == 401
    assert json.loads(response.text)["field"] == "Authorization"


# -- service bugs found here (program/schema.py, rules effects) ----------------------
UNBOUNDED = [
    ({**CAFE, "points": {"pending_days": 10**20}}, "points.pending_days"),
    ({**CAFE, "points": {"expiry": {"policy": "rolling", "days": 10**9}}}, "points.expiry.days"),
    ({**CAFE, "points": {"expiry": {"policy": "inactivity", "days": 10**9}}}, "points.expiry.days"),
    (_rule(effect={"fixed": 10**20}), "rules[0].effect.fixed"),
    (
        _rule(effect={"points_per": {"points": 10**20, "per": "1.00"}}),
        "rules[0].effect.points_per.points",
    ),
]


@pytest.mark.parametrize(("program", "field"), UNBOUNDED)
def test_program_with_numbers_out_of_range_is_refused(
    client: TestClient, cafe: Database, admin_headers: H, program: dict[str, Any], field: str
) -> None:
    problem(client.put("/v1/program", json=program, headers=admin_headers), 422, field)
    assert versions(cafe) == 1


def test_a_program_with_numbers_out_of_range_never_causes_a_500(
    client: TestClient, cafe: Database, admin_headers: H, pos_headers: H, read_headers: H
) -> None:
    """Refused when it is sent, or (until the schema bounds these) a 422 where it bites."""
    for i, (program, _) in enumerate(UNBOUNDED):
        put = client.put("/v1/program", json=program, headers=admin_headers)
        if put.status_code == 422:
            continue
        assert put.status_code == 201, put.text
        event = {"external_id": f"o{i}", "type": "purchase", "member_external_id": f"m{i}",
                 "amount": "5.00"}  # fmt: skip
        before = (count(cafe, Event), count(cafe, Member))
        response = client.post("/v1/events", json=event, headers=pos_headers)
        if response.status_code == 201:  # an inactivity deadline: it bites on reading points
            member = response.json()["member_id"]
            points = client.get(f"/v1/members/{member}/points", headers=read_headers)
            assert points.status_code == 422, points.text
        else:
            assert response.status_code == 422, response.text
            assert (count(cafe, Event), count(cafe, Member)) == before
