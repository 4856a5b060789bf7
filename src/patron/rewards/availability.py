"""What a member can redeem now, and for each reward they cannot, why.

Read-only: the same checks :func:`patron.rewards.service.redeem` makes, in the
same order, without locking anything (the answer can change a moment later;
redeeming decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.core.errors import NotFound
from patron.ledger.service import get_balance
from patron.members.models import Member
from patron.rewards.definition import availability_problem, eligibility_problem, member_tier
from patron.rewards.errors import LimitReached
from patron.rewards.models import Reward
from patron.rewards.service import check_limit

if TYPE_CHECKING:
    from patron.program.schema import Program


@dataclass(frozen=True)
class Offer:
    reward: Reward
    can_redeem: bool
    reason: str | None  # why not, in words


def rewards_for_member(
    session: Session, member_id: int, at: datetime, program: Program | None
) -> list[Offer]:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    if program is None:
        return []
    available = get_balance(session, member_id, at, program).available
    rows = {r.key: r for r in session.scalars(select(Reward).where(Reward.active.is_(True)))}
    offers = []
    for reward in program.rewards:
        row = rows.get(reward.id)
        if row is None or reward.birthday or reward.cost is None:
            continue
        why = (
            ("a blocked member cannot redeem rewards" if member.status == "blocked" else None)
            or availability_problem(reward, program.zone, at, member_tier(member.attributes))
            or eligibility_problem(reward, member.attributes)
        )
        if why is None:
            try:
                check_limit(session, row.id, reward, member_id, at, program.timezone)
            except LimitReached as exc:
                why = exc.detail
        if why is None and row.stock is not None and row.issued >= row.stock:
            why = f"{reward.name} is out of stock"
        if why is None and available < reward.cost:
            why = f"costs {reward.cost} points; {max(available, 0)} available"
        offers.append(Offer(row, why is None, why))
    return offers
