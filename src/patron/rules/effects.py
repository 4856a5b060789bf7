"""Turn an applying rule into an AwardPoints: per-unit, fixed, multiplier, tier.

Each rule becomes a *step*, a closure built once per program (and event type)
that runs the rule's gate, picks its lines and computes the award; everything
that depends only on the rule (texts, rates, rounding) is worked out when the
step is built. A step returns the award, or a plain-language reason why the
rule gave nothing (used as a skipped reason). Arithmetic is integer and exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from patron.rules.conditions import Check, Context
from patron.rules.explain import number, pts, pts_ratio
from patron.rules.types import AwardPoints, EventFacts

if TYPE_CHECKING:
    from patron.rules.compiled import CompiledRule

WHOLE_EVENT = -1  # basis key: the event amount, for awards not tied to lines
FLOOR, CEIL, HALF_UP = 0, 1, 2
ROUNDING_MODES = {"floor": FLOOR, "ceil": CEIL, "round_half_up": HALF_UP}

# (ctx, budgets_used) -> AwardPoints | reason; a multiplier's step returns the
# lines it would multiply (None: no lines filter) for the engine to apply later.
Step = Callable[[Context, Mapping[str, int]], Any]
# Per-unit points awarded so far, seen by an unfiltered multiplier: (points,
# "rule-a + rule-b", any award on the whole event?, the lines the others earned on).
Base = tuple[int, str, bool, dict[int, int]]
Money = Callable[[int], str]


def limit(
    rule: CompiledRule, points: int, ctx: Context, budgets_used: Mapping[str, int]
) -> tuple[int, str | None, str]:
    """(points granted, cap period key, note or zero-reason) after cap and budget."""
    granted, key, note = points, None, ""
    if rule.cap_points:
        key = rule.period(ctx.local())
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


def per_unit_step(rule: CompiledRule, gate: Check | None, money: Money) -> Step:
    """``points`` per ``per_minor`` of the event amount, or of the lines the rule selects."""
    rule_id, tag, points, per, mode = rule.id, rule.tag, rule.points, rule.per_minor, rule.mode
    amounts, no_lines = rule.amounts, rule.no_lines
    limited = bool(rule.cap_points or rule.budget)
    where = f" of {rule.lines_text}" if amounts is not None else ""
    on, tail, zero = f": {rule.rate_text} on ", f"{where}, rule {rule_id}", f" ({rule.rate_text})"

    def step(ctx: Context, budgets_used: Mapping[str, int]) -> AwardPoints | str:
        if gate is not None:
            why = gate(ctx)
            if why is not None:
                return why
        if amounts is None:
            total = ctx.event.amount
            basis = {WHOLE_EVENT: total}
        else:
            basis = amounts(ctx.event.lines)
            if not basis:
                return no_lines
            total = sum(basis.values())
        if total <= 0:
            return f"{tag}nothing to earn on {money(total)}{where}"
        n = total * points
        if mode == FLOOR:
            raw = n // per
        elif mode == CEIL:
            raw = -(-n // per)
        else:
            raw = (2 * n + per) // (2 * per)
        if raw <= 0:
            return f"{tag}0 pts on {money(total)}{where}{zero}"
        if limited:
            granted, key, note = limit(rule, raw, ctx, budgets_used)
            if granted <= 0:
                return note
            text = f"{pts(granted)}{on}{money(total)}{tail}{note}"
            return AwardPoints(rule_id, granted, text, basis, key)
        text = f"{raw} pts{on}{money(total)}{tail}" if raw != 1 else f"1 pt{on}{money(total)}{tail}"
        return AwardPoints(rule_id, raw, text, basis, None)

    return step


def fixed_step(rule: CompiledRule, gate: Check | None) -> Step:
    """A fixed bonus for the whole event (a lines filter only has to match something)."""
    rule_id, points, name, amounts, no_lines = (
        rule.id,
        rule.points,
        rule.name,
        rule.amounts,
        rule.no_lines,
    )
    limited = bool(rule.cap_points or rule.budget)
    text = f"{pts(points)}: bonus, {name}"

    def step(ctx: Context, budgets_used: Mapping[str, int]) -> AwardPoints | str:
        if gate is not None:
            why = gate(ctx)
            if why is not None:
                return why
        if amounts is not None and not amounts(ctx.event.lines):
            return no_lines
        if limited:
            granted, key, note = limit(rule, points, ctx, budgets_used)
            if granted <= 0:
                return note
            return AwardPoints(rule_id, granted, f"{pts(granted)}: bonus, {name}{note}", None, key)
        return AwardPoints(rule_id, points, text, None, None)

    return step


def multiplier_step(rule: CompiledRule, gate: Check | None) -> Step:
    """First pass of a multiplier: does it apply, and to which lines (None: all)."""
    amounts, no_lines = rule.amounts, rule.no_lines

    def step(ctx: Context, budgets_used: Mapping[str, int]) -> dict[int, int] | str | None:
        if gate is not None:
            why = gate(ctx)
            if why is not None:
                return why
        if amounts is None:
            return None
        matched = amounts(ctx.event.lines)
        return matched if matched else no_lines

    return step


def whole_base(earned: list[AwardPoints]) -> Base:
    """What an unfiltered multiplier multiplies: every per-unit award, in full.

    Each award counts points/1 (on the whole event) or points * lines/lines (on
    lines), so the exact total is the plain sum of the points.
    """
    total, whole = 0, False
    lines_used: dict[int, int] = {}
    for award in earned:
        total += award.points
        basis = award.basis
        assert basis is not None
        if WHOLE_EVENT in basis:
            whole = True
        else:
            lines_used.update(basis)
    return total, " + ".join([award.rule_id for award in earned]), whole, lines_used


def multiply_all(
    rule: CompiledRule, ctx: Context, base: Base, budgets_used: Mapping[str, int]
) -> AwardPoints | str:
    total, sources, whole, lines_used = base
    if total <= 0:
        return f"{rule.tag}no per-unit points to multiply"
    raw = (total * rule.mult_p) // rule.mult_q
    if raw <= 0:
        return f"{rule.tag}{rule.mult_text} on {pts(total)} rounds to 0 pts"
    granted, key, note = limit(rule, raw, ctx, budgets_used)
    if granted <= 0:
        return note
    basis = {WHOLE_EVENT: ctx.event.amount} if whole else dict(lines_used)
    text = f"{pts(granted)}: {rule.mult_text} on {pts(total)} from {sources}, rule {rule.id}{note}"
    return AwardPoints(rule.id, granted, text, basis, key)


def multiply_lines(
    rule: CompiledRule,
    ctx: Context,
    matched: dict[int, int],
    earned: list[AwardPoints],
    budgets_used: Mapping[str, int],
) -> AwardPoints | str:
    num, den, sources, basis = _lines_base(earned, matched, ctx.event)
    if num <= 0:
        return f"{rule.tag}no per-unit points on {rule.lines_text} to multiply"
    raw = (num * rule.mult_p) // (den * rule.mult_q)
    if raw <= 0:
        return f"{rule.tag}{rule.mult_text} on {pts_ratio(num, den)} rounds to 0 pts"
    granted, key, note = limit(rule, raw, ctx, budgets_used)
    if granted <= 0:
        return note
    text = (
        f"{pts(granted)}: {rule.mult_text} on {pts_ratio(num, den)} from {' + '.join(sources)}"
        f" ({rule.lines_text}), rule {rule.id}{note}"
    )
    return AwardPoints(rule.id, granted, text, basis, key)


def _lines_base(
    earned: list[AwardPoints], matched: dict[int, int], event: EventFacts
) -> tuple[int, int, list[str], dict[int, int]]:
    """Per-unit points earned on the matched lines as the exact ratio num/den, the
    rules they came from, and the basis of a bonus on them.

    An award on the whole event counts in the share the matched lines have of
    the event amount; an award on lines counts in the share of its basis that
    falls on matched lines.
    """
    num, den = 0, 1
    sources: list[str] = []
    whole = False
    lines_used: dict[int, int] = {}
    wanted = frozenset(matched)
    on_matched = -1  # amount of the matched lines, worked out when first needed
    for award in earned:
        basis = award.basis
        assert basis is not None
        if WHOLE_EVENT in basis:
            if on_matched < 0:
                on_matched = min(sum(matched.values()), event.amount)
            n, d = award.points * on_matched, event.amount or 1
            whole = whole or n > 0
        else:
            keys = basis.keys() & wanted
            n, d = award.points * sum(basis[i] for i in keys), sum(basis.values()) or 1
            for i in keys:
                lines_used[i] = basis[i]
        if n > 0:
            num, den = (num + n, den) if d == den else (num * d + n * den, den * d)
            sources.append(award.rule_id)
    out = {i: matched[i] for i in sorted(wanted)} if whole else lines_used
    return num, den, sources, out


_TIER_FACTORS: dict[Any, tuple[int, int, str]] = {}


def tier_bonus(ctx: Context, base: Base) -> AwardPoints | None:
    """The member's tier multiplier on all per-unit points, like an unfiltered multiplier."""
    m = ctx.member.tier_multiplier
    if m is None or m <= 1:
        return None
    total, sources, whole, lines_used = base
    factor = _TIER_FACTORS.get(m)
    if factor is None:
        factor = _tier_factor(m)
    p, q, shown = factor
    bonus = (total * p) // q
    if bonus <= 0:
        return None
    tier = ctx.member.tier
    name = f"{tier[:1].upper()}{tier[1:]} tier" if tier else "member tier"
    text = f"{pts(bonus)}: x{shown} {name} on {pts(total)} from {sources}"
    basis = {WHOLE_EVENT: ctx.event.amount} if whole else dict(lines_used)
    return AwardPoints(f"tier:{tier or 'member'}", bonus, text, basis, None)


def _tier_factor(m: Any) -> tuple[int, int, str]:
    """(p, q, text) with m - 1 == p/q; cached by value (equal values give equal answers)."""
    p, q = (Decimal(m) - 1).as_integer_ratio()
    factor = (p, q, number(Decimal(m)))
    if len(_TIER_FACTORS) >= 256:
        _TIER_FACTORS.clear()
    _TIER_FACTORS[m] = factor
    return factor
