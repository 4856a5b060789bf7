"""Small builders for rule-engine tests: programs from dicts, events, members."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from patron.program.loader import program_from_dict
from patron.program.schema import Program
from patron.rules.engine import evaluate
from patron.rules.types import Evaluation, EventFacts, LineItem, MemberFacts

# Sunday 22 November 2026, 10:00 UTC (10:00 in London, winter time).
SUNDAY = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
BASE_EARN: dict[str, Any] = {
    "id": "base-earn",
    "effect": {"points_per": {"points": 1, "per": "1.00"}},
}


def program(*rules: dict[str, Any], **top: Any) -> Program:
    data = {"name": "Test Café", "currency": "USD", "timezone": "Europe/London", **top}
    data["rules"] = list(rules)
    return program_from_dict(data, "test")


def purchase(amount: int = 1000, *, at: datetime = SUNDAY, **kw: Any) -> EventFacts:
    return EventFacts("purchase", at, amount=amount, **kw)


def event(type_: str, *, at: datetime = SUNDAY, **kw: Any) -> EventFacts:
    return EventFacts(type_, at, **kw)


def line(sku: str, quantity: int, unit_price: int, category: str | None = None) -> LineItem:
    return LineItem(sku, quantity, unit_price, category)


def member(**kw: Any) -> MemberFacts:
    if "tier_multiplier" in kw and kw["tier_multiplier"] is not None:
        kw["tier_multiplier"] = Decimal(kw["tier_multiplier"])
    return MemberFacts(member_id=kw.pop("member_id", 7), **kw)


def run(prog: Program, ev: EventFacts, mem: MemberFacts | None = None, **kw: Any) -> Evaluation:
    return evaluate(prog, ev, mem or member(), **kw)


def awarded(result: Evaluation) -> dict[str, int]:
    return {e.rule_id: e.points for e in result.effects}


def fires(when: dict[str, Any], ev: EventFacts, mem: MemberFacts | None = None) -> bool:
    """Does a fixed 1-pt rule with this condition fire?"""
    prog = program({"id": "probe", "when": when, "effect": {"fixed": 1}})
    return run(prog, ev, mem).points == 1
