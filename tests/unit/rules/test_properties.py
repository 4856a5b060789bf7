"""Properties of the engine that must hold for any amount, rate or time."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from patron.rules.syntax import TimeWindow
from tests.unit.rules.factories import line, member, program, purchase, run

amounts = st.integers(min_value=0, max_value=10**9)
rates = st.integers(min_value=1, max_value=100)
pers = st.integers(min_value=1, max_value=100_000)  # minor units


def earn_program(points: int, per_minor: int, rounding: str):  # type: ignore[no-untyped-def]
    per = str(Decimal(per_minor).scaleb(-2))
    return program(
        {"id": "e", "effect": {"points_per": {"points": points, "per": per, "rounding": rounding}}}
    )


@settings(max_examples=200, deadline=None)
@given(amounts, rates, pers)
def test_floor_never_exceeds_exact_and_round_sits_between(
    amount: int, points: int, per: int
) -> None:
    exact = Fraction(amount * points, per)
    floor = run(earn_program(points, per, "floor"), purchase(amount)).points
    half = run(earn_program(points, per, "round_half_up"), purchase(amount)).points
    ceil = run(earn_program(points, per, "ceil"), purchase(amount)).points
    assert floor <= exact <= ceil
    assert floor <= half <= ceil
    assert ceil - floor <= 1
    assert abs(half - exact) <= Fraction(1, 2)


@settings(max_examples=100, deadline=None)
@given(amounts, st.sampled_from(["1.5", "2", "1.25", "3"]), st.sampled_from(["2", "1.1"]))
def test_multipliers_add_bonus_of_m_minus_one_each(amount: int, m1: str, m2: str) -> None:
    prog = program(
        {"id": "base", "effect": {"points_per": {"points": 1, "per": "0.10"}}},
        {"id": "m1", "effect": {"multiplier": m1}},
        {"id": "m2", "effect": {"multiplier": m2}},
    )
    result = run(prog, purchase(amount))
    base = amount // 10
    expected = base + int(base * (Decimal(m1) - 1)) + int(base * (Decimal(m2) - 1))
    assert result.points == expected
    total_factor = Decimal(m1) + Decimal(m2) - 1
    assert result.points <= base * total_factor


line_items = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.integers(1, 5),
        st.integers(0, 10_000),
        st.sampled_from(["coffee", "food", None]),
    ),
    min_size=0,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(line_items)
def test_line_filtered_earn_never_beats_earning_on_all_lines(items: list[tuple]) -> None:  # type: ignore[type-arg]
    lines = tuple(line(*i) for i in items)
    total = sum(item.amount for item in lines)
    prog = program(
        {"id": "all", "effect": {"points_per": {"points": 1, "per": "1.00"}}},
        {
            "id": "coffee",
            "lines": {"category": "coffee"},
            "effect": {"points_per": {"points": 1, "per": "1.00"}},
        },
        {"id": "cx2", "lines": {"category": "coffee"}, "effect": {"multiplier": "2"}},
    )
    result = run(prog, purchase(total, lines=lines))
    got = {e.rule_id: e for e in result.effects}
    if "coffee" in got:
        assert got["coffee"].points <= got["all"].points
        assert set(got["coffee"].basis or {}) <= {
            i for i, item in enumerate(lines) if item.category == "coffee"
        }
    for award in result.effects:
        assert award.points > 0 and isinstance(award.points, int)
        assert award.basis is not None and sum(award.basis.values()) <= total


minutes = st.integers(0, 1439)


@given(minutes, minutes, minutes)
def test_a_window_and_its_reverse_cover_each_minute_exactly_once(a: int, b: int, t: int) -> None:
    if a == b:
        return
    hhmm = [f"{x // 60:02d}:{x % 60:02d}" for x in (a, b)]
    there = TimeWindow.model_validate({"from": hhmm[0], "to": hhmm[1]})
    back = TimeWindow.model_validate({"from": hhmm[1], "to": hhmm[0]})
    assert there.contains(t) != back.contains(t)


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    st.dictionaries(
        st.sampled_from(["city", "age", "vip"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=4),
            st.booleans(),
            st.floats(allow_nan=True),
            st.lists(st.integers(), max_size=2),
            st.sampled_from(["nan", "inf", "-Infinity", "sNaN", "4"]),
        ),
    ),
)
def test_odd_attribute_values_never_crash(at: datetime, attrs: dict) -> None:  # type: ignore[type-arg]
    conditions = [
        {"member.attributes.age": {"gte": 18, "lt": "65"}},
        {"member.attributes.age": {"gt": "1.5", "in": [1, "2"]}},
        {"member.attributes.city": ["London", 3]},
        {"member.attributes.vip": {"ne": True, "lte": "x"}},
    ]
    prog = program(
        *({"id": f"r{i}", "when": c, "effect": {"fixed": 1}} for i, c in enumerate(conditions))
    )
    result = run(prog, purchase(100, at=at), member(attributes=attrs))
    assert 0 <= result.points <= len(conditions)
    assert len(result.effects) + len(result.skipped) == len(conditions)
