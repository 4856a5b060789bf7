"""Compile a rule's ``when`` into a flat list of leaves, once per program.

A condition mapping is a conjunction: every key must hold, and ``all`` only
adds its children's keys. So the compiler flattens it into :class:`Leaf`
objects in the order the keys are checked (``Condition``'s field order, ``all``
children in place); the first leaf that fails gives the reason, exactly as
checking the nested form would. ``any`` and ``not`` stay single leaves whose
test runs their children as plain predicates.

A leaf has a predicate ``test(ctx)`` (truthy when it holds) and a short
plain-language reason for when it does not ("needs Sat or Sun"), built at
compile time, so a failing check costs no more than a passing one. Leaves that
only look at the event type say so (``on_type``): the engine keeps one plan per
event type in which such leaves are already decided.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from patron.rules.attribute_tests import attribute_test, operand_class
from patron.rules.checks import money_minor
from patron.rules.compare import compare
from patron.rules.explain import either, lines_text, money
from patron.rules.types import EventFacts, LineItem, MemberFacts

if TYPE_CHECKING:
    from patron.rules.syntax import Comparison, Condition, LineFilter, MoneyComparison


class Context:
    """One evaluation: the facts plus the local time, worked out only if asked."""

    __slots__ = ("event", "member", "at", "zone", "_local")

    def __init__(self, event: EventFacts, member: MemberFacts, at: datetime, zone: tzinfo):
        self.event, self.member, self.at, self.zone = event, member, at, zone
        self._local: datetime | None = None

    def local(self) -> datetime:
        local = self._local
        if local is None:
            local = self._local = self.at.astimezone(self.zone)
        return local


Pred = Callable[[Context], Any]  # truthy when the condition holds
Check = Callable[[Context], str | None]  # None when it holds, else the reason
LineAmounts = Callable[[tuple[LineItem, ...]], dict[int, int]]
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


@dataclass(slots=True, eq=False)
class Leaf:
    """One conjunct of a condition.

    ``direct(reason)``, if given, is a check equivalent to ``test`` that returns
    ``reason`` itself (one call instead of two). ``on_type(event_type)`` is for
    leaves that depend on the event type: True or False when the type alone
    decides, else a simpler predicate valid for that type.
    """

    test: Pred
    text: str
    reason: str
    direct: Callable[[str], Check] | None = None
    on_type: Callable[[str], bool | Pred] | None = None

    def check(self, reason: str, test: Pred | None = None) -> Check:
        """A check returning ``reason`` when ``test`` (default: the leaf's own) fails."""
        if test is None:
            if self.direct is not None:
                return self.direct(reason)
            test = self.test
        t = test
        return lambda ctx: None if t(ctx) else reason


def line_amounts(f: LineFilter) -> LineAmounts:
    """Index -> amount of the lines a filter selects (sku listed or category listed)."""
    skus, cats = frozenset(f.sku or ()), frozenset(f.category or ())
    return lambda lines: {
        i: line.quantity * line.unit_price
        for i, line in enumerate(lines)
        if line.sku in skus or line.category in cats
    }


def compile_condition(cond: Condition, currency: str, zone_name: str) -> tuple[list[Leaf], str]:
    """(leaves, description) for a condition mapping: every leaf must hold, in order."""
    leaves: list[Leaf] = []
    texts: list[str] = []
    for key in type(cond).model_fields:
        value = getattr(cond, key)
        if value is not None:
            part, text = _COMPILERS[key](value, currency, zone_name)
            leaves += part
            texts.append(text)
    return leaves, "; ".join(texts) if texts else "always"


def predicate(leaves: list[Leaf]) -> Pred:
    """True when every leaf holds (checked in order, stopping at the first that fails)."""
    tests = tuple(leaf.test for leaf in leaves)
    if not tests:
        return lambda ctx: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda ctx: a(ctx) and b(ctx)

    def all_of(ctx: Context) -> bool:
        return all(test(ctx) for test in tests)

    return all_of


def _leaf(test: Pred, text: str) -> tuple[list[Leaf], str]:
    return [Leaf(test, text, "needs " + text)], text


def _all_of(children: list[Condition], currency: str, zone: str) -> tuple[list[Leaf], str]:
    parts = [compile_condition(c, currency, zone) for c in children]
    if not parts:
        return [], "always"
    leaves = [leaf for part, _ in parts for leaf in part]
    return leaves, "all of: " + "; ".join(d for _, d in parts)


def _any_of(children: list[Condition], currency: str, zone: str) -> tuple[list[Leaf], str]:
    parts = [compile_condition(c, currency, zone) for c in children]
    preds = tuple(predicate(part) for part, _ in parts)
    text = "any of: " + "; ".join(d for _, d in parts)
    if len(preds) == 1:
        return _leaf(preds[0], text)
    if len(preds) == 2:
        a, b = preds
        return _leaf(lambda ctx: a(ctx) or b(ctx), text)

    def any_of(ctx: Context) -> bool:
        return any(pred(ctx) for pred in preds)

    return _leaf(any_of, text)


def _not(child: Condition, currency: str, zone: str) -> tuple[list[Leaf], str]:
    inner, text = compile_condition(child, currency, zone)
    holds = predicate(inner)
    return [Leaf(lambda ctx: not holds(ctx), f"not ({text})", f"excluded: {text}")], f"not ({text})"


def _event(types: list[str], *_: str) -> tuple[list[Leaf], str]:
    allowed, text = frozenset(types), f"a {either(types)} event"

    def direct(reason: str) -> Check:
        return lambda ctx: None if ctx.event.type in allowed else reason

    leaf = Leaf(
        lambda ctx: ctx.event.type in allowed,
        text,
        "needs " + text,
        direct,
        lambda event_type: event_type in allowed,
    )
    return [leaf], text


def _name(names: list[str], *_: str) -> tuple[list[Leaf], str]:
    allowed, text = frozenset(names), f"custom event {either(names)}"

    def direct(reason: str) -> Check:
        return lambda ctx: None if ctx.event.name in allowed else reason

    return [Leaf(lambda ctx: ctx.event.name in allowed, text, "needs " + text, direct)], text


def _channel(values: list[str], *_: str) -> tuple[list[Leaf], str]:
    allowed, text = frozenset(values), f"channel {either(values)}"

    def direct(reason: str) -> Check:
        return lambda ctx: None if ctx.event.channel in allowed else reason

    return [Leaf(lambda ctx: ctx.event.channel in allowed, text, "needs " + text, direct)], text


def _store(values: list[str], *_: str) -> tuple[list[Leaf], str]:
    allowed, text = frozenset(values), f"store {either(values)}"

    def direct(reason: str) -> Check:
        return lambda ctx: None if ctx.event.store in allowed else reason

    return [Leaf(lambda ctx: ctx.event.store in allowed, text, "needs " + text, direct)], text


def _tier(values: list[str], *_: str) -> tuple[list[Leaf], str]:
    allowed, text = frozenset(values), f"tier {either(values)}"

    def direct(reason: str) -> Check:
        return lambda ctx: None if ctx.member.tier in allowed else reason

    return [Leaf(lambda ctx: ctx.member.tier in allowed, text, "needs " + text, direct)], text


_AMOUNT: dict[str, Callable[[Any], Pred]] = {
    "eq": lambda x: lambda ctx: ctx.event.amount == x,
    "ne": lambda x: lambda ctx: ctx.event.amount != x,
    "gt": lambda x: lambda ctx: ctx.event.amount > x,
    "gte": lambda x: lambda ctx: ctx.event.amount >= x,
    "lt": lambda x: lambda ctx: ctx.event.amount < x,
    "lte": lambda x: lambda ctx: ctx.event.amount <= x,
}


def _amount(cmp: MoneyComparison, currency: str, _zone: str) -> tuple[list[Leaf], str]:
    ops = [(op, _minor(v, currency)) for op, v in cmp.operators()]
    text = "amount " + _money_words(cmp, currency)
    if len(ops) == 1 and ops[0][0] in _AMOUNT:
        return _leaf(_AMOUNT[ops[0][0]](ops[0][1]), text)
    test = compare(ops, loose=False)
    return _leaf(lambda ctx: test(ctx.event.amount), text)


def _purchase_count(cmp: Comparison, *_: str) -> tuple[list[Leaf], str]:
    ops = cmp.operators()
    loose = compare(ops)
    text = "purchase count " + _words(ops)
    if operand_class(ops) is int:
        # An int against int operands compares the same loosely and plainly.
        plain = compare(ops, loose=False)

        def count(ctx: Context) -> bool:
            n = ctx.member.purchase_count
            return plain(n) if n.__class__ is int else loose(n)

        return _leaf(count, text)
    return _leaf(lambda ctx: loose(ctx.member.purchase_count), text)


def _first_purchase(want: bool, *_: str) -> tuple[list[Leaf], str]:
    def first(ctx: Context) -> bool:
        is_first = ctx.event.type == "purchase" and ctx.member.purchase_count == 0
        return is_first is want

    def first_purchase(ctx: Context) -> bool:
        return (ctx.member.purchase_count == 0) is want

    def on_type(event_type: str) -> bool | Pred:
        return first_purchase if event_type == "purchase" else False is want

    text = "the member's first purchase" if want else "a repeat purchase"
    return [Leaf(first, text, "needs " + text, None, on_type)], text


def _day_of_week(values: list[str], _currency: str, zone_name: str) -> tuple[list[Leaf], str]:
    days = frozenset(DAYS.index(d) for d in values)
    names = either(d.capitalize() for d in sorted(values, key=DAYS.index))
    text = f"{names} ({zone_name})"

    def direct(reason: str) -> Check:
        return lambda ctx: None if ctx.local().weekday() in days else reason

    leaf = Leaf(lambda ctx: ctx.local().weekday() in days, text, "needs " + text, direct)
    return [leaf], text


def _time_of_day(windows: list[Any], _currency: str, zone_name: str) -> tuple[list[Leaf], str]:
    spans = tuple((w.start, w.end) for w in windows)
    text = f"time {either(f'{_hhmm(s)}-{_hhmm(e)}' for s, e in spans)} ({zone_name})"
    if len(spans) == 1:
        start, end = spans[0]
        if start < end:

            def within(ctx: Context) -> bool:
                local = ctx.local()
                return start <= local.hour * 60 + local.minute < end

        else:

            def within(ctx: Context) -> bool:
                local = ctx.local()
                minute = local.hour * 60 + local.minute
                return minute >= start or minute < end

        return _leaf(within, text)

    def inside(ctx: Context) -> bool:
        local = ctx.local()
        minute = local.hour * 60 + local.minute
        for start, end in spans:
            if (start <= minute < end) if start < end else (minute >= start or minute < end):
                return True
        return False

    return _leaf(inside, text)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _lines(cond: Any, currency: str, _zone: str) -> tuple[list[Leaf], str]:
    skus, cats = frozenset(cond.sku or ()), frozenset(cond.category or ())
    need_qty = cond.min_quantity
    need_amount = _minor(cond.min_amount, currency) if cond.min_amount is not None else 0

    def enough(ctx: Context) -> bool:
        qty = amount = 0
        for line in ctx.event.lines:
            if line.sku in skus or line.category in cats:
                qty += line.quantity
                amount += line.quantity * line.unit_price
        return qty >= need_qty and qty > 0 and amount >= need_amount

    what = lines_text(cond.sku, cond.category)
    text = f"{need_qty}+ items with {what}" if need_qty > 1 else f"an item with {what}"
    if cond.min_amount is not None:
        text += f" worth at least {money(need_amount, currency)}"
    return _leaf(enough, text)


def _attributes(owner: str) -> Callable[..., tuple[list[Leaf], str]]:
    def compile_(comparisons: dict[str, Comparison], *_: str) -> tuple[list[Leaf], str]:
        leaves: list[Leaf] = []
        texts = []
        for name, cmp in comparisons.items():
            text = f"{owner} attribute {name} {_words(cmp.operators())}"
            leaves += _leaf(attribute_test(owner, name, cmp.operators()), text)[0]
            texts.append(text)
        return leaves, "; ".join(texts)

    return compile_


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


_COMPILERS: dict[str, Callable[..., tuple[list[Leaf], str]]] = {
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
