"""The fast engine must answer exactly like the straightforward one.

``reference_engine`` is the engine before the fast paths (closures per
condition, Decimal ratios). For generated programs, events and members, both
must return the same awards (points, explanation, basis with its key order,
period key), in the same order, and the same skipped reasons.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from patron.core.errors import InvalidInput
from patron.program.loader import load_program_file, program_from_dict
from patron.program.schema import Program
from patron.rules import engine
from patron.rules.explain import pts_ratio
from patron.rules.periods import period_key
from patron.rules.types import Evaluation, EventFacts, LineItem, MemberFacts
from tests.unit.rules import reference_engine as reference

ROOT = Path(__file__).resolve().parents[3]

SKUS = ["ESP", "LATTE", "CROIS", "BEANS"]
CATEGORIES = ["coffee", "pastry", "beans"]
CHANNELS = ["app", "web", "till"]
STORES = ["soho", "kings-cross", "shoreditch"]
TIERS = ["gold", "silver"]
NAMES = ["left-review", "shared"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MONEY = ["0.00", "0.01", "1.00", "3.00", "10.00", "40.00"]
RULE_IDS = [f"r{i}" for i in range(6)]


def subset(values: list[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True)


def comparison(operand: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    ops = st.dictionaries(
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), operand, min_size=1, max_size=2
    )
    lists = st.dictionaries(
        st.sampled_from(["in", "not_in"]),
        st.lists(operand, min_size=1, max_size=3),
        min_size=1,
        max_size=1,
    )
    return st.one_of(ops, lists, operand, st.lists(operand, min_size=1, max_size=3))


attr_operands = st.one_of(
    st.integers(-2, 30),
    st.sampled_from(["London", "Leeds", "3", "4.5", "x", "nan"]),
    st.booleans(),
    st.sampled_from([1.5, 2.0]),
)
count_operands = st.one_of(st.integers(0, 30), st.sampled_from(["3", "20", "1.5"]))
times = st.integers(0, 23).map(lambda h: f"{h:02d}:{(h * 7) % 60:02d}")


@st.composite
def window(draw: st.DrawFn) -> dict[str, str]:
    a, b = draw(times), draw(times)
    assume(a != b)
    return {"from": a, "to": b}


leaf_conditions = st.one_of(
    st.builds(lambda v: {"event": v}, subset(["purchase", "signup", "custom"])),
    st.builds(lambda v: {"name": v}, subset(NAMES)),
    st.builds(lambda v: {"amount": v}, comparison(st.sampled_from(MONEY))),
    st.builds(lambda v: {"purchase_count": v}, comparison(count_operands)),
    st.builds(lambda v: {"first_purchase": v}, st.booleans()),
    st.builds(lambda v: {"channel": v}, subset(CHANNELS)),
    st.builds(lambda v: {"store": v}, subset(STORES)),
    st.builds(lambda v: {"tier": v}, subset(TIERS)),
    st.builds(lambda v: {"day_of_week": v}, subset(DAYS)),
    st.builds(lambda v: {"time_of_day": v}, st.lists(window(), min_size=1, max_size=2)),
    st.builds(
        lambda cats, skus, qty, amount: {
            "lines": {
                **({"category": cats} if cats else {}),
                **({"sku": skus} if skus or not cats else {}),
                "min_quantity": qty,
                **({"min_amount": amount} if amount else {}),
            }
        },
        st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True),
        st.lists(st.sampled_from(SKUS), max_size=2, unique=True),
        st.integers(1, 3),
        st.sampled_from([None, "1.00", "5.00"]),
    ),
    st.builds(
        lambda key, v: {f"member.attributes.{key}": v},
        st.sampled_from(["city", "age", "vip", "home.city"]),
        comparison(attr_operands),
    ),
    st.builds(
        lambda key, v: {f"event.attributes.{key}": v},
        st.sampled_from(["stars", "kind"]),
        comparison(attr_operands),
    ),
)


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in parts:
        for k, v in p.items():
            out.setdefault(k, v)
    return out


conditions = st.recursive(
    st.lists(leaf_conditions, min_size=1, max_size=3).map(merge),
    lambda inner: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(inner, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
        st.builds(lambda a, b: merge([a, b]), inner, inner),
    ),
    max_leaves=6,
)

effects = st.one_of(
    st.builds(
        lambda p, per, r: {"points_per": {"points": p, "per": per, "rounding": r}},
        st.integers(1, 5),
        st.sampled_from(["0.01", "0.50", "1.00", "3.00", "0.07"]),
        st.sampled_from(["floor", "ceil", "round_half_up"]),
    ),
    st.builds(lambda n: {"fixed": n}, st.integers(1, 100)),
    st.builds(lambda m: {"multiplier": m}, st.sampled_from(["1.5", "2", "1.25", "3", "1.1"])),
)

validity_days = st.one_of(st.none(), st.integers(-3, 3))


@st.composite
def rules(draw: st.DrawFn, rule_id: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": rule_id, "effect": draw(effects)}
    if draw(st.booleans()):
        rule["when"] = draw(conditions)
    if draw(st.booleans()):
        rule["lines"] = draw(
            st.one_of(
                st.builds(lambda c: {"category": c}, subset(CATEGORIES)),
                st.builds(lambda s: {"sku": s}, subset(SKUS)),
                st.builds(lambda s, c: {"sku": s, "category": c}, subset(SKUS), subset(CATEGORIES)),
            )
        )
    rule["priority"] = draw(st.sampled_from([0, 0, 5, 10]))
    rule["stacking"] = draw(st.sampled_from(["stack", "stack", "exclusive"]))
    start, end = draw(validity_days), draw(validity_days)
    if start is not None:
        rule["valid_from"] = str(date(2026, 11, 20) + timedelta(days=start))
    if end is not None:
        rule["valid_until"] = str(date(2026, 11, 22) + timedelta(days=end))
    if draw(st.booleans()):
        rule["cap"] = {
            "points": draw(st.integers(1, 60)),
            "per": draw(st.sampled_from(["day", "week", "month", "year"])),
        }
    if draw(st.booleans()):
        rule["budget"] = draw(st.integers(1, 500))
    return rule


@st.composite
def programs(draw: st.DrawFn) -> Program:
    n = draw(st.integers(1, len(RULE_IDS)))
    data = {
        "name": "Generated",
        "currency": draw(st.sampled_from(["GBP", "GBP", "BHD", "JPY"])),
        "timezone": draw(st.sampled_from(["Europe/London", "UTC", "Asia/Kolkata"])),
        "rules": [draw(rules(RULE_IDS[i])) for i in range(n)],
    }
    try:
        return program_from_dict(data, "generated")
    except InvalidInput:
        assume(False)
        raise


line_items = st.builds(
    LineItem,
    st.sampled_from(SKUS),
    st.integers(1, 4),
    st.one_of(st.integers(0, 5000), st.just(-100)),
    st.sampled_from([*CATEGORIES, None]),
)
attr_values = st.one_of(
    st.none(),
    st.integers(-5, 30),
    st.sampled_from(["London", "Leeds", "3", "4.5", "nan", "", "x"]),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=2),
    st.just({"city": "London"}),
)
instants = st.datetimes(
    min_value=datetime(2026, 11, 14), max_value=datetime(2026, 11, 28), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(2026, 3, 27), max_value=datetime(2026, 3, 31))


@st.composite
def events(draw: st.DrawFn) -> EventFacts:
    lines = tuple(draw(st.lists(line_items, max_size=4)))
    amount = draw(st.one_of(st.just(sum(x.amount for x in lines)), st.integers(-100, 100_000)))
    return EventFacts(
        draw(st.sampled_from(["purchase", "purchase", "signup", "custom", "refund"])),
        draw(instants),
        amount=amount,
        currency="GBP",
        name=draw(st.sampled_from([None, *NAMES])),
        channel=draw(st.sampled_from([None, *CHANNELS])),
        store=draw(st.sampled_from([None, *STORES])),
        lines=lines,
        attributes=draw(st.dictionaries(st.sampled_from(["stars", "kind"]), attr_values)),
    )


@st.composite
def members(draw: st.DrawFn, at: datetime, zone: str) -> MemberFacts:
    usage = {}
    for rule_id in draw(st.lists(st.sampled_from(RULE_IDS), max_size=3)):
        per = draw(st.sampled_from(["day", "week", "month", "year"]))
        usage[(rule_id, period_key(per, at, zone))] = draw(st.integers(0, 80))
    multiplier = draw(st.sampled_from([None, "1", "0.5", "1.5", "1.333", "2", "1.05"]))
    return MemberFacts(
        member_id=1,
        status=draw(st.sampled_from(["active", "active", "active", "blocked"])),
        attributes=draw(
            st.dictionaries(st.sampled_from(["city", "age", "vip", "home"]), attr_values)
        ),
        purchase_count=draw(st.sampled_from([0, 1, 3, 20, 25])),
        tier=draw(st.sampled_from([None, *TIERS])),
        tier_multiplier=None if multiplier is None else Decimal(multiplier),
        rule_usage=usage,
    )


def shown(result: Evaluation) -> tuple[Any, ...]:
    """Everything in an Evaluation, basis key order included."""
    return (
        [
            (e.rule_id, e.points, e.explanation, None if e.basis is None else list(e.basis.items()))
            + (e.period_key,)
            for e in result.effects
        ],
        list(result.skipped),
    )


def same(prog: Program, ev: EventFacts, mem: MemberFacts, budgets: dict[str, int]) -> None:
    want = reference.evaluate(prog, ev, mem, budgets_used=budgets)
    got = engine.evaluate(prog, ev, mem, budgets_used=budgets)
    assert shown(got) == shown(want)
    assert got == want


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.data())
def test_fast_engine_matches_reference_engine(data: st.DataObject) -> None:
    prog = data.draw(programs())
    budgets = data.draw(st.dictionaries(st.sampled_from(RULE_IDS), st.integers(0, 600)))
    for _ in range(6):
        ev = data.draw(events())
        mem = data.draw(members(ev.occurred_at, prog.timezone))
        same(prog, ev, mem, budgets)


@pytest.mark.parametrize("hour", range(0, 24, 3))
def test_example_program_matches_reference_engine(hour: int) -> None:
    prog = load_program_file(ROOT / "examples" / "program.yaml")
    start = datetime(2026, 3, 1, hour, 10, tzinfo=UTC)
    baskets = [
        (),
        (LineItem("FLAT-WHITE", 1, 350, "coffee"),),
        (LineItem("LATTE", 2, 380, "coffee"), LineItem("CROIS", 1, 280, "pastry")),
        (LineItem("BEANS-1KG", 1, 2400, "beans"), LineItem("V60", 1, 1800, "brewing-kit")),
        (LineItem("ESP-DBL", 3, 270, "coffee"), LineItem("CROIS", 2, 280, "pastry")),
    ]
    mems = [
        MemberFacts(1, purchase_count=0, attributes={"city": "London"}),
        MemberFacts(2, purchase_count=25, tier="gold", tier_multiplier=Decimal("1.5")),
        MemberFacts(3, purchase_count=3, rule_usage={("early-bird", "2026-03-02"): 50}),
    ]
    for day in range(9):
        for i, lines in enumerate(baskets):
            ev = EventFacts(
                ("purchase", "signup", "custom")[(day + i) % 3],
                start + timedelta(days=day, minutes=97 * i),
                amount=sum(x.amount for x in lines) or 4500,
                currency="GBP",
                name="left-review",
                channel=CHANNELS[(day + i) % 3],
                store=STORES[(day * 2 + i) % 3],
                lines=lines,
                attributes={"stars": 1 + i % 2},
            )
            for mem in mems:
                same(prog, ev, mem, {"big-basket": 499_990, "london-launch": 99_990})


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 10**14), st.integers(1, 10**14))
def test_points_ratio_text_matches_decimal(num: int, den: int) -> None:
    assert pts_ratio(num, den) == reference.pts_ratio(num, den)


@pytest.mark.parametrize(
    ("num", "den"),
    [(1, 200), (3, 200), (5, 1000), (15, 1000), (10**30 + 1, 3), (2 * 10**27 + 1, 2), (1, 3)],
)
def test_points_ratio_text_edges(num: int, den: int) -> None:
    assert outcome(pts_ratio, num, den) == outcome(reference.pts_ratio, num, den)


def outcome(fn: Any, *args: Any) -> object:
    try:
        return fn(*args)
    except Exception as exc:  # the same error, if any
        return type(exc)
