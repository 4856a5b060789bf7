"""Referral tables: each member's code, and the referrals made with codes.

``referral_codes`` holds one code per member, made the first time it is asked
for (see ``service.referral_code``), so enrolling members in bulk costs nothing.

``referrals`` is one row per signup that carried a referral code, whatever came
of it. ``referrer_id`` is NULL when the code named nobody. ``status`` moves
``pending`` -> ``rewarded`` (both sides got their reward) or ``rejected`` (with
``reason`` in words). ``qualified`` is the step between (the referee's purchase
qualified, ``qualified_at``; rewards not yet given): rewards are given in the
same transaction, so a stored referral only shows it if a later version defers
rewards (say, past a return period). A refund of the qualifying purchase moves
``rewarded`` to ``rejected`` and takes both rewards back. The ``*_entry_id`` and
``*_coupon_id`` columns point at what each side was given, so it can be taken back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patron.core.db import Base, BigId

REFERRAL_STATUSES = ("pending", "qualified", "rewarded", "rejected")


class ReferralCode(Base):
    __tablename__ = "referral_codes"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)  # canonical, see codes.py
    created_at: Mapped[datetime]


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_referrer_id_referred_at", "referrer_id", "referred_at"),
        Index("ix_referrals_referee_id_status", "referee_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    referee_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    code: Mapped[str] = mapped_column(String(32))  # as the signup gave it
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)  # why rejected (or not yet rewarded)
    signup_event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    qualifying_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    referrer_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    referee_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    referrer_coupon_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    referee_coupon_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    referred_at: Mapped[datetime]  # when the referee signed up
    qualified_at: Mapped[datetime | None]
    rewarded_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
