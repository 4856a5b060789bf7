"""Loader errors: each names the source, the path inside the file and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from patron.core.errors import InvalidInput
from patron.program.loader import (
    ProgramInvalid,
    format_path,
    load_program_file,
    parse_program,
    program_from_dict,
)

GOOD_RULE: dict[str, Any] = {"id": "r", "effect": {"fixed": 1}}


def problems(data: Any) -> list[dict[str, str]]:
    with pytest.raises(ProgramInvalid) as info:
        program_from_dict(data, "cafe.yaml")
    return info.value.errors


def with_rule(**rule: Any) -> dict[str, Any]:
    return {"name": "C", "currency": "USD", "rules": [GOOD_RULE, GOOD_RULE | {"id": "s"}, rule]}


def only(data: Any) -> tuple[str, str]:
    errs = problems(data)
    assert len(errs) == 1, errs
    return errs[0]["path"], errs[0]["message"]


def test_error_is_invalid_input_naming_file_and_path() -> None:
    with pytest.raises(ProgramInvalid) as info:
        program_from_dict(
            with_rule(id="t", effect={"fixed": 1}, when={"amount": {"gte": "x"}}), "cafe.yaml"
        )
    err = info.value
    assert isinstance(err, InvalidInput)
    assert err.field == "rules[2].when.amount.gte"
    assert err.detail.startswith("cafe.yaml is not a valid program: rules[2].when.amount.gte: ")
    assert "'x' is not a number" in err.detail
    assert err.to_problem()["errors"] == err.errors
    assert err.status_code == 422


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ({"effect": {"fixed": 1}}, "rules[2].id", "required"),
        ({"id": "Bad Id", "effect": {"fixed": 1}}, "rules[2].id", "lower-case"),
        ({"id": "t"}, "rules[2].effect", "required"),
        ({"id": "t", "effect": {}}, "rules[2].effect", "exactly one of"),
        (
            {"id": "t", "effect": {"fixed": 1, "multiplier": "2"}},
            "rules[2].effect",
            "got fixed, multiplier",
        ),
        ({"id": "t", "effect": {"fixed": 0}}, "rules[2].effect.fixed", "greater than or equal"),
        ({"id": "t", "effect": {"multiplier": "1"}}, "rules[2].effect.multiplier", "greater than"),
        (
            {"id": "t", "effect": {"multiplier": "abc"}},
            "rules[2].effect.multiplier",
            "not a number",
        ),
        (
            {"id": "t", "effect": {"points_per": {"points": 1, "per": "0"}}},
            "rules[2].effect.points_per.per",
            "greater than",
        ),
        (
            {"id": "t", "effect": {"points_per": {"points": 1, "per": "1", "rounding": "up"}}},
            "rules[2].effect.points_per.rounding",
            "'floor', 'round_half_up' or 'ceil'",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "stacking": "alone"},
            "rules[2].stacking",
            "'stack' or 'exclusive'",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "cap": {"points": 5, "per": "hour"}},
            "rules[2].cap.per",
            "'day', 'week', 'month' or 'year'",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "budget": -5},
            "rules[2].budget",
            "greater than or equal",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "valid_from": "next week"},
            "rules[2].valid_from",
            "is not a date",
        ),
        ({"id": "t", "effect": {"fixed": 1}, "lines": {}}, "rules[2].lines", "sku and/or category"),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"amount": {"gtee": "1"}}},
            "rules[2].when.amount.gtee",
            "did you mean 'gte'",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"amount": {"eq": None}}},
            "rules[2].when.amount",
            "cannot be null",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"amount": {}}},
            "rules[2].when.amount",
            "at least one of eq, ne",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"evnt": "purchase"}},
            "rules[2].when.evnt",
            "did you mean 'event'",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"event": "refund"}},
            "rules[2].when.event",
            "refunds are never scored",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"event": "birthday"}},
            "rules[2].when.event[0]",
            "'purchase', 'signup' or 'custom'",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"day_of_week": ["sat", "sunday"]}},
            "rules[2].when.day_of_week[1]",
            "'sunday' is not allowed",
        ),
        (
            {
                "id": "t",
                "effect": {"fixed": 1},
                "when": {"time_of_day": {"from": "7am", "to": "09:00"}},
            },
            "rules[2].when.time_of_day[0].from",
            "is not a time",
        ),
        (
            {
                "id": "t",
                "effect": {"fixed": 1},
                "when": {"time_of_day": {"from": "09:00", "to": "09:00"}},
            },
            "rules[2].when.time_of_day[0]",
            "window is empty",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"any": []}},
            "rules[2].when.any",
            "at least 1 item",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"not": {"store": []}}},
            "rules[2].when.not.store",
            "at least 1 item",
        ),
        (
            {
                "id": "t",
                "effect": {"fixed": 1},
                "when": {"all": [{"channel": "app"}, {"lines": {"sku": "A", "min_quantity": 0}}]},
            },
            "rules[2].when.all[1].lines.min_quantity",
            "greater than or equal",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"member.attributes.city": {"inn": ["x"]}}},
            "rules[2].when.member.attributes.city.inn",
            "did you mean 'in'",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"event.attributes.tags": {"in": "x"}}},
            "rules[2].when.event.attributes.tags.in",
            "valid list",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "when": {"first_purchase": "maybe"}},
            "rules[2].when.first_purchase",
            "boolean",
        ),
        (
            {"id": "t", "effect": {"fixed": 1}, "colour": "red"},
            "rules[2].colour",
            "unknown key 'colour'",
        ),
    ],
)
def test_rule_errors_name_the_path(rule: dict[str, Any], path: str, message: str) -> None:
    got_path, got_message = only(with_rule(**rule))
    assert got_path == path
    assert message in got_message


@pytest.mark.parametrize(
    ("top", "path", "message"),
    [
        ({"currency": "USD"}, "name", "required"),
        ({"name": "C"}, "currency", "required"),
        ({"name": "C", "currency": "dollars"}, "currency", "ISO 4217"),
        ({"name": "C", "currency": "USD", "timezone": "Mars/Olympus"}, "timezone", "IANA"),
        (
            {"name": "C", "currency": "USD", "unknown_members": "ignore"},
            "unknown_members",
            "'enrol' or 'reject'",
        ),
        (
            {"name": "C", "currency": "USD", "points": {"pending_days": -1}},
            "points.pending_days",
            "greater than or equal",
        ),
        (
            {"name": "C", "currency": "USD", "points": {"expiry": {"policy": "rolling"}}},
            "points.expiry",
            "needs days",
        ),
        (
            {"name": "C", "currency": "USD", "points": {"expiry": {"policy": "never", "days": 3}}},
            "points.expiry",
            "does not go with",
        ),
        (
            {
                "name": "C",
                "currency": "USD",
                "points": {"expiry": {"policy": "rolling", "days": 3, "years": 1}},
            },
            "points.expiry",
            "years only goes with",
        ),
        ({"name": "C", "currency": "USD", "tires": {}}, "tires", "did you mean 'tiers'"),
        ({"name": "C", "currency": "USD", "rules": {"id": "x"}}, "rules", "valid list"),
    ],
)
def test_top_level_errors(top: dict[str, Any], path: str, message: str) -> None:
    got_path, got_message = only(top)
    assert got_path == path
    assert message in got_message


def test_whole_program_checks_name_each_path() -> None:
    data = {
        "name": "C",
        "currency": "USD",
        "rules": [
            {"id": "a", "effect": {"fixed": 1}},
            {"id": "a", "effect": {"points_per": {"points": 1, "per": "0.001"}}},
            {
                "id": "b",
                "effect": {"fixed": 1},
                "when": {"any": [{"amount": {"in": ["1", "2.555"]}}]},
            },
            {
                "id": "c",
                "effect": {"fixed": 1},
                "when": {"lines": {"sku": "A", "min_amount": "1.234"}},
            },
            {
                "id": "d",
                "effect": {"fixed": 1},
                "valid_from": "2026-05-01",
                "valid_until": "2026-04-30",
            },
        ],
    }
    errs = problems(data)
    assert [e["path"] for e in errs] == [
        "rules[1].id",
        "rules[1].effect.points_per.per",
        "rules[2].when.any[0].amount.in[1]",
        "rules[3].when.lines.min_amount",
        "rules[4].valid_until",
    ]
    assert errs[0]["message"] == "duplicate rule id 'a' (also rules[0])"
    assert "more than 2 decimal places for USD" in errs[1]["message"]
    assert errs[4]["message"] == "must be after valid_from"


def test_a_single_day_validity_is_fine() -> None:
    data = with_rule(id="t", effect={"fixed": 1}, valid_from="2026-05-01", valid_until="2026-05-01")
    assert program_from_dict(data).rules[2].valid_until is not None


def test_all_errors_are_listed_and_the_message_is_bounded() -> None:
    rules = [{"id": f"r{i}", "effect": {"fixed": 0}} for i in range(8)]
    with pytest.raises(ProgramInvalid) as info:
        program_from_dict({"name": "C", "currency": "USD", "rules": rules}, "x.yaml")
    assert len(info.value.errors) == 8
    assert info.value.detail.endswith("(and 3 more)")


def test_not_a_mapping() -> None:
    assert only(["a"]) == ("", "the program must be a mapping with name, currency, rules, ...")
    with pytest.raises(ProgramInvalid) as info:
        parse_program("", "empty.yaml")
    assert info.value.field is None
    assert "empty.yaml is not a valid program: top level:" in info.value.detail


def test_yaml_syntax_error_gives_line_and_column() -> None:
    with pytest.raises(ProgramInvalid) as info:
        parse_program("name: [unclosed\ncurrency: USD\n", "bad.yaml")
    err = info.value.errors[0]
    assert err["path"].startswith("line ")
    assert err["message"].startswith("not valid YAML")
    assert info.value.field == err["path"]


def test_repeated_keys_are_an_error() -> None:
    text = (
        "name: A\ncurrency: USD\nrules:\n"
        "  - id: r\n    effect: {fixed: 1}\n    effect: {fixed: 2}\n"
    )
    with pytest.raises(ProgramInvalid) as info:
        parse_program(text, "dup.yaml")
    assert info.value.errors[0] == {
        "path": "line 6, column 5",
        "message": "not valid YAML: key 'effect' appears twice in the same mapping",
    }


def _nested_aliases(levels: int) -> str:
    """A list of nine lists of nine ... of "x": 9 ** levels values from a few lines."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines)


def test_an_alias_bomb_is_refused_before_it_is_built() -> None:
    """Six levels stand for 531,441 values, nine for 387 million: validation walked
    them all (nine levels took minutes and gigabytes)."""
    rules = (
        "rules:\n  - id: r\n    effect: {fixed: 1}\n    when: {event.attributes.tier: {in: *a5}}"
    )
    bomb = "\n".join(["name: A", "currency: USD", _nested_aliases(6), rules])
    with pytest.raises(ProgramInvalid) as info:
        parse_program(bomb, "bomb.yaml")
    assert info.value.errors[0]["message"] == (
        "not valid YAML: the file stands for more than 100,000 values once its aliases "
        "(*name) are expanded"
    )


def test_aliases_within_reason_still_work() -> None:
    text = """
name: A
currency: USD
rules:
  - id: coffee
    when: {lines: {sku: &coffees [LATTE, FLAT-WHITE]}}
    effect: {fixed: 5}
  - id: more-coffee
    when: {lines: {sku: *coffees}}
    effect: {fixed: 1}
"""
    program = parse_program(text, "ok.yaml")
    assert [r.id for r in program.rules] == ["coffee", "more-coffee"]


def test_yaml_nested_past_the_interpreters_depth_is_refused() -> None:
    deep = "name: A\ncurrency: USD\nrules: " + "[" * 20_000 + "]" * 20_000
    with pytest.raises(ProgramInvalid) as info:
        parse_program(deep, "deep.yaml")
    assert info.value.errors[0]["message"] == "not valid YAML: nested too deeply"


def test_a_currency_code_iso_4217_does_not_have_is_refused() -> None:
    """Three letters were all it took: "GPB" was saved, then every event's GBP refused."""
    with pytest.raises(ProgramInvalid) as info:
        parse_program("name: A\ncurrency: GPB\n", "typo.yaml")
    assert info.value.errors == [
        {"path": "currency", "message": "'GPB' is not an ISO 4217 currency code"}
    ]
    assert info.value.field == "currency"
    for code in ("GBP", "usd", "JPY", "KWD", "CHF"):
        assert parse_program(f"name: A\ncurrency: {code}\n", "ok.yaml").currency == code.upper()


def test_unquoted_times_are_strings_not_sexagesimal() -> None:
    text = """
name: A
currency: USD
rules:
  - id: lunch
    when: {time_of_day: {from: 12:30, to: 14:00}}
    effect: {fixed: 1}
"""
    window = parse_program(text).rules[0].when.time_of_day[0]  # type: ignore[union-attr,index]
    assert (window.start, window.end) == (12 * 60 + 30, 14 * 60)


def test_yaml_dates_and_numbers_still_parse() -> None:
    text = """
name: A
currency: USD
points: {value_per_point: 0.02, pending_days: 7}
rules:
  - id: promo
    valid_from: 2026-05-01
    effect: {points_per: {points: 2, per: 1.50}}
"""
    p = parse_program(text)
    assert str(p.points.value_per_point) == "0.02"
    assert p.rules[0].valid_from is not None and p.rules[0].valid_from.isoformat() == "2026-05-01"


def test_load_program_file(tmp_path: Path) -> None:
    good = tmp_path / "p.yaml"
    good.write_text("name: A\ncurrency: gbp\n", encoding="utf-8")
    assert load_program_file(good).currency == "GBP"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: A\ncurrency: gbp\ntimezone: Nowhere\n", encoding="utf-8")
    with pytest.raises(ProgramInvalid, match=f"{bad}: timezone|{bad} is not a valid program"):
        load_program_file(bad)
    with pytest.raises(InvalidInput, match="cannot read program file"):
        load_program_file(tmp_path / "missing.yaml")


def test_format_path() -> None:
    assert format_path(("rules", 2, "when", "amount")) == "rules[2].when.amount"
    assert format_path(("rules", 0, "when", "not_", "event_attributes", "a.b", "gt")) == (
        "rules[0].when.not.event.attributes.a.b.gt"
    )
    assert format_path(()) == ""
