"""Coupons at the till: validate a code, use it once against an order.

Using a coupon is one conditional UPDATE (``status = 'issued'`` and not
expired), so of two tills using one code at the same moment exactly one wins;
the other then sees it used. Use is idempotent per order: the same order again
gets the same answer; another order gets :class:`CouponUsed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from patron.core.errors import Conflict, NotFound
from patron.core.money import to_minor
from patron.rewards import codes
from patron.rewards.definition import discount_minor
from patron.rewards.errors import CouponCancelled, CouponExpired, CouponUsed
from patron.rewards.models import Redemption

CODE_FIELD = "code"


def coupon_state(redemption: Redemption, at: datetime) -> str:
    """issued | used | cancelled | expired (an unused coupon past its date)."""
    if redemption.status == "issued" and redemption.expires_at <= at:
        return "expired"
    return redemption.status


def find_coupon(session: Session, code: str) -> Redemption:
    """The coupon with this code as typed; InvalidInput for a typo, NotFound if unknown."""
    canonical = codes.normalize(code, CODE_FIELD)
    found = session.scalar(select(Redemption).where(Redemption.code == canonical))
    if found is None:
        raise NotFound("no coupon has this code", field=CODE_FIELD)
    return found


@dataclass(frozen=True)
class Use:
    redemption: Redemption
    replayed: bool  # True: this order had already used the coupon


def _refuse(redemption: Redemption, order_ref: str, at: datetime) -> Use | None:
    """Why this coupon cannot be used for ``order_ref`` (raises), or a replay."""
    state = coupon_state(redemption, at)
    shown = codes.display(redemption.code)
    if state == "used":
        if redemption.order_ref == order_ref:
            return Use(redemption, True)
        used = f"{redemption.used_at:%Y-%m-%d %H:%M} UTC" if redemption.used_at else "earlier"
        raise CouponUsed(
            f"coupon {shown} was already used ({used}, another order)", field=CODE_FIELD
        )
    if state == "cancelled":
        raise CouponCancelled(
            f"coupon {shown} was cancelled and its points returned", field=CODE_FIELD
        )
    if state == "expired":
        raise CouponExpired(
            f"coupon {shown} expired on {redemption.expires_at:%Y-%m-%d %H:%M} UTC",
            field=CODE_FIELD,
        )
    if redemption.fulfilment is not None:
        raise Conflict(
            f"coupon {shown} is for a gift that is shipped, not used at a till", field=CODE_FIELD
        )
    return None


def use_coupon(
    session: Session,
    code: str,
    order_ref: str,
    *,
    order_amount: Decimal | None,
    at: datetime,
) -> Use:
    """Use the coupon for ``order_ref``; the same order again replays the first use."""
    redemption = find_coupon(session, code)
    refused = _refuse(redemption, order_ref, at)
    if refused is not None:
        return refused
    currency = str(redemption.terms.get("currency", "USD"))
    order_minor = (
        None if order_amount is None else to_minor(order_amount, currency, field="order_amount")
    )
    discount = discount_minor(redemption.terms, order_minor)
    won = session.execute(
        update(Redemption)
        .where(
            Redemption.id == redemption.id,
            Redemption.status == "issued",
            Redemption.expires_at > at,
        )
        .values(
            status="used",
            used_at=at,
            order_ref=order_ref,
            order_amount=order_minor,
            discount=discount,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(redemption)
    if getattr(won, "rowcount", 0):
        return Use(redemption, False)
    # Someone else got there first (or it just expired): answer as they left it.
    refused = _refuse(redemption, order_ref, at)
    if refused is not None:
        return refused
    raise Conflict("the coupon changed while it was being used; retry", field=CODE_FIELD)
