"""Checks that need the whole program: unique rule ids, money precision for the
program currency, validity windows that make sense.

``program_problems`` returns ``(path, message)`` pairs; ``Program`` raises them
as one validation error and the loader splits them back out, one per path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING

from patron.core.errors import InvalidInput
from patron.core.money import to_minor

if TYPE_CHECKING:
    from patron.program.schema import Condition, MoneyComparison, Program

Problems = list[tuple[str, str]]


def money_minor(value: Decimal, currency: str) -> int:
    """Minor units of a program money value (raises InvalidInput on sub-minor precision)."""
    return to_minor(value, currency)


def moment_utc(value: date, zone: tzinfo, *, end: bool) -> datetime:
    """A validity bound as a UTC instant.

    A date starts at local midnight; as an end (``valid_until``) it includes the
    whole day. A naive date-time is local time in ``zone``.
    """
    if isinstance(value, datetime):
        local = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return local.astimezone(UTC)
    day = value + timedelta(days=1) if end else value
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def program_problems(program: Program) -> Problems:
    problems: Problems = []
    seen: dict[str, int] = {}
    zone = program.zone
    for i, rule in enumerate(program.rules):
        at = f"rules[{i}]"
        if rule.id in seen:
            problems.append(
                (f"{at}.id", f"duplicate rule id '{rule.id}' (also rules[{seen[rule.id]}])")
            )
        seen.setdefault(rule.id, i)
        if rule.effect.points_per is not None:
            _money(
                rule.effect.points_per.per,
                program.currency,
                f"{at}.effect.points_per.per",
                problems,
            )
        if rule.when is not None:
            _condition(rule.when, program.currency, f"{at}.when", problems)
        if rule.valid_from is not None and rule.valid_until is not None:
            start = moment_utc(rule.valid_from, zone, end=False)
            if moment_utc(rule.valid_until, zone, end=True) <= start:
                problems.append((f"{at}.valid_until", "must be after valid_from"))
    return problems


def _money(value: Decimal | None, currency: str, path: str, problems: Problems) -> None:
    if value is None:
        return
    try:
        money_minor(value, currency)
    except InvalidInput as exc:
        problems.append((path, exc.detail))


def _comparison(cmp: MoneyComparison, currency: str, path: str, problems: Problems) -> None:
    for op, operand in cmp.operators():
        if isinstance(operand, list):
            for j, item in enumerate(operand):
                _money(item, currency, f"{path}.{op}[{j}]", problems)
        else:
            _money(operand, currency, f"{path}.{op}", problems)


def _condition(cond: Condition, currency: str, path: str, problems: Problems) -> None:
    if cond.amount is not None:
        _comparison(cond.amount, currency, f"{path}.amount", problems)
    if cond.lines is not None:
        _money(cond.lines.min_amount, currency, f"{path}.lines.min_amount", problems)
    for key in ("all", "any"):
        for j, child in enumerate(getattr(cond, key) or ()):
            _condition(child, currency, f"{path}.{key}[{j}]", problems)
    if cond.not_ is not None:
        _condition(cond.not_, currency, f"{path}.not", problems)
