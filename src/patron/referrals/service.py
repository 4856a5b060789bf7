"""Referral codes and a member's referrals. Services never commit.

A member's code is made the first time it is asked for (the API, ``patron member
show``, the demo) and never changes. Two requests making the first code for the
same member at once: the loser's insert hits the primary key and it reads the
winner's code. A random clash with another member's code (1 in 34 billion per
existing code) is retried with a new code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patron.core.errors import InvalidInput, NotFound
from patron.core.money import format_money, to_minor
from patron.members.models import Member
from patron.referrals.codes import canonical, new_referral_code
from patron.referrals.models import Referral, ReferralCode

if TYPE_CHECKING:
    from patron.program.schema import Program

ATTEMPTS = 5


def _require_member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    return member


def referral_code(session: Session, member_id: int, at: datetime) -> str:
    """The member's referral code (canonical form), made now if they have none."""
    _require_member(session, member_id)
    query = select(ReferralCode.code).where(ReferralCode.member_id == member_id)
    for _ in range(ATTEMPTS):
        code = session.scalar(query)
        if code is not None:
            return code
        try:
            with session.begin_nested():
                session.add(
                    ReferralCode(member_id=member_id, code=new_referral_code(), created_at=at)
                )
        except IntegrityError:
            continue  # a concurrent first request, or a code already taken: read or retry
    code = session.scalar(query)
    if code is None:  # pragma: no cover - five clashes in a row
        raise RuntimeError("could not make a unique referral code")
    return code


def give_codes(session: Session, member_ids: list[int], at: datetime) -> dict[int, str]:
    """Codes for many members at once (the demo): one insert for those without one."""
    have = dict(
        session.execute(
            select(ReferralCode.member_id, ReferralCode.code).where(
                ReferralCode.member_id.in_(member_ids)
            )
        ).all()
    )
    fresh = {m: new_referral_code() for m in member_ids if m not in have}
    if fresh:
        session.add_all(ReferralCode(member_id=m, code=c, created_at=at) for m, c in fresh.items())
        session.flush()
    return {**have, **fresh}


def owner_of(session: Session, text: str, field: str = "code") -> int:
    """The member whose code this is (as typed: case, hyphens, O/I/L forgiven)."""
    code = canonical(text)
    if code is None:
        raise InvalidInput(
            "not a referral code: 8 characters like K7QM-2XD9 whose last is a check "
            "character; one is probably mistyped",
            field=field,
        )
    member_id = session.scalar(select(ReferralCode.member_id).where(ReferralCode.code == code))
    if member_id is None:
        raise NotFound(f"no member has the referral code {text}", field=field)
    return member_id


@dataclass(frozen=True)
class MemberReferrals:
    code: str
    made: list[Referral]  # referrals with the member's code, newest first
    referred_by: Referral | None  # the referral that brought the member in


def member_referrals(
    session: Session, member_id: int, at: datetime, limit: int = 100
) -> MemberReferrals:
    code = referral_code(session, member_id, at)
    made = list(
        session.scalars(
            select(Referral)
            .where(Referral.referrer_id == member_id)
            .order_by(Referral.id.desc())
            .limit(limit)
        )
    )
    theirs = list(
        session.scalars(
            select(Referral).where(Referral.referee_id == member_id).order_by(Referral.id.desc())
        )
    )
    # the referral that counts: the one not rejected, if any; else the latest attempt
    referred_by = next((r for r in theirs if r.status != "rejected"), theirs[0] if theirs else None)
    return MemberReferrals(code, made, referred_by)


def lapse_referrals(session: Session, at: datetime, program: Program | None) -> int:
    """Reject the pending referrals whose referee bought nothing in ``within_days``
    (part of ``patron jobs run``); how many.

    A first purchase decides a referral when it is ingested, so a referral still
    pending after its window can only end this way: its status then says so
    instead of "pending" forever. (An event for that window that arrives after
    this job has run finds the referral already closed.)
    """
    rules = program.referrals if program is not None else None
    if rules is None:
        return 0
    deadline = at - timedelta(days=rules.within_days)
    result = session.execute(
        update(Referral)
        .where(Referral.status == "pending", Referral.referred_at < deadline)
        .values(
            status="rejected",
            reason=f"no purchase within {rules.within_days} days of signing up",
            rejected_at=at,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def referral_text(ref: Referral, program: Program | None) -> str:
    """``pending: a first purchase of at least 20.00 USD by 2026-04-01 rewards both sides``."""
    if ref.status == "rejected":
        return f"rejected: {ref.reason}"
    if ref.status == "rewarded" and ref.rewarded_at is not None:
        return f"rewarded on {_day(ref.rewarded_at, program)}"
    if ref.status == "qualified":
        return "qualified: the rewards are on their way"
    rules = program.referrals if program is not None else None
    if rules is None or program is None:
        return "pending: the program has no referral rewards now"
    minimum = format_money(to_minor(rules.min_amount, program.currency), program.currency)
    by = _day(ref.referred_at + timedelta(days=rules.within_days), program)
    return f"pending: a first purchase of at least {minimum} by {by} rewards both sides"


def _day(at: datetime, program: Program | None) -> str:
    return f"{at.astimezone(program.zone) if program else at:%Y-%m-%d}"
