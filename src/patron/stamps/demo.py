"""What a member of the demo shop does with a full stamp card's coupon: mostly uses it.

Deterministic (by redemption id): four coupons in five are used at the till the
day they are issued; the rest lapse unused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.rewards.coupons import use_coupon
from patron.rewards.models import Redemption

STEP = timedelta(days=40)  # longer than a demo step: every new coupon is seen once


def use_stamp_card_coupons(session: Session, at: datetime) -> None:
    fresh = session.scalars(
        select(Redemption).where(
            Redemption.actor.like("stamp_card:%"),
            Redemption.status == "issued",
            Redemption.issued_at > at - STEP,
            Redemption.expires_at > at,
        )
    ).all()
    for redemption in fresh:
        if redemption.id % 5:
            use_coupon(
                session, redemption.code, f"demo-stamp-{redemption.id}", order_amount=None, at=at
            )
