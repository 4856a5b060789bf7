"""Import every table so ``Base.metadata`` is complete (Alembic, tests)."""

from patron.access.models import ApiKey
from patron.core.db import Base
from patron.core.idempotency_models import IdempotencyRecord
from patron.events.models import Event
from patron.ledger.models import (
    LedgerEntry,
    LotAllocation,
    PointAccount,
    PointLot,
    RuleBudget,
    RuleUsage,
)
from patron.members.models import Member
from patron.program.models import ProgramVersion
from patron.referrals.models import Referral, ReferralCode
from patron.rewards.models import Redemption, Reward
from patron.stamps.models import Stamp, StampCard
from patron.tiers.models import MemberTier, OutboxMessage, TierChange

__all__ = [
    "ApiKey",
    "Base",
    "Event",
    "IdempotencyRecord",
    "LedgerEntry",
    "LotAllocation",
    "Member",
    "MemberTier",
    "OutboxMessage",
    "PointAccount",
    "PointLot",
    "ProgramVersion",
    "Redemption",
    "Referral",
    "ReferralCode",
    "Reward",
    "RuleBudget",
    "RuleUsage",
    "Stamp",
    "StampCard",
    "TierChange",
]
