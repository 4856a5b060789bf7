"""The ``referrals:`` section of the program file, and the pure checks on it.

Pure: no database. See the README, "Referrals", for the YAML::

    referrals:
      min_amount: "20.00"      # the referee's first purchase must reach this (program currency)
      within_days: 30          # ... and happen within this many days of signing up
      max_per_week: 5          # referrals one referrer may make in any 7 days
      referrer_reward: {points: 200}
      referee_reward: {reward: free-latte}   # a coupon of the rewards catalogue, free

Each reward is either ``points: N`` (credited through the ledger, under the
program's pending days and expiry) or ``reward: <id>`` (a coupon of that reward,
issued without spending points).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from patron.ledger.schemas import MAX_POINTS
from patron.rules.syntax import Dec, ProgramModel

if TYPE_CHECKING:
    from patron.program.schema import Program


class ReferralReward(ProgramModel):
    """What one side gets: points, or a reward from the catalogue as a free coupon."""

    points: int | None = Field(None, ge=1, le=MAX_POINTS)
    reward: str | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_of(self) -> ReferralReward:
        if (self.points is None) == (self.reward is None):
            raise ValueError("give either points or reward (the id of a reward), not both")
        return self


class ReferralsDefinition(ProgramModel):
    min_amount: Dec = Field(ge=0)
    within_days: int = Field(30, ge=1, le=3_650)
    max_per_week: int = Field(5, ge=1, le=10_000)
    referrer_reward: ReferralReward
    referee_reward: ReferralReward


def referral_problems(program: Program) -> list[tuple[str, str]]:
    """Money precision of ``min_amount``; rewards named must be in the catalogue."""
    from patron.core.errors import InvalidInput
    from patron.rules.checks import money_minor

    referrals = program.referrals
    if referrals is None:
        return []
    problems: list[tuple[str, str]] = []
    try:
        money_minor(referrals.min_amount, program.currency)
    except InvalidInput as exc:
        problems.append(("referrals.min_amount", exc.detail))
    known = [r.id for r in program.rewards]
    for side in ("referrer_reward", "referee_reward"):
        reward = getattr(referrals, side).reward
        if reward is not None and reward not in known:
            listed = ", ".join(known) or "the program has none"
            problems.append(
                (f"referrals.{side}.reward", f"no reward '{reward}' (rewards: {listed})")
            )
    return problems
