"""Per-unit points, rounding, line filters, fixed awards, multipliers and tier bonuses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.unit.rules.factories import (
    BASE_EARN,
    awarded,
    event,
    line,
    member,
    program,
    purchase,
    run,
)


def per_unit(points: int, per: str, rounding: str = "floor", **extra: Any) -> dict[str, Any]:
    effect = {"points_per": {"points": points, "per": per, "rounding": rounding}}
    return {"id": "earn", "effect": effect, **extra}


def test_base_earn_explanation_and_basis() -> None:
    result = run(program(BASE_EARN), purchase(1050))
    (award,) = result.effects
    assert award.points == 10
    assert award.explanation == "10 pts: 1 pt per 1.00 USD on 10.50 USD, rule base-earn"
    assert award.basis == {-1: 1050}
    assert award.period_key is None


@pytest.mark.parametrize(
    ("rounding", "amount", "expected"),
    [
        ("floor", 1050, 10),
        ("round_half_up", 1050, 11),
        ("ceil", 1050, 11),
        ("floor", 1049, 10),
        ("round_half_up", 1049, 10),
        ("ceil", 1049, 11),
        ("floor", 1000, 10),
        ("round_half_up", 1000, 10),
        ("ceil", 1000, 10),
        ("floor", 99, 0),
        ("ceil", 1, 1),
    ],
)
def test_rounding_modes(rounding: str, amount: int, expected: int) -> None:
    assert run(program(per_unit(1, "1.00", rounding)), purchase(amount)).points == expected


def test_rates_are_pro_rata_then_rounded() -> None:
    # points = amount / per x points, rounded once (not whole units x points)
    assert run(program(per_unit(5, "2.00")), purchase(1099)).points == 27  # 27.475
    assert run(program(per_unit(3, "0.50")), purchase(175)).points == 10  # 10.5
    assert run(program(per_unit(3, "0.50", "round_half_up")), purchase(175)).points == 11
    assert run(program(per_unit(1, "1", "floor")), purchase(100000)).points == 1000


def test_zero_points_is_skipped_with_reason() -> None:
    result = run(program(BASE_EARN), purchase(99))
    assert result.effects == ()
    assert result.skipped == ("rule base-earn: 0 pts on 0.99 USD (1 pt per 1.00 USD)",)
    assert run(program(BASE_EARN), event("signup")).skipped == (
        "rule base-earn: nothing to earn on 0.00 USD",
    )


def test_jpy_has_no_minor_units() -> None:
    prog = program(per_unit(1, "100"), currency="JPY")
    assert run(prog, purchase(1250)).points == 12


LINES = (line("ESP", 2, 300, "coffee"), line("CROIS", 1, 250, "pastry"), line("BEANS", 1, 1200))


def test_line_filter_earns_on_matching_lines_only() -> None:
    prog = program(per_unit(2, "1.00", lines={"category": ["coffee"], "sku": ["BEANS"]}))
    (award,) = run(prog, purchase(2050, lines=LINES)).effects
    assert award.points == 36  # 2 pts x 18.00 USD
    assert award.basis == {0: 600, 2: 1200}
    assert award.explanation == (
        "36 pts: 2 pts per 1.00 USD on 18.00 USD of lines with sku BEANS or category coffee, "
        "rule earn"
    )


def test_line_filter_without_matching_lines_skips() -> None:
    prog = program(per_unit(2, "1.00", lines={"category": "tea"}))
    result = run(prog, purchase(2050, lines=LINES))
    assert result.effects == ()
    assert result.skipped == ("rule earn: no lines with category tea",)


def test_fixed_award_has_no_basis() -> None:
    prog = program({"id": "welcome", "when": {"event": "signup"}, "effect": {"fixed": 50}})
    (award,) = run(prog, event("signup")).effects
    assert (award.points, award.basis, award.explanation) == (
        50,
        None,
        "50 pts: bonus, rule welcome",
    )


def test_fixed_award_with_line_filter_needs_a_matching_line() -> None:
    prog = program({"id": "pastry", "lines": {"category": "pastry"}, "effect": {"fixed": 5}})
    assert run(prog, purchase(2050, lines=LINES)).points == 5
    assert run(prog, purchase(2050, lines=LINES[:1])).points == 0


def multiplier(rule_id: str, m: str, **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "effect": {"multiplier": m}, **extra}


def test_multiplier_is_its_own_award_on_base_points() -> None:
    prog = program(BASE_EARN, multiplier("gold-bonus", "1.5"))
    result = run(prog, purchase(1000))
    assert awarded(result) == {"base-earn": 10, "gold-bonus": 5}
    bonus = result.effects[1]
    assert bonus.explanation == "5 pts: x1.5 on 10 pts from base-earn, rule gold-bonus"
    assert bonus.basis == {-1: 1000}


def test_multipliers_add_up() -> None:
    prog = program(BASE_EARN, multiplier("double", "2"), multiplier("half-more", "1.5"))
    result = run(prog, purchase(2000))
    assert awarded(result) == {"base-earn": 20, "double": 20, "half-more": 10}
    assert result.points == 50  # x2.5 of base


def test_multiplier_ignores_fixed_awards_and_other_multipliers() -> None:
    prog = program(
        BASE_EARN,
        {"id": "bonus", "effect": {"fixed": 100}},
        multiplier("x3", "3"),
        multiplier("x2", "2", priority=-1),
    )
    assert awarded(run(prog, purchase(1000))) == {"base-earn": 10, "bonus": 100, "x3": 20, "x2": 10}


def test_multiplier_with_nothing_to_multiply() -> None:
    prog = program({"id": "bonus", "effect": {"fixed": 100}}, multiplier("x2", "2"))
    result = run(prog, purchase(1000))
    assert awarded(result) == {"bonus": 100}
    assert result.skipped == ("rule x2: no per-unit points to multiply",)


def test_multiplier_on_lines_takes_their_share_of_a_whole_event_award() -> None:
    prog = program(BASE_EARN, multiplier("coffee-x2", "2", lines={"category": "coffee"}))
    result = run(prog, purchase(2050, lines=LINES))
    # base 20 pts on 20.50; coffee lines are 6.00 of it -> 5.85 pts -> x2 bonus floor(5.85) = 5
    assert awarded(result) == {"base-earn": 20, "coffee-x2": 5}
    bonus = result.effects[1]
    assert bonus.basis == {0: 600}
    assert bonus.explanation == (
        "5 pts: x2 on 5.85 pts from base-earn (lines with category coffee), rule coffee-x2"
    )


def test_multiplier_on_lines_over_a_line_award() -> None:
    coffee_earn = per_unit(1, "1.00", lines={"category": ["coffee", "pastry"]})
    prog = program(coffee_earn, multiplier("pastry-x3", "3", lines={"category": "pastry"}))
    result = run(prog, purchase(2050, lines=LINES))
    # earn: 8 pts on 8.50 (6.00 coffee + 2.50 pastry); pastry share 8 x 2.5/8.5 = 2.35; x3 -> +4
    assert awarded(result) == {"earn": 8, "pastry-x3": 4}
    assert result.effects[1].basis == {1: 250}


def test_unfiltered_multiplier_over_line_awards_keeps_their_lines() -> None:
    coffee_earn = per_unit(1, "1.00", lines={"category": "coffee"})
    result = run(program(coffee_earn, multiplier("x2", "2")), purchase(2050, lines=LINES))
    assert awarded(result) == {"earn": 6, "x2": 6}
    assert result.effects[1].basis == {0: 600}


def test_multiplier_needs_its_condition() -> None:
    prog = program(BASE_EARN, multiplier("app-x2", "2", when={"channel": "app"}))
    assert awarded(run(prog, purchase(1000, channel="app"))) == {"base-earn": 10, "app-x2": 10}
    assert awarded(run(prog, purchase(1000, channel="web"))) == {"base-earn": 10}


def test_tier_multiplier() -> None:
    prog = program(BASE_EARN, multiplier("promo", "2"))
    result = run(prog, purchase(1000), member(tier="gold", tier_multiplier="1.5"))
    assert awarded(result) == {"base-earn": 10, "promo": 10, "tier:gold": 5}
    tier = result.effects[-1]
    assert tier.explanation == "5 pts: x1.5 Gold tier on 10 pts from base-earn"
    assert tier.basis == {-1: 1000}
    assert tier.period_key is None


def test_tier_multiplier_of_one_or_without_per_unit_points_gives_nothing() -> None:
    prog = program(BASE_EARN)
    assert awarded(run(prog, purchase(1000), member(tier="base", tier_multiplier="1"))) == {
        "base-earn": 10
    }
    fixed_only = program({"id": "bonus", "effect": {"fixed": 10}})
    assert run(fixed_only, purchase(1000), member(tier="gold", tier_multiplier="2")).points == 10


def test_points_are_ints_and_decimal_multipliers_are_exact() -> None:
    prog = program(BASE_EARN, multiplier("m", "1.1"))
    result = run(prog, purchase(1000000))  # 10000 base -> exactly 1000 bonus, no float drift
    assert awarded(result) == {"base-earn": 10000, "m": 1000}
    assert all(type(e.points) is int for e in result.effects)
    assert prog.rules[1].effect.multiplier == Decimal("1.1")
