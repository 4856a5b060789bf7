"""Giving both sides of a referral their rewards, and taking them back.

Points are credited through the ledger (entry kind ``earn``, rule ``referral``,
no event: the entry belongs to neither side's event, so a retried event still
answers exactly what it first answered); they follow the program's pending days
and expiry like any earned points. A reward is a coupon of the catalogue issued
for free (0 points, no spend entry). Taking back: points are reversed (what is
already spent becomes debt, as for refunds); an unused coupon is cancelled, a
used one stays used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from patron.ledger.models import LedgerEntry
from patron.ledger.posting import AccountState, Earning, load_accounts, post_earnings
from patron.ledger.service import reverse_points
from patron.program.schema import Program
from patron.referrals.definition import ReferralReward
from patron.rewards.catalogue import get_reward, return_stock
from patron.rewards.errors import OutOfStock
from patron.rewards.models import Redemption
from patron.rewards.service import coupon_values, issue_coupon

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
    out_of_stock: bool = False


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


def give_coupon(session: Session, program: Program, grant: Grant, at: datetime) -> None:
    """A free coupon; out of stock leaves ``grant.out_of_stock`` set and nothing written."""
    key = grant.reward.reward
    reward = program.reward(key or "")
    if reward is None:  # the program check keeps this from happening
        grant.out_of_stock = True
        return
    row = get_reward(session, reward.id)
    values = coupon_values(
        row.id, reward, grant.member_id, currency=program.currency, at=at, actor="referral"
    )
    try:
        with session.begin_nested():
            grant.coupon_id = issue_coupon(session, reward, values).id
    except OutOfStock:
        grant.out_of_stock = True


def take_back_points(
    session: Session,
    program: Program,
    member_id: int,
    entry_id: int,
    *,
    refund_event_id: int,
    explanation: str,
    at: datetime,
) -> int:
    """Reverse a referral credit; returns the points taken back."""
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
    )
    if entry is not None:
        entry.event_id, entry.rule_id = None, REFERRAL_RULE
        session.flush()
    return points


def cancel_coupon(session: Session, coupon_id: int, at: datetime) -> bool:
    """Cancel an unused free coupon (stock goes back); False if it was used (or shipped)."""
    reward_id = session.scalar(
        update(Redemption)
        .where(Redemption.id == coupon_id, Redemption.status == "issued")
        .where(Redemption.fulfilment.is_(None) | (Redemption.fulfilment == "pending"))
        .values(
            status="cancelled",
            cancelled_at=at,
            fulfilment=case((Redemption.fulfilment.is_(None), None), else_="cancelled"),
        )
        .returning(Redemption.reward_id)
    )
    if reward_id is None:
        return False
    return_stock(session, reward_id)
    return True
