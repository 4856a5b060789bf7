"""The program file as pydantic models (see docs/program.md for the YAML).

Top level: name, currency, timezone, unknown_members, points, rules. The rule
syntax lives in ``patron.rules.syntax`` (re-exported here). Every model forbids
unknown keys and is frozen: a ``Program`` is a value, and the rule engine
caches its compiled form per instance.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from patron.core.clock import ensure_utc
from patron.core.errors import InvalidInput
from patron.core.money import check_currency
from patron.referrals.definition import ReferralsDefinition
from patron.rewards.definition import RewardDefinition
from patron.rules.syntax import (
    Cap,
    Comparison,
    Condition,
    Dec,
    Effect,
    LineCondition,
    LineFilter,
    MoneyComparison,
    PointsPer,
    ProgramModel,
    Rule,
    TimeWindow,
)
from patron.stamps.definition import StampCardDefinition
from patron.tiers.definition import TiersDefinition

__all__ = [
    "Cap",
    "Comparison",
    "Condition",
    "Effect",
    "ExpiryPolicy",
    "LineCondition",
    "LineFilter",
    "MoneyComparison",
    "PointsPer",
    "PointsPolicy",
    "Program",
    "ProgramModel",
    "Rule",
    "TimeWindow",
]


class ExpiryPolicy(ProgramModel):
    policy: Literal["never", "rolling", "end_of_year", "inactivity"] = "never"
    days: int | None = Field(None, ge=1, le=36_500)  # at most a century
    years: int | None = Field(None, ge=0, le=100)

    @model_validator(mode="after")
    def _fits_policy(self) -> ExpiryPolicy:
        if self.policy in ("rolling", "inactivity") and self.days is None:
            raise ValueError(f"policy {self.policy} needs days")
        if self.policy != "end_of_year" and self.years is not None:
            raise ValueError("years only goes with policy end_of_year")
        if self.policy in ("never", "end_of_year") and self.days is not None:
            raise ValueError(f"days does not go with policy {self.policy}")
        return self


class PointsPolicy(ProgramModel):
    pending_days: int = Field(0, ge=0, le=3_650)
    expiry: ExpiryPolicy = ExpiryPolicy()
    value_per_point: Dec = Field(Decimal("0.01"), ge=0)


class Program(ProgramModel):
    name: str = Field(min_length=1)
    currency: str
    timezone: str = "UTC"
    unknown_members: Literal["enrol", "reject"] = "enrol"
    points: PointsPolicy = PointsPolicy()
    rules: list[Rule] = Field(default_factory=list)
    rewards: list[RewardDefinition] = Field(default_factory=list)  # see patron.rewards
    tiers: TiersDefinition | None = None  # see patron.tiers
    # stamp_cards, referrals: added here by their modules.
    stamp_cards: list[StampCardDefinition] = Field(default_factory=list)  # see patron.stamps
    referrals: ReferralsDefinition | None = None  # see patron.referrals

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        try:
            return check_currency(value)
        except InvalidInput as exc:
            raise ValueError(exc.detail) from None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not an IANA time zone like Europe/London") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        from patron.referrals.definition import referral_problems
        from patron.rewards.definition import reward_problems
        from patron.rules.checks import program_problems
        from patron.stamps.definition import stamp_card_problems
        from patron.tiers.definition import tier_problems

        problems = program_problems(self) + reward_problems(self) + tier_problems(self)
        problems += referral_problems(self)
        problems += stamp_card_problems(self)
        if problems:
            detail = "; ".join(f"{path}: {msg}" for path, msg in problems)
            raise PydanticCustomError(
                "program", "{detail}", {"detail": detail, "problems": problems}
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def reward(self, reward_id: str) -> RewardDefinition | None:
        """The reward with this id, or None."""
        return next((r for r in self.rewards if r.id == reward_id), None)

    def available_at(self, earned_at: datetime) -> datetime:
        """When points earned at ``earned_at`` become spendable (UTC)."""
        return _utc(earned_at) + timedelta(days=self.points.pending_days)

    def expires_at(self, earned_at: datetime) -> datetime | None:
        """When points earned at ``earned_at`` expire (UTC); None for never/inactivity."""
        expiry = self.points.expiry
        if expiry.policy == "rolling":
            return _utc(earned_at) + timedelta(days=expiry.days or 0)
        if expiry.policy == "end_of_year":
            year = _utc(earned_at).astimezone(self.zone).year + (expiry.years or 0)
            return datetime(year + 1, 1, 1, tzinfo=self.zone).astimezone(UTC)
        return None


def _utc(value: datetime) -> datetime:
    return ensure_utc(value)  # a UTC time as it is (every scored event's)
