"""The program model: defaults, shorthands, expiry/pending helpers, storage round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from patron.program.loader import load_program_file, program_from_dict, program_to_dict
from patron.program.schema import Program

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "program.yaml"


def minimal(**extra: object) -> Program:
    return program_from_dict({"name": "Café", "currency": "eur", **extra}, "test")


def test_defaults() -> None:
    p = minimal()
    assert p.currency == "EUR"
    assert p.timezone == "UTC"
    assert p.unknown_members == "enrol"
    assert p.points.pending_days == 0
    assert p.points.expiry.policy == "never"
    assert p.points.value_per_point == Decimal("0.01")
    assert p.rules == []


def test_example_program_loads_and_uses_every_effect() -> None:
    p = load_program_file(EXAMPLE)
    assert p.name == "Bean There Café"
    kinds = {r.effect.kind for r in p.rules}
    assert kinds == {"points_per", "fixed", "multiplier"}
    assert {r.cap.per for r in p.rules if r.cap} >= {"day", "week", "month"}


def test_shorthands_expand() -> None:
    p = minimal(
        rules=[
            {
                "id": "r",
                "effect": {"fixed": 1},
                "when": {
                    "event": "purchase",
                    "channel": "app",
                    "time_of_day": {"from": "07:00", "to": "09:30"},
                    "amount": "5.00",
                    "member.attributes.city": ["Paris", "Lyon"],
                },
            }
        ]
    )
    when = p.rules[0].when
    assert when is not None
    assert when.event == ["purchase"] and when.channel == ["app"]
    assert when.time_of_day is not None and when.time_of_day[0].start == 7 * 60
    assert when.amount is not None and when.amount.operators() == [("eq", Decimal("5.00"))]
    assert when.member_attributes is not None
    assert when.member_attributes["city"].operators() == [("in", ["Paris", "Lyon"])]


def test_models_are_frozen() -> None:
    p = minimal()
    with pytest.raises(ValueError):
        p.name = "Other"  # type: ignore[misc]


def test_round_trip_through_json_keeps_the_program() -> None:
    p = load_program_file(EXAMPLE)
    stored = json.loads(json.dumps(program_to_dict(p)))
    assert program_from_dict(stored, "stored") == p
    rule = next(r for r in stored["rules"] if r["id"] == "review-bonus")
    assert rule["when"]["event.attributes.stars"] == {"gte": 1}
    assert stored["points"]["value_per_point"] == "0.01"


def test_available_at_adds_pending_days() -> None:
    p = minimal(points={"pending_days": 14})
    assert p.available_at(datetime(2026, 1, 1, 12, tzinfo=UTC)) == datetime(
        2026, 1, 15, 12, tzinfo=UTC
    )
    assert p.available_at(datetime(2026, 1, 1, 12)) == datetime(2026, 1, 15, 12, tzinfo=UTC)


def test_expiry_policies() -> None:
    earned = datetime(2026, 3, 10, 9, tzinfo=UTC)
    assert minimal().expires_at(earned) is None
    rolling = minimal(points={"expiry": {"policy": "rolling", "days": 365}})
    assert rolling.expires_at(earned) == datetime(2027, 3, 10, 9, tzinfo=UTC)
    inactivity = minimal(points={"expiry": {"policy": "inactivity", "days": 180}})
    assert inactivity.expires_at(earned) is None
    eoy = minimal(timezone="Europe/Berlin", points={"expiry": {"policy": "end_of_year"}})
    assert eoy.expires_at(earned) == datetime(2026, 12, 31, 23, tzinfo=UTC)  # 1 Jan 00:00 CET
    next_year = minimal(points={"expiry": {"policy": "end_of_year", "years": 1}})
    assert next_year.expires_at(earned) == datetime(2028, 1, 1, tzinfo=UTC)


def test_end_of_year_uses_the_local_year_of_earning() -> None:
    p = minimal(timezone="Asia/Tokyo", points={"expiry": {"policy": "end_of_year"}})
    # 31 Dec 2026 20:00 UTC is already 1 Jan 2027 in Tokyo.
    assert p.expires_at(datetime(2026, 12, 31, 20, tzinfo=UTC)) == datetime(
        2027, 12, 31, 15, tzinfo=UTC
    )


def test_decimals_never_come_from_binary_floats() -> None:
    p = minimal(
        points={"value_per_point": 0.1},
        rules=[
            {"id": "m", "effect": {"multiplier": 1.1}},
            {"id": "e", "effect": {"points_per": {"points": 1, "per": 0.3}}},
        ],
    )
    assert p.points.value_per_point == Decimal("0.1")
    assert p.rules[0].effect.multiplier == Decimal("1.1")
    assert p.rules[1].effect.points_per is not None
    assert p.rules[1].effect.points_per.per == Decimal("0.3")
