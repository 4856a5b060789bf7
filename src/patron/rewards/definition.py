"""A reward as written in the program file (``rewards:``), and the pure checks on it.

Pure: no database. See docs/program.md, "Rewards", for the YAML. The program
file is the one place a reward is defined; saving the program syncs each
reward into the ``rewards`` table, which keeps what must live in the database:
the stock counter and whether the reward is still offered.

A member's tier is read from the member attribute ``tier`` (the tiers module
keeps it equal to the member's level) and segments from the attribute
``segments`` (a list, or one name), until segments exist: :func:`member_tier`
and :func:`member_segments` are the two places to change then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from patron.rules.checks import moment_utc
from patron.rules.syntax import Dec, Moment, ProgramModel, StrList

if TYPE_CHECKING:
    from patron.program.schema import Program

KINDS = ("discount", "free_item", "gift", "experience")
MAX_COST = 10**12
PERCENT_PLACES = 2  # 12.5% is fine, 12.505% is not


class Discount(ProgramModel):
    """Exactly one: an amount off (program currency) or a percentage off."""

    amount: Dec | None = Field(None, gt=0)
    percent: Dec | None = Field(None, gt=0, le=100)

    @model_validator(mode="after")
    def _exactly_one(self) -> Discount:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("give exactly one of amount or percent")
        if self.percent is not None and self.percent.as_tuple().exponent < -PERCENT_PLACES:  # type: ignore[operator]
            raise ValueError(f"percent has at most {PERCENT_PLACES} decimal places")
        return self


class MemberLimit(ProgramModel):
    """At most ``count`` redemptions per member per period (cancelled ones do not count)."""

    count: int = Field(ge=1, le=1_000_000)
    per: Literal["day", "week", "month", "year", "ever"] = "ever"


class Eligibility(ProgramModel):
    tiers: StrList | None = None
    segments: StrList | None = None


class EarlyAccess(ProgramModel):
    """Members of ``tiers`` may redeem ``days`` before ``valid_from``."""

    tiers: StrList
    days: int = Field(ge=1, le=365)


class RewardDefinition(ProgramModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    kind: Literal["discount", "free_item", "gift", "experience"]
    cost: int | None = Field(None, ge=1, le=MAX_COST)
    discount: Discount | None = None
    sku: str | None = Field(None, min_length=1, max_length=100)
    stock: int | None = Field(None, ge=0, le=MAX_COST)
    limit: MemberLimit | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    coupon_days: int = Field(30, ge=1, le=3_650)
    eligible: Eligibility | None = None
    early_access: EarlyAccess | None = None
    birthday: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> RewardDefinition:
        if self.kind == "discount" and self.discount is None:
            raise ValueError("a discount reward needs discount: {amount: ...} or {percent: ...}")
        if self.kind != "discount" and self.discount is not None:
            raise ValueError("only a discount reward has a discount")
        if self.kind == "free_item" and self.sku is None:
            raise ValueError("a free_item reward needs the sku of the item")
        if self.birthday:
            if self.cost is not None:
                raise ValueError("a birthday reward is a gift: it has no cost")
            if self.limit is not None:
                raise ValueError("a birthday reward is given once a year: it takes no limit")
        elif self.cost is None:
            raise ValueError("cost (points, at least 1) is required")
        if self.early_access is not None and self.valid_from is None:
            raise ValueError("early_access needs valid_from (access opens days before it)")
        return self


def reward_problems(program: Program) -> list[tuple[str, str]]:
    """Whole-program checks: unique ids, money precision, windows that make sense."""
    from patron.rules.checks import money_minor

    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for i, reward in enumerate(program.rewards):
        at = f"rewards[{i}]"
        if reward.id in seen:
            problems.append(
                (f"{at}.id", f"duplicate reward id '{reward.id}' (also rewards[{seen[reward.id]}])")
            )
        seen.setdefault(reward.id, i)
        if reward.discount is not None and reward.discount.amount is not None:
            try:
                money_minor(reward.discount.amount, program.currency)
            except Exception as exc:  # InvalidInput: too many decimals for the currency
                problems.append((f"{at}.discount.amount", getattr(exc, "detail", str(exc))))
        if reward.valid_from is not None and reward.valid_until is not None:
            start = moment_utc(reward.valid_from, program.zone, end=False)
            if moment_utc(reward.valid_until, program.zone, end=True) <= start:
                problems.append((f"{at}.valid_until", "must be after valid_from"))
    return problems


# -- reading a member -------------------------------------------------------------


def member_tier(attributes: Mapping[str, Any] | None) -> str | None:
    tier = (attributes or {}).get("tier")
    return str(tier) if tier is not None else None


def member_segments(attributes: Mapping[str, Any] | None) -> set[str]:
    segments = (attributes or {}).get("segments")
    if segments is None:
        return set()
    if isinstance(segments, list | tuple):
        return {str(s) for s in segments}
    return {str(segments)}


# -- when and to whom a reward is open ------------------------------------------------


def window(reward: RewardDefinition, zone: tzinfo) -> tuple[datetime | None, datetime | None]:
    """The reward's validity window as UTC instants (None: open-ended)."""
    start = moment_utc(reward.valid_from, zone, end=False) if reward.valid_from else None
    end = moment_utc(reward.valid_until, zone, end=True) if reward.valid_until else None
    return start, end


def opens_at(reward: RewardDefinition, zone: tzinfo, tier: str | None) -> datetime | None:
    """When this member may start redeeming: earlier for early-access tiers."""
    start, _ = window(reward, zone)
    early = reward.early_access
    if start is not None and early is not None and tier is not None and tier in early.tiers:
        return start - timedelta(days=early.days)
    return start


def availability_problem(
    reward: RewardDefinition, zone: tzinfo, at: datetime, tier: str | None
) -> str | None:
    """Why the reward cannot be redeemed at ``at`` by a member of ``tier``, else None."""
    start = opens_at(reward, zone, tier)
    _, end = window(reward, zone)
    if start is not None and at < start:
        early = reward.early_access
        note = ""
        if early is not None and (tier is None or tier not in early.tiers):
            note = f"; {', '.join(early.tiers)} members {early.days} days earlier"
        return f"reward {reward.id} opens on {_local(start, zone)}{note}"
    if end is not None and at >= end:
        return f"reward {reward.id} ended on {_local(end, zone)}"
    return None


def _local(moment: datetime, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone})"


def eligibility_problem(
    reward: RewardDefinition, attributes: Mapping[str, Any] | None
) -> str | None:
    """Why this member may not have the reward at all, else None."""
    rule = reward.eligible
    if rule is None:
        return None
    if rule.tiers is not None:
        tier = member_tier(attributes)
        if tier not in rule.tiers:
            held = f"tier {tier}" if tier else "no tier"
            return f"reward {reward.id} is for tier {', '.join(rule.tiers)} members ({held})"
    if rule.segments is not None and not member_segments(attributes) & set(rule.segments):
        return f"reward {reward.id} is for members of segment {', '.join(rule.segments)}"
    return None


def discount_minor(reward_terms: Mapping[str, Any], order_minor: int | None) -> int | None:
    """The discount a coupon gives on an order of ``order_minor`` (None if unknown).

    An amount coupon gives its amount, at most the order; a percent coupon gives
    that share of the order rounded half up to the minor unit (only with an order
    amount). Other kinds give no money discount.
    """
    amount = reward_terms.get("discount_amount")
    if amount is not None:
        return int(amount) if order_minor is None else min(int(amount), order_minor)
    percent = reward_terms.get("discount_percent")
    if percent is None or order_minor is None:
        return None
    exact = Decimal(order_minor) * Decimal(str(percent)) / 100
    return int(exact.to_integral_value(rounding="ROUND_HALF_UP"))
