"""Writing what a batch did to referrals: rewards given, rewards taken back,
then the referral rows themselves (after the batch's events are written, before
its refunds' own reversals)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from patron.ledger.posting import AccountState
from patron.members.models import Member
from patron.referrals.batch import ReferralBatch, _Referral
from patron.referrals.models import Referral
from patron.referrals.rewarding import (
    Grant,
    cancel_coupon,
    give_coupons,
    give_points,
    take_back_points,
)


def save_referrals(
    batch: ReferralBatch, session: Session, accounts: dict[int, AccountState], at: datetime
) -> None:
    """Rewards given, rewards taken back, then the referral rows themselves."""
    if not batch.touched:
        return
    names = _names(batch, session)
    _reward(batch, session, accounts, at, names)
    for ref in batch.touched:
        if ref.take_back_for is not None:
            _take_back(batch, session, ref, at, names)
    _write(batch, session, at)


def _names(batch: ReferralBatch, session: Session) -> dict[int, str]:
    ids = {x.referee_id for x in batch.touched} | {x.referrer_id or 0 for x in batch.touched}
    found = dict(
        session.execute(
            select(Member.id, Member.first_name).where(Member.id.in_(sorted(ids)))
        ).all()
    )
    return {mid: found.get(mid) or f"member {mid}" for mid in ids}


def _reward(
    batch: ReferralBatch,
    session: Session,
    accounts: dict[int, AccountState],
    at: datetime,
    names: dict[int, str],
) -> None:
    pairs: list[tuple[_Referral, Grant, Grant]] = []
    for ref in batch.touched:
        if not ref.to_reward or ref.referrer_id is None or ref.qualified_at is None:
            continue
        referee, referrer = names[ref.referee_id], names[ref.referrer_id]
        pairs.append(
            (
                ref,
                Grant(
                    ref.referrer_id,
                    batch.rules.referrer_reward,
                    f"{_points(batch.rules.referrer_reward)}referral bonus: "
                    f"{referee} joined with your code",
                    ref.qualified_at,
                ),
                Grant(
                    ref.referee_id,
                    batch.rules.referee_reward,
                    f"{_points(batch.rules.referee_reward)}referral bonus: "
                    f"you joined with {referrer}'s code",
                    ref.qualified_at,
                ),
            )
        )
    give_points(session, batch.program, [g for _, *gs in pairs for g in gs], accounts, at)
    give_coupons(session, batch.program, [g for _, *gs in pairs for g in gs], at)
    for ref, to_referrer, to_referee in pairs:
        ref.referrer_entry_id, ref.referrer_coupon_id = (
            to_referrer.entry_id,
            to_referrer.coupon_id,
        )
        ref.referee_entry_id, ref.referee_coupon_id = to_referee.entry_id, to_referee.coupon_id
        ref.rewarded_at = at
        ref.status = "rejected" if ref.take_back_for is not None else "rewarded"


def _take_back(
    batch: ReferralBatch, session: Session, ref: _Referral, at: datetime, names: dict[int, str]
) -> None:
    refund = ref.take_back_for
    assert refund is not None and refund.event_id is not None
    referee = names.get(ref.referee_id, f"member {ref.referee_id}")
    purchase = ref.qualifying_ext or "the qualifying purchase"
    sides = (
        (ref.referrer_id, ref.referrer_entry_id, ref.referrer_coupon_id, f"{referee}'s"),
        (ref.referee_id, ref.referee_entry_id, ref.referee_coupon_id, "your"),
    )
    kept = []
    for member_id, entry_id, coupon_id, whose in sides:
        if member_id is not None and entry_id is not None:
            take_back_points(
                session,
                batch.program,
                member_id,
                entry_id,
                refund_event_id=refund.event_id,
                explanation=f"-{{points}} pts: referral bonus taken back: {whose} "
                f"qualifying purchase {purchase} was refunded",
                at=at,
                as_of=refund.occurred_at,
            )
        if coupon_id is not None and not cancel_coupon(session, coupon_id, at):
            kept.append("the referrer's" if whose != "your" else "the referee's")
    if kept:
        ref.reason = f"{ref.reason}; {' and '.join(kept)} coupon was already used, so it stays"


def _write(batch: ReferralBatch, session: Session, at: datetime) -> None:
    new = [x for x in batch.touched if x.id is None]
    if new:
        session.execute(insert(Referral), [_values(x, at) for x in new])
    old = [x for x in batch.touched if x.id is not None]
    for ref in old:
        session.execute(
            update(Referral)
            .where(Referral.id == ref.id)
            .values(**_values(ref, at))
            .execution_options(synchronize_session=False)
        )


def _points(reward: Any) -> str:
    return f"+{reward.points} pts: " if reward.points is not None else ""


def _values(ref: _Referral, at: datetime) -> dict[str, Any]:
    signup = ref.signup_row.event_id if ref.signup_row is not None else ref.signup_event_id
    qualifying = (
        ref.qualifying_row.event_id if ref.qualifying_row is not None else ref.qualifying_event_id
    )
    return {
        "referrer_id": ref.referrer_id,
        "referee_id": ref.referee_id,
        "code": ref.code,
        "status": ref.status,
        "reason": ref.reason,
        "signup_event_id": signup,
        "qualifying_event_id": qualifying,
        "referrer_entry_id": ref.referrer_entry_id,
        "referee_entry_id": ref.referee_entry_id,
        "referrer_coupon_id": ref.referrer_coupon_id,
        "referee_coupon_id": ref.referee_coupon_id,
        "referred_at": ref.referred_at,
        "qualified_at": ref.qualified_at,
        "rewarded_at": ref.rewarded_at,
        "rejected_at": ref.rejected_at,
        "updated_at": at,
    }
