"""The birthday job: each birthday reward, once a year, in the member's birthday month.

Run by ``patron jobs run`` (hourly is fine: a member who already has this year's
coupon is skipped by the query, and a unique constraint on
``(member_id, reward_id, birthday_year)`` makes a second, concurrent run
harmless). The month and the year are the program's local ones. Blocked members
and members the reward is not for (tier, segment) get nothing; when a limited
stock runs out the rest wait for the next run (say, after a restock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import exists, extract, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patron.members.models import Member
from patron.rewards.catalogue import get_reward
from patron.rewards.definition import availability_problem, eligibility_problem, member_tier
from patron.rewards.errors import OutOfStock
from patron.rewards.models import Redemption
from patron.rewards.service import coupon_values, issue_coupon

if TYPE_CHECKING:
    from patron.program.schema import Program


@dataclass(frozen=True)
class BirthdayReport:
    issued: int = 0
    out_of_stock: int = 0


def issue_birthday_rewards(
    session: Session, at: datetime, program: Program | None
) -> BirthdayReport:
    if program is None:
        return BirthdayReport()
    local = at.astimezone(program.zone)
    issued = out_of_stock = 0
    for reward in program.rewards:
        if not reward.birthday:
            continue
        row = get_reward(session, reward.id)
        has_one = exists().where(
            Redemption.member_id == Member.id,
            Redemption.reward_id == row.id,
            Redemption.birthday_year == local.year,
        )
        members = session.execute(
            select(Member.id, Member.attributes)
            .where(
                Member.status == "active",
                Member.birthday.is_not(None),
                extract("month", Member.birthday) == local.month,
                ~has_one,
            )
            .order_by(Member.id)
        ).all()
        for done, (member_id, attributes) in enumerate(members):
            if availability_problem(reward, program.zone, at, member_tier(attributes)):
                continue
            if eligibility_problem(reward, attributes):
                continue
            try:
                with session.begin_nested():
                    values = coupon_values(
                        row.id,
                        reward,
                        member_id,
                        currency=program.currency,
                        at=at,
                        birthday_year=local.year,
                        actor="birthday job",
                    )
                    issue_coupon(session, reward, values)
                issued += 1
            except OutOfStock:
                out_of_stock += len(members) - done
                break
            except IntegrityError:
                pass  # a concurrent run gave it first
    return BirthdayReport(issued, out_of_stock)
