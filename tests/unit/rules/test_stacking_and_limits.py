"""Exclusive stacking, per-member caps, rule budgets, validity dates, blocked members."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.unit.rules.factories import BASE_EARN, awarded, event, member, program, purchase, run


def earn(rule_id: str, points: int, **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "effect": {"points_per": {"points": points, "per": "1.00"}}, **extra}


def test_rules_stack_by_default() -> None:
    prog = program(BASE_EARN, earn("promo", 2), {"id": "bonus", "effect": {"fixed": 5}})
    assert awarded(run(prog, purchase(1000))) == {"base-earn": 10, "promo": 20, "bonus": 5}


def test_exclusive_rule_skips_lower_priority_rules() -> None:
    prog = program(
        BASE_EARN,
        earn("happy-hour", 3, priority=10, stacking="exclusive", when={"channel": "app"}),
        {"id": "bonus", "priority": 5, "effect": {"fixed": 5}},
        {"id": "x2", "priority": 1, "effect": {"multiplier": "2"}},
        {"id": "top", "priority": 20, "effect": {"fixed": 1}},
    )
    result = run(prog, purchase(1000, channel="app"))
    assert awarded(result) == {"top": 1, "happy-hour": 30}
    assert result.skipped == (
        "rule bonus: skipped, exclusive rule happy-hour applied",
        "rule x2: skipped, exclusive rule happy-hour applied",
        "rule base-earn: skipped, exclusive rule happy-hour applied",
    )
    # When the exclusive rule does not apply, everything else does.
    assert awarded(run(prog, purchase(1000, channel="web"))) == {
        "top": 1,
        "bonus": 5,
        "base-earn": 10,
        "x2": 10,
    }


def test_exclusive_does_not_skip_equal_priority() -> None:
    prog = program(earn("a", 1, priority=5, stacking="exclusive"), earn("b", 2, priority=5))
    assert awarded(run(prog, purchase(1000))) == {"a": 10, "b": 20}


def test_higher_priority_wins_regardless_of_file_order() -> None:
    prog = program(
        earn("low", 1, stacking="exclusive"), earn("high", 2, priority=1, stacking="exclusive")
    )
    assert awarded(run(prog, purchase(1000))) == {"high": 20}


def test_exclusive_multiplier_skips_lower_multipliers_but_keeps_its_base() -> None:
    prog = program(
        BASE_EARN,
        {"id": "triple", "priority": 10, "stacking": "exclusive", "effect": {"multiplier": "3"}},
        {"id": "double", "priority": 5, "effect": {"multiplier": "2"}},
        {"id": "bonus", "priority": 1, "effect": {"fixed": 5}},
    )
    result = run(prog, purchase(1000))
    assert awarded(result) == {"base-earn": 10, "bonus": 5, "triple": 20}
    assert "rule double: skipped, exclusive multiplier triple applied" in result.skipped


def test_exclusive_rule_that_gives_nothing_does_not_block() -> None:
    capped = earn("promo", 5, priority=10, stacking="exclusive", cap={"points": 50, "per": "day"})
    prog = program(BASE_EARN, capped)
    used = member(rule_usage={("promo", "2026-11-22"): 50})
    assert awarded(run(prog, purchase(1000), used)) == {"base-earn": 10}


def test_cap_cuts_at_the_boundary_and_sets_period_key() -> None:
    prog = program(earn("promo", 2, cap={"points": 100, "per": "day"}))
    fresh = run(prog, purchase(3000))
    assert awarded(fresh) == {"promo": 60}
    assert fresh.effects[0].period_key == "2026-11-22"
    nearly = run(prog, purchase(3000), member(rule_usage={("promo", "2026-11-22"): 70}))
    assert awarded(nearly) == {"promo": 30}
    assert nearly.effects[0].explanation == (
        "30 pts: 2 pts per 1.00 USD on 30.00 USD, rule promo "
        "(cut from 60 pts by the cap of 100 pts per day)"
    )
    full = run(prog, purchase(3000), member(rule_usage={("promo", "2026-11-22"): 100}))
    assert full.effects == ()
    assert full.skipped == ("rule promo: cap of 100 pts per day already reached",)
    # Usage from another day does not count.
    other_day = member(rule_usage={("promo", "2026-11-21"): 100})
    assert awarded(run(prog, purchase(3000), other_day)) == {"promo": 60}


def test_cap_periods_are_local_and_iso_weeks() -> None:
    # 23:30 UTC on Sunday 22 Nov is Monday 23 Nov in Tokyo: a new ISO week there.
    at = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    for per, london, tokyo in [
        ("day", "2026-11-22", "2026-11-23"),
        ("week", "2026-W47", "2026-W48"),
        ("month", "2026-11", "2026-11"),
        ("year", "2026", "2026"),
    ]:
        rule = {"id": "c", "effect": {"fixed": 1}, "cap": {"points": 5, "per": per}}
        assert run(program(rule), purchase(at=at)).effects[0].period_key == london
        tz = program(rule, timezone="Asia/Tokyo")
        assert run(tz, purchase(at=at)).effects[0].period_key == tokyo


def test_fixed_award_respects_cap() -> None:
    prog = program({"id": "visit", "effect": {"fixed": 10}, "cap": {"points": 25, "per": "week"}})
    used = member(rule_usage={("visit", "2026-W47"): 20})
    assert awarded(run(prog, purchase(), used)) == {"visit": 5}


def test_multiplier_respects_cap() -> None:
    prog = program(
        BASE_EARN, {"id": "x2", "effect": {"multiplier": "2"}, "cap": {"points": 4, "per": "month"}}
    )
    result = run(prog, purchase(1000))
    assert awarded(result) == {"base-earn": 10, "x2": 4}
    assert result.effects[1].period_key == "2026-11"


def test_budget_cuts_then_runs_out() -> None:
    prog = program(earn("launch", 1, budget=1000))
    assert awarded(run(prog, purchase(5000), budgets_used={"launch": 0})) == {"launch": 50}
    cut = run(prog, purchase(5000), budgets_used={"launch": 980})
    assert awarded(cut) == {"launch": 20}
    assert "(cut from 50 pts: the rule budget of 1000 pts ran out)" in cut.effects[0].explanation
    spent = run(prog, purchase(5000), budgets_used={"launch": 1000})
    assert spent.effects == ()
    assert spent.skipped == ("rule launch: budget of 1000 pts used up",)
    # Other rules' budgets are their own.
    assert awarded(run(prog, purchase(5000), budgets_used={"other": 5000})) == {"launch": 50}


def test_cap_and_budget_together_take_the_smaller() -> None:
    prog = program(earn("p", 1, budget=100, cap={"points": 30, "per": "day"}))
    assert awarded(run(prog, purchase(5000), budgets_used={"p": 90})) == {"p": 10}
    assert awarded(run(prog, purchase(5000), budgets_used={"p": 10})) == {"p": 30}


def test_validity_dates_are_whole_local_days() -> None:
    prog = program(earn("xmas", 2, valid_from="2026-12-01", valid_until="2026-12-24"))
    # Midnight London on 1 Dec (winter: == UTC); 24 Dec counts until its local end.
    assert run(prog, purchase(1000, at=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))).skipped == (
        "rule xmas: starts 2026-12-01",
    )
    assert run(prog, purchase(1000, at=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))).points == 20
    assert run(prog, purchase(1000, at=datetime(2026, 12, 24, 23, 59, tzinfo=UTC))).points == 20
    assert run(prog, purchase(1000, at=datetime(2026, 12, 25, 0, 0, tzinfo=UTC))).skipped == (
        "rule xmas: ended 2026-12-24",
    )


def test_validity_date_times_use_program_zone_unless_given() -> None:
    prog = program(
        earn("summer", 2, valid_from="2026-07-01T09:00", valid_until="2026-07-01T17:00:00+00:00")
    )
    assert run(prog, purchase(1000, at=datetime(2026, 7, 1, 7, 59, tzinfo=UTC))).points == 0
    assert run(prog, purchase(1000, at=datetime(2026, 7, 1, 8, 0, tzinfo=UTC))).points == 20
    assert run(prog, purchase(1000, at=datetime(2026, 7, 1, 16, 59, tzinfo=UTC))).points == 20
    assert run(prog, purchase(1000, at=datetime(2026, 7, 1, 17, 0, tzinfo=UTC))).points == 0


def test_blocked_members_earn_nothing() -> None:
    prog = program(BASE_EARN, {"id": "bonus", "effect": {"fixed": 5}})
    result = run(prog, purchase(1000), member(status="blocked"))
    assert result.effects == ()
    assert result.skipped == ("member is blocked: blocked members earn nothing",)


def test_refunds_are_not_scored() -> None:
    prog = program(BASE_EARN, {"id": "bonus", "effect": {"fixed": 5}})
    result = run(prog, event("refund", amount=1000))
    assert result.effects == ()
    assert result.skipped[0].startswith("refunds are not scored")


def test_first_purchase_bonus_end_to_end() -> None:
    prog = program(
        BASE_EARN, {"id": "first", "when": {"first_purchase": True}, "effect": {"fixed": 100}}
    )
    assert awarded(run(prog, purchase(500), member(purchase_count=0))) == {
        "base-earn": 5,
        "first": 100,
    }
    assert awarded(run(prog, purchase(500), member(purchase_count=1))) == {"base-earn": 5}


def test_compiled_rules_are_cached_per_program_instance() -> None:
    from patron.rules.compiled import compiled_program

    prog = program(BASE_EARN)
    assert compiled_program(prog) is compiled_program(prog)
    copy = prog.model_copy(update={"rules": []})
    assert compiled_program(copy).rules == ()
    assert run(copy, purchase(1000)).points == 0
    assert run(prog, purchase(1000)).points == 10


def test_the_capped_rules_a_type_of_event_may_meet() -> None:
    """What a batch asks the stored cap usage of (``CompiledProgram.capped``)."""
    from patron.rules.compiled import compiled_program

    cap = {"points": 40, "per": "month"}
    prog = program(
        BASE_EARN,  # no cap
        {"id": "reviews", "when": {"event": "custom"}, "effect": {"fixed": 20}, "cap": cap},
        {"id": "buys", "when": {"event": "purchase"}, "effect": {"fixed": 5}, "cap": cap},
        {"id": "app", "when": {"channel": ["app"]}, "effect": {"fixed": 1}, "cap": cap},
        {
            "id": "firsts",
            "when": {"first_purchase": True},
            "effect": {"fixed": 9},
            "cap": {"points": 9, "per": "year"},
        },
    )
    compiled = compiled_program(prog)

    def ids(event_type: str) -> list[str]:
        return sorted(r.id for r in compiled.capped(event_type))

    assert ids("purchase") == ["app", "buys", "firsts"]
    assert ids("custom") == ["app", "reviews"]
    assert ids("signup") == ["app"]
    assert ids("refund") == []  # a refund awards nothing
    # Never fewer than can award: every rule that awards on these events is listed.
    for ev in (purchase(1000, channel="app"), event("custom", name="x", channel="app")):
        capped = {r.id for r in compiled.capped(ev.type)}
        awarding = {e.rule_id for e in run(prog, ev).effects if e.rule_id != "base-earn"}
        assert awarding and awarding <= capped
