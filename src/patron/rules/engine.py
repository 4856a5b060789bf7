"""The rule engine: ``evaluate(program, event, member) -> Evaluation``.

Pure and fast: no database, no clock (the event says when it happened), and
the program's rules are compiled once (``rules.compiled``), laid out per event
type. Order of work:

1. refunds are not scored (the ledger reverses using each award's basis);
   blocked members earn nothing;
2. earn rules (``points_per``, ``fixed``) in priority order (higher first, then
   file order). An ``exclusive`` rule that awards points skips every rule of
   lower priority (multipliers included);
3. multipliers, on the per-unit points step 2 awarded. An exclusive multiplier
   that awards points skips lower-priority multipliers only;
4. the member's tier multiplier, on the same per-unit points.

Cost: bench/rules_micro.py (examples/program.yaml, 12 rules, ~3.3 awards per
event) measured ~61-74 us/event before the per-type plans and step closures,
~11-14 us/event after, on the same 2-core machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from types import MappingProxyType

from patron.program.schema import Program
from patron.rules.compiled import CompiledRule, compiled_program
from patron.rules.conditions import Context
from patron.rules.effects import Base, multiply_all, multiply_lines, tier_bonus, whole_base
from patron.rules.types import AwardPoints, Effect, Evaluation, EventFacts, MemberFacts

_NO_BUDGETS: Mapping[str, int] = MappingProxyType({})
_REFUND = Evaluation(
    (), ("refunds are not scored: the ledger takes back what the purchase earned",)
)
_BLOCKED = Evaluation((), ("member is blocked: blocked members earn nothing",))
_MULTIPLIER, _PER_UNIT = 2, 1  # plan kinds (compiled.KIND_CODES)


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
    event_type = event.type
    if event_type == "refund":
        return _REFUND
    if member.status == "blocked":
        return _BLOCKED
    at = event.occurred_at
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    ctx = Context(event, member, at, compiled.zone)
    effects: list[Effect] = []
    skipped: list[str] = []
    earned: list[AwardPoints] = []
    pending: list[tuple[CompiledRule, dict[int, int] | None]] = []
    cutoff, cut_by = None, ""
    for priority, kind, exclusive, rule_id, step, rule in compiled.plan(event_type):
        if cutoff is not None and priority < cutoff:
            skipped.append(f"rule {rule_id}: skipped, exclusive rule {cut_by} applied")
            continue
        result = step(ctx, budgets_used)
        if result.__class__ is str:
            skipped.append(result)
            continue
        if kind == _MULTIPLIER:
            pending.append((rule, result))
            continue
        effects.append(result)
        if kind == _PER_UNIT:
            earned.append(result)
        if exclusive:
            cutoff, cut_by = priority, rule_id
    base: Base | None = None
    if pending:
        cutoff = None
        for rule, matched in pending:
            if cutoff is not None and rule.priority < cutoff:
                skipped.append(f"rule {rule.id}: skipped, exclusive multiplier {cut_by} applied")
                continue
            if matched is None:
                if base is None:
                    base = whole_base(earned)
                result = multiply_all(rule, ctx, base, budgets_used)
            else:
                result = multiply_lines(rule, ctx, matched, earned, budgets_used)
            if isinstance(result, str):
                skipped.append(result)
                continue
            effects.append(result)
            if rule.exclusive:
                cutoff, cut_by = rule.priority, rule.id
    if earned and member.tier_multiplier is not None:
        bonus = tier_bonus(ctx, base or whole_base(earned))
        if bonus is not None:
            effects.append(bonus)
    return Evaluation(tuple(effects), tuple(skipped))
