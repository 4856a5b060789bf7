"""What a member of the demo shop does with points: redeem a reward, then (mostly)
use the coupon at the till, sometimes let it lapse, now and then cancel it.

Deterministic (by member and redemption id), so a demo built twice is the same.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.core.errors import PatronError
from patron.rewards.coupons import use_coupon
from patron.rewards.models import Redemption
from patron.rewards.service import cancel, redeem, set_fulfilment

if TYPE_CHECKING:
    from patron.program.schema import Program


def redeem_something(
    session: Session, member_id: int, available: int, at: datetime, program: Program
) -> Redemption | None:
    """Redeem the first reward this member likes that is affordable and open to them."""
    choices = [r for r in program.rewards if not r.birthday and r.cost is not None]
    if not choices:
        return None
    start = member_id % len(choices)
    order = choices[start:] + choices[:start]
    if member_id % 3 == 0:  # a saver: holds out for one of the two dearest rewards
        dearest = sorted(choices, key=lambda r: -(r.cost or 0))[:2]
        target = dearest[member_id % len(dearest)]
        if (target.cost or 0) > available:
            return None
        order = [target, *(r for r in order if r is not target)]
    for reward in order:
        if reward.cost is None or reward.cost > available:
            continue
        try:
            with session.begin_nested():
                redemption = redeem(session, member_id, reward.id, at=at, program=program)
        except PatronError:  # not eligible, limit reached, out of stock: try another
            continue
        _afterwards(session, redemption, at, program)
        return redemption
    return None


def _afterwards(session: Session, redemption: Redemption, at: datetime, program: Program) -> None:
    if redemption.id % 11 == 0:  # changed their mind: points back
        cancel(session, redemption.id, at=at, program=program, actor="demo")
    elif redemption.fulfilment is not None:  # a gift: posted, and mostly arrived
        status = "shipped" if redemption.id % 3 == 0 else "delivered"
        set_fulfilment(session, redemption.id, status, note=None, at=at, program=program)
    elif redemption.id % 6 != 0:  # used at the till; every sixth coupon lapses
        order = Decimal(8 + redemption.id % 17) + Decimal("0.40")
        use_coupon(session, redemption.code, f"demo-{redemption.id}", order_amount=order, at=at)


def use_birthday_coupons(session: Session, at: datetime) -> None:
    """Two birthday coupons in three, issued at ``at``, are used at the till."""
    issued = session.scalars(
        select(Redemption).where(
            Redemption.birthday_year.is_not(None),
            Redemption.issued_at == at,
            Redemption.status == "issued",
        )
    ).all()
    for redemption in issued:
        if redemption.id % 3:
            use_coupon(
                session, redemption.code, f"demo-bday-{redemption.id}", order_amount=None, at=at
            )
