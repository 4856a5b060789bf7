"""Rewards, redemptions and coupons: request and response bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from patron.core.money import to_decimal
from patron.rewards import codes
from patron.rewards.catalogue import remaining
from patron.rewards.coupons import coupon_state
from patron.rewards.models import Redemption, Reward


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("may not contain NUL (\\u0000) characters")
    return value


class DiscountOut(BaseModel):
    amount: Decimal | None = Field(None, description="Money off, in the program currency")
    percent: Decimal | None = Field(None, description="Percent off the order")


class RewardOut(BaseModel):
    id: str = Field(description="The reward's id in the program file")
    name: str
    description: str
    kind: Literal["discount", "free_item", "gift", "experience"]
    cost: int | None = Field(description="Points; null for a birthday reward")
    discount: DiscountOut | None = None
    sku: str | None = None
    stock: int | None = Field(description="Coupons ever available; null = unlimited")
    issued: int = Field(description="Redemptions not cancelled")
    remaining: int | None = Field(description="stock - issued; null = unlimited")
    limit: dict[str, Any] | None = Field(None, description="Per member: {count, per}")
    valid_from: str | None = None
    valid_until: str | None = None
    coupon_days: int = Field(description="A coupon is valid this many days after redemption")
    eligible: dict[str, Any] | None = None
    early_access: dict[str, Any] | None = None
    birthday: bool
    active: bool = Field(description="False once the program no longer offers it")

    @classmethod
    def of(cls, row: Reward) -> RewardOut:
        d = row.definition
        return cls(
            id=row.key,
            name=row.name,
            description=d.get("description", ""),
            kind=d["kind"],
            cost=row.cost,
            discount=DiscountOut(**d["discount"]) if d.get("discount") else None,
            sku=d.get("sku"),
            stock=row.stock,
            issued=row.issued,
            remaining=remaining(row),
            limit=d.get("limit"),
            valid_from=d.get("valid_from"),
            valid_until=d.get("valid_until"),
            coupon_days=d.get("coupon_days", 30),
            eligible=d.get("eligible"),
            early_access=d.get("early_access"),
            birthday=row.birthday,
            active=row.active,
        )


class MemberRewardOut(RewardOut):
    can_redeem: bool = Field(description="The member could redeem it now")
    reason: str | None = Field(None, description="Why not, in words")


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward: str = Field(min_length=1, max_length=64, description="The reward's id")

    _check = field_validator("reward")(_no_nul)


class RedemptionOut(BaseModel):
    id: int
    member_id: int
    reward: str = Field(description="The reward's id")
    reward_name: str
    kind: str
    points: int = Field(description="Points it cost (0 for a birthday reward)")
    code: str = Field(description="The coupon code, grouped for reading: 7KQ2-M9XD-4TRB-HW3B")
    status: Literal["issued", "used", "cancelled", "expired"]
    currency: str | None = None
    discount_amount: Decimal | None = None
    discount_percent: Decimal | None = None
    sku: str | None = None
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    order_ref: str | None = None
    order_amount: Decimal | None = None
    discount: Decimal | None = Field(None, description="Money taken off that order")
    cancelled_at: datetime | None = None
    fulfilment: Literal["pending", "shipped", "delivered", "cancelled"] | None = None
    fulfilment_note: str | None = None
    birthday_year: int | None = None
    explanation: str

    @classmethod
    def of(cls, r: Redemption, at: datetime) -> RedemptionOut:
        t = r.terms
        currency = t.get("currency")

        def money(minor: int | None) -> Decimal | None:
            return None if minor is None or currency is None else to_decimal(minor, currency)

        why = (
            f"birthday {r.birthday_year}"
            if r.birthday_year is not None
            else f"redeemed for {r.points} pts"
        )
        return cls(
            id=r.id,
            member_id=r.member_id,
            reward=t.get("reward", ""),
            reward_name=t.get("name", ""),
            kind=t.get("kind", ""),
            points=r.points,
            code=codes.display(r.code),
            status=coupon_state(r, at),
            currency=currency,
            discount_amount=money(t.get("discount_amount")),
            discount_percent=Decimal(t["discount_percent"]) if "discount_percent" in t else None,
            sku=t.get("sku"),
            issued_at=r.issued_at,
            expires_at=r.expires_at,
            used_at=r.used_at,
            order_ref=r.order_ref,
            order_amount=money(r.order_amount),
            discount=money(r.discount),
            cancelled_at=r.cancelled_at,
            fulfilment=r.fulfilment,
            fulfilment_note=r.fulfilment_note,
            birthday_year=r.birthday_year,
            explanation=f"{t.get('name', 'reward')}: {why}",
        )


class CouponOut(RedemptionOut):
    usable: bool = Field(description="True when the till may use it now")


class UseCouponIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_ref: str = Field(min_length=1, max_length=200, description="Your order's reference")
    order_amount: Decimal | None = Field(
        None, ge=0, max_digits=18, description="Order total, to work out the discount"
    )

    _check = field_validator("order_ref")(_no_nul)


class FulfilmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["shipped", "delivered", "cancelled"]
    note: str | None = Field(None, max_length=2000)

    _check = field_validator("note")(_no_nul)
