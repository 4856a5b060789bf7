"""Stamp card tables: each member's cards, and the log of every stamp movement.

``stamp_cards``: one row per card a member has had. ``status`` is ``open``
(collecting; at most one open card per member and card id), ``complete`` (its
reward coupon is ``redemption_id``) or ``expired``. ``stamps`` is the count on
the card now; it is negative when a refund took back a completing stamp whose
coupon was already used (the card owes stamps, repaid by the next ones).
``goal`` is fixed when the card starts: a later program change applies to new cards.
An open card past ``expires_at`` is expired (decided by time, like coupons); the
next stamp closes it and starts a new card.

``stamps``: every change, with the explanation the member reads. ``kind`` is
``stamp`` (count > 0), ``unstamp`` (a refund; count < 0), ``complete``,
``reopen`` (a refund took back the completing stamp and cancelled the unused
coupon), ``owed`` (the same with a used coupon: count < 0 on the open card) or
``expire``. ``purchase_id`` is the purchase the stamps came from, so a refund
finds which cards its purchase stamped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patron.core.db import Base, BigId

CARD_STATUSES = ("open", "complete", "expired")
STAMP_KINDS = ("stamp", "unstamp", "complete", "reopen", "owed", "expire")


class StampCard(Base):
    __tablename__ = "stamp_cards"
    __table_args__ = (Index("ix_stamp_cards_member_card_status", "member_id", "card", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    card: Mapped[str] = mapped_column(String(64))  # the card's id in the program file
    status: Mapped[str] = mapped_column(String(16))  # open | complete | expired
    stamps: Mapped[int]
    goal: Mapped[int]
    started_at: Mapped[datetime]  # the first stamp
    expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # completed or expired
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    updated_at: Mapped[datetime]


class Stamp(Base):
    __tablename__ = "stamps"
    __table_args__ = (
        Index("ix_stamps_card_id_id", "card_id", "id"),
        Index("ix_stamps_purchase_id", "purchase_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("stamp_cards.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))
    count: Mapped[int]  # stamps added (negative: taken away)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))  # what caused it
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    explanation: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
