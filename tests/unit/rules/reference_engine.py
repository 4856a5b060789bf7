"""The rule engine as it was before the fast paths (commit 638c9bf), kept as an oracle.

``evaluate`` here is the straightforward engine (closures per condition, Decimal
for ratios, period keys per award); tests/unit/rules/test_fast_paths.py checks the
production engine gives exactly the same Evaluation (awards, explanations, bases,
period keys, skipped reasons) on generated programs, events and members.
Not imported by production code.
"""

# mypy: ignore-errors

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from patron.core.money import exponent
from patron.program.derived import per_program
from patron.program.schema import Program, Rule
from patron.rules.checks import moment_utc, money_minor
from patron.rules.syntax import Comparison, Condition, LineFilter, MoneyComparison
from patron.rules.types import AwardPoints, Effect, Evaluation, EventFacts, LineItem, MemberFacts

# ---- from patron/rules/compare.py ----------------------------------------
_ORDER = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def compare(ops: list[tuple[str, Any]], *, loose: bool = True) -> Callable[[Any], bool]:
    """A test for a value against every operator given (a missing value is None).

    ``loose``: numbers compare as numbers even when one side is a numeric string
    (``"4.5"`` in YAML vs ``4.5`` sent by the shop); two strings compare as strings.
    """
    tests = [(_loose_op if loose else _plain_op)(op, operand) for op, operand in ops]
    if len(tests) == 1:
        return tests[0]
    return lambda v: all(t(v) for t in tests)


def _plain_op(op: str, x: Any) -> Callable[[Any], bool]:
    if op in ("in", "not_in"):
        pool = frozenset(x)
        return (lambda v: v in pool) if op == "in" else (lambda v: v not in pool)
    return _PLAIN[op](x)


_PLAIN: dict[str, Callable[[Any], Callable[[Any], bool]]] = {
    "eq": lambda x: lambda v: v == x,
    "ne": lambda x: lambda v: v != x,
    "gt": lambda x: lambda v: v > x,
    "gte": lambda x: lambda v: v >= x,
    "lt": lambda x: lambda v: v < x,
    "lte": lambda x: lambda v: v <= x,
}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | Decimal) and not isinstance(v, bool)


def _as_number(v: Any) -> Decimal | int | None:
    if _is_number(v):
        return None if isinstance(v, Decimal) and not v.is_finite() else v
    if isinstance(v, str):
        try:
            parsed = Decimal(v.strip())
        except ArithmeticError:
            return None
        return parsed if parsed.is_finite() else None
    return None


def _same(v: Any, x: Any) -> bool:
    if v == x:
        return True
    if _is_number(v) and isinstance(x, str) or _is_number(x) and isinstance(v, str):
        a, b = _as_number(v), _as_number(x)
        return a is not None and a == b
    return False


def _loose_op(op: str, x: Any) -> Callable[[Any], bool]:
    if op in ("eq", "ne"):
        return (lambda v: _same(v, x)) if op == "eq" else (lambda v: not _same(v, x))
    if op in ("in", "not_in"):
        pool = tuple(x)
        if op == "in":
            return lambda v: any(_same(v, p) for p in pool)
        return lambda v: not any(_same(v, p) for p in pool)
    compare = _ORDER[op]
    x_number = _as_number(x)

    def ordered(v: Any) -> bool:
        if x_number is not None and (_is_number(v) or _is_number(x)):
            v_number = _as_number(v)
            return v_number is not None and bool(compare(v_number, x_number))
        try:
            return bool(compare(v, x))
        except (TypeError, ArithmeticError):  # None, a list against a string, NaN
            return False

    return ordered


# ---- from patron/rules/explain.py ----------------------------------------
def pts(points: int) -> str:
    """``1 pt``, ``12 pts``."""
    return f"{points} pt" if points == 1 else f"{points} pts"


def pts_ratio(num: int, den: int) -> str:
    """Points as an exact ratio: ``10 pts``, or two decimals (``3.33 pts``)."""
    if num % den == 0:
        return pts(num // den)
    shown = (Decimal(num) / Decimal(den)).quantize(Decimal("0.01"))
    return f"{shown} pts"


def number(value: Decimal) -> str:
    """``Decimal("1.50")`` -> ``1.5``; ``Decimal("10")`` -> ``10`` (never ``1E+1``)."""
    text = format(value.normalize(), "f")
    return text


def money(minor: int, currency: str) -> str:
    """``1050`` -> ``10.50 USD`` (same text as ``core.money.format_money``, faster)."""
    return money_formatter(currency)(minor)


@cache
def money_formatter(currency: str) -> Callable[[int], str]:
    """A fast ``minor units -> "10.50 USD"`` function for one currency."""
    e = exponent(currency)
    if e == 0:
        return lambda minor: f"{minor} {currency}"
    scale, pattern = 10**e, f"%s%d.%0{e}d {currency}"

    def show(minor: int) -> str:
        whole, part = divmod(abs(minor), scale)
        return pattern % ("-" if minor < 0 else "", whole, part)

    return show


def either(values: Iterable[object], word: str = "or") -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    items = [str(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def lines_text(skus: Iterable[str] | None, categories: Iterable[str] | None) -> str:
    """``sku ESP-01, LAT-01``, ``category coffee``, ``sku X or category Y, Z``."""
    parts = []
    if skus:
        parts.append(f"sku {', '.join(skus)}")
    if categories:
        parts.append(f"category {', '.join(categories)}")
    return " or ".join(parts)


# ---- from patron/rules/periods.py ----------------------------------------
PERIODS = ("day", "week", "month", "year")


def period_key(per: str, at: datetime, tz: tzinfo | str) -> str:
    """``2026-11-22`` (day), ``2026-W47`` (ISO week), ``2026-11`` (month), ``2026`` (year).

    ``at`` is read in the program time zone ``tz``; a naive ``at`` is taken as UTC.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return local_period_key(
        per, (at.replace(tzinfo=UTC) if at.tzinfo is None else at).astimezone(zone)
    )


def local_period_key(per: str, local: datetime) -> str:
    """``period_key`` for a time already in the program zone."""
    if per == "day":
        return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    if per == "week":
        year, week, _ = local.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if per == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if per == "year":
        return f"{local.year:04d}"
    raise ValueError(f"unknown cap period {per!r}: use one of {', '.join(PERIODS)}")


# ---- from patron/rules/conditions.py ----------------------------------------
class Context:
    """One evaluation: the facts plus the local time, worked out only if asked."""

    __slots__ = ("event", "member", "at", "zone", "_local")

    def __init__(self, event: EventFacts, member: MemberFacts, at: datetime, zone: tzinfo):
        self.event, self.member, self.at, self.zone = event, member, at, zone
        self._local: datetime | None = None

    def local(self) -> datetime:
        if self._local is None:
            self._local = self.at.astimezone(self.zone)
        return self._local


Check = Callable[[Context], str | None]
LineMatch = Callable[[LineItem], bool]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OP_WORDS = {
    "eq": "equal to",
    "ne": "other than",
    "gt": "above",
    "gte": "at least",
    "lt": "below",
    "lte": "at most",
    "in": "one of",
    "not_in": "none of",
}


def line_matcher(f: LineFilter) -> LineMatch:
    skus, cats = frozenset(f.sku or ()), frozenset(f.category or ())
    return lambda line: line.sku in skus or line.category in cats


def compile_condition(cond: Condition, currency: str, zone_name: str) -> tuple[Check, str]:
    """(check, description) for a condition mapping: every key must hold."""
    parts = []
    for key in type(cond).model_fields:
        value = getattr(cond, key)
        if value is not None:
            parts.append(_COMPILERS[key](value, currency, zone_name))
    return _all(parts) if parts else ((lambda ctx: None), "always")


def _all(parts: list[tuple[Check, str]]) -> tuple[Check, str]:
    if len(parts) == 1:
        return parts[0]
    checks = tuple(c for c, _ in parts)

    def all_of(ctx: Context) -> str | None:
        for check in checks:
            why = check(ctx)
            if why is not None:
                return why
        return None

    return all_of, "; ".join(d for _, d in parts)


def _leaf(test: Callable[[Context], bool], describe: str) -> tuple[Check, str]:
    reason = "needs " + describe

    def check(ctx: Context) -> str | None:
        return None if test(ctx) else reason

    return check, describe


def _all_of(children: list[Condition], currency: str, zone: str) -> tuple[Check, str]:
    parts = [compile_condition(c, currency, zone) for c in children]
    if not parts:
        return (lambda ctx: None), "always"
    check, _ = _all(parts)
    return check, "all of: " + "; ".join(d for _, d in parts)


def _any_of(children: list[Condition], currency: str, zone: str) -> tuple[Check, str]:
    parts = [compile_condition(c, currency, zone) for c in children]
    checks = tuple(c for c, _ in parts)
    text = "any of: " + "; ".join(d for _, d in parts)
    reason = "needs " + text

    def any_of(ctx: Context) -> str | None:
        for check in checks:
            if check(ctx) is None:
                return None
        return reason

    return any_of, text


def _not(child: Condition, currency: str, zone: str) -> tuple[Check, str]:
    inner, text = compile_condition(child, currency, zone)
    reason = f"excluded: {text}"
    return (lambda ctx: reason if inner(ctx) is None else None), f"not ({text})"


def _event(types: list[str], *_: str) -> tuple[Check, str]:
    allowed, text = frozenset(types), f"a {either(types)} event"
    reason = "needs " + text
    return (lambda ctx: None if ctx.event.type in allowed else reason), text


def _name(names: list[str], *_: str) -> tuple[Check, str]:
    allowed, text = frozenset(names), f"custom event {either(names)}"
    reason = "needs " + text
    return (lambda ctx: None if ctx.event.name in allowed else reason), text


def _amount(cmp: MoneyComparison, currency: str, _zone: str) -> tuple[Check, str]:
    test = compare([(op, _minor(v, currency)) for op, v in cmp.operators()], loose=False)
    return _leaf(lambda ctx: test(ctx.event.amount), "amount " + _money_words(cmp, currency))


def _purchase_count(cmp: Comparison, *_: str) -> tuple[Check, str]:
    test = compare(cmp.operators())
    text = "purchase count " + _words(cmp.operators())
    return _leaf(lambda ctx: test(ctx.member.purchase_count), text)


def _first_purchase(want: bool, *_: str) -> tuple[Check, str]:
    def first(ctx: Context) -> bool:
        is_first = ctx.event.type == "purchase" and ctx.member.purchase_count == 0
        return is_first is want

    return _leaf(first, "the member's first purchase" if want else "a repeat purchase")


def _channel(values: list[str], *_: str) -> tuple[Check, str]:
    allowed, text = frozenset(values), f"channel {either(values)}"
    reason = "needs " + text
    return (lambda ctx: None if ctx.event.channel in allowed else reason), text


def _store(values: list[str], *_: str) -> tuple[Check, str]:
    allowed, text = frozenset(values), f"store {either(values)}"
    reason = "needs " + text
    return (lambda ctx: None if ctx.event.store in allowed else reason), text


def _tier(values: list[str], *_: str) -> tuple[Check, str]:
    allowed, text = frozenset(values), f"tier {either(values)}"
    reason = "needs " + text
    return (lambda ctx: None if ctx.member.tier in allowed else reason), text


def _day_of_week(values: list[str], _currency: str, zone_name: str) -> tuple[Check, str]:
    days = frozenset(DAYS.index(d) for d in values)
    names = either(d.capitalize() for d in sorted(values, key=DAYS.index))
    text = f"{names} ({zone_name})"
    reason = "needs " + text
    return (lambda ctx: None if ctx.local().weekday() in days else reason), text


def _time_of_day(windows: list[Any], _currency: str, zone_name: str) -> tuple[Check, str]:
    spans = tuple((w.start, w.end) for w in windows)

    def inside(ctx: Context) -> bool:
        local = ctx.local()
        minute = local.hour * 60 + local.minute
        for start, end in spans:
            if (start <= minute < end) if start < end else (minute >= start or minute < end):
                return True
        return False

    text = either(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in spans)
    return _leaf(inside, f"time {text} ({zone_name})")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _lines(cond: Any, currency: str, _zone: str) -> tuple[Check, str]:
    match = line_matcher(cond)
    need_qty = cond.min_quantity
    need_amount = _minor(cond.min_amount, currency) if cond.min_amount is not None else 0

    def enough(ctx: Context) -> bool:
        qty = amount = 0
        for line in ctx.event.lines:
            if match(line):
                qty += line.quantity
                amount += line.quantity * line.unit_price
        return qty >= need_qty and qty > 0 and amount >= need_amount

    what = lines_text(cond.sku, cond.category)
    text = f"{need_qty}+ items with {what}" if need_qty > 1 else f"an item with {what}"
    if cond.min_amount is not None:
        text += f" worth at least {money(need_amount, currency)}"
    return _leaf(enough, text)


def _attributes(owner: str) -> Callable[..., tuple[Check, str]]:
    def compile_(comparisons: dict[str, Comparison], *_: str) -> tuple[Check, str]:
        parts = []
        for name, cmp in comparisons.items():
            path = tuple(name.split("."))
            test = compare(cmp.operators())
            describe = f"{owner} attribute {name} {_words(cmp.operators())}"
            parts.append(_leaf(_attribute_test(owner, path, test), describe))
        return _all(parts)

    return compile_


def _attribute_test(
    owner: str, path: tuple[str, ...], test: Callable[[Any], bool]
) -> Callable[[Context], bool]:
    if owner == "event":
        return lambda ctx: test(_dig(ctx.event.attributes, path))
    return lambda ctx: test(_dig(ctx.member.attributes, path))


def _dig(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return Decimal(repr(value)) if isinstance(value, float) else value


def _minor(value: Any, currency: str) -> Any:
    if isinstance(value, list):
        return [money_minor(v, currency) for v in value]
    return money_minor(value, currency)


def _words(ops: list[tuple[str, Any]]) -> str:
    def show(v: Any) -> str:
        return either(v) if isinstance(v, list) else str(v)

    return " and ".join(f"{_OP_WORDS[op]} {show(v)}" for op, v in ops)


def _money_words(cmp: MoneyComparison, currency: str) -> str:
    def show(v: Any) -> str:
        if isinstance(v, list):
            return either(money(money_minor(x, currency), currency) for x in v)
        return money(money_minor(v, currency), currency)

    return " and ".join(f"{_OP_WORDS[op]} {show(v)}" for op, v in cmp.operators())


_COMPILERS: dict[str, Callable[..., tuple[Check, str]]] = {
    "all": _all_of,
    "any": _any_of,
    "not_": _not,
    "event": _event,
    "name": _name,
    "amount": _amount,
    "purchase_count": _purchase_count,
    "first_purchase": _first_purchase,
    "channel": _channel,
    "store": _store,
    "tier": _tier,
    "day_of_week": _day_of_week,
    "time_of_day": _time_of_day,
    "lines": _lines,
    "event_attributes": _attributes("event"),
    "member_attributes": _attributes("member"),
}


# ---- from patron/rules/compiled.py ----------------------------------------
PER_UNIT, FIXED, MULTIPLIER = "points_per", "fixed", "multiplier"
Rounding = Callable[[int, int], int]


def floor_div(n: int, d: int) -> int:
    return n // d


def ceil_div(n: int, d: int) -> int:
    return -(-n // d)


def round_half_up(n: int, d: int) -> int:
    return (2 * n + d) // (2 * d)


ROUNDING: dict[str, Rounding] = {
    "floor": floor_div,
    "ceil": ceil_div,
    "round_half_up": round_half_up,
}


@dataclass(slots=True, eq=False)
class CompiledRule:
    id: str
    kind: str
    priority: int
    exclusive: bool
    name: str = ""  # "rule <id>"
    tag: str = ""  # "rule <id>: ", prefix of skipped reasons
    start: datetime | None = None
    end: datetime | None = None
    not_yet: str = ""
    ended: str = ""
    check: Check | None = None
    gate: Check | None = None  # validity + check; returns the full skipped reason
    match: LineMatch | None = None
    lines_text: str = ""
    no_lines: str = ""
    points: int = 0  # per-unit: points per `per_minor`; fixed: the points
    per_minor: int = 1
    rounding: Rounding = floor_div
    rate_text: str = ""
    mult_p: int = 0  # (multiplier - 1) == mult_p / mult_q
    mult_q: int = 1
    mult_text: str = ""
    cap_points: int = 0
    cap_per: str = ""
    cap_text: str = ""
    budget: int = 0


@dataclass(slots=True, eq=False)
class CompiledProgram:
    rules: tuple[CompiledRule, ...]
    zone: ZoneInfo
    zone_name: str
    currency: str


@per_program
def compiled_program(program: Program) -> CompiledProgram:
    """The compiled form of ``program``, built on first use."""
    return compile_program(program)


def compile_program(program: Program) -> CompiledProgram:
    zone = ZoneInfo(program.timezone)
    order = sorted(enumerate(program.rules), key=lambda ir: (-ir[1].priority, ir[0]))
    rules = tuple(_compile_rule(r, program.currency, zone) for _, r in order)
    return CompiledProgram(rules, zone, program.timezone, program.currency)


def _compile_rule(rule: Rule, currency: str, zone: ZoneInfo) -> CompiledRule:
    effect = rule.effect
    c = CompiledRule(rule.id, effect.kind, rule.priority, rule.stacking == "exclusive")
    tag = f"rule {rule.id}"
    c.name, c.tag = tag, f"{tag}: "
    if rule.valid_from is not None:
        c.start = moment_utc(rule.valid_from, zone, end=False)
        c.not_yet = f"{tag}: starts {rule.valid_from}"
    if rule.valid_until is not None:
        c.end = moment_utc(rule.valid_until, zone, end=True)
        c.ended = f"{tag}: ended {rule.valid_until}"
    if rule.when is not None:
        c.check = compile_condition(rule.when, currency, str(zone))[0]
    if rule.lines is not None:
        c.match = line_matcher(rule.lines)
        c.lines_text = "lines with " + lines_text(rule.lines.sku, rule.lines.category)
        c.no_lines = f"{tag}: no {c.lines_text}"
    if effect.points_per is not None:
        per = effect.points_per
        c.points, c.per_minor = per.points, money_minor(per.per, currency)
        c.rounding = ROUNDING[per.rounding]
        c.rate_text = f"{pts(per.points)} per {money(c.per_minor, currency)}"
    elif effect.fixed is not None:
        c.points = effect.fixed
    else:
        assert effect.multiplier is not None
        c.mult_p, c.mult_q = (effect.multiplier - Decimal(1)).as_integer_ratio()
        c.mult_text = f"x{number(effect.multiplier)}"
    if rule.cap is not None:
        c.cap_points, c.cap_per = rule.cap.points, rule.cap.per
        c.cap_text = f"{pts(rule.cap.points)} per {rule.cap.per}"
    c.budget = rule.budget or 0
    c.gate = _gate(c)
    return c


def _gate(c: CompiledRule) -> Check | None:
    """One closure for "does this rule apply now": validity window, then ``when``."""
    start, end, check, tag, not_yet, ended = c.start, c.end, c.check, c.tag, c.not_yet, c.ended
    if start is None and end is None:
        if check is None:
            return None
        cond = check

        def when_only(ctx: Context) -> str | None:
            why = cond(ctx)
            return None if why is None else tag + why

        return when_only

    def gate(ctx: Context) -> str | None:
        at = ctx.at
        if start is not None and at < start:
            return not_yet
        if end is not None and at >= end:
            return ended
        if check is not None:
            why = check(ctx)
            if why is not None:
                return tag + why
        return None

    return gate


# ---- from patron/rules/effects.py ----------------------------------------
WHOLE_EVENT = -1  # basis key: the event amount, for awards not tied to lines


def _limit(
    rule: CompiledRule, points: int, ctx: Context, budgets_used: Mapping[str, int]
) -> tuple[int, str | None, str]:
    """(points granted, cap period key, note or zero-reason) after cap and budget."""
    granted, key, note = points, None, ""
    if rule.cap_points:
        key = local_period_key(rule.cap_per, ctx.local())
        left = rule.cap_points - ctx.member.rule_usage.get((rule.id, key), 0)
        if left < granted:
            granted = max(left, 0)
            note = (
                f" (cut from {pts(points)} by the cap of {rule.cap_text})"
                if granted
                else f"rule {rule.id}: cap of {rule.cap_text} already reached"
            )
    if rule.budget:
        left = rule.budget - budgets_used.get(rule.id, 0)
        if granted > 0 and left < granted:
            granted = max(left, 0)
            note = (
                f" (cut from {pts(points)}: the rule budget of {pts(rule.budget)} ran out)"
                if granted
                else f"rule {rule.id}: budget of {pts(rule.budget)} used up"
            )
    return granted, key, note


def per_unit(
    rule: CompiledRule,
    ctx: Context,
    matched: Sequence[int] | None,
    budgets_used: Mapping[str, int],
    currency: str,
) -> AwardPoints | str:
    event = ctx.event
    if matched is None:
        total = event.amount
        basis: dict[int, int] = {WHOLE_EVENT: total}
        where = ""
    else:
        lines = event.lines
        basis = {i: lines[i].quantity * lines[i].unit_price for i in matched}
        total = sum(basis.values())
        where = f" of {rule.lines_text}"
    if total <= 0:
        return f"rule {rule.id}: nothing to earn on {money(total, currency)}{where}"
    raw = rule.rounding(total * rule.points, rule.per_minor)
    if raw <= 0:
        return f"rule {rule.id}: 0 pts on {money(total, currency)}{where} ({rule.rate_text})"
    granted, key, note = _limit(rule, raw, ctx, budgets_used)
    if granted <= 0:
        return note
    text = (
        f"{pts(granted)}: {rule.rate_text} on {money(total, currency)}{where}, rule {rule.id}{note}"
    )
    return AwardPoints(rule.id, granted, text, basis, key)


def fixed(rule: CompiledRule, ctx: Context, budgets_used: Mapping[str, int]) -> AwardPoints | str:
    if rule.cap_points or rule.budget:
        granted, key, note = _limit(rule, rule.points, ctx, budgets_used)
        if granted <= 0:
            return note
    else:
        granted, key, note = rule.points, None, ""
    return AwardPoints(rule.id, granted, f"{pts(granted)}: bonus, {rule.name}{note}", None, key)


def multiplier(
    rule: CompiledRule,
    ctx: Context,
    matched: Sequence[int] | None,
    earned: Sequence[AwardPoints],
    budgets_used: Mapping[str, int],
) -> AwardPoints | str:
    num, den, sources, basis = _base(earned, matched, ctx.event)
    if num <= 0:
        where = f" on {rule.lines_text}" if matched is not None else ""
        return f"rule {rule.id}: no per-unit points{where} to multiply"
    raw = (num * rule.mult_p) // (den * rule.mult_q)
    if raw <= 0:
        return f"rule {rule.id}: {rule.mult_text} on {pts_ratio(num, den)} rounds to 0 pts"
    granted, key, note = _limit(rule, raw, ctx, budgets_used)
    if granted <= 0:
        return note
    where = f" ({rule.lines_text})" if matched is not None else ""
    text = (
        f"{pts(granted)}: {rule.mult_text} on {pts_ratio(num, den)} from {' + '.join(sources)}"
        f"{where}, rule {rule.id}{note}"
    )
    return AwardPoints(rule.id, granted, text, basis, key)


def tier_bonus(ctx: Context, earned: Sequence[AwardPoints]) -> AwardPoints | None:
    """The member's tier multiplier on all per-unit points, like an unfiltered multiplier."""
    m = ctx.member.tier_multiplier
    if m is None or m <= 1 or not earned:
        return None
    num, den, sources, basis = _base(earned, None, ctx.event)
    p, q = (Decimal(m) - 1).as_integer_ratio()
    bonus = (num * p) // (den * q)
    if bonus <= 0:
        return None
    tier = ctx.member.tier
    name = f"{tier[:1].upper()}{tier[1:]} tier" if tier else "member tier"
    text = (
        f"{pts(bonus)}: x{number(Decimal(m))} {name} on {pts_ratio(num, den)} "
        f"from {' + '.join(sources)}"
    )
    return AwardPoints(f"tier:{tier or 'member'}", bonus, text, basis, None)


def _base(
    earned: Sequence[AwardPoints], matched: Sequence[int] | None, event: EventFacts
) -> tuple[int, int, list[str], dict[int, int]]:
    """Per-unit points earned on the matched lines (all if None) as the exact ratio
    num/den, the rules they came from, and the basis of a bonus on them.

    An award on the whole event counts in the share the matched lines have of
    the event amount; an award on lines counts in the share of its basis that
    falls on matched lines.
    """
    num, den = 0, 1
    sources: list[str] = []
    whole = False
    lines_used: dict[int, int] = {}
    wanted = None if matched is None else frozenset(matched)
    on_matched = -1  # amount of the matched lines, worked out when first needed
    for award in earned:
        basis = award.basis
        assert basis is not None
        if WHOLE_EVENT in basis:
            if wanted is None:
                n, d = award.points, 1
            else:
                if on_matched < 0:
                    lines = event.lines
                    on_matched = min(sum(lines[i].amount for i in wanted), event.amount)
                n, d = award.points * on_matched, event.amount or 1
            whole = whole or n > 0
        else:
            keys = basis.keys() if wanted is None else basis.keys() & wanted
            n, d = award.points * sum(basis[i] for i in keys), sum(basis.values()) or 1
            for i in keys:
                lines_used[i] = basis[i]
        if n > 0:
            num, den = (num + n, den) if d == den else (num * d + n * den, den * d)
            sources.append(award.rule_id)
    if wanted is None:
        out = {WHOLE_EVENT: event.amount} if whole else lines_used
    else:
        out = {i: event.lines[i].amount for i in sorted(wanted)} if whole else lines_used
    return num, den, sources, out


# ---- from patron/rules/engine.py ----------------------------------------
_NO_BUDGETS: Mapping[str, int] = MappingProxyType({})
_REFUND = Evaluation(
    (), ("refunds are not scored: the ledger takes back what the purchase earned",)
)
_BLOCKED = Evaluation((), ("member is blocked: blocked members earn nothing",))


def evaluate(
    program: Program,
    event: EventFacts,
    member: MemberFacts,
    *,
    budgets_used: Mapping[str, int] = _NO_BUDGETS,
) -> Evaluation:
    """The effects ``event`` earns ``member`` under ``program``, and why other rules did not apply.

    ``budgets_used`` maps rule id -> points that rule has already given in total.
    """
    compiled = compiled_program(program)
    if event.type == "refund":
        return _REFUND
    if member.status == "blocked":
        return _BLOCKED
    at = event.occurred_at
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    ctx = Context(event, member, at, compiled.zone)
    currency = compiled.currency
    effects: list[Effect] = []
    skipped: list[str] = []
    earned: list[AwardPoints] = []
    multipliers: list[tuple[CompiledRule, list[int] | None]] = []
    cutoff, cut_by = None, ""
    for rule in compiled.rules:
        if cutoff is not None and rule.priority < cutoff:
            skipped.append(f"rule {rule.id}: skipped, exclusive rule {cut_by} applied")
            continue
        gate = rule.gate
        if gate is not None:
            why = gate(ctx)
            if why is not None:
                skipped.append(why)
                continue
        matched = None
        if rule.match is not None:
            match = rule.match
            matched = [i for i, line in enumerate(event.lines) if match(line)]
            if not matched:
                skipped.append(rule.no_lines)
                continue
        if rule.kind == MULTIPLIER:
            multipliers.append((rule, matched))
            continue
        if rule.kind == FIXED:
            result = fixed(rule, ctx, budgets_used)
        else:
            result = per_unit(rule, ctx, matched, budgets_used, currency)
        if isinstance(result, str):
            skipped.append(result)
            continue
        effects.append(result)
        if rule.kind != FIXED:
            earned.append(result)
        if rule.exclusive:
            cutoff, cut_by = rule.priority, rule.id
    cutoff = None
    for rule, matched in multipliers:
        if cutoff is not None and rule.priority < cutoff:
            skipped.append(f"rule {rule.id}: skipped, exclusive multiplier {cut_by} applied")
            continue
        result = multiplier(rule, ctx, matched, earned, budgets_used)
        if isinstance(result, str):
            skipped.append(result)
            continue
        effects.append(result)
        if rule.exclusive:
            cutoff, cut_by = rule.priority, rule.id
    if member.tier_multiplier is not None and earned:
        bonus = tier_bonus(ctx, earned)
        if bonus is not None:
            effects.append(bonus)
    return Evaluation(tuple(effects), tuple(skipped))
