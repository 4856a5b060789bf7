"""Outcome is EventResult's mutable stand-in while a batch is scored: the two must
carry the same fields, or a result would silently lose one."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from patron.events.schemas import AwardOut, EventResult, Outcome


def test_outcome_and_event_result_have_the_same_fields() -> None:
    assert [f.name for f in fields(Outcome)] == list(EventResult.model_fields)


def test_a_filled_outcome_becomes_the_same_event_result() -> None:
    outcome = Outcome(3, external_id="e-1", status="accepted", event_id=9, member_id=2)
    outcome.program_version, outcome.points = 4, 12
    outcome.awards.append(AwardOut(rule_id="base", points=12, explanation="12 points"))
    outcome.stamp_cards.append("1 of 10 stamps")
    outcome.occurred_at = datetime(2026, 3, 1, tzinfo=UTC)

    result = outcome.result()

    assert result.model_dump() == {
        "index": 3,
        "external_id": "e-1",
        "status": "accepted",
        "event_id": 9,
        "member_id": 2,
        "program_version": 4,
        "points": 12,
        "awards": [{"rule_id": "base", "points": 12, "explanation": "12 points"}],
        "stamp_cards": ["1 of 10 stamps"],
        "error": None,
        "occurred_at": datetime(2026, 3, 1, tzinfo=UTC),
    }
