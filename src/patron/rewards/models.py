"""Rewards catalogue rows and redemptions (each redemption is one coupon).

Invariant (checked by the property test): for every reward with a stock,
``stock - issued`` coupons are left and ``issued`` counts the redemptions that
are not cancelled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from patron.core.db import Base, BigId

REDEMPTION_STATUSES = ("issued", "used", "cancelled")
FULFILMENT_STATUSES = ("pending", "shipped", "delivered", "cancelled")


class Reward(Base):
    """A reward of the program, synced from the program file when it is saved.

    ``definition`` is the reward as the program in force defines it; ``stock``
    and ``issued`` are the counter a redemption moves with one conditional
    UPDATE (``issued < stock``), so concurrent redemptions never oversell.
    """

    __tablename__ = "rewards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the id in the program file
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    cost: Mapped[int | None]  # points; None for a birthday reward
    stock: Mapped[int | None]  # coupons ever available; None = unlimited
    issued: Mapped[int] = mapped_column(default=0)  # redemptions not cancelled
    birthday: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)  # False once the program drops it
    definition: Mapped[dict[str, Any]]
    program_version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Redemption(Base):
    """A reward a member redeemed (or was given), and its coupon.

    ``terms`` is what the coupon is worth, fixed when it was issued (a later
    program change does not change an issued coupon): ``kind``, ``sku``,
    ``discount_amount`` (minor units) or ``discount_percent``, ``currency``.
    A coupon is *expired* when it is unused and ``expires_at`` has passed:
    decided by time, no job needed.
    """

    __tablename__ = "redemptions"
    __table_args__ = (
        Index("ix_redemptions_member_id_id", "member_id", "id"),
        Index("ix_redemptions_reward_id_member_id", "reward_id", "member_id"),
        # One birthday reward per member and year; NULL (not a birthday) never collides.
        UniqueConstraint("member_id", "reward_id", "birthday_year", name="uq_redemptions_birthday"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)  # canonical, see codes.py
    status: Mapped[str] = mapped_column(String(16))  # issued | used | cancelled
    points: Mapped[int]  # what it cost; 0 for a birthday reward
    terms: Mapped[dict[str, Any]]
    spend_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    return_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    birthday_year: Mapped[int | None]
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    order_ref: Mapped[str | None] = mapped_column(String(200))
    order_amount: Mapped[int | None]  # minor units, as the till sent it
    discount: Mapped[int | None]  # minor units taken off that order
    cancelled_at: Mapped[datetime | None]
    fulfilment: Mapped[str | None] = mapped_column(String(16))  # gifts only
    fulfilment_note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(200))
