"""Tier tables: each member's current level, the history of changes, and the outbox.

``member_tiers`` is the source of truth for a member's level; the member
attribute ``tier`` mirrors it (written in the same transaction) so rewards
eligibility, early access and the rule condition ``tier:`` read one value.
The qualifying measure is not stored: it is computed from the events of the
window (see ``tiers/measuring.py``).

``outbox`` is generic (event type, member, JSON payload): tier changes are
queued there in the transaction that makes them, for a later worker to
deliver as messages and webhooks (``delivered_at`` stays NULL until then).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patron.core.db import Base, BigId


class MemberTier(Base):
    """A member's level (``tier`` NULL: below the first level), since when, next review,
    and until when a paid membership lasts."""

    __tablename__ = "member_tiers"
    __table_args__ = (Index("ix_member_tiers_review_at", "review_at"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tier: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[datetime]
    review_at: Mapped[datetime | None]  # None without a tier: nothing to review
    paid_until: Mapped[datetime | None]  # a paid membership level, held until then
    updated_at: Mapped[datetime]


class TierChange(Base):
    """One move between levels: ``kind`` is ``upgrade`` or ``downgrade``; ``reason`` is
    ``threshold``, ``membership`` (a fee paid), ``review`` or ``membership_ended``."""

    __tablename__ = "tier_changes"
    __table_args__ = (Index("ix_tier_changes_member", "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    from_tier: Mapped[str | None] = mapped_column(String(64))
    to_tier: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    measure: Mapped[int]  # the qualifying figure when it happened (minor units, points, visits)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))  # the crossing event
    explanation: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime]


class OutboxMessage(Base):
    """An event for messages and webhooks, queued in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_undelivered", "delivered_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))  # e.g. tier.upgraded
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
