"""Giving both sides of a referral their rewards, and taking them back.

Points are credited through the ledger (entry kind ``earn``, rule ``referral``,
no event: the entry belongs to neither side's event, so a retried event still
answers exactly what it first answered); they follow the program's pending days
and expiry like any earned points. A reward is a coupon of the catalogue issued
for free (0 points, no spend entry; ``rewards/free.py``). Taking back: points are reversed (what is
already spent becomes debt, as for refunds); an unused coupon is cancelled, a
used one stays used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.ledger.models import LedgerEntry
from patron.ledger.posting import AccountState, Earning, load_accounts, post_earnings
from patron.ledger.service import reverse_points
from patron.program.schema import Program
from patron.referrals.definition import ReferralReward
from patron.rewards.catalogue import get_reward
from patron.rewards.free import (
    cancel_free_coupons,
    free_coupon_values,
    issue_free_coupons,
    lock_coupons,
)

REFERRAL_RULE = "referral"


@dataclass
class Grant:
    """One side's reward to give: ``points`` or a coupon of ``reward``."""

    member_id: int
    reward: ReferralReward
    explanation: str
    earned_at: datetime
    entry_id: int | None = None
    coupon_id: int | None = None


def give_points(
    session: Session,
    program: Program,
    grants: Sequence[Grant],
    accounts: dict[int, AccountState],
    at: datetime,
) -> None:
    """Credit every points grant with one bulk post (accounts of members outside the
    batch are read and locked here, in id order)."""
    wanted = [g for g in grants if g.reward.points is not None]
    if not wanted:
        return
    missing = sorted({g.member_id for g in wanted} - set(accounts))
    accounts.update(load_accounts(session, missing))
    earnings = [
        Earning(
            member_id=g.member_id,
            points=g.reward.points or 0,
            explanation=g.explanation,
            earned_at=g.earned_at,
            available_at=program.available_at(g.earned_at),
            expires_at=program.expires_at(g.earned_at),
            rule_id=REFERRAL_RULE,
        )
        for g in wanted
    ]
    for grant, entry_id in zip(wanted, post_earnings(session, earnings, accounts, at), strict=True):
        grant.entry_id = entry_id


def give_coupons(session: Session, program: Program, grants: Sequence[Grant], at: datetime) -> None:
    """Free coupons for every reward grant, written at once (see ``rewards/free.py``:
    a coupon owed is never refused for stock)."""
    wanted = [g for g in grants if g.reward.reward is not None]
    rows = {key: get_reward(session, key).id for key in {g.reward.reward or "" for g in wanted}}
    values = [
        free_coupon_values(
            program,
            g.reward.reward or "",
            g.member_id,
            at=at,
            actor="referral",
            reward_row_id=rows[g.reward.reward or ""],
        )
        for g in wanted
    ]
    for grant, coupon_id in zip(wanted, issue_free_coupons(session, values), strict=True):
        grant.coupon_id = coupon_id


def take_back_points(
    session: Session,
    program: Program,
    member_id: int,
    entry_id: int,
    *,
    refund_event_id: int,
    explanation: str,
    at: datetime,
    as_of: datetime | None = None,
) -> int:
    """Reverse a referral credit; returns the points taken back. ``as_of``: when
    the refund that takes it back happened (see ``reverse_points``)."""
    points = session.scalar(select(LedgerEntry.points).where(LedgerEntry.id == entry_id)) or 0
    entry = reverse_points(
        session,
        member_id,
        points,
        refund_event_id=refund_event_id,
        purchase_event_id=0,  # no purchase's own lots: pending, then first-to-expire
        explanation=explanation.format(points=points),
        at=at,
        program=program,
        as_of=as_of,
    )
    if entry is not None:
        entry.event_id, entry.rule_id = None, REFERRAL_RULE
        session.flush()
    return points


def cancel_coupon(session: Session, coupon_id: int, at: datetime) -> bool:
    """Cancel an unused free coupon (stock count given back); False if it was used."""
    lock_coupons(session, [coupon_id])
    return bool(cancel_free_coupons(session, [coupon_id], at))
