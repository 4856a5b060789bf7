"""Rules compiled once per Program into plain objects and closures.

The engine evaluates thousands of events a second, so everything that depends
only on the program (sorting, money in minor units, validity instants, reason
strings, condition closures) is worked out here, once, and cached per Program
instance (programs are frozen values).

On top of that, the rules are laid out once per event type as a *plan*: a
tuple of ``(priority, kind, exclusive, rule id, step, rule)`` in evaluation
order, where ``step`` (see ``rules.effects``) is one closure running the rule's
gate (validity window, then its ``when`` leaves) and computing its award.
Leaves that only depend on the event type (``event: purchase``, part of
``first_purchase``) are decided while building the plan: a leaf that holds is
dropped, and one that fails makes the rule's reason a constant from there on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from patron.program.derived import per_program
from patron.rules.checks import moment_utc, money_minor
from patron.rules.conditions import (
    Check,
    Context,
    Leaf,
    LineAmounts,
    compile_condition,
    line_amounts,
)
from patron.rules.effects import (
    FLOOR,
    ROUNDING_MODES,
    Money,
    Step,
    fixed_step,
    multiplier_step,
    per_unit_step,
)
from patron.rules.explain import lines_text, money, money_formatter, number, pts
from patron.rules.periods import LOCAL_KEYS, local_period_key

if TYPE_CHECKING:
    from patron.program.schema import Program, Rule

PER_UNIT, FIXED, MULTIPLIER = "points_per", "fixed", "multiplier"
KIND_CODES = {FIXED: 0, PER_UNIT: 1, MULTIPLIER: 2}
PlanEntry = tuple[int, int, bool, str, Step, "CompiledRule"]
Plan = tuple[PlanEntry, ...]


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
    leaves: tuple[Leaf, ...] = ()  # the ``when`` condition, flattened
    amounts: LineAmounts | None = None  # the ``lines`` filter
    lines_text: str = ""
    no_lines: str = ""
    points: int = 0  # per-unit: points per `per_minor`; fixed: the points
    per_minor: int = 1
    mode: int = FLOOR  # rounding of per-unit points (effects.FLOOR, CEIL, HALF_UP)
    rate_text: str = ""
    mult_p: int = 0  # (multiplier - 1) == mult_p / mult_q
    mult_q: int = 1
    mult_text: str = ""
    cap_points: int = 0
    cap_per: str = ""
    cap_text: str = ""
    period: Callable[[datetime], str] = LOCAL_KEYS["day"]  # local time -> cap period key
    budget: int = 0


@dataclass(slots=True, eq=False)
class CompiledProgram:
    rules: tuple[CompiledRule, ...]
    zone: ZoneInfo
    zone_name: str
    currency: str
    money: Money  # minor units -> "10.50 GBP"
    plans: dict[str, Plan] = field(default_factory=dict)
    capped_by_type: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)

    def plan(self, event_type: str) -> Plan:
        """The rules laid out for events of this type (built on first use)."""
        plan = self.plans.get(event_type) if event_type.__class__ is str else None
        if plan is None:
            known = event_type if event_type.__class__ is str else None
            plan = tuple(_entry(rule, known, self.money) for rule in self.rules)
            if known is not None and len(self.plans) < 64:
                self.plans[known] = plan
        return plan

    def capped(self, event_type: str) -> tuple[CompiledRule, ...]:
        """The rules with a cap that may award on events of this type: the ones
        whose cap usage a batch must know. Not a refund's (refunds award nothing)
        nor a rule's whose condition the type alone fails (``event: custom``)."""
        found = self.capped_by_type.get(event_type)
        if found is None:
            found = tuple(
                rule
                for rule in self.rules
                if rule.cap_per and event_type != "refund" and _may_apply(rule, event_type)
            )
            if len(self.capped_by_type) < 64:
                self.capped_by_type[event_type] = found
        return found


def _may_apply(rule: CompiledRule, event_type: str) -> bool:
    """False if a conjunct of the rule's condition fails for every event of the type."""
    return not any(
        leaf.on_type is not None and leaf.on_type(event_type) is False for leaf in rule.leaves
    )


@per_program
def compiled_program(program: Program) -> CompiledProgram:
    """The compiled form of ``program``, built on first use."""
    return compile_program(program)


def compile_program(program: Program) -> CompiledProgram:
    zone = ZoneInfo(program.timezone)
    order = sorted(enumerate(program.rules), key=lambda ir: (-ir[1].priority, ir[0]))
    rules = tuple(_compile_rule(r, program.currency, zone) for _, r in order)
    show = money_formatter(program.currency)
    return CompiledProgram(rules, zone, program.timezone, program.currency, show)


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
        c.leaves = tuple(compile_condition(rule.when, currency, str(zone))[0])
    if rule.lines is not None:
        c.amounts = line_amounts(rule.lines)
        c.lines_text = "lines with " + lines_text(rule.lines.sku, rule.lines.category)
        c.no_lines = f"{tag}: no {c.lines_text}"
    if effect.points_per is not None:
        per = effect.points_per
        c.points, c.per_minor = per.points, money_minor(per.per, currency)
        c.mode = ROUNDING_MODES[per.rounding]
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
        per_name = rule.cap.per
        c.period = LOCAL_KEYS.get(per_name) or (lambda local: local_period_key(per_name, local))
    c.budget = rule.budget or 0
    return c


def _entry(rule: CompiledRule, event_type: str | None, show: Money) -> PlanEntry:
    gate = _gate(rule, event_type)
    kind = KIND_CODES[rule.kind]
    step: Step
    if isinstance(gate, str):
        reason = gate
        step = lambda ctx, budgets_used: reason  # noqa: E731
    elif kind == 0:
        step = fixed_step(rule, gate)
    elif kind == 1:
        step = per_unit_step(rule, gate, show)
    else:
        step = multiplier_step(rule, gate)
    return rule.priority, kind, rule.exclusive, rule.id, step, rule


def _gate(rule: CompiledRule, event_type: str | None) -> Check | str | None:
    """ "Does this rule apply now" for events of ``event_type`` (None: any type).

    None when it always does, a string when it never does (the reason), else a
    check returning the full skipped reason: validity window, then each leaf.
    """
    checks: list[Check] = []
    start, end, not_yet, ended = rule.start, rule.end, rule.not_yet, rule.ended
    if start is not None and end is not None:
        checks.append(lambda ctx: not_yet if ctx.at < start else (ended if ctx.at >= end else None))
    elif start is not None:
        checks.append(lambda ctx: not_yet if ctx.at < start else None)
    elif end is not None:
        checks.append(lambda ctx: ended if ctx.at >= end else None)
    fails: str | None = None
    for leaf in rule.leaves:
        reason = rule.tag + leaf.reason
        if leaf.on_type is not None and event_type is not None:
            known = leaf.on_type(event_type)
            if known is True:
                continue
            if known is False:
                fails = reason
                break
            checks.append(leaf.check(reason, known))
        else:
            checks.append(leaf.check(reason))
    if fails is not None:
        if not checks:
            return fails
        before = _chain(checks)
        return lambda ctx: before(ctx) or fails
    return _chain(checks) if checks else None


def _chain(checks: list[Check]) -> Check:
    """The first reason any check gives, in order (None if all pass)."""
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda ctx: a(ctx) or b(ctx)
    if len(checks) == 3:
        a, b, c = checks
        return lambda ctx: a(ctx) or b(ctx) or c(ctx)
    every = tuple(checks)

    def chain(ctx: Context) -> str | None:
        for check in every:
            why = check(ctx)
            if why is not None:
                return why
        return None

    return chain
