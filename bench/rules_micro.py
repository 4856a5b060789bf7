"""Micro-benchmark: how long the rule engine takes per event (no database).

Scores the example café program (12 rules) on a mix of purchases and prints
microseconds per event and per rule, beside a baseline measured in the same
run: a hand-written function that computes only the base earn (1 pt per 1.00)
and builds one AwardPoints, i.e. the least any engine could do per event.

    .venv/bin/python bench/rules_micro.py [events]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from patron.program.loader import load_program_file
from patron.rules.engine import evaluate
from patron.rules.types import AwardPoints, EventFacts, LineItem, MemberFacts

ROOT = Path(__file__).resolve().parents[1]


def events(n: int) -> list[EventFacts]:
    start = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)
    baskets = [
        (LineItem("FLAT-WHITE", 1, 350, "coffee"),),
        (LineItem("LATTE", 2, 380, "coffee"), LineItem("CROIS", 1, 280, "pastry")),
        (LineItem("BEANS-1KG", 1, 2400, "beans"), LineItem("V60", 1, 1800, "brewing-kit")),
    ]
    out = []
    for i in range(n):
        lines = baskets[i % 3]
        out.append(
            EventFacts(
                "purchase",
                start + timedelta(minutes=37 * i),
                amount=sum(x.amount for x in lines),
                currency="GBP",
                channel=("app", "web", "till")[i % 3],
                store=("soho", "kings-cross", "shoreditch")[i % 3],
                lines=lines,
            )
        )
    return out


def baseline(event: EventFacts, member: MemberFacts) -> list[AwardPoints]:
    points = event.amount // 100
    text = f"{points} pts: 1 pt per 1.00 GBP on {event.amount / 100:.2f} GBP, rule base-earn"
    return [AwardPoints("base-earn", points, text, {-1: event.amount})]


def timed(fn, evs, members) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    for i, ev in enumerate(evs):
        fn(ev, members[i % len(members)])
    return time.perf_counter() - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    program = load_program_file(ROOT / "examples" / "program.yaml")
    members = [
        MemberFacts(1, purchase_count=3, attributes={"city": "London"}),
        MemberFacts(
            2,
            purchase_count=0,
            tier="gold",
            tier_multiplier=Decimal("1.5"),
            rule_usage={("early-bird", "2026-11-16"): 30},
        ),
        MemberFacts(3, purchase_count=25, attributes={"city": "Leeds"}),
    ]
    evs = events(n)
    budgets = {"big-basket": 1000, "london-launch": 0}
    evaluate(program, evs[0], members[0])  # compile once, outside the timing

    def engine(ev: EventFacts, m: MemberFacts) -> object:
        return evaluate(program, ev, m, budgets_used=budgets)

    engine_s = min(timed(engine, evs, members) for _ in range(3))
    base_s = min(timed(baseline, evs, members) for _ in range(3))
    awards = sum(len(engine(ev, members[i % 3]).effects) for i, ev in enumerate(evs[:1000]))
    rules = len(program.rules)
    print(f"events: {n}, rules: {rules}, awards per event: {awards / 1000:.2f}")
    print(
        f"engine:   {engine_s / n * 1e6:7.2f} us/event  {engine_s / n / rules * 1e6:5.2f} us/rule"
        f"  {n / engine_s:10,.0f} events/s"
    )
    print(
        f"baseline: {base_s / n * 1e6:7.2f} us/event  (base earn only)"
        f"              {n / base_s:10,.0f} events/s"
    )
    print(f"ratio engine/baseline: {engine_s / base_s:.1f}x")


if __name__ == "__main__":
    main()
