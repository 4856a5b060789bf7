"""Integration helpers: a database with a test program loaded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.demo.build import DemoSummary
from patron.events.ingest import ingest
from patron.events.schemas import BatchResult, EventResult
from patron.program.loader import program_from_dict
from patron.program.service import save_program

DEMO_END = datetime(2026, 11, 1, tzinfo=UTC)

CAFE: dict[str, Any] = {
    "name": "Test Café",
    "currency": "USD",
    "timezone": "UTC",
    "unknown_members": "enrol",
    "points": {"pending_days": 0, "expiry": {"policy": "rolling", "days": 365}},
    "rules": [
        {
            "id": "base-earn",
            "when": {"event": "purchase"},
            "effect": {"points_per": {"points": 1, "per": "1.00"}},
        },
        {
            "id": "coffee-double",
            "when": {"event": "purchase"},
            "lines": {"category": "coffee"},
            "effect": {"multiplier": "2"},
        },
        {
            "id": "first-visit",
            "when": {"event": "purchase", "first_purchase": True},
            "effect": {"fixed": 50},
        },
        {"id": "welcome", "when": {"event": "signup"}, "effect": {"fixed": 100}},
    ],
}


def load_program(database: Database, data: dict[str, Any], clock: FrozenClock) -> None:
    with database.unit_of_work() as session:
        save_program(
            session, program_from_dict(data, "test"), source="test", actor="test", at=clock.now()
        )


@pytest.fixture
def cafe(database: Database, clock: FrozenClock) -> Iterator[Database]:
    load_program(database, CAFE, clock)
    yield database


def count(database: Database, model: Any) -> int:
    with database.unit_of_work() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def send(database: Database, *rows: dict[str, Any]) -> BatchResult:
    """Ingest ``rows`` as one batch in a transaction of their own."""
    with database.unit_of_work() as session:
        return ingest(session, list(rows))


def one(database: Database, row: dict[str, Any]) -> EventResult:
    """Ingest one event that must be accepted; its result."""
    result = send(database, row).results[0]
    assert result.status == "accepted", result.error
    return result


def build_small_demo(database: Database) -> DemoSummary:
    """The demo shop the demo tests read: 120 members, seed 5, up to 2026-11-01."""
    from rich.console import Console

    from patron.demo.build import build_demo

    return build_demo(database, members=120, seed=5, console=Console(quiet=True), end=DEMO_END)
